"""Transformer encoder and decoder blocks, and step-by-step decoding with a
cache in Keras and in a converted TFLite step model."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from keras_seq import tflite
from keras_seq.layers import (
    MultiHeadAttention,
    SinusoidalPositionEncoding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)
from keras_seq.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 6, 16)).astype("float32")
ENCODED = RNG.normal(size=(2, 6, 12)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], "int32")


# Encoder block.


@pytest.mark.parametrize(
    "position_encoding, normalize_first",
    [(None, False), ("rotary", True), ("alibi", False)],
)
def test_encoder_block_runs_every_shared_check(
    position_encoding, normalize_first
):
    report = run_layer_test(
        TransformerEncoderBlock,
        {
            "num_heads": 4,
            "intermediate_dim": 32,
            "position_encoding": position_encoding,
            "normalize_first": normalize_first,
        },
        X,
        (2, 6, 16),
        padding_mask=MASK,
    )
    assert not tflite.non_builtin_ops(report.ops)


def test_encoder_block_pre_and_post_norm_differ():
    post = TransformerEncoderBlock(num_heads=4, intermediate_dim=32)
    pre = TransformerEncoderBlock(
        num_heads=4, intermediate_dim=32, normalize_first=True
    )
    post(X)
    pre(X)
    pre.set_weights(post.get_weights())
    assert not np.allclose(post(X), pre(X), atol=1e-3)
    # Post-norm ends with a layer norm: each step has mean 0 and unit
    # variance (gamma 1, beta 0 at initialization).
    out = np.asarray(post(X))
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(-1), 1.0, atol=1e-3)


def test_encoder_block_causal_ignores_later_steps():
    block = TransformerEncoderBlock(
        num_heads=4, intermediate_dim=32, causal=True
    )
    changed = X.copy()
    changed[:, 3:] = RNG.normal(size=changed[:, 3:].shape)
    np.testing.assert_allclose(
        np.asarray(block(X))[:, :3],
        np.asarray(block(changed))[:, :3],
        atol=1e-5,
    )


def test_encoder_block_bad_arguments_raise():
    with pytest.raises(ValueError, match="position_encoding='relative'"):
        TransformerEncoderBlock(4, 32, position_encoding="relative")
    with pytest.raises(ValueError, match="num_heads=5, hidden_dim=16"):
        TransformerEncoderBlock(5, 32)(X)
    with pytest.raises(ValueError, match=r"inputs of shape \(2, 16\)"):
        TransformerEncoderBlock(4, 32)(X[:, 0])
    with pytest.raises(ValueError, match="intermediate_dim=0"):
        TransformerEncoderBlock(4, 0)


# Decoder block.


@pytest.mark.parametrize(
    "position_encoding",
    # Rotary in the decoder also runs in the streaming test below.
    [None, pytest.param("rotary", marks=pytest.mark.slow)],
)
def test_decoder_block_without_cross_attention_runs_every_shared_check(
    position_encoding,
):
    run_layer_test(
        TransformerDecoderBlock,
        {
            "num_heads": 4,
            "intermediate_dim": 32,
            "position_encoding": position_encoding,
        },
        X,
        (2, 6, 16),
        padding_mask=MASK,
    )


def test_decoder_block_with_cross_attention_runs_every_shared_check():
    run_layer_test(
        TransformerDecoderBlock,
        {
            "num_heads": 4,
            "intermediate_dim": 32,
            "normalize_first": True,
            "position_encoding": "alibi",
        },
        [X, ENCODED],
        (2, 6, 16),
    )


def test_decoder_block_encoder_padding_hides_encoder_steps():
    block = TransformerDecoderBlock(num_heads=4, intermediate_dim=32)
    base = np.asarray(block(X, ENCODED, encoder_padding_mask=MASK))
    noisy = ENCODED.copy()
    noisy[1, 4:] = 100.0
    changed = np.asarray(block(X, noisy, encoder_padding_mask=MASK))
    np.testing.assert_allclose(base, changed, atol=1e-5)
    assert not np.allclose(base, np.asarray(block(X, noisy)), atol=1e-3)


def test_decoder_block_uses_keras_masks_of_a_list_input():
    decoder = keras.Input((None, 16))
    encoder = keras.Input((None, 12))
    block = TransformerDecoderBlock(num_heads=4, intermediate_dim=32)
    outputs = block(
        [keras.layers.Masking()(decoder), keras.layers.Masking()(encoder)]
    )
    model = keras.Model([decoder, encoder], outputs)
    encoded = ENCODED.copy()
    encoded[1, 4:] = 0.0
    np.testing.assert_allclose(
        model([X, encoded]),
        block(X, encoded, encoder_padding_mask=MASK),
        atol=1e-6,
    )


def test_decoder_block_is_causal():
    block = TransformerDecoderBlock(num_heads=4, intermediate_dim=32)
    changed = X.copy()
    changed[:, 3:] = RNG.normal(size=changed[:, 3:].shape)
    np.testing.assert_allclose(
        np.asarray(block(X, ENCODED))[:, :3],
        np.asarray(block(changed, ENCODED))[:, :3],
        atol=1e-5,
    )


def test_decoder_block_cross_attention_mismatch_raises():
    block = TransformerDecoderBlock(num_heads=4, intermediate_dim=32)
    block(X)
    with pytest.raises(ValueError, match="encoder_sequence=a tensor"):
        block(X, ENCODED)


# Step-by-step decoding with a cache, in Keras and in TFLite.

CACHE_LENGTH = 10


def _step_model(layer, head_dim, with_encoder):
    """Inputs: one step, the cache, the index (and the encoder outputs);
    outputs: {"output": the step's output, "cache": the new cache}."""
    step = keras.Input(batch_shape=(1, 1, 16), name="step")
    cache = keras.Input(
        batch_shape=(1, 2, CACHE_LENGTH, 4, head_dim), name="cache"
    )
    index = keras.Input(batch_shape=(1,), dtype="int32", name="index")
    inputs = {"step": step, "cache": cache, "index": index}
    if isinstance(layer, MultiHeadAttention):
        out, new_cache = layer(step, cache=cache, cache_update_index=index)
    else:
        encoder = None
        if with_encoder:
            encoder = keras.Input(batch_shape=(1, 6, 12), name="encoder")
            inputs["encoder"] = encoder
        out, new_cache = layer(
            step,
            encoder,
            self_attention_cache=cache,
            cache_update_index=index,
        )
    return keras.Model(inputs, {"output": out, "cache": new_cache})


def _check_streaming(layer, whole, encoder=None):
    """Feeds X[:1] step by step through Keras and through TFLite."""
    head_dim = 16 // 4
    model = _step_model(layer, head_dim, encoder is not None)
    signature = [
        tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs
    ]
    report = tflite.convert(model, input_signature=signature)
    assert not tflite.non_builtin_ops(report.ops)
    assert "DYNAMIC_UPDATE_SLICE" in report.ops
    # The state goes in and out as tensors: no resource variables.
    assert not {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} & set(
        report.ops
    )
    # The TFLite signature names its inputs after the Keras inputs.
    keras_cache = np.zeros((1, 2, CACHE_LENGTH, 4, head_dim), "float32")
    lite_cache = keras_cache.copy()
    keras_steps, lite_steps = [], []
    for i in range(X.shape[1]):
        feed = {"step": X[:1, i : i + 1], "index": np.array([i], "int32")}
        if encoder is not None:
            feed["encoder"] = encoder[:1]
        outputs = model({**feed, "cache": keras_cache})
        keras_cache = np.asarray(outputs["cache"])
        keras_steps.append(np.asarray(outputs["output"]))

        lite = tflite.run_tflite(report.content, {**feed, "cache": lite_cache})
        lite_cache = lite["cache"]
        lite_steps.append(lite["output"])

    expected = np.asarray(whole)[:1]
    np.testing.assert_allclose(
        np.concatenate(keras_steps, 1), expected, atol=1e-5
    )
    np.testing.assert_allclose(
        np.concatenate(lite_steps, 1), expected, atol=1e-4
    )
    return report


@pytest.mark.parametrize("position_encoding", ["rotary", "alibi"])
def test_causal_attention_streams_like_the_whole_sequence(position_encoding):
    layer = MultiHeadAttention(
        num_heads=4, causal=True, position_encoding=position_encoding
    )
    _check_streaming(layer, layer(X))


def test_decoder_block_streams_like_the_whole_sequence():
    block = TransformerDecoderBlock(
        num_heads=4,
        intermediate_dim=32,
        normalize_first=True,
        position_encoding="rotary",
    )
    report = _check_streaming(block, block(X, ENCODED), encoder=ENCODED)
    assert "SOFTMAX" in report.ops


def test_one_interpreter_resizes_to_several_lengths():
    # A phone app keeps one interpreter and resizes its input; keras-hub's
    # SinePositionEncoding fails exactly there ("XNNPack delegate failed to
    # reshape runtime").
    inputs = keras.Input((None, 16))
    encoded = inputs + SinusoidalPositionEncoding(max_sequence_length=64)(
        inputs
    )
    block = TransformerEncoderBlock(4, 32, position_encoding="alibi")
    model = keras.Model(inputs, block(encoded))
    interpreter = Interpreter(model_content=tflite.convert(model).content)
    source = interpreter.get_input_details()[0]["index"]
    target = interpreter.get_output_details()[0]["index"]
    for length in (37, 60, 5):
        x = RNG.normal(size=(1, length, 16)).astype("float32")
        interpreter.resize_tensor_input(source, x.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(source, x)
        interpreter.invoke()
        np.testing.assert_allclose(
            interpreter.get_tensor(target), model(x), atol=1e-4
        )
