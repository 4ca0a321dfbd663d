"""keras_seq.metrics: text error rates (plain functions and Keras metrics).

The Keras metrics decode CTC logits greedily; id 0 is the blank by
default (`blank_index=0`), the characters are ids 1 .. num_classes - 1.
"""

from keras_seq.metrics.ctc_error_rates import (
    CharacterErrorRate,
    WordErrorRate,
)
from keras_seq.metrics.ctc_infeasible_samples import CTCInfeasibleSamples
from keras_seq.metrics.error_rates import (
    character_error_rate,
    edit_distance,
    word_error_rate,
)

__all__ = [
    "CTCInfeasibleSamples",
    "CharacterErrorRate",
    "WordErrorRate",
    "character_error_rate",
    "edit_distance",
    "word_error_rate",
]
