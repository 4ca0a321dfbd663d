"""`CTCInfeasibleSamples`: counts samples CTC cannot align."""

import keras
import tensorflow as tf

from keras_seq.ctc.ctc_loss import label_lengths, required_frames


@keras.saving.register_keras_serializable(package="keras_seq")
class CTCInfeasibleSamples(keras.metrics.Metric):
    """Number of samples with fewer frames than their label needs.

    A label needs one frame per id plus one blank between two equal
    neighbours. `keras_seq.ctc.CTCLoss` gives such samples zero loss;
    this metric puts their count in the `model.fit` logs, so a front end
    that shrinks the frames too much, or labels that are too long, show
    up while training. Frame counts come from the Keras mask of `y_pred`
    (else every frame counts), like `CTCLoss`.

    TensorFlow only.

    Args:
        padding_value: id that pads labels. Defaults to -1.
        name: metric name. Defaults to "ctc_infeasible".
        dtype: dtype of the result.

    Call arguments (`update_state`):
        y_true: `(batch_size, max_label_length)` labels.
        y_pred: `(batch_size, frames, num_classes)` logits.
        sample_weight: ignored (a count of samples).

    Example:

    >>> import numpy as np
    >>> metric = CTCInfeasibleSamples()
    >>> labels = np.array([[1, 2, 3], [2, 2, -1]])  # need 3 frames each
    >>> metric.update_state(labels, np.zeros((2, 2, 4), "float32"))
    >>> float(metric.result())
    2.0
    """

    def __init__(self, padding_value=-1, name="ctc_infeasible", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.padding_value = padding_value
        self.count = self.add_variable(
            shape=(), initializer="zeros", dtype="float32", name="count"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)
        logits = tf.convert_to_tensor(y_pred)
        labels = tf.cast(tf.convert_to_tensor(y_true), tf.int32)
        if labels.shape.rank == 1:
            labels = labels[:, None]
        if mask is None:
            frames = tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1])
        else:
            frames = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        needed = required_frames(
            labels, label_lengths(labels, self.padding_value)
        )
        self.count.assign_add(
            tf.reduce_sum(tf.cast(needed > frames, tf.float32))
        )

    def result(self):
        return tf.identity(self.count)

    def reset_state(self):
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "padding_value": self.padding_value}
