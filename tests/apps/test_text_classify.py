"""classify: train, evaluate, predict, export, SavedModel, CLI, bad input."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_seq import cli
from keras_seq.apps.classify.app import APP
from keras_seq.apps.text import app as text_app
from keras_seq.apps.text import toy_data
from keras_seq.apps.text.app import TextRun
from keras_seq.apps.text.readers import InputError
from keras_seq.apps.text.tokenizer import TextTokenizer

SMALL = {"backbone": "bag", "hidden_dim": 16}
OPTIONS = {"text_column": "text", "label_column": "label"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("classify")
    data = str(folder / "train.csv")
    toy_data.write_sentiment(data, count=80)
    summary = text_app.train(
        APP,
        data,
        str(folder / "run"),
        vocabulary_size=200,
        encoder_config=SMALL,
        epochs=25,
        batch_size=16,
        learning_rate=1e-2,
        options=OPTIONS,
        verbose=0,
    )
    return folder, summary


def test_train_learns_the_rule_and_writes_the_run(trained):
    folder, summary = trained
    run = folder / "run"
    for name in (
        "config.json",
        "model.keras",
        "encoder.keras",
        "vocabulary.txt",
        "golden_tokens.json",
        "history.csv",
    ):
        assert (run / name).exists(), name
    assert os.listdir(run / "logs")  # TensorBoard event files
    # The label is the sentiment word; a bag of embeddings learns it.
    assert summary["val_metrics"]["accuracy"] >= 0.85
    assert summary["epochs_run"] == 25


def test_evaluate_reports_metrics_and_confusion_png(trained, tmp_path):
    folder, _ = trained
    test = str(tmp_path / "test.tsv")
    rows = toy_data.write_sentiment(test, count=30, seed=5)
    results = text_app.evaluate(APP, str(folder / "run"), test)
    assert results["examples"] == 30
    assert results["accuracy"] >= 0.85
    assert np.asarray(results["confusion_matrix"]).sum() == len(rows)
    assert os.path.getsize(results["confusion_matrix_png"]) > 1000


def test_predict_prints_data_row_label_score(trained, tmp_path):
    folder, _ = trained
    path = tmp_path / "input.csv"
    # Row 1 has no text: it is skipped; row numbers stay data-row indices.
    path.write_text("id,text\na,superb great fine\nb,\nc,awful boring plot\n")
    lines = list(text_app.predict(APP, str(folder / "run"), str(path)))
    rows = [line.split("\t") for line in lines]
    assert [r[0] for r in rows] == ["0", "2"]
    assert [r[1] for r in rows] == ["pos", "neg"]
    assert all(0.5 <= float(r[2]) <= 1.0 for r in rows)


def test_export_is_builtin_with_parity_and_bundle(trained):
    folder, _ = trained
    out = str(folder / "model.tflite")
    result = text_app.export(APP, str(folder / "run"), out)
    assert result["parity_ok"]
    assert not [op for op in result["ops"] if op.startswith("Flex")]
    with open(result["bundle"], encoding="utf-8") as f:
        bundle = json.load(f)
    assert bundle["labels"] == ["neg", "pos"]
    assert bundle["parity"]["lengths"] == [9, 23]
    # The golden ids are what the saved tokenizer produces.
    tokenizer = TextTokenizer.load(str(folder / "run"))
    for entry in bundle["golden_token_ids"]:
        assert tokenizer.tokenize([entry["text"]]).to_list()[0] == entry["ids"]
    assert bundle["vocabulary"] == tokenizer.vocabulary


def test_saved_model_takes_raw_strings(trained):
    folder, _ = trained
    directory = str(folder / "saved_model")
    text_app.export_saved_model(APP, str(folder / "run"), directory)
    loaded = tf.saved_model.load(directory)
    texts = ["superb movie", "the plot was awful"]
    outputs = loaded.signatures["serving_default"](texts=tf.constant(texts))
    assert [s.decode() for s in outputs["label"].numpy()] == ["pos", "neg"]
    expected = APP.scores(TextRun(str(folder / "run")), texts)
    np.testing.assert_allclose(outputs["scores"].numpy(), expected, atol=1e-5)


def test_cli_predict(trained, tmp_path, capsys):
    folder, _ = trained
    path = tmp_path / "input.jsonl"
    path.write_text('{"text": "great fine"}\n')
    code = cli.main(
        [
            "classify",
            "predict",
            "--model",
            str(folder / "run"),
            "--input",
            str(path),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.startswith("0\tpos\t")


def test_multi_label_jsonl(tmp_path):
    data = str(tmp_path / "topics.jsonl")
    toy_data.write_topics(data, count=40)
    summary = text_app.train(
        APP,
        data,
        str(tmp_path / "run"),
        tokenizer="byte",
        encoder_config=SMALL,
        epochs=2,
        options={"label_column": "labels", "multi_label": True},
        verbose=0,
    )
    assert set(summary["val_metrics"]) >= {"micro_f1", "macro_f1"}
    config = TextRun(str(tmp_path / "run")).config
    assert config["task"]["labels"] == ["food", "money", "sport"]


def test_time_budget_stops_and_rerun_resumes_settings(tmp_path):
    data = str(tmp_path / "train.csv")
    toy_data.write_sentiment(data, count=40)
    kwargs = dict(
        tokenizer="char",
        encoder_config=SMALL,
        options=OPTIONS,
        verbose=0,
    )
    out = str(tmp_path / "run")
    first = text_app.train(APP, data, out, epochs=1000, minutes=1e-4, **kwargs)
    assert first["stopped_by_time_budget"]
    assert first["epochs_run"] < 1000
    config = (tmp_path / "run" / "config.json").read_text()
    weights = TextRun(out).model.get_weights()
    second = text_app.train(
        APP, data, out, epochs=0, **dict(kwargs, tokenizer="byte")
    )
    # The rerun keeps the run's own tokenizer and settings, and starts
    # from the finished run's weights (zero epochs: nothing changes).
    assert second["resumed"]
    assert (tmp_path / "run" / "config.json").read_text() == config
    rerun = TextRun(out)
    assert rerun.tokenizer.kind == "char"
    for before, after in zip(weights, rerun.model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_bad_input_names_what_was_received(tmp_path, trained):
    folder, _ = trained
    path = tmp_path / "bad.csv"
    path.write_text("sentence,label\nhello,pos\n")
    with pytest.raises(InputError, match=r"no column 'text'.*'sentence'"):
        APP.read(str(path), OPTIONS)

    path.write_bytes(b"text,label\ncaf\xe9,pos\n")
    with pytest.raises(InputError, match=r"not UTF-8: byte 0xe9 at line 2"):
        APP.read(str(path), OPTIONS)

    # Unknown labels and empty rows are skipped and counted.
    path.write_text("text,label\ngreat,pos\n,neg\nbad,neutral\n")
    results = text_app.evaluate(APP, str(folder / "run"), str(path))
    assert results["examples"] == 1
    assert results["unknown_labels"] == {"neutral": 1}
    assert results["skipped"] == 2

    code = cli.main(
        [
            "classify",
            "evaluate",
            "--model",
            str(tmp_path / "nowhere"),
            "--data",
            str(path),
        ]
    )
    assert code == 2
