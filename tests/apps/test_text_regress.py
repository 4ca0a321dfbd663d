"""regress: a number per text; metrics, predict, export, SavedModel."""

import json

import numpy as np
import pytest
import tensorflow as tf

from keras_seq import cli
from keras_seq.apps.regress.app import APP
from keras_seq.apps.text import app as text_app
from keras_seq.apps.text import toy_data
from keras_seq.apps.text.app import TextRun
from keras_seq.apps.text.readers import InputError


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("regress")
    data = str(folder / "train.tsv")
    toy_data.write_ratings(data, count=80)
    # Through the command line, as a user would.
    code = cli.main(
        [
            "regress", "train", "--data", data, "--out",
            str(folder / "run"), "--tokenizer", "byte", "--backbone",
            "bag", "--hidden-dim", "16", "--epochs", "3", "--batch-size",
            "16", "--target-column", "target",
        ]
    )  # fmt: skip
    assert code == 0
    with open(folder / "run" / "metrics.json") as f:
        summary = json.load(f)
    return folder, summary


def test_train_evaluate_predict(trained, tmp_path):
    folder, summary = trained
    assert set(summary["val_metrics"]) >= {"mae", "rmse", "pearson_r"}
    results = text_app.evaluate(
        APP, str(folder / "run"), str(folder / "train.tsv")
    )
    assert results["examples"] == 80
    assert results["rmse"] >= results["mae"] >= 0
    path = tmp_path / "input.csv"
    path.write_text("text\ngood great\nthe plot\n")
    lines = list(text_app.predict(APP, str(folder / "run"), str(path)))
    assert [line.split("\t")[0] for line in lines] == ["0", "1"]
    assert all(np.isfinite(float(line.split("\t")[1])) for line in lines)


def test_export_builtin_parity_and_saved_model(trained):
    folder, _ = trained
    directory = str(folder / "saved_model")
    code = cli.main(
        [
            "regress", "export", "--model", str(folder / "run"), "--out",
            str(folder / "model.tflite"), "--saved-model", directory,
        ]
    )  # fmt: skip
    assert code == 0  # 1 when parity fails
    assert (folder / "model.json").exists()
    loaded = tf.saved_model.load(directory)
    texts = ["good great superb", "the plot"]
    value = loaded.signatures["serving_default"](texts=tf.constant(texts))
    expected = APP.values(TextRun(str(folder / "run")), texts)
    np.testing.assert_allclose(value["value"].numpy(), expected, atol=1e-4)


def test_non_numeric_targets(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,target\nhello,five\nworld,\nagain,2.5\n")
    data = APP.read(str(path), {"target_column": "target"})
    assert data["labels"] == [2.5]
    assert data["skipped"] == 2
    path.write_text("text,target\nhello,five\n")
    with pytest.raises(InputError, match="no numeric value.*'five'"):
        APP.read(str(path), {"target_column": "target"})
