"""`keras-seq export` converts a saved .keras model builtin-only."""

import json

import keras
import numpy as np
import pytest

from keras_seq import tflite
from keras_seq.tflite.command import main


def test_export_command_writes_builtin_tflite(tmp_path, capsys):
    inputs = keras.Input((None, 6), name="frames")
    outputs = keras.layers.Dense(3)(keras.layers.Conv1D(8, 3)(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "m.keras"
    model.save(path)
    out = tmp_path / "m.tflite"
    assert main([str(path), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["size_bytes"] == out.stat().st_size
    assert tflite.non_builtin_ops(summary["ops"]) == []
    x = np.random.default_rng(0).normal(size=(1, 12, 6)).astype("float32")
    assert tflite.check_parity(model, str(out), [x])["ok"]


def test_export_command_int8(tmp_path, capsys):
    inputs = keras.Input((None, 6), name="frames")
    outputs = keras.layers.Dense(64)(keras.layers.Dense(64)(inputs))
    path = tmp_path / "m.keras"
    keras.Model(inputs, outputs).save(path)
    out = tmp_path / "q.tflite"
    assert main([str(path), "--out", str(out), "--quantization", "int8"]) == 0
    assert json.loads(capsys.readouterr().out)["quantization"] == "int8"


def test_export_command_missing_file_names_it(tmp_path):
    missing = str(tmp_path / "nope.keras")
    with pytest.raises(SystemExit, match="nope.keras"):
        main([missing, "--out", str(tmp_path / "x.tflite")])
