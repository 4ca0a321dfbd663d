"""Samples for the OCR app: generated lines and labelled folders, batched.

A thin layer over `keras_seq.data`. A sample is a dict: `image` float32
`(height, width)` (ink 1, background 0), `text` str, `meta` dict of
metadata columns (may be empty) and `path` (None for generated lines).
Training batches come from `keras_seq.data.line_dataset` and
`synthetic_line_dataset`: `({"image": (batch_size, height, width, 1),
"image_mask": (batch_size, width)}, labels (batch_size, max_label_length))`.
At inference every line is padded on the right to a multiple of
`INFERENCE_MULTIPLE` (the padding counts as the line's own background, as
in training), so a line gives the same frames batched or alone, in Keras
or in LiteRT.
"""

import collections
import logging

import numpy as np

from keras_seq.data import (
    Charset,
    LineRenderer,
    TextSampler,
    line_dataset,
    load_line_image,
    pad_line_image,
    read_lines_tsv,
    synthetic_line_dataset,
)

logger = logging.getLogger(__name__)

# Widths are padded to this multiple at inference: a multiple of the
# front end's width stride (4 or 8 here).
INFERENCE_MULTIPLE = 8
# Widest line (in pixels, after scaling to the model height) trained or
# read in one piece; wider ones are skipped and counted.
MAX_WIDTH = 4096
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


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


def default_renderer(height=32, augment=True, seed=0, **options):
    """The app's `LineRenderer`: the bundled DejaVu fonts unless `options`
    name others (`fonts`, `font_dir`, `system_fonts`, `exclude_fonts`);
    `augmentation` as in `LineRenderer`."""
    return LineRenderer(height=height, augment=augment, seed=seed, **options)


def load_image(path, height=32, max_width=MAX_WIDTH):
    """Reads an image file as a line: float32 `(height, width)`, ink 1.

    Raises:
        keras_seq.data.LineImageError (a ValueError): the file is missing,
            empty, corrupt, of zero size or too wide.
    """
    return load_line_image(path, height, max_width)


def read_folder(folder, height=32, charset=None, max_width=MAX_WIDTH):
    """Reads a labelled folder: `lines.tsv` and the images it names.

    See `keras_seq.data.read_lines_tsv` for the format (a header row names
    the metadata columns). Unusable samples are skipped and counted by
    reason.

    Args:
        folder: the folder holding `lines.tsv`.
        height: the model's image height.
        charset: optional `Charset`; transcripts must fit it.
        max_width: widest image kept, in pixels after scaling.

    Returns:
        `(samples, skipped)`: a list of samples and a `collections.Counter`
        of skipped samples by reason.

    Raises:
        ValueError: `lines.tsv` is missing or not UTF-8.
    """
    dataset = read_lines_tsv(
        folder, charset=charset, check_images=False, height=height
    )
    images, records = dataset.load_images(height, max_width)
    samples = [
        {
            "image": image,
            "text": record.text,
            "meta": dict(record.metadata),
            "path": record.path,
        }
        for image, record in zip(images, records)
    ]
    return samples, collections.Counter(dataset.skipped)


def batch_images(images, multiple=INFERENCE_MULTIPLE):
    """Stacks line images of any widths into one padded model batch.

    Each line is first padded to a multiple of `multiple` (columns that
    count as its own), then the batch to its widest line (masked).

    Returns:
        `({"image": (batch_size, height, width, 1), "image_mask":
        (batch_size, width)}, widths)`: numpy arrays, and each line's
        padded width.
    """
    padded = [pad_line_image(image, multiple) for image in images]
    widths = [p.shape[1] for p in padded]
    height, width = padded[0].shape[0], max(widths)
    batch = np.zeros((len(images), height, width, 1), "float32")
    mask = np.zeros((len(images), width), "int32")
    for i, image in enumerate(padded):
        batch[i, :, : image.shape[1], 0] = image
        mask[i, : image.shape[1]] = 1
    return {"image": batch, "image_mask": mask}, widths


def make_dataset(
    samples,
    charset,
    batch_size=32,
    frame_stride=8,
    shuffle=False,
    seed=0,
    skipped=None,
):
    """Batches in-memory samples for `model.fit` (one pass an epoch).

    Args:
        samples: list of samples.
        charset: the `Charset` that encodes the transcripts.
        batch_size: int, lines per batch.
        frame_stride: the model's width stride (widths are padded to it
            and lines with too few frames for their text are skipped).
        shuffle: shuffle every epoch.
        seed: the shuffle seed.
        skipped: optional `collections.Counter` of skipped samples.

    Returns:
        A `tf.data.Dataset` of `({"image", "image_mask"}, labels)`.
    """
    if not samples:
        raise ValueError(
            "No samples to batch. Received: an empty list of samples"
        )
    return line_dataset(
        [s["image"] for s in samples],
        [s["text"] for s in samples],
        charset,
        batch_size,
        shuffle=shuffle,
        seed=seed,
        frame_stride=frame_stride,
        max_width=MAX_WIDTH,
        skipped=skipped,
    )


def make_synthetic_dataset(
    sampler,
    renderer,
    charset,
    batch_size=32,
    frame_stride=8,
    seed=0,
    skipped=None,
):
    """An endless stream of freshly rendered, batched lines."""
    return synthetic_line_dataset(
        renderer,
        sampler,
        charset,
        batch_size,
        seed=seed,
        frame_stride=frame_stride,
        max_width=MAX_WIDTH,
        skipped=skipped,
    )


def charset_for(samples, extra=""):
    """The `Charset` of every character in the samples' transcripts."""
    return Charset.from_texts((s["text"] for s in samples), extra=extra)
