"""Text encoders (backbones) chosen by name, as Functional models.

Every encoder takes `token_ids` and `padding_mask`, both int32
`(batch_size, sequence_length)` (1 = real token), and returns
`(batch_size, sequence_length, hidden_dim)`, zero-masked or not, with the
padding mask passed on to the head explicitly. Kinds:

- `"transformer"`: token embedding, then positions (`"learned"`,
  `"sinusoidal"`, or inside the attention: `"rotary"`, `"alibi"`), then
  `num_layers` `TransformerEncoderBlock`s and a final layer norm;
- `"recurrent"`: token embedding, then a bidirectional `RecurrentBlock`;
- `"conv_recurrent"`: token embedding, `TemporalConvBlock`s, then a
  bidirectional `RecurrentBlock`;
- `"bag"`: the token embedding alone; the head's masked sum or mean makes
  it the bag-of-embeddings baseline.
"""

import keras

from keras_seq.layers.position_embedding import PositionEmbedding
from keras_seq.layers.recurrent_block import RecurrentBlock
from keras_seq.layers.sinusoidal_position_encoding import (
    SinusoidalPositionEncoding,
)
from keras_seq.layers.temporal_conv_block import TemporalConvBlock
from keras_seq.layers.transformer_encoder_block import (
    TransformerEncoderBlock,
)

BACKBONES = ("transformer", "recurrent", "conv_recurrent", "bag")
POSITIONS = ("learned", "sinusoidal", "rotary", "alibi", "none")


def encoder_inputs():
    """The two named int32 inputs every text model takes."""
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input((None,), dtype="int32", name="padding_mask")
    return token_ids, padding_mask


def default_encoder_config(backbone="transformer", **overrides):
    """The encoder arguments with their defaults, updated by `overrides`."""
    config = {
        "backbone": backbone,
        "vocabulary_size": None,
        "hidden_dim": 128,
        "num_layers": 2,
        "num_heads": 4,
        "intermediate_dim": 256,
        "dropout": 0.1,
        "position_encoding": "learned",
        "cell_type": "lstm",
        "max_sequence_length": 512,
    }
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(
            f"Unknown encoder arguments {sorted(unknown)}. Known: "
            f"{sorted(config)}"
        )
    config.update({k: v for k, v in overrides.items() if v is not None})
    return config


def build_encoder(config):
    """A Functional encoder from `default_encoder_config`-style `config`.

    Returns:
        A `keras.Model` named `"encoder"`: inputs `token_ids`,
        `padding_mask`; output `(batch_size, sequence_length, hidden_dim)`.
    """
    backbone = config["backbone"]
    if backbone not in BACKBONES:
        raise ValueError(
            f"`backbone` must be one of {BACKBONES}. "
            f"Received: backbone={backbone!r}"
        )
    position = config.get("position_encoding") or "none"
    if position not in POSITIONS:
        raise ValueError(
            f"`position_encoding` must be one of {POSITIONS}. "
            f"Received: position_encoding={position!r}"
        )
    vocabulary_size = config["vocabulary_size"]
    if not vocabulary_size or vocabulary_size < 6:
        raise ValueError(
            "`vocabulary_size` must be at least 6 (five special tokens and "
            f"one more). Received: vocabulary_size={vocabulary_size}"
        )
    hidden_dim = int(config["hidden_dim"])
    num_layers = int(config["num_layers"])
    dropout = float(config["dropout"])

    token_ids, padding_mask = encoder_inputs()
    x = keras.layers.Embedding(
        vocabulary_size, hidden_dim, name="token_embedding"
    )(token_ids)

    if backbone == "transformer":
        if position == "learned":
            x = x + PositionEmbedding(
                config["max_sequence_length"], name="position_embedding"
            )(x)
        elif position == "sinusoidal":
            x = x + SinusoidalPositionEncoding(
                max_sequence_length=config["max_sequence_length"],
                name="position_encoding",
            )(x)
        x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
        attention_position = (
            position if position in ("rotary", "alibi") else None
        )
        for i in range(num_layers):
            x = TransformerEncoderBlock(
                num_heads=int(config["num_heads"]),
                intermediate_dim=int(config["intermediate_dim"]),
                dropout=dropout,
                normalize_first=True,
                position_encoding=attention_position,
                max_sequence_length=config["max_sequence_length"],
                name=f"transformer_{i}",
            )(x, padding_mask=padding_mask)
        x = keras.layers.LayerNormalization(name="final_norm")(x)
    elif backbone in ("recurrent", "conv_recurrent"):
        if backbone == "conv_recurrent":
            for i in range(num_layers):
                x = TemporalConvBlock(
                    hidden_dim,
                    kernel_size=3,
                    dilation_rate=2**i,
                    padding="same",
                    dropout=dropout,
                    name=f"conv_{i}",
                )(x, padding_mask=padding_mask)
        x = RecurrentBlock(
            hidden_dim // 2,
            cell_type=config.get("cell_type", "lstm"),
            bidirectional=True,
            num_layers=1 if backbone == "conv_recurrent" else num_layers,
            dropout=dropout,
            name="recurrent",
        )(x, padding_mask=padding_mask)
    return keras.Model(
        {"token_ids": token_ids, "padding_mask": padding_mask},
        x,
        name="encoder",
    )


def encoder_output_dim(encoder):
    """The feature size of an encoder's output."""
    return int(encoder.output.shape[-1])
