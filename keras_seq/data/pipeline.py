"""tf.data pipelines for text-line OCR, batched by width.

TensorFlow only (tf.data). Every dataset yields `(inputs, labels)`:

- `inputs["image"]`: float32 `(batch_size, height, max_width, 1)`, ink 1.0
  on background 0.0, zero (background) padded on the right;
- `inputs["image_mask"]`: int32 `(batch_size, max_width)`, 1 for the
  sample's own columns, 0 for the batch padding;
- `labels`: int32 `(batch_size, max_label_length)`, character ids padded
  with -1.

Widths are padded to a multiple of `frame_stride` (8: the default conv
front end pools the width by 2 three times), first per sample and then
per batch. The per-sample padding counts as the sample's own columns
(`image_mask` 1): it is blank background like the line's own margin, and
keeping it makes a sample of width `w` give `ceil(w / frame_stride)` real
frames instead of losing a partial frame at its right edge. Pad images
the same way at inference (`pad_line_image`).

CTC needs at least `len(label) + repeats` frames (a blank must separate
equal neighbours), see `min_ctc_frames`: samples with fewer frames are
skipped and counted, as are samples with characters outside the charset,
bad images and images wider than `max_width`.
"""

import collections
import copy
import logging

import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)

DEFAULT_BUCKET_BOUNDARIES = (64, 96, 128, 192, 256, 320, 384, 512, 768, 1024)

# A synthetic stream gives up after this many consecutive skipped samples.
_MAX_CONSECUTIVE_SKIPS = 1000


def min_ctc_frames(ids):
    """The fewest frames CTC needs for a label: its length plus repeats.

    Args:
        ids: sequence of int label ids (no padding).

    Returns:
        int.

    Example:

    >>> min_ctc_frames([3, 3, 5])
    4
    """
    ids = list(ids)
    repeats = sum(1 for a, b in zip(ids, ids[1:]) if a == b)
    return len(ids) + repeats


def pad_line_image(image, multiple=8):
    """Pads a `(height, width)` line on the right to a multiple of `multiple`.

    Args:
        image: array of shape `(height, width)`, width >= 1.
        multiple: int.

    Returns:
        float32 array of shape `(height, padded_width)`; the new columns
        are background (0.0).
    """
    image = np.asarray(image, dtype="float32")
    width = image.shape[1]
    padded_width = -(-width // multiple) * multiple
    if padded_width == width:
        return image
    return np.pad(image, ((0, 0), (0, padded_width - width)))


def _check_batching_args(batch_size, frame_stride, bucket_boundaries):
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be a positive int. Received: {batch_size!r}"
        )
    if not isinstance(frame_stride, int) or frame_stride < 1:
        raise ValueError(
            "`frame_stride` must be a positive int. "
            f"Received: frame_stride={frame_stride!r}"
        )
    if bucket_boundaries is None:
        bucket_boundaries = DEFAULT_BUCKET_BOUNDARIES
    boundaries = [int(b) for b in bucket_boundaries]
    if not boundaries or any(
        b <= a for a, b in zip(boundaries, boundaries[1:])
    ):
        raise ValueError(
            "`bucket_boundaries` must be a non-empty increasing list. "
            f"Received: {bucket_boundaries!r}"
        )
    if any(b % frame_stride for b in boundaries):
        raise ValueError(
            f"`bucket_boundaries` must be multiples of {frame_stride}. "
            f"Received: {bucket_boundaries!r}"
        )
    return boundaries


def _prepare(image, text, charset, frame_stride, max_width, skipped):
    """`(padded image, ids)` for one sample, or None (counted in skipped)."""
    image = np.asarray(image)
    if image.ndim != 2 or image.shape[0] < 1 or image.shape[1] < 1:
        skipped["bad_image"] += 1
        return None
    if not np.all(np.isfinite(image)):
        skipped["bad_image"] += 1
        return None
    if max_width is not None and image.shape[1] > max_width:
        skipped["too_wide"] += 1
        return None
    if charset.unknown_characters(text):
        skipped["unknown_characters"] += 1
        return None
    ids = charset.encode(text)
    padded = pad_line_image(image, frame_stride)
    if padded.shape[1] // frame_stride < min_ctc_frames(ids):
        skipped["too_few_frames"] += 1
        return None
    return padded, np.asarray(ids, dtype="int32")


def _to_model_inputs(columns, ids):
    """Per sample: `(width, height)` columns -> the model's structure."""
    # (width, height) -> (height, width) -> (height, width, 1).
    image = tf.expand_dims(tf.transpose(columns), -1)
    mask = tf.ones(tf.shape(columns)[:1], dtype=tf.int32)
    return {"image": image, "image_mask": mask}, ids


def _bucket_batch(
    dataset,
    batch_size,
    boundaries,
    frame_stride,
    drop_remainder,
    pad_to_bucket_boundary,
):
    """Batches samples of similar width, padding images, masks and labels."""
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=lambda inputs, ids: tf.shape(inputs["image_mask"])[
            0
        ],
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=({"image": 0.0, "image_mask": 0}, -1),
        drop_remainder=drop_remainder,
    )
    if pad_to_bucket_boundary:
        # A batch's widest sample lies below its bucket's upper boundary:
        # pad to that boundary so each bucket has one width (fewer shapes
        # for XLA). Beyond the last boundary: a multiple of frame_stride.
        table = tf.constant(boundaries, dtype=tf.int32)

        def pad(inputs, ids):
            width = tf.shape(inputs["image_mask"])[1]
            index = tf.searchsorted(table, [width], side="right")[0]
            target = tf.cond(
                index < len(boundaries),
                lambda: tf.gather(
                    table, tf.minimum(index, len(boundaries) - 1)
                ),
                lambda: width,
            )
            extra = target - width
            image = tf.pad(
                inputs["image"], [[0, 0], [0, 0], [0, extra], [0, 0]]
            )
            mask = tf.pad(inputs["image_mask"], [[0, 0], [0, extra]])
            return {"image": image, "image_mask": mask}, ids

        dataset = dataset.map(pad, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _log_skipped(skipped, total, what):
    if skipped:
        logger.warning(
            "Skipped %d of %d %s: %s",
            sum(skipped.values()),
            total,
            what,
            dict(skipped),
        )


def line_dataset(
    images,
    texts,
    charset,
    batch_size,
    bucket_boundaries=None,
    shuffle=True,
    seed=0,
    frame_stride=8,
    max_width=None,
    drop_remainder=False,
    pad_to_bucket_boundary=False,
    skipped=None,
):
    """A batched, width-bucketed dataset of line images held in memory.

    Samples that cannot train are left out, counted in `skipped` by reason
    (`bad_image`, `too_wide`, `unknown_characters`, `too_few_frames`) and
    reported in one logged warning. One pass over the dataset is one
    epoch; with `shuffle` every epoch has a new order, from `seed`.

    Args:
        images: list of float32 `(height, width)` arrays, ink 1.0, one
            height for all.
        texts: list of str transcriptions, one per image.
        charset: the `Charset` that encodes the texts.
        batch_size: int, samples per batch.
        bucket_boundaries: increasing widths (multiples of
            `frame_stride`) that split samples into buckets; a batch holds
            samples of one bucket. Defaults to `DEFAULT_BUCKET_BOUNDARIES`.
        shuffle: bool, whether to shuffle the samples every epoch.
        seed: int, the shuffle seed.
        frame_stride: int, the model's width downsampling (8 for the
            default conv front end); widths are padded to its multiples.
        max_width: int or None, the widest image kept.
        drop_remainder: bool, whether to drop each bucket's last partial
            batch.
        pad_to_bucket_boundary: bool, whether to pad each batch to its
            bucket's upper boundary, so batches take few distinct widths.
        skipped: optional `collections.Counter` to add the skip counts to.

    Returns:
        A `tf.data.Dataset` of `(inputs, labels)` as described in the
        module docstring.

    Example:

    >>> from keras_seq.data import Charset
    >>> images = [np.ones((32, 40), "float32"), np.ones((32, 90), "float32")]
    >>> dataset = line_dataset(images, ["ab", "abc"], Charset("abc"), 2)
    >>> inputs, labels = next(iter(dataset))
    >>> tuple(inputs["image"].shape[2:]), labels.dtype.name
    ((40, 1), 'int32')
    """
    boundaries = _check_batching_args(
        batch_size, frame_stride, bucket_boundaries
    )
    images = list(images)
    texts = list(texts)
    if len(images) != len(texts):
        raise ValueError(
            "`images` and `texts` must have the same length. Received: "
            f"{len(images)} images and {len(texts)} texts"
        )
    counts = collections.Counter()
    prepared = [
        _prepare(image, text, charset, frame_stride, max_width, counts)
        for image, text in zip(images, texts)
    ]
    prepared = [p for p in prepared if p is not None]
    _log_skipped(counts, len(images), "line images")
    if skipped is not None:
        skipped.update(counts)
    if not prepared:
        raise ValueError(
            f"No usable samples among {len(images)}; skipped: {dict(counts)}"
        )
    heights = sorted(set(image.shape[0] for image, _ in prepared))
    if len(heights) > 1:
        raise ValueError(
            f"All images must have one height. Received heights: {heights}"
        )

    # Ragged tensors of columns and ids: slicing gives one sample each.
    columns = tf.RaggedTensor.from_row_lengths(
        # (sum of widths, height)
        np.concatenate([image.T for image, _ in prepared]),
        [image.shape[1] for image, _ in prepared],
    )
    ids = tf.RaggedTensor.from_row_lengths(
        np.concatenate([i for _, i in prepared]).astype("int32"),
        [len(i) for _, i in prepared],
    )
    dataset = tf.data.Dataset.from_tensor_slices((columns, ids))
    if shuffle:
        dataset = dataset.shuffle(
            len(prepared), seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.map(_to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    return _bucket_batch(
        dataset,
        batch_size,
        boundaries,
        frame_stride,
        drop_remainder,
        pad_to_bucket_boundary,
    )


def synthetic_line_dataset(
    renderer,
    sampler,
    charset,
    batch_size,
    num_samples=None,
    bucket_boundaries=None,
    seed=0,
    frame_stride=8,
    max_width=None,
    drop_remainder=False,
    pad_to_bucket_boundary=False,
    num_workers=1,
    skipped=None,
):
    """A batched, width-bucketed stream of freshly rendered lines.

    Lines come from `sampler.sample(rng)` and `renderer.render(text, rng)`
    with one generator seeded by `seed` (per worker: `(seed, worker)`), so
    the stream is deterministic, and every new iteration over the dataset
    starts it again: with `num_samples`, every epoch sees the same lines
    (a fixed validation set); with `num_samples=None` it never ends (use
    `steps_per_epoch`). Skipped samples are counted in `skipped` while the
    stream runs and do not count towards `num_samples`.

    Args:
        renderer: a `LineRenderer`.
        sampler: a `TextSampler` (or any object whose `sample(rng)` returns
            a str).
        charset: the `Charset` that encodes the texts.
        batch_size: int, samples per batch.
        num_samples: int or None, how many samples one iteration yields.
        bucket_boundaries: see `line_dataset`.
        seed: int, seed of the stream.
        frame_stride: int, see `line_dataset`.
        max_width: int or None, the widest image kept.
        drop_remainder: bool, see `line_dataset`.
        pad_to_bucket_boundary: bool, see `line_dataset`.
        num_workers: int, rendering generators run in parallel (each with
            its own copy of the renderer); the output order stays
            deterministic.
        skipped: optional `collections.Counter` that counts skipped samples
            by reason as the stream runs.

    Returns:
        A `tf.data.Dataset` of `(inputs, labels)` as described in the
        module docstring.

    Example:

    >>> from keras_seq.data import LineRenderer, TextSampler
    >>> sampler = TextSampler(languages=("en",), seed=0)
    >>> dataset = synthetic_line_dataset(
    ...     LineRenderer(), sampler, sampler.charset(), 4, num_samples=8
    ... )
    >>> sum(int(labels.shape[0]) for _, labels in dataset)
    8
    """
    boundaries = _check_batching_args(
        batch_size, frame_stride, bucket_boundaries
    )
    if num_samples is not None and num_samples < 1:
        raise ValueError(
            "`num_samples` must be a positive int or None. "
            f"Received: num_samples={num_samples!r}"
        )
    if not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(
            "`num_workers` must be a positive int. "
            f"Received: num_workers={num_workers!r}"
        )
    if skipped is None:
        skipped = collections.Counter()
    renderers = [renderer]
    for _ in range(1, num_workers):
        clone = copy.copy(renderer)
        clone._font_cache = {}  # Font objects are not shared by threads.
        renderers.append(clone)

    def generate(worker):
        worker = int(worker)
        rng = np.random.default_rng([seed, worker])
        count = None
        if num_samples is not None:
            count = num_samples // num_workers + (
                worker < num_samples % num_workers
            )
        made = skips = 0
        while count is None or made < count:
            text = sampler.sample(rng)
            sample = None
            if charset.unknown_characters(text):
                # Checked before rendering: cheaper than a wasted render.
                skipped["unknown_characters"] += 1
            else:
                image, _ = renderers[worker].render(text, rng)
                sample = _prepare(
                    image, text, charset, frame_stride, max_width, skipped
                )
            if sample is None:
                skips += 1
                if skips >= _MAX_CONSECUTIVE_SKIPS:
                    raise ValueError(
                        f"{skips} generated lines in a row were skipped: "
                        f"{dict(skipped)}. Check the charset and max_width."
                    )
                continue
            skips = 0
            made += 1
            padded, ids = sample
            # (height, width) -> (width, height).
            yield padded.T, ids

    signature = (
        tf.TensorSpec((None, renderer.height), tf.float32),
        tf.TensorSpec((None,), tf.int32),
    )
    if num_workers == 1:
        dataset = tf.data.Dataset.from_generator(
            generate, args=(0,), output_signature=signature
        )
    else:
        dataset = tf.data.Dataset.range(num_workers).interleave(
            lambda worker: tf.data.Dataset.from_generator(
                generate, args=(worker,), output_signature=signature
            ),
            cycle_length=num_workers,
            num_parallel_calls=num_workers,
            deterministic=True,
        )
    dataset = dataset.map(_to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE)
    return _bucket_batch(
        dataset,
        batch_size,
        boundaries,
        frame_stride,
        drop_remainder,
        pad_to_bucket_boundary,
    )
