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

With the batch size unknown when traced, or with a mask (the fused op has
no mask input), a `while` loop over the batch runs each sequence alone
(batch size 1) on its real steps; a mask that is not right padding runs
the caller's loop instead, chosen at run time by an `IF`.

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


_ENABLED = contextvars.ContextVar("keras_seq_fused_lstm", default=False)


@contextlib.contextmanager
def fused_lstm_export(enabled=True):
    """Export `RecurrentBlock` LSTMs as fused TFLite ops (or not).

    Off by default: the fused op is faster than the loop in float32 (see
    `benchmarks/RESULTS.md`) but full-integer (int8) conversion of it
    fails inside the loop over the batch (calibration stops on a tensor
    without data) and, over a fixed batch, quantizes far less accurately
    than the loop, whose body stays float (max error 0.42 against 0.02 on
    a 16-unit BiLSTM). Enter it around a float32 or float16 conversion.

    Args:
        enabled: bool. Whether LSTMs fuse inside the context.

    Example:

    >>> import keras
    >>> from keras_seq import tflite
    >>> from keras_seq.layers import RecurrentBlock
    >>> x = keras.Input((None, 3))
    >>> model = keras.Model(x, RecurrentBlock(4)(x))
    >>> with fused_lstm_export():
    ...     report = tflite.convert(model)
    >>> "WHILE" in report.ops  # the loop over the batch
    True
    """
    token = _ENABLED.set(bool(enabled))
    try:
        yield
    finally:
        _ENABLED.reset(token)


def enabled():
    """True inside `fused_lstm_export()`."""
    return _ENABLED.get()


def can_fuse(inputs):
    """Whether `fused_lstm` can run on `inputs`: float32."""
    return inputs.dtype == tf.float32


def _zero_states(source, units, count):
    """`count` distinct `(batch_size, units)` zero tensors from `source`.

    The converter folds a constant zero state into the model, where the
    fused op's variable tensors would keep the last call's final state;
    `min(|x|, 0)` of an input is zero for every finite or infinite value
    and cannot be folded. Splitting one tensor gives each state its own
    tensor, which the fused op requires.

    Args:
        source: `(batch_size, 1)`, with a static batch size.
    """
    # (batch_size, count * units) zeros.
    zeros = tf.tile(tf.minimum(tf.abs(source), 0.0), [1, count * units])
    return [
        tf.ensure_shape(z, [source.shape[0], units])
        for z in tf.split(zeros, count, axis=-1)
    ]


def _run_fused(cells, inputs, reverse, zero_source):
    """One fused op per direction over every step of `inputs`."""
    zeros = _zero_states(zero_source, cells[0].units, 2 * len(cells))
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


def _run_per_sequence(cells, inputs, reverse, lengths):
    """Fused ops on each sequence's real steps, one sequence at a time.

    A `while` loop over the batch runs each sequence alone (batch size 1,
    known to the converter) on its first `lengths[b]` steps; outputs at
    later positions are zero.
    """
    batch = tf.shape(inputs)[0]
    steps = tf.shape(inputs)[1]
    units = cells[0].units
    dtype = inputs.dtype

    def body(b, outputs, hidden):
        # (1, sequence_length, features)
        sample = tf.ensure_shape(
            tf.gather(inputs, tf.reshape(b, [1])),
            [1, None, inputs.shape[-1]],
        )
        length = tf.gather(lengths, b)
        # An empty sequence runs one step, whose results are dropped.
        ys, hs = _run_fused(
            cells, sample[:, : tf.maximum(length, 1)], reverse, sample[:, 0, :1]
        )
        real = tf.cast(length > 0, dtype)
        paddings = tf.stack([[0, 0], tf.stack([0, steps - length]), [0, 0]])
        # (1, sequence_length, units) per direction: real steps, then zeros.
        ys = [tf.pad(y[:, :length], paddings) for y in ys]
        outputs = [tf.concat([o, y], 0) for o, y in zip(outputs, ys)]
        hidden = [tf.concat([h0, h * real], 0) for h0, h in zip(hidden, hs)]
        return b + 1, outputs, hidden

    directions = len(cells)
    outputs = [tf.zeros(tf.stack([0, steps, units]), dtype)] * directions
    hidden = [tf.zeros([0, units], dtype)] * directions
    _, outputs, hidden = tf.while_loop(
        lambda b, *_: b < batch,
        body,
        (tf.constant(0), outputs, hidden),
        shape_invariants=(
            tf.TensorShape([]),
            [tf.TensorShape([None, None, units])] * directions,
            [tf.TensorShape([None, units])] * directions,
        ),
    )
    return outputs, hidden


def fused_lstm(cells, inputs, reverse, mask=None, loop=None):
    """Runs one layer's LSTM directions as fused TFLite sequence ops.

    A reversed direction runs on the time-reversed real steps and its
    outputs are reversed back. Without a mask and with a static batch
    size, one fused op per direction runs the whole batch. Otherwise a
    `while` loop over the batch runs each sequence's real steps alone:
    with right padding (each row of `mask` some ones, then zeros) that
    gives exactly the outputs of a masked recurrence. Any other mask runs
    `loop` instead, chosen at run time.

    Args:
        cells: the Keras `LSTMCell`s, one per direction, all with the
            same `units`.
        inputs: `(batch_size, sequence_length, features)` float32 (see
            `can_fuse`).
        reverse: list of booleans, one per direction.
        mask: optional `(batch_size, sequence_length)` boolean.
        loop: with `mask`, a callable returning `(outputs, final_hidden)`
            as this function does, for masks that are not right padding.

    Returns:
        `(outputs, final_hidden)`: per direction, the outputs
        `(batch_size, sequence_length, units)` in position order (zero at
        padded positions) and the hidden state `(batch_size, units)` after
        its last real step.
    """
    if mask is None and inputs.shape[0] is not None:
        return _run_fused(cells, inputs, reverse, inputs[:, 0, :1])
    batch = tf.shape(inputs)[0]
    steps = tf.shape(inputs)[1]
    if mask is None:
        return _run_per_sequence(
            cells, inputs, reverse, tf.fill(tf.reshape(batch, [1]), steps)
        )
    if loop is None:
        raise ValueError(
            "A `mask` needs a `loop` for masks that are not right "
            "padding. Received: loop=None"
        )
    mask = tf.cast(mask, tf.bool)
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    right_padded = tf.reduce_all(
        tf.equal(mask, tf.sequence_mask(lengths, steps))
    )
    return tf.cond(
        right_padded,
        lambda: _run_per_sequence(cells, inputs, reverse, lengths),
        loop,
    )
