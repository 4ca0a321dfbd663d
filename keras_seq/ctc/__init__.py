"""keras_seq.ctc: CTC loss and decoders.

Everywhere in this package id 0 is the blank by default
(`blank_index=0`); the characters are ids 1 .. num_classes - 1.
"""

from keras_seq.ctc.ctc_loss import CTCLoss

__all__ = ["CTCLoss"]
