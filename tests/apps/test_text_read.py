"""read: SQuAD v1.1, packed question + context, in-graph best span."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.apps.read.app import APP, answer_words, context_words
from keras_seq.apps.read.best_span import BestSpan
from keras_seq.apps.text import app as text_app
from keras_seq.apps.text import toy_data
from keras_seq.apps.text.app import TextRun
from keras_seq.apps.text.metrics import squad_scores
from keras_seq.apps.text.readers import InputError
from keras_seq.testing import run_layer_test
from keras_seq.tflite import convert, run_tflite


def brute_force_span(start, end, mask, max_length):
    """The reference: try every pair."""
    best, pair = -np.inf, None
    real = np.flatnonzero(mask)
    log_start = start[real] - np.log(np.exp(start[real]).sum())
    log_end = end[real] - np.log(np.exp(end[real]).sum())
    for a, i in enumerate(real):
        for b, j in enumerate(real):
            if 0 <= j - i < max_length and log_start[a] + log_end[b] > best:
                best, pair = log_start[a] + log_end[b], (i, j)
    return pair, best


def test_best_span_shared_layer_checks():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 7, 2)).astype("float32")
    mask = np.ones((2, 7), "int32")
    mask[1, 4:] = 0
    report = run_layer_test(
        BestSpan,
        {"max_answer_length": 3},
        logits,
        expected_output_shape=[(2,), (2,), (2,)],
        expected_output_dtype=["int32", "int32", "float32"],
        padding_mask=mask,
        sequence_output=False,
        run_training=False,  # no weights to train
    )
    assert not [op for op in report.ops if op.startswith("Flex")]


@pytest.mark.parametrize("length", [7, 16])
def test_best_span_matches_brute_force_in_keras_and_litert(length):
    rng = np.random.default_rng(length)
    inputs = keras.Input((None, 2), name="logits")
    mask_input = keras.Input((None,), dtype="int32", name="padding_mask")
    start, end, score = BestSpan(max_answer_length=3)(
        inputs, padding_mask=mask_input
    )
    model = keras.Model(
        {"logits": inputs, "padding_mask": mask_input},
        {"start": start, "end": end, "score": score},
    )
    logits = rng.normal(size=(3, length, 2)).astype("float32")
    mask = np.ones((3, length), "int32")
    mask[1, length - 2 :] = 0
    report = convert(model)
    lite = run_tflite(report.content, {"logits": logits, "padding_mask": mask})
    got = model({"logits": logits, "padding_mask": mask})
    for row in range(3):
        pair, score = brute_force_span(
            logits[row, :, 0], logits[row, :, 1], mask[row], 3
        )
        for outputs in (got, lite):
            assert (int(outputs["start"][row]), int(outputs["end"][row])) == (
                pair
            )
            assert float(outputs["score"][row]) == pytest.approx(
                score, abs=1e-4
            )


def test_answer_words_cover_the_answer_characters():
    context = "Anna lives in New York, near the park."
    _, offsets = context_words(context)
    first, last = answer_words(offsets, context.index("New"), "New York")
    assert (first, last) == (3, 4)
    assert squad_scores("New York,", ["new york"]) == (1.0, 1.0)
    assert squad_scores("the park", ["park", "a"]) == (1.0, 1.0)


def train_reader(folder, encoder_config, epochs):
    data = str(folder / "train.json")
    toy_data.write_squad(data, count=64)
    text_app.train(
        APP,
        data,
        str(folder / "run"),
        vocabulary_size=150,
        encoder_config=encoder_config,
        epochs=epochs,
        batch_size=16,
        learning_rate=3e-3,
        options={"max_answer_length": 4},
        verbose=0,
    )
    return str(folder / "run")


@pytest.fixture(scope="module")
def bag_run(tmp_path_factory):
    """A fast run: the flow and the export, not the answers' quality."""
    folder = tmp_path_factory.mktemp("read")
    return train_reader(folder, {"backbone": "bag", "hidden_dim": 16}, 1)


def test_evaluate_and_predict_layout(bag_run, tmp_path):
    test = str(tmp_path / "test.json")
    toy_data.write_squad(test, count=6, seed=7)
    results = text_app.evaluate(APP, bag_run, test)
    assert results["questions"] == 6
    assert 0.0 <= results["exact_match"] <= results["f1"] <= 100.0
    lines = list(text_app.predict(APP, bag_run, test))
    assert [line.split("\t")[0] for line in lines] == [
        f"q{i}" for i in range(6)
    ]


def test_export_with_span_search_and_saved_model(bag_run, tmp_path):
    result = text_app.export(APP, bag_run, str(tmp_path / "reader.tflite"))
    assert result["parity_ok"], result
    with open(result["bundle"]) as f:
        assert set(json.load(f)["outputs"]) >= {"start", "end", "score"}
    directory = str(tmp_path / "saved_model")
    text_app.export_saved_model(APP, bag_run, directory)
    loaded = tf.saved_model.load(directory)
    question = "Where does Jan live?"
    context = "Jan lives in Oslo and often visits Rome."
    outputs = loaded.signatures["serving_default"](
        questions=tf.constant([question]), contexts=tf.constant([context])
    )
    # The graph's answer is the one the Python path finds.
    expected = APP.answers(
        TextRun(bag_run), [{"question": question, "context": context}]
    )
    assert outputs["answer"].numpy()[0].decode() == expected[0][0]
    assert outputs["score"].numpy()[0] == pytest.approx(
        expected[0][1], abs=1e-4
    )


@pytest.mark.slow
def test_transformer_reader_learns_the_rule(tmp_path):
    run = train_reader(
        tmp_path,
        {
            "backbone": "transformer",
            "hidden_dim": 32,
            "num_layers": 1,
            "num_heads": 2,
            "intermediate_dim": 64,
            "dropout": 0.0,
            "position_encoding": "alibi",
        },
        20,
    )
    test = str(tmp_path / "test.json")
    toy_data.write_squad(test, count=20, seed=7)
    # The answer is always the word after "lives in".
    assert text_app.evaluate(APP, run, test)["exact_match"] >= 80.0
    result = text_app.export(APP, run, str(tmp_path / "reader.tflite"))
    assert result["parity_ok"], result


def test_not_squad(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"version": "1.1", "articles": []}')
    with pytest.raises(InputError, match="'data' list.*'articles'"):
        APP.read(str(path), {})
