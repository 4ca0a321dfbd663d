"""greedy_decode and beam_search_decode: references and hand-made cases."""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from keras_seq.ctc import CharNgramLM, beam_search_decode, greedy_decode
from keras_seq.ctc.char_ngram_lm import EOS

VOCABULARY = ["", " ", "a", "c", "d", "e", "g", "o", "t"]


def _logits(rows, vocabulary=VOCABULARY):
    """Logits from rows of {token: probability}; the rest shares 1e-3."""
    probs = np.full((len(rows), len(vocabulary)), 1e-3)
    for t, row in enumerate(rows):
        for token, p in row.items():
            probs[t, vocabulary.index(token)] = p
    probs /= probs.sum(axis=1, keepdims=True)
    return np.log(probs)[None].astype("float32")


def _peaky(seed, batch, frames, num_classes, scale=4.0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(batch, frames, num_classes)) * scale).astype(
        "float32"
    )


def _ctc_log_prob(logits, ids):
    """log P(ids | logits) by tf.nn.ctc_loss (blank 0)."""
    if not ids:
        log_probs = tf.nn.log_softmax(logits, axis=-1).numpy()
        return float(log_probs[:, 0].sum())
    loss = tf.nn.ctc_loss(
        labels=np.array([ids], "int32"),
        logits=logits[None],
        label_length=[len(ids)],
        logit_length=[logits.shape[0]],
        logits_time_major=False,
        blank_index=0,
    )
    return -float(loss[0])


def test_greedy_decode_hand_made():
    rows = [{"c": 0.9}, {"a": 0.8}, {"a": 0.7}, {"": 0.9}, {"t": 0.6}]
    logits = _logits(rows)
    result = greedy_decode(logits, vocabulary=VOCABULARY)[0]
    assert result.text == "cat"
    assert result.ids == [3, 2, 8]
    log_probs = tf.nn.log_softmax(logits[0]).numpy()
    expected = sum(log_probs[t].max() for t in range(5))
    np.testing.assert_allclose(result.score, expected, rtol=1e-5)
    # Only the first 2 frames: "ca".
    assert greedy_decode(logits, [2], vocabulary=VOCABULARY)[0].text == "ca"


def _confident(seed, batch, frames, num_classes, top=0.6):
    """Logits whose best class has probability `top` at every frame."""
    rng = np.random.default_rng(seed)
    best = rng.integers(0, num_classes, size=(batch, frames))
    rest = rng.uniform(0.1, 1.0, size=(batch, frames, num_classes))
    is_best = np.arange(num_classes) == best[..., None]
    rest = np.where(is_best, 0.0, rest)
    rest *= (1 - top) / rest.sum(axis=-1, keepdims=True)
    return np.log(np.where(is_best, top, rest)).astype("float32")


def test_beam_width_one_equals_greedy():
    # Frames as confident as a trained model's (best class at 0.6).
    logits = _confident(0, 100, 25, 7)
    lengths = np.random.default_rng(1).integers(1, 26, size=100)
    greedy = greedy_decode(logits, lengths)
    beam = beam_search_decode(logits, lengths, beam_width=1)
    assert [r.ids for r in beam] == [r.ids for r in greedy]
    assert any(len(r.ids) > 10 for r in greedy)


def test_beam_width_one_can_beat_greedy_on_uncertain_frames():
    # Frames (blank, a): greedy reads "a _ a" -> "aa" (0.51 ** 3 = 0.133),
    # but the label "a" sums to 0.645 over its six alignments; a width-1
    # prefix beam keeps "a" (0.377 of it survives pruning at frame 1).
    logits = np.log(
        np.array([[[0.49, 0.51], [0.51, 0.49], [0.49, 0.51]]], "float64")
    )
    assert greedy_decode(logits)[0].ids == [1, 1]
    result = beam_search_decode(logits, beam_width=1)[0]
    assert result.ids == [1]
    # The alignments that start with "a": a _ _, a a _, a a a.
    expected = 0.51 * 0.51 * 0.49 + 0.51 * 0.49 * 0.49 + 0.51 * 0.49 * 0.51
    np.testing.assert_allclose(np.exp(result.score), expected, rtol=1e-9)


def test_top_beam_at_least_as_likely_as_the_greedy_path():
    logits = _peaky(2, 16, 30, 6, scale=2.0)
    greedy = greedy_decode(logits)
    beam = beam_search_decode(logits, beam_width=16)
    # The label's true probability, summed over all its alignments.
    width = max(len(r.ids) for r in beam)
    labels = np.zeros((16, width), "int32")
    for b, r in enumerate(beam):
        labels[b, : len(r.ids)] = r.ids
    true = -tf.nn.ctc_loss(
        labels=labels,
        logits=logits,
        label_length=[len(r.ids) for r in beam],
        logit_length=[30] * 16,
        logits_time_major=False,
        blank_index=0,
    ).numpy()
    for b in range(16):
        assert beam[b].score >= greedy[b].score - 1e-9
        # Pruning only loses alignments: never above the true value.
        assert beam[b].score <= true[b] + 1e-4


def test_wide_beam_scores_are_exact_label_probabilities():
    # With a beam wider than the number of prefixes nothing is pruned:
    # each score is the label's probability summed over all alignments.
    logits = _peaky(3, 1, 6, 3, scale=2.0)
    results = beam_search_decode(logits, beam_width=500, top_paths=8)[0]
    assert len(results) == 8
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    for r in results:
        np.testing.assert_allclose(
            r.score, _ctc_log_prob(logits[0], r.ids), rtol=1e-5
        )


def _tf_beam_search(logits, beam_width):
    # TensorFlow's decoder takes the last class as the blank: move ours
    # (id 0) to the end, then shift the decoded ids back.
    moved = np.concatenate([logits[..., 1:], logits[..., :1]], axis=-1)
    decoded, _ = tf.nn.ctc_beam_search_decoder(
        np.transpose(moved, (1, 0, 2)),  # (frames, batch_size, classes)
        [logits.shape[1]] * logits.shape[0],
        beam_width=beam_width,
        top_paths=1,
    )
    dense = tf.sparse.to_dense(decoded[0], default_value=-1).numpy()
    return [[int(v) + 1 for v in row if v >= 0] for row in dense]


def test_top_path_matches_tf_ctc_beam_search_decoder_unpruned():
    # 6 frames, 3 characters: at most 1093 prefixes, so a beam of 1100
    # prunes nothing and both decoders must return the likeliest label.
    logits = _peaky(4, 32, 6, 4, scale=1.5)
    expected = _tf_beam_search(logits, 1100)
    got = beam_search_decode(logits, beam_width=1100)
    assert [r.ids for r in got] == expected


def test_top_path_agrees_with_tf_ctc_beam_search_decoder_at_beam_16():
    # With pruning, TensorFlow's decoder (a tree of beam entries updated
    # in place) and the textbook prefix beam search used here can keep
    # different low-probability prefixes; on confident frames they agree
    # on almost every sequence (measured here: 62 of 64).
    logits = _peaky(4, 64, 30, 8, scale=4.0)
    expected = _tf_beam_search(logits, 16)
    got = beam_search_decode(logits, beam_width=16)
    agree = sum(r.ids == e for r, e in zip(got, expected))
    assert agree >= 60


def _textbook_prefix_beam_search(log_probs, beam_width):
    """Hannun et al.'s prefix beam search with dicts (blank 0)."""
    beams = {(): (0.0, -np.inf)}
    for frame in log_probs:
        grown = {}

        def add(prefix, blank, label, grown=grown):
            b, n = grown.get(prefix, (-np.inf, -np.inf))
            grown[prefix] = (np.logaddexp(b, blank), np.logaddexp(n, label))

        for prefix, (p_b, p_nb) in beams.items():
            total = np.logaddexp(p_b, p_nb)
            add(prefix, total + frame[0], -np.inf)
            if prefix:
                add(prefix, -np.inf, p_nb + frame[prefix[-1]])
            for c in range(1, len(frame)):
                before = p_b if prefix and prefix[-1] == c else total
                add(prefix + (c,), -np.inf, before + frame[c])
        ranked = sorted(grown.items(), key=lambda kv: -np.logaddexp(*kv[1]))
        beams = dict(ranked[:beam_width])
    best = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))
    return list(best[0]), float(np.logaddexp(*best[1]))


@pytest.mark.parametrize("beam_width", [3, 10])
def test_equals_a_textbook_prefix_beam_search(beam_width):
    logits = _peaky(5, 12, 20, 6, scale=2.0)
    got = beam_search_decode(logits, beam_width=beam_width)
    for b in range(12):
        log_probs = tf.nn.log_softmax(logits[b].astype("float64")).numpy()
        ids, score = _textbook_prefix_beam_search(log_probs, beam_width)
        assert got[b].ids == ids
        np.testing.assert_allclose(got[b].score, score, rtol=1e-9)


def test_lexicon_forces_a_dictionary_word():
    # Greedy reads "cet do": "cet" is not a word; "cat" is the closest
    # lexicon path, and "do" must become "dog" (the g is weak).
    rows = [
        {"c": 0.9},
        {"e": 0.5, "a": 0.4},
        {"t": 0.9},
        {" ": 0.9},
        {"d": 0.9},
        {"o": 0.9},
        {"": 0.6, "g": 0.3},
    ]
    logits = _logits(rows)
    assert greedy_decode(logits, vocabulary=VOCABULARY)[0].text == "cet do"
    result = beam_search_decode(
        logits, beam_width=8, lexicon=["cat", "dog"], vocabulary=VOCABULARY
    )[0]
    assert result.text == "cat dog"
    # Without the lexicon the beam keeps the likelier non-word.
    plain = beam_search_decode(logits, beam_width=8, vocabulary=VOCABULARY)
    assert plain[0].text == "cet do"


def test_lm_changes_an_ambiguous_decision():
    rows = [{"c": 0.9}, {"o": 0.52, "a": 0.46}, {"t": 0.9}]
    logits = _logits(rows)
    lm = CharNgramLM(order=3).fit(["cat", "a cat", "the cat sat"] * 5)
    plain = beam_search_decode(logits, beam_width=8, vocabulary=VOCABULARY)
    assert plain[0].text == "cot"
    with_lm = beam_search_decode(
        logits, beam_width=8, lm=lm, lm_weight=0.5, vocabulary=VOCABULARY
    )
    assert with_lm[0].text == "cat"
    # The score adds the weighted LM log probability of the whole text.
    ctc = _ctc_log_prob(logits[0], [3, 2, 8])
    np.testing.assert_allclose(
        with_lm[0].score, ctc + 0.5 * lm.score("cat"), rtol=1e-5
    )


def test_char_ngram_lm_normalised_and_saved():
    lm = CharNgramLM(order=3, discount=0.5).fit(["the cat", "the hat"])
    alphabet = sorted(set("the cat hat"))
    total = sum(np.exp(lm.log_prob("th", c)) for c in alphabet + [EOS])
    # One slot of mass stays for unseen characters.
    assert 0.95 < total < 1.0
    assert lm.log_prob("th", "e") > lm.log_prob("th", "a")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "lm.json")
        lm.save(path)
        loaded = CharNgramLM.load(path)
    assert loaded.get_config() == {"order": 3, "discount": 0.5}
    for text in ("the cat", "tac eht", "xyz"):
        assert loaded.score(text) == pytest.approx(lm.score(text))
    with pytest.raises(ValueError, match="order=0"):
        CharNgramLM(order=0)


def test_bad_arguments_raise():
    logits = np.zeros((1, 4, 3), "float32")
    with pytest.raises(ValueError, match="blank_index=3"):
        greedy_decode(logits, blank_index=3)
    with pytest.raises(ValueError, match="top_paths=5"):
        beam_search_decode(logits, beam_width=4, top_paths=5)
    with pytest.raises(ValueError, match="vocabulary=None"):
        beam_search_decode(logits, lexicon=["a"])
    with pytest.raises(ValueError, match=r"shape \(4, 3\)"):
        beam_search_decode(logits[0])


def test_min_log_prob_prunes_unlikely_extensions():
    # Two frames of blank 0.55 / "a" 0.45: P("a") = 0.6975 beats P("") =
    # 0.3025, but "a" is never 0.5 likely, nor a frame's best id.
    vocabulary = ["", "a"]
    logits = np.log(np.array([[[0.55, 0.45], [0.55, 0.45]]]))
    exact = beam_search_decode(logits, vocabulary=vocabulary)[0]
    assert exact.text == "a"
    pruned = beam_search_decode(
        logits, vocabulary=vocabulary, min_log_prob=np.log(0.5)
    )[0]
    assert pruned.text == ""
    np.testing.assert_allclose(pruned.score, np.log(0.3025), rtol=1e-6)


class _CountingLM(CharNgramLM):
    calls = 0

    def log_prob(self, history, char):
        _CountingLM.calls += 1
        return super().log_prob(history, char)


def test_min_log_prob_keeps_the_lm_result_with_fewer_lm_queries():
    rows = [{"c": 0.9}, {"o": 0.52, "a": 0.46}, {"t": 0.9}] * 3
    logits = _logits(rows)
    lm = _CountingLM(order=3).fit(["cat", "a cat", "the cat sat"] * 5)
    results, calls = [], []
    for min_log_prob in (None, np.log(0.01)):
        _CountingLM.calls = 0
        results.append(
            beam_search_decode(
                logits,
                beam_width=8,
                lm=lm,
                vocabulary=VOCABULARY,
                min_log_prob=min_log_prob,
            )[0]
        )
        calls.append(_CountingLM.calls)
    assert results[0].text == results[1].text == "catcatcat"
    assert results[0].score == pytest.approx(results[1].score)
    # Every one of the 8 ids per new prefix, against the 1-2 candidates.
    assert calls[1] * 3 < calls[0]
