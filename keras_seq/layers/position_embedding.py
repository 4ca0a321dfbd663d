"""Learned position embedding."""

import keras
from keras import ops

from keras_seq.layers.sinusoidal_position_encoding import position_rows


@keras.saving.register_keras_serializable(package="keras_seq")
class PositionEmbedding(keras.layers.Layer):
    """A learned vector per position, up to `max_sequence_length`.

    Returns the embedding of the input's positions; add it to the input
    yourself. The table is sliced to the input's length with plain ops, so
    a converted TFLite model resizes to any length up to the maximum.

    Args:
        max_sequence_length: the number of positions with a vector.
        initializer: initializer of the `(max_sequence_length, hidden_dim)`
            table.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`; only its shape
            is read.
        start_index: the position of the first step (an int, or an
            integer tensor of shape `()` or `(1,)`), for decoding one step
            at a time.

    Returns:
        `(batch_size, sequence_length, hidden_dim)` in the compute dtype.

    Example:

    >>> import numpy as np
    >>> x = np.zeros((2, 5, 8), "float32")
    >>> embedding = PositionEmbedding(max_sequence_length=16)(x)
    >>> tuple(embedding.shape)
    (2, 5, 8)

    References:
        - [Devlin et al., 2019](https://arxiv.org/abs/1810.04805) (learned
          positions, as in BERT).
    """

    def __init__(
        self, max_sequence_length, initializer="glorot_uniform", **kwargs
    ):
        super().__init__(**kwargs)
        if max_sequence_length is None or int(max_sequence_length) < 1:
            raise ValueError(
                "`max_sequence_length` must be a positive integer. "
                f"Received: max_sequence_length={max_sequence_length}"
            )
        self.max_sequence_length = int(max_sequence_length)
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                "`PositionEmbedding` expects inputs of shape (batch_size, "
                "sequence_length, hidden_dim) with a known hidden_dim. "
                f"Received: input_shape={input_shape}"
            )
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.max_sequence_length, input_shape[-1]),
            initializer=self.initializer,
            trainable=True,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        table = ops.convert_to_tensor(self.embeddings)
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
            "max_sequence_length": self.max_sequence_length,
            "initializer": keras.initializers.serialize(self.initializer),
        }
