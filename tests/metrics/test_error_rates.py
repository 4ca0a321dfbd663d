"""CER / WER: plain functions and Keras metrics on hand-counted cases."""

import keras
import numpy as np
import pytest

from keras_seq.ctc import CTCLoss, greedy_decode
from keras_seq.metrics import (
    CharacterErrorRate,
    CTCInfeasibleSamples,
    WordErrorRate,
    character_error_rate,
    edit_distance,
    word_error_rate,
)


def test_edit_distance_hand_counted():
    assert edit_distance("kitten", "sitting") == 3  # k->s, e->i, +g
    assert edit_distance("flaw", "lawn") == 2  # -f, +n
    assert edit_distance("", "abc") == 3
    assert edit_distance("abc", "") == 3
    assert edit_distance("abc", "abc") == 0
    assert edit_distance([1, 2, 3], [3, 2, 1]) == 2


def test_corpus_rates_sum_before_dividing():
    # 1 deletion in "abcd" (4 chars) + 1 insertion in "ef" (2 chars).
    assert character_error_rate(["abcd", "ef"], ["abd", "eff"]) == 2 / 6
    assert character_error_rate("abc", "abc") == 0.0
    # "cat" -> "bat" substituted, "down" inserted: 2 of 3 words.
    assert word_error_rate("the cat sat", "the bat sat down") == 2 / 3
    assert word_error_rate(["a b", "c"], ["a b", "d e"]) == 2 / 3
    with pytest.raises(ValueError, match="2 references and 1 hypotheses"):
        character_error_rate(["a", "b"], ["a"])


def _frames_to_logits(frames, num_classes):
    """One confident frame per id; -1 frames are uniform (padding)."""
    frames = np.asarray(frames)
    logits = np.zeros(frames.shape + (num_classes,), "float32")
    for index in np.ndindex(frames.shape):
        if frames[index] >= 0:
            logits[index + (frames[index],)] = 5.0
    return logits


def test_character_error_rate_metric_hand_counted():
    # Sample 0 reads "1 1 2" for label "1 2 2": one substitution.
    # Sample 1 has 2 real frames and reads "3" for "3 1": one deletion.
    logits = _frames_to_logits([[1, 0, 1, 2], [3, 3, 2, 2]], 4)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    labels = np.array([[1, 2, 2], [3, 1, -1]], "int32")
    metric = CharacterErrorRate()
    masked = keras.layers.Masking(mask_value=-1.0)(
        np.where(mask[..., None], logits, -1.0).astype("float32")
    )
    metric.update_state(labels, masked)
    assert float(metric.result()) == pytest.approx(2 / 5)
    # Accumulates: the same batch again keeps 4 / 10.
    metric.update_state(labels, masked)
    assert float(metric.result()) == pytest.approx(2 / 5)
    metric.reset_state()
    metric.update_state(labels, masked, sample_weight=np.array([1.0, 0.0]))
    assert float(metric.result()) == pytest.approx(1 / 3)

    # The mask decides: with label "3", sample 1 is right on its 2 real
    # frames (1 error in 4) but reads "3 2" over all 4 (2 errors in 4).
    labels = np.array([[1, 2, 2], [3, -1, -1]], "int32")
    metric.reset_state()
    metric.update_state(labels, masked)
    assert float(metric.result()) == pytest.approx(1 / 4)
    metric.reset_state()
    metric.update_state(labels, logits)
    assert float(metric.result()) == pytest.approx(2 / 4)


def test_character_error_rate_metric_equals_plain_function():
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(8, 20, 6)) * 3).astype("float32")
    labels = np.full((8, 7), -1, "int32")
    references = []
    for b in range(8):
        n = rng.integers(0, 8)
        labels[b, :n] = rng.integers(1, 6, size=n)
        references.append([int(i) for i in labels[b, :n]])
    hypotheses = [r.ids for r in greedy_decode(logits)]
    metric = CharacterErrorRate()
    metric.update_state(labels, logits)
    expected = character_error_rate(references, hypotheses)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)


def test_word_error_rate_metric_hand_counted():
    # ids: 0 blank, 1 space, 2 a, 3 b, 4 c.
    vocabulary = ["", " ", "a", "b", "c"]
    labels = np.array([[2, 1, 3, 3, 1, 4], [4, 4, -1, -1, -1, -1]], "int32")
    # Sample 0 reads "a b c" for "a bb c"; sample 1 reads "c c" for "cc".
    frames = [[2, 1, 3, 1, 4, 0, 0], [4, 1, 4, 0, 0, 0, 0]]
    logits = _frames_to_logits(frames, 5)
    metric = WordErrorRate(space_id=1)
    metric.update_state(labels, logits)
    # Sample 0: 1 substitution of 3 words; sample 1: "cc" -> "c c" is a
    # substitution and an insertion of 1 word: 3 errors over 4 words.
    assert float(metric.result()) == pytest.approx(3 / 4)
    texts = ["".join(vocabulary[i] for i in row if i >= 0) for row in labels]
    hyps = [r.text for r in greedy_decode(logits, vocabulary=vocabulary)]
    assert hyps == ["a b c", "c c"]
    assert word_error_rate(texts, hyps) == pytest.approx(3 / 4)


def test_metric_config_and_bad_arguments():
    metric = WordErrorRate(blank_index=0, padding_value=-2, space_id=3)
    config = metric.get_config()
    clone = WordErrorRate.from_config(config)
    assert clone.get_config() == config
    assert config["space_id"] == 3 and config["padding_value"] == -2
    cer = CharacterErrorRate(blank_index=2)
    assert CharacterErrorRate.from_config(cer.get_config()).blank_index == 2
    counter = CTCInfeasibleSamples(padding_value=-5)
    assert CTCInfeasibleSamples.from_config(
        counter.get_config()
    ).get_config() == (counter.get_config())
    with pytest.raises(ValueError, match="space_id=None"):
        WordErrorRate()
    with pytest.raises(ValueError, match="blank_index=-1"):
        CharacterErrorRate(blank_index=-1)
    with pytest.raises(ValueError, match="blank_index=9"):
        CharacterErrorRate(blank_index=9).update_state(
            np.array([[1]]), np.zeros((1, 3, 4), "float32")
        )


def test_validation_metric_in_model_fit():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(6, 10, 3)).astype("float32") + 1.0
    features[3:, 6:] = 0.0  # 6 real frames in the last three samples
    labels = rng.integers(1, 5, size=(6, 3)).astype("int32")
    inputs = keras.Input((None, 3))
    masked = keras.layers.Masking(0.0)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(5)(masked))
    labels[4] = [2, 2, 2]  # needs 5 frames, has 6: feasible
    labels[5] = [3, 3, 3]
    features[5, 4:] = 0.0  # 4 real frames for "3 3 3": infeasible
    loss = CTCLoss()
    model.compile(
        optimizer="adam",
        loss=loss,
        metrics=[CharacterErrorRate(), CTCInfeasibleSamples()],
        jit_compile=False,
    )
    history = model.fit(
        features,
        labels,
        validation_data=(features, labels),
        batch_size=3,
        epochs=1,
        verbose=0,
    )
    assert "val_cer" in history.history
    logits = model.predict(features, verbose=0)
    lengths = [10, 10, 10, 6, 6, 4]
    hypotheses = [r.ids for r in greedy_decode(logits, lengths)]
    expected = character_error_rate(labels.tolist(), hypotheses)
    results = model.evaluate(
        features, labels, batch_size=3, verbose=0, return_dict=True
    )
    assert results["cer"] == pytest.approx(expected, rel=1e-6)
    # One infeasible sample per pass: in the logs and in the loss.
    assert history.history["ctc_infeasible"] == [1.0]
    assert history.history["val_ctc_infeasible"] == [1.0]
    assert results["ctc_infeasible"] == 1.0
    assert int(loss.infeasible_count) >= 1
