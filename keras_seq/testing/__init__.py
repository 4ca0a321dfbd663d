"""The shared test base for keras_seq layers and models."""

from keras_seq.testing.layer_test import (
    check_masking,
    check_tflite,
    run_layer_test,
)

__all__ = ["check_masking", "check_tflite", "run_layer_test"]
