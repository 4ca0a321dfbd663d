"""The OCR model: every encoder trains; the export reads like Keras."""

import keras
import numpy as np
import pytest

from keras_seq.apps.ocr.model import (
    FullWidthMask,
    build_export_model,
    build_ocr_model,
    frame_lengths,
)
from keras_seq.ctc import CTCLoss
from keras_seq.ctc.decoding import greedy_decode
from keras_seq.tflite import convert, non_builtin_ops, run_tflite

NUM_CLASSES = 7
SMALL_FRONT_END = {
    "filters": (8, 8, 8),
    "pool_after": (0, 1, 2),
    "pool_sizes": ((2, 2), (2, 2), (2, 1)),
}


def _batch(widths, seed=0):
    """Random images, right-padded to the widest, with column masks."""
    rng = np.random.default_rng(seed)
    width = max(widths)
    images = np.zeros((len(widths), 32, width, 1), "float32")
    mask = np.zeros((len(widths), width), "int32")
    for i, w in enumerate(widths):
        images[i, :, :w, 0] = rng.random((32, w))
        mask[i, :w] = 1
    return {"image": images, "image_mask": mask}


def _small_model(encoder="bilstm", seed=0):
    keras.utils.set_random_seed(seed)
    return build_ocr_model(
        NUM_CLASSES,
        encoder=encoder,
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        front_end=SMALL_FRONT_END,
    )


@pytest.mark.parametrize(
    "encoder", ["bilstm", "tcn", "transformer-alibi", "transformer-rotary"]
)
def test_each_encoder_builds_and_trains_one_step(encoder):
    model = _small_model(encoder)
    model.compile(optimizer="adam", loss=CTCLoss(), jit_compile=False)
    inputs = _batch([64, 48])
    labels = np.array([[1, 2, 3], [4, 5, -1]], "int32")
    before = [np.copy(w) for w in model.trainable_weights]
    loss = model.train_on_batch(inputs, labels)
    assert np.isfinite(loss) and loss > 0
    changed = [
        not np.allclose(b, np.asarray(a))
        for b, a in zip(before, model.trainable_weights)
    ]
    assert all(changed)
    # Logits: one frame per 4 columns, float32, classes last.
    logits = model.predict_on_batch(inputs)
    assert logits.shape == (2, 16, NUM_CLASSES)
    assert logits.dtype == np.float32


def test_padding_never_changes_a_reading():
    model = _small_model()
    alone = model.predict_on_batch(_batch([40]))[0]
    padded = model.predict_on_batch(_batch([40, 96]))[0]
    frames = frame_lengths(model, [40])[0]
    assert frames == 10
    np.testing.assert_allclose(padded[:frames], alone[:frames], atol=1e-5)


def test_export_is_builtin_only_and_reads_like_keras_at_two_widths():
    model = _small_model(seed=3)
    # Sharpen the random projection so the greedy path emits characters.
    logits_layer = model.get_layer("logits")
    kernel, bias = logits_layer.get_weights()
    logits_layer.set_weights([kernel * 20.0, bias])
    deploy = build_export_model(model)
    report = convert(deploy, quantization=None, sequence_axes=(2,))
    assert non_builtin_ops(report.ops) == []
    assert "WHILE" in report.ops  # the LSTM runs as a builtin while loop

    emitted = 0
    for width in (56, 136):
        inputs = _batch([width], seed=width)
        expected = greedy_decode(
            model.predict_on_batch(inputs),
            frame_lengths(model, [width]),
        )[0].ids
        got = run_tflite(report.content, {"image": inputs["image"]})
        length = int(got["lengths"][0])
        assert got["labels"][0][:length].tolist() == expected
        assert np.all(got["labels"][0][length:] == -1)
        emitted += length
    assert emitted > 0


def test_full_width_mask_is_all_ones():
    mask = FullWidthMask()(np.zeros((2, 32, 5, 1), "float32"))
    np.testing.assert_array_equal(np.asarray(mask), np.ones((2, 5)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 5, "encoder": "gru"}, "encoder='gru'"),
        ({"num_classes": 1}, "num_classes=1"),
        ({"num_classes": 5, "height": 30}, "height=30"),
    ],
)
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match="Received") as info:
        build_ocr_model(**kwargs)
    assert message in str(info.value)


def test_a_mixed_precision_run_loads_as_float32(tmp_path):
    import json

    from keras_seq.apps.ocr.model import load_run
    from keras_seq.data.charset import Charset

    config = {
        "num_classes": NUM_CLASSES,
        "hidden_dim": 16,
        "num_layers": 1,
        "front_end": SMALL_FRONT_END,
    }
    keras.config.set_dtype_policy("mixed_float16")
    model = build_ocr_model(**config)
    keras.config.set_dtype_policy("float32")
    assert model.get_layer("encoder").compute_dtype == "float16"
    model.save(tmp_path / "model.keras")
    Charset("abcdef").save(tmp_path / "charset.json")
    with open(tmp_path / "config.json", "w") as f:
        json.dump({"model": config}, f)

    loaded, charset = load_run(str(tmp_path))
    assert charset.num_classes == NUM_CLASSES
    assert loaded.get_layer("encoder").compute_dtype == "float32"
    inputs = _batch([48])
    np.testing.assert_allclose(
        loaded.predict_on_batch(inputs),
        model.predict_on_batch(inputs),
        atol=0.05,
    )
