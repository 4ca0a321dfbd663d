"""Text-line OCR: a line image in, its transcription out.

The model is CRNN by default (`ConvFrontEnd` + bidirectional LSTM
`RecurrentBlock` + projection, trained with CTC); it exports to
builtin-only TFLite with greedy decoding inside the graph. Command line:
`keras-seq ocr train|evaluate|predict|export|demo`.

The names below load on first use, so the command line's `--help` does
not import TensorFlow.
"""

import importlib

_EXPORTS = {
    "FullWidthMask": "keras_seq.apps.ocr.model",
    "build_export_model": "keras_seq.apps.ocr.model",
    "build_ocr_model": "keras_seq.apps.ocr.model",
    "load_run": "keras_seq.apps.ocr.model",
    "train": "keras_seq.apps.ocr.train",
    "evaluate": "keras_seq.apps.ocr.evaluate",
    "predict": "keras_seq.apps.ocr.predict",
    "export": "keras_seq.apps.ocr.export",
    "run_demo": "keras_seq.apps.ocr.demo",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
