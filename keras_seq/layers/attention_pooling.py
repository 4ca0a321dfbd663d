"""Attention pooling: a learned softmax weighting of the real steps."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_seq")
class AttentionPooling(keras.layers.Layer):
    """Pools a sequence with learned attention weights over its real steps.

    Each step gets a score: with `hidden_dim=None`, the dot product of the
    step with a learned query vector; otherwise `v . tanh(W x + b)`, an
    additive-attention score through a hidden layer of `hidden_dim` units.
    The scores of padded steps are dropped before a softmax over the
    sequence, and the output is the weighted sum of the steps. Padded
    steps' content and number never change the result; a sample with no
    real step pools to zeros. The softmax runs in float32.

    Args:
        hidden_dim: None, or int, the hidden size of the scoring layer.
        kernel_initializer: initializer of the scoring weights.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        padding_mask: optional `(batch_size, sequence_length)`, 1 for real
            steps. If None, Keras's implicit `mask` is used; if both are
            None every step is real.
        mask: Keras's implicit mask, see `padding_mask`.
        return_attention_scores: bool, also return the attention weights
            `(batch_size, sequence_length)` (zero at padded steps).

    Returns:
        `(batch_size, features)`, or a tuple with the weights.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 5, 8).astype("float32")
    >>> mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], "int32")
    >>> AttentionPooling(hidden_dim=16)(x, padding_mask=mask).shape
    TensorShape([2, 8])

    References:
        - Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly
          Learning to Align and Translate", 2015 (additive scores).
        - Yang et al., "Hierarchical Attention Networks for Document
          Classification", 2016 (pooling with a learned context vector).
    """

    def __init__(
        self, hidden_dim=None, kernel_initializer="glorot_uniform", **kwargs
    ):
        super().__init__(**kwargs)
        if hidden_dim is not None and (
            not isinstance(hidden_dim, int) or hidden_dim <= 0
        ):
            raise ValueError(
                "`hidden_dim` must be None or a positive int. "
                f"Received: hidden_dim={hidden_dim!r}"
            )
        self.hidden_dim = hidden_dim
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.hidden = None
        if hidden_dim is not None:
            self.hidden = keras.layers.Dense(
                hidden_dim,
                activation="tanh",
                kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy,
                name="hidden",
            )
        # A bias would add the same number to every score: softmax drops it.
        self.score = keras.layers.Dense(
            1,
            use_bias=False,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="score",
        )

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "`AttentionPooling` takes inputs of rank 3 "
                "(batch_size, sequence_length, features). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        shape = (None, None, input_shape[-1])
        if self.hidden is not None:
            self.hidden.build(shape)
            shape = (None, None, self.hidden_dim)
        self.score.build(shape)

    def call(
        self,
        inputs,
        padding_mask=None,
        mask=None,
        return_attention_scores=False,
    ):
        if padding_mask is None:
            padding_mask = mask
        hidden = inputs if self.hidden is None else self.hidden(inputs)
        # (batch_size, sequence_length, 1) -> (batch_size, sequence_length).
        scores = ops.cast(ops.squeeze(self.score(hidden), -1), "float32")
        if padding_mask is not None:
            step_mask = ops.cast(padding_mask, "float32")
            scores = ops.where(ops.greater(step_mask, 0.0), scores, -1.0e9)
        weights = ops.softmax(scores, axis=-1)
        if padding_mask is not None:
            # All-padded samples: zero weights instead of uniform ones.
            weights = weights * step_mask
        weights = ops.cast(weights, self.compute_dtype)
        # (batch_size, sequence_length) -> (batch_size, sequence_length, 1).
        pooled = ops.sum(ops.expand_dims(weights, -1) * inputs, axis=1)
        if return_attention_scores:
            return pooled, weights
        return pooled

    def compute_mask(self, inputs, mask=None):
        # The sequence axis is gone: nothing left to mask.
        return None

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_dim": self.hidden_dim,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
