"""Fixed sinusoidal position encoding (Vaswani et al., 2017)."""

import keras
import numpy as np
from keras import ops


def sinusoidal_table(max_sequence_length, hidden_dim, max_wavelength=10000):
    """The sinusoidal table, `(max_sequence_length, hidden_dim)`, float32.

    Feature `2i` holds `sin(p / max_wavelength ** (2i / hidden_dim))` and
    feature `2i + 1` holds the cosine of the same angle (interleaved, as in
    the paper). Computed in float64 with numpy, then cast.
    """
    positions = np.arange(max_sequence_length, dtype="float64")[:, None]
    features = np.arange(hidden_dim)
    exponents = (2 * (features // 2)).astype("float64") / hidden_dim
    # (max_sequence_length, 1) * (hidden_dim,) -> (max_sequence_length,
    # hidden_dim)
    angles = positions / np.power(float(max_wavelength), exponents)
    table = np.where(features % 2 == 0, np.sin(angles), np.cos(angles))
    return table.astype("float32")


def position_rows(table, inputs, start_index, max_sequence_length, dtype):
    """Rows `start_index ..` of a position table, one per input step.

    Slices with plain ops (SLICE and BROADCAST_TO in TFLite), so a converted
    model resizes to any length up to `max_sequence_length`.

    Args:
        table: `(max_sequence_length, hidden_dim)`.
        inputs: `(batch_size, sequence_length, hidden_dim)`; only its shape
            is read.
        start_index: an int, or an integer tensor of shape `()` or `(1,)`.
        max_sequence_length: the table's length, for the error message.
        dtype: the output dtype (the table is cast to it).

    Returns:
        `(batch_size, sequence_length, hidden_dim)` in `dtype`.
    """
    shape = ops.shape(inputs)
    length = shape[1]
    if isinstance(length, int) and isinstance(start_index, int):
        if start_index + length > max_sequence_length:
            raise ValueError(
                f"The positions run past max_sequence_length="
                f"{max_sequence_length}. Received: sequence_length={length}"
                f", start_index={start_index}"
            )
    if not isinstance(start_index, int):
        start_index = ops.reshape(ops.cast(start_index, "int32"), ())
    # (max_sequence_length, hidden_dim) -> (sequence_length, hidden_dim)
    rows = ops.slice(table, (start_index, 0), (length, shape[2]))
    rows = ops.cast(rows, dtype)
    # (sequence_length, hidden_dim) -> (batch_size, sequence_length,
    # hidden_dim)
    return ops.broadcast_to(ops.expand_dims(rows, 0), shape)


@keras.saving.register_keras_serializable(package="keras_seq")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Fixed sine/cosine position encoding.

    Returns the encoding of the input's positions; add it to the input
    yourself. The table is computed once in float32 up to
    `max_sequence_length` and sliced to the input's length with plain ops,
    so a converted TFLite model resizes to any length up to that maximum.

    Feature `2i` of position `p` is
    `sin(p / max_wavelength ** (2i / hidden_dim))` and feature `2i + 1` is
    the cosine of the same angle.

    Args:
        max_wavelength: the longest wavelength of the sinusoids.
        max_sequence_length: the longest sequence the table covers.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`; only its shape
            is read.
        start_index: the position of the first step (an int, or an
            integer tensor of shape `()` or `(1,)`), for decoding one step
            at a time.

    Returns:
        `(batch_size, sequence_length, hidden_dim)`, the encoding in the
        layer's compute dtype.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((2, 5, 8), "float32")
    >>> encoding = SinusoidalPositionEncoding()(x)
    >>> tuple(encoding.shape)
    (2, 5, 8)

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762),
          section 3.5.
    """

    def __init__(
        self, max_wavelength=10000, max_sequence_length=2048, **kwargs
    ):
        super().__init__(**kwargs)
        if max_sequence_length is None or int(max_sequence_length) < 1:
            raise ValueError(
                "`max_sequence_length` must be a positive integer. "
                f"Received: max_sequence_length={max_sequence_length}"
            )
        if max_wavelength <= 0:
            raise ValueError(
                "`max_wavelength` must be positive. "
                f"Received: max_wavelength={max_wavelength}"
            )
        self.max_wavelength = max_wavelength
        self.max_sequence_length = int(max_sequence_length)
        self.supports_masking = True
        self._table = None

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "`SinusoidalPositionEncoding` expects inputs of shape "
                "(batch_size, sequence_length, hidden_dim). "
                f"Received: input_shape={input_shape}"
            )
        hidden_dim = input_shape[-1]
        if hidden_dim is None:
            raise ValueError(
                "The feature axis of the inputs must be known. "
                f"Received: input_shape={input_shape}"
            )
        self._table = sinusoidal_table(
            self.max_sequence_length, hidden_dim, self.max_wavelength
        )
        self.built = True

    def call(self, inputs, start_index=0):
        table = ops.convert_to_tensor(self._table)
        return position_rows(
            table,
            inputs,
            start_index,
            self.max_sequence_length,
            self.compute_dtype,
        )

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_wavelength": self.max_wavelength,
            "max_sequence_length": self.max_sequence_length,
        }
