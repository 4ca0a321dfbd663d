"""A scoped switch that asks layers for their builtin-op graph.

Some layers train fastest on one graph (for example Keras's own LSTM, which
uses cuDNN on a GPU) and convert to TFLite builtin ops only through another
(a plain `tf.while_loop`). Both graphs share the same weights. Inside
`export_mode()` such layers trace the convertible graph; outside it they
trace the training graph. `keras_seq.tflite.convert` enters it for you.
"""

import contextlib
import contextvars

_EXPORTING = contextvars.ContextVar("keras_seq_exporting", default=False)


@contextlib.contextmanager
def export_mode():
    """Trace layers as their builtin-op (TFLite-convertible) graph.

    Example:

    >>> from keras_seq.layers import export_mode, in_export_mode
    >>> with export_mode():
    ...     in_export_mode()
    True
    >>> in_export_mode()
    False
    """
    token = _EXPORTING.set(True)
    try:
        yield
    finally:
        _EXPORTING.reset(token)


def in_export_mode():
    """Returns True inside `export_mode()`."""
    return _EXPORTING.get()
