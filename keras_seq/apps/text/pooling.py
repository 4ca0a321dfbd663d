"""The pooling of the sequence-level heads, chosen by name."""

from keras_seq.layers import AttentionPooling, MaskedGlobalPooling

POOLING_MODES = ("mean", "max", "sum", "attention")


def pooling_layer(mode, name="pooling"):
    """`MaskedGlobalPooling(mode)` or, for `"attention"`,
    `AttentionPooling`; both take `padding_mask`."""
    if mode not in POOLING_MODES:
        raise ValueError(
            f"`pooling` must be one of {POOLING_MODES}. "
            f"Received: pooling={mode!r}"
        )
    if mode == "attention":
        return AttentionPooling(name=name)
    return MaskedGlobalPooling(mode=mode, name=name)
