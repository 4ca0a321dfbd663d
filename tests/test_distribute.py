"""A keras_seq model trains under MirroredStrategy on two logical CPUs and
reaches the same loss as on one device.

Logical devices must be set before TensorFlow starts, so the training runs
in a fresh interpreter.
"""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import keras
    import numpy as np
    from keras_seq import layers

    def build():
        keras.utils.set_random_seed(0)
        inputs = keras.Input((None, 8))
        x = layers.RecurrentBlock(16, cell_type="gru", bidirectional=True)(
            inputs
        )
        x = layers.MaskedGlobalPooling("mean")(x)
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        return model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 12, 8)).astype("float32")
    y = x.mean(axis=(1, 2))[:, None].astype("float32")
    losses = {}
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = build()
    fit = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    losses["mirrored"] = fit.history["loss"]
    losses["replicas"] = strategy.num_replicas_in_sync
    model = build()
    fit = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    losses["single"] = fit.history["loss"]
    print("RESULT" + json.dumps(losses))
    """
)


def test_mirrored_strategy_matches_single_device():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = [s for s in result.stdout.splitlines() if s.startswith("RESULT")]
    losses = json.loads(line[-1][len("RESULT") :])
    assert losses["replicas"] == 2
    # Training moved the loss, and both runs moved it the same way.
    assert losses["single"][-1] < losses["single"][0]
    for a, b in zip(losses["mirrored"], losses["single"]):
        assert abs(a - b) <= 1e-4 * max(1.0, abs(b)), losses
