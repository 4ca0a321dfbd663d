"""`RecurrentBlock`: stacked, optionally bidirectional LSTM / GRU / RNN."""

import numbers

import keras

from keras_seq.layers.export_mode import in_export_mode

CELL_TYPES = ("lstm", "gru", "rnn")
MERGE_MODES = ("concat", "sum", "mul", "ave")
_NUM_STATES = {"lstm": 2, "gru": 1, "rnn": 1}


def _check_positive_int(name, value):
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, bool)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a positive integer. Received: {name}={value!r}"
        )


def _recurrent_layer(cell_type, units, go_backwards, dtype, name):
    layer_cls = {
        "lstm": keras.layers.LSTM,
        "gru": keras.layers.GRU,
        "rnn": keras.layers.SimpleRNN,
    }[cell_type]
    return layer_cls(
        units,
        return_sequences=True,
        return_state=True,
        go_backwards=go_backwards,
        dtype=dtype,
        name=name,
    )


def _merge(forward, backward, merge_mode):
    """Joins the two directions; `backward` is None when unidirectional."""
    if backward is None:
        return forward
    if merge_mode == "concat":
        return keras.ops.concatenate([forward, backward], axis=-1)
    if merge_mode == "sum":
        return forward + backward
    if merge_mode == "mul":
        return forward * backward
    return (forward + backward) / 2


@keras.saving.register_keras_serializable(package="keras_seq")
class RecurrentBlock(keras.layers.Layer):
    """Stacked LSTM, GRU or SimpleRNN layers that convert to builtin TFLite.

    Each of the `num_layers` layers runs a recurrence over the sequence (in
    both directions when `bidirectional`), merges the directions, then
    applies dropout, an optional residual connection and an optional layer
    normalization, in that order.

    Two graphs share one set of weights. For training and inference in
    Keras the block calls Keras's own `LSTM`, `GRU` or `SimpleRNN` layers
    (cuDNN kernels on a GPU). Inside `keras_seq.layers.export_mode()`, which
    `keras_seq.tflite.convert` enters, it traces `tf.while_loop`s that
    carry their outputs in plain tensors instead of a `TensorList`, so the
    TFLite model needs builtin ops only and runs at any sequence length:
    per layer, an outer loop over blocks of 16 steps joins whole blocks by
    concatenation, and an inner loop writes each block into a buffer of
    fixed shape (both directions in the same loops). That layout was the
    fastest loop measured in `benchmarks/bench_recurrent_export.py`.
    Inside `keras_seq.layers.fused_lstm.fused_lstm_export()`, an LSTM
    block in float32 that is not streaming exports instead as TFLite's
    fused `UNIDIRECTIONAL_SEQUENCE_LSTM` op, one per direction, still at
    any sequence length, which measured faster: over the whole batch when
    its size is fixed at tracing and there is no mask, else one sequence
    at a time on its real steps; a mask that is not right padding runs the
    loop. Not for int8 quantization (see `fused_lstm_export`). The export
    graph is TensorFlow-only.

    Masks: padded steps keep the state of the step before them, so they
    never change an output at a real step; the backward direction, run
    from the last position to the first, keeps its initial state through
    right padding and so starts at each sequence's real end. Outputs at
    padded positions are zero. The mask is the `padding_mask` argument, or
    else the implicit Keras mask, and `compute_mask` passes it on.

    Streaming: a unidirectional block takes `initial_state` and returns its
    final state with `return_state=True`; feeding a sequence in chunks,
    each chunk starting from the state the one before returned, gives the
    outputs of the whole sequence. The states are plain tensors, so a
    converted chunk model carries them as inputs and outputs.

    Args:
        units: int. Hidden size of every recurrent layer (per direction).
        cell_type: `"lstm"`, `"gru"` (Keras's default GRU,
            `reset_after=True`) or `"rnn"` (SimpleRNN with tanh).
        bidirectional: bool. Also run each layer from the end backwards.
        merge_mode: how the two directions join: `"concat"` (output width
            `2 * units`), `"sum"`, `"mul"` or `"ave"` (width `units`).
        num_layers: int. Number of stacked recurrent layers.
        residual: bool. Add each layer's input to its output where the two
            widths are equal (every layer after the first; the first only
            when the input feature size equals the output width).
        dropout: float in [0, 1). Dropout rate on each layer's output
            during training.
        layer_norm: bool. Layer-normalize each layer's output.
        layer_norm_epsilon: float. Epsilon of the layer normalizations.
        return_sequences: bool. If False, return one vector per sequence:
            the last layer's final forward state merged with its final
            backward state (no residual on that last layer).
        **kwargs: base layer arguments such as `name` and `dtype`.

    Call arguments:
        inputs: `(batch_size, sequence_length, features)`.
        padding_mask: optional `(batch_size, sequence_length)`, 1 (or True)
            for real steps. Takes precedence over `mask`.
        mask: the implicit Keras mask, same shape.
        training: bool, for dropout.
        initial_state: optional flat list of state tensors, as
            `get_initial_state` returns them (unidirectional only).
        return_state: bool. Also return the final states (unidirectional
            only).

    Returns:
        `(batch_size, sequence_length, output_dim)` with `output_dim` equal
        to `2 * units` for a bidirectional block with `merge_mode="concat"`
        and `units` otherwise; `(batch_size, output_dim)` when
        `return_sequences=False`. With `return_state=True`, a tuple of the
        outputs and the flat list of final states.

    Example:

    >>> import numpy as np
    >>> block = RecurrentBlock(units=8, bidirectional=True, num_layers=2)
    >>> x = np.zeros((2, 5, 3), "float32")
    >>> mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    >>> tuple(block(x, padding_mask=mask).shape)
    (2, 5, 16)

    Streaming in two chunks:

    >>> block = RecurrentBlock(units=4)
    >>> state = block.get_initial_state(batch_size=2)
    >>> y1, state = block(x[:, :3], initial_state=state, return_state=True)
    >>> y2, state = block(x[:, 3:], initial_state=state, return_state=True)
    >>> tuple(y2.shape)
    (2, 2, 4)

    References:
        - [Hochreiter and Schmidhuber, 1997](https://doi.org/10.1162/neco.1997.9.8.1735)
        - [Cho et al., 2014](https://arxiv.org/abs/1406.1078)
        - [Schuster and Paliwal, 1997](https://doi.org/10.1109/78.650093)
    """

    # How the export graph runs the recurrence: "fused" (LSTM only, where
    # `_fuses` allows; else "blocked"; `fused_lstm.fused_lstm_export()`
    # asks for it too) or a loop carry of `recurrent_cells.run_recurrence`.
    # Benchmarks compare the choices.
    _export_carry = "blocked"
    _export_block_size = 16

    def __init__(
        self,
        units,
        cell_type="lstm",
        bidirectional=False,
        merge_mode="concat",
        num_layers=1,
        residual=False,
        dropout=0.0,
        layer_norm=False,
        layer_norm_epsilon=1e-5,
        return_sequences=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_positive_int("units", units)
        _check_positive_int("num_layers", num_layers)
        if cell_type not in CELL_TYPES:
            raise ValueError(
                f"`cell_type` must be one of {CELL_TYPES}. "
                f"Received: cell_type={cell_type!r}"
            )
        if merge_mode not in MERGE_MODES:
            raise ValueError(
                f"`merge_mode` must be one of {MERGE_MODES}. "
                f"Received: merge_mode={merge_mode!r}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(
                f"`dropout` must be in [0, 1). Received: dropout={dropout!r}"
            )
        self.units = int(units)
        self.cell_type = cell_type
        self.bidirectional = bidirectional
        self.merge_mode = merge_mode
        self.num_layers = int(num_layers)
        self.residual = residual
        self.dropout = dropout
        self.layer_norm = layer_norm
        self.layer_norm_epsilon = layer_norm_epsilon
        self.return_sequences = return_sequences
        self.supports_masking = True

        self.forward_layers = [
            _recurrent_layer(
                cell_type, self.units, False, self.dtype_policy, f"forward_{i}"
            )
            for i in range(num_layers)
        ]
        self.backward_layers = []
        if bidirectional:
            self.backward_layers = [
                _recurrent_layer(
                    cell_type,
                    self.units,
                    True,
                    self.dtype_policy,
                    f"backward_{i}",
                )
                for i in range(num_layers)
            ]
        self.norm_layers = []
        if layer_norm:
            self.norm_layers = [
                keras.layers.LayerNormalization(
                    epsilon=layer_norm_epsilon,
                    dtype=self.dtype_policy,
                    name=f"layer_norm_{i}",
                )
                for i in range(num_layers)
            ]
        self.dropout_layer = None
        if dropout > 0:
            self.dropout_layer = keras.layers.Dropout(
                dropout, dtype=self.dtype_policy, name="dropout"
            )
        self._input_dim = None

    @property
    def output_dim(self):
        """Width of the output's last axis."""
        if self.bidirectional and self.merge_mode == "concat":
            return 2 * self.units
        return self.units

    def _check_shape(self, shape, building=False):
        if len(shape) != 3:
            raise ValueError(
                "`RecurrentBlock` expects inputs of rank 3, "
                "(batch_size, sequence_length, features). "
                f"Received: inputs.shape={tuple(shape)}"
            )
        if building and shape[-1] is None:
            raise ValueError(
                "The feature axis (last) of the inputs must be known. "
                f"Received: inputs.shape={tuple(shape)}"
            )
        # A graph traced for export may lose the static feature size (for
        # example after a reshape computed from the dynamic shape); the
        # weights were built for the size seen at build time.
        known = shape[-1] is not None and self._input_dim is not None
        if known and shape[-1] != self._input_dim:
            raise ValueError(
                f"This block was built for {self._input_dim} input "
                f"features. Received: inputs.shape={tuple(shape)}"
            )

    def build(self, input_shape):
        self._check_shape(input_shape, building=True)
        self._input_dim = int(input_shape[-1])
        width = self._input_dim
        for i in range(self.num_layers):
            self.forward_layers[i].build((None, None, width))
            if self.bidirectional:
                self.backward_layers[i].build((None, None, width))
            width = self.output_dim
            if self.layer_norm:
                self.norm_layers[i].build((None, None, width))
        self.built = True

    def get_initial_state(self, batch_size):
        """Zero states for streaming: a flat list of `(batch_size, units)`.

        Two tensors (hidden, cell) per LSTM layer, one per GRU or RNN
        layer, in layer order.
        """
        num = _NUM_STATES[self.cell_type] * self.num_layers
        return [
            keras.ops.zeros((batch_size, self.units), self.compute_dtype)
            for _ in range(num)
        ]

    def _layer_states(self, initial_state):
        if initial_state is None:
            return [None] * self.num_layers
        per_layer = _NUM_STATES[self.cell_type]
        initial_state = list(initial_state)
        expected = per_layer * self.num_layers
        if len(initial_state) != expected:
            raise ValueError(
                f"`initial_state` must hold {expected} tensors "
                f"({per_layer} per layer). Received: "
                f"{len(initial_state)} tensors"
            )
        return [
            initial_state[i * per_layer : (i + 1) * per_layer]
            for i in range(self.num_layers)
        ]

    def _run_keras(self, i, x, mask, state, training):
        forward = self.forward_layers[i](
            x, mask=mask, training=training, initial_state=state
        )
        outputs, states = [forward[0]], [list(forward[1:])]
        if self.bidirectional:
            backward = self.backward_layers[i](x, mask=mask, training=training)
            # Keras returns a backward layer's outputs last step first.
            outputs.append(keras.ops.flip(backward[0], axis=1))
            states.append(list(backward[1:]))
        return outputs, states

    def _fuses(self, x, state, return_state):
        """Whether layer inputs `x` take the fused LSTM export."""
        from keras_seq.layers import fused_lstm

        return (
            (self._export_carry == "fused" or fused_lstm.enabled())
            and self.cell_type == "lstm"
            and state is None
            and not return_state
            and fused_lstm.can_fuse(x)
        )

    def _run_export(self, i, x, mask, state, return_state):
        from keras_seq.layers import fused_lstm
        from keras_seq.layers.recurrent_cells import run_recurrence

        cells = [self.forward_layers[i].cell]
        if self.bidirectional:
            cells.append(self.backward_layers[i].cell)
        reverse = [False, True][: len(cells)]
        carry = self._export_carry

        def loop():
            return run_recurrence(
                self.cell_type,
                cells,
                x,
                mask=mask,
                initial_states=[state] + [None] * (len(cells) - 1),
                reverse=reverse,
                carry="blocked" if carry == "fused" else carry,
                block_size=self._export_block_size,
            )

        if not self._fuses(x, state, return_state):
            return loop()

        def hidden_only_loop():
            outputs, states = loop()
            return outputs, [s[0] for s in states]

        outputs, hidden = fused_lstm.fused_lstm(
            cells, x, reverse, mask=mask, loop=hidden_only_loop
        )
        # Only the hidden states: the fused op keeps its cell state.
        return outputs, [[h] for h in hidden]

    def call(
        self,
        inputs,
        padding_mask=None,
        mask=None,
        training=None,
        initial_state=None,
        return_state=False,
    ):
        self._check_shape(inputs.shape)
        if self.bidirectional and (initial_state is not None or return_state):
            raise ValueError(
                "`initial_state` and `return_state` are for streaming, "
                "which needs a unidirectional block. Received: "
                "bidirectional=True"
            )
        sequence_mask = padding_mask if padding_mask is not None else mask
        if sequence_mask is not None:
            sequence_mask = keras.ops.cast(sequence_mask, "bool")
        layer_states = self._layer_states(initial_state)
        exporting = in_export_mode()

        x = inputs
        final_states = []
        for i in range(self.num_layers):
            if exporting:
                outputs, states = self._run_export(
                    i, x, sequence_mask, layer_states[i], return_state
                )
            else:
                outputs, states = self._run_keras(
                    i, x, sequence_mask, layer_states[i], training
                )
            final_states.extend(states[0])
            summary = i == self.num_layers - 1 and not self.return_sequences
            if summary:
                # Each direction's hidden state after its last real step.
                y = _merge(
                    states[0][0],
                    states[1][0] if self.bidirectional else None,
                    self.merge_mode,
                )
            else:
                y = _merge(
                    outputs[0],
                    outputs[1] if self.bidirectional else None,
                    self.merge_mode,
                )
            if self.dropout_layer is not None:
                y = self.dropout_layer(y, training=training)
            width = self._input_dim if i == 0 else self.output_dim
            if self.residual and not summary and width == self.output_dim:
                y = y + x
            if self.layer_norm:
                y = self.norm_layers[i](y)
            x = y

        if self.return_sequences and sequence_mask is not None:
            x = x * keras.ops.expand_dims(
                keras.ops.cast(sequence_mask, x.dtype), -1
            )
        if return_state:
            return x, final_states
        return x

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences:
            return None
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "cell_type": self.cell_type,
                "bidirectional": self.bidirectional,
                "merge_mode": self.merge_mode,
                "num_layers": self.num_layers,
                "residual": self.residual,
                "dropout": self.dropout,
                "layer_norm": self.layer_norm,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "return_sequences": self.return_sequences,
            }
        )
        return config
