"""TFLite (LiteRT) conversion with builtin ops only, and parity checks."""

from keras_seq.tflite.convert import (
    ConversionReport,
    NonBuiltinOpsError,
    convert,
    export_saved_model,
    list_ops,
    non_builtin_ops,
    representative_dataset,
    run_tflite,
    serving_function,
)
from keras_seq.tflite.parity import check_parity

__all__ = [
    "ConversionReport",
    "NonBuiltinOpsError",
    "check_parity",
    "convert",
    "export_saved_model",
    "list_ops",
    "non_builtin_ops",
    "representative_dataset",
    "run_tflite",
    "serving_function",
]
