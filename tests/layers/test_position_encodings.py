"""Sinusoidal, learned, rotary and ALiBi position encodings."""

import math

import keras
import keras_hub
import numpy as np
import pytest

from keras_seq import tflite
from keras_seq.layers import (
    AlibiBias,
    PositionEmbedding,
    RotaryEmbedding,
    SinusoidalPositionEncoding,
)
from keras_seq.layers.alibi_bias import alibi_slopes
from keras_seq.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 6, 8)).astype("float32")
HEADS = RNG.normal(size=(2, 6, 3, 8)).astype("float32")


# Sinusoidal.


def test_sinusoidal_runs_every_shared_check():
    # Output at a position depends on nothing but the position, so there is
    # no padding to check.
    report = run_layer_test(
        SinusoidalPositionEncoding,
        {"max_sequence_length": 32},
        X,
        (2, 6, 8),
    )
    assert not tflite.non_builtin_ops(report.ops)


def test_sinusoidal_matches_closed_form():
    # Vaswani et al. 2017, section 3.5: PE(p, 2i) = sin(p / 10000^(2i/d)),
    # PE(p, 2i + 1) = cos(p / 10000^(2i/d)).
    d = 8
    out = np.asarray(SinusoidalPositionEncoding()(np.zeros((1, 50, d))))
    for p in (0, 1, 7, 49):
        for i in range(d // 2):
            angle = p / 10000 ** (2 * i / d)
            assert out[0, p, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert out[0, p, 2 * i + 1] == pytest.approx(
                math.cos(angle), abs=1e-6
            )


def test_sinusoidal_start_index_continues_the_table():
    layer = SinusoidalPositionEncoding()
    whole = np.asarray(layer(np.zeros((1, 10, 8))))
    for start in (4, np.array([4], "int32")):
        step = np.asarray(layer(np.zeros((1, 1, 8)), start_index=start))
        np.testing.assert_allclose(step[0, 0], whole[0, 4], atol=1e-7)


def test_sinusoidal_too_long_input_raises():
    layer = SinusoidalPositionEncoding(max_sequence_length=4)
    with pytest.raises(ValueError, match="sequence_length=5"):
        layer(np.zeros((1, 5, 8)))
    with pytest.raises(ValueError, match="start_index=2"):
        layer(np.zeros((1, 3, 8)), start_index=2)


def test_sinusoidal_wrong_rank_raises():
    with pytest.raises(ValueError, match="input_shape="):
        SinusoidalPositionEncoding()(np.zeros((2, 8)))


# Learned.


def test_position_embedding_runs_every_shared_check():
    report = run_layer_test(
        PositionEmbedding,
        {"max_sequence_length": 32},
        X,
        (2, 6, 8),
    )
    assert not tflite.non_builtin_ops(report.ops)


def test_position_embedding_is_its_table_rows():
    layer = PositionEmbedding(max_sequence_length=16)
    out = np.asarray(layer(X))
    table = np.asarray(layer.embeddings)
    np.testing.assert_array_equal(out[1], table[:6])


def test_position_embedding_bad_length_raises():
    with pytest.raises(ValueError, match="max_sequence_length=0"):
        PositionEmbedding(max_sequence_length=0)


# Rotary.


@pytest.mark.parametrize("rotary_percentage", [1.0, 0.5])
def test_rotary_runs_every_shared_check(rotary_percentage):
    # Position-wise: no step reads another, so there is no padding to check.
    run_layer_test(
        RotaryEmbedding,
        {"rotary_percentage": rotary_percentage},
        HEADS,
        HEADS.shape,
    )


@pytest.mark.parametrize("scaling_factor", [1.0, 4.0])
def test_rotary_matches_keras_hub_halves_pairing(scaling_factor):
    ours = RotaryEmbedding(max_wavelength=500, scaling_factor=scaling_factor)
    theirs = keras_hub.layers.RotaryEmbedding(
        max_wavelength=500, scaling_factor=scaling_factor
    )
    np.testing.assert_allclose(
        np.asarray(ours(HEADS)), np.asarray(theirs(HEADS)), atol=1e-5
    )
    np.testing.assert_allclose(
        np.asarray(ours(HEADS, start_index=3)),
        np.asarray(theirs(HEADS, start_index=3)),
        atol=1e-5,
    )


def test_rotary_partial_leaves_the_tail_and_rotates_the_head():
    layer = RotaryEmbedding(rotary_percentage=0.5)
    out = np.asarray(layer(HEADS))
    np.testing.assert_array_equal(out[..., 4:], HEADS[..., 4:])
    # The rotated part equals a full rotary embedding of those 4 features.
    full = np.asarray(RotaryEmbedding()(HEADS[..., :4]))
    np.testing.assert_allclose(out[..., :4], full, atol=1e-6)


def test_rotary_keeps_norms_and_relative_dot_products():
    # A rotation keeps each pair's length; q_m . k_n depends on m - n only.
    layer = RotaryEmbedding()
    q = np.tile(HEADS[:1, :1], (1, 6, 1, 1))
    out = np.asarray(layer(q))
    np.testing.assert_allclose(
        np.linalg.norm(out, axis=-1), np.linalg.norm(q, axis=-1), rtol=1e-5
    )
    dots = np.einsum("bqhd,bkhd->bhqk", out, out)[0, 0]
    np.testing.assert_allclose(dots[1, 0], dots[5, 4], rtol=1e-4)
    np.testing.assert_allclose(dots[3, 1], dots[4, 2], rtol=1e-4)


def test_rotary_start_index_continues_the_sequence():
    layer = RotaryEmbedding()
    whole = np.asarray(layer(HEADS))
    step = np.asarray(layer(HEADS[:, 4:5], start_index=4))
    np.testing.assert_allclose(step[:, 0], whole[:, 4], atol=1e-6)


def test_rotary_odd_rotated_size_raises():
    with pytest.raises(ValueError, match="feature_dim=8"):
        RotaryEmbedding(rotary_percentage=0.375)(HEADS)


# ALiBi.


def test_alibi_slopes_eight_heads_exact():
    # Press et al. 2022, section 3: for 8 heads 1/2, 1/4, ..., 1/256.
    assert alibi_slopes(8) == [2.0**-k for k in range(1, 9)]


def test_alibi_slopes_twelve_heads_follow_the_papers_rule():
    # Press et al. 2022 (arXiv:2108.12409), section 3 and its reference
    # code: for n not a power of two take the 8 slopes of the closest lower
    # power of two (2^-1 .. 2^-8), then every other slope of 16 heads
    # (2^-0.5, 2^-1, 2^-1.5, ...), i.e. 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5.
    expected = [2.0**-k for k in range(1, 9)] + [
        2.0**-0.5,
        2.0**-1.5,
        2.0**-2.5,
        2.0**-3.5,
    ]
    np.testing.assert_allclose(alibi_slopes(12), expected, rtol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_alibi_runs_every_shared_check_but_tflite(bidirectional):
    # Scores are (batch, heads, query, key): the shared TFLite check varies
    # axis 1 (the heads), so TFLite parity is checked below with the query
    # and key axes variable.
    scores = RNG.normal(size=(2, 4, 5, 5)).astype("float32")
    run_layer_test(
        AlibiBias,
        {"num_heads": 4, "bidirectional": bidirectional},
        scores,
        scores.shape,
        run_tflite=False,
    )


def test_alibi_bias_values():
    scores = np.zeros((1, 8, 4, 4), "float32")
    causal = np.asarray(AlibiBias(8)(scores))
    symmetric = np.asarray(AlibiBias(8, bidirectional=True)(scores))
    i, j = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    for h, slope in enumerate(alibi_slopes(8)):
        np.testing.assert_allclose(causal[0, h], -slope * (i - j), atol=1e-7)
        np.testing.assert_allclose(
            symmetric[0, h], -slope * np.abs(i - j), atol=1e-7
        )
    step = np.asarray(
        AlibiBias(8)(np.zeros((1, 8, 1, 4), "float32"), start_index=3)
    )
    np.testing.assert_allclose(step[0, :, 0], causal[0, :, 3], atol=1e-7)


def test_alibi_converts_builtin_at_two_sizes():
    scores = keras.Input(shape=(4, None, None))
    model = keras.Model(scores, AlibiBias(4, bidirectional=True)(scores))
    report = tflite.convert(model, sequence_axes=(2, 3))
    assert not tflite.non_builtin_ops(report.ops)
    samples = [
        [RNG.normal(size=(1, 4, n, n)).astype("float32")] for n in (7, 19)
    ]
    result = tflite.check_parity(model, report.content, samples)
    assert result["ok"], result


def test_alibi_wrong_head_count_raises():
    with pytest.raises(ValueError, match="input_shape="):
        AlibiBias(8)(np.zeros((1, 4, 3, 3), "float32"))
