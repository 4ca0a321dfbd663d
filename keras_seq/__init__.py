"""keras_seq: Keras 3 sequence layers and models for TensorFlow.

Every layer and every model converts to TFLite (LiteRT) with builtin ops
only and gives the same outputs as Keras.
"""

__version__ = "0.1.0"
