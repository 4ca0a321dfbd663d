"""Multi-head attention with rotary or ALiBi positions and a key/value cache."""

import math

import keras
from keras import ops

from keras_seq.layers.alibi_bias import AlibiBias
from keras_seq.layers.rotary_embedding import RotaryEmbedding

POSITION_ENCODINGS = (None, "rotary", "alibi")

# Score of a hidden key: far below any real score, finite so that a row
# with every key hidden gives a uniform softmax instead of NaN.
_HIDDEN_SCORE = -1e9


def split_attention_inputs(inputs, value=None, key=None):
    """`[query, value]` or `[query, value, key]` packed in one argument.

    Lets a layer be called with all its sequences in the first argument, as
    a Functional model or `run_layer_test` does with several inputs.
    """
    if isinstance(inputs, (list, tuple)):
        if value is not None or key is not None or not 1 <= len(inputs) <= 3:
            raise ValueError(
                "Pass the sequences either as a list `[query, value]` / "
                "`[query, value, key]` or as separate arguments, not both. "
                f"Received: a list of {len(inputs)} and value={value}, "
                f"key={key}"
            )
        inputs = list(inputs) + [None] * (3 - len(inputs))
        return inputs[0], inputs[1], inputs[2]
    return inputs, value, key


def _split_shapes(query_shape, value_shape, key_shape):
    if query_shape and isinstance(query_shape[0], (list, tuple)):
        shapes = list(query_shape) + [None] * (3 - len(query_shape))
        return shapes[0], shapes[1], shapes[2]
    return query_shape, value_shape, key_shape


@keras.saving.register_keras_serializable(package="keras_seq")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head scaled dot-product attention.

    Query, key and value are each projected to `hidden_dim` features, split
    into `num_heads` heads of `head_dim = hidden_dim / num_heads`, attended,
    merged and projected back to the query's feature size. Positions can
    enter through `position_encoding`:

    - `None`: none (add absolute encodings to the inputs yourself);
    - `"rotary"`: `RotaryEmbedding` on queries and keys (halves pairing,
      optionally partial);
    - `"alibi"`: `AlibiBias` on the scores, the causal `i - j` distance when
      `causal=True`, the symmetric `|i - j|` otherwise.

    Scores, biases, masks and the softmax are computed in float32 whatever
    the compute dtype. For incremental decoding, the layer keeps keys and
    values of past steps in a fixed-size cache tensor
    `(batch_size, 2, cache_length, num_heads, head_dim)` (index 0 keys,
    already rotated, index 1 values) written with `slice_update` at
    `cache_update_index`; a converted decoding step uses TFLite's builtin
    DYNAMIC_UPDATE_SLICE and no resource variables.

    Args:
        num_heads: the number of heads.
        hidden_dim: the size of the projected queries, keys and values; it
            must be divisible by `num_heads`. None: the query's feature size.
        position_encoding: None, "rotary" or "alibi".
        causal: if True, query `i` sees only keys `j <= i` (positions count
            from `cache_update_index` when a cache is given).
        dropout: dropout rate on the attention probabilities.
        use_bias: whether the projections have biases.
        max_sequence_length: the default cache length of `init_cache`.
        rotary_max_wavelength: `max_wavelength` of the rotary embedding.
        rotary_scaling_factor: `scaling_factor` of the rotary embedding.
        rotary_percentage: fraction of each head's features that rotate.
        kernel_initializer: initializer of the projection kernels.
        bias_initializer: initializer of the projection biases.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        query: `(batch_size, query_length, query_dim)`, or a list
            `[query, value]` / `[query, value, key]`.
        value: `(batch_size, key_length, value_dim)`; None for
            self-attention (value and key are the query).
        key: `(batch_size, key_length, key_dim)`; None: the value.
        padding_mask: `(batch_size, key_length)`, 1 for real key steps (with
            a cache: `(batch_size, cache_length)`). None: the Keras mask of
            the keys (the query in self-attention, the value when called
            with `[query, value]`).
        attention_mask: `(batch_size, query_length, key_length)`, 1 where
            query `i` may see key `j`; combined with the other masks.
        cache: `(batch_size, 2, cache_length, num_heads, head_dim)`, the
            keys and values of earlier steps (self-attention only).
        cache_update_index: an int, or an integer tensor of shape `()` or
            `(1,)`: the position of the first query step; its keys and
            values are written there.
        training: whether dropout is active.
        return_attention_scores: also return the attention probabilities.
        mask: the Keras mask(s) of the first argument (filled in by
            Keras).

    Returns:
        `(batch_size, query_length, query_dim)`; then, if requested, the
        probabilities `(batch_size, num_heads, query_length, key_length)`;
        then, when a cache is given, the updated cache.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 5, 16).astype("float32")
    >>> layer = MultiHeadAttention(num_heads=4, position_encoding="rotary")
    >>> tuple(layer(x).shape)
    (2, 5, 16)

    References:
        - [Vaswani et al., 2017](https://arxiv.org/abs/1706.03762)
    """

    def __init__(
        self,
        num_heads,
        hidden_dim=None,
        position_encoding=None,
        causal=False,
        dropout=0.0,
        use_bias=True,
        max_sequence_length=2048,
        rotary_max_wavelength=10000,
        rotary_scaling_factor=1.0,
        rotary_percentage=1.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_heads, int) or num_heads < 1:
            raise ValueError(
                "`num_heads` must be a positive integer. "
                f"Received: num_heads={num_heads}"
            )
        if hidden_dim is not None and hidden_dim % num_heads:
            raise ValueError(
                "`num_heads` must divide `hidden_dim`. Received: "
                f"num_heads={num_heads}, hidden_dim={hidden_dim}"
            )
        if position_encoding not in POSITION_ENCODINGS:
            raise ValueError(
                f"`position_encoding` must be one of {POSITION_ENCODINGS}. "
                f"Received: position_encoding={position_encoding!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout}"
            )
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.position_encoding = position_encoding
        self.causal = causal
        self.dropout = dropout
        self.use_bias = use_bias
        self.max_sequence_length = max_sequence_length
        self.rotary_max_wavelength = rotary_max_wavelength
        self.rotary_scaling_factor = rotary_scaling_factor
        self.rotary_percentage = rotary_percentage
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

        self.rotary = None
        self.alibi = None
        if position_encoding == "rotary":
            self.rotary = RotaryEmbedding(
                max_wavelength=rotary_max_wavelength,
                scaling_factor=rotary_scaling_factor,
                rotary_percentage=rotary_percentage,
                dtype=self.dtype_policy,
                name="rotary_embedding",
            )
        elif position_encoding == "alibi":
            # float32 on purpose: the scores it biases are float32.
            self.alibi = AlibiBias(
                num_heads, bidirectional=not causal, dtype="float32"
            )
        self.dropout_layer = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="attention_dropout"
        )

    def _dense(self, units, name):
        return keras.layers.Dense(
            units,
            use_bias=self.use_bias,
            kernel_initializer=keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            bias_initializer=keras.initializers.get(
                keras.initializers.serialize(self.bias_initializer)
            ),
            dtype=self.dtype_policy,
            name=name,
        )

    @staticmethod
    def _check_rank(name, shape):
        if shape is not None and len(shape) != 3:
            raise ValueError(
                f"`{name}` must have shape (batch_size, sequence_length, "
                f"features). Received: {name} of shape {tuple(shape)}"
            )
        if shape is not None and shape[-1] is None:
            raise ValueError(
                f"The feature size of `{name}` must be known. "
                f"Received: {name} of shape {tuple(shape)}"
            )

    def build(self, query_shape, value_shape=None, key_shape=None):
        query_shape, value_shape, key_shape = _split_shapes(
            query_shape, value_shape, key_shape
        )
        value_shape = value_shape or query_shape
        key_shape = key_shape or value_shape
        for name, shape in (
            ("query", query_shape),
            ("value", value_shape),
            ("key", key_shape),
        ):
            self._check_rank(name, shape)
        hidden_dim = self.hidden_dim or query_shape[-1]
        if hidden_dim % self.num_heads:
            raise ValueError(
                "`num_heads` must divide `hidden_dim` (the query's feature "
                f"size when hidden_dim is None). Received: "
                f"num_heads={self.num_heads}, hidden_dim={hidden_dim}"
            )
        self._hidden_dim = hidden_dim
        self.head_dim = hidden_dim // self.num_heads
        self._feature_sizes = {
            "query": query_shape[-1],
            "value": value_shape[-1],
            "key": key_shape[-1],
        }
        self.query_dense = self._dense(hidden_dim, "query")
        self.key_dense = self._dense(hidden_dim, "key")
        self.value_dense = self._dense(hidden_dim, "value")
        self.output_dense = self._dense(query_shape[-1], "attention_output")
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build(tuple(query_shape[:-1]) + (hidden_dim,))
        if self.rotary is not None:
            self.rotary.build((None, None, self.num_heads, self.head_dim))
        if self.alibi is not None:
            self.alibi.build((None, self.num_heads, None, None))
        self.built = True

    def init_cache(self, batch_size, cache_length=None):
        """An empty cache, `(batch_size, 2, cache_length, num_heads,
        head_dim)`, in the compute dtype; `cache_length` defaults to
        `max_sequence_length`."""
        length = cache_length or self.max_sequence_length
        return ops.zeros(
            (batch_size, 2, length, self.num_heads, self.head_dim),
            dtype=self.compute_dtype,
        )

    def _check_inputs(self, query, value, key, cache):
        for name, tensor in (("query", query), ("value", value), ("key", key)):
            self._check_rank(name, tensor.shape)
            if tensor.shape[-1] != self._feature_sizes[name]:
                raise ValueError(
                    f"The layer was built for a `{name}` feature size of "
                    f"{self._feature_sizes[name]}. Received: {name} of shape "
                    f"{tuple(tensor.shape)}"
                )
        if cache is not None:
            shape = tuple(cache.shape)
            if (
                len(shape) != 5
                or shape[1] != 2
                or shape[3] != self.num_heads
                or shape[4] != self.head_dim
            ):
                raise ValueError(
                    "`cache` must have shape (batch_size, 2, cache_length, "
                    f"{self.num_heads}, {self.head_dim}). "
                    f"Received: cache of shape {shape}"
                )

    def _split_heads(self, dense, x):
        x = dense(x)
        shape = ops.shape(x)
        # (batch_size, length, hidden_dim) -> (batch_size, length,
        # num_heads, head_dim)
        return ops.reshape(
            x, (shape[0], shape[1], self.num_heads, self.head_dim)
        )

    def _visible(
        self,
        query_length,
        key_length,
        start,
        padding_mask,
        attention_mask,
        cached,
    ):
        """Which keys each query sees: (batch or 1, 1, q_len, k_len)."""
        visible = None

        def combine(a, b):
            return b if a is None else ops.logical_and(a, b)

        shape = (query_length, key_length)
        if self.causal or cached:
            query_positions = ops.arange(query_length, dtype="int32") + start
            key_positions = ops.arange(key_length, dtype="int32")
            if self.causal:
                # (q_len, 1) >= (1, k_len) -> (q_len, k_len)
                allowed = ops.expand_dims(
                    query_positions, 1
                ) >= ops.expand_dims(key_positions, 0)
            else:
                # Cache slots not written yet stay hidden.
                end = start + query_length
                allowed = ops.broadcast_to(
                    ops.expand_dims(key_positions, 0) < end,
                    (query_length, key_length),
                )
            # (q_len, k_len) -> (1, 1, q_len, k_len)
            visible = combine(visible, ops.reshape(allowed, (1, 1) + shape))
        # Boolean tensors are expanded with reshape: TFLite has no builtin
        # for a boolean strided slice that adds axes.
        if padding_mask is not None:
            keys = ops.cast(padding_mask, "bool")
            # (batch_size, k_len) -> (batch_size, 1, 1, k_len)
            keys = ops.reshape(keys, (-1, 1, 1, key_length))
            visible = combine(visible, keys)
        if attention_mask is not None:
            pairs = ops.cast(attention_mask, "bool")
            # (batch_size, q_len, k_len) -> (batch_size, 1, q_len, k_len)
            pairs = ops.reshape(pairs, (-1, 1, query_length, key_length))
            visible = combine(visible, pairs)
        return visible

    def call(
        self,
        query,
        value=None,
        key=None,
        padding_mask=None,
        attention_mask=None,
        cache=None,
        cache_update_index=None,
        training=None,
        return_attention_scores=False,
        mask=None,
    ):
        query, value, key = split_attention_inputs(query, value, key)
        self_attention = value is None
        if self_attention:
            value = query
            if padding_mask is None and not isinstance(mask, (list, tuple)):
                padding_mask = mask
        elif padding_mask is None and isinstance(mask, (list, tuple)):
            # Called with [query, value]: the keys' steps are the value's.
            padding_mask = mask[1] if len(mask) > 1 else None
        key = value if key is None else key
        self._check_inputs(query, value, key, cache)
        if cache is not None and not self_attention:
            raise ValueError(
                "The key/value cache is for self-attention only. "
                "Received: a `value` together with a `cache`"
            )
        if cache is not None and cache_update_index is None:
            raise ValueError(
                "A `cache` needs its `cache_update_index`. "
                "Received: cache_update_index=None"
            )
        key_steps = (cache if cache is not None else key).shape[
            2 if cache is not None else 1
        ]
        if padding_mask is not None and None not in (
            key_steps,
            padding_mask.shape[-1],
        ):
            if padding_mask.shape[-1] != key_steps:
                raise ValueError(
                    f"`padding_mask` must have one entry per key step "
                    f"({key_steps}). Received: padding_mask of shape "
                    f"{tuple(padding_mask.shape)}"
                )
        start = 0
        if cache is not None:
            # A scalar, or shape (1,) as a model input gives it.
            start = ops.reshape(ops.cast(cache_update_index, "int32"), ())

        # Project: each (batch_size, length, num_heads, head_dim).
        q = self._split_heads(self.query_dense, query)
        k = self._split_heads(self.key_dense, key)
        v = self._split_heads(self.value_dense, value)
        if self.rotary is not None:
            q = self.rotary(q, start_index=start)
            k = self.rotary(k, start_index=start)

        # Write this step's keys and values into the cache, read them all.
        new_cache = None
        if cache is not None:
            cache = ops.cast(cache, k.dtype)
            zero = ops.zeros((), "int32")
            at = (zero, start, zero, zero)
            k = ops.slice_update(cache[:, 0], at, k)
            v = ops.slice_update(cache[:, 1], at, v)
            # 2 x (batch_size, cache_length, num_heads, head_dim) ->
            # (batch_size, 2, cache_length, num_heads, head_dim)
            new_cache = ops.stack([k, v], axis=1)

        # Scores in float32: (batch_size, num_heads, q_len, k_len).
        q = q * ops.cast(1.0 / math.sqrt(self.head_dim), q.dtype)
        # (batch_size, q_len, num_heads, head_dim) -> (batch_size,
        # num_heads, q_len, head_dim)
        q = ops.transpose(q, (0, 2, 1, 3))
        # (batch_size, k_len, num_heads, head_dim) -> (batch_size,
        # num_heads, head_dim, k_len)
        k_t = ops.transpose(k, (0, 2, 3, 1))
        scores = ops.cast(ops.matmul(q, k_t), "float32")
        if self.alibi is not None:
            scores = self.alibi(scores, start_index=start)
        shape = ops.shape(scores)
        visible = self._visible(
            shape[2],
            shape[3],
            start,
            padding_mask,
            attention_mask,
            cache is not None,
        )
        if visible is not None:
            scores = ops.where(visible, scores, _HIDDEN_SCORE)
        probabilities = ops.softmax(scores, axis=-1)
        probabilities = ops.cast(probabilities, self.compute_dtype)
        dropped = self.dropout_layer(probabilities, training=training)

        # (batch_size, num_heads, q_len, k_len) x (batch_size, num_heads,
        # k_len, head_dim) -> (batch_size, num_heads, q_len, head_dim)
        attended = ops.matmul(dropped, ops.transpose(v, (0, 2, 1, 3)))
        # -> (batch_size, q_len, num_heads, head_dim)
        attended = ops.transpose(attended, (0, 2, 1, 3))
        batch_query = ops.shape(attended)
        # -> (batch_size, q_len, hidden_dim)
        attended = ops.reshape(
            attended, (batch_query[0], batch_query[1], self._hidden_dim)
        )
        outputs = self.output_dense(attended)

        results = [outputs]
        if return_attention_scores:
            results.append(probabilities)
        if new_cache is not None:
            results.append(new_cache)
        return results[0] if len(results) == 1 else tuple(results)

    def compute_mask(self, inputs, mask=None):
        # The output's steps are the query's steps.
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "position_encoding": self.position_encoding,
            "causal": self.causal,
            "dropout": self.dropout,
            "use_bias": self.use_bias,
            "max_sequence_length": self.max_sequence_length,
            "rotary_max_wavelength": self.rotary_max_wavelength,
            "rotary_scaling_factor": self.rotary_scaling_factor,
            "rotary_percentage": self.rotary_percentage,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
        }
