"""CTC decoding in numpy: greedy and prefix beam search.

Id `blank_index` (0 by default) is the blank; with the default the
characters are ids 1 .. num_classes - 1. Inputs are logits
`(batch_size, frames, num_classes)` (numpy arrays or tensors); the
decoders apply a log-softmax themselves.
"""

import dataclasses

import numpy as np

from keras_seq.ctc.char_ngram_lm import EOS

NEG_INF = -np.inf


@dataclasses.dataclass
class DecodeResult:
    """One decoded sequence.

    Attributes:
        ids: the collapsed label ids (no blanks), a list of ints.
        text: the ids joined through the vocabulary, or None without one.
        score: natural-log score. Greedy: log probability of the best
            frame path. Beam search: log probability of the label (summed
            over its alignments), plus `lm_weight` times the LM's log
            probability and the insertion bonus when those are used.
    """

    ids: list
    text: str | None
    score: float


def _log_softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _prepare(logits, lengths, blank_index):
    logits = np.asarray(logits)
    if logits.ndim != 3:
        raise ValueError(
            "Logits must be `(batch_size, frames, num_classes)`. Received: "
            f"shape {logits.shape}"
        )
    num_classes = logits.shape[-1]
    if not 0 <= blank_index < num_classes:
        raise ValueError(
            "`blank_index` must lie in [0, num_classes) with num_classes="
            f"{num_classes}. Received: blank_index={blank_index}"
        )
    if lengths is None:
        lengths = np.full((logits.shape[0],), logits.shape[1])
    lengths = np.minimum(np.asarray(lengths).astype(int), logits.shape[1])
    return _log_softmax(logits), lengths


def _text(ids, vocabulary):
    if vocabulary is None:
        return None
    return "".join(vocabulary[i] for i in ids)


def greedy_decode(logits, lengths=None, blank_index=0, vocabulary=None):
    """Best frame path, repeats merged, blanks dropped.

    Args:
        logits: `(batch_size, frames, num_classes)`.
        lengths: optional `(batch_size,)` frame counts (right padding).
        blank_index: id of the blank. Defaults to 0.
        vocabulary: optional list mapping id -> string; its entry at
            `blank_index` is never used.

    Returns:
        A list of `DecodeResult`, one per batch item.

    Example:

    >>> import numpy as np
    >>> logits = np.log(np.array([[[.1, .8, .1], [.1, .8, .1],
    ...                            [.8, .1, .1], [.1, .1, .8]]]))
    >>> greedy_decode(logits, vocabulary=["", "a", "b"])[0].text
    'ab'
    """
    log_probs, lengths = _prepare(logits, lengths, blank_index)
    best = log_probs.argmax(axis=-1)  # (batch_size, frames)
    results = []
    for b, length in enumerate(lengths):
        path = best[b, :length]
        score = float(log_probs[b, np.arange(length), path].sum())
        keep = path != blank_index
        keep[1:] &= path[1:] != path[:-1]
        ids = [int(i) for i in path[keep]]
        results.append(DecodeResult(ids, _text(ids, vocabulary), score))
    return results


class _Lexicon:
    """Prefix trie of words over vocabulary ids; node 0 is the root.

    `allowed[node]` is a `(num_classes,)` boolean row: the ids that may
    follow a word prefix ending at `node` (its children, plus the space id
    when the prefix is a whole word).
    """

    def __init__(self, words, vocabulary, space_id, num_classes):
        token_ids = {}
        for i, token in enumerate(vocabulary):
            token_ids.setdefault(token, i)
        children = [{}]
        is_word = [False]
        for word in words:
            node = 0
            for char in word:
                if char not in token_ids:
                    break
                c = token_ids[char]
                child = children[node].get(c)
                if child is None:
                    child = len(children)
                    children[node][c] = child
                    children.append({})
                    is_word.append(False)
                node = child
            else:
                is_word[node] = True
        self.children = children
        self.is_word = np.array(is_word)
        self.space_id = space_id
        self.allowed = np.zeros((len(children), num_classes), bool)
        for node, kids in enumerate(children):
            self.allowed[node, list(kids)] = True
            if is_word[node] and space_id is not None:
                self.allowed[node, space_id] = True

    def step(self, node, c):
        if c == self.space_id:
            return 0
        return self.children[node][c]


def beam_search_decode(
    logits,
    lengths=None,
    beam_width=16,
    blank_index=0,
    top_paths=1,
    lexicon=None,
    lm=None,
    lm_weight=0.5,
    insertion_bonus=0.0,
    vocabulary=None,
):
    """CTC prefix beam search, with an optional lexicon and character LM.

    Each beam is a label prefix with two log probabilities, of its
    alignments ending in a blank and in its last id; a frame extends every
    beam by every id at once (numpy over `(beams, num_classes)`), merges
    extensions that reach an existing prefix, and keeps the `beam_width`
    best by `log P(prefix) + lm_weight * log P_lm(text) +
    insertion_bonus * len(prefix)`.

    Args:
        logits: `(batch_size, frames, num_classes)`.
        lengths: optional `(batch_size,)` frame counts (right padding).
        beam_width: beams kept per frame. Defaults to 16.
        blank_index: id of the blank. Defaults to 0.
        top_paths: results per batch item. Defaults to 1.
        lexicon: optional list of words (strings). Words are separated by
            the vocabulary's `" "` entry; inside a word only prefixes of
            lexicon words may be formed, a space only after a whole word,
            and a finished path must end on a whole word (when any beam
            does). Needs `vocabulary`.
        lm: optional `CharNgramLM` scoring the text. Needs `vocabulary`.
        lm_weight: weight of the LM's log probability. Defaults to 0.5.
        insertion_bonus: added per emitted id, to offset the LM's
            preference for short texts. Defaults to 0.
        vocabulary: optional list mapping id -> string; its entry at
            `blank_index` is never used.

    Returns:
        A list with one entry per batch item: a `DecodeResult` when
        `top_paths == 1`, else a list of `top_paths` of them, best first.

    Example:

    >>> import numpy as np
    >>> logits = np.log(np.array([[[.1, .8, .1], [.1, .8, .1],
    ...                            [.8, .1, .1], [.1, .1, .8]]]))
    >>> beam_search_decode(logits, vocabulary=["", "a", "b"])[0].text
    'ab'

    References:
        Hannun et al., 2014, "First-Pass Large Vocabulary Continuous Speech
        Recognition using Bi-Directional Recurrent DNNs" (prefix beam
        search with a language model).
    """
    if beam_width < 1 or top_paths < 1 or top_paths > beam_width:
        raise ValueError(
            "Need 1 <= top_paths <= beam_width. Received: "
            f"beam_width={beam_width}, top_paths={top_paths}"
        )
    if (lexicon is not None or lm is not None) and vocabulary is None:
        raise ValueError(
            "A lexicon or an LM needs a `vocabulary`. Received: vocabulary=None"
        )
    log_probs, lengths = _prepare(logits, lengths, blank_index)
    num_classes = log_probs.shape[-1]
    if vocabulary is not None and len(vocabulary) != num_classes:
        raise ValueError(
            f"The vocabulary must have num_classes={num_classes} entries. "
            f"Received: {len(vocabulary)} entries"
        )
    trie = None
    if lexicon is not None:
        space_id = vocabulary.index(" ") if " " in vocabulary else None
        trie = _Lexicon(lexicon, vocabulary, space_id, num_classes)
    search = _BeamSearch(
        blank_index, beam_width, trie, lm, lm_weight, insertion_bonus,
        vocabulary,
    )  # fmt: skip
    results = []
    for b, length in enumerate(lengths):
        best = search.run(log_probs[b, :length])[:top_paths]
        best = [
            DecodeResult(list(ids), _text(ids, vocabulary), score)
            for ids, score in best
        ]
        results.append(best[0] if top_paths == 1 else best)
    return results


class _BeamSearch:
    def __init__(
        self, blank, width, trie, lm, lm_weight, bonus, vocabulary
    ):  # fmt: skip
        self.blank = blank
        self.width = width
        self.trie = trie
        self.lm = lm
        self.lm_weight = lm_weight if lm is not None else 0.0
        self.bonus = bonus
        self.vocabulary = vocabulary

    def _lm_row(self, text, num_classes):
        """`lm_weight * log P_lm(token | text)` for every id."""
        row = np.zeros((num_classes,))
        for c in range(num_classes):
            if c == self.blank:
                continue
            history, total = text, 0.0
            for char in self.vocabulary[c]:
                total += self.lm.log_prob(history, char)
                history += char
            row[c] = total
        return self.lm_weight * row

    def run(self, log_probs):
        """Returns `[(ids, score), ...]` best first for one sequence."""
        frames, num_classes = log_probs.shape
        blank = self.blank
        classes = np.arange(num_classes)

        # Beam state, one entry per beam.
        prefixes = [()]
        p_b = np.array([0.0])  # log P(alignments ending in blank)
        p_nb = np.array([NEG_INF])  # log P(alignments ending in last id)
        extra = np.array([0.0])  # LM and bonus added so far
        nodes = [0]  # lexicon trie node
        texts = [""]
        lm_rows = {}

        for t in range(frames):
            lp = log_probs[t]
            total = np.logaddexp(p_b, p_nb)
            last = np.array([p[-1] if p else -1 for p in prefixes])

            # 1. Same prefix: a blank, or the last id repeated.
            same_b = total + lp[blank]
            same_nb = p_nb + np.where(last >= 0, lp[np.maximum(last, 0)], 0)
            same_nb[last < 0] = NEG_INF

            # 2. Extensions by every id c: (beams, num_classes).
            ext = np.where(
                classes[None, :] == last[:, None], p_b[:, None], total[:, None]
            )
            ext = ext + lp[None, :]
            ext[:, blank] = NEG_INF
            bonus = np.full((len(prefixes), num_classes), self.bonus)
            if self.lm is not None:
                for i, text in enumerate(texts):
                    row = lm_rows.get(text)
                    if row is None:
                        row = self._lm_row(text, num_classes)
                        lm_rows[text] = row
                    bonus[i] += row
            if self.trie is not None:
                ext[~self.trie.allowed[nodes]] = NEG_INF

            # 3. Extensions that reach a prefix already in the beam merge
            # into it (they carry no new LM or bonus term).
            index = {p: i for i, p in enumerate(prefixes)}
            for j, p in enumerate(prefixes):
                if p:
                    i = index.get(p[:-1])
                    if i is not None:
                        same_nb[j] = np.logaddexp(same_nb[j], ext[i, p[-1]])
                        ext[i, p[-1]] = NEG_INF

            # 4. Keep the best `width` of beams and extensions.
            keep_scores = np.logaddexp(same_b, same_nb) + extra
            ext_scores = ext + extra[:, None] + bonus
            scores = np.concatenate([keep_scores, ext_scores.ravel()])
            count = min(self.width, int(np.isfinite(scores).sum()))
            if count == 0:
                break
            top = np.argpartition(-scores, count - 1)[:count]
            new = ([], [], [], [], [], [])
            for k in top:
                if k < len(prefixes):
                    i = int(k)
                    entry = (prefixes[i], same_b[i], same_nb[i], extra[i])
                    node, text = nodes[i], texts[i]
                else:
                    i, c = divmod(int(k) - len(prefixes), num_classes)
                    entry = (
                        prefixes[i] + (c,),
                        NEG_INF,
                        ext[i, c],
                        extra[i] + bonus[i, c],
                    )
                    node = self.trie.step(nodes[i], c) if self.trie else 0
                    text = texts[i]
                    if self.vocabulary is not None:
                        text += self.vocabulary[c]
                for part, value in zip(new, entry + (node, text)):
                    part.append(value)
            prefixes = new[0]
            p_b, p_nb, extra = (np.array(v) for v in new[1:4])
            nodes, texts = new[4], new[5]

        # 5. Finish: end-of-text LM term, whole words only when possible.
        scores = np.logaddexp(p_b, p_nb) + extra
        if self.lm is not None:
            scores = scores + self.lm_weight * np.array(
                [self.lm.log_prob(text, EOS) for text in texts]
            )
        if self.trie is not None:
            whole = np.array([self.trie.is_word[n] or n == 0 for n in nodes])
            if whole.any():
                scores = np.where(whole, scores, NEG_INF)
        order = np.argsort(-scores, kind="stable")
        return [
            (prefixes[k], float(scores[k]))
            for k in order
            if np.isfinite(scores[k])
        ]
