"""Transformer encoder block: self-attention and a feed-forward network."""

import keras

from keras_seq.layers.multi_head_attention import (
    POSITION_ENCODINGS,
    MultiHeadAttention,
)


def check_block_arguments(num_heads, intermediate_dim, position_encoding):
    """Shared constructor checks of the transformer blocks."""
    if not isinstance(intermediate_dim, int) or intermediate_dim < 1:
        raise ValueError(
            "`intermediate_dim` must be a positive integer. "
            f"Received: intermediate_dim={intermediate_dim}"
        )
    if not isinstance(num_heads, int) or num_heads < 1:
        raise ValueError(
            "`num_heads` must be a positive integer. "
            f"Received: num_heads={num_heads}"
        )
    if position_encoding not in POSITION_ENCODINGS:
        raise ValueError(
            f"`position_encoding` must be one of {POSITION_ENCODINGS}. "
            f"Received: position_encoding={position_encoding!r}"
        )


def check_sequence_shape(name, shape):
    if len(shape) != 3 or shape[-1] is None:
        raise ValueError(
            f"`{name}` must have shape (batch_size, sequence_length, "
            f"hidden_dim) with a known hidden_dim. Received: {name} of "
            f"shape {tuple(shape)}"
        )


class FeedForward(keras.layers.Layer):
    """Dense to `intermediate_dim`, activation, dense back, dropout.

    Internal to the transformer blocks (not exported, not registered).
    """

    def __init__(
        self,
        intermediate_dim,
        activation,
        dropout,
        kernel_initializer,
        bias_initializer,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = intermediate_dim
        self.inner = keras.layers.Dense(
            intermediate_dim,
            activation=activation,
            kernel_initializer=keras.initializers.get(kernel_initializer),
            bias_initializer=keras.initializers.get(bias_initializer),
            dtype=self.dtype_policy,
            name="intermediate_dense",
        )
        self.outer_initializers = (kernel_initializer, bias_initializer)
        self.dropout_layer = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="output_dropout"
        )

    def build(self, input_shape):
        kernel_initializer, bias_initializer = self.outer_initializers
        self.outer = keras.layers.Dense(
            input_shape[-1],
            kernel_initializer=keras.initializers.get(kernel_initializer),
            bias_initializer=keras.initializers.get(bias_initializer),
            dtype=self.dtype_policy,
            name="output_dense",
        )
        self.inner.build(input_shape)
        self.outer.build(tuple(input_shape[:-1]) + (self.intermediate_dim,))
        self.built = True

    def call(self, inputs, training=None):
        x = self.outer(self.inner(inputs))
        return self.dropout_layer(x, training=training)


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerEncoderBlock(keras.layers.Layer):
    """Self-attention then a feed-forward network, each with a residual.

    Post-norm (`normalize_first=False`, as in Vaswani et al.) normalizes
    after each residual sum; pre-norm (`normalize_first=True`) normalizes
    each sublayer's input, which trains more stably in deep stacks. Positions
    enter the attention through `position_encoding` (see
    `MultiHeadAttention`); for absolute encodings add
    `SinusoidalPositionEncoding` or `PositionEmbedding` to the inputs
    first and keep `position_encoding=None`.

    Args:
        num_heads: the number of attention heads; must divide the input's
            feature size.
        intermediate_dim: the hidden size of the feed-forward network.
        dropout: dropout rate after the attention, on its probabilities and
            after the feed-forward network.
        activation: activation of the feed-forward network.
        layer_norm_epsilon: epsilon of the layer normalizations.
        normalize_first: pre-norm when True, post-norm when False.
        position_encoding: None, "rotary" or "alibi".
        causal: whether each step sees only itself and earlier steps.
        max_sequence_length: passed to the attention (its default cache
            length).
        kernel_initializer: initializer of the dense kernels.
        bias_initializer: initializer of the dense biases.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        inputs: `(batch_size, sequence_length, hidden_dim)`.
        padding_mask: `(batch_size, sequence_length)`, 1 for real steps.
            None: the inputs' Keras mask.
        attention_mask: `(batch_size, sequence_length, sequence_length)`,
            1 where step `i` may see step `j`.
        training: whether dropout is active.
        mask: the inputs' Keras mask (filled in by Keras).

    Returns:
        `(batch_size, sequence_length, hidden_dim)`.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 7, 16).astype("float32")
    >>> block = TransformerEncoderBlock(
    ...     num_heads=4, intermediate_dim=32, position_encoding="alibi")
    >>> tuple(block(x).shape)
    (2, 7, 16)

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
        - [Xiong et al., 2020, On Layer Normalization in the Transformer
          Architecture](https://arxiv.org/abs/2002.04745) (pre-norm)
    """

    def __init__(
        self,
        num_heads,
        intermediate_dim,
        dropout=0.0,
        activation="gelu",
        layer_norm_epsilon=1e-5,
        normalize_first=False,
        position_encoding=None,
        causal=False,
        max_sequence_length=2048,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_block_arguments(num_heads, intermediate_dim, position_encoding)
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.activation = keras.activations.serialize(
            keras.activations.get(activation)
        )
        self.layer_norm_epsilon = layer_norm_epsilon
        self.normalize_first = normalize_first
        self.position_encoding = position_encoding
        self.causal = causal
        self.max_sequence_length = max_sequence_length
        self.kernel_initializer = keras.initializers.serialize(
            keras.initializers.get(kernel_initializer)
        )
        self.bias_initializer = keras.initializers.serialize(
            keras.initializers.get(bias_initializer)
        )
        self.supports_masking = True

        self.attention = MultiHeadAttention(
            num_heads,
            position_encoding=position_encoding,
            causal=causal,
            dropout=dropout,
            max_sequence_length=max_sequence_length,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.attention_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="self_attention_dropout"
        )
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="self_attention_norm",
        )
        self.feed_forward = FeedForward(
            intermediate_dim,
            activation,
            dropout,
            self.kernel_initializer,
            self.bias_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        self.feed_forward_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="feed_forward_norm",
        )

    def build(self, inputs_shape):
        check_sequence_shape("inputs", inputs_shape)
        hidden_dim = inputs_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                "`num_heads` must divide the inputs' feature size. Received: "
                f"num_heads={self.num_heads}, hidden_dim={hidden_dim}"
            )
        self.attention.build(inputs_shape)
        self.attention_norm.build(inputs_shape)
        self.feed_forward.build(inputs_shape)
        self.feed_forward_norm.build(inputs_shape)
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        training=None,
        mask=None,
    ):
        if padding_mask is None:
            padding_mask = mask

        # Self-attention sublayer.
        residual = inputs
        x = self.attention_norm(inputs) if self.normalize_first else inputs
        x = self.attention(
            x,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            training=training,
        )
        x = self.attention_dropout(x, training=training) + residual
        if not self.normalize_first:
            x = self.attention_norm(x)

        # Feed-forward sublayer.
        residual = x
        if self.normalize_first:
            x = self.feed_forward_norm(x)
        x = self.feed_forward(x, training=training) + residual
        if not self.normalize_first:
            x = self.feed_forward_norm(x)
        return x

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, inputs_shape):
        return inputs_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "normalize_first": self.normalize_first,
            "position_encoding": self.position_encoding,
            "causal": self.causal,
            "max_sequence_length": self.max_sequence_length,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }
