"""ConvFrontEnd: shapes, frame counts, column masks, TFLite at two widths."""

import keras
import numpy as np
import pytest

from keras_seq import tflite
from keras_seq.layers import ConvFrontEnd, RecurrentBlock
from keras_seq.testing import run_layer_test

SMALL = {
    "filters": (4, 4, 8),
    "pool_after": (0, 2),
    "pool_sizes": ((2, 2), (2, 2)),
}


def _images(batch_size, height, width, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(batch_size, height, width, 1)).astype("float32")


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class MaskAsOutput(keras.layers.Layer):
    """Returns the implicit Keras mask it receives, as float."""

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.zeros(keras.ops.shape(inputs)[:2])
        return keras.ops.cast(mask, "float32")

    def compute_mask(self, inputs, mask=None):
        return None


def test_shared_layer_checks():
    # The shared helper's TFLite check varies axis 1, which is the image
    # height here; the width (axis 2) is checked by test_tflite_two_widths.
    # Its masking check also masks axis 1; test_column_padding_invariance
    # checks the width mask.
    run_layer_test(
        ConvFrontEnd,
        {**SMALL, "dropout": 0.1},
        _images(2, 8, 12),
        (2, 3, 16),
        run_tflite=False,
    )


def test_shared_layer_checks_without_normalization():
    run_layer_test(
        ConvFrontEnd,
        {**SMALL, "normalization": None, "activation": "gelu"},
        _images(2, 8, 12),
        (2, 3, 16),
        run_tflite=False,
    )


def test_default_stack_shape_and_frame_rule():
    layer = ConvFrontEnd()
    # Default: three 2x2 pools, so frames = width // 8 and features =
    # (32 // 8) * 96.
    for width in (8, 15, 16, 100, 103):
        out = layer(_images(1, 32, width))
        assert tuple(out.shape) == (1, width // 8, 384)
        assert layer.compute_output_length(width) == width // 8
    widths = keras.ops.convert_to_tensor([8, 15, 100], "int32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer.compute_output_length(widths)),
        [1, 1, 12],
    )
    assert layer.compute_output_shape((None, 32, None, 1)) == (None, None, 384)


def test_uneven_pools():
    layer = ConvFrontEnd(
        filters=(4, 8), pool_after=(0, 1), pool_sizes=((2, 3), (4, 1))
    )
    out = layer(_images(1, 16, 20))
    # Height 16 // 2 // 4 = 2, width 20 // 3 // 1 = 6.
    assert tuple(out.shape) == (1, 6, 2 * 8)
    assert layer.compute_output_length(20) == 6


@pytest.mark.parametrize("training", [False, True])
def test_column_padding_invariance(training):
    layer = ConvFrontEnd(**SMALL)
    lengths = [21, 13]
    x = _images(2, 8, 24)
    mask = np.zeros((2, 24), "int32")
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        x[b, :, n:] = 0.0
    base = keras.ops.convert_to_numpy(
        layer(x, padding_mask=mask, training=training)
    )

    # Other padded content, and 9 more padded columns.
    noisy = x.copy()
    for b, n in enumerate(lengths):
        noisy[b, :, n:] = 7.0
    longer = np.concatenate([noisy, np.full((2, 8, 9, 1), 3.0, "f")], 2)
    longer_mask = np.pad(mask, ((0, 0), (0, 9)))
    for images, m in ((noisy, mask), (longer, longer_mask)):
        out = keras.ops.convert_to_numpy(
            layer(images, padding_mask=m, training=training)
        )
        for b, n in enumerate(lengths):
            frames = layer.compute_output_length(n)
            np.testing.assert_allclose(
                out[b, :frames], base[b, :frames], atol=1e-5
            )
            # Padded frames are zero.
            assert not np.any(out[b, frames:])

    if not training:
        # Each real part equals that image alone, unpadded.
        for b, n in enumerate(lengths):
            alone = keras.ops.convert_to_numpy(layer(x[b : b + 1, :, :n]))
            frames = layer.compute_output_length(n)
            assert alone.shape[1] == frames
            np.testing.assert_allclose(alone[0], base[b, :frames], atol=1e-5)


def test_frame_mask_flows_to_next_layer():
    images = keras.Input((8, None, 1), name="images")
    columns = keras.Input((None,), dtype="int32", name="columns")
    features = ConvFrontEnd(**SMALL)(images, padding_mask=columns)
    model = keras.Model([images, columns], MaskAsOutput()(features))
    mask = np.zeros((2, 24), "int32")
    mask[0, :21] = 1
    mask[1, :13] = 1
    # Frames are real iff all their columns are: 21 // 4 = 5, 13 // 4 = 3.
    expected = np.array([[1] * 5 + [0], [1] * 3 + [0] * 3], "float32")
    np.testing.assert_array_equal(
        np.asarray(model([_images(2, 8, 24), mask])), expected
    )
    # Eager call: compute_mask gives the same frames.
    layer = ConvFrontEnd(**SMALL)
    out = layer(_images(2, 8, 24), padding_mask=mask)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer.compute_mask(out, mask)), expected
    )


def test_tflite_two_widths():
    images = keras.Input((32, None, 1), name="images")
    columns = keras.Input((None,), dtype="int32", name="columns")
    layer = ConvFrontEnd()
    model = keras.Model([images, columns], layer(images, padding_mask=columns))
    # Batch norm statistics away from the identity (variances positive).
    rng = np.random.default_rng(9)
    for norm in layer.norms:
        for weight in norm.weights:
            value = rng.uniform(0.5, 1.5, size=weight.shape)
            weight.assign(value.astype("float32"))
    # Images vary along axis 2 (width); the column mask along axis 1.
    report = tflite.convert(model, sequence_axes=(2,))
    assert not tflite.non_builtin_ops(report.ops)
    assert report.signature["inputs"]
    samples = []
    for width, real in ((40, 40), (77, 60)):
        mask = np.zeros((1, width), "int32")
        mask[0, :real] = 1
        samples.append([_images(1, 32, width, seed=width), mask])
    result = tflite.check_parity(model, report.content, samples)
    assert result["ok"], result


@pytest.mark.parametrize(
    "kwargs, received",
    [
        ({"filters": (8, 0)}, "filters=(8, 0)"),
        ({"kernel_size": 0}, "kernel_size=0"),
        ({"normalization": "layer"}, "normalization='layer'"),
        ({"pool_after": (9,), "pool_sizes": ((2, 2),)}, "pool_after=(9,)"),
        ({"pool_after": (0,)}, "pool_after=(0,)"),
    ],
)
def test_bad_arguments(kwargs, received):
    with pytest.raises(ValueError, match="Received") as info:
        ConvFrontEnd(**kwargs)
    assert received in str(info.value)


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(2, 8, 12\)"):
        ConvFrontEnd(**SMALL)(np.zeros((2, 8, 12), "float32"))


def test_ocr_shaped_model_sees_frame_mask():
    # ConvFrontEnd -> bidirectional RecurrentBlock with no mask argument:
    # the recurrent block gets the frame mask implicitly. Its backward
    # direction would read padded frames otherwise.
    images = keras.Input((16, None, 1), name="images")
    columns = keras.Input((None,), dtype="int32", name="columns")
    features = ConvFrontEnd(**SMALL)(images, padding_mask=columns)
    recurrent = RecurrentBlock(4, bidirectional=True)
    model = keras.Model([images, columns], recurrent(features))
    # Random biases too: with zero biases an LSTM run over all-zero
    # (padded) frames stays at a zero state and would hide a lost mask.
    rng = np.random.default_rng(8)
    for weight in recurrent.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)

    x = _images(2, 16, 24)
    mask = np.zeros((2, 24), "int32")
    mask[0, :21] = 1
    mask[1, :13] = 1
    base = np.asarray(model([x, mask]))
    longer = np.concatenate([x, np.ones((2, 16, 8, 1), "float32")], 2)
    longer_mask = np.pad(mask, ((0, 0), (0, 8)))
    out = np.asarray(model([longer, longer_mask]))
    for b, n in enumerate((21, 13)):
        frames = n // 4
        np.testing.assert_allclose(out[b, :frames], base[b, :frames], atol=1e-5)

    report = tflite.convert(model, sequence_axes=(2,))
    assert not tflite.non_builtin_ops(report.ops)
    samples = [[longer[:1], longer_mask[:1]], [x[1:, :, :13], mask[1:, :13]]]
    result = tflite.check_parity(model, report.content, samples)
    assert result["ok"], result


def test_mask_of_wrong_rank():
    images = _images(2, 8, 12)
    with pytest.raises(ValueError, match=r"Received: mask shape \(2, 8, 12\)"):
        ConvFrontEnd(**SMALL)(images, padding_mask=np.ones((2, 8, 12)))
