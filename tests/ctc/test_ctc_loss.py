"""CTCLoss against tf.nn.ctc_loss, a brute-force sum, and model.fit."""

import itertools
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_seq.ctc import CTCLoss


def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _brute_force_nll(logits, label, blank):
    """-log of the summed probability of every alignment of `label`.

    Enumerates all num_classes ** frames paths, collapses each (merge
    repeats, drop blanks) and keeps those that read `label`.
    """
    log_probs = _log_softmax(logits.astype(np.float64))
    frames, num_classes = log_probs.shape
    total = 0.0
    for path in itertools.product(range(num_classes), repeat=frames):
        collapsed = [
            c
            for i, c in enumerate(path)
            if c != blank and (i == 0 or path[i - 1] != c)
        ]
        if collapsed == list(label):
            total += np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return -np.log(total) if total > 0 else np.inf


@pytest.mark.parametrize("implementation", ["native", "dense"])
def test_matches_tf_nn_ctc_loss_on_random_inputs(implementation):
    rng = np.random.default_rng(0)
    batch, frames, num_classes = 5, 30, 12
    logits = rng.normal(size=(batch, frames, num_classes)).astype("float32")
    logit_length = np.array([30, 25, 17, 30, 9], "int32")
    label_length = np.array([7, 0, 5, 10, 3], "int32")
    labels = np.full((batch, 10), -1, "int32")
    for b, n in enumerate(label_length):
        labels[b, :n] = rng.integers(1, num_classes, size=n)
    expected = tf.nn.ctc_loss(
        labels=np.maximum(labels, 0),
        logits=logits,
        label_length=label_length,
        logit_length=logit_length,
        logits_time_major=False,
        blank_index=0,
    )
    loss = CTCLoss(implementation=implementation, reduction=None)
    got = loss(labels, logits, logit_length=logit_length)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    assert int(loss.infeasible_count) == 0


@pytest.mark.parametrize("blank_index", [0, 2])
@pytest.mark.parametrize("implementation", ["native", "dense"])
def test_matches_brute_force_sum_over_alignments(blank_index, implementation):
    rng = np.random.default_rng(1)
    symbols = [c for c in range(3) if c != blank_index]
    a, b = symbols
    cases = [[a], [a, b], [a, a], [b, a, b], [a, b, a, b], [a, a, b]]
    loss = CTCLoss(
        blank_index=blank_index, implementation=implementation, reduction=None
    )
    checked = 0
    for frames in (1, 3, 4, 6):
        for label in cases:
            logits = rng.normal(size=(1, frames, 3)).astype("float32") * 2
            expected = _brute_force_nll(logits[0], label, blank_index)
            got = float(loss(np.array([label], "int32"), logits)[0])
            if np.isinf(expected):
                assert got == 0.0  # infeasible: zero, not inf
            else:
                np.testing.assert_allclose(got, expected, rtol=1e-5)
                checked += 1
    assert checked >= 12


@pytest.mark.parametrize("implementation", ["native", "dense"])
def test_infeasible_and_empty_labels_are_finite_and_counted(implementation):
    rng = np.random.default_rng(2)
    logits = tf.Variable(rng.normal(size=(4, 4, 5)).astype("float32"))
    labels = np.array(
        [
            [1, 2, 3, 4, 1],  # 5 ids, 4 frames: infeasible
            [2, 2, 2, -1, -1],  # needs 5 frames (two blanks): infeasible
            [-1, -1, -1, -1, -1],  # empty label: feasible
            [3, 3, -1, -1, -1],  # needs 3 frames: feasible
        ],
        "int32",
    )
    loss = CTCLoss(implementation=implementation, reduction=None)
    with tf.GradientTape() as tape:
        values = loss(labels, logits)
        total = tf.reduce_sum(values)
    grad = tape.gradient(total, logits).numpy()
    values = values.numpy()
    assert values[0] == 0.0 and values[1] == 0.0
    assert values[2] > 0.0 and values[3] > 0.0
    # Empty label: every frame is blank.
    expected_empty = -_log_softmax(logits.numpy()[2])[:, 0].sum()
    np.testing.assert_allclose(values[2], expected_empty, rtol=1e-5)
    assert np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad[:2], 0.0)
    assert np.abs(grad[2:]).sum() > 0
    assert int(loss.infeasible_count) == 2
    loss(labels, logits)
    assert int(loss.infeasible_count) == 4
    loss.reset_infeasible_count()
    assert int(loss.infeasible_count) == 0


def test_zero_frames_and_explicit_lengths():
    logits = np.zeros((2, 3, 4), "float32")
    labels = np.array([[1, 2, 9], [-1, -1, -1]], "int32")
    loss = CTCLoss(reduction=None)
    # label_length=2 ignores the out-of-vocabulary 9 after it; the check
    # sees it, so pass the cut labels.
    values = loss(
        labels[:, :2], logits, label_length=[2, 0], logit_length=[3, 0]
    )
    assert np.all(np.isfinite(values))
    assert float(values[1]) == 0.0
    # Uniform logits over 4 classes, 3 frames, label "1 2": the paths are
    # 12b, 1b2, b12, 112, 122 -> 5 paths of probability 4**-3.
    np.testing.assert_allclose(float(values[0]), -np.log(5 / 64), rtol=1e-6)


def test_bad_blank_index_and_labels_with_blank_raise():
    logits = np.zeros((1, 5, 4), "float32")
    with pytest.raises(ValueError, match="blank_index=4"):
        CTCLoss(blank_index=4)(np.array([[1]], "int32"), logits)
    with pytest.raises(ValueError, match="blank_index=-1"):
        CTCLoss(blank_index=-1)
    with pytest.raises(ValueError, match="must not contain the blank"):
        CTCLoss()(np.array([[1, 0, 2]], "int32"), logits)
    with pytest.raises(ValueError, match="label id 7"):
        CTCLoss()(np.array([[1, 7]], "int32"), logits)
    with pytest.raises(ValueError, match="implementation=cudnn"):
        CTCLoss(implementation="cudnn")


def test_config_round_trip():
    loss = CTCLoss(blank_index=3, padding_value=-2, reduction="sum")
    config = loss.get_config()
    clone = CTCLoss.from_config(config)
    assert clone.get_config() == config
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, CTCLoss)
    assert restored.get_config() == config


def _masked_model(num_classes):
    inputs = keras.Input(shape=(None, 3))
    x = keras.layers.Masking(mask_value=0.0)(inputs)
    logits = keras.layers.Dense(num_classes)(x)
    return keras.Model(inputs, logits)


def test_model_fit_uses_the_frame_mask():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    num_classes = 5
    lengths = np.array([8, 5, 3, 6], "int32")
    features = np.zeros((4, 8, 3), "float32")
    for b, n in enumerate(lengths):
        features[b, :n] = rng.normal(size=(n, 3)) + 0.5
    labels = np.array(
        [[1, 2, 3], [4, 4, -1], [2, 3, 4], [1, -1, -1]], "int32"
    )  # sample 2 needs 3 frames and has 3: feasible
    model = _masked_model(num_classes)
    loss = CTCLoss()
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss=loss, jit_compile=False
    )

    # evaluate() equals the loss at the true frame counts, not at 8.
    logits = model.predict(features, verbose=0)
    per_sample = CTCLoss(reduction=None)
    masked = per_sample(labels, logits, logit_length=lengths).numpy()
    unmasked = per_sample(labels, logits).numpy()
    evaluated = model.evaluate(features, labels, batch_size=4, verbose=0)
    np.testing.assert_allclose(evaluated, masked.mean(), rtol=1e-5)
    assert abs(evaluated - unmasked.mean()) > 1e-2

    history = model.fit(features, labels, batch_size=4, epochs=20, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0]
    assert int(loss.infeasible_count) == 0


def test_model_fit_with_an_infeasible_sample_and_saved_loss():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(2, 4, 3)).astype("float32") + 1.0
    features[1, 2:] = 0.0  # 2 real frames
    labels = np.array([[1, 2], [3, 3]], "int32")  # "3 3" needs 3 frames
    model = _masked_model(5)
    loss = CTCLoss()
    model.compile(optimizer="adam", loss=loss, jit_compile=False)
    history = model.fit(features, labels, batch_size=2, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert int(loss.infeasible_count) == 2  # one per epoch
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.loss, CTCLoss)


def test_dense_implementation_trains_under_xla():
    # The native kernel has no XLA kernel; "dense" is the XLA-ready path.
    rng = np.random.default_rng(5)
    features = rng.normal(size=(4, 6, 3)).astype("float32") + 1.0
    features[2:, 4:] = 0.0
    labels = np.array([[1, 2], [3, 3], [4, -1], [2, 2]], "int32")
    model = _masked_model(5)
    model.compile(
        optimizer="adam",
        loss=CTCLoss(implementation="dense"),
        jit_compile=True,
    )
    # One step on one batch: the logged loss is the loss before the update.
    expected = CTCLoss(reduction=None)(
        labels, model.predict(features, verbose=0), logit_length=[6, 6, 4, 4]
    )
    history = model.fit(features, labels, batch_size=4, epochs=1, verbose=0)
    np.testing.assert_allclose(
        history.history["loss"][0], np.mean(expected), rtol=1e-5
    )


def test_half_precision_logits():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(2, 5, 4)).astype("float16")
    labels = np.array([[1, 2], [3, -1]], "int32")
    value = CTCLoss(dtype="float16", reduction=None)(labels, logits)
    assert value.dtype == "float16"
    expected = CTCLoss(reduction=None)(labels, logits.astype("float32"))
    np.testing.assert_allclose(value, expected, rtol=1e-2)


def test_probabilities_with_from_logits_false():
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(2, 6, 4)).astype("float32")
    probs = tf.nn.softmax(logits).numpy()
    labels = np.array([[1, 2, 3], [2, 2, -1]], "int32")
    expected = CTCLoss(reduction=None)(labels, logits)
    got = CTCLoss(from_logits=False, reduction=None)(labels, probs)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
