"""Character and word error rates over a corpus, in plain Python."""


def edit_distance(reference, hypothesis):
    """Levenshtein distance: fewest insertions, deletions, substitutions.

    Args:
        reference: a sequence (string, list of ids or of words).
        hypothesis: a sequence of the same kind.

    Returns:
        An int.

    Example:

    >>> edit_distance("kitten", "sitting")
    3
    """
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, start=1):
        current = [i]
        for j, h in enumerate(hypothesis, start=1):
            current.append(
                min(
                    previous[j] + 1,  # delete r
                    current[j - 1] + 1,  # insert h
                    previous[j - 1] + (r != h),  # substitute (or match)
                )
            )
        previous = current
    return previous[-1]


def _as_corpus(references, hypotheses):
    if isinstance(references, str):
        references = [references]
    if isinstance(hypotheses, str):
        hypotheses = [hypotheses]
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(
            "Need one hypothesis per reference. Received: "
            f"{len(references)} references and {len(hypotheses)} hypotheses"
        )
    return references, hypotheses


def _error_rate(pairs):
    errors = sum(edit_distance(r, h) for r, h in pairs)
    total = sum(len(r) for r, _ in pairs)
    return errors / max(total, 1)


def character_error_rate(references, hypotheses):
    """Corpus CER: summed edit distances over summed reference lengths.

    Args:
        references: a string, or a list of strings (or of id lists).
        hypotheses: the same number of decoded strings (or id lists).

    Returns:
        A float (0 is perfect; it can exceed 1 when the hypotheses are
        longer than the references). An all-empty reference corpus
        divides by 1, so it gives the number of inserted characters.

    Example:

    >>> character_error_rate(["abcd", "ef"], ["abd", "eff"])
    0.3333333333333333
    """
    references, hypotheses = _as_corpus(references, hypotheses)
    return _error_rate(list(zip(references, hypotheses)))


def word_error_rate(references, hypotheses):
    """Corpus WER: word edit distances over the number of reference words.

    Words are the whitespace-separated parts of each string.

    Args:
        references: a string or a list of strings.
        hypotheses: the same number of strings.

    Returns:
        A float; an all-empty reference corpus divides by 1.

    Example:

    >>> word_error_rate(["the cat sat"], ["the bat sat down"])
    0.6666666666666666
    """
    references, hypotheses = _as_corpus(references, hypotheses)
    return _error_rate(
        [(r.split(), h.split()) for r, h in zip(references, hypotheses)]
    )
