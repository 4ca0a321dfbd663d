import collections
import doctest

import numpy as np
import pytest

from keras_seq.data import (
    Charset,
    LineRenderer,
    TextSampler,
    line_dataset,
    min_ctc_frames,
    pad_line_image,
    pipeline,
    synthetic_line_dataset,
)

CHARSET = Charset("abcž ")


def _samples(count=40, seed=0):
    rng = np.random.default_rng(seed)
    images, texts = [], []
    for _ in range(count):
        width = int(rng.integers(20, 300))
        images.append(rng.random((32, width)).astype("float32"))
        length = int(rng.integers(1, max(2, width // 16)))
        texts.append("".join(rng.choice(list("abcž"), length)))
    return images, texts


def _check_batch(inputs, labels, charset=CHARSET, texts=None):
    """Structure, padding and masks of one batch; returns sample texts."""
    image = inputs["image"].numpy()
    mask = inputs["image_mask"].numpy()
    labels = labels.numpy()
    assert image.dtype == np.float32 and image.ndim == 4
    assert image.shape[3] == 1
    assert mask.dtype == np.int32 and mask.shape == image.shape[:1] + (
        image.shape[2],
    )
    assert labels.dtype == np.int32 and labels.shape[0] == image.shape[0]
    assert image.shape[2] % 8 == 0
    decoded = []
    for i in range(image.shape[0]):
        width = int(mask[i].sum())
        assert width % 8 == 0 and width >= 8
        # The mask is 1 then 0; the image is background beyond it.
        assert mask[i, :width].all() and not mask[i, width:].any()
        assert not image[i, :, width:].any()
        label = labels[i]
        length = int((label >= 0).sum())
        assert (label[:length] >= 1).all() and (label[length:] == -1).all()
        assert width // 8 >= min_ctc_frames(label[:length])
        decoded.append(charset.decode(label))
    return decoded


def test_docstring_examples():
    result = doctest.testmod(pipeline)
    assert result.attempted > 0 and result.failed == 0


def test_min_ctc_frames_and_padding():
    assert min_ctc_frames([]) == 0
    assert min_ctc_frames([1, 2, 3]) == 3
    assert min_ctc_frames([1, 1, 1, 2]) == 4 + 2
    padded = pad_line_image(np.ones((4, 9)), 8)
    assert padded.shape == (4, 16) and padded.dtype == np.float32
    assert padded[:, :9].all() and not padded[:, 9:].any()
    assert pad_line_image(np.ones((4, 16)), 8).shape == (4, 16)


def test_line_dataset_shapes_padding_and_contents():
    images, texts = _samples()
    skipped = collections.Counter()
    dataset = line_dataset(
        images, texts, CHARSET, batch_size=8, shuffle=False, skipped=skipped
    )
    assert not skipped
    seen = []
    for inputs, labels in dataset:
        assert inputs["image"].shape[1] == 32
        seen += _check_batch(inputs, labels)
    # Every sample once per epoch.
    assert sorted(seen) == sorted(texts)


def test_image_content_survives():
    image = np.zeros((32, 21), "float32")
    image[5:10, 3:7] = 1.0
    dataset = line_dataset([image], ["ab"], CHARSET, 1)
    inputs, labels = next(iter(dataset))
    np.testing.assert_array_equal(inputs["image"][0, :, :21, 0], image)
    assert inputs["image"].shape == (1, 32, 24, 1)
    assert labels.numpy().tolist() == [CHARSET.encode("ab")]


def test_bucketing_groups_similar_widths():
    images, texts = _samples(60)
    boundaries = [64, 128, 192]
    dataset = line_dataset(
        images, texts, CHARSET, 4, bucket_boundaries=boundaries, seed=1
    )
    edges = [0] + boundaries + [10**9]
    for inputs, _ in dataset:
        widths = inputs["image_mask"].numpy().sum(axis=1)
        buckets = {np.searchsorted(edges, w, side="right") for w in widths}
        assert len(buckets) == 1, widths


def test_pad_to_bucket_boundary():
    images, texts = _samples(60)
    dataset = line_dataset(
        images,
        texts,
        CHARSET,
        4,
        bucket_boundaries=[64, 128, 192],
        pad_to_bucket_boundary=True,
    )
    widths = set()
    for inputs, labels in dataset:
        widths.add(int(inputs["image"].shape[2]))
        _check_batch(inputs, labels)
    # Widths beyond the last boundary stay multiples of 8.
    assert {64, 128, 192} & widths
    assert all(w in (64, 128, 192) or w > 192 for w in widths)


def test_shuffle_is_seeded_and_reshuffles():
    images, texts = _samples(30)

    def order(dataset):
        return [
            tuple(CHARSET.decode(label) for label in labels.numpy())
            for _, labels in dataset
        ]

    a = line_dataset(images, texts, CHARSET, 30, [1024], seed=5)
    b = line_dataset(images, texts, CHARSET, 30, [1024], seed=5)
    first = order(a)
    assert first == order(b)
    assert order(a) != first  # A new epoch, a new order.
    assert sorted(first[0]) == sorted(texts)


def test_line_dataset_skips_and_counts(caplog):
    images = [
        np.ones((32, 64), "float32"),
        np.full((32, 64), np.nan, "float32"),
        np.ones((32, 2000), "float32"),
        np.ones((32, 64), "float32"),
        np.ones((32, 16), "float32"),
        np.ones((32, 0), "float32"),
    ]
    texts = ["ab", "ab", "ab", "aXb", "aab", "a"]
    skipped = collections.Counter()
    dataset = line_dataset(
        images, texts, CHARSET, 8, max_width=1024, skipped=skipped
    )
    assert dict(skipped) == {
        "bad_image": 2,
        "too_wide": 1,
        "unknown_characters": 1,
        "too_few_frames": 1,  # 2 frames, "aab" needs 4.
    }
    assert "Skipped 5 of 6 line images" in caplog.text
    (_, labels), *rest = list(dataset)
    assert not rest and CHARSET.decode(labels[0]) == "ab"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"bucket_boundaries": [64, 32]}, "bucket_boundaries"),
        ({"bucket_boundaries": [60]}, "multiples of 8"),
        ({"texts": ["a"]}, "same length"),
        ({"texts": ["X", "X"]}, "No usable samples"),
        (
            {"images": [np.ones((32, 64)), np.ones((16, 64))]},
            "one height",
        ),
    ],
)
def test_line_dataset_bad_arguments(kwargs, match):
    arguments = {
        "images": [np.ones((32, 64)), np.ones((32, 64))],
        "texts": ["a", "b"],
        "charset": CHARSET,
        "batch_size": 2,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        line_dataset(**arguments)


@pytest.fixture(scope="module")
def sampler():
    return TextSampler(languages=("en", "pl"), seed=0, max_words=3)


def test_synthetic_dataset(sampler):
    charset = sampler.charset()
    skipped = collections.Counter()
    dataset = synthetic_line_dataset(
        LineRenderer(seed=0),
        sampler,
        charset,
        batch_size=8,
        num_samples=24,
        seed=3,
        skipped=skipped,
    )
    first = []
    for inputs, labels in dataset:
        assert inputs["image"].shape[1] == 32
        first += _check_batch(inputs, labels, charset)
    assert len(first) == 24 and not skipped
    # A new iteration replays the same lines.
    again = [
        charset.decode(label)
        for _, labels in dataset
        for label in labels.numpy()
    ]
    assert again == first


def test_synthetic_dataset_endless_and_workers(sampler):
    charset = sampler.charset()
    endless = synthetic_line_dataset(
        LineRenderer(), sampler, charset, batch_size=4
    )
    assert sum(1 for _ in endless.take(3)) == 3

    def texts(num_workers):
        dataset = synthetic_line_dataset(
            LineRenderer(),
            sampler,
            charset,
            batch_size=4,
            num_samples=10,
            num_workers=num_workers,
        )
        return [charset.decode(x) for _, y in dataset for x in y.numpy()]

    two = texts(2)
    assert len(two) == 10 and two == texts(2)


def test_synthetic_dataset_counts_skips(sampler):
    skipped = collections.Counter()
    dataset = synthetic_line_dataset(
        LineRenderer(augment=False),
        sampler,
        Charset("abcdefghijklmnopqrstuvwxyz "),
        batch_size=4,
        num_samples=4,
        skipped=skipped,
    )
    batches = list(dataset)
    assert sum(int(labels.shape[0]) for _, labels in batches) == 4
    assert skipped["unknown_characters"] > 0

    never = synthetic_line_dataset(
        LineRenderer(height=8, augment=False),
        sampler,
        Charset("§"),
        batch_size=4,
        num_samples=4,
    )
    with pytest.raises(Exception, match="in a row were skipped"):
        list(never)
