"""`CTCLoss`: connectionist temporal classification that never gives NaN.

TensorFlow only: the loss runs on `tf.nn.ctc_loss`.
"""

import logging

import keras
import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)

IMPLEMENTATIONS = ("native", "dense")


def check_blank_index(blank_index, num_classes):
    """Raises ValueError unless `0 <= blank_index < num_classes`."""
    if num_classes is not None and not 0 <= blank_index < num_classes:
        raise ValueError(
            "`blank_index` must lie in [0, num_classes) with num_classes="
            f"{num_classes} (the last axis of the logits). Received: "
            f"blank_index={blank_index}"
        )


def check_labels(labels, blank_index, padding_value, num_classes):
    """Eager check of dense labels: no blank, ids inside the vocabulary.

    Does nothing on symbolic tensors (inside `tf.function`), whose values
    are unknown at trace time.
    """
    if isinstance(labels, np.ndarray):
        values = labels
    elif tf.is_tensor(labels) and tf.executing_eagerly():
        values = np.asarray(labels)
    else:
        return
    real = values[values != padding_value]
    if np.any(real == blank_index):
        raise ValueError(
            f"Labels must not contain the blank (blank_index={blank_index}); "
            "pad them with `padding_value` instead. Received: labels with "
            f"the value {blank_index} at "
            f"{np.argwhere(values == blank_index)[:5].tolist()}"
        )
    bad = real[(real < 0) | (real >= (num_classes or np.inf))]
    if bad.size:
        raise ValueError(
            f"Label ids must lie in [0, {num_classes}). Received: label "
            f"id {int(bad[0])}"
        )


def label_lengths(labels, padding_value=-1):
    """Lengths of dense labels padded at the end with `padding_value`.

    Args:
        labels: `(batch_size, max_label_length)` integer tensor.
        padding_value: the id that marks padding.

    Returns:
        `(batch_size,)` int32: the number of leading non-padding ids.
    """
    labels = tf.convert_to_tensor(labels)
    real = tf.cast(tf.not_equal(labels, padding_value), tf.int32)
    # A label stops at its first padding id; ids after it are ignored.
    return tf.reduce_sum(tf.math.cumprod(real, axis=1), axis=1)


def required_frames(labels, label_length):
    """Fewest frames that can emit each label under CTC.

    One frame per id, plus one blank between every two equal neighbours.

    Args:
        labels: `(batch_size, max_label_length)` integer tensor.
        label_length: `(batch_size,)` integer tensor.

    Returns:
        `(batch_size,)` int32.
    """
    labels = tf.convert_to_tensor(labels)
    label_length = tf.cast(label_length, tf.int32)
    positions = tf.range(tf.shape(labels)[1])
    # real: (batch_size, max_label_length)
    real = positions[None, :] < label_length[:, None]
    repeats = tf.logical_and(
        tf.equal(labels[:, 1:], labels[:, :-1]),
        tf.logical_and(real[:, 1:], real[:, :-1]),
    )
    return label_length + tf.reduce_sum(tf.cast(repeats, tf.int32), axis=1)


@keras.saving.register_keras_serializable(package="keras_seq")
class CTCLoss(keras.losses.Loss):
    """CTC loss over logits; infeasible samples give zero, never NaN.

    Id `blank_index` (0 by default) is the blank; with the default, the
    characters are ids 1 .. num_classes - 1.

    Labels are dense `(batch_size, max_label_length)` integers padded at
    the end with `padding_value` (or given with explicit `label_length`).
    Frame counts come from the Keras mask that `y_pred` carries (for
    example from a `Masking` layer or any mask-propagating layer in a
    Functional model), from an explicit `logit_length`, or else every
    frame counts. Real frames must come first (right padding).

    Keras's own `Loss.__call__` would apply a `(batch_size, frames)` mask
    to the per-sample loss elementwise; this class instead turns the mask
    into frame counts, so masked batches of any length train correctly in
    `model.fit`.

    A sample is infeasible when it has fewer frames than its label needs
    (one frame per id plus one blank between two equal neighbours). Its
    loss is exactly zero with zero gradient: its label is replaced by the
    empty label before the CTC op and its loss multiplied by zero. Such
    samples are added to the non-trainable counter `infeasible_count`
    (read it with `int(loss.infeasible_count)`, clear it with
    `reset_infeasible_count()`); when the loss runs eagerly a warning is
    also logged. To see the count in the `model.fit` logs, add the metric
    `keras_seq.metrics.CTCInfeasibleSamples`. Empty labels are allowed
    (the loss is then minus the log probability of all blanks).

    Bad input: `blank_index` outside `[0, num_classes)` raises ValueError
    at the first call (the class count is a static shape, so this works in
    graph mode too). Labels that contain the blank or ids outside the
    vocabulary raise ValueError when the loss runs eagerly; inside a
    traced graph the values are unknown and not checked (the CTC op then
    fails or treats the id as a class: validate data before training).

    Args:
        blank_index: id of the blank class. Defaults to 0.
        padding_value: id that pads labels. Defaults to -1.
        from_logits: True when `y_pred` are logits; False when they are
            probabilities (a softmax output), then their log is used.
        implementation: `"native"` (default) runs `tf.nn.ctc_loss` on
            sparse labels, i.e. TensorFlow's C++ CTC kernel (cuDNN on a
            GPU). It has no XLA kernel: compile with `jit_compile=False`
            (Keras turns XLA on by default on a GPU). `"dense"` runs
            `tf.nn.ctc_loss` on dense labels, a forward-backward written
            in TensorFlow ops that XLA compiles; slower on a CPU.
        reduction: as in `keras.losses.Loss`. Defaults to
            `"sum_over_batch_size"`.
        name: name of the loss.
        dtype: dtype of the returned loss; the CTC op itself runs in
            float32.

    Call arguments:
        y_true: `(batch_size, max_label_length)` integer labels.
        y_pred: `(batch_size, frames, num_classes)` logits (or
            probabilities with `from_logits=False`), optionally carrying
            a Keras mask `(batch_size, frames)`.
        sample_weight: optional `(batch_size,)` weights.
        label_length: optional `(batch_size,)` label lengths; overrides
            the padding.
        logit_length: optional `(batch_size,)` frame counts; overrides the
            mask.

    Returns:
        The reduced loss; `(batch_size,)` with `reduction=None`.

    Example:

    >>> import numpy as np
    >>> loss = CTCLoss()
    >>> logits = np.zeros((2, 5, 4), "float32")
    >>> labels = np.array([[1, 2, 2], [3, -1, -1]], "int32")
    >>> value = loss(labels, logits)
    >>> bool(np.isfinite(value))
    True

    References:
        Graves et al., 2006, "Connectionist Temporal Classification:
        Labelling Unsegmented Sequence Data with Recurrent Neural
        Networks".
    """

    def __init__(
        self,
        blank_index=0,
        padding_value=-1,
        from_logits=True,
        implementation="native",
        reduction="sum_over_batch_size",
        name="ctc_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(blank_index, (int, np.integer)) or blank_index < 0:
            raise ValueError(
                "`blank_index` must be a non-negative integer. Received: "
                f"blank_index={blank_index}"
            )
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"`implementation` must be one of {IMPLEMENTATIONS}. "
                f"Received: implementation={implementation}"
            )
        self.blank_index = int(blank_index)
        self.padding_value = int(padding_value)
        self.from_logits = from_logits
        self.implementation = implementation
        self._dtype_arg = dtype
        self._infeasible_count = None

    @property
    def infeasible_count(self):
        """Infeasible samples seen so far (a scalar int64 tensor)."""
        if self._infeasible_count is None:
            return tf.constant(0, tf.int64)
        return tf.convert_to_tensor(self._infeasible_count)

    def reset_infeasible_count(self):
        """Sets `infeasible_count` back to zero."""
        if self._infeasible_count is not None:
            self._infeasible_count.assign(0)

    def _counter(self):
        if self._infeasible_count is None:
            # Created on first use, outside any traced function.
            with tf.init_scope():
                self._infeasible_count = tf.Variable(
                    0,
                    dtype=tf.int64,
                    trainable=False,
                    name="infeasible_count",
                    aggregation=tf.VariableAggregation.SUM,
                )
        return self._infeasible_count

    def __call__(
        self,
        y_true,
        y_pred,
        sample_weight=None,
        label_length=None,
        logit_length=None,
    ):
        # Keras keeps a tensor's mask in this attribute (there is no
        # public getter in Keras 3.15).
        mask = getattr(y_pred, "_keras_mask", None)
        if logit_length is None and mask is not None:
            logit_length = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        with tf.name_scope(self.name):
            losses = self.call(
                y_true,
                y_pred,
                label_length=label_length,
                logit_length=logit_length,
            )
            # The frame mask is already in `logit_length`: weigh samples
            # only by `sample_weight`, never by the (batch, frames) mask.
            return keras.losses.Loss.__call__(
                _PerSample(self.reduction, self.dtype),
                losses,
                losses,
                sample_weight=sample_weight,
            )

    def call(self, y_true, y_pred, label_length=None, logit_length=None):
        """Per-sample CTC negative log-likelihood, `(batch_size,)`."""
        logits = tf.convert_to_tensor(y_pred)
        num_classes = logits.shape[-1]
        check_blank_index(self.blank_index, num_classes)
        labels = tf.cast(tf.convert_to_tensor(y_true), tf.int32)
        if labels.shape.rank == 1:
            labels = labels[:, None]
        check_labels(y_true, self.blank_index, self.padding_value, num_classes)
        logits = tf.cast(logits, tf.float32)
        if not self.from_logits:
            logits = tf.math.log(tf.maximum(logits, 1e-30))
        # logits: (batch_size, frames, num_classes)
        batch_size = tf.shape(logits)[0]
        frames = tf.shape(logits)[1]

        if label_length is None:
            label_length = label_lengths(labels, self.padding_value)
        label_length = tf.cast(label_length, tf.int32)
        if logit_length is None:
            logit_length = tf.fill([batch_size], frames)
        logit_length = tf.minimum(tf.cast(logit_length, tf.int32), frames)

        # 1. Infeasible samples get the empty label, then zero loss.
        feasible = required_frames(labels, label_length) <= logit_length
        self._count(feasible)
        label_length = tf.where(feasible, label_length, 0)

        # 2. The CTC op.
        if self.implementation == "native":
            losses = self._native(labels, label_length, logits, logit_length)
        else:
            positions = tf.range(tf.shape(labels)[1])
            keep = positions[None, :] < label_length[:, None]
            # Padding becomes an id the dense op never reads.
            dense = tf.where(keep, labels, 0)
            losses = tf.nn.ctc_loss(
                labels=dense,
                logits=logits,
                label_length=label_length,
                logit_length=logit_length,
                logits_time_major=False,
                blank_index=self.blank_index,
            )
        losses = losses * tf.cast(feasible, losses.dtype)
        return tf.cast(losses, self.dtype)

    def _native(self, labels, label_length, logits, logit_length):
        """`tf.nn.ctc_loss` on sparse labels (the C++ kernel).

        The kernel refuses empty labels, so an empty label's loss, minus
        the log-probability of a blank at every real frame, is computed
        here and the kernel gets a one-id stand-in it never uses.
        """
        frames = tf.shape(logits)[1]
        empty = tf.equal(label_length, 0)
        stand_in = 1 if self.blank_index == 0 else 0
        positions = tf.range(tf.shape(labels)[1])
        # Column 0 of an empty label holds the stand-in id.
        labels = tf.where(
            tf.logical_and(empty[:, None], tf.equal(positions, 0)[None, :]),
            stand_in,
            labels,
        )
        kernel_length = tf.where(empty, 1, label_length)
        kernel_frames = tf.where(
            empty, tf.minimum(tf.maximum(logit_length, 1), frames), logit_length
        )
        keep = positions[None, :] < kernel_length[:, None]
        indices = tf.where(keep)
        sparse = tf.SparseTensor(
            indices,
            tf.gather_nd(labels, indices),
            tf.cast(tf.shape(labels), tf.int64),
        )
        kernel = tf.nn.ctc_loss(
            labels=sparse,
            logits=logits,
            label_length=None,
            logit_length=kernel_frames,
            logits_time_major=False,
            blank_index=self.blank_index,
        )

        # All-blank loss of the empty labels.
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        # real: (batch_size, frames)
        real = tf.range(frames)[None, :] < logit_length[:, None]
        blank = log_probs[:, :, self.blank_index]
        empty_loss = -tf.reduce_sum(tf.where(real, blank, 0.0), axis=1)
        return tf.where(empty, empty_loss, kernel)

    def _count(self, feasible):
        infeasible = tf.reduce_sum(tf.cast(~feasible, tf.int64))
        counter = self._counter()
        counter.assign_add(infeasible)
        if tf.executing_eagerly() and int(infeasible):
            logger.warning(
                "CTCLoss: %d sample(s) have fewer frames than their labels "
                "need; their loss is set to zero.",
                int(infeasible),
            )

    def get_config(self):
        return {
            "blank_index": self.blank_index,
            "padding_value": self.padding_value,
            "from_logits": self.from_logits,
            "implementation": self.implementation,
            "reduction": self.reduction,
            "name": self.name,
            "dtype": self._dtype_arg,
        }


class _PerSample(keras.losses.Loss):
    """Reduces precomputed per-sample losses the way Keras does."""

    def __init__(self, reduction, dtype):
        super().__init__(name="reduce", reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return y_pred
