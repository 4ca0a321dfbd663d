"""Random text lines from real word frequencies in several languages."""

import functools
import itertools
import string

import keras
import numpy as np
import wordfreq

from keras_seq.data.charset import Charset

# Letters each language's words may use (lowercase). A word with any other
# character (emoji, Cyrillic, stray symbols in the web-crawled lists) is
# dropped, so the charset stays small and every default font covers it.
ALPHABETS = {
    "en": "",
    "cs": "áčďéěíňóřšťúůýž",
    "de": "äöüß",
    "pl": "ąćęłńóśźż",
    "es": "áéíñóúü",
    "fr": "àâæçéèêëîïôœùûüÿ",
    "it": "àèéìíîòóùú",
    "sk": "áäčďéíĺľňóôŕšťúýž",
    "nl": "éëïöü",
    "pt": "àáâãçéêíóôõú",
}

# Languages whose lists keep words with an inner apostrophe: English
# contractions ("don't"), French and Italian elided forms ("aujourd'hui",
# "dell'anno").
APOSTROPHE_LANGUAGES = ("en", "fr", "it")

# Elided articles and prepositions glued to a following word that starts
# with a vowel or "h" ("l'archive", "all'interno"), with chance
# `elision_rate`.
ELISIONS = {
    "fr": ("l'", "l'", "d'", "d'", "qu'", "n'", "s'", "c'", "j'"),
    "it": ("l'", "l'", "d'", "dell'", "all'", "nell'", "dall'", "un'"),
}
_ELIDABLE = set("aeiouhàâéèêîôùúìò")

# Marks French sets off with a space before them ("Adresse :").
FRENCH_SPACED_MARKS = ":;!?"

# Characters the sampler adds around words: trailing marks, wrapping pairs,
# joiners, and the symbols inside number tokens.
TRAILING_MARKS = ".,;:!?"
WRAPPERS = ('""', "()", "''", "[]")
JOINERS = "-/&"
NUMBER_SYMBOLS = ".,:%$€+-/"

# wordfreq case-folds its lists, which turns German "ß" into "ss". These
# frequent words get their "ß" back so the letter appears in German lines.
_SHARP_S = (
    "groß große großen großer großes größer größte größten straße straßen "
    "weiß weißt heiß heißt heißen außer außen außerdem draußen fuß fußball "
    "spaß gruß grüße schließlich schließen ließ hieß dreißig bloß genießen "
    "fleißig süß gemäß mäßig regelmäßig äußern äußerst scheiße beißen"
).split()
SHARP_S_WORDS = {word.replace("ß", "ss"): word for word in _SHARP_S}


def _alphabet(language):
    return string.ascii_lowercase + ALPHABETS[language]


@functools.lru_cache(maxsize=32)
def _word_table(language, vocabulary_size):
    """Top words of `language` in its alphabet, with their frequencies."""
    allowed = set(_alphabet(language))
    if language in APOSTROPHE_LANGUAGES:
        allowed.add("'")
    frequencies = wordfreq.get_frequency_dict(language, wordlist="best")
    pairs = (
        (word, freq)
        for word, freq in frequencies.items()
        if all(c in allowed for c in word) and "'" not in (word[0], word[-1])
    )
    pairs = list(itertools.islice(pairs, vocabulary_size))
    words = [word for word, _ in pairs]
    if language == "de":
        words = [SHARP_S_WORDS.get(word, word) for word in words]
    freqs = np.array([freq for _, freq in pairs], dtype="float64")
    return words, freqs


@keras.saving.register_keras_serializable(package="keras_seq")
class TextSampler:
    """Samples text lines from real word frequencies, with digits and marks.

    Each line picks one language at random, then words drawn from that
    language's `wordfreq` list with probability proportional to
    `frequency ** frequency_power` (1.0 follows real usage; the default 0.5
    flattens the Zipf curve so rarer words, and their diacritics, appear
    more often). Words are lowercase in `wordfreq`; the sampler capitalizes
    the first word, and capitalizes or upper-cases others now and then. Some
    words become numbers (integers, decimals, years, times, dates, prices,
    percentages) and some get punctuation (a trailing mark, quotes or
    brackets, or a hyphen, spaced dash or slash joining the next word).

    Lines also carry what real text has and word lists lack: English,
    French and Italian words with an inner apostrophe come from the lists
    themselves ("don't", "aujourd'hui"); French and Italian words starting
    with a vowel get an elided article now and then ("l'archive",
    "dell'anno"); French lines set ":;!?" off with a space half of the
    time; and a few tokens look like software text: CamelCase names
    ("SoundTracker"), acronyms ("CPU") and command-line options
    ("--verbose", "-x").

    The word lists ship inside the `wordfreq` wheel, so sampling works
    offline. Words using letters outside the language's alphabet (see
    `ALPHABETS`) are dropped. `wordfreq` case-folds German "ß" to "ss"; a
    short list of frequent words (`SHARP_S_WORDS`) gets it back.

    Args:
        languages: tuple of `wordfreq` language codes with an entry in
            `ALPHABETS`. Defaults to English, Czech, German, Polish,
            Spanish, French and Italian.
        seed: int, seed of the sampler's own random generator.
        min_words: int, the fewest words (or number tokens) in a line.
        max_words: int, the most words in a line.
        max_chars: int, the longest line in characters. Words that would
            exceed it are left out; a single word longer than it is cut.
        digit_rate: float in [0, 1], chance that a word is a number token.
        punctuation_rate: float in [0, 1], chance that a word gets
            punctuation.
        uppercase_rate: float in [0, 1], chance that a word is upper-case.
        capitalize_rate: float in [0, 1], chance that a word other than the
            first is capitalized (the first word is capitalized with chance
            `0.7`).
        vocabulary_size: int, how many of each language's most frequent
            words to sample from.
        frequency_power: float >= 0, exponent on word frequencies; 0 samples
            words uniformly.
        elision_rate: float in [0, 1], chance that a French or Italian word
            starting with a vowel or "h" gets an elided article.
        code_rate: float in [0, 1], chance that a token is a CamelCase
            name, an acronym or a command-line option.

    Example:

    >>> sampler = TextSampler(languages=("cs",), seed=1)
    >>> line = sampler.sample()
    >>> set(line) <= set(sampler.charset().characters)
    True

    References:
        - [wordfreq](https://github.com/rspeer/wordfreq), Robyn Speer.
    """

    def __init__(
        self,
        languages=("en", "cs", "de", "pl", "es", "fr", "it"),
        seed=0,
        min_words=1,
        max_words=6,
        max_chars=40,
        digit_rate=0.08,
        punctuation_rate=0.15,
        uppercase_rate=0.03,
        capitalize_rate=0.1,
        vocabulary_size=30000,
        frequency_power=0.5,
        elision_rate=0.1,
        code_rate=0.03,
    ):
        languages = tuple(languages)
        if not languages:
            raise ValueError(
                f"`languages` must not be empty. Received: {languages!r}"
            )
        unknown = [lang for lang in languages if lang not in ALPHABETS]
        if unknown:
            raise ValueError(
                f"Languages without a known alphabet: {unknown}; supported: "
                f"{sorted(ALPHABETS)}. Received: languages={languages!r}"
            )
        if not 1 <= min_words <= max_words:
            raise ValueError(
                "Need 1 <= min_words <= max_words. Received: "
                f"min_words={min_words}, max_words={max_words}"
            )
        if max_chars < 1:
            raise ValueError(
                f"`max_chars` must be >= 1. Received: max_chars={max_chars}"
            )
        rates = {
            "digit_rate": digit_rate,
            "punctuation_rate": punctuation_rate,
            "uppercase_rate": uppercase_rate,
            "capitalize_rate": capitalize_rate,
            "elision_rate": elision_rate,
            "code_rate": code_rate,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(
                    f"`{name}` must be in [0, 1]. Received: {name}={rate}"
                )
        if frequency_power < 0:
            raise ValueError(
                "`frequency_power` must be >= 0. Received: "
                f"frequency_power={frequency_power}"
            )
        self.languages = languages
        self.seed = seed
        self.min_words = min_words
        self.max_words = max_words
        self.max_chars = max_chars
        self.digit_rate = digit_rate
        self.punctuation_rate = punctuation_rate
        self.uppercase_rate = uppercase_rate
        self.capitalize_rate = capitalize_rate
        self.vocabulary_size = vocabulary_size
        self.frequency_power = frequency_power
        self.elision_rate = elision_rate
        self.code_rate = code_rate
        self._rng = np.random.default_rng(seed)

        # Per language: the words and their cumulative sampling weights.
        self._tables = {}
        for language in languages:
            words, freqs = _word_table(language, vocabulary_size)
            if not words:
                raise ValueError(
                    f"wordfreq has no words for language {language!r}."
                )
            weights = freqs**frequency_power
            cumulative = np.cumsum(weights)
            self._tables[language] = (words, cumulative / cumulative[-1])

    def _word(self, language, rng):
        words, cumulative = self._tables[language]
        index = int(np.searchsorted(cumulative, rng.random(), side="right"))
        return words[min(index, len(words) - 1)]

    def _number(self, rng):
        kind = rng.integers(8)
        if kind == 0:
            return str(rng.integers(0, 10))
        if kind == 1:
            return str(rng.integers(10, 10000))
        if kind == 2:
            return str(rng.integers(1900, 2031))
        if kind == 3:
            sep = "." if rng.random() < 0.5 else ","
            return f"{rng.integers(0, 1000)}{sep}{rng.integers(0, 100):02d}"
        if kind == 4:
            return f"{rng.integers(0, 24)}:{rng.integers(0, 60):02d}"
        if kind == 5:
            day, month = rng.integers(1, 29), rng.integers(1, 13)
            sep = "." if rng.random() < 0.5 else "/"
            return f"{day}{sep}{month}{sep}{rng.integers(1950, 2031)}"
        if kind == 6:
            amount = f"{rng.integers(1, 1000)}.{rng.integers(0, 100):02d}"
            return "$" + amount if rng.random() < 0.5 else amount + " €"
        sign = "+" if rng.random() < 0.3 else ""
        return f"{sign}{rng.integers(0, 101)}%"

    def _code(self, language, rng):
        """A CamelCase name, an acronym or a command-line option."""
        kind = rng.integers(3)
        if kind == 0:
            parts = (self._word(language, rng) for _ in range(2))
            return "".join(p[:1].upper() + p[1:] for p in parts)
        if kind == 1:
            size = int(rng.integers(2, 5))
            letters = rng.choice(list(string.ascii_uppercase), size)
            return "".join(letters)
        if rng.random() < 0.3:
            return "-" + string.ascii_lowercase[rng.integers(26)]
        return "--" + self._word(language, rng).replace("'", "")

    def _elide(self, word, language, rng):
        prefixes = ELISIONS.get(language)
        if (
            prefixes is None
            or word[:1] not in _ELIDABLE
            or "'" in word
            or rng.random() >= self.elision_rate
        ):
            return word
        return prefixes[rng.integers(len(prefixes))] + word

    def sample(self, rng=None):
        """Returns one line of text.

        Args:
            rng: optional `numpy.random.Generator`; defaults to the
                sampler's own generator (seeded by `seed`).

        Returns:
            A non-empty str of at most `max_chars` characters.
        """
        rng = self._rng if rng is None else rng
        language = self.languages[rng.integers(len(self.languages))]
        num_words = int(rng.integers(self.min_words, self.max_words + 1))

        # Words and number tokens, with their casing.
        tokens = []
        for index in range(num_words):
            if rng.random() < self.digit_rate:
                tokens.append(self._number(rng))
                continue
            if rng.random() < self.code_rate:
                tokens.append(self._code(language, rng))
                continue
            word = self._elide(self._word(language, rng), language, rng)
            if rng.random() < self.uppercase_rate:
                word = word.upper()
            elif rng.random() < (0.7 if index == 0 else self.capitalize_rate):
                word = word[:1].upper() + word[1:]
            tokens.append(word)

        # Punctuation: a trailing mark, a wrapping pair, or a joiner that
        # glues the token to the next one without a space.
        separators = [" "] * len(tokens)
        for index, token in enumerate(tokens):
            if rng.random() >= self.punctuation_rate:
                continue
            kind = rng.random()
            if kind < 0.65:
                mark = TRAILING_MARKS[rng.integers(len(TRAILING_MARKS))]
                spaced = language == "fr" and mark in FRENCH_SPACED_MARKS
                if spaced and rng.random() < 0.5:
                    mark = " " + mark
                tokens[index] = token + mark
            elif kind < 0.85:
                pair = WRAPPERS[rng.integers(len(WRAPPERS))]
                tokens[index] = pair[0] + token + pair[1]
            elif index + 1 < len(tokens):
                joiner = JOINERS[rng.integers(len(JOINERS))]
                if joiner == "&":
                    joiner = " & "
                elif joiner == "-" and rng.random() < 0.3:
                    joiner = " - "
                separators[index] = joiner

        # Join tokens while the line fits in max_chars.
        line = tokens[0][: self.max_chars].strip()
        for index in range(1, len(tokens)):
            candidate = line + separators[index - 1] + tokens[index]
            if len(candidate) > self.max_chars:
                break
            line = candidate
        if not line:
            # Only reachable with a token of spaces; never empty.
            line = self._word(language, rng)[: self.max_chars]
        return line

    def charset(self, extra="", blank_index=0):
        """The `Charset` of every character `sample` can emit.

        Args:
            extra: str, characters to add.
            blank_index: int, the CTC blank id. Defaults to `0`.
        """
        chars = set(" " + string.digits + TRAILING_MARKS + JOINERS)
        chars.update("".join(WRAPPERS) + NUMBER_SYMBOLS + extra)
        for language in self.languages:
            for char in _alphabet(language):
                chars.add(char)
                upper = char.upper()
                if len(upper) == 1:
                    chars.add(upper)
        return Charset(sorted(chars), blank_index=blank_index)

    def get_config(self):
        return {
            "languages": list(self.languages),
            "seed": self.seed,
            "min_words": self.min_words,
            "max_words": self.max_words,
            "max_chars": self.max_chars,
            "digit_rate": self.digit_rate,
            "punctuation_rate": self.punctuation_rate,
            "uppercase_rate": self.uppercase_rate,
            "capitalize_rate": self.capitalize_rate,
            "vocabulary_size": self.vocabulary_size,
            "frequency_power": self.frequency_power,
            "elision_rate": self.elision_rate,
            "code_rate": self.code_rate,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
