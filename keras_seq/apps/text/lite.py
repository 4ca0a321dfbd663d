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
