"""Sequence classification: one label (or a set of labels) per text."""

import logging
import os

import keras
import numpy as np
import tensorflow as tf

from keras_seq.apps.text.app import TableTextApp, model_outputs
from keras_seq.apps.text.backbone import encoder_inputs
from keras_seq.apps.text.metrics import (
    classification_metrics,
    multilabel_metrics,
)
from keras_seq.apps.text.pooling import pooling_layer
from keras_seq.apps.text.readers import InputError, read_table

logger = logging.getLogger(__name__)


def split_labels(value, separator):
    """A multi-label cell (`"a|b"`, or a JSON list) -> a list of labels."""
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(separator) if v.strip()]


class ClassifyApp(TableTextApp):
    """Multi-class (softmax) or multi-label (sigmoid) classification.

    Options: `text_column`, `label_column`, `multi_label`,
    `label_separator` (multi-label cells, default `|`), `class_weights`
    (`"balanced"` or None), `pooling` (`mean`, `max`, `sum`, `attention`),
    `threshold` (multi-label decision, default 0.5).
    """

    name = "classify"
    default_sequence_length = 256

    def read(self, path, options, labelled=True):
        return read_table(
            path,
            options.get("text_column") or "text",
            options.get("label_column") or "label",
            allow_missing=not labelled,
        )

    def _label_lists(self, data, options):
        separator = options.get("label_separator") or "|"
        if options.get("multi_label"):
            return [split_labels(v, separator) for v in data["labels"]]
        return [[str(v).strip()] for v in data["labels"]]

    def prepare(self, data, options):
        labels = sorted(
            {
                label
                for labels in self._label_lists(data, options)
                for label in labels
            }
        )
        if len(labels) < 2 and not options.get("multi_label"):
            raise InputError(
                "Classification needs at least two labels in column "
                f"{options.get('label_column') or 'label'!r}. Received: "
                f"{labels}"
            )
        return {
            "labels": labels,
            "multi_label": bool(options.get("multi_label")),
        }

    def targets(self, data, task, options):
        """Label indices (or 0/1 rows), kept positions and unknown labels."""
        index = {label: i for i, label in enumerate(task["labels"])}
        kept, targets, unknown = [], [], {}
        for i, labels in enumerate(self._label_lists(data, options)):
            missing = [label for label in labels if label not in index]
            if missing:
                for label in missing:
                    unknown[label] = unknown.get(label, 0) + 1
                continue
            kept.append(i)
            if task["multi_label"]:
                row = np.zeros(len(index), "float32")
                row[[index[label] for label in labels]] = 1.0
                targets.append(row)
            else:
                targets.append(index[labels[0]])
        if unknown:
            logger.warning(
                "Skipped %d rows with labels unseen in training: %s",
                len(data["texts"]) - len(kept),
                sorted(unknown)[:10],
            )
        return kept, np.asarray(targets), unknown

    def encode(self, tokenizer, data, task, sequence_length, options):
        kept, targets, unknown = self.targets(data, task, options)
        token_ids, mask = tokenizer.encode(
            [data["texts"][i] for i in kept], sequence_length
        )
        result = {
            "inputs": {"token_ids": token_ids, "padding_mask": mask},
            "targets": targets,
            "skipped": len(data["texts"]) - len(kept),
            "unknown_labels": unknown,
        }
        if (
            options.get("class_weights") == "balanced"
            and not task["multi_label"]
        ):
            counts = np.bincount(targets, minlength=len(task["labels"]))
            total = counts.sum()
            result["class_weight"] = {
                i: float(total / (len(counts) * c)) if c else 0.0
                for i, c in enumerate(counts)
            }
        return result

    def build_model(self, encoder, task, options):
        token_ids, padding_mask = encoder_inputs()
        sequence = encoder(
            {"token_ids": token_ids, "padding_mask": padding_mask}
        )
        pooled = pooling_layer(options.get("pooling") or "mean")(
            sequence, padding_mask=padding_mask
        )
        pooled = keras.layers.Dropout(0.1, name="head_dropout")(pooled)
        logits = keras.layers.Dense(len(task["labels"]), name="logits")(pooled)
        activation = "sigmoid" if task["multi_label"] else "softmax"
        scores = keras.layers.Activation(
            activation, dtype="float32", name="scores"
        )(logits)
        return keras.Model(
            {"token_ids": token_ids, "padding_mask": padding_mask},
            scores,
            name="classifier",
        )

    def compile(self, model, task, options, learning_rate):
        if task["multi_label"]:
            loss = keras.losses.BinaryCrossentropy()
            metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
        else:
            loss = keras.losses.SparseCategoricalCrossentropy()
            metrics = [keras.metrics.SparseCategoricalAccuracy("accuracy")]
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=loss,
            metrics=metrics,
        )

    def scores(self, run, texts):
        token_ids, mask = run.tokenizer.encode(texts, run.sequence_length)
        return model_outputs(
            run.model, {"token_ids": token_ids, "padding_mask": mask}
        )

    def evaluate(self, run, data):
        task, options = run.task, run.config["options"]
        kept, targets, unknown = self.targets(data, task, options)
        scores = self.scores(run, [data["texts"][i] for i in kept])
        if task["multi_label"]:
            threshold = options.get("threshold") or 0.5
            results = multilabel_metrics(targets, scores >= threshold)
        else:
            results = classification_metrics(
                targets, scores.argmax(-1), len(task["labels"])
            )
            results["labels"] = task["labels"]
            plot = os.path.join(run.directory, "confusion_matrix.png")
            save_confusion_plot(
                results["confusion_matrix"], task["labels"], plot
            )
            results["confusion_matrix_png"] = plot
        results["examples"] = len(kept)
        results["skipped"] = len(data["texts"]) - len(kept)
        if unknown:
            results["unknown_labels"] = unknown
        return results

    def predict_lines(self, run, data):
        task = run.task
        scores = self.scores(run, data["texts"])
        labels = task["labels"]
        threshold = run.config["options"].get("threshold") or 0.5
        for row, score in zip(data["rows"], scores):
            if task["multi_label"]:
                chosen = np.flatnonzero(score >= threshold)
                yield "\t".join(
                    [
                        str(row),
                        "|".join(labels[i] for i in chosen),
                        "|".join(f"{score[i]:.4f}" for i in chosen),
                    ]
                )
            else:
                best = int(score.argmax())
                yield f"{row}\t{labels[best]}\t{score[best]:.4f}"

    def serving_endpoints(self, run):
        tokenizer, model = run.tokenizer, run.model
        labels = tf.constant(run.task["labels"])
        length = run.sequence_length

        def serve(texts):
            token_ids, mask = tokenizer.pack(tokenizer.tokenize(texts), length)
            scores = model(
                {"token_ids": token_ids, "padding_mask": mask}, training=False
            )
            best = tf.argmax(scores, axis=-1)
            return {
                "scores": scores,
                "label": tf.gather(labels, best),
                "score": tf.reduce_max(scores, axis=-1),
            }

        signature = [tf.TensorSpec([None], tf.string, name="texts")]
        return {"serving_default": (serve, signature)}

    def bundle_extras(self, run):
        return {"labels": run.task["labels"], "task": run.task}


def save_confusion_plot(matrix, labels, path):
    """Writes the confusion matrix as a PNG heat map with counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix)
    size = max(4.0, 0.45 * len(labels) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if len(labels) <= 30:
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                axes.text(
                    j, i, str(count), ha="center", va="center", fontsize=7
                )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


APP = ClassifyApp()
