"""Builtin-op recurrences for `RecurrentBlock`'s export graph.

TensorFlow only. Keras's own LSTM, GRU and SimpleRNN carry their per-step
outputs in a `TensorList`, which TFLite converts to Flex ops only. The loop
here carries them by concatenation instead, so the converted model holds
one builtin `WHILE` whose body uses `GATHER`, `FULLY_CONNECTED`, `SPLIT`,
`LOGISTIC`, `TANH`, `SELECT_V2` and `CONCATENATION`, and runs at any
sequence length.

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
        flat = tf.reshape(inputs_tm, [-1, inputs_tm.shape[-1]])
        projected = tf.matmul(flat, kernel) + input_bias
        # (sequence_length, batch_size, gates * units)
        self.projected = tf.reshape(
            projected, [shape[0], shape[1], kernel.shape[-1]]
        )


def run_recurrence(
    cell_type, cells, inputs, mask=None, initial_states=None, reverse=None
):
    """Runs one layer's directions in a single builtin-op `while` loop.

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

    Returns:
        `(outputs, final_states)`: per direction, the outputs
        `(batch_size, sequence_length, units)` in position order (step t
        of a reversed direction at position t), and its final states.
    """
    dtype = inputs.dtype
    reverse = reverse or [False] * len(cells)
    # (sequence_length, batch_size, features)
    inputs_tm = tf.transpose(inputs, [1, 0, 2])
    steps = tf.shape(inputs_tm)[0]
    batch_size = tf.shape(inputs_tm)[1]
    directions = [
        _Direction(cell_type, cell, inputs_tm, rev, dtype)
        for cell, rev in zip(cells, reverse)
    ]
    if mask is not None:
        # (sequence_length, batch_size, 1)
        mask_tm = tf.expand_dims(tf.transpose(tf.cast(mask, tf.bool)), -1)

    num_states = NUM_STATES[cell_type]
    states = []
    for i, d in enumerate(directions):
        if initial_states is not None and initial_states[i] is not None:
            states.append([tf.cast(s, dtype) for s in initial_states[i]])
        else:
            zeros = tf.zeros(tf.stack([batch_size, d.units]), dtype)
            states.append([zeros] * num_states)
    # The outputs start with one placeholder row, dropped after the loop:
    # the runtime's WHILE fails on a zero-size loop variable.
    outputs = [
        tf.zeros(tf.stack([1, batch_size, d.units]), dtype) for d in directions
    ]

    def body(i, outputs, states):
        new_outputs, new_states = [], []
        for d, out, state in zip(directions, outputs, states):
            t = steps - 1 - i if d.reverse else i
            h, next_state = d.step(tf.gather(d.projected, t), state)
            if mask is not None:
                m_t = tf.gather(mask_tm, t)
                next_state = [
                    tf.where(m_t, n, s) for n, s in zip(next_state, state)
                ]
                h = next_state[0]
            # (1, batch_size, units) joined to the outputs so far.
            h = tf.expand_dims(h, 0)
            if d.reverse:
                # Keep the placeholder row first: (1 + steps done, ...).
                out = tf.concat([out[:1], h, out[1:]], axis=0)
            else:
                out = tf.concat([out, h], axis=0)
            new_outputs.append(out)
            new_states.append(next_state)
        return i + 1, new_outputs, new_states

    invariants = (
        tf.TensorShape([]),
        [tf.TensorShape([None, None, d.units]) for d in directions],
        [[tf.TensorShape([None, d.units])] * num_states for d in directions],
    )
    _, outputs, states = tf.while_loop(
        lambda i, *_: i < steps,
        body,
        (tf.constant(0), outputs, states),
        shape_invariants=invariants,
    )
    # (batch_size, sequence_length, units) for each direction.
    outputs = [tf.transpose(o[1:], [1, 0, 2]) for o in outputs]
    return outputs, states
