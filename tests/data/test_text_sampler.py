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
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TextSampler(**kwargs)
