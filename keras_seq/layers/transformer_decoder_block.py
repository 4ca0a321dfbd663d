"""Transformer decoder block: causal self-attention, optional
cross-attention, a feed-forward network, and a self-attention cache."""

import keras

from keras_seq.layers.multi_head_attention import MultiHeadAttention
from keras_seq.layers.transformer_encoder_block import (
    FeedForward,
    check_block_arguments,
    check_sequence_shape,
)


@keras.saving.register_keras_serializable(package="keras_seq")
class TransformerDecoderBlock(keras.layers.Layer):
    """Causal self-attention, cross-attention, feed-forward network.

    Each sublayer has a residual connection; post-norm
    (`normalize_first=False`) normalizes after each residual sum, pre-norm
    normalizes each sublayer's input. The cross-attention over an encoder's
    outputs exists when the block is first called with an
    `encoder_sequence`; without it the block is a decoder-only (GPT-style)
    block. For decoding step by step pass `self_attention_cache` (see
    `MultiHeadAttention`) and `cache_update_index`; the block then returns
    the updated cache too. The cross-attention is recomputed from
    `encoder_sequence` at each step.

    Args:
        num_heads: the number of heads of both attentions; must divide the
            decoder's feature size.
        intermediate_dim: the hidden size of the feed-forward network.
        dropout: dropout rate after each sublayer and on the attention
            probabilities.
        activation: activation of the feed-forward network.
        layer_norm_epsilon: epsilon of the layer normalizations.
        normalize_first: pre-norm when True, post-norm when False.
        position_encoding: None, "rotary" or "alibi", for the
            self-attention (the cross-attention has none).
        max_sequence_length: the default cache length of
            `init_cache`.
        kernel_initializer: initializer of the dense kernels.
        bias_initializer: initializer of the dense biases.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        decoder_sequence: `(batch_size, decoder_length, hidden_dim)`, or a
            list `[decoder_sequence, encoder_sequence]`.
        encoder_sequence: `(batch_size, encoder_length, encoder_dim)` or
            None.
        padding_mask: `(batch_size, decoder_length)`, 1 for real decoder
            steps (with a cache: `(batch_size, cache_length)`). None: the
            decoder sequence's Keras mask.
        encoder_padding_mask: `(batch_size, encoder_length)`, 1 for real
            encoder steps. None: the encoder sequence's Keras mask when the
            sequences come as one list (Keras passes only the first
            argument's mask).
        attention_mask: `(batch_size, decoder_length, decoder_length)`,
            combined with the causal mask.
        encoder_attention_mask: `(batch_size, decoder_length,
            encoder_length)`.
        self_attention_cache: `(batch_size, 2, cache_length, num_heads,
            head_dim)`, the self-attention keys and values so far.
        cache_update_index: the position of the first decoder step (an int
            or an integer tensor of shape `()` or `(1,)`).
        training: whether dropout is active.
        mask: the Keras mask(s) of the inputs (filled in by Keras).

    Returns:
        `(batch_size, decoder_length, hidden_dim)`; with a cache, the tuple
        `(outputs, updated_cache)`.

    Example:

    >>> import numpy as np
    >>> decoder = np.random.rand(2, 5, 16).astype("float32")
    >>> encoder = np.random.rand(2, 9, 16).astype("float32")
    >>> block = TransformerDecoderBlock(num_heads=4, intermediate_dim=32)
    >>> tuple(block(decoder, encoder).shape)
    (2, 5, 16)

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
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
        self.max_sequence_length = max_sequence_length
        self.kernel_initializer = keras.initializers.serialize(
            keras.initializers.get(kernel_initializer)
        )
        self.bias_initializer = keras.initializers.serialize(
            keras.initializers.get(bias_initializer)
        )
        self.supports_masking = True

        self.self_attention = MultiHeadAttention(
            num_heads,
            position_encoding=position_encoding,
            causal=True,
            dropout=dropout,
            max_sequence_length=max_sequence_length,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="self_attention",
        )
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        self.self_attention_norm = self._norm("self_attention_norm")
        self.cross_attention = None
        self.feed_forward = FeedForward(
            intermediate_dim,
            activation,
            dropout,
            self.kernel_initializer,
            self.bias_initializer,
            dtype=self.dtype_policy,
            name="feed_forward",
        )
        self.feed_forward_norm = self._norm("feed_forward_norm")

    def _dropout(self, name):
        return keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name=name
        )

    def _norm(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        if decoder_sequence_shape and isinstance(
            decoder_sequence_shape[0], (list, tuple)
        ):
            shapes = list(decoder_sequence_shape) + [None]
            decoder_sequence_shape, encoder_sequence_shape = shapes[:2]
        check_sequence_shape("decoder_sequence", decoder_sequence_shape)
        hidden_dim = decoder_sequence_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                "`num_heads` must divide the decoder's feature size. "
                f"Received: num_heads={self.num_heads}, "
                f"hidden_dim={hidden_dim}"
            )
        self.self_attention.build(decoder_sequence_shape)
        self.self_attention_norm.build(decoder_sequence_shape)
        if encoder_sequence_shape is not None:
            check_sequence_shape("encoder_sequence", encoder_sequence_shape)
            self.cross_attention = MultiHeadAttention(
                self.num_heads,
                hidden_dim=hidden_dim,
                dropout=self.dropout,
                kernel_initializer=self.kernel_initializer,
                bias_initializer=self.bias_initializer,
                dtype=self.dtype_policy,
                name="cross_attention",
            )
            self.cross_attention.build(
                decoder_sequence_shape, encoder_sequence_shape
            )
            self.cross_attention_dropout = self._dropout(
                "cross_attention_dropout"
            )
            self.cross_attention_norm = self._norm("cross_attention_norm")
            self.cross_attention_norm.build(decoder_sequence_shape)
        self.feed_forward.build(decoder_sequence_shape)
        self.feed_forward_norm.build(decoder_sequence_shape)
        self.built = True

    def init_cache(self, batch_size, cache_length=None):
        """An empty self-attention cache (see `MultiHeadAttention`)."""
        return self.self_attention.init_cache(batch_size, cache_length)

    def _sublayer(self, x, norm, dropout, run, training):
        """Residual around `run`, normalized before or after."""
        residual = x
        if self.normalize_first:
            x = norm(x)
        x, extra = run(x)
        if dropout is not None:
            x = dropout(x, training=training)
        x = x + residual
        if not self.normalize_first:
            x = norm(x)
        return x, extra

    def call(
        self,
        decoder_sequence,
        encoder_sequence=None,
        padding_mask=None,
        encoder_padding_mask=None,
        attention_mask=None,
        encoder_attention_mask=None,
        self_attention_cache=None,
        cache_update_index=None,
        training=None,
        mask=None,
    ):
        if isinstance(decoder_sequence, (list, tuple)):
            if encoder_sequence is not None or len(decoder_sequence) != 2:
                raise ValueError(
                    "Pass `[decoder_sequence, encoder_sequence]` as one list "
                    "or as two arguments, not both. Received: a list of "
                    f"{len(decoder_sequence)} and encoder_sequence="
                    f"{encoder_sequence}"
                )
            decoder_sequence, encoder_sequence = decoder_sequence
            masks = mask if isinstance(mask, (list, tuple)) else (None, None)
            mask, encoder_mask = masks
            if encoder_padding_mask is None:
                encoder_padding_mask = encoder_mask
        if padding_mask is None:
            padding_mask = mask
        has_cross = self.cross_attention is not None
        if has_cross != (encoder_sequence is not None):
            raise ValueError(
                "The block was built "
                + ("with" if has_cross else "without")
                + " cross-attention; call it "
                + ("with" if has_cross else "without")
                + " an `encoder_sequence`. Received: encoder_sequence="
                + ("None" if encoder_sequence is None else "a tensor")
            )

        # Causal self-attention (with the cache when decoding step by step).
        def self_attend(x):
            if self_attention_cache is None:
                out = self.self_attention(
                    x,
                    padding_mask=padding_mask,
                    attention_mask=attention_mask,
                    training=training,
                )
                return out, None
            return self.self_attention(
                x,
                padding_mask=padding_mask,
                attention_mask=attention_mask,
                cache=self_attention_cache,
                cache_update_index=cache_update_index,
                training=training,
            )

        x, new_cache = self._sublayer(
            decoder_sequence,
            self.self_attention_norm,
            self.self_attention_dropout,
            self_attend,
            training,
        )

        # Cross-attention over the encoder's outputs.
        if has_cross:

            def cross_attend(x):
                out = self.cross_attention(
                    x,
                    encoder_sequence,
                    padding_mask=encoder_padding_mask,
                    attention_mask=encoder_attention_mask,
                    training=training,
                )
                return out, None

            x, _ = self._sublayer(
                x,
                self.cross_attention_norm,
                self.cross_attention_dropout,
                cross_attend,
                training,
            )

        # Feed-forward network.
        x, _ = self._sublayer(
            x,
            self.feed_forward_norm,
            None,
            lambda x: (self.feed_forward(x, training=training), None),
            training,
        )
        if new_cache is not None:
            return x, new_cache
        return x

    def compute_mask(self, inputs, mask=None):
        # The output's steps are the decoder's steps.
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask

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
            "max_sequence_length": self.max_sequence_length,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
        }
