"""ALiBi: linear attention biases (Press et al., 2022)."""

import math

import keras
import numpy as np
from keras import ops


def alibi_slopes(num_heads):
    """The head slopes of Press et al. (2022), for any head count.

    For `n` a power of two the slopes are the geometric sequence that
    starts at and has ratio `2 ** (-8 / n)` (8 heads: 1/2, 1/4, ...,
    1/256). Otherwise the paper takes the slopes of the closest lower power
    of two `p`, then every other slope of `2 * p` heads, until `n` slopes.

    Args:
        num_heads: the number of attention heads.

    Returns:
        A list of `num_heads` floats.
    """
    if num_heads < 1:
        raise ValueError(
            f"`num_heads` must be positive. Received: num_heads={num_heads}"
        )

    def power_of_two(n):
        start = 2.0 ** (-8.0 / n)
        return [start ** (i + 1) for i in range(n)]

    if math.log2(num_heads).is_integer():
        return power_of_two(num_heads)
    lower = 2 ** int(math.floor(math.log2(num_heads)))
    extra = alibi_slopes(2 * lower)[0::2][: num_heads - lower]
    return power_of_two(lower) + extra


@keras.saving.register_keras_serializable(package="keras_seq")
class AlibiBias(keras.layers.Layer):
    """Adds ALiBi's per-head linear distance penalty to attention scores.

    Head `h` adds `-slope_h * distance(i, j)` to the score of query `i` for
    key `j`. With `bidirectional=False` (the causal variant of the paper)
    the distance is `i - j`; use it under a causal mask, which hides the
    keys `j > i`. With `bidirectional=True` it is `|i - j|`, a symmetric
    penalty for encoders that look both ways. The slopes follow the paper's
    schedule for any head count (see `alibi_slopes`). The bias is computed
    in float32 from positions with plain ops, so a converted TFLite model
    runs at any length.

    Args:
        num_heads: the number of heads of the scores.
        bidirectional: False for the causal `i - j` distance, True for the
            symmetric `|i - j|`.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        attention_scores: `(batch_size, num_heads, query_length,
            key_length)`, before the softmax.
        start_index: the position of the first query (an int or a scalar
            integer tensor); keys are at positions `0 .. key_length - 1`.
            Used when decoding with a cache.

    Returns:
        `attention_scores` plus the bias, same shape.

    Example:

    >>> import numpy as np
    >>> scores = np.zeros((1, 8, 3, 3), "float32")
    >>> biased = AlibiBias(num_heads=8)(scores)
    >>> float(biased[0, 0, 2, 0])  # -(1/2) * (2 - 0)
    -1.0

    References:
        - [Press et al., 2022, Train Short, Test Long](
          https://arxiv.org/abs/2108.12409), section 3.
    """

    def __init__(self, num_heads, bidirectional=False, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.bidirectional = bidirectional
        self.slopes = alibi_slopes(num_heads)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "`AlibiBias` expects scores of shape (batch_size, num_heads, "
                f"query_length, key_length). Received: input_shape="
                f"{input_shape}"
            )
        if input_shape[1] is not None and input_shape[1] != self.num_heads:
            raise ValueError(
                f"The scores have {input_shape[1]} heads, the layer "
                f"{self.num_heads}. Received: input_shape={input_shape}"
            )
        self.built = True

    def bias(self, query_length, key_length, start_index=0):
        """The bias, `(1, num_heads, query_length, key_length)`, float32."""
        query = ops.arange(query_length, dtype="float32")
        query = query + ops.cast(start_index, "float32")
        key = ops.arange(key_length, dtype="float32")
        # (query_length, 1) - (1, key_length) -> (query_length, key_length)
        distance = ops.expand_dims(query, 1) - ops.expand_dims(key, 0)
        if self.bidirectional:
            distance = ops.abs(distance)
        slopes = np.asarray(self.slopes, "float32").reshape(1, -1, 1, 1)
        # (1, num_heads, 1, 1) * (1, 1, query_length, key_length)
        return -ops.convert_to_tensor(slopes) * distance[None, None]

    def call(self, attention_scores, start_index=0):
        shape = ops.shape(attention_scores)
        bias = self.bias(shape[2], shape[3], start_index)
        return attention_scores + ops.cast(bias, attention_scores.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "bidirectional": self.bidirectional,
        }
