"""`TextTokenizer`: keras-hub tokenizers with one id layout for every app.

Every kind reserves the same five special ids, so models, packers and the
masked-LM generator never need to know which tokenizer made their input:

| id | token |
|---|---|
| 0 | `[PAD]` |
| 1 | `[CLS]` |
| 2 | `[SEP]` |
| 3 | `[UNK]` |
| 4 | `[MASK]` |

`"wordpiece"` uses `keras_hub.tokenizers.WordPieceTokenizer` with a
vocabulary trained from the user's corpus by
`keras_hub.tokenizers.compute_word_piece_vocabulary` (the five tokens above
first). `"byte"` (`ByteTokenizer`) and `"char"`
(`UnicodeCodepointTokenizer`) shift their ids up by five. Packing uses
`keras_hub.layers.StartEndPacker` and `MultiSegmentPacker`. Everything is
TensorFlow ops, so the same code prepares training data eagerly and
tokenizes raw strings inside a SavedModel's serving graph.
"""

import json

import keras_hub
import numpy as np
import tensorflow as tf

PAD_ID, CLS_ID, SEP_ID, UNK_ID, MASK_ID = 0, 1, 2, 3, 4
SPECIAL_TOKENS = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
KINDS = ("wordpiece", "byte", "char")
_OFFSET = len(SPECIAL_TOKENS)

# Sample strings whose ids every export records (golden vectors), so an
# app on a phone can check its own tokenizer against the trained one.
GOLDEN_SAMPLES = (
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "  numbers 12345 and symbols #@%  ",
    "",
)


def train_vocabulary(texts, vocabulary_size, lowercase=True):
    """A WordPiece vocabulary learned from `texts`, special tokens first.

    Args:
        texts: an iterable of strings (the user's corpus).
        vocabulary_size: the largest vocabulary to learn (the learner may
            return fewer entries on a small corpus).
        lowercase: lowercase before learning.

    Returns:
        A list of tokens; `SPECIAL_TOKENS` come first, in id order.
    """
    texts = [t for t in texts if t]
    if not texts:
        raise ValueError(
            "Cannot learn a vocabulary from an empty corpus. Received: 0 "
            "non-empty texts"
        )
    data = tf.data.Dataset.from_tensor_slices(texts).batch(1024)
    return keras_hub.tokenizers.compute_word_piece_vocabulary(
        data,
        vocabulary_size,
        lowercase=lowercase,
        reserved_tokens=list(SPECIAL_TOKENS),
    )


class TextTokenizer:
    """Tokenizes and packs text for the text apps.

    Args:
        kind: `"wordpiece"`, `"byte"` or `"char"`.
        vocabulary: for `"wordpiece"`, the token list (special tokens
            first, as `train_vocabulary` returns it).
        lowercase: lowercase the input first.
        max_codepoint: for `"char"`, codepoints at or above it become one
            shared id (default 0x3000 keeps Latin, Greek, Cyrillic, Arabic,
            Hebrew and Indic scripts apart).

    Example:

    >>> tokenizer = TextTokenizer("byte")
    >>> ids, mask = tokenizer.encode(["ab"], sequence_length=5)
    >>> ids.tolist()
    [[1, 102, 103, 2, 0]]
    """

    def __init__(
        self, kind, vocabulary=None, lowercase=True, max_codepoint=0x3000
    ):
        if kind not in KINDS:
            raise ValueError(
                f"`kind` must be one of {KINDS}. Received: kind={kind!r}"
            )
        self.kind = kind
        self.lowercase = bool(lowercase)
        self.max_codepoint = int(max_codepoint)
        self.vocabulary = None
        self._graph_tokenize = None
        if kind == "wordpiece":
            if not vocabulary:
                raise ValueError(
                    "A wordpiece tokenizer needs a vocabulary (see "
                    "`train_vocabulary`). Received: vocabulary="
                    f"{vocabulary!r}"
                )
            vocabulary = list(vocabulary)
            if vocabulary[:_OFFSET] != SPECIAL_TOKENS:
                raise ValueError(
                    f"The vocabulary must start with {SPECIAL_TOKENS}. "
                    f"Received: {vocabulary[:_OFFSET]}"
                )
            self.vocabulary = vocabulary
            self._tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
                vocabulary=vocabulary, lowercase=self.lowercase
            )
        elif kind == "byte":
            self._tokenizer = keras_hub.tokenizers.ByteTokenizer(
                lowercase=self.lowercase
            )
        else:
            self._tokenizer = keras_hub.tokenizers.UnicodeCodepointTokenizer(
                lowercase=self.lowercase,
                vocabulary_size=self.max_codepoint,
                replacement_char=self.max_codepoint - 1,
            )

    @property
    def vocabulary_size(self):
        if self.kind == "wordpiece":
            return len(self.vocabulary)
        if self.kind == "byte":
            return 256 + _OFFSET
        return self.max_codepoint + _OFFSET

    @property
    def layer(self):
        """The keras-hub tokenizer (track it in a SavedModel)."""
        return self._tokenizer

    def get_config(self):
        return {
            "kind": self.kind,
            "lowercase": self.lowercase,
            "max_codepoint": self.max_codepoint,
        }

    def save(self, directory):
        """Writes `tokenizer.json` and, for wordpiece, `vocabulary.txt`."""
        with open(f"{directory}/tokenizer.json", "w", encoding="utf-8") as f:
            json.dump(self.get_config(), f, indent=1)
        if self.vocabulary is not None:
            with open(
                f"{directory}/vocabulary.txt", "w", encoding="utf-8"
            ) as f:
                f.write("\n".join(self.vocabulary) + "\n")

    @classmethod
    def load(cls, directory):
        """Reads what `save` wrote."""
        with open(f"{directory}/tokenizer.json", encoding="utf-8") as f:
            config = json.load(f)
        vocabulary = None
        if config["kind"] == "wordpiece":
            with open(f"{directory}/vocabulary.txt", encoding="utf-8") as f:
                vocabulary = f.read().split("\n")[:-1]
        return cls(vocabulary=vocabulary, **config)

    # Tokenization (TensorFlow ops).

    def tokenize(self, strings):
        """`(batch_size,)` strings -> ragged `(batch_size, None)` int32."""
        strings = tf.convert_to_tensor(strings, tf.string)
        if tf.executing_eagerly():
            # keras-hub turns eager ragged outputs into Python lists; a
            # traced call keeps the RaggedTensor.
            if self._graph_tokenize is None:
                self._graph_tokenize = tf.function(
                    self._tokenize,
                    input_signature=[tf.TensorSpec([None], tf.string)],
                )
            return self._graph_tokenize(strings)
        return self._tokenize(strings)

    def _tokenize(self, strings):
        ids = self._tokenizer(strings)
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        if self.kind != "wordpiece":
            ids = ids + _OFFSET
        return ids

    def pack(self, ragged_ids, sequence_length):
        """`[CLS] ids [SEP]`, truncated and padded to `sequence_length`.

        Returns:
            `(token_ids, padding_mask)`, both int32 `(batch_size,
            sequence_length)`.
        """
        packer = keras_hub.layers.StartEndPacker(
            sequence_length,
            start_value=CLS_ID,
            end_value=SEP_ID,
            pad_value=PAD_ID,
            return_padding_mask=True,
        )
        token_ids, mask = packer(ragged_ids)
        return tf.cast(token_ids, tf.int32), tf.cast(mask, tf.int32)

    def pack_pair(self, first, second, sequence_length):
        """`[CLS] first [SEP] second [SEP]`, the second truncated first.

        Returns:
            `(token_ids, padding_mask, segment_ids)`, int32 `(batch_size,
            sequence_length)`.
        """
        packer = keras_hub.layers.MultiSegmentPacker(
            sequence_length,
            start_value=CLS_ID,
            end_value=SEP_ID,
            pad_value=PAD_ID,
            truncate="waterfall",
        )
        token_ids, segment_ids = packer((first, second))
        token_ids = tf.cast(token_ids, tf.int32)
        mask = tf.cast(token_ids != PAD_ID, tf.int32)
        return token_ids, mask, tf.cast(segment_ids, tf.int32)

    def tokenize_words(self, words):
        """Sub-word ids of pre-split words, with their word index.

        Args:
            words: ragged `(batch_size, None)` strings.

        Returns:
            `(ids, word_index, first)`, ragged `(batch_size, None)` int32:
            the sub-word ids of each sentence, the 0-based word each came
            from, and 1 on each word's first sub-word.
        """
        flat = self.tokenize(words.flat_values)  # (num_words, None)
        word_of_piece = tf.cast(flat.value_rowids(), tf.int32)
        sentence_start = tf.cast(words.row_starts(), tf.int32)
        sentence_of_word = tf.cast(words.value_rowids(), tf.int32)
        local_word = word_of_piece - tf.gather(
            sentence_start, tf.gather(sentence_of_word, word_of_piece)
        )
        first = tf.cast(
            tf.ragged.range(flat.row_lengths()).flat_values == 0, tf.int32
        )
        lengths = tf.math.segment_sum(
            flat.row_lengths(), tf.cast(words.value_rowids(), tf.int64)
        )
        # Sentences without words need a zero row of their own.
        lengths = tf.concat(
            [
                lengths,
                tf.zeros(
                    [words.nrows() - tf.shape(lengths, tf.int64)[0]],
                    tf.int64,
                ),
            ],
            0,
        )
        split = tf.RaggedTensor.from_row_lengths
        return (
            split(flat.flat_values, lengths),
            split(local_word, lengths),
            split(first, lengths),
        )

    def pack_words(self, words, sequence_length):
        """Packs pre-split words and keeps the sub-word -> word map.

        Returns:
            `(token_ids, padding_mask, word_index, first)`, int32
            `(batch_size, sequence_length)`; `word_index` is -1 and `first`
            0 at `[CLS]`, `[SEP]` and padding.
        """
        ids, word_index, first = self.tokenize_words(words)
        token_ids, mask = self.pack(ids, sequence_length)
        word_index = keras_hub.layers.StartEndPacker(
            sequence_length, start_value=-1, end_value=-1, pad_value=-1
        )(word_index)
        first = keras_hub.layers.StartEndPacker(
            sequence_length, start_value=0, end_value=0, pad_value=0
        )(first)
        return token_ids, mask, word_index, first

    def encode(self, texts, sequence_length):
        """Python strings -> numpy `(token_ids, padding_mask)`."""
        texts = [str(t) for t in texts]
        token_ids, mask = self.pack(self.tokenize(texts), sequence_length)
        return token_ids.numpy(), mask.numpy()

    def golden(self, samples=GOLDEN_SAMPLES):
        """Sample strings and their unpacked ids, for the export bundle."""
        ids = self.tokenize(list(samples))
        return [
            {"text": s, "ids": [int(i) for i in row]}
            for s, row in zip(samples, ids.to_list())
        ]


def lengths_from_mask(mask):
    """The number of real tokens per row of a padding mask."""
    return np.asarray(mask).sum(axis=1)
