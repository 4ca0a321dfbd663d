"""A 1D convolution block over time: dilation, causal or same padding."""

import keras
from keras import ops

PADDINGS = ("causal", "same")
NORMALIZATIONS = ("layer", "batch", None)


@keras.saving.register_keras_serializable(package="keras_seq")
class TemporalConvBlock(keras.layers.Layer):
    """Conv1D -> normalization -> activation -> dropout, plus a residual.

    The block computes `y = dropout(activation(norm(conv(x)))) + r(x)`,
    where `r` is the identity when the input has `filters` features and a
    learned 1x1 projection (a per-step `Dense`) otherwise; then an optional
    max pool over time.

    Padding: `"causal"` pads `(kernel_size - 1) * dilation_rate` zero steps
    on the left only, so output `t` sees inputs `<= t`; `"same"` pads both
    sides and sees `(kernel_size - 1) * dilation_rate / 2` steps ahead.

    Masking: padded steps are set to zero before the convolution, so their
    content never reaches a real output, and for `"same"` padding a real
    step near the end sees the same zeros whether they come from padding or
    from the convolution's own zero padding: the number of padded steps
    does not matter either. Layer normalization is per step. Batch
    normalization computes its training statistics over real steps only
    (the mask is passed to it); at inference it is per step. Outputs at
    padded steps are zero.

    Pooling: `pool_size=p` max-pools non-overlapping windows of `p` steps
    ("valid"): the output has `sequence_length // p` steps (floor; a
    partial window at the end is dropped) and output step `f` is real iff
    all `p` steps it covers are real, so a sample of real length `n` has
    `n // p` real steps, the same as that sample alone. The pooled mask is
    the output's Keras mask (`compute_mask`).

    Streaming: a causal block can run chunk by chunk. Its state is the last
    `state_size = (kernel_size - 1) * dilation_rate` input steps, shape
    `(batch_size, state_size, features)`, zeros at the start. Call with
    `state=...` and `return_state=True` to get `(outputs, new_state)`;
    concatenating the outputs of consecutive chunks equals the output of
    the whole sequence (with pooling, when every chunk length is a multiple
    of `pool_size`). The state holds plain tensors (no resource
    variables), so a Keras model with inputs `(chunk, state)` and outputs
    `(outputs, new_state)` converts to a builtin-only TFLite step model.
    Chunks are assumed to hold only real steps.

    Args:
        filters: int, the number of output features.
        kernel_size: int, the convolution window.
        dilation_rate: int, the spacing between the window's taps.
        padding: `"causal"` or `"same"`.
        separable: bool, use a depthwise-separable convolution (a per
            feature convolution followed by a 1x1 convolution).
        normalization: `"layer"`, `"batch"` or None.
        activation: the activation after the normalization.
        residual: bool, add the (projected) input to the output.
        dropout: float, dropout rate before the residual addition.
        pool_size: None or int, the max pool window and stride over time.
        layer_norm_epsilon: float, epsilon of the layer normalization.
        kernel_initializer: initializer of the convolution kernels.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch_size, sequence_length, features)`.
        padding_mask: optional `(batch_size, sequence_length)`, 1 for real
            steps. If None, Keras's implicit `mask` is used.
        mask: Keras's implicit mask, see `padding_mask`.
        training: bool, training mode for dropout and batch normalization.
        state: optional `(batch_size, state_size, features)`, the previous
            chunk's last input steps (causal padding only).
        return_state: bool, also return the new state.

    Returns:
        `(batch_size, sequence_length, filters)`, or with `pool_size`
        `(batch_size, sequence_length // pool_size, filters)`; with
        `return_state=True` a tuple `(outputs, new_state)`.

    Example:

    >>> import numpy as np
    >>> block = TemporalConvBlock(16, kernel_size=3, dilation_rate=2)
    >>> x = np.random.rand(2, 10, 8).astype("float32")
    >>> block(x).shape
    TensorShape([2, 10, 16])
    >>> first, state = block(x[:, :6], return_state=True)
    >>> second = block(x[:, 6:], state=state)
    >>> whole = block(x)
    >>> bool(np.allclose(whole[:, 6:], second, atol=1e-5))
    True

    References:
        - Bai, Kolter and Koltun, "An Empirical Evaluation of Generic
          Convolutional and Recurrent Networks for Sequence Modeling"
          (TCN), 2018.
        - van den Oord et al., "WaveNet: A Generative Model for Raw Audio",
          2016 (dilated causal convolutions).
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        dilation_rate=1,
        padding="causal",
        separable=False,
        normalization="layer",
        activation="gelu",
        residual=True,
        dropout=0.0,
        pool_size=None,
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("filters", filters),
            ("kernel_size", kernel_size),
            ("dilation_rate", dilation_rate),
        ):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value <= 0
            ):
                raise ValueError(
                    f"`{name}` must be a positive int. "
                    f"Received: {name}={value!r}"
                )
        if pool_size is not None and (
            not isinstance(pool_size, int) or pool_size <= 0
        ):
            raise ValueError(
                "`pool_size` must be None or a positive int. "
                f"Received: pool_size={pool_size!r}"
            )
        if padding not in PADDINGS:
            raise ValueError(
                f"`padding` must be one of {PADDINGS}. "
                f"Received: padding={padding!r}"
            )
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"`normalization` must be one of {NORMALIZATIONS}. "
                f"Received: normalization={normalization!r}"
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout}"
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.dilation_rate = dilation_rate
        self.padding = padding
        self.separable = bool(separable)
        self.normalization = normalization
        self.activation = keras.activations.get(activation)
        self.residual = bool(residual)
        self.dropout = float(dropout)
        self.pool_size = pool_size
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        conv_cls = (
            keras.layers.SeparableConv1D if separable else keras.layers.Conv1D
        )
        # Causal padding is done here, so that a streaming state can take
        # the place of the left zeros.
        conv_kwargs = {
            "padding": "valid" if padding == "causal" else "same",
            "dilation_rate": dilation_rate,
            "dtype": self.dtype_policy,
            "name": "conv",
        }
        if separable:
            conv_kwargs["depthwise_initializer"] = self.kernel_initializer
            conv_kwargs["pointwise_initializer"] = self.kernel_initializer
        else:
            conv_kwargs["kernel_initializer"] = self.kernel_initializer
        self.conv = conv_cls(filters, kernel_size, **conv_kwargs)
        self.norm = None
        if normalization == "layer":
            self.norm = keras.layers.LayerNormalization(
                epsilon=self.layer_norm_epsilon,
                dtype=self.dtype_policy,
                name="layer_norm",
            )
        elif normalization == "batch":
            self.norm = keras.layers.BatchNormalization(
                dtype=self.dtype_policy, name="batch_norm"
            )
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy
        )
        self.projection = None

    @property
    def state_size(self):
        """Input steps a causal block keeps between chunks."""
        if self.padding != "causal":
            return 0
        return (self.kernel_size - 1) * self.dilation_rate

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "`TemporalConvBlock` takes inputs of rank 3 "
                "(batch_size, sequence_length, features). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "The last axis (features) of the inputs must be known. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self._features = features
        self.conv.build((None, None, features))
        if self.norm is not None:
            self.norm.build((None, None, self.filters))
        if self.residual and features != self.filters:
            self.projection = keras.layers.Dense(
                self.filters,
                kernel_initializer=self.kernel_initializer,
                dtype=self.dtype_policy,
                name="projection",
            )
            self.projection.build((None, None, features))

    def __call__(self, inputs, *args, padding_mask=None, **kwargs):
        # Keras derives the output mask (`compute_mask`) from the `mask`
        # argument only, so an explicit padding mask is routed there.
        if padding_mask is not None:
            kwargs["mask"] = padding_mask
        return super().__call__(inputs, *args, **kwargs)

    def call(
        self,
        inputs,
        padding_mask=None,
        mask=None,
        training=None,
        state=None,
        return_state=False,
    ):
        if padding_mask is None:
            padding_mask = mask
        if padding_mask is not None and len(padding_mask.shape) != 2:
            raise ValueError(
                "The padding mask must have shape "
                "(batch_size, sequence_length). "
                f"Received: mask shape {tuple(padding_mask.shape)}"
            )
        if state is not None and self.padding != "causal":
            raise ValueError(
                "Streaming with `state` needs padding='causal'. "
                f"Received: padding={self.padding!r}"
            )
        x = inputs
        step_mask = None
        if padding_mask is not None:
            step_mask = ops.cast(padding_mask, "float32")
            # (batch_size, sequence_length) -> (..., 1).
            x = x * ops.cast(ops.expand_dims(step_mask, -1), x.dtype)

        # Convolution; causal padding (or the streaming state) on the left.
        new_state = None
        if self.padding == "causal":
            size = self.state_size
            if state is None:
                window = ops.pad(x, ((0, 0), (size, 0), (0, 0)))
            else:
                # (batch_size, state_size + sequence_length, features).
                window = ops.concatenate([ops.cast(state, x.dtype), x], 1)
            if return_state:
                length = ops.shape(window)[1]
                new_state = ops.slice(
                    window,
                    (0, length - size, 0),
                    (ops.shape(window)[0], size, ops.shape(window)[2]),
                )
            y = self.conv(window)
        else:
            y = self.conv(x)

        if self.norm is not None:
            if self.normalization == "batch" and step_mask is not None:
                y = self.norm(
                    y, training=training, mask=ops.cast(step_mask, "bool")
                )
            else:
                y = self.norm(y, training=training)
        y = self.activation(y)
        y = self.dropout_layer(y, training=training)
        if self.residual:
            y = y + (self.projection(x) if self.projection else x)
        if step_mask is not None:
            y = y * ops.cast(ops.expand_dims(step_mask, -1), y.dtype)

        if self.pool_size is not None:
            p = self.pool_size
            y = ops.max_pool(y, p, p, padding="valid")
            if step_mask is not None:
                pooled = self._pool_mask(step_mask)
                # (batch_size, frames) -> (batch_size, frames, 1).
                y = y * ops.cast(ops.expand_dims(pooled, -1), y.dtype)
        if return_state:
            return y, new_state
        return y

    def _pool_mask(self, step_mask):
        """`(batch_size, length)` -> `(batch_size, length // pool_size)`."""
        p = self.pool_size
        # (batch_size, length) -> (batch_size, length, 1) for max_pool.
        padded = ops.expand_dims(1.0 - step_mask, -1)
        pooled = ops.max_pool(padded, p, p, padding="valid")
        # (batch_size, length // p, 1) -> (batch_size, length // p).
        return 1.0 - ops.squeeze(pooled, -1)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if self.pool_size is None:
            return ops.cast(mask, "bool")
        return ops.cast(self._pool_mask(ops.cast(mask, "float32")), "bool")

    def get_initial_state(self, batch_size):
        """Zeros `(batch_size, state_size, features)` for the first chunk."""
        if not self.built:
            raise ValueError(
                "Build the block (call it once) before asking for its "
                "state: the state's feature size is the input's. "
                f"Received: built={self.built}"
            )
        return ops.zeros(
            (batch_size, self.state_size, self._features), self.compute_dtype
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate,
                "padding": self.padding,
                "separable": self.separable,
                "normalization": self.normalization,
                "activation": keras.activations.serialize(self.activation),
                "residual": self.residual,
                "dropout": self.dropout,
                "pool_size": self.pool_size,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
