"""tag: CoNLL / CoNLL-U, sub-word alignment, span F1, export."""

import numpy as np
import pytest
import tensorflow as tf

from keras_seq import cli
from keras_seq.apps.tag.app import APP, pack_sentences
from keras_seq.apps.text import app as text_app
from keras_seq.apps.text import toy_data
from keras_seq.apps.text.app import TextRun
from keras_seq.apps.text.metrics import bio_spans, span_f1
from keras_seq.apps.text.readers import read_conll
from keras_seq.apps.text.tokenizer import TextTokenizer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tag")
    data = str(folder / "train.conll")
    toy_data.write_conll(data, count=60)
    summary = text_app.train(
        APP,
        data,
        str(folder / "run"),
        vocabulary_size=120,
        encoder_config={
            "backbone": "recurrent",
            "hidden_dim": 32,
            "num_layers": 1,
            "dropout": 0.0,
        },
        epochs=12,
        batch_size=8,
        learning_rate=1e-2,
        verbose=0,
    )
    return folder, summary


def test_word_labels_align_to_first_sub_words():
    tokenizer = TextTokenizer("byte")
    ids, mask, word_index, first = pack_sentences(
        tokenizer, [["ab", "c"], ["d"]], 8
    )
    # [CLS] a b c [SEP]: bytes of word 0 then word 1.
    assert word_index[0].tolist() == [-1, 0, 0, 1, -1, -1, -1, -1]
    assert first[0].tolist() == [0, 1, 0, 1, 0, 0, 0, 0]
    assert word_index[1].tolist()[:3] == [-1, 0, -1]
    assert mask.sum(axis=1).tolist() == [5, 3]


def test_bio_spans_and_f1():
    assert bio_spans(["B-PER", "I-PER", "O", "B-LOC", "I-PER"]) == [
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("PER", 4, 5),
    ]
    perfect = span_f1([["B-PER", "I-PER"]], [["B-PER", "I-PER"]])
    assert perfect["span_f1"] == 1.0
    # One of two true spans found, no false ones: P = 1, R = 1/2.
    half = span_f1([["B-PER", "O", "B-LOC"]], [["B-PER", "O", "O"]])
    assert half["span_f1"] == pytest.approx(2 / 3)


def test_conllu_reads_form_and_upos(tmp_path):
    path = str(tmp_path / "x.conllu")
    sentences = toy_data.write_conll(path, count=3, conllu=True)
    data = read_conll(path)
    assert data["sentences"][0] == sentences[0][0]
    assert data["tags"][0] == sentences[0][1]


def test_train_evaluate_predict_layout(trained, tmp_path, capsys):
    folder, summary = trained
    test = str(tmp_path / "test.conll")
    toy_data.write_conll(test, count=20, seed=3)
    results = text_app.evaluate(APP, str(folder / "run"), test)
    assert results["token_accuracy"] >= 0.9
    assert results["span_f1"] >= 0.8
    # Predict input: tokens one per line, the tag column is ignored.
    path = tmp_path / "input.txt"
    path.write_text("Anna\tO\nNovak\nlives\nin\nOslo\n.\n\nIn\nRome\n")
    code = cli.main(
        ["tag", "predict", "--model", str(folder / "run"), "--input", str(path)]
    )
    assert code == 0
    lines = capsys.readouterr().out.split("\n")
    assert lines[6] == ""  # the sentence break is kept
    assert [line.split("\t")[0] for line in lines[:6]] == [
        "Anna",
        "Novak",
        "lives",
        "in",
        "Oslo",
        ".",
    ]
    assert lines[0] == "Anna\tB-PER"


def test_export_and_saved_model(trained):
    folder, _ = trained
    result = text_app.export(
        APP, str(folder / "run"), str(folder / "tagger.tflite")
    )
    assert result["parity_ok"], result
    directory = str(folder / "saved_model")
    text_app.export_saved_model(APP, str(folder / "run"), directory)
    loaded = tf.saved_model.load(directory)
    sentences = ["Maria Garcia lives in Lima .", "Jan works in Rome ."]
    outputs = loaded.signatures["serving_default"](
        sentences=tf.constant(sentences)
    )
    expected, _ = APP.tag_sentences(
        TextRun(str(folder / "run")), [s.split() for s in sentences]
    )
    got = [[t.decode() for t in row] for row in outputs["tags"].numpy()]
    assert got[0] == expected[0]
    assert got[1][: len(expected[1])] == expected[1]
    assert outputs["num_words"].numpy().tolist() == [6, 5]
    assert np.all(outputs["tags"].numpy()[1, 5:] == b"")
