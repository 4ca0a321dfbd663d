"""Rotary position embedding (RoFormer), halves pairing."""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="keras_seq")
class RotaryEmbedding(keras.layers.Layer):
    """Rotates feature pairs by an angle that grows with the position.

    Pairing: feature `k` is paired with feature `k + rotary_dim / 2` (the
    "halves" pairing of GPT-NeoX and `keras_hub.layers.RotaryEmbedding`),
    not with its neighbour `k + 1` (the interleaved pairing of the paper).
    Pair `k` turns by `position / scaling_factor / max_wavelength **
    (2k / rotary_dim)` radians. With `rotary_percentage < 1` only the first
    `rotary_dim = feature_dim * rotary_percentage` features rotate; the rest
    pass through unchanged (partial rotary, as in GPT-NeoX).

    The angles are computed in float32 from the positions with plain ops
    (range, multiply, sin, cos), so a converted TFLite model runs at any
    length.

    Args:
        max_wavelength: the longest wavelength of the rotation angles.
        scaling_factor: positions are divided by it (linear position
            interpolation).
        rotary_percentage: fraction of the features that rotate, in (0, 1].
        sequence_axis: the axis of the positions.
        feature_axis: the axis of the features.
        **kwargs: other `keras.layers.Layer` arguments (`name`, `dtype`).

    Call arguments:
        inputs: a tensor with a sequence and a feature axis, typically
            `(batch_size, sequence_length, num_heads, head_dim)` or
            `(batch_size, sequence_length, hidden_dim)`.
        start_index: the position of the first step (an int or a scalar
            integer tensor), for decoding with a cache.

    Returns:
        The rotated tensor, same shape as `inputs`.

    Example:

    >>> import numpy as np
    >>> x = np.ones((2, 5, 4, 8), "float32")
    >>> y = RotaryEmbedding()(x)
    >>> tuple(y.shape)
    (2, 5, 4, 8)

    References:
        - [Su et al., 2021, RoFormer](https://arxiv.org/abs/2104.09864)
        - [Black et al., 2022, GPT-NeoX-20B](https://arxiv.org/abs/2204.06745)
    """

    def __init__(
        self,
        max_wavelength=10000,
        scaling_factor=1.0,
        rotary_percentage=1.0,
        sequence_axis=1,
        feature_axis=-1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.0 < rotary_percentage <= 1.0:
            raise ValueError(
                "`rotary_percentage` must be in (0, 1]. "
                f"Received: rotary_percentage={rotary_percentage}"
            )
        if scaling_factor <= 0:
            raise ValueError(
                "`scaling_factor` must be positive. "
                f"Received: scaling_factor={scaling_factor}"
            )
        self.max_wavelength = max_wavelength
        self.scaling_factor = scaling_factor
        self.rotary_percentage = rotary_percentage
        self.sequence_axis = sequence_axis
        self.feature_axis = feature_axis
        self.supports_masking = True

    def _axes(self, rank):
        sequence_axis = self.sequence_axis % rank
        feature_axis = self.feature_axis % rank
        if sequence_axis == feature_axis or sequence_axis == 0:
            raise ValueError(
                "`sequence_axis` and `feature_axis` must be two different "
                "non-batch axes. Received: "
                f"sequence_axis={self.sequence_axis}, "
                f"feature_axis={self.feature_axis} for rank {rank}"
            )
        return sequence_axis, feature_axis

    def rotary_dim(self, feature_dim):
        """The number of rotated features for `feature_dim` features."""
        rotary_dim = int(feature_dim * self.rotary_percentage)
        if rotary_dim < 2 or rotary_dim % 2:
            raise ValueError(
                "The rotated part must have an even number of features "
                f"(feature_dim * rotary_percentage). Received: "
                f"feature_dim={feature_dim}, "
                f"rotary_percentage={self.rotary_percentage}"
            )
        return rotary_dim

    def build(self, input_shape):
        rank = len(input_shape)
        if rank < 3:
            raise ValueError(
                "`RotaryEmbedding` expects a batch, a sequence and a feature "
                f"axis. Received: input_shape={input_shape}"
            )
        _, feature_axis = self._axes(rank)
        if input_shape[feature_axis] is None:
            raise ValueError(
                "The feature axis must be known. "
                f"Received: input_shape={input_shape}"
            )
        self.rotary_dim(input_shape[feature_axis])
        self.built = True

    def call(self, inputs, start_index=0):
        rank = len(inputs.shape)
        sequence_axis, feature_axis = self._axes(rank)
        moved = (sequence_axis, feature_axis) != (1, rank - 1)
        if moved:
            inputs = ops.moveaxis(
                inputs, (sequence_axis, feature_axis), (1, rank - 1)
            )
        feature_dim = inputs.shape[-1]
        rotary_dim = self.rotary_dim(feature_dim)

        # Angles in float32: (sequence_length,) x (rotary_dim / 2,).
        exponents = np.arange(0, rotary_dim, 2, dtype="float64") / rotary_dim
        inverse_freq = np.power(float(self.max_wavelength), -exponents)
        inverse_freq = (inverse_freq / self.scaling_factor).astype("float32")
        positions = ops.arange(ops.shape(inputs)[1], dtype="float32")
        positions = positions + ops.cast(start_index, "float32")
        # (sequence_length, 1) * (1, rotary_dim / 2) -> (sequence_length,
        # rotary_dim / 2)
        angles = (
            ops.expand_dims(positions, 1)
            * ops.convert_to_tensor(inverse_freq)[None, :]
        )
        # (sequence_length, rotary_dim / 2) -> (sequence_length, rotary_dim)
        angles = ops.concatenate([angles, angles], axis=-1)
        # (sequence_length, rotary_dim) -> (1, sequence_length, 1, ...,
        # rotary_dim), broadcastable against the inputs.
        angles = ops.reshape(
            angles, (1, -1) + (1,) * (rank - 3) + (rotary_dim,)
        )
        cos = ops.cast(ops.cos(angles), self.compute_dtype)
        sin = ops.cast(ops.sin(angles), self.compute_dtype)

        # Rotate the first rotary_dim features, pass the rest through.
        if rotary_dim < feature_dim:
            rotated, passed = inputs[..., :rotary_dim], inputs[..., rotary_dim:]
        else:
            rotated, passed = inputs, None
        first, second = ops.split(rotated, 2, axis=-1)
        turned = ops.concatenate([-second, first], axis=-1)
        outputs = rotated * cos + turned * sin
        if passed is not None:
            outputs = ops.concatenate([outputs, passed], axis=-1)
        if moved:
            outputs = ops.moveaxis(
                outputs, (1, rank - 1), (sequence_axis, feature_axis)
            )
        return outputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "max_wavelength": self.max_wavelength,
            "scaling_factor": self.scaling_factor,
            "rotary_percentage": self.rotary_percentage,
            "sequence_axis": self.sequence_axis,
            "feature_axis": self.feature_axis,
        }
