"""TEMPORARY stand-ins for metrics that have not landed yet."""


def _edit(a, b):
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[-1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def character_error_rate(refs, hyps):
    e = sum(_edit(r, h) for r, h in zip(refs, hyps))
    return e / max(1, sum(len(r) for r in refs))


def word_error_rate(refs, hyps):
    e = sum(_edit(r.split(), h.split()) for r, h in zip(refs, hyps))
    return e / max(1, sum(len(r.split()) for r in refs))
