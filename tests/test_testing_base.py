"""The shared test base passes a sound layer and fails broken ones."""

import keras
import numpy as np
import pytest

from keras_seq.testing import check_masking, run_layer_test


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class MaskedScale(keras.layers.Layer):
    """Dense per step, then zero at padded steps; honours `padding_mask`."""

    def __init__(self, units, ignore_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.ignore_mask = ignore_mask
        self.dense = keras.layers.Dense(units, dtype=self.dtype_policy)

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs, padding_mask=None):
        x = self.dense(inputs)
        if padding_mask is not None and not self.ignore_mask:
            m = keras.ops.cast(padding_mask, x.dtype)[..., None]
            # A cumulative sum over real steps only: leaks if unmasked.
            return keras.ops.cumsum(x * m, axis=1)
        return keras.ops.cumsum(x, axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "ignore_mask": self.ignore_mask,
        }


@keras.saving.register_keras_serializable(package="keras_seq_tests")
class ForgetsConfig(MaskedScale):
    def get_config(self):
        config = super().get_config()
        config.pop("units")
        config["units"] = 1
        return config


X = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], "int32")


def test_sound_layer_passes_every_check():
    report = run_layer_test(
        MaskedScale,
        {"units": 4},
        X,
        (2, 6, 4),
        padding_mask=MASK,
    )
    assert "CUMSUM" in report.ops


def test_layer_ignoring_its_mask_fails():
    # Content after the real end leaks into nothing (cumsum runs forward),
    # but the Dense output at padded steps is not zeroed: real outputs
    # still match. Reverse the order to make the leak reach real steps.
    layer = MaskedScale(4, ignore_mask=True)
    x = X[:, ::-1].copy()
    mask = MASK[:, ::-1].copy()
    # Left padding here, so real positions are at the end; compare whole.
    with pytest.raises(AssertionError):
        check_masking(layer, x, mask, sequence_output=False)


def test_config_that_drops_an_argument_fails():
    with pytest.raises(AssertionError):
        run_layer_test(
            ForgetsConfig,
            {"units": 4},
            X,
            (2, 6, 4),
            run_training=False,
            run_mixed_precision=False,
            run_jit=False,
            run_saving=False,
            run_tflite=False,
        )
