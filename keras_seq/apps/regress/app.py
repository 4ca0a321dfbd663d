"""Sequence regression: one number per text (e.g. a star rating)."""

import keras
import numpy as np
import tensorflow as tf

from keras_seq.apps.text.app import TableTextApp, model_outputs
from keras_seq.apps.text.backbone import encoder_inputs
from keras_seq.apps.text.metrics import regression_metrics
from keras_seq.apps.text.pooling import pooling_layer
from keras_seq.apps.text.readers import InputError, read_table


class RegressApp(TableTextApp):
    """A number per text, trained with mean squared error on standardized
    targets; the model's output is in the data's own units.

    Options: `text_column`, `target_column`, `pooling`.
    """

    name = "regress"
    default_sequence_length = 256

    def read(self, path, options, labelled=True):
        data = read_table(
            path,
            options.get("text_column") or "text",
            options.get("target_column") or "target",
            allow_missing=not labelled,
        )
        if not labelled:
            return data
        values, kept, bad = [], [], []
        for i, value in enumerate(data["labels"]):
            try:
                number = float(value)
            except (TypeError, ValueError):
                bad.append(value)
                continue
            if not np.isfinite(number):
                bad.append(value)
                continue
            values.append(number)
            kept.append(i)
        if bad and not kept:
            raise InputError(
                f"{path}: no numeric value in column "
                f"{options.get('target_column') or 'target'!r}. Received "
                f"values like: {bad[:3]}"
            )
        return {
            "texts": [data["texts"][i] for i in kept],
            "labels": values,
            "rows": [data["rows"][i] for i in kept],
            "skipped": data["skipped"] + len(bad),
        }

    def prepare(self, data, options):
        values = np.asarray(data["labels"], np.float64)
        return {
            "mean": float(values.mean()),
            "std": float(values.std()) or 1.0,
        }

    def encode(self, tokenizer, data, task, sequence_length, options):
        token_ids, mask = tokenizer.encode(data["texts"], sequence_length)
        return {
            "inputs": {"token_ids": token_ids, "padding_mask": mask},
            "targets": np.asarray(data["labels"], "float32"),
        }

    def build_model(self, encoder, task, options):
        token_ids, padding_mask = encoder_inputs()
        sequence = encoder(
            {"token_ids": token_ids, "padding_mask": padding_mask}
        )
        pooled = pooling_layer(options.get("pooling") or "mean")(
            sequence, padding_mask=padding_mask
        )
        pooled = keras.layers.Dropout(0.1, name="head_dropout")(pooled)
        standardized = keras.layers.Dense(1, name="standardized")(pooled)
        # Back to the data's units: y = mean + std * z.
        value = keras.layers.Rescaling(
            scale=task["std"],
            offset=task["mean"],
            dtype="float32",
            name="value",
        )(keras.layers.Flatten(name="flatten")(standardized))
        return keras.Model(
            {"token_ids": token_ids, "padding_mask": padding_mask},
            value,
            name="regressor",
        )

    def compile(self, model, task, options, learning_rate):
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss=keras.losses.MeanSquaredError(),
            metrics=[keras.metrics.MeanAbsoluteError("mae")],
        )

    def values(self, run, texts):
        token_ids, mask = run.tokenizer.encode(texts, run.sequence_length)
        return model_outputs(
            run.model, {"token_ids": token_ids, "padding_mask": mask}
        ).reshape(-1)

    def evaluate(self, run, data):
        results = regression_metrics(
            data["labels"], self.values(run, data["texts"])
        )
        results["examples"] = len(data["texts"])
        return results

    def predict_lines(self, run, data):
        for row, value in zip(data["rows"], self.values(run, data["texts"])):
            yield f"{row}\t{value:.4f}"

    def serving_endpoints(self, run):
        tokenizer, model = run.tokenizer, run.model
        length = run.sequence_length

        def serve(texts):
            token_ids, mask = tokenizer.pack(tokenizer.tokenize(texts), length)
            value = model(
                {"token_ids": token_ids, "padding_mask": mask}, training=False
            )
            return {"value": tf.reshape(value, [-1])}

        signature = [tf.TensorSpec([None], tf.string, name="texts")]
        return {"serving_default": (serve, signature)}


APP = RegressApp()
