"""Tests for `RecurrentBlock`: both graphs, masks, streaming, TFLite."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq import tflite
from keras_seq.layers import RecurrentBlock, export_mode
from keras_seq.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 7, 5)).astype("float32")
# Right padding: sample 1 has 4 real steps.
MASK = np.array([[1] * 7, [1] * 4 + [0] * 3], "int32")


def _model(block, features=5, with_mask=True):
    x = keras.Input((None, features), name="x")
    inputs = [x]
    kwargs = {}
    if with_mask:
        mask = keras.Input((None,), dtype="int32", name="padding_mask")
        inputs.append(mask)
        kwargs["padding_mask"] = mask
    return keras.Model(inputs, block(x, **kwargs))


@pytest.mark.parametrize(
    "kwargs, width",
    [
        ({"cell_type": "lstm"}, 6),
        ({"cell_type": "lstm", "bidirectional": True, "num_layers": 2}, 12),
        ({"cell_type": "gru", "bidirectional": True, "merge_mode": "sum"}, 6),
    ],
    ids=["lstm", "bilstm_2_layers", "bigru_sum"],
)
def test_layer_test(kwargs, width):
    report = run_layer_test(
        RecurrentBlock,
        {"units": 6, **kwargs},
        X,
        (2, 7, width),
        padding_mask=MASK,
    )
    assert "WHILE" in report.ops


@pytest.mark.slow
@pytest.mark.parametrize(
    "kwargs, width",
    [
        ({"cell_type": "gru"}, 6),
        ({"cell_type": "rnn", "num_layers": 2, "residual": True}, 6),
        ({"cell_type": "rnn", "bidirectional": True, "merge_mode": "mul"}, 6),
        (
            {
                "bidirectional": True,
                "merge_mode": "ave",
                "num_layers": 2,
                "residual": True,
                "layer_norm": True,
                "dropout": 0.2,
            },
            6,
        ),
        ({"cell_type": "gru", "bidirectional": True, "num_layers": 3}, 12),
    ],
    ids=[
        "gru",
        "rnn_residual",
        "birnn_mul",
        "bilstm_ave_residual_norm",
        "bigru_3_layers",
    ],
)
def test_layer_test_more_configs(kwargs, width):
    run_layer_test(
        RecurrentBlock,
        {"units": 6, **kwargs},
        X,
        (2, 7, width),
        padding_mask=MASK,
    )


@pytest.mark.slow
def test_layer_test_summary_output():
    # return_sequences=False: one vector per sequence; padding must not
    # change it, so the masking check compares whole outputs.
    run_layer_test(
        RecurrentBlock,
        {
            "units": 6,
            "cell_type": "gru",
            "bidirectional": True,
            "return_sequences": False,
        },
        X,
        (2, 12),
        padding_mask=MASK,
        sequence_output=False,
        run_mixed_precision=False,  # same sublayers as test_layer_test
        run_training=False,
    )


@pytest.mark.parametrize("cell_type", ["lstm", "gru", "rnn"])
def test_export_graph_equals_keras_graph(cell_type):
    # The builtin-op loop reuses the Keras cells' weights; with right
    # padding, both directions and two layers, the two graphs must agree
    # at every position (padded ones are zero in both).
    block = RecurrentBlock(
        5, cell_type=cell_type, bidirectional=True, num_layers=2
    )
    expected = block(X, padding_mask=MASK)
    with export_mode():
        got = block(X, padding_mask=MASK)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.all(np.asarray(expected)[1, 4:] == 0)


def test_backward_direction_starts_at_real_end():
    # Sample 1 padded to 7 steps gives the outputs of its 4 real steps run
    # alone, in Keras and in the converted model.
    block = RecurrentBlock(4, bidirectional=True)
    model = _model(block)
    padded = model([X, MASK])
    alone = model([X[1:, :4], np.ones((1, 4), "int32")])
    np.testing.assert_allclose(padded[1, :4], alone[0], atol=1e-5)

    report = tflite.convert(model)
    lite_padded = tflite.run_tflite(
        report.content, {"x": X, "padding_mask": MASK}
    )
    (lite_padded,) = lite_padded.values()
    np.testing.assert_allclose(lite_padded, padded, atol=1e-5)
    np.testing.assert_allclose(lite_padded[1, :4], alone[0], atol=1e-5)


def test_tflite_long_sequence_with_padding():
    # Builtin ops only, one converted model at lengths 3, 37 and 200 (the
    # blocked loop runs 16 steps a block: 37 and 200 end mid-block).
    block = RecurrentBlock(8, bidirectional=True)
    model = _model(block)
    report = tflite.convert(model)
    assert not tflite.non_builtin_ops(report.ops)
    assert report.signature["inputs"]["serving_default_x:0"][1] == -1
    for length in (3, 37, 200):
        x = RNG.normal(size=(2, length, 5)).astype("float32")
        mask = np.ones((2, length), "int32")
        mask[1, length // 2 + 1 :] = 0
        (got,) = tflite.run_tflite(
            report.content, {"x": x, "padding_mask": mask}
        ).values()
        np.testing.assert_allclose(got, model([x, mask]), atol=1e-4)


def test_implicit_mask_flows_through():
    # A Keras mask from `Masking` works like `padding_mask`, and the block
    # passes it on to the next layer.
    x = keras.Input((None, 5), name="x")
    masked = keras.layers.Masking(0.0)(x)
    block = RecurrentBlock(4, bidirectional=True, num_layers=2)
    y = block(masked)
    assert y._keras_mask is not None
    model = keras.Model(x, y)

    data = X.copy()
    data[1, 4:] = 0.0
    explicit = block(data, padding_mask=MASK)
    np.testing.assert_allclose(model(data), explicit, atol=1e-6)

    report = tflite.convert(model)
    (got,) = tflite.run_tflite(report.content, data).values()
    np.testing.assert_allclose(got, explicit, atol=1e-5)


@pytest.mark.parametrize(
    "cell_type", ["lstm", pytest.param("gru", marks=pytest.mark.slow)]
)
def test_streaming_chunks_equal_whole_sequence(cell_type):
    block = RecurrentBlock(6, cell_type=cell_type, num_layers=2)
    x = RNG.normal(size=(2, 12, 5)).astype("float32")
    whole = np.asarray(block(x))

    # Keras, in chunks of 5, 4 and 3 steps.
    state = block.get_initial_state(2)
    chunks = []
    for start, stop in ((0, 5), (5, 9), (9, 12)):
        y, state = block(
            x[:, start:stop], initial_state=state, return_state=True
        )
        chunks.append(np.asarray(y))
    np.testing.assert_allclose(np.concatenate(chunks, 1), whole, atol=1e-5)

    # The converted chunk model: states are plain inputs and outputs.
    num_states = len(state)
    inputs = keras.Input((None, 5), name="x")
    state_inputs = [
        keras.Input((6,), name=f"state_in_{i}") for i in range(num_states)
    ]
    y, states = block(inputs, initial_state=state_inputs, return_state=True)
    outputs = {"y": y}
    outputs.update({f"state_out_{i}": s for i, s in enumerate(states)})
    model = keras.Model([inputs] + state_inputs, outputs)
    signature = [tf.TensorSpec((None, None, 5), tf.float32, name="x")] + [
        tf.TensorSpec((None, 6), tf.float32, name=f"state_in_{i}")
        for i in range(num_states)
    ]
    report = tflite.convert(model, input_signature=signature)
    assert not any("Variable" in op for op in report.ops)
    state = [np.zeros((2, 6), "float32") for _ in range(num_states)]
    chunks = []
    for start, stop in ((0, 5), (5, 9), (9, 12)):
        feed = {"x": x[:, start:stop]}
        feed.update({f"state_in_{i}": s for i, s in enumerate(state)})
        out = tflite.run_tflite(report.content, feed)
        chunks.append(out["y"])
        state = [out[f"state_out_{i}"] for i in range(num_states)]
    np.testing.assert_allclose(np.concatenate(chunks, 1), whole, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"units": 0}, "units=0"),
        ({"units": -3}, "units=-3"),
        ({"units": 4, "cell_type": "lstmm"}, "cell_type='lstmm'"),
        ({"units": 4, "merge_mode": "max"}, "merge_mode='max'"),
        ({"units": 4, "num_layers": 0}, "num_layers=0"),
        ({"units": 4, "dropout": 1.5}, "dropout=1.5"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RecurrentBlock(**kwargs)


def test_bad_inputs():
    block = RecurrentBlock(4)
    with pytest.raises(ValueError, match=r"rank 3.*\(2, 7\)"):
        block(X[:, :, 0])
    block(X)
    with pytest.raises(ValueError, match=r"built for 5 .*\(2, 7, 3\)"):
        block(X[:, :, :3])
    bidirectional = RecurrentBlock(4, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional=True"):
        bidirectional(X, return_state=True)
    with pytest.raises(ValueError, match="Received: 1 tensors"):
        block(X, initial_state=[np.zeros((2, 4), "float32")])


def test_docstring_examples_run():
    import doctest

    from keras_seq.layers import recurrent_block

    result = doctest.testmod(recurrent_block)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("exporting", [False, True])
def test_feature_size_unknown_after_build(exporting):
    # A traced graph may lose the static feature size (a reshape computed
    # from the dynamic shape does): the block uses the size it was built
    # for, and keeps the residual where that size equals its width.
    block = RecurrentBlock(5, num_layers=2, residual=True)
    expected = block(X, padding_mask=MASK)

    @tf.function(
        input_signature=[
            tf.TensorSpec((None, None, None), tf.float32),
            tf.TensorSpec((None, None), tf.int32),
        ]
    )
    def run(x, mask):
        if exporting:
            with export_mode():
                return block(x, padding_mask=mask)
        return block(x, padding_mask=mask)

    np.testing.assert_allclose(run(X, MASK), expected, atol=1e-5)


@pytest.mark.slow
def test_ocr_shaped_model_converts_with_implicit_mask():
    # The OCR layout: ConvFrontEnd's frame mask flows into a 2-layer
    # BiLSTM; one builtin-only model at two image widths, padded columns.
    from keras_seq.layers import ConvFrontEnd

    images = keras.Input((32, None, 1), name="images")
    columns = keras.Input((None,), dtype="int32", name="columns")
    frames = ConvFrontEnd()(images, mask=columns)
    y = RecurrentBlock(16, bidirectional=True, num_layers=2)(frames)
    model = keras.Model([images, columns], keras.layers.Dense(7)(y))
    report = tflite.convert(model, sequence_axes=(2, 1))
    for width in (64, 200):
        x = RNG.normal(size=(2, 32, width, 1)).astype("float32")
        mask = np.ones((2, width), "int32")
        mask[1, width // 2 :] = 0
        (got,) = tflite.run_tflite(
            report.content, {"images": x, "columns": mask}
        ).values()
        np.testing.assert_allclose(got, model([x, mask]), atol=1e-4)
