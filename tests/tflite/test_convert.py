"""keras_seq.tflite.convert: op audit, quantization, SavedModel export."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq import tflite


def _conv_model(features=16, filters=64):
    inputs = keras.Input((None, features), name="frames")
    x = keras.layers.Conv1D(filters, 5, padding="same", activation="relu")(
        inputs
    )
    x = keras.layers.Conv1D(filters, 3, padding="same", dilation_rate=2)(x)
    outputs = keras.layers.Dense(8, name="scores")(x)
    return keras.Model(inputs, outputs)


def _samples(lengths, features=16, seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(1, n, features)).astype("float32") for n in lengths
    ]


def test_builtin_model_converts_and_matches_at_two_lengths(tmp_path):
    model = _conv_model()
    path = str(tmp_path / "m.tflite")
    report = tflite.convert(model, path)
    assert os.path.getsize(path) == report.size_bytes
    assert tflite.non_builtin_ops(report.ops) == []
    assert "CONV_2D" in report.ops or "CONV_1D" in report.ops
    # Batch and sequence axes stay variable.
    (shape,) = report.signature["inputs"].values()
    assert shape == [-1, -1, 16]
    parity = tflite.check_parity(model, path, _samples((9, 41)))
    assert parity["ok"], parity
    assert [p["shapes"][0][1] for p in parity["per_input"]] == [9, 41]


def test_flex_ops_are_refused_and_named():
    inputs = keras.Input((None, 4))
    outputs = keras.layers.Bidirectional(
        keras.layers.LSTM(8, return_sequences=True), name="bilstm"
    )(inputs)
    model = keras.Model(inputs, outputs)
    with pytest.raises(tflite.NonBuiltinOpsError) as error:
        tflite.convert(model)
    message = str(error.value)
    assert "TensorList" in message
    assert "bilstm" in message


def test_allow_flex_lists_the_flex_ops():
    inputs = keras.Input((None, 4))
    outputs = keras.layers.GRU(8, return_sequences=True)(inputs)
    report = tflite.convert(keras.Model(inputs, outputs), allow_flex=True)
    assert any(op.startswith("Flex") for op in report.ops), report.ops


def test_quantization_sizes_and_errors():
    model = _conv_model(features=32, filters=128)
    samples = _samples((12, 30, 50), features=32)
    float32 = tflite.convert(model)
    float16 = tflite.convert(model, quantization="float16")
    dynamic = tflite.convert(model, quantization="dynamic_range")
    int8 = tflite.convert(
        model,
        quantization="int8",
        representative_dataset=tflite.representative_dataset(samples),
    )
    # Weights dominate: 2 bytes and 1 byte per weight instead of 4.
    assert float16.size_bytes < 0.6 * float32.size_bytes
    assert dynamic.size_bytes < 0.35 * float32.size_bytes
    assert int8.size_bytes < 0.35 * float32.size_bytes
    for report in (float16, dynamic, int8):
        assert tflite.non_builtin_ops(report.ops) == []
        parity = tflite.check_parity(model, report.content, samples[:2])
        scale = np.abs(model(samples[0])).max()
        # Quantized: error reported, small relative to the output range.
        assert 0 < parity["max_abs_error"] < 0.1 * scale, report.quantization


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"quantization": "int4"}, "int4"),
        ({"quantization": "int8"}, "representative_dataset"),
    ],
)
def test_bad_arguments_name_what_was_received(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        tflite.convert(_conv_model(), **kwargs)


def test_saved_model_loads_and_runs_in_saved_model_cli(tmp_path):
    model = _conv_model()
    directory = str(tmp_path / "saved")
    tflite.export_saved_model(model, directory)
    x = _samples((11,))[0]
    expected = model(x).numpy()

    loaded = tf.saved_model.load(directory)
    serve = loaded.signatures["serving_default"]
    got = serve(frames=tf.constant(x))["scores"].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)

    # saved_model_cli ships with TensorFlow; run it as a user would.
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    out_dir = tmp_path / "cli_out"
    ones = np.ones((1, 5, 16), "float32")
    np.save(tmp_path / "ones.npy", ones)
    result = subprocess.run(
        [
            cli,
            "run",
            "--dir",
            directory,
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--inputs",
            f"frames={tmp_path / 'ones.npy'}",
            "--outdir",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    cli_scores = np.load(out_dir / "scores.npy")
    want = model(ones).numpy()
    np.testing.assert_allclose(cli_scores, want, atol=1e-5)


def test_list_ops_reads_loop_bodies_and_names_flex_ops():
    # Keras's GRU puts its cell math inside a WHILE body (a subgraph of its
    # own) and its TensorList bookkeeping in Flex ops.
    inputs = keras.Input((None, 4))
    outputs = keras.layers.GRU(8, return_sequences=True)(inputs)
    report = tflite.convert(keras.Model(inputs, outputs), allow_flex=True)
    assert "WHILE" in report.ops
    # The GRU cell's matmuls and gates run only inside the loop body.
    assert {"FULLY_CONNECTED", "LOGISTIC", "TANH"} <= set(report.ops)
    assert "FlexTensorListReserve" in report.ops
