"""The docstring examples of keras_seq.ctc and keras_seq.metrics run."""

import doctest

import pytest

from keras_seq.ctc import (
    char_ngram_lm,
    ctc_beam_search_decoder,
    ctc_greedy_decoder,
    ctc_loss,
    decoding,
)
from keras_seq.metrics import (
    ctc_error_rates,
    ctc_infeasible_samples,
    error_rates,
)


@pytest.mark.parametrize(
    "module",
    [
        char_ngram_lm,
        ctc_beam_search_decoder,
        ctc_greedy_decoder,
        ctc_loss,
        decoding,
        ctc_error_rates,
        ctc_infeasible_samples,
        error_rates,
    ],
)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
