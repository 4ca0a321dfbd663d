"""`CTCGreedyDecoder`: greedy CTC decoding inside the model graph."""

import keras
import tensorflow as tf
from keras import ops


@keras.saving.register_keras_serializable(package="keras_seq")
class CTCGreedyDecoder(keras.layers.Layer):
    """Greedy CTC decoding with builtin TFLite ops, at any frame count.

    TensorFlow backend only (it calls `tf.argmax`).

    Id `blank_index` (0 by default) is the blank; with the default the
    characters are ids 1 .. num_classes - 1.

    The best class of every frame is kept when it is not the blank and
    differs from the previous frame's best class. The kept ids are moved
    to the front without scatter or gather: a cumulative sum numbers each
    kept id, and a one-hot `(batch_size, frames, frames)` comparison of
    those numbers with the output positions places them. The graph uses
    only ARG_MAX, CUMSUM, comparisons, SELECT, REDUCE_MAX, SOFTMAX and
    shape ops, so it converts to TFLite builtin ops at a variable frame
    count (`tf.nn.ctc_greedy_decoder`, used by `keras.ops.ctc_decode`,
    becomes the Flex op `FlexCTCGreedyDecoder`). Memory grows with
    `frames ** 2` per sequence (about 160 KB at 200 frames).

    Args:
        blank_index: id of the blank. Defaults to 0.
        **kwargs: base layer arguments (`name`, `dtype`).

    Call arguments:
        logits: `(batch_size, frames, num_classes)` logits.
        padding_mask: optional `(batch_size, frames)`, 1 for real frames,
            real frames first. None falls back to the Keras mask `mask`,
            else every frame is real.
        mask: the implicit Keras mask, used when `padding_mask` is None.

    Returns:
        A tuple `(labels, lengths, confidences)`:
        `labels` `(batch_size, frames)` int32, the decoded ids followed by
        -1; `lengths` `(batch_size,)` int32, the number of decoded ids;
        `confidences` `(batch_size, frames)` in the compute dtype (float32
        by default), for each decoded id the highest softmax probability
        over the frames that emitted it, 0 at padding.

    Example:

    >>> import numpy as np
    >>> logits = np.log(np.array([[[.1, .8, .1], [.1, .8, .1],
    ...                            [.8, .1, .1], [.1, .1, .8]]], "float32"))
    >>> labels, lengths, confidences = CTCGreedyDecoder()(logits)
    >>> labels.numpy().tolist(), lengths.numpy().tolist()
    ([[1, 2, -1, -1]], [2])
    """

    def __init__(self, blank_index=0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(blank_index, int) or blank_index < 0:
            raise ValueError(
                "`blank_index` must be a non-negative integer. Received: "
                f"blank_index={blank_index}"
            )
        self.blank_index = blank_index
        self.supports_masking = True

    def build(self, input_shape):
        num_classes = input_shape[-1]
        if len(input_shape) != 3:
            raise ValueError(
                "CTCGreedyDecoder expects logits `(batch_size, frames, "
                f"num_classes)`. Received: shape {tuple(input_shape)}"
            )
        if num_classes is not None and self.blank_index >= num_classes:
            raise ValueError(
                "`blank_index` must lie in [0, num_classes) with num_classes="
                f"{num_classes}. Received: blank_index={self.blank_index}"
            )

    def call(self, logits, padding_mask=None, mask=None):
        if padding_mask is None:
            padding_mask = mask
        frames = ops.shape(logits)[1]
        # best: (batch_size, frames)
        # tf.argmax, not ops.argmax: the latter's bitcast and BitwiseAnd
        # (for negative zeros) are not TFLite builtins.
        best = tf.argmax(logits, axis=-1, output_type=tf.int32)
        probs = ops.softmax(ops.cast(logits, "float32"), axis=-1)
        confidence = ops.max(probs, axis=-1)

        # 1. Which frames belong to an emitted id, which start one. Kept as
        # float 0/1: boolean slicing and bitwise ops are not builtin.
        real = ops.cast(ops.not_equal(best, self.blank_index), "float32")
        if padding_mask is not None:
            real = real * ops.cast(padding_mask, "float32")
        previous = ops.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
        starts = real * ops.cast(ops.not_equal(best, previous), "float32")

        # 2. Output slot of every frame: kept ids counted so far, minus 1.
        starts = ops.cast(starts, "int32")
        slot = ops.cumsum(starts, axis=1) - 1
        positions = ops.arange(frames, dtype="int32")
        # hits: (batch_size, frames, frames); frame t feeds output slot s.
        hits = ops.cast(
            ops.equal(
                ops.expand_dims(slot, 2), ops.reshape(positions, (1, 1, -1))
            ),
            "float32",
        )
        hits = hits * ops.expand_dims(real, 2)

        # 3. Every frame that feeds a slot carries the same id.
        filled = ops.max(hits, axis=1)  # (batch_size, frames)
        ids = ops.max(hits * ops.expand_dims(ops.cast(best, "float32"), 2), 1)
        labels = ops.where(filled > 0, ops.cast(ids, "int32"), -1)
        confidences = ops.max(hits * ops.expand_dims(confidence, 2), axis=1)
        lengths = ops.sum(starts, axis=1)
        return labels, lengths, ops.cast(confidences, self.compute_dtype)

    def compute_mask(self, logits, mask=None):
        return None

    def compute_output_spec(self, logits, padding_mask=None, mask=None):
        batch_size, frames = logits.shape[0], logits.shape[1]
        return (
            keras.KerasTensor((batch_size, frames), dtype="int32"),
            keras.KerasTensor((batch_size,), dtype="int32"),
            keras.KerasTensor((batch_size, frames), dtype=self.compute_dtype),
        )

    def get_config(self):
        return {**super().get_config(), "blank_index": self.blank_index}
