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
        min_log_prob: optional float; a frame only extends beams by the
            ids whose log probability there is at least this (the frame's
            best id always qualifies). Pruning makes LM decoding far
            cheaper, since the LM scores only those ids; None (the
            default) extends by every id, the exact search.

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
    min_log_prob=None,
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
        vocabulary, min_log_prob,
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
        self, blank, width, trie, lm, lm_weight, bonus, vocabulary,
        min_log_prob,
    ):  # fmt: skip
        self.blank = blank
        self.min_log_prob = min_log_prob
        self.width = width
        self.trie = trie
        self.lm = lm
        self.lm_weight = lm_weight if lm is not None else 0.0
        self.bonus = bonus
        self.vocabulary = vocabulary

    def _lm_score(self, text, token):
        """`log P_lm(token | text)`, the token's characters in turn."""
        total = 0.0
        for char in token:
            total += self.lm.log_prob(text, char)
            text += char
        return total

    def run(self, log_probs):
        """Returns `[(ids, score), ...]` best first for one sequence."""
        frames, num_classes = log_probs.shape
        blank = self.blank
        classes = np.arange(num_classes)

        # Every prefix ever kept is a node of a tree: node 0 is the empty
        # prefix; a node knows its parent, its last id and its text.
        parent_of, last_of, text_of = [-1], [-1], [""]
        child_of = {}  # (node, id) -> node

        # Beam state, one entry per beam.
        beam = np.array([0])  # tree node of each beam's prefix
        p_b = np.array([0.0])  # log P(alignments ending in blank)
        p_nb = np.array([NEG_INF])  # log P(alignments ending in last id)
        extra = np.array([0.0])  # LM and bonus terms added so far
        word = np.array([0])  # lexicon trie node of each beam
        lm_scores = {}  # node -> {id: log P_lm(id | node's text)}

        for t in range(frames):
            lp = log_probs[t]
            size = len(beam)
            total = np.logaddexp(p_b, p_nb)
            last = np.array([last_of[n] for n in beam])

            # 1. Same prefix: a blank, or the last id repeated.
            same_b = total + lp[blank]
            same_nb = np.where(last >= 0, p_nb + lp[last], NEG_INF)

            # 2. Extensions by every id c: (beams, num_classes).
            repeat = classes[None, :] == last[:, None]
            ext = np.where(repeat, p_b[:, None], total[:, None]) + lp
            ext[:, blank] = NEG_INF
            if self.min_log_prob is None:
                candidates = classes[classes != blank]
            else:
                keep = (lp >= self.min_log_prob) | (lp == lp.max())
                keep[blank] = False
                ext[:, ~keep] = NEG_INF
                candidates = np.flatnonzero(keep)
            bonus = np.full((1, num_classes), self.bonus)
            if self.lm is not None:
                # LM terms of the candidate ids, cached per (prefix, id).
                lm_part = np.zeros((size, num_classes))
                for j, node in enumerate(beam.tolist()):
                    cache = lm_scores.setdefault(node, {})
                    text = text_of[node]
                    for c in candidates.tolist():
                        score = cache.get(c)
                        if score is None:
                            score = self._lm_score(text, self.vocabulary[c])
                            cache[c] = score
                        lm_part[j, c] = score
                bonus = bonus + self.lm_weight * lm_part
            if self.trie is not None:
                ext[~self.trie.allowed[word]] = NEG_INF

            # 3. Extensions that reach a prefix already in the beam merge
            # into it (its LM and bonus terms are already counted).
            index = {n: i for i, n in enumerate(beam.tolist())}
            for j, node in enumerate(beam.tolist()):
                i = index.get(parent_of[node])
                if i is not None:
                    c = last_of[node]
                    same_nb[j] = np.logaddexp(same_nb[j], ext[i, c])
                    ext[i, c] = NEG_INF

            # 4. Keep the best `width` of beams and extensions.
            ext_extra = extra[:, None] + bonus
            scores = np.concatenate(
                [
                    np.logaddexp(same_b, same_nb) + extra,
                    (ext + ext_extra).ravel(),
                ]
            )
            count = min(self.width, int(np.isfinite(scores).sum()))
            if count == 0:
                break
            top = np.argpartition(-scores, count - 1)[:count]
            kept = top[top < size]
            grown = top[top >= size] - size
            source, ids = np.divmod(grown, num_classes)
            new_nodes = []
            new_words = []
            for i, c in zip(source.tolist(), ids.tolist()):
                node = int(beam[i])
                child = child_of.get((node, c))
                if child is None:
                    child = len(parent_of)
                    child_of[(node, c)] = child
                    parent_of.append(node)
                    last_of.append(c)
                    text = text_of[node]
                    if self.vocabulary is not None:
                        text += self.vocabulary[c]
                    text_of.append(text)
                new_nodes.append(child)
                if self.trie is not None:
                    new_words.append(self.trie.step(int(word[i]), c))
            beam = np.concatenate([beam[kept], np.array(new_nodes, int)])
            p_b = np.concatenate([same_b[kept], np.full(len(grown), NEG_INF)])
            p_nb = np.concatenate([same_nb[kept], ext[source, ids]])
            extra = np.concatenate([extra[kept], ext_extra[source, ids]])
            if self.trie is not None:
                word = np.concatenate([word[kept], np.array(new_words, int)])
            else:
                word = np.zeros(len(beam), int)

        # 5. Finish: end-of-text LM term, whole words only when possible.
        scores = np.logaddexp(p_b, p_nb) + extra
        if self.lm is not None:
            scores = scores + self.lm_weight * np.array(
                [self.lm.log_prob(text_of[n], EOS) for n in beam]
            )
        if self.trie is not None:
            whole = self.trie.is_word[word] | (word == 0)
            if whole.any():
                scores = np.where(whole, scores, NEG_INF)
        results = []
        for k in np.argsort(-scores, kind="stable"):
            if not np.isfinite(scores[k]):
                continue
            ids, node = [], int(beam[k])
            while node > 0:
                ids.append(last_of[node])
                node = parent_of[node]
            results.append((ids[::-1], float(scores[k])))
        return results
