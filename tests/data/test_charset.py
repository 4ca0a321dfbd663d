import doctest
import json

import keras
import numpy as np
import pytest

from keras_seq.data import Charset
from keras_seq.data import charset as charset_module

DIACRITICS = ["ěščřžýáíéůú", "ßäöü", "łńśźżąę", "àâçéèêëîïôœùûÿ"]


def test_docstring_examples():
    result = doctest.testmod(charset_module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("text", DIACRITICS)
def test_round_trip_with_diacritics(text):
    charset = Charset.from_texts([text.upper(), text, " "])
    ids = charset.encode(text + " " + text.upper())
    assert charset.decode(ids) == text + " " + text.upper()
    # Ids are 1..N: 0 is the blank.
    assert min(ids) >= 1 and max(ids) <= len(charset)


def test_ids_blank_and_vocabulary():
    charset = Charset("abc")
    assert charset.encode("abc") == [1, 2, 3]
    assert charset.num_classes == 4
    assert len(charset) == 3
    assert charset.vocabulary == ["", "a", "b", "c"]
    # Blank and -1 padding are ignored; repeats are kept.
    assert charset.decode(np.array([0, 1, 1, 0, 3, -1, -1])) == "aac"
    with pytest.raises(ValueError, match="out of range"):
        charset.decode([4])


def test_blank_index_elsewhere():
    charset = Charset("abc", blank_index=3)
    assert charset.encode("abc") == [0, 1, 2]
    assert charset.vocabulary == ["a", "b", "c", ""]
    assert charset.decode([2, 3, 0]) == "ca"


def test_unknown_characters():
    charset = Charset("abc")
    with pytest.raises(ValueError, match=r"\['x', 'ž'\]"):
        charset.encode("abžx")
    assert charset.encode("abžx", errors="skip") == [1, 2]
    assert charset.unknown_characters("abžx") == ["x", "ž"]


def test_nfc_normalization():
    charset = Charset("é")
    decomposed = "e\u0301"
    assert charset.encode(decomposed) == [1]


def test_save_load_is_utf8_json(tmp_path):
    charset = Charset.from_texts(DIACRITICS, extra="0123456789")
    path = tmp_path / "charset.json"
    charset.save(path)
    raw = path.read_bytes().decode("utf-8")
    assert "ř" in raw  # Stored as UTF-8, not as \u escapes.
    assert json.loads(raw)["characters"] == charset.characters
    loaded = Charset.load(path)
    assert loaded == charset
    assert loaded.encode("žšüł") == charset.encode("žšüł")


def test_load_rejects_bad_files(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.json"):
        Charset.load(path)
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="characters"):
        Charset.load(path)


def test_from_texts_sorted_with_extra():
    charset = Charset.from_texts(["cab", "bad"], extra="z")
    assert charset.characters == ["a", "b", "c", "d", "z"]


def test_equality_and_config():
    a = Charset("ab")
    assert a == Charset("ab")
    assert a != Charset("ba")
    assert a != Charset("ab", blank_index=2)
    assert Charset.from_config(a.get_config()) == a
    assert len({a, Charset("ab")}) == 1


@pytest.mark.parametrize(
    "characters, blank_index, match",
    [
        ("aba", 0, "duplicates"),
        (["ab"], 0, "length 1"),
        ("abc", 4, "blank_index"),
        ("abc", -1, "blank_index"),
    ],
)
def test_bad_arguments(characters, blank_index, match):
    with pytest.raises(ValueError, match=match):
        Charset(characters, blank_index=blank_index)
    with pytest.raises(ValueError, match="errors"):
        Charset("a").encode("a", errors="ignore")


def test_keras_serialization_round_trip():
    charset = Charset("ažb", blank_index=1)
    config = keras.saving.serialize_keras_object(charset)
    assert config["registered_name"] == "keras_seq>Charset"
    assert keras.saving.deserialize_keras_object(config) == charset
