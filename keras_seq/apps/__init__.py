"""keras_seq.apps."""
