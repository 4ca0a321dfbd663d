"""`CharNgramLM`: a character n-gram language model for CTC beam search."""

import collections
import json
import math

BOS = "\x02"  # begin of text, pads the first contexts
EOS = "\x03"  # end of text, predicted after the last character


class CharNgramLM:
    """Character n-gram model with interpolated absolute discounting.

    `P(c | h) = max(n(h c) - d, 0) / n(h) + d * u(h) / n(h) * P(c | h')`,
    where `h'` drops the oldest character of the history `h`, `u(h)` is the
    number of distinct characters seen after `h`, and the recursion ends
    in a uniform distribution over the characters seen in training plus
    the end of text (and one slot for unseen characters). Texts are padded
    with `order - 1` begin-of-text marks, so the first characters are
    predicted from the start of the text.

    It is plain Python, not a Keras object: persist it with `save` and
    `load` (JSON with the counts).

    Args:
        order: n, the number of characters in an n-gram (history is
            `order - 1` characters). Defaults to 3.
        discount: the absolute discount `d` in (0, 1). Defaults to 0.75.

    Example:

    >>> lm = CharNgramLM(order=3).fit(["the cat", "the hat"])
    >>> lm.log_prob("th", "e") > lm.log_prob("th", "a")
    True

    References:
        Ney, Essen and Kneser, 1994, "On structuring probabilistic
        dependences in stochastic language modelling".
    """

    def __init__(self, order=3, discount=0.75):
        if not isinstance(order, int) or order < 1:
            raise ValueError(
                f"`order` must be a positive integer. Received: order={order}"
            )
        if not 0.0 < discount < 1.0:
            raise ValueError(
                f"`discount` must lie in (0, 1). Received: discount={discount}"
            )
        self.order = order
        self.discount = discount
        self._counts = {}  # history -> {char: count}
        self._alphabet = set()
        self._cache = {}

    def fit(self, texts):
        """Counts n-grams of every order up to `order` in `texts`.

        Args:
            texts: an iterable of strings.

        Returns:
            self.
        """
        counts = collections.defaultdict(collections.Counter)
        for text in texts:
            padded = BOS * (self.order - 1) + text + EOS
            self._alphabet.update(text)
            for i in range(self.order - 1, len(padded)):
                char = padded[i]
                for n in range(self.order):
                    counts[padded[i - n : i]][char] += 1
        self._counts = {h: dict(c) for h, c in counts.items()}
        self._cache = {}
        return self

    def log_prob(self, history, char):
        """Natural log of `P(char | history)`.

        Args:
            history: the text so far (only its last `order - 1`
                characters matter; shorter histories are padded with the
                begin-of-text mark).
            char: one character, or `EOS` for the end of text.
        """
        padded = BOS * (self.order - 1) + history
        history = padded[len(padded) - (self.order - 1) :]
        key = (history, char)
        value = self._cache.get(key)
        if value is None:
            value = math.log(self._prob(history, char))
            self._cache[key] = value
        return value

    def _prob(self, history, char):
        # One slot for the end of text and one for any unseen character.
        prob = 1.0 / (len(self._alphabet) + 2)
        for n in range(0, len(history) + 1):
            h = history[len(history) - n :]
            following = self._counts.get(h)
            if not following:
                continue
            total = sum(following.values())
            seen = max(following.get(char, 0) - self.discount, 0.0)
            backoff = self.discount * len(following) / total
            prob = seen / total + backoff * prob
        return prob

    def score(self, text):
        """Log probability of a whole text, end of text included."""
        total = 0.0
        for i, char in enumerate(text):
            total += self.log_prob(text[:i], char)
        return total + self.log_prob(text, EOS)

    def get_config(self):
        return {"order": self.order, "discount": self.discount}

    def save(self, path):
        """Writes the model (config and counts) as JSON to `path`."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "config": self.get_config(),
                    "alphabet": sorted(self._alphabet),
                    "counts": self._counts,
                },
                f,
                ensure_ascii=False,
            )

    @classmethod
    def load(cls, path):
        """Reads a model written by `save`."""
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        lm = cls(**data["config"])
        lm._alphabet = set(data["alphabet"])
        lm._counts = data["counts"]
        return lm
