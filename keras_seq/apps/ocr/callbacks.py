"""Training callbacks of the OCR app: error rates and a time budget."""

import math
import time

import keras

from keras_seq.metrics import character_error_rate, word_error_rate


class ValidationErrorRates(keras.callbacks.Callback):
    """Adds `val_cer` and `val_wer` to the epoch logs.

    It decodes the validation lines greedily with the model being trained.
    Put it first in the callback list, so that checkpoints, early stopping,
    the CSV log and the progress bar all see the two numbers.

    Args:
        samples: list of validation samples (`image`, `text`).
        charset: the `Charset`.
        batch_size: lines per prediction batch.
    """

    def __init__(self, samples, charset, batch_size=32):
        super().__init__()
        self.samples = list(samples)
        self.charset = charset
        self.batch_size = batch_size

    def on_epoch_end(self, epoch, logs=None):
        from keras_seq.apps.ocr.predict import recognize_batch

        if logs is None or not self.samples:
            return
        hypotheses = recognize_batch(
            self.model,
            [s["image"] for s in self.samples],
            self.charset,
            self.batch_size,
        )
        references = [s["text"] for s in self.samples]
        logs["val_cer"] = character_error_rate(references, hypotheses)
        logs["val_wer"] = word_error_rate(references, hypotheses)


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `minutes` have passed; optional cosine decay.

    The check runs after every batch; the epoch under way then ends early,
    and is still validated and checkpointed. With `learning_rate`, the
    optimizer's rate follows a linear warm-up over the first
    `warmup_fraction` of the budget, then a cosine decay to
    `final_fraction` of it at the end of the budget: the schedule follows
    the clock, not the step count, so it fits any machine speed.

    `steps` counts the batches trained since the start.

    Args:
        minutes: float, the budget.
        learning_rate: optional float, the peak rate of the schedule.
        warmup_fraction: float, share of the budget spent warming up.
        final_fraction: float, the last rate over the peak rate.
    """

    def __init__(
        self,
        minutes,
        learning_rate=None,
        warmup_fraction=0.03,
        final_fraction=0.05,
    ):
        super().__init__()
        if minutes <= 0:
            raise ValueError(
                f"`minutes` must be positive. Received: minutes={minutes}"
            )
        self.minutes = minutes
        self.learning_rate = learning_rate
        self.warmup_fraction = warmup_fraction
        self.final_fraction = final_fraction
        self.start = None
        self.reached = False
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()
        self.reached = False
        self.steps = 0
        self._set_rate(0.0)

    def _set_rate(self, fraction):
        if self.learning_rate is None:
            return
        if fraction < self.warmup_fraction:
            scale = max(fraction / self.warmup_fraction, 0.02)
        else:
            progress = (fraction - self.warmup_fraction) / max(
                1e-9, 1.0 - self.warmup_fraction
            )
            cosine = 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
            scale = self.final_fraction + (1 - self.final_fraction) * cosine
        self.model.optimizer.learning_rate = self.learning_rate * scale

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        fraction = (time.monotonic() - self.start) / (60.0 * self.minutes)
        self._set_rate(fraction)
        if fraction >= 1.0:
            self.reached = True
            self.model.stop_training = True


class Interrupt(keras.callbacks.Callback):
    """Raises `KeyboardInterrupt` at the start of epoch `epoch` (tests)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt(f"interrupted at epoch {epoch}")
