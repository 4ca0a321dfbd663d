"""Pooling used by the text heads until `keras_seq.layers` ships its own.

`keras_seq.layers.MaskedGlobalPooling` / `AttentionPooling` are preferred;
`pooling_layer` returns them when they exist. This module's layers can go
once those two have landed in `keras_seq.layers`.
"""

import keras
from keras import ops

POOLING_MODES = ("mean", "max", "sum", "attention")


@keras.saving.register_keras_serializable(package="keras_seq_text")
class TextMaskedPooling(keras.layers.Layer):
    """Mean, max or sum over the real steps of a sequence.

    Args:
        mode: `"mean"`, `"max"` or `"sum"`.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        padding_mask: `(batch_size, sequence_length)`, 1 for real steps.

    Returns:
        `(batch_size, hidden_dim)`.
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("mean", "max", "sum"):
            raise ValueError(
                "`mode` must be 'mean', 'max' or 'sum'. "
                f"Received: mode={mode!r}"
            )
        self.mode = mode

    def call(self, inputs, padding_mask=None):
        if padding_mask is None:
            padding_mask = ops.ones(ops.shape(inputs)[:2], inputs.dtype)
        mask = ops.expand_dims(ops.cast(padding_mask, inputs.dtype), -1)
        if self.mode == "max":
            return ops.max(inputs + (mask - 1.0) * 1e4, axis=1)
        total = ops.sum(inputs * mask, axis=1)
        if self.mode == "sum":
            return total
        return total / ops.maximum(ops.sum(mask, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config


@keras.saving.register_keras_serializable(package="keras_seq_text")
class TextAttentionPooling(keras.layers.Layer):
    """A learned softmax weighting of the real steps.

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        padding_mask: `(batch_size, sequence_length)`, 1 for real steps.

    Returns:
        `(batch_size, hidden_dim)`.
    """

    def build(self, input_shape):
        self.score = keras.layers.Dense(
            1, dtype=self.dtype_policy, name="score"
        )
        self.score.build(input_shape)
        self.built = True

    def call(self, inputs, padding_mask=None):
        scores = self.score(inputs)  # (batch_size, sequence_length, 1)
        if padding_mask is not None:
            mask = ops.expand_dims(ops.cast(padding_mask, scores.dtype), -1)
            scores = scores + (mask - 1.0) * 1e4
        weights = ops.softmax(scores, axis=1)
        return ops.sum(weights * inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


def pooling_layer(mode, name="pooling"):
    """The package's pooling layer for `mode`, or the stand-in above."""
    if mode not in POOLING_MODES:
        raise ValueError(
            f"`pooling` must be one of {POOLING_MODES}. "
            f"Received: pooling={mode!r}"
        )
    try:
        from keras_seq.layers import AttentionPooling, MaskedGlobalPooling
    except ImportError:
        AttentionPooling = MaskedGlobalPooling = None
    if mode == "attention":
        if AttentionPooling is not None:
            return AttentionPooling(name=name)
        return TextAttentionPooling(name=name)
    if MaskedGlobalPooling is not None:
        return MaskedGlobalPooling(mode=mode, name=name)
    return TextMaskedPooling(mode=mode, name=name)
