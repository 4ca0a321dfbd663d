"""CTCBeamSearchDecoder: equals beam_search_decode, converts builtin-only."""

import os
import tempfile

import keras
import numpy as np
import pytest

from keras_seq import tflite
from keras_seq.ctc import CTCBeamSearchDecoder, beam_search_decode


def _batch(seed, frames, batch=4, num_classes=6):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(batch, frames, num_classes)) * 2).astype(
        "float32"
    )
    lengths = np.maximum(frames - 5 * np.arange(batch), 1).astype("int32")
    mask = (np.arange(frames)[None, :] < lengths[:, None]).astype("int32")
    return logits, mask, lengths


def _check(outputs, logits, lengths, beam_width, blank_index=0):
    labels, counts, scores = (np.asarray(o) for o in outputs)
    expected = beam_search_decode(
        logits, lengths, beam_width=beam_width, blank_index=blank_index
    )
    for b, result in enumerate(expected):
        n = counts[b]
        assert labels[b, :n].tolist() == result.ids
        np.testing.assert_array_equal(labels[b, n:], -1)
        np.testing.assert_allclose(scores[b], result.score, atol=1e-4)


@pytest.mark.parametrize("beam_width,blank_index", [(1, 0), (5, 0), (3, 2)])
def test_equals_numpy_beam_search(beam_width, blank_index):
    logits, mask, lengths = _batch(0, 18)
    layer = CTCBeamSearchDecoder(beam_width, blank_index=blank_index)
    _check(
        layer(logits, padding_mask=mask),
        logits,
        lengths,
        beam_width,
        blank_index,
    )


BEAM_NAMES = ("labels", "lengths", "scores")


def test_tflite_builtin_only_at_two_lengths(decoder_model):
    model = decoder_model(CTCBeamSearchDecoder(beam_width=4), 6, BEAM_NAMES)
    report = tflite.convert(model)  # raises on Flex or custom ops
    assert "WHILE" in report.ops
    samples = [_batch(1, 9, batch=2), _batch(2, 41, batch=2)]
    parity = tflite.check_parity(
        model, report.content, [[x, m] for x, m, _ in samples], atol=1e-4
    )
    assert parity["ok"], parity
    for logits, mask, lengths in samples:
        out = tflite.run_tflite(report.content, [logits, mask])
        _check(
            (out["labels"], out["lengths"], out["scores"]),
            logits,
            lengths,
            4,
        )


def test_config_and_saving(decoder_model):
    layer = CTCBeamSearchDecoder(beam_width=3, blank_index=1)
    assert CTCBeamSearchDecoder.from_config(
        layer.get_config()
    ).get_config() == (layer.get_config())
    logits, mask, _ = _batch(3, 7)
    model = decoder_model(CTCBeamSearchDecoder(beam_width=3), 6, BEAM_NAMES)
    expected = model([logits, mask])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    for a, b in zip(loaded([logits, mask]), expected):
        np.testing.assert_allclose(a, b)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="beam_width=0"):
        CTCBeamSearchDecoder(beam_width=0)
    with pytest.raises(ValueError, match="blank_index=6"):
        CTCBeamSearchDecoder(blank_index=6)(np.zeros((1, 3, 6), "float32"))
