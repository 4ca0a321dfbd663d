"""Training-loop pieces shared by the text apps.

`fit` runs `model.fit` with the callbacks every app wants: a time budget
(`--minutes`), a backup every 50 batches (an interrupted run resumes where
it stopped, budget included, when started again with the same `--out`), the
best model by validation loss, TensorBoard logs, a CSV history, and Keras's
progress bar.
"""

import importlib.util
import logging
import os
import time

import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from keras_seq.apps.training import (
    TimeBudget,
    backup_and_restore,
    minutes_so_far,
)

logger = logging.getLogger(__name__)


class ScalarLogger(keras.callbacks.Callback):
    """Per-epoch scalars as TensorBoard event files, without TensorBoard.

    Keras's `TensorBoard` callback needs the `tensorboard` package; this
    one writes the same per-epoch scalars (`train/` and `validation/`)
    with `tf.summary.write`, which TensorFlow ships, so the logs exist
    either way and TensorBoard reads them when it is installed.

    Args:
        log_dir: the folder for the event files.
    """

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = log_dir
        self._writer = None
        self._metadata = summary_pb2.SummaryMetadata()
        self._metadata.plugin_data.plugin_name = "scalars"

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default():
            for key, value in (logs or {}).items():
                tag = (
                    f"validation/{key[4:]}"
                    if key.startswith("val_")
                    else f"train/{key}"
                )
                tf.summary.write(
                    tag,
                    tf.constant(float(value)),
                    step=epoch,
                    metadata=self._metadata,
                )
        self._writer.flush()


def tensorboard_callback(log_dir):
    """Keras's `TensorBoard` when installed, else `ScalarLogger`."""
    if importlib.util.find_spec("tensorboard") is not None:
        return keras.callbacks.TensorBoard(log_dir)
    return ScalarLogger(log_dir)


def callbacks(out, minutes=None, patience=None, monitor="val_loss"):
    """The callback list of a training run writing into `out`.

    Returns:
        `(callbacks, time_budget)`.
    """
    os.makedirs(out, exist_ok=True)
    history = os.path.join(out, "history.csv")
    resuming = os.path.isdir(os.path.join(out, "backup"))
    budget = TimeBudget(
        minutes or None,
        elapsed_minutes=minutes_so_far(history) if resuming else 0.0,
    )
    result = [
        budget,
        backup_and_restore(os.path.join(out, "backup")),
        keras.callbacks.ModelCheckpoint(
            os.path.join(out, "best.keras"),
            monitor=monitor,
            save_best_only=True,
        ),
        tensorboard_callback(os.path.join(out, "logs")),
        keras.callbacks.CSVLogger(history, append=True),
    ]
    if patience:
        result.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=patience, restore_best_weights=True
            )
        )
    return result, budget


def fit(
    model,
    train_data,
    val_data,
    out,
    epochs,
    batch_size,
    minutes=None,
    patience=None,
    class_weight=None,
    verbose="auto",
):
    """`model.fit` with the shared callbacks; returns a summary dict.

    Args:
        train_data: `(inputs, targets)` or `(inputs, targets,
            sample_weights)` numpy structures.
        val_data: the same for validation, or None.
        out: the run folder.
        epochs, batch_size: as in `model.fit`.
        minutes: a time budget, or None.
        patience: early stopping patience in epochs, or None.
        class_weight: as in `model.fit`.
    """
    monitor = "val_loss" if val_data is not None else "loss"
    cbs, budget = callbacks(out, minutes, patience, monitor)
    x, y = train_data[0], train_data[1]
    sample_weight = train_data[2] if len(train_data) > 2 else None
    start = time.monotonic()
    history = model.fit(
        x,
        y,
        sample_weight=sample_weight,
        validation_data=val_data,
        epochs=epochs,
        batch_size=batch_size,
        class_weight=class_weight,
        callbacks=cbs,
        shuffle=True,
        verbose=verbose,
    )
    seconds = time.monotonic() - start
    epochs_run = len(history.history.get("loss", []))
    count = len(keras.tree.flatten(x)[0])
    return {
        "epochs_run": epochs_run,
        "seconds": round(seconds, 2),
        "examples_per_second": round(
            count * max(epochs_run, 1) / max(seconds, 1e-9), 1
        ),
        "stopped_by_time_budget": budget.reached,
        "final": {k: float(v[-1]) for k, v in history.history.items() if v},
    }
