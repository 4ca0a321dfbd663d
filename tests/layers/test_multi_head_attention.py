"""MultiHeadAttention: shared checks, a Keras reference, masks, errors."""

import keras
import numpy as np
import pytest

from keras_seq import tflite
from keras_seq.layers import MultiHeadAttention
from keras_seq.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 6, 16)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], "int32")


@pytest.mark.parametrize(
    "position_encoding, causal, rotary_percentage",
    [
        (None, False, 1.0),
        ("rotary", True, 0.5),
        ("alibi", False, 1.0),
        # The other combinations share the code paths above.
        pytest.param("rotary", False, 1.0, marks=pytest.mark.slow),
        pytest.param("alibi", True, 1.0, marks=pytest.mark.slow),
    ],
)
def test_self_attention_runs_every_shared_check(
    position_encoding, causal, rotary_percentage
):
    report = run_layer_test(
        MultiHeadAttention,
        {
            "num_heads": 4,
            "position_encoding": position_encoding,
            "causal": causal,
            "rotary_percentage": rotary_percentage,
        },
        X,
        (2, 6, 16),
        padding_mask=MASK,
    )
    assert "SOFTMAX" in report.ops


def test_cross_attention_runs_every_shared_check():
    query = RNG.normal(size=(2, 6, 16)).astype("float32")
    value = RNG.normal(size=(2, 6, 12)).astype("float32")
    run_layer_test(
        MultiHeadAttention,
        {"num_heads": 2, "hidden_dim": 8, "dropout": 0.1},
        [query, value],
        (2, 6, 16),
    )


def _keras_reference(layer, num_heads):
    """keras.layers.MultiHeadAttention holding `layer`'s weights."""
    head_dim = layer.head_dim
    query_dim = layer._feature_sizes["query"]
    reference = keras.layers.MultiHeadAttention(num_heads, head_dim)
    reference.build((None, None, query_dim), (None, None, query_dim))
    weights = []
    for dense in (
        layer.query_dense,
        layer.key_dense,
        layer.value_dense,
    ):
        kernel, bias = dense.get_weights()
        # (features, hidden_dim) -> (features, num_heads, head_dim)
        weights += [
            kernel.reshape(-1, num_heads, head_dim),
            bias.reshape(num_heads, head_dim),
        ]
    kernel, bias = layer.output_dense.get_weights()
    # (hidden_dim, query_dim) -> (num_heads, head_dim, query_dim)
    weights += [kernel.reshape(num_heads, head_dim, -1), bias]
    reference.set_weights(weights)
    return reference


@pytest.mark.parametrize("causal", [False, True])
def test_matches_keras_multi_head_attention(causal):
    layer = MultiHeadAttention(num_heads=4, causal=causal)
    ours, scores = layer(X, padding_mask=MASK, return_attention_scores=True)
    reference = _keras_reference(layer, 4)
    key_mask = np.broadcast_to(MASK[:, None, :], (2, 6, 6))
    theirs, their_scores = reference(
        X,
        X,
        attention_mask=key_mask,
        use_causal_mask=causal,
        return_attention_scores=True,
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(scores, their_scores, atol=1e-6)


def test_hidden_keys_get_zero_probability():
    layer = MultiHeadAttention(num_heads=2, causal=True)
    _, scores = layer(X, padding_mask=MASK, return_attention_scores=True)
    scores = np.asarray(scores)
    np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-6)
    # Padded keys 4 and 5 of sample 1, and every future key, get 0.
    assert np.all(scores[1, :, :, 4:] == 0)
    assert np.all(np.triu(scores[0, 0], k=1) == 0)


def test_attention_mask_combines_with_padding_mask():
    layer = MultiHeadAttention(num_heads=2)
    pairs = np.ones((2, 6, 6), "int32")
    pairs[:, :, 0] = 0
    _, scores = layer(
        X, padding_mask=MASK, attention_mask=pairs, return_attention_scores=True
    )
    scores = np.asarray(scores)
    assert np.all(scores[:, :, :, 0] == 0)
    assert np.all(scores[1, :, :, 4:] == 0)


def test_keras_mask_is_used_when_padding_mask_is_absent():
    layer = MultiHeadAttention(num_heads=2)
    masked = keras.layers.Masking(mask_value=0.0)
    x = X.copy()
    x[1, 4:] = 0.0
    inputs = keras.Input((None, 16))
    model = keras.Model(inputs, layer(masked(inputs)))
    np.testing.assert_allclose(model(x), layer(x, padding_mask=MASK), atol=1e-6)


def test_dropout_only_in_training():
    layer = MultiHeadAttention(num_heads=2, dropout=0.5)
    a = np.asarray(layer(X, training=False))
    np.testing.assert_array_equal(a, np.asarray(layer(X)))
    assert not np.allclose(a, np.asarray(layer(X, training=True)))


def test_alibi_and_rotary_change_the_output():
    plain = MultiHeadAttention(num_heads=4)
    plain(X)
    for encoding in ("alibi", "rotary"):
        other = MultiHeadAttention(num_heads=4, position_encoding=encoding)
        other(X)
        other.set_weights(plain.get_weights())
        assert not np.allclose(plain(X), other(X), atol=1e-4)


def test_cached_steps_equal_the_whole_sequence_in_keras():
    for encoding in (None, "rotary", "alibi"):
        layer = MultiHeadAttention(
            num_heads=4, causal=True, position_encoding=encoding
        )
        whole = np.asarray(layer(X))
        cache = layer.init_cache(2, cache_length=8)
        steps = []
        for i in range(6):
            out, cache = layer(
                X[:, i : i + 1], cache=cache, cache_update_index=i
            )
            steps.append(np.asarray(out))
        np.testing.assert_allclose(
            np.concatenate(steps, axis=1), whole, atol=1e-5
        )


def test_unknown_position_encoding_raises():
    with pytest.raises(ValueError, match="position_encoding='sine'"):
        MultiHeadAttention(num_heads=2, position_encoding="sine")


def test_num_heads_not_dividing_hidden_dim_raises():
    with pytest.raises(ValueError, match="num_heads=3, hidden_dim=16"):
        MultiHeadAttention(num_heads=3, hidden_dim=16)
    with pytest.raises(ValueError, match="num_heads=3, hidden_dim=16"):
        MultiHeadAttention(num_heads=3)(X)


def test_wrong_rank_raises():
    with pytest.raises(ValueError, match=r"query of shape \(2, 16\)"):
        MultiHeadAttention(num_heads=2)(X[:, 0])


def test_mismatched_feature_size_raises():
    layer = MultiHeadAttention(num_heads=2)
    layer(X)
    with pytest.raises(ValueError, match=r"query of shape \(2, 6, 8\)"):
        layer(X[..., :8])


def test_mismatched_padding_mask_raises():
    layer = MultiHeadAttention(num_heads=2)
    with pytest.raises(ValueError, match=r"padding_mask of shape \(2, 5\)"):
        layer(X, padding_mask=MASK[:, :5])


def test_mismatched_cache_raises():
    layer = MultiHeadAttention(num_heads=2, causal=True)
    layer(X)
    with pytest.raises(ValueError, match=r"cache of shape \(2, 2, 8, 4, 4\)"):
        layer(
            X[:, :1],
            cache=np.zeros((2, 2, 8, 4, 4), "float32"),
            cache_update_index=0,
        )
    with pytest.raises(ValueError, match="cache_update_index=None"):
        layer(X[:, :1], cache=layer.init_cache(2, 8))


def test_converts_builtin_only_with_padding_mask_input():
    layer = MultiHeadAttention(num_heads=4, position_encoding="alibi")
    query = keras.Input((None, 16))
    mask = keras.Input((None,), dtype="int32")
    model = keras.Model([query, mask], layer(query, padding_mask=mask))
    report = tflite.convert(model)
    assert not tflite.non_builtin_ops(report.ops)
    samples = []
    for length in (7, 19):
        x = RNG.normal(size=(1, length, 16)).astype("float32")
        m = np.ones((1, length), "int32")
        m[0, length - 3 :] = 0
        samples.append([x, m])
    result = tflite.check_parity(model, report.content, samples, atol=1e-4)
    assert result["ok"], result
