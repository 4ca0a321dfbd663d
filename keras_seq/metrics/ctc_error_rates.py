"""Stateful CER and WER metrics that greedy-decode CTC logits.

TensorFlow only: they use `tf.edit_distance`, which has no XLA kernel, so
a model that reports them compiles with `jit_compile=False` (as
`CTCLoss`'s native kernel asks anyway).
"""

import keras
import tensorflow as tf


def _compact(ids, keep):
    """`(batch_size, length)` ids where `keep` -> SparseTensor, packed left.

    Returns a SparseTensor of shape `(batch_size, length)` whose row b
    holds the kept ids of row b in order, at positions 0, 1, ...
    """
    keep = tf.cast(keep, tf.bool)
    slot = tf.cumsum(tf.cast(keep, tf.int64), axis=1) - 1
    where = tf.where(keep)  # (kept, 2): (batch, position)
    indices = tf.stack([where[:, 0], tf.gather_nd(slot, where)], axis=1)
    return tf.SparseTensor(
        indices,
        tf.cast(tf.gather_nd(ids, where), tf.int64),
        tf.shape(ids, out_type=tf.int64),
    )


def ctc_greedy_sparse(logits, blank_index=0, mask=None):
    """Greedy CTC decoding of `(batch_size, frames, num_classes)` logits.

    Args:
        logits: the logits.
        blank_index: id of the blank. Defaults to 0.
        mask: optional `(batch_size, frames)`, 1 for real frames.

    Returns:
        A `(batch_size, frames)` SparseTensor of int64 ids.
    """
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    previous = tf.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    keep = tf.logical_and(
        tf.not_equal(best, blank_index), tf.not_equal(best, previous)
    )
    if mask is not None:
        keep = tf.logical_and(keep, tf.cast(mask, tf.bool))
    return _compact(best, keep)


def _words(sparse, space_id):
    """Character ids -> a SparseTensor of words (strings of their ids)."""
    dense = tf.sparse.to_dense(sparse, default_value=-1)
    # dense: (batch_size, length); a word is a run of non-space ids.
    is_char = tf.logical_and(dense >= 0, tf.not_equal(dense, space_id))
    before = tf.pad(is_char[:, :-1], [[0, 0], [1, 0]])
    starts = tf.logical_and(is_char, tf.logical_not(before))
    word = tf.cumsum(tf.cast(starts, tf.int64), axis=1) - 1
    batch_size = tf.shape(dense, out_type=tf.int64)[0]
    length = tf.shape(dense, out_type=tf.int64)[1]
    rows = tf.range(batch_size)[:, None] * length
    segments = tf.where(is_char, rows + word, batch_size * length)
    tokens = tf.strings.as_string(dense) + ","
    joined = tf.strings.unsorted_segment_join(
        tf.reshape(tokens, [-1]),
        tf.reshape(segments, [-1]),
        batch_size * length + 1,
    )
    # words: (batch_size, length), "" after the last word of a row.
    words = tf.reshape(joined[:-1], [batch_size, length])
    where = tf.where(tf.not_equal(words, ""))
    return tf.SparseTensor(
        where, tf.gather_nd(words, where), [batch_size, length]
    )


class _CTCErrorRate(keras.metrics.Metric):
    """Shared state: summed edit distance over summed reference length."""

    def __init__(self, blank_index=0, padding_value=-1, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if not isinstance(blank_index, int) or blank_index < 0:
            raise ValueError(
                "`blank_index` must be a non-negative integer. Received: "
                f"blank_index={blank_index}"
            )
        self.blank_index = blank_index
        self.padding_value = padding_value
        self.errors = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="errors"
        )
        self.total = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="total"
        )

    def _tokens(self, sparse):
        return sparse

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)
        logits = tf.convert_to_tensor(y_pred)
        labels = tf.cast(tf.convert_to_tensor(y_true), tf.int32)
        if labels.shape.rank == 1:
            labels = labels[:, None]
        num_classes = logits.shape[-1]
        if num_classes is not None and self.blank_index >= num_classes:
            raise ValueError(
                "`blank_index` must lie in [0, num_classes) with num_classes="
                f"{num_classes}. Received: blank_index={self.blank_index}"
            )
        real = tf.not_equal(labels, self.padding_value)
        # A label stops at its first padding id.
        real = tf.cast(tf.math.cumprod(tf.cast(real, tf.int32), axis=1), bool)
        truth = self._tokens(_compact(labels, real))
        hypothesis = self._tokens(
            ctc_greedy_sparse(logits, self.blank_index, mask)
        )
        errors = tf.edit_distance(hypothesis, truth, normalize=False)
        # Reference length per sample, in tokens.
        lengths = tf.math.bincount(
            tf.cast(truth.indices[:, 0], tf.int32),
            minlength=tf.shape(labels)[0],
            maxlength=tf.shape(labels)[0],
            dtype=tf.float32,
        )
        errors = tf.cast(errors, tf.float32)
        if sample_weight is not None:
            weight = tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
            errors = errors * weight
            lengths = lengths * weight
        self.errors.assign_add(tf.reduce_sum(errors))
        self.total.assign_add(tf.reduce_sum(lengths))

    def result(self):
        return tf.math.divide_no_nan(self.errors, self.total)

    def reset_state(self):
        self.errors.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {
            **super().get_config(),
            "blank_index": self.blank_index,
            "padding_value": self.padding_value,
        }


@keras.saving.register_keras_serializable(package="keras_seq")
class CharacterErrorRate(_CTCErrorRate):
    """Corpus character error rate of greedy-decoded CTC logits.

    Id `blank_index` (0 by default) is the blank; with the default the
    characters are ids 1 .. num_classes - 1. The result is the summed
    edit distance between greedy hypotheses and labels over the summed
    label length of every batch seen since the last reset (not a mean of
    per-sample rates). Frame counts come from the Keras mask of `y_pred`
    when it has one.

    TensorFlow only, and not XLA-compilable (`tf.edit_distance`): compile
    the model with `jit_compile=False`.

    Args:
        blank_index: id of the blank. Defaults to 0.
        padding_value: id that pads labels. Defaults to -1.
        name: metric name. Defaults to "cer".
        dtype: dtype of the result.

    Call arguments (`update_state`):
        y_true: `(batch_size, max_label_length)` labels.
        y_pred: `(batch_size, frames, num_classes)` logits.
        sample_weight: optional `(batch_size,)`; weighs both a sample's
            errors and its length.

    Example:

    >>> import numpy as np
    >>> logits = np.log(np.array([[[.1, .8, .1], [.8, .1, .1],
    ...                            [.1, .1, .8]]], "float32"))
    >>> metric = CharacterErrorRate()
    >>> metric.update_state(np.array([[1, 1, -1]]), logits)
    >>> float(metric.result())
    0.5
    """

    def __init__(self, blank_index=0, padding_value=-1, name="cer", dtype=None):
        super().__init__(blank_index, padding_value, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="keras_seq")
class WordErrorRate(_CTCErrorRate):
    """Corpus word error rate of greedy-decoded CTC logits.

    Words are runs of ids other than `space_id`; the result is the summed
    word edit distance over the summed number of label words. Id
    `blank_index` (0 by default) is the blank.

    TensorFlow only, and not XLA-compilable (`tf.edit_distance`): compile
    the model with `jit_compile=False`.

    Args:
        blank_index: id of the blank. Defaults to 0.
        padding_value: id that pads labels. Defaults to -1.
        space_id: id of the word separator. Required.
        name: metric name. Defaults to "wer".
        dtype: dtype of the result.

    Call arguments (`update_state`):
        y_true: `(batch_size, max_label_length)` labels.
        y_pred: `(batch_size, frames, num_classes)` logits.
        sample_weight: optional `(batch_size,)`.

    Example:

    >>> import numpy as np
    >>> # ids: 0 blank, 1 space, 2 "a", 3 "b"; frames read "a b".
    >>> logits = np.log(np.eye(4, dtype="float32")[[2, 1, 3]] + 1e-3)
    >>> metric = WordErrorRate(space_id=1)
    >>> metric.update_state(np.array([[2, 1, 2]]), logits[None])
    >>> float(metric.result())
    0.5
    """

    def __init__(
        self,
        blank_index=0,
        padding_value=-1,
        space_id=None,
        name="wer",
        dtype=None,
    ):
        if not isinstance(space_id, int) or space_id == blank_index:
            raise ValueError(
                "`space_id` must be the integer id of the word separator, "
                f"not the blank ({blank_index}). Received: space_id={space_id}"
            )
        super().__init__(blank_index, padding_value, name=name, dtype=dtype)
        self.space_id = space_id

    def _tokens(self, sparse):
        return _words(sparse, self.space_id)

    def get_config(self):
        return {**super().get_config(), "space_id": self.space_id}
