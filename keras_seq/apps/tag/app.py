"""Token tagging (POS, NER): a label per word, predicted on sub-words.

Each word is tokenized on its own; its label is learned and predicted on
its first sub-word (the other sub-words carry zero loss weight), and the
first sub-word's prediction is the word's tag. Words past the packed
sequence length get the fallback tag (`O` when the tag set has it, else
the most frequent tag) and are counted in `truncated_words`.
"""

import collections

import keras
import numpy as np
import tensorflow as tf

from keras_seq.apps.text.app import TextApp, model_outputs
from keras_seq.apps.text.backbone import encoder_inputs
from keras_seq.apps.text.metrics import span_f1
from keras_seq.apps.text.readers import read_conll


def pack_sentences(tokenizer, sentences, sequence_length):
    """Numpy `(token_ids, padding_mask, word_index, first)` of word lists."""
    words = (
        tf.ragged.constant(
            [list(s) for s in sentences], dtype=tf.string, ragged_rank=1
        )
        if sentences
        else tf.ragged.constant([[]], dtype=tf.string)
    )
    packed = tokenizer.pack_words(words, sequence_length)
    return [np.asarray(t) for t in packed]


class TagApp(TextApp):
    """Per-word tagging from CoNLL (`token<TAB>tag`) or CoNLL-U.

    Options: `token_column`, `tag_column` (0-based; defaults: CoNLL first
    and last column, CoNLL-U FORM and UPOS).
    """

    name = "tag"
    default_sequence_length = 128

    def read(self, path, options, labelled=True):
        data = read_conll(
            path,
            token_column=options.get("token_column"),
            tag_column=options.get("tag_column") if labelled else None,
        )
        if labelled:
            kept = [
                i
                for i, tags in enumerate(data["tags"])
                if all(t is not None for t in tags)
            ]
            data["skipped"] += len(data["sentences"]) - len(kept)
            data["sentences"] = [data["sentences"][i] for i in kept]
            data["tags"] = [data["tags"][i] for i in kept]
        return data

    def texts(self, data):
        return [" ".join(s) for s in data["sentences"]]

    def size(self, data):
        return len(data["sentences"])

    def subset(self, data, indices):
        return {
            "sentences": [data["sentences"][i] for i in indices],
            "tags": [data["tags"][i] for i in indices],
            "skipped": 0,
        }

    def prepare(self, data, options):
        counts = collections.Counter(t for tags in data["tags"] for t in tags)
        if not counts:
            raise ValueError("The training data has no tagged tokens.")
        tags = sorted(counts)
        fallback = "O" if "O" in counts else counts.most_common(1)[0][0]
        return {"tags": tags, "fallback": fallback}

    def _known(self, data, task):
        index = {t: i for i, t in enumerate(task["tags"])}
        kept, unknown = [], collections.Counter()
        for i, tags in enumerate(data["tags"]):
            missing = [t for t in tags if t not in index]
            unknown.update(missing)
            if not missing:
                kept.append(i)
        return kept, index, dict(unknown)

    def encode(self, tokenizer, data, task, sequence_length, options):
        kept, index, unknown = self._known(data, task)
        sentences = [data["sentences"][i] for i in kept]
        token_ids, mask, word_index, first = pack_sentences(
            tokenizer, sentences, sequence_length
        )
        targets = np.zeros_like(token_ids)
        for row, i in enumerate(kept):
            positions = np.flatnonzero(first[row])
            words = word_index[row, positions]
            targets[row, positions] = [index[data["tags"][i][w]] for w in words]
        return {
            "inputs": {"token_ids": token_ids, "padding_mask": mask},
            "targets": targets,
            "sample_weight": first.astype("float32"),
            "skipped": len(data["sentences"]) - len(kept),
            "unknown_tags": unknown,
        }

    def build_model(self, encoder, task, options):
        token_ids, padding_mask = encoder_inputs()
        sequence = encoder(
            {"token_ids": token_ids, "padding_mask": padding_mask}
        )
        sequence = keras.layers.Dropout(0.1, name="head_dropout")(sequence)
        logits = keras.layers.Dense(len(task["tags"]), name="logits")(sequence)
        scores = keras.layers.Activation(
            "softmax", dtype="float32", name="scores"
        )(logits)
        return keras.Model(
            {"token_ids": token_ids, "padding_mask": padding_mask},
            scores,
            name="tagger",
        )

    def compile(self, model, task, options, learning_rate):
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            weighted_metrics=[
                keras.metrics.SparseCategoricalAccuracy("accuracy")
            ],
        )

    def tag_sentences(self, run, sentences):
        """Predicted tags per word, and the number of truncated words."""
        token_ids, mask, word_index, first = pack_sentences(
            run.tokenizer, sentences, run.sequence_length
        )
        scores = model_outputs(
            run.model, {"token_ids": token_ids, "padding_mask": mask}
        )
        best = scores.argmax(-1)
        tags, truncated = [], 0
        for row, sentence in enumerate(sentences):
            predicted = [run.task["fallback"]] * len(sentence)
            positions = np.flatnonzero(first[row])
            for position in positions:
                predicted[word_index[row, position]] = run.task["tags"][
                    best[row, position]
                ]
            truncated += len(sentence) - len(positions)
            tags.append(predicted)
        return tags, truncated

    def evaluate(self, run, data):
        kept, _, unknown = self._known(data, run.task)
        sentences = [data["sentences"][i] for i in kept]
        truth = [data["tags"][i] for i in kept]
        predicted, truncated = self.tag_sentences(run, sentences)
        correct = sum(
            p == t for ps, ts in zip(predicted, truth) for p, t in zip(ps, ts)
        )
        words = sum(len(t) for t in truth)
        results = {
            "token_accuracy": correct / words if words else 0.0,
            "sentences": len(kept),
            "words": words,
            "truncated_words": truncated,
            "skipped": len(data["sentences"]) - len(kept),
        }
        results.update(span_f1(truth, predicted))
        if unknown:
            results["unknown_tags"] = unknown
        return results

    def predict_lines(self, run, data):
        predicted, _ = self.tag_sentences(run, data["sentences"])
        for index, (sentence, tags) in enumerate(
            zip(data["sentences"], predicted)
        ):
            if index:
                yield ""
            for token, tag in zip(sentence, tags):
                yield f"{token}\t{tag}"

    def serving_endpoints(self, run):
        tokenizer, model = run.tokenizer, run.model
        tags = tf.constant(run.task["tags"] + [run.task["fallback"]])
        fallback = len(run.task["tags"])
        length = run.sequence_length

        def serve(sentences):
            words = tf.strings.split(sentences)  # (batch_size, None)
            token_ids, mask, word_index, first = tokenizer.pack_words(
                words, length
            )
            scores = model(
                {"token_ids": token_ids, "padding_mask": mask},
                training=False,
            )
            best = tf.cast(tf.argmax(scores, axis=-1), tf.int32)
            # Scatter each word's first sub-word prediction to its word.
            num_words = tf.cast(words.row_lengths(), tf.int32)
            width = tf.maximum(tf.reduce_max(num_words), 1)
            batch = tf.shape(token_ids)[0]
            rows = tf.broadcast_to(
                tf.range(batch)[:, None], tf.shape(token_ids)
            )
            chosen = tf.where(first > 0)
            updates = tf.gather_nd(best, chosen)
            targets = tf.stack(
                [tf.gather_nd(rows, chosen), tf.gather_nd(word_index, chosen)],
                axis=1,
            )
            grid = tf.tensor_scatter_nd_update(
                tf.fill([batch, width], fallback), targets, updates
            )
            real = tf.sequence_mask(num_words, width)
            return {
                "tags": tf.where(real, tf.gather(tags, grid), ""),
                "num_words": num_words,
            }

        signature = [tf.TensorSpec([None], tf.string, name="sentences")]
        return {"serving_default": (serve, signature)}

    def bundle_extras(self, run):
        return {"tags": run.task["tags"], "task": run.task}


APP = TagApp()
