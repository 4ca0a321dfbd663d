"""keras_seq.ctc: CTC loss and decoders.

Everywhere in this package id 0 is the blank by default
(`blank_index=0`); the characters are ids 1 .. num_classes - 1.
"""

from keras_seq.ctc.char_ngram_lm import CharNgramLM
from keras_seq.ctc.ctc_beam_search_decoder import CTCBeamSearchDecoder
from keras_seq.ctc.ctc_greedy_decoder import CTCGreedyDecoder
from keras_seq.ctc.ctc_loss import CTCLoss
from keras_seq.ctc.decoding import (
    DecodeResult,
    beam_search_decode,
    greedy_decode,
)

__all__ = [
    "CTCBeamSearchDecoder",
    "CTCGreedyDecoder",
    "CTCLoss",
    "CharNgramLM",
    "DecodeResult",
    "beam_search_decode",
    "greedy_decode",
]
