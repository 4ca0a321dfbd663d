"""`BestSpan`: the most likely answer span, searched inside the graph."""

import keras
from keras import ops


def first_argmax(values, maximum):
    """The first index of `maximum` along the last axis of `values`.

    `keras.ops.argmax` on floats tests the sign bit of zeros with a
    `BitwiseAnd`, which TFLite lacks as a builtin; comparing with the
    maximum and taking the smallest matching index needs only EQUAL,
    SELECT and a min reduction.
    """
    count = ops.shape(values)[-1]
    positions = ops.arange(count, dtype="int32")
    hits = ops.where(values >= ops.expand_dims(maximum, -1), positions, count)
    return ops.min(hits, axis=-1)


@keras.saving.register_keras_serializable(package="keras_seq")
class BestSpan(keras.layers.Layer):
    """Finds the best `(start, end)` with `start <= end < start + max`.

    The score of a span is `log p(start) + log p(end)`, each a softmax over
    the real positions. All `sequence_length ** 2` pairs are scored at
    once, pairs outside the band `0 <= end - start < max_answer_length` or
    touching padding are excluded, and one argmax over the flattened pairs
    picks the winner. The ops (RANGE, comparisons, SELECT, RESHAPE,
    REDUCE_MIN, FLOOR_DIV, FLOOR_MOD) are TFLite builtins, and nothing fixes
    the sequence length, so a converted model resizes freely.

    Args:
        max_answer_length: the longest span, in tokens.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        inputs: `(batch_size, sequence_length, 2)`: the start logits at
            `[..., 0]`, the end logits at `[..., 1]`.
        padding_mask: `(batch_size, sequence_length)`, 1 for positions
            that may be in an answer. None: the inputs' Keras mask, or
            every position.
        mask: the inputs' Keras mask (filled in by Keras).

    Returns:
        A tuple `(start, end, score)`: int32 `(batch_size,)` inclusive
        token positions, and `(batch_size,)` in the compute dtype, the
        span's log probability.

    Example:

    >>> import numpy as np
    >>> start = [0.0, 5.0, 0.0, 9.0]
    >>> end = [0.0, 0.0, 9.0, 0.0]
    >>> logits = np.array([list(zip(start, end))], "float32")
    >>> start, end, score = BestSpan(max_answer_length=3)(logits)
    >>> int(start[0]), int(end[0])
    (1, 2)
    """

    def __init__(self, max_answer_length=30, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(max_answer_length, int) or max_answer_length < 1:
            raise ValueError(
                "`max_answer_length` must be a positive integer. "
                f"Received: max_answer_length={max_answer_length!r}"
            )
        self.max_answer_length = max_answer_length

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] != 2:
            raise ValueError(
                "`BestSpan` expects logits of shape (batch_size, "
                "sequence_length, 2). Received: input_shape="
                f"{tuple(input_shape)}"
            )
        self.built = True

    def call(self, inputs, padding_mask=None, mask=None):
        logits = ops.cast(inputs, "float32")
        if padding_mask is None:
            padding_mask = mask
        if padding_mask is None:
            padding_mask = ops.ones(ops.shape(logits)[:2], "float32")
        real = ops.cast(padding_mask, "float32")
        penalty = (1.0 - real) * -1e9
        start_log = ops.log_softmax(logits[..., 0] + penalty, axis=-1)
        end_log = ops.log_softmax(logits[..., 1] + penalty, axis=-1)

        # (batch_size, sequence_length, 1) + (batch_size, 1, sequence_length)
        scores = ops.expand_dims(start_log, 2) + ops.expand_dims(end_log, 1)
        length = ops.shape(logits)[1]
        positions = ops.arange(length, dtype="int32")
        width = ops.expand_dims(positions, 0) - ops.expand_dims(positions, 1)
        band = ops.logical_and(
            width >= 0, width < self.max_answer_length
        )  # (sequence_length, sequence_length): end - start in range
        scores = ops.where(ops.expand_dims(band, 0), scores, -1e9)

        # (batch_size, sequence_length, sequence_length)
        #   -> (batch_size, sequence_length * sequence_length)
        flat = ops.reshape(scores, (-1, length * length))
        best_score = ops.max(flat, axis=-1)
        best = first_argmax(flat, best_score)
        # Scores are computed in float32 (the -1e9 exclusions overflow
        # float16) and returned in the compute dtype.
        score = ops.cast(best_score, self.compute_dtype)
        return best // length, best % length, score

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        batch = (input_shape[0],)
        return batch, batch, batch

    def get_config(self):
        config = super().get_config()
        config.update({"max_answer_length": self.max_answer_length})
        return config
