"""Training-loop pieces every app shares: a time budget that survives a
resume, and a backup that survives an interruption mid-epoch."""

import csv
import math
import os
import time

import keras

# Batches between two backups of the training state: an interruption loses
# at most this many steps, never a whole epoch.
BACKUP_EVERY = 50

# The history column holding the training minutes spent so far.
MINUTES_KEY = "minutes"


class _Backup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` saving every `save_freq` batches and at the end
    of every epoch (Keras does one or the other)."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self._save_model()
        self._batches_seen_since_last_saving = 0


def backup_and_restore(folder, every=None):
    """A backup of the training state every `every` batches (default
    `BACKUP_EVERY`) and at each epoch's end.

    On resume Keras restarts the interrupted epoch from its first batch,
    with the weights and optimizer state of the last backup: at most
    `every` batches of work are lost (the epoch's data are seen again),
    and finished epochs are never repeated.
    """
    return _Backup(folder, save_freq=every or BACKUP_EVERY)


def minutes_so_far(history_path):
    """Training minutes recorded in the last row of a CSV history.

    Returns 0.0 when the file, the row or the column is missing.
    """
    if not os.path.isfile(history_path):
        return 0.0
    with open(history_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in reversed(rows):
        try:
            return float(row[MINUTES_KEY])
        except (KeyError, TypeError, ValueError):
            continue
    return 0.0


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `minutes` have passed; optional cosine decay.

    The check runs after every batch: the epoch under way ends early and is
    still validated and checkpointed. Each epoch's logs get `minutes`, the
    training time so far, so a CSV history records it and a resumed run
    (`elapsed_minutes=minutes_so_far(history)`) continues the budget and
    the schedule instead of starting them again.

    With `learning_rate`, the optimizer's rate follows a linear warm-up over
    the first `warmup_fraction` of the budget, then a cosine decay to
    `final_fraction` of it at the end: the schedule follows the clock, not
    the step count, so it fits any machine speed.

    Attributes:
        reached: whether the budget ended the run.
        steps: batches trained by this process.

    Args:
        minutes: float, the budget; `None` for none (the callback then
            only records `minutes`).
        learning_rate: optional float, the peak rate of the schedule.
        warmup_fraction: float, share of the budget spent warming up.
        final_fraction: float, the last rate over the peak rate.
        elapsed_minutes: float, minutes already spent by earlier runs.

    Example:

    >>> budget = TimeBudget(30, learning_rate=1e-3, elapsed_minutes=15)
    >>> round(budget.rate_at(15 / 30), 6) < 1e-3
    True
    """

    def __init__(
        self,
        minutes,
        learning_rate=None,
        warmup_fraction=0.03,
        final_fraction=0.05,
        elapsed_minutes=0.0,
    ):
        super().__init__()
        if minutes is not None and not minutes > 0:
            raise ValueError(
                "`minutes` must be positive or None. Received: "
                f"minutes={minutes}"
            )
        if elapsed_minutes < 0:
            raise ValueError(
                "`elapsed_minutes` must be >= 0. Received: "
                f"elapsed_minutes={elapsed_minutes}"
            )
        self.minutes = minutes
        self.learning_rate = learning_rate
        self.warmup_fraction = warmup_fraction
        self.final_fraction = final_fraction
        self.elapsed_minutes = float(elapsed_minutes)
        self.start = None
        self.reached = False
        self.steps = 0

    def spent(self):
        """Training minutes so far, earlier runs included."""
        if self.start is None:
            return self.elapsed_minutes
        return self.elapsed_minutes + (time.monotonic() - self.start) / 60.0

    def rate_at(self, fraction):
        """The scheduled learning rate `fraction` of the way through."""
        if fraction < self.warmup_fraction:
            scale = max(fraction / self.warmup_fraction, 0.02)
        else:
            progress = (fraction - self.warmup_fraction) / max(
                1e-9, 1.0 - self.warmup_fraction
            )
            cosine = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
            scale = self.final_fraction + (1 - self.final_fraction) * cosine
        return self.learning_rate * scale

    def _check(self):
        if self.minutes is None:
            return
        fraction = self.spent() / self.minutes
        if self.learning_rate is not None:
            self.model.optimizer.learning_rate = self.rate_at(fraction)
        if fraction >= 1.0:
            self.reached = True
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()
        self.reached = False
        self.steps = 0
        self._check()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        self._check()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[MINUTES_KEY] = round(self.spent(), 3)
