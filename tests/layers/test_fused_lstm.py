"""Tests for `RecurrentBlock`'s fused LSTM export (`fused_lstm_export`)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from keras_seq import tflite
from keras_seq.layers import RecurrentBlock, export_mode, fused_lstm
from keras_seq.layers.fused_lstm import fused_lstm_export

RNG = np.random.default_rng(1)
FUSED = "UNIDIRECTIONAL_SEQUENCE_LSTM"


@pytest.fixture(autouse=True)
def _fused():
    with fused_lstm_export():
        yield


def _model(block, features=5):
    x = keras.Input((None, features), name="x")
    return keras.Model(x, block(x))


def _signature(batch_size, features=5):
    return [tf.TensorSpec((batch_size, None, features), tf.float32, name="x")]


def _all_ops(content):
    return set(tflite.list_ops(content))


def _invoke_twice(content, first, second):
    """Outputs of `second`, run right after `first` without reallocating."""
    interpreter = Interpreter(model_content=content)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, first.shape)
    interpreter.allocate_tensors()
    output = interpreter.get_output_details()[0]["index"]
    interpreter.set_tensor(index, first)
    interpreter.invoke()
    interpreter.set_tensor(index, second)
    interpreter.invoke()
    return interpreter.get_tensor(output)


@pytest.mark.parametrize(
    "kwargs, batch_size",
    [
        ({"bidirectional": True, "num_layers": 2}, 1),
        ({"num_layers": 2, "residual": True}, 3),
        (
            {
                "bidirectional": True,
                "merge_mode": "sum",
                "return_sequences": False,
            },
            2,
        ),
    ],
    ids=["bilstm_2_layers", "lstm_residual", "bilstm_summary"],
)
def test_fixed_batch_converts_to_fused_op(kwargs, batch_size):
    # With the batch size fixed in the signature, every direction of every
    # layer becomes one fused op: no loop is left, and one model matches
    # Keras at two lengths.
    model = _model(RecurrentBlock(6, **kwargs))
    report = tflite.convert(model, input_signature=_signature(batch_size))
    assert FUSED in report.ops
    assert "WHILE" not in report.ops
    assert not tflite.non_builtin_ops(report.ops)
    for length in (3, 29):
        x = RNG.normal(size=(batch_size, length, 5)).astype("float32")
        (got,) = tflite.run_tflite(report.content, x).values()
        np.testing.assert_allclose(got, model(x), atol=1e-5)


def test_fused_op_starts_every_call_from_zero_state():
    # The fused op keeps its states in variable tensors; a second call
    # must not start from the first call's final state.
    model = _model(RecurrentBlock(6, bidirectional=True))
    report = tflite.convert(model, input_signature=_signature(1))
    first, second = RNG.normal(size=(2, 1, 11, 5)).astype("float32")
    got = _invoke_twice(report.content, first, second)
    np.testing.assert_allclose(got, model(second), atol=1e-5)


def test_tensorflow_runs_the_export_graph():
    # Where the converter does not replace it (TensorFlow running the
    # export graph), the tagged function's loop body gives Keras's outputs.
    block = RecurrentBlock(4, bidirectional=True, num_layers=2)
    x = RNG.normal(size=(2, 9, 5)).astype("float32")
    expected = block(x)
    with export_mode():
        got = tf.function(block)(tf.constant(x))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_unknown_batch_runs_each_sequence_fused():
    # Batch size unknown (the default signature): a loop over the batch
    # runs each sequence through the fused ops.
    model = _model(RecurrentBlock(6, bidirectional=True, num_layers=2))
    report = tflite.convert(model)
    assert FUSED in _all_ops(report.content)
    for batch_size, length in ((1, 4), (3, 23)):
        x = RNG.normal(size=(batch_size, length, 5)).astype("float32")
        (got,) = tflite.run_tflite(report.content, x).values()
        np.testing.assert_allclose(got, model(x), atol=1e-5)


@pytest.mark.parametrize("return_sequences", [True, False])
def test_masks_stay_exact(return_sequences):
    # Right padding runs each sequence's real steps fused (an empty one
    # too); any other mask runs the loop, chosen at run time. Both give
    # Keras's outputs, and a padded sample gives its real steps' outputs.
    block = RecurrentBlock(
        4, bidirectional=True, num_layers=2, return_sequences=return_sequences
    )
    x = keras.Input((None, 5), name="x")
    mask = keras.Input((None,), dtype="int32", name="padding_mask")
    model = keras.Model([x, mask], block(x, padding_mask=mask))
    report = tflite.convert(model)
    assert {FUSED, "IF", "WHILE"} <= _all_ops(report.content)

    data = RNG.normal(size=(3, 9, 5)).astype("float32")
    right = np.array([[1] * 9, [1] * 4 + [0] * 5, [0] * 9], "int32")
    holes = np.array([[1] * 9, [1, 0] * 4 + [1], [0] + [1] * 8], "int32")
    for padding in (right, holes):
        feed = {"x": data, "padding_mask": padding}
        (got,) = tflite.run_tflite(report.content, feed).values()
        np.testing.assert_allclose(got, model([data, padding]), atol=1e-5)
    (got,) = tflite.run_tflite(
        report.content, {"x": data, "padding_mask": right}
    ).values()
    alone = block(data[1:2, :4])
    np.testing.assert_allclose(
        got[1, :4] if return_sequences else got[1], alone[0], atol=1e-5
    )


def test_gru_keeps_the_loop():
    # TFLite has no fused GRU op.
    model = _model(RecurrentBlock(6, cell_type="gru"))
    report = tflite.convert(model)
    assert FUSED not in _all_ops(report.content)
    assert "WHILE" in report.ops


def test_streaming_state_keeps_the_loop():
    # The fused op does not return its final cell state: a block asked for
    # its states runs the loop, which returns both.
    block = RecurrentBlock(4)
    x = RNG.normal(size=(1, 6, 5)).astype("float32")
    expected, expected_states = block(x, return_state=True)
    with export_mode():
        got, states = tf.function(
            lambda t: block(t, return_state=True),
            input_signature=_signature(1),
        )(tf.constant(x))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert len(states) == 2
    for s, e in zip(states, expected_states):
        np.testing.assert_allclose(s, e, atol=1e-5)


def test_off_by_default_keeps_the_loop():
    model = _model(RecurrentBlock(6))
    with fused_lstm_export(False):
        assert not fused_lstm.enabled()
        report = tflite.convert(model)
    assert fused_lstm.enabled()
    assert FUSED not in _all_ops(report.content)
    assert "WHILE" in report.ops


def test_docstring_examples_run():
    import doctest

    with fused_lstm_export(False):
        result = doctest.testmod(fused_lstm)
    assert result.attempted > 0
    assert result.failed == 0
