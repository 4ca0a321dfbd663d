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
from keras_seq.apps.text.metrics import squad_scores
from keras_seq.apps.text.readers import InputError
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


def test_best_span_matches_brute_force_and_converts():
    rng = np.random.default_rng(0)
    start_input = keras.Input((None,), name="start_logits")
    end_input = keras.Input((None,), name="end_logits")
    mask_input = keras.Input((None,), dtype="int32", name="padding_mask")
    span = BestSpan(max_answer_length=3)(start_input, end_input, mask_input)
    model = keras.Model(
        [start_input, end_input, mask_input],
        [span["start"], span["end"], span["score"]],
    )
    report = convert(model)
    assert not [op for op in report.ops if op.startswith("Flex")]
    for length in (7, 16):
        start = rng.normal(size=(3, length)).astype("float32")
        end = rng.normal(size=(3, length)).astype("float32")
        mask = np.ones((3, length), "int32")
        mask[1, length - 2 :] = 0
        keras_out = [np.asarray(t) for t in model([start, end, mask])]
        lite = run_tflite(
            report.content,
            {"start_logits": start, "end_logits": end, "padding_mask": mask},
        )
        lite_out = [np.asarray(v) for v in lite.values()]
        for row in range(3):
            pair, score = brute_force_span(start[row], end[row], mask[row], 3)
            assert (keras_out[0][row], keras_out[1][row]) == pair
            assert keras_out[2][row] == pytest.approx(score, abs=1e-4)
        # The LiteRT outputs hold the same starts, ends and scores (its
        # output names need not keep the model's order).
        flat = sorted(tuple(np.round(o, 4).tolist()) for o in lite_out)
        expected = sorted(tuple(np.round(o, 4).tolist()) for o in keras_out)
        assert flat == expected


def test_answer_words_cover_the_answer_characters():
    context = "Anna lives in New York, near the park."
    _, offsets = context_words(context)
    first, last = answer_words(offsets, context.index("New"), "New York")
    assert (first, last) == (3, 4)
    assert squad_scores("New York,", ["new york"]) == (1.0, 1.0)
    assert squad_scores("the park", ["park", "a"]) == (1.0, 1.0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("read")
    data = str(folder / "train.json")
    toy_data.write_squad(data, count=64)
    summary = text_app.train(
        APP,
        data,
        str(folder / "run"),
        vocabulary_size=150,
        encoder_config={
            "backbone": "transformer",
            "hidden_dim": 32,
            "num_layers": 1,
            "num_heads": 2,
            "intermediate_dim": 64,
            "dropout": 0.0,
            "position_encoding": "alibi",
        },
        epochs=20,
        batch_size=16,
        learning_rate=3e-3,
        options={"max_answer_length": 4},
        verbose=0,
    )
    return folder, summary


def test_train_evaluate_predict(trained, tmp_path):
    folder, summary = trained
    assert summary["skipped"] == 0
    test = str(tmp_path / "test.json")
    toy_data.write_squad(test, count=20, seed=7)
    results = text_app.evaluate(APP, str(folder / "run"), test)
    assert results["questions"] == 20
    # The answer is always the word after "lives in".
    assert results["exact_match"] >= 80.0
    lines = list(text_app.predict(APP, str(folder / "run"), test))
    assert len(lines) == 20
    assert lines[0].startswith("q0\t")


def test_export_with_span_search_and_saved_model(trained):
    folder, _ = trained
    out = str(folder / "reader.tflite")
    result = text_app.export(APP, str(folder / "run"), out)
    assert result["parity_ok"], result
    with open(result["bundle"]) as f:
        assert set(json.load(f)["outputs"]) >= {"start", "end", "score"}
    directory = str(folder / "saved_model")
    text_app.export_saved_model(APP, str(folder / "run"), directory)
    loaded = tf.saved_model.load(directory)
    outputs = loaded.signatures["serving_default"](
        questions=tf.constant(["Where does Jan live?"]),
        contexts=tf.constant(["Jan lives in Oslo and often visits Rome."]),
    )
    assert outputs["answer"].numpy()[0].decode() == "Oslo"


def test_not_squad(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"version": "1.1", "articles": []}')
    with pytest.raises(InputError, match="'data' list.*'articles'"):
        APP.read(str(path), {})
