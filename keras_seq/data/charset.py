"""A character vocabulary for CTC models."""

import collections
import json
import logging
import os
import unicodedata

import keras

logger = logging.getLogger(__name__)


@keras.saving.register_keras_serializable(package="keras_seq")
class Charset:
    """Maps characters to integer ids for a CTC model, and back.

    Id `blank_index` (0 by default) is the CTC blank; the characters take
    the other ids in the order given, so with the default blank the
    characters get ids `1..N` and `num_classes` is `N + 1`: the width of
    the model's output layer. Text is NFC-normalized before encoding, so
    "é" written as "e" plus a combining accent maps to the same id as the
    precomposed "é".

    Args:
        characters: iterable of single characters (a string works), in id
            order. Duplicates, empty strings and multi-character strings
            are errors.
        blank_index: int, the id reserved for the CTC blank, in
            `[0, len(characters)]`. Defaults to `0`.

    Example:

    >>> charset = Charset("abc ")
    >>> charset.encode("cab")
    [3, 1, 2]
    >>> charset.decode([3, 0, 1, -1, 2])
    'cab'
    >>> charset.num_classes
    5

    References:
        - [Graves et al., 2006](https://www.cs.toronto.edu/~graves/icml_2006.pdf),
          Connectionist Temporal Classification.
    """

    def __init__(self, characters, blank_index=0):
        characters = list(characters)
        for char in characters:
            if not isinstance(char, str) or len(char) != 1:
                raise ValueError(
                    "Every character must be a string of length 1. "
                    f"Received: {char!r}"
                )
        counts = collections.Counter(characters)
        duplicates = sorted(c for c, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(
                f"Characters must be unique. Received duplicates: {duplicates}"
            )
        if not isinstance(blank_index, int) or not (
            0 <= blank_index <= len(characters)
        ):
            raise ValueError(
                f"`blank_index` must be an int in [0, {len(characters)}]. "
                f"Received: blank_index={blank_index!r}"
            )
        self.characters = characters
        self.blank_index = blank_index
        self._vocabulary = list(characters)
        self._vocabulary.insert(blank_index, "")
        self._ids = {
            char: index
            for index, char in enumerate(self._vocabulary)
            if index != blank_index
        }

    @property
    def num_classes(self):
        """Number of model output classes: characters plus the blank."""
        return len(self._vocabulary)

    @property
    def vocabulary(self):
        """List mapping id to string; the blank's entry is `""`."""
        return list(self._vocabulary)

    def __len__(self):
        return len(self.characters)

    def __contains__(self, char):
        return char in self._ids

    def __eq__(self, other):
        if not isinstance(other, Charset):
            return NotImplemented
        return (
            self.characters == other.characters
            and self.blank_index == other.blank_index
        )

    def __hash__(self):
        return hash((tuple(self.characters), self.blank_index))

    def __repr__(self):
        return (
            f"Charset({len(self)} characters, blank_index={self.blank_index})"
        )

    def unknown_characters(self, text):
        """Returns the sorted characters of `text` missing from the set."""
        text = unicodedata.normalize("NFC", text)
        return sorted(set(c for c in text if c not in self._ids))

    def encode(self, text, errors="strict"):
        """Encodes a string as a list of ids.

        Args:
            text: str.
            errors: `"strict"` raises `ValueError` naming the characters
                missing from the set; `"skip"` drops them and logs how many
                were dropped.

        Returns:
            list of int, one id per character kept.
        """
        if errors not in ("strict", "skip"):
            raise ValueError(
                f"`errors` must be 'strict' or 'skip'. Received: {errors!r}"
            )
        text = unicodedata.normalize("NFC", text)
        ids = [self._ids.get(char) for char in text]
        if None in ids:
            unknown = self.unknown_characters(text)
            if errors == "strict":
                raise ValueError(
                    f"Text has characters outside the charset: {unknown}. "
                    f"Received: text={text!r}"
                )
            logger.warning(
                "Skipped %d characters outside the charset %s in %r.",
                ids.count(None),
                unknown,
                text,
            )
            ids = [i for i in ids if i is not None]
        return ids

    def decode(self, ids):
        """Decodes ids to a string, ignoring the blank and negative padding.

        Repeated ids are kept: collapse CTC repeats before calling this.

        Args:
            ids: iterable of int (a list, a NumPy array or a tensor).

        Returns:
            str.
        """
        chars = []
        for index in ids:
            index = int(index)
            if index < 0 or index == self.blank_index:
                continue
            if index >= len(self._vocabulary):
                raise ValueError(
                    f"Id out of range [0, {len(self._vocabulary) - 1}]. "
                    f"Received: {index}"
                )
            chars.append(self._vocabulary[index])
        return "".join(chars)

    @classmethod
    def from_texts(cls, texts, extra="", blank_index=0):
        """Builds the charset of every character used in `texts`.

        Args:
            texts: iterable of str.
            extra: str or iterable of characters to add even if unused.
            blank_index: int, the blank id. Defaults to `0`.

        Returns:
            A `Charset` with the characters sorted by code point.
        """
        chars = set(extra)
        for text in texts:
            chars.update(unicodedata.normalize("NFC", text))
        return cls(sorted(chars), blank_index=blank_index)

    def get_config(self):
        return {
            "characters": "".join(self.characters),
            "blank_index": self.blank_index,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save(self, path):
        """Writes the charset to `path` as UTF-8 JSON."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "characters": self.characters,
                    "blank_index": self.blank_index,
                },
                f,
                ensure_ascii=False,
                indent=1,
            )
            f.write("\n")

    @classmethod
    def load(cls, path):
        """Reads a charset written by `save`."""
        path = os.fspath(path)
        with open(path, encoding="utf-8") as f:
            try:
                config = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(
                    f"Not a charset JSON file: {path}. Received: {e}"
                ) from e
        if not isinstance(config, dict) or "characters" not in config:
            raise ValueError(
                f"A charset file needs a 'characters' list: {path}. "
                f"Received: {config!r}"
            )
        return cls(config["characters"], config.get("blank_index", 0))
