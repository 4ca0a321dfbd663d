"""keras_seq.ctc."""
