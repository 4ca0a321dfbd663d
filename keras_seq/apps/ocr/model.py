"""The OCR model: a text-line image in, per-frame character logits out.

`build_ocr_model` returns the training model (image and column mask in,
logits that carry the frame mask out: `CTCLoss` reads the frame counts
from that mask). `build_export_model` wraps it for deployment: the image
alone in, greedy-decoded labels out, with decoding inside the graph so the
.tflite file needs no code around it but the charset.
"""

import keras
from keras import ops

from keras_seq.apps.ocr.defaults import (
    CHARSET_FILE,
    CONFIG_FILE,
    ENCODERS,
    HIDDEN_DIMS,
    MODEL_FILE,
)
from keras_seq.ctc import CTCGreedyDecoder
from keras_seq.layers import (
    ConvFrontEnd,
    RecurrentBlock,
    TemporalConvBlock,
    TransformerEncoderBlock,
)


@keras.saving.register_keras_serializable(package="keras_seq")
class FullWidthMask(keras.layers.Layer):
    """The column mask of an unpadded image batch: all ones.

    Call arguments:
        images: `(batch_size, height, width, channels)`.

    Returns:
        `(batch_size, width)` int32 ones.

    Example:

    >>> import numpy as np
    >>> tuple(FullWidthMask()(np.zeros((2, 32, 5, 1), "float32")).shape)
    (2, 5)
    """

    def call(self, images):
        # (batch_size, height, width, channels) -> (batch_size, width)
        return ops.ones_like(images[:, 0, :, 0], dtype="int32")

    def compute_output_spec(self, images):
        return keras.KerasTensor(
            (images.shape[0], images.shape[2]), dtype="int32"
        )


def _encoder_layers(encoder, hidden_dim, num_layers, num_heads, dropout, dtype):
    """The sequence encoder between the front end and the projection."""
    if encoder == "bilstm":
        return [
            RecurrentBlock(
                hidden_dim,
                cell_type="lstm",
                bidirectional=True,
                num_layers=num_layers,
                dropout=dropout,
                dtype=dtype,
                name="encoder",
            )
        ]
    layers = [keras.layers.Dense(hidden_dim, dtype=dtype, name="encoder_in")]
    if encoder == "tcn":
        for i in range(num_layers):
            layers.append(
                TemporalConvBlock(
                    hidden_dim,
                    kernel_size=3,
                    dilation_rate=2**i,
                    padding="same",
                    dropout=dropout,
                    dtype=dtype,
                    name=f"encoder_{i}",
                )
            )
        return layers
    position_encoding = encoder.split("-", 1)[1]
    for i in range(num_layers):
        layers.append(
            TransformerEncoderBlock(
                num_heads=num_heads,
                intermediate_dim=2 * hidden_dim,
                position_encoding=position_encoding,
                dropout=dropout,
                dtype=dtype,
                name=f"encoder_{i}",
            )
        )
    return layers


def build_ocr_model(
    num_classes,
    height=32,
    encoder="bilstm",
    hidden_dim=None,
    num_layers=2,
    num_heads=4,
    dropout=0.1,
    front_end=None,
    dtype=None,
    name="ocr",
):
    """Builds the OCR training model: CRNN by default.

    `ConvFrontEnd` turns the image columns into frames; an encoder reads
    the frame sequence; a projection gives one logit per class and frame.
    The frame mask (from `image_mask`) rides on the logits as a Keras mask,
    so `keras_seq.ctc.CTCLoss` knows each line's frame count.

    Args:
        num_classes: int, characters plus the CTC blank (id 0), i.e.
            `Charset.num_classes`.
        height: int, the image height every line is scaled to.
        encoder: one of `"bilstm"` (the classic CRNN: a bidirectional LSTM
            `RecurrentBlock`), `"tcn"` (dilated `TemporalConvBlock`s),
            `"transformer-alibi"` or `"transformer-rotary"`
            (`TransformerEncoderBlock`s with that position encoding).
        hidden_dim: int, LSTM units per direction, or the width of the
            convolutional or transformer encoder. None: a default per
            encoder (`defaults.HIDDEN_DIMS`).
        num_layers: int, encoder depth.
        num_heads: int, attention heads of the transformer encoders.
        dropout: float, encoder dropout rate.
        front_end: optional dict of `ConvFrontEnd` arguments.
        dtype: optional dtype policy for every layer but the projection,
            which always gives float32 logits. None: the global policy.
        name: the model's name.

    Returns:
        A Functional `keras.Model` with inputs `{"image": (batch_size,
        height, width, 1) float32 (ink 1, background 0), "image_mask":
        (batch_size, width) int32}` and output logits `(batch_size, frames,
        num_classes)` float32 carrying the frame mask.

    Example:

    >>> model = build_ocr_model(num_classes=10, hidden_dim=16)
    >>> model.output.shape
    (None, None, 10)
    """
    if encoder not in ENCODERS:
        raise ValueError(
            f"`encoder` must be one of {ENCODERS}. Received: "
            f"encoder={encoder!r}"
        )
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            "`num_classes` must be an int >= 2 (the blank and at least one "
            f"character). Received: num_classes={num_classes!r}"
        )
    if height % 8:
        raise ValueError(
            f"`height` must be a multiple of 8. Received: height={height}"
        )
    if hidden_dim is None:
        hidden_dim = HIDDEN_DIMS[encoder]
    image = keras.Input((height, None, 1), name="image")
    image_mask = keras.Input((None,), dtype="int32", name="image_mask")
    x = ConvFrontEnd(**(front_end or {}), dtype=dtype, name="front_end")(
        image, padding_mask=image_mask
    )
    for layer in _encoder_layers(
        encoder, hidden_dim, num_layers, num_heads, dropout, dtype
    ):
        x = layer(x)
    logits = keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
    return keras.Model(
        {"image": image, "image_mask": image_mask}, logits, name=name
    )


def build_export_model(model, blank_index=0, include_logits=False):
    """Wraps a training model for deployment: image in, text ids out.

    The image is taken unpadded (one line, or lines of one width), so the
    column mask is all ones. `CTCGreedyDecoder` runs in the graph, so the
    converted .tflite file uses builtin ops only and returns the labels.

    Args:
        model: the model from `build_ocr_model` (or a dict of its
            arguments, to build a fresh one).
        blank_index: the CTC blank id.
        include_logits: also output the logits (for alignment plots).

    Returns:
        A Functional `keras.Model` with input `image` `(batch_size, height,
        width, 1)` and outputs `labels` `(batch_size, frames)` int32 padded
        with -1, `lengths` `(batch_size,)` int32, `confidences`
        `(batch_size, frames)` float32 (the probability of each emitted
        label, 0 past `lengths`), and `logits` when asked.
    """
    if isinstance(model, dict):
        model = build_ocr_model(**model)
    height = model.inputs[0].shape[1]
    for tensor in model.inputs:
        if tensor.name.startswith("image") and len(tensor.shape) == 4:
            height = tensor.shape[1]
    image = keras.Input((height, None, 1), name="image")
    mask = FullWidthMask(name="full_width_mask")(image)
    logits = model({"image": image, "image_mask": mask})
    labels, lengths, confidences = CTCGreedyDecoder(
        blank_index=blank_index, name="greedy_decoder"
    )(logits)
    outputs = {
        "labels": keras.layers.Identity(name="labels")(labels),
        "lengths": keras.layers.Identity(name="lengths")(lengths),
        "confidences": keras.layers.Identity(name="confidences")(confidences),
    }
    if include_logits:
        outputs["logits"] = keras.layers.Identity(name="logits")(logits)
    return keras.Model(image, outputs, name=f"{model.name}_export")


def frame_stride(front_end=None):
    """How many image columns make one frame, for `ConvFrontEnd` arguments.

    Example:

    >>> frame_stride({"pool_sizes": ((2, 2), (2, 2), (2, 1))})
    4
    """
    layer = ConvFrontEnd(**(front_end or {}))
    stride = 1
    for _, width in layer.pool_sizes:
        stride *= width
    return stride


def frame_lengths(model, widths):
    """Frames the front end of `model` makes for each image width."""
    front_end = model.get_layer("front_end")
    return [int(front_end.compute_output_length(int(w))) for w in widths]


def load_run(path):
    """Loads a trained model and its charset.

    Args:
        path: a run folder (holding `model.keras` and `charset.json`) or a
            .keras file with `charset.json` beside it.

    Returns:
        `(model, charset)`.
    """
    import json
    import os

    from keras_seq.data.charset import Charset

    if os.path.isdir(path):
        model_path = os.path.join(path, MODEL_FILE)
        folder = path
    else:
        model_path, folder = path, os.path.dirname(os.path.abspath(path))
    if not os.path.isfile(model_path):
        raise FileNotFoundError(
            f"No trained model at {model_path}. Received: {path!r}"
        )
    charset_path = os.path.join(folder, CHARSET_FILE)
    if not os.path.isfile(charset_path):
        raise FileNotFoundError(
            f"No charset at {charset_path}. Received: {path!r}"
        )
    model = keras.saving.load_model(model_path, compile=False)
    config_path = os.path.join(folder, CONFIG_FILE)
    mixed = model.get_layer("front_end").compute_dtype != "float32"
    if mixed and os.path.isfile(config_path):
        # Trained with mixed precision: inference and export run float32,
        # which every CPU and the TFLite converter handle best.
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)["model"]
        float_model = build_ocr_model(**config, dtype="float32")
        float_model.set_weights(model.get_weights())
        model = float_model
    return model, Charset.load(charset_path)
