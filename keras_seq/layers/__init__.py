"""Sequence layers: position encodings, attention, transformer, recurrent,
temporal convolution, the image-to-sequence front end and pooling."""

# The imports below are grouped by topic, not alphabetically.
# ruff: noqa: I001

from keras_seq.layers.export_mode import export_mode, in_export_mode

# Position encodings, attention and transformer blocks.

# Recurrent blocks.
from keras_seq.layers.recurrent_block import RecurrentBlock

# Convolution and pooling.
from keras_seq.layers.conv_front_end import ConvFrontEnd
from keras_seq.layers.temporal_conv_block import TemporalConvBlock

__all__ = [
    "RecurrentBlock",
    "ConvFrontEnd",
    "TemporalConvBlock",
    "export_mode",
    "in_export_mode",
]
