"""`CTCBeamSearchDecoder`: prefix beam search inside the model graph."""

import keras
import tensorflow as tf

# A finite stand-in for log(0): -inf would give NaN in the one-hot sums.
_LOG_ZERO = -1e30


@keras.saving.register_keras_serializable(package="keras_seq")
class CTCBeamSearchDecoder(keras.layers.Layer):
    """CTC prefix beam search with a fixed beam width, builtin TFLite ops.

    TensorFlow backend only. Id `blank_index` (0 by default) is the
    blank; with the default the characters are ids 1 .. num_classes - 1.

    The same search as `keras_seq.ctc.beam_search_decode` without lexicon
    or LM: every frame extends each of `beam_width` prefixes by every id,
    merges an extension into an existing beam with the same prefix, and
    keeps the `beam_width` best by `log P(prefix)`. Prefixes live in a
    `(batch_size, beam_width, frames)` tensor; the frame loop is a
    `tf.while_loop` (the WHILE builtin) whose body uses only builtin ops
    (TOPK_V2, one-hot sums, comparisons), so the layer converts at any
    frame count. Cost per frame grows with `beam_width ** 2 * frames`.

    Args:
        beam_width: number of prefixes kept. Defaults to 8.
        blank_index: id of the blank. Defaults to 0.
        **kwargs: base layer arguments.

    Call arguments:
        logits: `(batch_size, frames, num_classes)`.
        padding_mask: optional `(batch_size, frames)`, 1 for real frames,
            real frames first. None falls back to the Keras mask.
        mask: the implicit Keras mask.

    Returns:
        A tuple `(labels, lengths, scores)`: `labels` `(batch_size,
        frames)` int32, the best prefix followed by -1; `lengths`
        `(batch_size,)` int32; `scores` `(batch_size,)` float32, the best
        prefix's log probability.

    Example:

    >>> import numpy as np
    >>> logits = np.log(np.array([[[.1, .8, .1], [.8, .1, .1],
    ...                            [.1, .1, .8]]], "float32"))
    >>> labels, lengths, scores = CTCBeamSearchDecoder(beam_width=4)(logits)
    >>> labels.numpy().tolist(), lengths.numpy().tolist()
    ([[1, 2, -1]], [2])
    """

    def __init__(self, beam_width=8, blank_index=0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(beam_width, int) or beam_width < 1:
            raise ValueError(
                "`beam_width` must be a positive integer. Received: "
                f"beam_width={beam_width}"
            )
        if not isinstance(blank_index, int) or blank_index < 0:
            raise ValueError(
                "`blank_index` must be a non-negative integer. Received: "
                f"blank_index={blank_index}"
            )
        self.beam_width = beam_width
        self.blank_index = blank_index
        self.supports_masking = True

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "CTCBeamSearchDecoder expects logits `(batch_size, frames, "
                f"num_classes)`. Received: shape {tuple(input_shape)}"
            )
        num_classes = input_shape[-1]
        if num_classes is not None and self.blank_index >= num_classes:
            raise ValueError(
                "`blank_index` must lie in [0, num_classes) with num_classes="
                f"{num_classes}. Received: blank_index={self.blank_index}"
            )

    def call(self, logits, padding_mask=None, mask=None):
        if padding_mask is None:
            padding_mask = mask
        width, blank = self.beam_width, self.blank_index
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
        batch_size = tf.shape(log_probs)[0]
        frames = tf.shape(log_probs)[1]
        num_classes = log_probs.shape[-1]
        if padding_mask is None:
            valid = tf.ones([batch_size, frames], tf.float32)
        else:
            valid = tf.cast(padding_mask, tf.float32)
        positions = tf.range(frames)
        class_ids = tf.range(num_classes)
        not_blank = tf.cast(tf.not_equal(class_ids, blank), tf.float32)

        # Beam 0 is the empty prefix; the others start dead.
        alive0 = tf.one_hot(tf.zeros([batch_size], tf.int32), width)
        state = (
            tf.constant(0),
            tf.fill([batch_size, width, frames], -1),  # prefixes
            tf.zeros([batch_size, width], tf.int32),  # lengths
            tf.fill([batch_size, width], -1),  # last ids
            (1.0 - alive0) * _LOG_ZERO,  # log P(ends in blank)
            tf.fill([batch_size, width], _LOG_ZERO),  # log P(ends in id)
        )

        def step(t, prefixes, lengths, last, p_b, p_nb):
            # lp: (batch_size, num_classes)
            lp = log_probs[:, t]
            total = tf.reduce_logsumexp(tf.stack([p_b, p_nb]), axis=0)
            alive = tf.cast(total > _LOG_ZERO / 2, tf.float32)
            # last_hot: (batch_size, width, num_classes)
            last_hot = tf.one_hot(last, num_classes)
            lp_last = tf.reduce_sum(last_hot * tf.expand_dims(lp, 1), axis=-1)

            # 1. Same prefix: a blank, or the last id repeated.
            same_b = total + lp[:, blank : blank + 1]
            has_last = tf.cast(last >= 0, tf.float32)
            same_nb = has_last * (p_nb + lp_last) + (1 - has_last) * _LOG_ZERO

            # 2. Extensions: (batch_size, width, num_classes).
            ext = (
                last_hot * tf.expand_dims(p_b, 2)
                + (1 - last_hot) * tf.expand_dims(total, 2)
                + tf.expand_dims(lp, 1)
            )
            ext = ext * not_blank + (1 - not_blank) * _LOG_ZERO

            # 3. child[b, i, j] = 1 when beam j is beam i plus one id.
            # Compare prefixes position by position below beam i's length.
            same_pos = tf.cast(
                tf.equal(
                    tf.expand_dims(prefixes, 2), tf.expand_dims(prefixes, 1)
                ),
                tf.float32,
            )  # (batch_size, width, width, frames)
            below = tf.cast(
                tf.reshape(positions, [1, 1, 1, -1])
                < tf.expand_dims(tf.expand_dims(lengths, 2), 3),
                tf.float32,
            )
            mismatches = tf.reduce_sum(below * (1 - same_pos), axis=-1)
            child = (
                tf.cast(tf.equal(mismatches, 0), tf.float32)
                * tf.cast(
                    tf.equal(
                        tf.expand_dims(lengths, 1),
                        tf.expand_dims(lengths, 2) + 1,
                    ),
                    tf.float32,
                )
                * tf.expand_dims(alive, 2)
                * tf.expand_dims(alive, 1)
            )
            # ext_to[b, i, j]: beam i's extension by beam j's last id.
            ext_to = tf.matmul(ext, last_hot, transpose_b=True)
            merged = tf.reduce_max(
                child * ext_to + (1 - child) * _LOG_ZERO, axis=1
            )
            same_nb = tf.reduce_logsumexp(tf.stack([same_nb, merged]), 0)
            # Extensions merged above leave the candidate list.
            taken = tf.minimum(tf.matmul(child, last_hot), 1.0)
            ext = ext * (1 - taken) + taken * _LOG_ZERO

            # 4. The best `width` of beams and extensions.
            same = tf.reduce_logsumexp(tf.stack([same_b, same_nb]), 0)
            same = alive * same + (1 - alive) * _LOG_ZERO
            candidates = tf.concat(
                [same, tf.reshape(ext, [batch_size, width * num_classes])],
                axis=1,
            )
            _, top = tf.math.top_k(candidates, k=width)
            grown = tf.cast(top >= width, tf.int32)
            offset = tf.maximum(top - width, 0)
            source = grown * (offset // num_classes) + (1 - grown) * top
            new_id = offset % num_classes
            # pick: (batch_size, width, width) one-hot of each source beam.
            pick = tf.one_hot(source, width)
            new_b = tf.reduce_sum(pick * tf.expand_dims(same_b, 1), axis=-1)
            new_b = tf.where(grown > 0, _LOG_ZERO, new_b)
            kept_nb = tf.reduce_sum(pick * tf.expand_dims(same_nb, 1), axis=-1)
            ext_rows = tf.matmul(pick, ext)  # (batch_size, width, classes)
            grown_nb = tf.reduce_sum(
                ext_rows * tf.one_hot(new_id, num_classes), axis=-1
            )
            new_nb = tf.where(grown > 0, grown_nb, kept_nb)
            old_len = tf.cast(
                tf.reduce_sum(
                    pick * tf.expand_dims(tf.cast(lengths, tf.float32), 1), -1
                ),
                tf.int32,
            )
            old_last = tf.cast(
                tf.reduce_sum(
                    pick * tf.expand_dims(tf.cast(last, tf.float32), 1), -1
                ),
                tf.int32,
            )
            old_prefix = tf.cast(
                tf.matmul(pick, tf.cast(prefixes, tf.float32)), tf.int32
            )
            write = tf.logical_and(
                tf.equal(
                    tf.reshape(positions, [1, 1, -1]),
                    tf.expand_dims(old_len, 2),
                ),
                tf.expand_dims(grown, 2) > 0,
            )
            new_prefix = tf.where(write, tf.expand_dims(new_id, 2), old_prefix)
            new_len = old_len + grown
            new_last = tf.where(grown > 0, new_id, old_last)

            # 5. Padded frames leave the state as it was.
            keep = valid[:, t] > 0
            k2 = tf.expand_dims(keep, 1)
            return (
                t + 1,
                tf.where(tf.reshape(keep, [-1, 1, 1]), new_prefix, prefixes),
                tf.where(k2, new_len, lengths),
                tf.where(k2, new_last, last),
                tf.where(k2, new_b, p_b),
                tf.where(k2, new_nb, p_nb),
            )

        _, prefixes, lengths, _, p_b, p_nb = tf.while_loop(
            lambda t, *_: t < frames,
            step,
            state,
            shape_invariants=(
                tf.TensorShape([]),
                tf.TensorShape([None, width, None]),
                tf.TensorShape([None, width]),
                tf.TensorShape([None, width]),
                tf.TensorShape([None, width]),
                tf.TensorShape([None, width]),
            ),
        )
        total = tf.reduce_logsumexp(tf.stack([p_b, p_nb]), 0)
        best = tf.argmax(total, axis=1, output_type=tf.int32)
        pick = tf.one_hot(best, width)  # (batch_size, width)
        labels = tf.cast(
            tf.reduce_sum(
                tf.expand_dims(pick, 2) * tf.cast(prefixes, tf.float32), axis=1
            ),
            tf.int32,
        )
        lengths = tf.cast(
            tf.reduce_sum(pick * tf.cast(lengths, tf.float32), 1), tf.int32
        )
        scores = tf.reduce_sum(pick * total, axis=1)
        return labels, lengths, scores

    def compute_mask(self, logits, mask=None):
        return None

    def compute_output_spec(self, logits, padding_mask=None, mask=None):
        batch_size, frames = logits.shape[0], logits.shape[1]
        return (
            keras.KerasTensor((batch_size, frames), dtype="int32"),
            keras.KerasTensor((batch_size,), dtype="int32"),
            keras.KerasTensor((batch_size,), dtype="float32"),
        )

    def get_config(self):
        return {
            **super().get_config(),
            "beam_width": self.beam_width,
            "blank_index": self.blank_index,
        }
