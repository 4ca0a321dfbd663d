"""Training callbacks of the OCR app: validation error rates (the time
budget lives in `keras_seq.apps.training`)."""

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


class Interrupt(keras.callbacks.Callback):
    """Raises `KeyboardInterrupt` at the start of epoch `epoch`, or of its
    batch `batch` when given (tests)."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch = epoch
        self.batch = batch
        self._current = None

    def on_epoch_begin(self, epoch, logs=None):
        self._current = epoch
        if epoch == self.epoch and self.batch is None:
            raise KeyboardInterrupt(f"interrupted at epoch {epoch}")

    def on_train_batch_begin(self, batch, logs=None):
        if self._current == self.epoch and batch == self.batch:
            raise KeyboardInterrupt(
                f"interrupted at epoch {self._current}, batch {batch}"
            )
