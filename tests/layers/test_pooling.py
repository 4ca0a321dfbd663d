"""MaskedGlobalPooling and AttentionPooling: shared checks, values over
real steps, empty samples, implicit masks, bad arguments."""

import keras
import numpy as np
import pytest

from keras_seq import tflite
from keras_seq.layers import AttentionPooling, MaskedGlobalPooling
from keras_seq.testing import run_layer_test

X = np.random.default_rng(0).normal(size=(3, 7, 4)).astype("float32")
MASK = np.array([[1] * 7, [1] * 3 + [0] * 4, [1] + [0] * 6], "int32")


@pytest.mark.parametrize("mode", ["mean", "max", "sum"])
def test_masked_global_pooling_shared_checks(mode):
    run_layer_test(
        MaskedGlobalPooling,
        {"mode": mode},
        X,
        (3, 4),
        padding_mask=MASK,
        sequence_output=False,
    )


@pytest.mark.parametrize("hidden_dim", [None, 6])
def test_attention_pooling_shared_checks(hidden_dim):
    run_layer_test(
        AttentionPooling,
        {"hidden_dim": hidden_dim},
        X,
        (3, 4),
        padding_mask=MASK,
        sequence_output=False,
    )


def test_masked_values_match_numpy():
    for mode, reduce in (("mean", np.mean), ("max", np.max), ("sum", np.sum)):
        out = np.asarray(MaskedGlobalPooling(mode)(X, padding_mask=MASK))
        for b, n in enumerate(MASK.sum(1)):
            np.testing.assert_allclose(
                out[b], reduce(X[b, :n], axis=0), rtol=1e-6, atol=1e-6
            )
    # No mask: every step is real.
    np.testing.assert_allclose(
        np.asarray(MaskedGlobalPooling("max")(X)), X.max(1)
    )


def test_empty_sample_pools_to_zero():
    mask = MASK.copy()
    mask[2] = 0
    for layer in (
        MaskedGlobalPooling("mean"),
        MaskedGlobalPooling("max"),
        MaskedGlobalPooling("sum"),
        AttentionPooling(),
    ):
        out = np.asarray(layer(X, padding_mask=mask))
        np.testing.assert_array_equal(out[2], np.zeros(4))
        assert np.all(np.isfinite(out))


def test_attention_pooling_weights():
    # Zero scoring weights: equal scores, so the weights are uniform over
    # the real steps and the result is the masked mean.
    layer = AttentionPooling(hidden_dim=5, kernel_initializer="zeros")
    out, weights = layer(X, padding_mask=MASK, return_attention_scores=True)
    np.testing.assert_allclose(
        np.asarray(out),
        np.asarray(MaskedGlobalPooling("mean")(X, padding_mask=MASK)),
        rtol=1e-6,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        np.asarray(weights), MASK / MASK.sum(1, keepdims=True), atol=1e-7
    )
    # One real step: its weight is 1, the output is that step.
    out = AttentionPooling()(X, padding_mask=MASK)
    np.testing.assert_allclose(np.asarray(out)[2], X[2, 0], rtol=1e-6)


@pytest.mark.parametrize(
    "layer", [MaskedGlobalPooling("mean"), AttentionPooling(hidden_dim=3)]
)
def test_implicit_mask(layer):
    # keras.layers.Masking marks all-zero steps as padded.
    x = X.copy()
    x[MASK == 0] = 0.0
    inputs = keras.Input((None, 4))
    model = keras.Model(inputs, layer(keras.layers.Masking(0.0)(inputs)))
    np.testing.assert_allclose(
        np.asarray(model(x)),
        np.asarray(layer(X, padding_mask=MASK)),
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "make, received",
    [
        (lambda: MaskedGlobalPooling("median"), "mode='median'"),
        (lambda: AttentionPooling(hidden_dim=0), "hidden_dim=0"),
    ],
)
def test_bad_arguments(make, received):
    with pytest.raises(ValueError, match="Received") as info:
        make()
    assert received in str(info.value)


@pytest.mark.parametrize("cls", [MaskedGlobalPooling, AttentionPooling])
def test_wrong_rank(cls):
    with pytest.raises(ValueError, match=r"input_shape=\(3, 7\)"):
        cls()(np.zeros((3, 7), "float32"))


def test_tflite_with_padding_mask():
    inputs = keras.Input((None, 4), name="x")
    mask = keras.Input((None,), dtype="int32", name="mask")
    outputs = {
        mode: MaskedGlobalPooling(mode)(inputs, padding_mask=mask)
        for mode in ("mean", "max", "sum")
    }
    outputs["attention"] = AttentionPooling(hidden_dim=6)(
        inputs, padding_mask=mask
    )
    model = keras.Model([inputs, mask], outputs)
    report = tflite.convert(model)
    assert not tflite.non_builtin_ops(report.ops)
    rng = np.random.default_rng(6)
    samples = []
    for length, real in ((5, 3), (13, 13)):
        m = np.zeros((1, length), "int32")
        m[0, :real] = 1
        x = rng.normal(size=(1, length, 4)).astype("float32")
        samples.append([x, m])
    result = tflite.check_parity(model, report.content, samples)
    assert result["ok"], result
