"""Samples for the OCR app: generated lines and labelled folders, batched.

A sample is a dict: `image` float32 `(height, width)` (ink 1, background
0), `text` str, `meta` dict of metadata columns (may be empty) and `path`
(None for generated lines). `make_dataset` turns samples (a list, or a
generator function for endless generated lines) into batches the model
takes: `({"image": (batch_size, height, width, 1), "image_mask":
(batch_size, width)}, labels (batch_size, max_label_length))`, widths
padded with background to a multiple of `WIDTH_MULTIPLE`, labels padded
with -1, lines of similar width batched together.
"""

import collections
import logging
import os

import numpy as np

from keras_seq.data.charset import Charset
from keras_seq.data.line_renderer import LineRenderer
from keras_seq.data.text_sampler import TextSampler

logger = logging.getLogger(__name__)

WIDTH_MULTIPLE = 8
# Widest line (in pixels, after scaling to the model height) trained or
# read in one piece; wider ones are skipped and counted.
MAX_WIDTH = 4096
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class SkipCounter(collections.Counter):
    """Counts skipped samples by reason; `total` is their sum."""

    @property
    def total_skipped(self):
        return int(sum(self.values()))


def synthetic_sampler(languages=None, seed=0, **kwargs):
    """A `TextSampler` over `languages` (None: its default languages)."""
    if languages:
        kwargs["languages"] = tuple(languages)
    return TextSampler(seed=seed, **kwargs)


def render_samples(count, sampler, renderer, seed):
    """Renders `count` generated lines with a fixed seed.

    Returns:
        A list of samples; `meta` holds the font.
    """
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        text = sampler.sample(rng)
        image, info = renderer.render(text, rng)
        samples.append(
            {
                "image": image,
                "text": text,
                "meta": {"font": info.get("font", "")},
                "path": None,
            }
        )
    return samples


def synthetic_stream(sampler, renderer, seed):
    """A generator function yielding endless generated samples."""

    def generate():
        rng = np.random.default_rng(seed)
        while True:
            text = sampler.sample(rng)
            image, _ = renderer.render(text, rng)
            yield {"image": image, "text": text, "meta": {}, "path": None}

    return generate


def default_renderer(height=32, augment=True, seed=0, augmentation=None):
    """The `LineRenderer` with the bundled DejaVu fonts."""
    return LineRenderer(
        height=height, augment=augment, seed=seed, augmentation=augmentation
    )


def load_image(path, height=32):
    """Reads an image file as a line: float32 `(height, width)`, ink 1.

    Dark-on-light images (the usual scan) are inverted so ink is 1. The
    image is scaled to `height` keeping its aspect ratio.

    Raises:
        ValueError: the file is empty, not an image, or has no width.
        FileNotFoundError: the file does not exist.
    """
    from PIL import Image, UnidentifiedImageError

    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such image file. Received: {path!r}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"The image file is empty. Received: {path!r}")
    try:
        with Image.open(path) as image:
            image = image.convert("L")
            width, old_height = image.size
            if width == 0 or old_height == 0:
                raise ValueError(
                    f"The image has no pixels. Received: {path!r} of size "
                    f"{image.size}"
                )
            new_width = max(1, round(width * height / old_height))
            image = image.resize((new_width, height), Image.BILINEAR)
            pixels = np.asarray(image, dtype="float32") / 255.0
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(
            f"Not a readable image: {path!r}. Received: {error}"
        ) from error
    # Ink is the minority: make it 1 whatever the polarity of the scan.
    if np.median(pixels) > 0.5:
        pixels = 1.0 - pixels
    return pixels


def read_folder(folder, height=32, charset=None, max_width=MAX_WIDTH):
    """Reads a labelled folder: `lines.tsv` and the images it names.

    `lines.tsv` is UTF-8, one sample a line:
    `relative/path.png<TAB>transcription[<TAB>meta...]`. A first line whose
    first two fields are `path` and `text` is a header naming the metadata
    columns; without one they are named `column_3`, `column_4`, ...

    Samples that cannot be used are skipped and counted by reason: a
    missing, empty, corrupt or zero-width image, a line wider than
    `max_width` after scaling, a malformed line, an empty transcript, and
    (when `charset` is given) a transcript with characters outside it.

    Args:
        folder: the folder holding `lines.tsv`.
        height: the model's image height.
        charset: optional `Charset`; transcripts must fit it.
        max_width: widest image kept, in pixels after scaling.

    Returns:
        `(samples, skipped)`: a list of samples and a `SkipCounter`.

    Raises:
        FileNotFoundError: no `lines.tsv` in `folder`.
        ValueError: `lines.tsv` is not valid UTF-8.
    """
    tsv = os.path.join(folder, "lines.tsv")
    if not os.path.isfile(tsv):
        raise FileNotFoundError(
            f"A data folder needs a lines.tsv file. Received: {folder!r}"
        )
    with open(tsv, "rb") as f:
        raw = f.read()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(
            f"{tsv} is not UTF-8 (line {line}, byte {error.start}). "
            f"Received: {raw[error.start : error.start + 8]!r}"
        ) from error

    lines = content.splitlines()
    columns = []
    if lines and lines[0].split("\t")[:2] == ["path", "text"]:
        columns = lines[0].split("\t")[2:]
        lines = lines[1:]
    samples, skipped = [], SkipCounter()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            skipped["malformed line"] += 1
            logger.warning("%s line %d: no TAB; skipped.", tsv, number)
            continue
        relative, text = fields[0], fields[1]
        if not text.strip():
            skipped["empty transcript"] += 1
            continue
        if charset is not None and charset.unknown_characters(text):
            skipped["characters outside the charset"] += 1
            logger.warning(
                "%s line %d: characters outside the charset %s; skipped.",
                tsv,
                number,
                charset.unknown_characters(text),
            )
            continue
        path = os.path.join(folder, relative)
        try:
            image = load_image(path, height)
        except FileNotFoundError:
            skipped["missing image"] += 1
            logger.warning("%s line %d: missing %s", tsv, number, path)
            continue
        except ValueError as error:
            skipped["unreadable image"] += 1
            logger.warning("%s line %d: %s", tsv, number, error)
            continue
        if image.shape[1] > max_width:
            skipped["too wide"] += 1
            logger.warning(
                "%s line %d: %d pixels wide, more than %d; skipped.",
                tsv,
                number,
                image.shape[1],
                max_width,
            )
            continue
        names = columns + [
            f"column_{i + 3}" for i in range(len(columns), len(fields) - 2)
        ]
        meta = dict(zip(names, fields[2:]))
        samples.append(
            {"image": image, "text": text, "meta": meta, "path": path}
        )
    return samples, skipped


def pad_width(image, multiple=WIDTH_MULTIPLE):
    """Pads `(height, width)` with background to a multiple of `multiple`.

    Returns:
        `(padded (height, padded_width), column_mask (padded_width,))`.
    """
    width = image.shape[1]
    padded_width = max(multiple, -(-width // multiple) * multiple)
    padded = np.zeros((image.shape[0], padded_width), "float32")
    padded[:, :width] = image
    mask = np.zeros((padded_width,), "int32")
    mask[:width] = 1
    return padded, mask


def batch_images(images, multiple=WIDTH_MULTIPLE):
    """Stacks line images of any widths into one padded model batch.

    Returns:
        `{"image": (batch_size, height, width, 1), "image_mask":
        (batch_size, width)}` numpy arrays.
    """
    padded = [pad_width(image, multiple) for image in images]
    width = max(p.shape[1] for p, _ in padded)
    height = images[0].shape[0]
    batch = np.zeros((len(images), height, width, 1), "float32")
    mask = np.zeros((len(images), width), "int32")
    for i, (image, column_mask) in enumerate(padded):
        batch[i, :, : image.shape[1], 0] = image
        mask[i, : column_mask.shape[0]] = column_mask
    return {"image": batch, "image_mask": mask}


def _encoded(samples, charset, skipped, min_frames_per_char):
    """Yields `(image, mask, ids)`, skipping what cannot be trained on."""
    for sample in samples:
        image = sample["image"]
        if image.ndim != 2 or image.shape[1] < 1:
            skipped["unreadable image"] += 1
            continue
        if not np.all(np.isfinite(image)):
            skipped["unreadable image"] += 1
            continue
        ids = charset.encode(sample["text"], errors="skip")
        if len(ids) != len(sample["text"]):
            skipped["characters outside the charset"] += 1
            continue
        if image.shape[1] < min_frames_per_char * len(ids):
            skipped["too narrow for its text"] += 1
            continue
        padded, mask = pad_width(image)
        yield padded[..., None], mask, np.asarray(ids, "int32")


def make_dataset(
    samples,
    charset,
    batch_size=32,
    shuffle=False,
    seed=0,
    skipped=None,
    min_pixels_per_char=0,
    bucket_boundaries=(128, 192, 256, 320, 400, 512, 768),
):
    """Batches samples for `model.fit`, bucketed by width.

    Args:
        samples: a list of samples, or a generator function that yields
            them (e.g. `synthetic_stream(...)`, endless).
        charset: the `Charset` that encodes the transcripts.
        batch_size: int, lines per batch.
        shuffle: shuffle a list of samples (every epoch).
        seed: the shuffle seed.
        skipped: optional `SkipCounter` that counts the samples left out.
        min_pixels_per_char: lines narrower than this times their length
            are skipped (CTC needs frames for every character).
        bucket_boundaries: width boundaries of the buckets.

    Returns:
        A `tf.data.Dataset` of `({"image", "image_mask"}, labels)`.
    """
    import tensorflow as tf

    if skipped is None:
        skipped = SkipCounter()
    if callable(samples):
        source, repeat = samples, False
    else:
        samples = list(samples)
        if not samples:
            raise ValueError(
                "No samples to batch. Received: an empty list of samples"
            )
        order = np.random.default_rng(seed)

        def source():
            indices = np.arange(len(samples))
            if shuffle:
                order.shuffle(indices)
            for i in indices:
                yield samples[i]

        repeat = False
    height = None

    def generate():
        for image, mask, ids in _encoded(
            source(), charset, skipped, min_pixels_per_char
        ):
            yield {"image": image, "image_mask": mask}, ids

    first = next(_encoded(source(), charset, SkipCounter(), 0), None)
    if first is None:
        raise ValueError(
            "None of the samples can be used (see the log for why)."
        )
    height = first[0].shape[0]
    signature = (
        {
            "image": tf.TensorSpec((height, None, 1), tf.float32),
            "image_mask": tf.TensorSpec((None,), tf.int32),
        },
        tf.TensorSpec((None,), tf.int32),
    )
    dataset = tf.data.Dataset.from_generator(
        generate, output_signature=signature
    )
    boundaries = list(bucket_boundaries)
    dataset = dataset.bucket_by_sequence_length(
        lambda inputs, labels: tf.shape(inputs["image_mask"])[0],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=({"image": 0.0, "image_mask": 0}, -1),
        pad_to_bucket_boundary=False,
    )
    del repeat
    return dataset.prefetch(2)


def charset_for(samples, extra=""):
    """The `Charset` of every character in the samples' transcripts."""
    return Charset.from_texts((s["text"] for s in samples), extra=extra)
