"""TemporalConvBlock: shared checks, masks, pooling, streaming (Keras and
TFLite), bad arguments."""

import keras
import numpy as np
import pytest

from keras_seq import tflite
from keras_seq.layers import TemporalConvBlock
from keras_seq.testing import check_masking, run_layer_test

X = np.random.default_rng(0).normal(size=(2, 10, 8)).astype("float32")
MASK = np.array([[1] * 10, [1] * 6 + [0] * 4], "int32")


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class ReceivedMask(keras.layers.Layer):
    """Returns the implicit Keras mask it receives, as float."""

    def call(self, inputs, mask=None):
        return keras.ops.cast(mask, "float32")

    def compute_mask(self, inputs, mask=None):
        return None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filters": 16},
        {
            "filters": 8,
            "padding": "same",
            "dilation_rate": 2,
            "separable": True,
            "normalization": "batch",
        },
        {
            "filters": 8,
            "kernel_size": 5,
            "normalization": None,
            "residual": False,
            "activation": "relu",
            "dropout": 0.1,
        },
    ],
)
def test_shared_layer_checks(kwargs):
    report = run_layer_test(
        TemporalConvBlock,
        kwargs,
        X,
        (2, 10, kwargs["filters"]),
        padding_mask=MASK,
    )
    assert not tflite.non_builtin_ops(report.ops)


def test_shared_layer_checks_pooled():
    # The shared masking check compares the first `length` outputs, which
    # does not apply to a pooled output; test_pooled_mask checks it.
    run_layer_test(
        TemporalConvBlock,
        {"filters": 16, "dilation_rate": 2, "pool_size": 2},
        X,
        (2, 5, 16),
    )


def test_pooled_mask():
    layer = TemporalConvBlock(8, padding="same", pool_size=3)
    # Real lengths 10 and 7: 10 // 3 = 3 and 7 // 3 = 2 real frames.
    mask = np.array([[1] * 10 + [0] * 2, [1] * 7 + [0] * 5], "int32")
    x = np.random.default_rng(3).normal(size=(2, 12, 8)).astype("float32")
    base = np.asarray(layer(x, padding_mask=mask))
    assert base.shape == (2, 4, 8)
    np.testing.assert_array_equal(
        np.asarray(layer.compute_mask(x, mask)),
        [[1, 1, 1, 0], [1, 1, 0, 0]],
    )
    noisy = np.where(mask[..., None] == 1, x, 9.0).astype("float32")
    longer = np.pad(noisy, ((0, 0), (0, 6), (0, 0)), constant_values=-4.0)
    longer_mask = np.pad(mask, ((0, 0), (0, 6)))
    for inputs, m in ((noisy, mask), (longer, longer_mask)):
        out = np.asarray(layer(inputs, padding_mask=m))
        for b, frames in enumerate((3, 2)):
            np.testing.assert_allclose(out[b, :frames], base[b, :frames])
            assert not np.any(out[b, frames:])
    # The real part equals that sample alone.
    alone = np.asarray(layer(x[1:, :7]))
    np.testing.assert_allclose(alone[0], base[1, :2], atol=1e-6)


def test_batch_norm_training_uses_real_steps_only():
    layer = TemporalConvBlock(8, normalization="batch")
    check_masking(
        layer, X, MASK, call_kwargs={"training": True}, sequence_output=True
    )


def test_causal_output_ignores_the_future():
    layer = TemporalConvBlock(8, kernel_size=3, dilation_rate=3)
    changed = X.copy()
    changed[:, 6:] += 5.0
    np.testing.assert_allclose(
        np.asarray(layer(changed))[:, :6], np.asarray(layer(X))[:, :6]
    )


def test_identity_residual():
    # Zero convolution, no normalization, linear activation: output = x.
    layer = TemporalConvBlock(
        8, normalization=None, activation="linear", kernel_initializer="zeros"
    )
    np.testing.assert_allclose(np.asarray(layer(X)), X)
    assert layer.projection is None


def test_mask_flows_to_next_layer():
    inputs = keras.Input((None, 8))
    mask = keras.Input((None,), dtype="int32")
    y = TemporalConvBlock(8, pool_size=2)(inputs, padding_mask=mask)
    model = keras.Model([inputs, mask], ReceivedMask()(y))
    np.testing.assert_array_equal(
        np.asarray(model([X, MASK])), [[1] * 5, [1] * 3 + [0] * 2]
    )


STREAMING = [
    {"filters": 16, "dilation_rate": 2},
    {"filters": 8, "kernel_size": 4, "separable": True, "dilation_rate": 3},
    {"filters": 8, "normalization": "batch", "pool_size": 2},
]


def _whole_and_chunks(layer, x, chunks):
    whole = np.asarray(layer(x))
    state = layer.get_initial_state(x.shape[0])
    outputs, start = [], 0
    for size in chunks:
        out, state = layer(
            x[:, start : start + size], state=state, return_state=True
        )
        outputs.append(np.asarray(out))
        start += size
    return whole, np.concatenate(outputs, axis=1)


@pytest.mark.parametrize("kwargs", STREAMING)
def test_streaming_equals_whole_sequence(kwargs):
    layer = TemporalConvBlock(**kwargs)
    x = np.random.default_rng(4).normal(size=(2, 16, 8)).astype("float32")
    layer(x)
    chunks = (4, 2, 6, 4) if "pool_size" in kwargs else (3, 1, 7, 5)
    whole, streamed = _whole_and_chunks(layer, x, chunks)
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


@pytest.mark.parametrize("kwargs", STREAMING[:2])
def test_tflite_streaming_equals_whole_sequence(kwargs):
    layer = TemporalConvBlock(**kwargs)
    x = np.random.default_rng(5).normal(size=(1, 16, 8)).astype("float32")
    whole = np.asarray(layer(x))

    chunk = keras.Input((None, 8), name="chunk")
    state = keras.Input((layer.state_size, 8), name="state")
    out, new_state = layer(chunk, state=state, return_state=True)
    model = keras.Model([chunk, state], {"output": out, "state": new_state})
    report = tflite.convert(model)
    assert not tflite.non_builtin_ops(report.ops)

    state_value = np.zeros((1, layer.state_size, 8), "float32")
    outputs, start = [], 0
    for size in (3, 1, 7, 5):
        result = tflite.run_tflite(
            report.content, [x[:, start : start + size], state_value]
        )
        outputs.append(result["output"])
        state_value = result["state"]
        start += size
    np.testing.assert_allclose(
        np.concatenate(outputs, 1), whole, atol=1e-5, rtol=1e-4
    )


@pytest.mark.parametrize(
    "kwargs, received",
    [
        ({"filters": 0}, "filters=0"),
        ({"filters": 8, "kernel_size": -1}, "kernel_size=-1"),
        ({"filters": 8, "dilation_rate": 0}, "dilation_rate=0"),
        ({"filters": 8, "padding": "valid"}, "padding='valid'"),
        ({"filters": 8, "normalization": "group"}, "normalization='group'"),
        ({"filters": 8, "pool_size": 0}, "pool_size=0"),
    ],
)
def test_bad_arguments(kwargs, received):
    with pytest.raises(ValueError, match="Received") as info:
        TemporalConvBlock(**kwargs)
    assert received in str(info.value)


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"input_shape=\(2, 10\)"):
        TemporalConvBlock(8)(np.zeros((2, 10), "float32"))


def test_state_needs_causal_padding():
    layer = TemporalConvBlock(8, padding="same")
    with pytest.raises(ValueError, match="padding='same'"):
        layer(X, state=np.zeros((2, 2, 8), "float32"))


def test_tflite_with_padding_mask():
    inputs = keras.Input((None, 8), name="x")
    mask = keras.Input((None,), dtype="int32", name="mask")
    layer = TemporalConvBlock(8, padding="same", dilation_rate=2, pool_size=2)
    model = keras.Model([inputs, mask], layer(inputs, padding_mask=mask))
    report = tflite.convert(model)
    assert not tflite.non_builtin_ops(report.ops)
    rng = np.random.default_rng(7)
    samples = []
    for length, real in ((8, 5), (21, 21)):
        m = np.zeros((1, length), "int32")
        m[0, :real] = 1
        x = rng.normal(size=(1, length, 8)).astype("float32")
        samples.append([x, m])
    result = tflite.check_parity(model, report.content, samples)
    assert result["ok"], result


def test_mask_of_wrong_rank():
    with pytest.raises(ValueError, match=r"Received: mask shape \(2, 10, 8\)"):
        TemporalConvBlock(8)(X, padding_mask=np.ones((2, 10, 8)))
