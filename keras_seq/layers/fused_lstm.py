"""LSTM export as TFLite's fused `UNIDIRECTIONAL_SEQUENCE_LSTM` op.

TensorFlow only. The TFLite converter replaces the body of a function
tagged with the `api_implements` attribute `"lstm_..."` (the tag Keras 2's
LSTM layer used) by one `UNIDIRECTIONAL_SEQUENCE_LSTM` op, when:

- the function takes `(inputs, init_h, init_c, kernel, recurrent_kernel,
  bias)` in Keras's layout (gates ordered input, forget, cell, output),
  carries `time_major` (and optionally `go_backwards`) attributes, returns
  five tensors `(last_output, outputs, h, c, runtime)` and its callers use
  only the first two;
- `init_h` and `init_c` have a static shape, so the batch size must be
  known when the model is traced.

The fused op holds its two states in variable tensors that it overwrites
with the final states. A constant initial state would thus carry over from
one `invoke` to the next; here every initial state is a distinct zero
tensor computed from the inputs, so each call starts from zeros.

The function body, which TensorFlow runs where the converter does not
replace it, is the builtin-op loop of `recurrent_cells.run_recurrence`.
"""

import contextlib
import contextvars
import uuid

import tensorflow as tf

from keras_seq.layers import recurrent_cells


class _Weights:
    """The attributes of a Keras LSTM cell that the loop reads."""

    def __init__(self, kernel, recurrent_kernel, bias):
        self.kernel = kernel
        self.recurrent_kernel = recurrent_kernel
        self.bias = bias
        self.units = recurrent_kernel.shape[0]


def _standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
    outputs, states = recurrent_cells.run_recurrence(
        "lstm",
        [_Weights(kernel, recurrent_kernel, bias)],
        inputs,
        initial_states=[[init_h, init_c]],
    )
    (outputs,) = outputs
    h, c = states[0]
    return outputs[:, -1], outputs, h, c, tf.zeros([])


def _tagged_lstm():
    """A new tagged function: `_standard_lstm` for the converter to fuse.

    The converter needs only the tag's "lstm_" prefix. The tag is unique
    per function because TensorFlow's graph optimizer treats functions
    with the same tag as interchangeable implementations and may swap in
    one traced for other shapes.
    """
    return tf.function(
        _standard_lstm,
        autograph=False,
        experimental_attributes={
            "api_implements": f"lstm_{uuid.uuid4().hex}",
            "time_major": False,
            "go_backwards": False,
        },
    )


_DISABLED = contextvars.ContextVar("keras_seq_no_fused_lstm", default=False)


@contextlib.contextmanager
def no_fused_lstm():
    """Export LSTMs as loops even where the fused op could run.

    For full-integer (int8) quantization: the converter quantizes the
    fused op's internals from its own defaults, which measured far less
    accurate (max error 0.42 against 0.02 for the loop on a 16-unit
    BiLSTM) than the loop, whose body stays float.
    """
    token = _DISABLED.set(True)
    try:
        yield
    finally:
        _DISABLED.reset(token)


def can_fuse(inputs):
    """Whether `fused_lstm` can run on `inputs`.

    True for float32 inputs with a static batch size, outside
    `no_fused_lstm()`.
    """
    return (
        not _DISABLED.get()
        and inputs.shape[0] is not None
        and inputs.dtype == tf.float32
    )


def _zero_states(inputs, units, count):
    """`count` distinct `(batch_size, units)` zero tensors from `inputs`.

    The converter folds a constant zero state into the model, where the
    fused op's variable tensors would keep the last call's final state;
    `min(|x|, 0)` is zero for every finite or infinite input and cannot be
    folded. Splitting one tensor gives each state its own tensor, which
    the fused op requires.
    """
    batch = inputs.shape[0]
    # (batch_size, 1) zeros, then (batch_size, count * units).
    zero = tf.minimum(tf.abs(inputs[:, 0, :1]), 0.0)
    zeros = tf.tile(zero, [1, count * units])
    return [
        tf.ensure_shape(z, [batch, units])
        for z in tf.split(zeros, count, axis=-1)
    ]


def fused_lstm(cells, inputs, reverse):
    """Runs one layer's LSTM directions as fused TFLite sequence ops.

    Without a mask only: every step of every sequence is real. A reversed
    direction runs on the time-reversed inputs and its outputs are
    reversed back.

    Args:
        cells: the Keras `LSTMCell`s, one per direction, all with the
            same `units`.
        inputs: `(batch_size, sequence_length, features)` float32, with a
            static batch size (see `can_fuse`).
        reverse: list of booleans, one per direction.

    Returns:
        `(outputs, final_hidden)`: per direction, the outputs
        `(batch_size, sequence_length, units)` in position order and the
        hidden state `(batch_size, units)` after its last step.
    """
    zeros = _zero_states(inputs, cells[0].units, 2 * len(cells))
    outputs, final_hidden = [], []
    for i, (cell, rev) in enumerate(zip(cells, reverse)):
        x = tf.reverse(inputs, [1]) if rev else inputs
        init_h, init_c = zeros[2 * i : 2 * i + 2]
        y = _tagged_lstm()(
            x,
            init_h,
            init_c,
            tf.convert_to_tensor(cell.kernel),
            tf.convert_to_tensor(cell.recurrent_kernel),
            tf.convert_to_tensor(cell.bias),
        )[1]
        # The traced body loses the static batch size that a next layer
        # needs to fuse too.
        y = tf.ensure_shape(y, [inputs.shape[0], None, cell.units])
        # The hidden state after the run's last step.
        final_hidden.append(y[:, -1])
        # A reversed run's last step is position 0.
        outputs.append(tf.reverse(y, [1]) if rev else y)
    return outputs, final_hidden
