"""CTCGreedyDecoder: equals greedy_decode, converts builtin-only."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq import tflite
from keras_seq.ctc import CTCGreedyDecoder, greedy_decode


def _probs_to_logits(rows):
    return np.log(np.array([rows], "float32"))


def test_hand_made_frames():
    # Frames read: a a _ a b b _ (a = 1, b = 2, _ = blank 0).
    logits = _probs_to_logits(
        [
            [0.1, 0.6, 0.3],
            [0.1, 0.8, 0.1],
            [0.7, 0.2, 0.1],
            [0.2, 0.5, 0.3],
            [0.1, 0.2, 0.7],
            [0.1, 0.1, 0.8],
            [0.9, 0.05, 0.05],
        ]
    )
    labels, lengths, confidences = CTCGreedyDecoder()(logits)
    assert labels.dtype == "int32" and lengths.dtype == "int32"
    np.testing.assert_array_equal(labels, [[1, 1, 2, -1, -1, -1, -1]])
    np.testing.assert_array_equal(lengths, [3])
    # The highest probability over each id's frames; zero at padding.
    np.testing.assert_allclose(
        confidences, [[0.8, 0.5, 0.8, 0, 0, 0, 0]], rtol=1e-6, atol=1e-7
    )


def _random_batch(seed, frames):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(4, frames, 6)) * 2).astype("float32")
    lengths = np.array([frames, frames - 3, 1, frames // 2], "int32")
    mask = (np.arange(frames)[None, :] < lengths[:, None]).astype("int32")
    return logits, mask, lengths


def _check_against_greedy_decode(outputs, logits, lengths):
    labels, counts, confidences = (np.asarray(o) for o in outputs)
    expected = greedy_decode(logits, lengths)
    for b, result in enumerate(expected):
        n = len(result.ids)
        assert counts[b] == n
        np.testing.assert_array_equal(labels[b, :n], result.ids)
        np.testing.assert_array_equal(labels[b, n:], -1)
        assert np.all(confidences[b, :n] > 0)
        np.testing.assert_array_equal(confidences[b, n:], 0)


def test_equals_greedy_decode_with_padding_mask_and_keras_mask():
    logits, mask, lengths = _random_batch(0, 15)
    layer = CTCGreedyDecoder()
    _check_against_greedy_decode(
        layer(logits, padding_mask=mask), logits, lengths
    )
    # The implicit Keras mask from a Masking layer gives the same.
    features = logits * mask[:, :, None]
    inputs = keras.Input((None, 6))
    masked = keras.layers.Masking(0.0)(inputs)
    model = keras.Model(inputs, CTCGreedyDecoder()(masked))
    _check_against_greedy_decode(model(features), logits, lengths)
    # Padded content never changes the result.
    noisy = logits + (1 - mask[:, :, None]) * 7.0
    for a, b in zip(
        layer(noisy, padding_mask=mask), layer(logits, padding_mask=mask)
    ):
        np.testing.assert_array_equal(a, b)


def test_blank_index_other_than_zero():
    logits, _, lengths = _random_batch(1, 10)
    outputs = CTCGreedyDecoder(blank_index=5)(logits)
    labels, counts, _ = (np.asarray(o) for o in outputs)
    expected = greedy_decode(logits, blank_index=5)
    for b, result in enumerate(expected):
        np.testing.assert_array_equal(labels[b, : counts[b]], result.ids)


GREEDY_NAMES = ("labels", "lengths", "confidences")


def test_tflite_builtin_only_at_two_lengths_equals_greedy_decode(
    decoder_model,
):
    model = decoder_model(CTCGreedyDecoder(), 6, GREEDY_NAMES)
    # convert() raises NonBuiltinOpsError on any Flex or custom op.
    report = tflite.convert(model)
    assert "ARG_MAX" in report.ops and "CUMSUM" in report.ops
    assert not tflite.non_builtin_ops(report.ops)
    samples = [_random_batch(2, 9), _random_batch(3, 57)]
    parity = tflite.check_parity(
        model, report.content, [[x, m] for x, m, _ in samples], atol=1e-6
    )
    assert parity["ok"], parity
    for logits, mask, lengths in samples:
        out = tflite.run_tflite(report.content, [logits, mask])
        _check_against_greedy_decode(
            (out["labels"], out["lengths"], out["confidences"]),
            logits,
            lengths,
        )


def test_config_saving_xla_and_mixed_precision(decoder_model):
    logits, mask, _ = _random_batch(4, 11)
    layer = CTCGreedyDecoder(blank_index=2, name="decode")
    expected = layer(logits, padding_mask=mask)
    clone = CTCGreedyDecoder.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert layer.get_config()["blank_index"] == 2

    model = decoder_model(CTCGreedyDecoder(blank_index=2), 6, GREEDY_NAMES)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    for a, b in zip(loaded([logits, mask]), expected):
        np.testing.assert_array_equal(a, b)

    jitted = tf.function(
        lambda x, m: layer(x, padding_mask=m), jit_compile=True
    )
    for a, b in zip(jitted(logits, mask), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    half = CTCGreedyDecoder(blank_index=2, dtype="mixed_float16")
    labels, _, confidences = half(logits.astype("float16"), padding_mask=mask)
    assert confidences.dtype == "float16"
    np.testing.assert_array_equal(labels, expected[0])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="blank_index=-1"):
        CTCGreedyDecoder(blank_index=-1)
    with pytest.raises(ValueError, match="blank_index=6"):
        CTCGreedyDecoder(blank_index=6)(np.zeros((1, 3, 6), "float32"))
    with pytest.raises(ValueError, match=r"shape \(1, 6\)"):
        CTCGreedyDecoder()(np.zeros((1, 6), "float32"))
