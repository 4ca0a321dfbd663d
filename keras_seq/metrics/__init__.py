"""keras_seq.metrics."""
