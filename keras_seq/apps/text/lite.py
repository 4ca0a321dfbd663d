"""A reusable LiteRT interpreter for one .tflite model (batch 1 use)."""

import numpy as np


class LiteModel:
    """Keeps one interpreter and signature runner for repeated calls.

    `keras_seq.tflite.run_tflite` builds an interpreter per call, which is
    right for a parity check and wrong for latency: this class builds it
    once; the signature runner resizes the inputs on each call.

    Args:
        content_or_path: .tflite bytes or a file path.
        num_threads: interpreter threads (None: the runtime default).
    """

    def __init__(self, content_or_path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        kwargs = {"num_threads": num_threads} if num_threads else {}
        if isinstance(content_or_path, (bytes, bytearray)):
            self.interpreter = Interpreter(
                model_content=bytes(content_or_path), **kwargs
            )
        else:
            self.interpreter = Interpreter(
                model_path=str(content_or_path), **kwargs
            )
        self.runner = self.interpreter.get_signature_runner()

    def __call__(self, **inputs):
        """Named numpy inputs -> dict of named numpy outputs."""
        return self.runner(**{k: np.asarray(v) for k, v in inputs.items()})


class LiteAsKeras:
    """Calls a .tflite text model the way the apps call their Keras model.

    Each row runs alone (batch 1) at its own real length, as a phone would
    run it: trailing padding (from `padding_mask`) is cut off before the
    call, and outputs with a sequence axis are zero-padded back to the
    batch's length. Used to compute an app's metrics through LiteRT with
    the app's own evaluation code (`run.model = LiteAsKeras(...)`).

    Args:
        content_or_path: .tflite bytes or a file path.
        sequence_outputs: names of the outputs with a sequence axis (axis
            1), padded back to the batch's length.
        sequence_inputs: names of the inputs that carry the sequence axis.
    """

    def __init__(
        self,
        content_or_path,
        sequence_outputs=(),
        sequence_inputs=("token_ids", "padding_mask"),
    ):
        self.model = LiteModel(content_or_path)
        self.sequence_outputs = tuple(sequence_outputs)
        self.sequence_inputs = tuple(sequence_inputs)
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, inputs, training=False):
        import time

        del training
        inputs = {k: np.asarray(v) for k, v in inputs.items()}
        mask = inputs["padding_mask"]
        width = mask.shape[1]
        rows = []
        for row in range(mask.shape[0]):
            length = max(int(mask[row].sum()), 1)
            feed = {
                k: v[row : row + 1, :length]
                if k in self.sequence_inputs
                else v[row : row + 1]
                for k, v in inputs.items()
            }
            start = time.perf_counter()
            outputs = self.model(**feed)
            self.seconds += time.perf_counter() - start
            self.calls += 1
            rows.append(
                {
                    k: _pad_to(v, width)
                    if k in self.sequence_outputs
                    else np.asarray(v)
                    for k, v in outputs.items()
                }
            )
        merged = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        if len(merged) == 1:
            return next(iter(merged.values()))
        return merged

    @property
    def ms_per_call(self):
        return 1000.0 * self.seconds / max(self.calls, 1)


def _pad_to(array, width):
    """Zero-pads axis 1 of `array` to `width`."""
    array = np.asarray(array)
    pad = [(0, 0)] * array.ndim
    pad[1] = (0, width - array.shape[1])
    return np.pad(array, pad)
