"""Every public keras_seq layer converts to builtin-only TFLite and matches
Keras at two sequence lengths.

The table below must name every public layer: adding a layer to
`keras_seq.layers` (or a layer to `keras_seq.ctc`) without a case here
fails `test_every_public_layer_has_a_case`.
"""

import inspect

import keras
import numpy as np
import pytest

from keras_seq import ctc, layers, tflite


def _model(layer, feature_shape, dtype="float32"):
    inputs = keras.Input(feature_shape, dtype=dtype, name="x")
    outputs = layer(inputs)
    return keras.Model(inputs, outputs)


def _sequence(features):
    return (None, features), lambda n, rng: rng.normal(
        size=(1, n, features)
    ).astype("float32")


CASES = {
    "SinusoidalPositionEncoding": lambda: (
        layers.SinusoidalPositionEncoding(max_sequence_length=64),
        *_sequence(8),
        (1,),
    ),
    "PositionEmbedding": lambda: (
        layers.PositionEmbedding(max_sequence_length=64),
        *_sequence(8),
        (1,),
    ),
    "RotaryEmbedding": lambda: (layers.RotaryEmbedding(), *_sequence(8), (1,)),
    "AlibiBias": lambda: (
        layers.AlibiBias(num_heads=4),
        (4, None, None),
        lambda n, rng: rng.normal(size=(1, 4, n, n)).astype("float32"),
        (2, 3),
    ),
    "MultiHeadAttention": lambda: (
        layers.MultiHeadAttention(
            num_heads=2, hidden_dim=8, position_encoding="rotary"
        ),
        *_sequence(8),
        (1,),
    ),
    "TransformerEncoderBlock": lambda: (
        layers.TransformerEncoderBlock(
            num_heads=2, intermediate_dim=16, position_encoding="alibi"
        ),
        *_sequence(8),
        (1,),
    ),
    "TransformerDecoderBlock": lambda: (
        layers.TransformerDecoderBlock(num_heads=2, intermediate_dim=16),
        *_sequence(8),
        (1,),
    ),
    "RecurrentBlock": lambda: (
        layers.RecurrentBlock(8, cell_type="lstm", bidirectional=True),
        *_sequence(6),
        (1,),
    ),
    "TemporalConvBlock": lambda: (
        layers.TemporalConvBlock(8, kernel_size=3, dilation_rate=2),
        *_sequence(6),
        (1,),
    ),
    "ConvFrontEnd": lambda: (
        layers.ConvFrontEnd(
            filters=(4, 8), pool_after=(0, 1), pool_sizes=((2, 2), (2, 2))
        ),
        (16, None, 1),
        lambda n, rng: rng.random((1, 16, 4 * n, 1)).astype("float32"),
        (2,),
    ),
    "MaskedGlobalPooling": lambda: (
        layers.MaskedGlobalPooling("max"),
        *_sequence(6),
        (1,),
    ),
    "AttentionPooling": lambda: (
        layers.AttentionPooling(),
        *_sequence(6),
        (1,),
    ),
    "CTCBeamSearchDecoder": lambda: (
        ctc.CTCBeamSearchDecoder(beam_width=3),
        *_sequence(5),
        (1,),
    ),
    "CTCGreedyDecoder": lambda: (
        ctc.CTCGreedyDecoder(),
        *_sequence(5),
        (1,),
    ),
}


def _public_layer_classes():
    names = set()
    for module in (layers, ctc):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer):
                names.add(name)
    return names


def test_every_public_layer_has_a_case():
    assert set(CASES) == _public_layer_classes()


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_converts_builtin_only_with_parity(name):
    layer, feature_shape, sample, axes = CASES[name]()
    model = _model(layer, feature_shape)
    report = tflite.convert(model, sequence_axes=axes)
    assert tflite.non_builtin_ops(report.ops) == [], report.ops
    rng = np.random.default_rng(0)
    inputs = [sample(5, rng), sample(17, rng)]
    parity = tflite.check_parity(model, report.content, inputs)
    assert parity["ok"], parity
