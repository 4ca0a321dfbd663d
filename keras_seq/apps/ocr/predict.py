"""Reading text lines: a Keras run folder or a .tflite file, same answers.

Both paths run the deployment graph of `build_export_model` (image in,
greedy-decoded labels out), so the Keras model and its .tflite file give
the same text and confidence for the same image.
"""

import logging
import os

import numpy as np

from keras_seq.apps.ocr.data import (
    IMAGE_EXTENSIONS,
    INFERENCE_MULTIPLE,
    batch_images,
    load_image,
)
from keras_seq.apps.ocr.defaults import CHARSET_FILE

logger = logging.getLogger(__name__)


def line_confidence(confidences, length):
    """One number per line: the least sure of its emitted characters.

    Args:
        confidences: `(frames,)` per-label probabilities from the decoder.
        length: the number of labels.

    Returns:
        float in [0, 1]; 0.0 for an empty reading.
    """
    length = int(length)
    if length <= 0:
        return 0.0
    return float(np.min(np.asarray(confidences)[:length]))


def tflite_charset_path(tflite_path):
    """Where `export` writes the charset of a .tflite file."""
    stem, _ = os.path.splitext(tflite_path)
    return stem + ".charset.json"


def find_charset(model_path):
    """The charset file that belongs to a run folder, .keras or .tflite."""
    if os.path.isdir(model_path):
        candidates = [os.path.join(model_path, CHARSET_FILE)]
    else:
        folder = os.path.dirname(os.path.abspath(model_path))
        candidates = [
            tflite_charset_path(model_path),
            os.path.join(folder, CHARSET_FILE),
        ]
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"No charset found for the model; looked at {candidates}. Pass "
        f"--charset. Received: {model_path!r}"
    )


def expand_paths(paths):
    """Image files named directly or found (sorted) inside folders."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in sorted(os.walk(path)):
                for name in sorted(names):
                    if name.lower().endswith(IMAGE_EXTENSIONS):
                        files.append(os.path.join(root, name))
        else:
            files.append(path)
    return files


class Recognizer:
    """Reads line images with a Keras export model or a .tflite file.

    Args:
        model: a run folder, a .keras file, a .tflite file, or a Keras
            model from `build_ocr_model`.
        charset: a `Charset`, a charset.json path, or None to find it
            beside the model.
        num_threads: LiteRT interpreter threads.
    """

    def __init__(self, model, charset=None, num_threads=None):
        from keras_seq.apps.ocr.model import build_export_model, load_run
        from keras_seq.data.charset import Charset

        self.tflite = isinstance(model, str) and model.endswith(".tflite")
        if isinstance(charset, str):
            charset = Charset.load(charset)
        if self.tflite:
            from ai_edge_litert.interpreter import Interpreter

            if not os.path.isfile(model):
                raise FileNotFoundError(f"No such file. Received: {model!r}")
            if charset is None:
                charset = Charset.load(find_charset(model))
            kwargs = {"num_threads": num_threads} if num_threads else {}
            self._interpreter = Interpreter(model_path=model, **kwargs)
            self._runner = self._interpreter.get_signature_runner()
            details = self._interpreter.get_input_details()
            self.height = int(details[0]["shape_signature"][1])
        else:
            import tensorflow as tf

            if isinstance(model, str):
                model, run_charset = load_run(model)
                charset = charset or run_charset
            if charset is None:
                raise ValueError(
                    "A Keras model object needs `charset`. Received: None"
                )
            self.keras_model = model
            self.export_model = build_export_model(
                model, blank_index=charset.blank_index
            )
            self.height = int(model.inputs[0].shape[1])
            export_model = self.export_model
            self._function = tf.function(
                lambda image: export_model(image, training=False),
                input_signature=[
                    tf.TensorSpec((None, self.height, None, 1), tf.float32)
                ],
            )
        self.charset = charset

    def run(self, image):
        """Decoder outputs for one `(height, width)` line image.

        The line is padded to a multiple of `INFERENCE_MULTIPLE` first.

        Returns:
            dict of numpy arrays: `labels`, `lengths`, `confidences`, each
            with a batch axis of 1.
        """
        from keras_seq.data import pad_line_image

        padded = pad_line_image(image, INFERENCE_MULTIPLE)
        batch = padded[None, :, :, None]
        if self.tflite:
            outputs = self._runner(image=batch)
        else:
            outputs = self._function(batch)
        return {k: np.asarray(v) for k, v in outputs.items()}

    def read(self, image):
        """Text and confidence of one `(height, width)` line image."""
        outputs = self.run(image)
        length = int(outputs["lengths"][0])
        text = self.charset.decode(outputs["labels"][0][:length])
        return text, line_confidence(outputs["confidences"][0], length)


def recognize_batch(model, images, charset, batch_size=32):
    """Greedy texts of many line images with the training model, batched.

    Lines are sorted by width and padded per batch; the frame mask keeps
    the padding from changing any reading.

    Args:
        model: the training model (`build_ocr_model`).
        images: list of `(height, width)` float32 arrays.
        charset: the `Charset`.
        batch_size: lines per batch.

    Returns:
        list of str, in the order of `images`.
    """
    from keras_seq.apps.ocr.model import frame_lengths
    from keras_seq.ctc import greedy_decode

    order = np.argsort([image.shape[1] for image in images], kind="stable")
    texts = [None] * len(images)
    vocabulary = charset.vocabulary
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch, widths = batch_images([images[i] for i in chunk])
        logits = model.predict_on_batch(batch)
        lengths = frame_lengths(model, widths)
        results = greedy_decode(
            np.asarray(logits),
            lengths,
            blank_index=charset.blank_index,
            vocabulary=vocabulary,
        )
        for i, result in zip(chunk, results):
            texts[i] = result.text
    return texts


def predict(model, paths, charset=None):
    """Reads every image named in `paths` (files or folders).

    Args:
        model: a run folder, .keras or .tflite path.
        paths: list of image files or folders.
        charset: optional charset.json path.

    Yields:
        dicts with `path`, and `text` and `confidence`, or `error` when the
        image could not be read.
    """
    recognizer = Recognizer(model, charset=charset)
    for path in expand_paths(paths):
        try:
            image = load_image(path, recognizer.height)
        except (ValueError, FileNotFoundError) as error:
            yield {"path": path, "error": str(error)}
            continue
        text, confidence = recognizer.read(image)
        yield {"path": path, "text": text, "confidence": confidence}
