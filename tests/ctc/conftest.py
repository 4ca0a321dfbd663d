import keras
import pytest


@pytest.fixture
def decoder_model():
    """A model around a CTC decoder layer, with its outputs named.

    `decoder_model(layer, num_classes, names)` takes logits and a padding
    mask and returns the layer's three outputs under `names`, so LiteRT's
    signature outputs can be looked up by name.
    """

    def build(layer, num_classes, names):
        logits = keras.Input((None, num_classes), name="logits")
        mask = keras.Input((None,), dtype="int32", name="padding_mask")
        outputs = layer(logits, padding_mask=mask)
        return keras.Model(
            [logits, mask],
            [keras.layers.Identity(name=n)(o) for n, o in zip(names, outputs)],
        )

    return build
