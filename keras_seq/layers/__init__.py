"""Sequence layers: position encodings, attention, transformer, recurrent,
temporal convolution, the image-to-sequence front end and pooling."""

from keras_seq.layers.export_mode import export_mode, in_export_mode

# Position encodings, attention and transformer blocks.

# Recurrent blocks.

# Convolution and pooling.

__all__ = [
    "export_mode",
    "in_export_mode",
]
