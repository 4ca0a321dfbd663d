"""Every encoder backbone converts builtin-only with parity at two lengths,
inside a task model (slow: each conversion takes tens of seconds here)."""

import pytest

from keras_seq.apps.classify.app import APP
from keras_seq.apps.text import app as text_app
from keras_seq.apps.text import toy_data


@pytest.mark.slow
@pytest.mark.parametrize(
    "encoder_config",
    [
        {"backbone": "transformer", "position_encoding": "rotary"},
        {"backbone": "transformer", "position_encoding": "alibi"},
        {"backbone": "transformer", "position_encoding": "sinusoidal"},
        {"backbone": "recurrent", "cell_type": "gru"},
        {"backbone": "conv_recurrent"},
    ],
    ids=lambda c: "-".join(str(v) for v in c.values()),
)
def test_backbone_trains_and_exports(tmp_path, encoder_config):
    data = str(tmp_path / "train.csv")
    toy_data.write_sentiment(data, count=24)
    config = dict(
        encoder_config,
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        intermediate_dim=32,
    )
    run = str(tmp_path / "run")
    text_app.train(
        APP,
        data,
        run,
        tokenizer="byte",
        encoder_config=config,
        epochs=1,
        verbose=0,
    )
    result = text_app.export(APP, run, str(tmp_path / "model.tflite"))
    assert result["parity_ok"], result
