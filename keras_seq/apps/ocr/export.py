"""`keras-seq ocr export`: the model as builtin-only TFLite, decoding inside.

The .tflite file takes one image `(1, height, width, 1)` (float32, ink 1,
any width) and returns `labels`, `lengths` and `confidences` from the
in-graph greedy CTC decoder. Its charset is written beside it as
`<name>.charset.json`.
"""

import os

import numpy as np

from keras_seq.apps.ocr import data as ocr_data
from keras_seq.apps.ocr.model import build_export_model, load_run
from keras_seq.apps.ocr.predict import tflite_charset_path
from keras_seq.tflite import convert, representative_dataset

CALIBRATION_LINES = 64


def calibration_images(height, data=None, count=CALIBRATION_LINES, seed=7):
    """Line images for int8 calibration: from `data`, or generated.

    Generated lines mix clean and augmented renderings of sampled text.
    """
    if data:
        samples, _ = ocr_data.read_folder(data, height)
        rng = np.random.default_rng(seed)
        rng.shuffle(samples)
        images = [s["image"] for s in samples[:count]]
        if images:
            return images
    sampler = ocr_data.synthetic_sampler(seed=seed)
    clean = ocr_data.default_renderer(height, augment=False)
    noisy = ocr_data.default_renderer(height, augment=True, seed=seed)
    half = count // 2
    return [
        s["image"]
        for s in ocr_data.render_samples(half, sampler, clean, seed)
        + ocr_data.render_samples(count - half, sampler, noisy, seed + 1)
    ]


def export_model(
    model, charset, out, quantization=None, calibration=None, data=None
):
    """Converts a loaded training model; see `export`.

    Args:
        model: the training model.
        charset: its `Charset`.
        out: the .tflite path.
        quantization: None, "float16", "dynamic_range" or "int8".
        calibration: optional list of `(height, width)` images for int8.
        data: optional folder for int8 calibration lines.

    Returns:
        dict: `path`, `size_bytes`, `quantization`, `ops`, `charset`,
        `signature`.
    """
    deploy = build_export_model(model, blank_index=charset.blank_index)
    samples = None
    if quantization == "int8":
        height = int(model.inputs[0].shape[1])
        images = calibration or calibration_images(height, data)
        samples = representative_dataset(
            [np.asarray(i, "float32")[None, :, :, None] for i in images]
        )
    report = convert(
        deploy,
        out,
        quantization=quantization,
        representative_dataset=samples,
        sequence_axes=(2,),
    )
    charset_path = tflite_charset_path(out)
    charset.save(charset_path)
    return {
        "path": report.path,
        "size_bytes": report.size_bytes,
        "quantization": quantization,
        "ops": report.ops,
        "charset": charset_path,
        "signature": report.signature,
    }


def export(model, out, quantization=None, data=None):
    """Writes `out` (.tflite, builtin ops only) and its charset beside it.

    Args:
        model: a run folder or .keras file.
        out: the .tflite path to write.
        quantization: None (float32), "float16", "dynamic_range" or "int8"
            (calibrated on lines from `data`, or on generated lines).
        data: optional folder with lines.tsv for int8 calibration.

    Returns:
        dict, see `export_model`.

    Raises:
        keras_seq.tflite.NonBuiltinOpsError: the model would need Flex or
            custom ops.
    """
    if not str(out).endswith(".tflite"):
        raise ValueError(f"`out` must end with .tflite. Received: {out!r}")
    keras_model, charset = load_run(model)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    return export_model(keras_model, charset, out, quantization, data=data)
