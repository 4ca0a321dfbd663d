"""Mean, max or sum over the real steps of a sequence."""

import keras
from keras import ops

MODES = ("mean", "max", "sum")


@keras.saving.register_keras_serializable(package="keras_seq")
class MaskedGlobalPooling(keras.layers.Layer):
    """Pools a sequence over its real steps only.

    Padded steps take no part: their content and their number never change
    the result. A sample with no real step pools to zeros (for every
    mode). The reduction runs in float32 and is cast back to the compute
    dtype, so a long `"sum"` or `"mean"` does not overflow in float16.

    Args:
        mode: `"mean"`, `"max"` or `"sum"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        padding_mask: optional `(batch_size, sequence_length)`, 1 for real
            steps. If None, Keras's implicit `mask` is used; if both are
            None every step is real.
        mask: Keras's implicit mask, see `padding_mask`.

    Returns:
        `(batch_size, hidden_dim)`.

    Example:

    >>> import numpy as np
    >>> x = np.array([[[1.0], [3.0], [100.0]]], "float32")
    >>> mask = np.array([[1, 1, 0]], "int32")
    >>> MaskedGlobalPooling("mean")(x, padding_mask=mask).numpy()
    array([[2.]], dtype=float32)
    >>> MaskedGlobalPooling("max")(x, padding_mask=mask).numpy()
    array([[3.]], dtype=float32)
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(
                f"`mode` must be one of {MODES}. Received: mode={mode!r}"
            )
        self.mode = mode

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "`MaskedGlobalPooling` takes inputs of rank 3 "
                "(batch_size, sequence_length, hidden_dim). "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def call(self, inputs, padding_mask=None, mask=None):
        if padding_mask is None:
            padding_mask = mask
        x = ops.cast(inputs, "float32")
        if padding_mask is None:
            step_mask = ops.ones_like(x[..., 0])
        else:
            step_mask = ops.cast(padding_mask, "float32")
        # (batch_size, sequence_length) -> (batch_size, sequence_length, 1).
        weights = ops.expand_dims(step_mask, -1)
        # (batch_size, 1): how many real steps each sample has.
        count = ops.sum(weights, axis=1)

        if self.mode == "max":
            real = ops.greater(weights, 0.0)
            pooled = ops.max(ops.where(real, x, -3.0e38), axis=1)
            pooled = ops.where(ops.greater(count, 0.0), pooled, 0.0)
        else:
            pooled = ops.sum(x * weights, axis=1)
            if self.mode == "mean":
                pooled = pooled / ops.maximum(count, 1.0)
        return ops.cast(pooled, self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        # The sequence axis is gone: nothing left to mask.
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
