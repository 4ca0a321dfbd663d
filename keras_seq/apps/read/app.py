"""Reading comprehension: the answer span of a question in a context.

The question and the context are packed as `[CLS] question [SEP] context
[SEP]` (the question cut to `max_question_length` tokens, the context to
what is left). The context is split on whitespace and each word tokenized
on its own, so every sub-word knows its word; an answer is a run of whole
words, and its text is those words joined by single spaces (the SQuAD
normalization then ignores the spacing). Training examples whose answer
falls outside the packed context are skipped and counted.
"""

import re

import keras
import numpy as np
import tensorflow as tf

from keras_seq.apps.read.best_span import BestSpan
from keras_seq.apps.text.app import TextApp, batched
from keras_seq.apps.text.backbone import encoder_inputs
from keras_seq.apps.text.metrics import squad_scores
from keras_seq.apps.text.readers import read_squad


def context_words(context):
    """Whitespace words of `context` and their `(start, end)` offsets."""
    matches = list(re.finditer(r"\S+", context))
    return [m.group() for m in matches], [(m.start(), m.end()) for m in matches]


def answer_words(offsets, start, text):
    """The inclusive word range covering characters `start:start+len`."""
    end = start + len(text)
    first = last = None
    for i, (a, b) in enumerate(offsets):
        if b > start and a < end:
            first = i if first is None else first
            last = i
    return first, last


def pack_examples(
    tokenizer, questions, contexts, sequence_length, max_question_length
):
    """Packs question-context pairs; keeps each context token's word.

    Works on Python lists (eagerly) and on string tensors (in a graph).

    Returns:
        `(token_ids, padding_mask, word_index, words)`: int32 `(batch_size,
        sequence_length)` arrays (`word_index` is -1 off the context) and
        the ragged context words.
    """
    from keras_hub.layers import MultiSegmentPacker

    words = tf.strings.split(tf.convert_to_tensor(contexts, tf.string))
    question_ids = tokenizer.tokenize(questions)[:, :max_question_length]
    context_ids, word_index, _ = tokenizer.tokenize_words(words)
    token_ids, mask, _ = tokenizer.pack_pair(
        question_ids, context_ids, sequence_length
    )
    packer = MultiSegmentPacker(
        sequence_length,
        start_value=-1,
        end_value=-1,
        pad_value=-1,
        truncate="waterfall",
    )
    word_index, _ = packer((question_ids * 0 - 1, word_index))
    return token_ids, mask, tf.cast(word_index, tf.int32), words


class ReadApp(TextApp):
    """Extractive question answering on SQuAD v1.1 JSON.

    Options: `max_answer_length` (tokens, default 30),
    `max_question_length` (tokens, default 64).
    """

    name = "read"
    default_sequence_length = 384

    def read(self, path, options, labelled=True):
        return read_squad(path)

    def texts(self, data):
        seen, texts = set(), []
        for example in data["examples"]:
            if example["context"] not in seen:
                seen.add(example["context"])
                texts.append(example["context"])
            texts.append(example["question"])
        return texts

    def size(self, data):
        return len(data["examples"])

    def needed_length(self, tokenizer, data):
        examples = data["examples"]
        questions = tokenizer.tokenize([e["question"] for e in examples])
        contexts = tokenizer.tokenize([e["context"] for e in examples])
        lengths = np.minimum(questions.row_lengths().numpy(), 64) + (
            contexts.row_lengths().numpy()
        )
        return int(lengths.max()) + 3

    def subset(self, data, indices):
        return {
            "examples": [data["examples"][i] for i in indices],
            "skipped": 0,
        }

    def prepare(self, data, options):
        return {
            "max_answer_length": int(options.get("max_answer_length") or 30),
            "max_question_length": int(
                options.get("max_question_length") or 64
            ),
        }

    def _pack(self, tokenizer, examples, task, sequence_length):
        token_ids, mask, word_index, _ = pack_examples(
            tokenizer,
            [e["question"] for e in examples],
            [e["context"] for e in examples],
            sequence_length,
            task["max_question_length"],
        )
        return np.asarray(token_ids), np.asarray(mask), np.asarray(word_index)

    def encode(self, tokenizer, data, task, sequence_length, options):
        examples = [
            e for e in data["examples"] if e["answer_start"] is not None
        ]
        token_ids, mask, word_index = self._pack(
            tokenizer, examples, task, sequence_length
        )
        kept, starts, ends = [], [], []
        for row, example in enumerate(examples):
            _, offsets = context_words(example["context"])
            first, last = answer_words(
                offsets, example["answer_start"], example["answers"][0]
            )
            start = np.flatnonzero(word_index[row] == first)
            end = np.flatnonzero(word_index[row] == last)
            if first is None or not len(start) or not len(end):
                continue
            kept.append(row)
            starts.append(start[0])
            ends.append(end[-1])
        return {
            "inputs": {
                "token_ids": token_ids[kept],
                "padding_mask": mask[kept],
            },
            "targets": {
                "start_logits": np.asarray(starts, "int32"),
                "end_logits": np.asarray(ends, "int32"),
            },
            "skipped": len(data["examples"]) - len(kept),
        }

    def build_model(self, encoder, task, options):
        token_ids, padding_mask = encoder_inputs()
        sequence = encoder(
            {"token_ids": token_ids, "padding_mask": padding_mask}
        )
        logits = keras.layers.Dense(2, name="span_logits")(sequence)
        # (batch_size, sequence_length, 2) -> two (batch_size,
        # sequence_length) heads.
        start_logits = keras.layers.Activation(
            "linear", dtype="float32", name="start_logits"
        )(logits[..., 0])
        end_logits = keras.layers.Activation(
            "linear", dtype="float32", name="end_logits"
        )(logits[..., 1])
        return keras.Model(
            {"token_ids": token_ids, "padding_mask": padding_mask},
            {"start_logits": start_logits, "end_logits": end_logits},
            name="reader",
        )

    def compile(self, model, task, options, learning_rate):
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss={"start_logits": loss, "end_logits": loss},
        )

    def tflite_model(self, run):
        """The reader plus `BestSpan`: ids in, logits and the span out."""
        token_ids, padding_mask = encoder_inputs()
        logits = run.model(
            {"token_ids": token_ids, "padding_mask": padding_mask}
        )
        # Two (batch_size, sequence_length) -> (batch_size,
        # sequence_length, 2).
        stacked = keras.ops.stack(
            [logits["start_logits"], logits["end_logits"]], axis=-1
        )
        start, end, score = BestSpan(
            run.task["max_answer_length"], name="best_span"
        )(stacked, padding_mask=padding_mask)
        return keras.Model(
            {"token_ids": token_ids, "padding_mask": padding_mask},
            {
                "start_logits": logits["start_logits"],
                "end_logits": logits["end_logits"],
                "start": start,
                "end": end,
                "score": score,
            },
            name="reader_with_span",
        )

    def answers(self, run, examples):
        """`(answer text, score)` for each example."""
        token_ids, mask, word_index = self._pack(
            run.tokenizer, examples, run.task, run.sequence_length
        )
        # Spans may only cover context tokens.
        context_mask = (word_index >= 0).astype("int32")
        model = run.model
        span_layer = BestSpan(run.task["max_answer_length"])

        def call(part):
            outputs = model(
                {
                    "token_ids": part["token_ids"],
                    "padding_mask": part["padding_mask"],
                },
                training=False,
            )
            # Two (batch_size, sequence_length) -> (batch_size,
            # sequence_length, 2).
            stacked = np.stack(
                [outputs["start_logits"], outputs["end_logits"]], axis=-1
            )
            span = span_layer(stacked, padding_mask=part["context_mask"])
            return dict(zip(("start", "end", "score"), map(np.asarray, span)))

        spans = batched(
            call,
            {
                "token_ids": token_ids,
                "padding_mask": mask,
                "context_mask": context_mask,
            },
            batch_size=64,
        )
        results = []
        for row, example in enumerate(examples):
            words, _ = context_words(example["context"])
            first = word_index[row, spans["start"][row]]
            last = word_index[row, spans["end"][row]]
            text = " ".join(words[first : last + 1]) if first >= 0 else ""
            results.append((text, float(spans["score"][row])))
        return results

    def evaluate(self, run, data):
        examples = [e for e in data["examples"] if e["answers"]]
        predictions = self.answers(run, examples)
        em = f1 = 0.0
        for example, (text, _) in zip(examples, predictions):
            e, f = squad_scores(text, example["answers"])
            em += e
            f1 += f
        count = max(len(examples), 1)
        return {
            "exact_match": 100.0 * em / count,
            "f1": 100.0 * f1 / count,
            "questions": len(examples),
            "skipped": len(data["examples"]) - len(examples),
        }

    def predict_lines(self, run, data):
        examples = data["examples"]
        for example, (text, score) in zip(
            examples, self.answers(run, examples)
        ):
            yield f"{example['id']}\t{text}\t{score:.4f}"

    def serving_endpoints(self, run):
        tokenizer, model = run.tokenizer, run.model
        task, length = run.task, run.sequence_length
        span_layer = BestSpan(task["max_answer_length"])

        def serve(questions, contexts):
            token_ids, mask, word_index, words = pack_examples(
                tokenizer,
                questions,
                contexts,
                length,
                task["max_question_length"],
            )
            logits = model(
                {"token_ids": token_ids, "padding_mask": mask},
                training=False,
            )
            # Two (batch_size, sequence_length) -> (batch_size,
            # sequence_length, 2).
            stacked = tf.stack(
                [logits["start_logits"], logits["end_logits"]], axis=-1
            )
            start, end, score = span_layer(
                stacked, padding_mask=tf.cast(word_index >= 0, tf.int32)
            )
            first = tf.gather(word_index, start, batch_dims=1)
            last = tf.gather(word_index, end, batch_dims=1)
            positions = tf.ragged.range(words.row_lengths())
            keep = tf.logical_and(
                positions >= tf.cast(first, tf.int64)[:, None],
                positions <= tf.cast(last, tf.int64)[:, None],
            )
            answer = tf.strings.reduce_join(
                tf.ragged.boolean_mask(words, keep), axis=1, separator=" "
            )
            return {"answer": answer, "score": score}

        signature = [
            tf.TensorSpec([None], tf.string, name="questions"),
            tf.TensorSpec([None], tf.string, name="contexts"),
        ]
        return {"serving_default": (serve, signature)}


APP = ReadApp()
