"""Sequence layers: position encodings, attention, transformer, recurrent,
temporal convolution, the image-to-sequence front end and pooling."""

# The imports below are grouped by topic, not alphabetically.
# ruff: noqa: I001

from keras_seq.layers.export_mode import export_mode, in_export_mode

# Position encodings, attention and transformer blocks.
from keras_seq.layers.sinusoidal_position_encoding import (
    SinusoidalPositionEncoding,
)
from keras_seq.layers.position_embedding import PositionEmbedding
from keras_seq.layers.rotary_embedding import RotaryEmbedding
from keras_seq.layers.alibi_bias import AlibiBias
from keras_seq.layers.multi_head_attention import MultiHeadAttention
from keras_seq.layers.transformer_encoder_block import (
    TransformerEncoderBlock,
)
from keras_seq.layers.transformer_decoder_block import (
    TransformerDecoderBlock,
)

# Recurrent blocks.
from keras_seq.layers.recurrent_block import RecurrentBlock

# Convolution and pooling.
from keras_seq.layers.conv_front_end import ConvFrontEnd
from keras_seq.layers.temporal_conv_block import TemporalConvBlock
from keras_seq.layers.masked_global_pooling import MaskedGlobalPooling
from keras_seq.layers.attention_pooling import AttentionPooling

__all__ = [
    "SinusoidalPositionEncoding",
    "PositionEmbedding",
    "RotaryEmbedding",
    "AlibiBias",
    "MultiHeadAttention",
    "TransformerEncoderBlock",
    "TransformerDecoderBlock",
    "RecurrentBlock",
    "ConvFrontEnd",
    "TemporalConvBlock",
    "MaskedGlobalPooling",
    "AttentionPooling",
    "export_mode",
    "in_export_mode",
]
