import string

import numpy as np
import pytest

from keras_seq.data import TextSampler


@pytest.fixture(scope="module")
def lines():
    sampler = TextSampler(seed=0)
    return sampler, [sampler.sample() for _ in range(3000)]


def test_deterministic_with_seed():
    first = TextSampler(seed=3)
    second = TextSampler(seed=3)
    a = [first.sample() for _ in range(50)]
    b = [second.sample() for _ in range(50)]
    assert a == b
    c = [TextSampler(seed=4).sample() for _ in range(50)]
    assert a != c


def test_rng_argument_overrides_own_generator():
    sampler = TextSampler(seed=0)
    a = [sampler.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_lines_fit_charset_and_length(lines):
    sampler, texts = lines
    charset = sampler.charset()
    for text in texts:
        assert 1 <= len(text) <= sampler.max_chars
        assert text == text.strip()
        assert not charset.unknown_characters(text), text


def test_digits_punctuation_and_case_appear(lines):
    _, texts = lines
    joined = "".join(texts)
    assert set(string.digits) <= set(joined)
    assert set(".,;:!?()\"'-/%") <= set(joined)
    assert any(c.isupper() for c in joined)


@pytest.mark.parametrize(
    "language, letters",
    [
        ("cs", "ěščřžýáíéůú"),
        ("de", "ßäöü"),
        ("pl", "łńśźżąęó"),
        ("es", "ñáéíóú"),
        ("fr", "àçéèêô"),
        ("it", "àèìòù"),
    ],
)
def test_each_language_emits_its_diacritics(language, letters):
    sampler = TextSampler(languages=(language,), seed=1, max_words=8)
    joined = "".join(sampler.sample() for _ in range(1500)).lower()
    assert set(letters) <= set(joined), set(letters) - set(joined)


def test_charset_covers_uppercase_diacritics():
    charset = TextSampler().charset()
    for char in "ĚŠČŘŽÝÁÍÉŮÚÄÖÜŁŃŚŹŻĄĘÑÀÇÈÊÔŒ€$%":
        assert char in charset
    assert charset.blank_index == 0


@pytest.mark.parametrize(
    "language, elisions", [("fr", ("l'", "d'")), ("it", ("l'", "dell'"))]
)
def test_elided_articles_glue_to_vowel_words(language, elisions):
    sampler = TextSampler(languages=(language,), seed=2, elision_rate=0.5)
    words = " ".join(sampler.sample() for _ in range(400)).lower().split()
    for prefix in elisions:
        elided = [w for w in words if w.startswith(prefix)]
        assert elided, prefix
        # Only before a vowel or "h", never doubled.
        rest = [w[len(prefix) :] for w in elided]
        assert all(r[:1] in "aeiouhàâéèêîôùúìò" for r in rest), rest
    off = TextSampler(languages=(language,), seed=2, elision_rate=0.0)
    words = " ".join(off.sample() for _ in range(400)).lower().split()
    assert not any(w.startswith(("l'a", "l'e", "d'a")) for w in words)


def test_english_contractions_come_from_the_word_list():
    sampler = TextSampler(languages=("en",), seed=0, frequency_power=1.0)
    joined = " ".join(sampler.sample() for _ in range(500))
    assert any(t in joined.lower() for t in ("'s", "n't", "'m", "'re"))


def test_french_spaces_some_marks():
    sampler = TextSampler(languages=("fr",), seed=0, punctuation_rate=0.5)
    texts = [sampler.sample() for _ in range(600)]
    spaced = sum(" :" in t or " ?" in t or " !" in t for t in texts)
    glued = sum(
        any(c + m in t for m in ":?!" for c in "abcdefghijklmnopqrstuvwxyz")
        for t in texts
    )
    assert spaced > 20 and glued > 20, (spaced, glued)
    english = TextSampler(languages=("en",), seed=0, punctuation_rate=0.5)
    assert not any(" :" in english.sample() for _ in range(600))


def test_code_tokens():
    sampler = TextSampler(seed=0, code_rate=1.0, digit_rate=0.0)
    tokens = " ".join(sampler.sample() for _ in range(300)).split()
    camel = [
        t
        for t in tokens
        if t[0].isupper() and any(c.isupper() for c in t[1:]) and t.isalpha()
    ]
    options = [t for t in tokens if t.startswith("-")]
    acronyms = [t for t in tokens if t.isupper() and 2 <= len(t) <= 4]
    assert camel and options and acronyms
    assert any(t.startswith("--") for t in options)
    charset = sampler.charset()
    assert not charset.unknown_characters("".join(tokens))
    # Off: no token starts with a hyphen and none is CamelCase.
    off = TextSampler(seed=0, code_rate=0.0, punctuation_rate=0.0)
    tokens = " ".join(off.sample() for _ in range(300)).split()
    assert not any(t.startswith("-") for t in tokens)


def test_max_chars_cuts_long_words():
    sampler = TextSampler(languages=("de",), max_chars=3, seed=0)
    texts = [sampler.sample() for _ in range(200)]
    assert all(1 <= len(t) <= 3 for t in texts)


def test_config_round_trip():
    sampler = TextSampler(languages=("en", "cs"), seed=5, max_words=3)
    clone = TextSampler.from_config(sampler.get_config())
    assert clone.get_config() == sampler.get_config()
    assert [clone.sample() for _ in range(20)] == [
        sampler.sample() for _ in range(20)
    ]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"languages": ()}, "languages"),
        ({"languages": ("xx",)}, "xx"),
        ({"min_words": 3, "max_words": 2}, "min_words"),
        ({"max_chars": 0}, "max_chars"),
        ({"digit_rate": 1.5}, "digit_rate"),
        ({"frequency_power": -1}, "frequency_power"),
        ({"elision_rate": -0.1}, "elision_rate"),
        ({"code_rate": 2}, "code_rate"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextSampler(**kwargs)
