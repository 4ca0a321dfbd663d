"""Builtin-op recurrences for `RecurrentBlock`'s export graph.

TensorFlow only. Keras's own LSTM, GRU and SimpleRNN carry their per-step
outputs in a `TensorList`, which TFLite converts to Flex ops only. The loops
here carry them in plain tensors instead, so the converted model holds
builtin `WHILE` ops whose bodies use `GATHER`, `FULLY_CONNECTED`, `SPLIT`,
`LOGISTIC`, `TANH`, `SELECT_V2` and `CONCATENATION`, and runs at any
sequence length. The input projection of every step is one
`FULLY_CONNECTED` before the loop; both directions of a layer share one
loop.

The step functions read the weights of the Keras cells
(`kernel`, `recurrent_kernel`, `bias`) and repeat their equations with
their default activations, so both graphs give the same outputs.
"""

import keras
import tensorflow as tf

# How many state tensors each cell carries.
NUM_STATES = {"lstm": 2, "gru": 1, "rnn": 1}


def _lstm_step(x_t, states, recurrent_kernel):
    # x_t already holds `inputs @ kernel + bias`: (batch_size, 4 * units).
    h, c = states
    z = x_t + tf.matmul(h, recurrent_kernel)
    z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
    c = tf.sigmoid(z_f) * c + tf.sigmoid(z_i) * tf.tanh(z_c)
    h = tf.sigmoid(z_o) * tf.tanh(c)
    return h, [h, c]


def _gru_step(x_t, states, recurrent_kernel, recurrent_bias):
    # Keras's default GRU: reset gate applied after the recurrent matmul
    # (`reset_after=True`), gates ordered (update, reset, candidate).
    (h,) = states
    x_z, x_r, x_h = tf.split(x_t, 3, axis=-1)
    inner = tf.matmul(h, recurrent_kernel) + recurrent_bias
    r_z, r_r, r_h = tf.split(inner, 3, axis=-1)
    z = tf.sigmoid(x_z + r_z)
    r = tf.sigmoid(x_r + r_r)
    candidate = tf.tanh(x_h + r * r_h)
    h = z * h + (1.0 - z) * candidate
    return h, [h]


def _rnn_step(x_t, states, recurrent_kernel):
    (h,) = states
    h = tf.tanh(x_t + tf.matmul(h, recurrent_kernel))
    return h, [h]


class _Direction:
    """One direction of one layer: its step and projected inputs."""

    def __init__(self, cell_type, cell, inputs_tm, reverse, dtype):
        self.reverse = reverse
        self.units = cell.units
        kernel = tf.cast(keras.ops.convert_to_tensor(cell.kernel), dtype)
        recurrent = tf.cast(
            keras.ops.convert_to_tensor(cell.recurrent_kernel), dtype
        )
        bias = tf.cast(keras.ops.convert_to_tensor(cell.bias), dtype)
        if cell_type == "gru":
            # Keras stores (input bias, recurrent bias): (2, 3 * units).
            input_bias, recurrent_bias = bias[0], bias[1]
            self.step = lambda x, s: _gru_step(x, s, recurrent, recurrent_bias)
        else:
            input_bias = bias
            step = _lstm_step if cell_type == "lstm" else _rnn_step
            self.step = lambda x, s: step(x, s, recurrent)

        # Project every step at once, outside the loop.
        shape = tf.shape(inputs_tm)
        # (sequence_length * batch_size, features)
        flat = tf.reshape(inputs_tm, [-1, kernel.shape[0]])
        projected = tf.matmul(flat, kernel) + input_bias
        # (sequence_length, batch_size, gates * units)
        self.projected = tf.reshape(
            projected, [shape[0], shape[1], kernel.shape[-1]]
        )


CARRIES = ("blocked", "select", "concat")


def _zero_states(directions, initial_states, num_states, batch_size, dtype):
    states = []
    for i, d in enumerate(directions):
        if initial_states is not None and initial_states[i] is not None:
            states.append([tf.cast(s, dtype) for s in initial_states[i]])
        else:
            zeros = tf.zeros(tf.stack([batch_size, d.units]), dtype)
            states.append([zeros] * num_states)
    return states


def _masked_step(d, x_t, m_t, state):
    h, next_state = d.step(x_t, state)
    if m_t is not None:
        next_state = [tf.where(m_t, n, s) for n, s in zip(next_state, state)]
        h = next_state[0]
    return h, next_state


def _append(out, rows, reverse):
    """Joins `rows` to `out` after the placeholder row(s) of `out`."""
    if reverse:
        # Keep the placeholder first: later positions come after it.
        return tf.concat([out[:1], rows, out[1:]], axis=0)
    return tf.concat([out, rows], axis=0)


def _state_invariants(directions, num_states):
    return [[tf.TensorShape([None, d.units])] * num_states for d in directions]


def _run_flat(directions, projected, mask_tm, states, steps, batch, carry):
    """One iteration per step; outputs by "select" or "concat"."""
    dtype = projected[0].dtype
    rows = steps if carry == "select" else 1
    outputs = [
        tf.zeros(tf.stack([rows, batch, d.units]), dtype) for d in directions
    ]
    # (sequence_length, 1, 1): each buffer row's position, for "select".
    positions = tf.reshape(tf.range(steps), [-1, 1, 1])

    def body(i, outputs, states):
        new_outputs, new_states = [], []
        for d, x, out, state in zip(directions, projected, outputs, states):
            t = steps - 1 - i if d.reverse else i
            m_t = None if mask_tm is None else tf.gather(mask_tm, t)
            h, state = _masked_step(d, tf.gather(x, t), m_t, state)
            # (1, batch_size, units)
            h = tf.expand_dims(h, 0)
            if carry == "select":
                out = tf.where(tf.equal(positions, t), h, out)
            else:
                out = _append(out, h, d.reverse)
            new_outputs.append(out)
            new_states.append(state)
        return i + 1, new_outputs, new_states

    num_states = len(states[0])
    invariants = (
        tf.TensorShape([]),
        [tf.TensorShape([None, None, d.units]) for d in directions],
        _state_invariants(directions, num_states),
    )
    _, outputs, states = tf.while_loop(
        lambda i, *_: i < steps,
        body,
        (tf.constant(0), outputs, states),
        shape_invariants=invariants,
    )
    if carry == "concat":
        outputs = [o[1:] for o in outputs]
    return outputs, states


def _run_blocked(directions, projected, mask_tm, states, steps, batch, size):
    """Blocks of `size` steps: an inner loop per block, an outer over them.

    The inner loop writes its block into a fixed `(size, batch_size,
    units)` buffer, so its loop variables never change shape; the outer
    loop joins whole blocks by concatenation. Per step that costs
    O(size), not O(sequence_length), and the runtime re-plans memory once
    per block instead of once per step.
    """
    dtype = projected[0].dtype
    blocks = (steps + size - 1) // size
    pad = blocks * size - steps
    time_pad = tf.stack([tf.stack([0, pad]), [0, 0], [0, 0]])
    if mask_tm is None:
        # (sequence_length, batch_size, 1): every real step is kept.
        mask_tm = tf.ones(tf.stack([steps, batch, 1]), tf.bool)
    # (blocks, size, batch_size, 1); padded steps are masked.
    mask_tm = tf.reshape(
        tf.pad(mask_tm, time_pad, constant_values=False),
        tf.stack([blocks, size, batch, 1]),
    )
    # (blocks, size, batch_size, gates * units) per direction.
    projected = [
        tf.reshape(
            tf.pad(x, time_pad), tf.stack([blocks, size, batch, x.shape[-1]])
        )
        for x in projected
    ]
    # (size, 1, 1): each block buffer row's position.
    positions = tf.reshape(tf.range(size), [-1, 1, 1])
    num_states = len(states[0])

    def inner(xs, ms, states):
        buffers = [
            tf.zeros(tf.stack([size, batch, d.units]), dtype)
            for d in directions
        ]

        def body(j, buffers, states):
            new_buffers, new_states = [], []
            for d, x, m, buf, state in zip(directions, xs, ms, buffers, states):
                t = size - 1 - j if d.reverse else j
                h, state = _masked_step(
                    d, tf.gather(x, t), tf.gather(m, t), state
                )
                # (1, batch_size, units) written at row t.
                h = tf.expand_dims(h, 0)
                new_buffers.append(tf.where(tf.equal(positions, t), h, buf))
                new_states.append(state)
            return j + 1, new_buffers, new_states

        _, buffers, states = tf.while_loop(
            lambda j, *_: j < size,
            body,
            (tf.constant(0), buffers, states),
            shape_invariants=(
                tf.TensorShape([]),
                [tf.TensorShape([size, None, d.units]) for d in directions],
                _state_invariants(directions, num_states),
            ),
        )
        return buffers, states

    outputs = [
        tf.zeros(tf.stack([1, batch, d.units]), dtype) for d in directions
    ]

    def outer(b, outputs, states):
        xs, ms = [], []
        for d, x in zip(directions, projected):
            c = blocks - 1 - b if d.reverse else b
            xs.append(tf.gather(x, c))
            ms.append(tf.gather(mask_tm, c))
        buffers, states = inner(xs, ms, states)
        outputs = [
            _append(out, buf, d.reverse)
            for d, out, buf in zip(directions, outputs, buffers)
        ]
        return b + 1, outputs, states

    _, outputs, states = tf.while_loop(
        lambda b, *_: b < blocks,
        outer,
        (tf.constant(0), outputs, states),
        shape_invariants=(
            tf.TensorShape([]),
            [tf.TensorShape([None, None, d.units]) for d in directions],
            _state_invariants(directions, num_states),
        ),
    )
    # Drop the placeholder row and the padded steps.
    return [o[1 : 1 + steps] for o in outputs], states


def run_recurrence(
    cell_type,
    cells,
    inputs,
    mask=None,
    initial_states=None,
    reverse=None,
    carry="blocked",
    block_size=16,
):
    """Runs one layer's directions in builtin-op `while` loops.

    Args:
        cell_type: "lstm", "gru" or "rnn".
        cells: the Keras cells, one per direction (forward first).
        inputs: `(batch_size, sequence_length, features)`.
        mask: optional `(batch_size, sequence_length)` boolean; a masked
            step keeps the state of the step before it.
        initial_states: optional list (one per direction) of state lists,
            each tensor `(batch_size, units)`; zeros when None.
        reverse: list of booleans, one per direction: True runs from the
            last step to the first (the backward direction). With right
            padding and `mask`, its state stays at the initial state
            through the padding, so it starts at each sequence's real end.
        carry: how the loop carries the outputs. `"blocked"`: an outer
            loop over blocks of `block_size` steps and an inner loop per
            block (see `_run_blocked`). `"concat"`: one loop, the outputs
            growing by one step per iteration (`CONCATENATION`), which
            makes the runtime re-plan memory every step. `"select"`: one
            loop, a fixed `(sequence_length, batch_size, units)` buffer
            written with `SELECT_V2`; every step touches the whole buffer.
        block_size: steps per block for `"blocked"`.

    Returns:
        `(outputs, final_states)`: per direction, the outputs
        `(batch_size, sequence_length, units)` in position order (step t
        of a reversed direction at position t), and its final states.
    """
    if carry not in CARRIES:
        raise ValueError(
            f"`carry` must be one of {CARRIES}. Received: carry={carry!r}"
        )
    dtype = inputs.dtype
    reverse = reverse or [False] * len(cells)
    # (sequence_length, batch_size, features)
    inputs_tm = tf.transpose(inputs, [1, 0, 2])
    steps = tf.shape(inputs_tm)[0]
    batch = tf.shape(inputs_tm)[1]
    directions = [
        _Direction(cell_type, cell, inputs_tm, rev, dtype)
        for cell, rev in zip(cells, reverse)
    ]
    mask_tm = None
    if mask is not None:
        # (sequence_length, batch_size, 1)
        mask_tm = tf.expand_dims(tf.transpose(tf.cast(mask, tf.bool)), -1)
    states = _zero_states(
        directions, initial_states, NUM_STATES[cell_type], batch, dtype
    )
    projected = [d.projected for d in directions]
    if carry == "blocked":
        outputs, states = _run_blocked(
            directions, projected, mask_tm, states, steps, batch, block_size
        )
    else:
        outputs, states = _run_flat(
            directions, projected, mask_tm, states, steps, batch, carry
        )
    # (batch_size, sequence_length, units) for each direction.
    return [tf.transpose(o, [1, 0, 2]) for o in outputs], states
