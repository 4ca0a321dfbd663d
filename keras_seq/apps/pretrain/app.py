"""BERT-style pretraining: masked language modelling + next sentence.

The corpus is raw text, one sentence a line, a blank line between
documents. Every sentence that has a successor in its document starts a
pair: half the pairs keep the true next sentence (label 1), the others
take a random sentence from another document (label 0); with a single
document, from a position at least two sentences away. Pairs are packed
`[CLS] first [SEP] second [SEP]`, and `keras_hub.layers.MaskedLMMaskGenerator`
selects 15% of the tokens (80% become `[MASK]`, 10% a random token, 10%
stay). Masking is drawn once per training run (static masking).

The run's `encoder.keras` and tokenizer are what `--encoder RUN_DIR`
starts the other apps from.
"""

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_seq.apps.text.app import TextApp, batched
from keras_seq.apps.text.backbone import encoder_inputs
from keras_seq.apps.text.pooling import pooling_layer
from keras_seq.apps.text.readers import read_corpus
from keras_seq.apps.text.tokenizer import CLS_ID, MASK_ID, PAD_ID, SEP_ID


def make_pairs(documents, seed=0):
    """Sentence pairs and is-next labels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    flat = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc))]
    firsts, seconds, labels = [], [], []
    for d, document in enumerate(documents):
        for i in range(len(document) - 1):
            firsts.append(document[i])
            if rng.random() < 0.5:
                seconds.append(document[i + 1])
                labels.append(1)
                continue
            for _ in range(10):
                other_d, other_i = flat[int(rng.integers(len(flat)))]
                if len(documents) > 1:
                    far = other_d != d
                else:
                    far = abs(other_i - i) > 1
                if far:
                    break
            if far:
                seconds.append(documents[other_d][other_i])
                labels.append(0)
            else:
                seconds.append(document[i + 1])
                labels.append(1)
    return firsts, seconds, labels


class PretrainApp(TextApp):
    """Masked LM + next-sentence prediction on a raw text corpus.

    Options: `mask_rate` (default 0.15), `max_predictions` (masked
    positions per pair, default 20).
    """

    name = "pretrain"
    default_sequence_length = 128

    def read(self, path, options, labelled=True):
        documents = read_corpus(path)
        if labelled:
            firsts, seconds, labels = make_pairs(documents)
            return {
                "documents": documents,
                "firsts": firsts,
                "seconds": seconds,
                "labels": labels,
                "skipped": 0,
            }
        lines = [s for d in documents for s in d]
        return {"lines": lines, "skipped": 0}

    def texts(self, data):
        return [s for d in data["documents"] for s in d]

    def size(self, data):
        return len(data["firsts"])

    def needed_length(self, tokenizer, data):
        lengths = [
            tokenizer.tokenize(data[k]).row_lengths().numpy()
            for k in ("firsts", "seconds")
        ]
        return int((lengths[0] + lengths[1]).max()) + 3

    def subset(self, data, indices):
        return {
            "documents": data["documents"],
            "firsts": [data["firsts"][i] for i in indices],
            "seconds": [data["seconds"][i] for i in indices],
            "labels": [data["labels"][i] for i in indices],
            "skipped": 0,
        }

    def prepare(self, data, options):
        if not data["firsts"]:
            raise ValueError(
                "Pretraining needs documents of two or more sentences (one "
                "a line, a blank line between documents). Received: "
                f"{len(data['documents'])} documents, no sentence pairs"
            )
        return {
            "mask_rate": float(options.get("mask_rate") or 0.15),
            "max_predictions": int(options.get("max_predictions") or 20),
        }

    def _masked(self, tokenizer, data, task, sequence_length, seed=0):
        token_ids, mask, _ = tokenizer.pack_pair(
            tokenizer.tokenize(data["firsts"]),
            tokenizer.tokenize(data["seconds"]),
            sequence_length,
        )
        generator = keras_hub.layers.MaskedLMMaskGenerator(
            vocabulary_size=tokenizer.vocabulary_size,
            mask_selection_rate=task["mask_rate"],
            mask_token_id=MASK_ID,
            mask_selection_length=task["max_predictions"],
            unselectable_token_ids=[PAD_ID, CLS_ID, SEP_ID],
        )
        # The masking ops draw from TensorFlow's global and op seeds, both
        # set here, so the same data gets the same masks (an evaluation
        # through Keras and one through LiteRT compare like with like).
        keras.utils.set_random_seed(seed)
        masked = generator(token_ids)
        return {
            "token_ids": np.asarray(masked["token_ids"], "int32"),
            "padding_mask": np.asarray(mask, "int32"),
            "mask_positions": np.asarray(masked["mask_positions"], "int32"),
            "mask_ids": np.asarray(masked["mask_ids"], "int32"),
            "mask_weights": np.asarray(masked["mask_weights"], "float32"),
        }

    def encode(self, tokenizer, data, task, sequence_length, options):
        arrays = self._masked(tokenizer, data, task, sequence_length)
        labels = np.asarray(data["labels"], "int32")
        return {
            "inputs": {
                "token_ids": arrays["token_ids"],
                "padding_mask": arrays["padding_mask"],
                "mask_positions": arrays["mask_positions"],
            },
            "targets": {"mlm": arrays["mask_ids"], "nsp": labels},
            "sample_weight": {
                "mlm": arrays["mask_weights"],
                "nsp": np.ones(len(labels), "float32"),
            },
        }

    def build_model(self, encoder, task, options):
        token_ids, padding_mask = encoder_inputs()
        mask_positions = keras.Input(
            (None,), dtype="int32", name="mask_positions"
        )
        sequence = encoder(
            {"token_ids": token_ids, "padding_mask": padding_mask}
        )
        vocabulary_size = encoder.get_layer("token_embedding").input_dim
        mlm = keras_hub.layers.MaskedLMHead(
            vocabulary_size=vocabulary_size, name="mlm_head"
        )(sequence, mask_positions=mask_positions)
        pooled = pooling_layer("mean")(sequence, padding_mask=padding_mask)
        nsp = keras.layers.Dense(2, name="nsp_head")(pooled)
        return keras.Model(
            {
                "token_ids": token_ids,
                "padding_mask": padding_mask,
                "mask_positions": mask_positions,
            },
            {
                "mlm": keras.layers.Activation(
                    "linear", dtype="float32", name="mlm"
                )(mlm),
                "nsp": keras.layers.Activation(
                    "linear", dtype="float32", name="nsp"
                )(nsp),
            },
            name="pretrainer",
        )

    def compile(self, model, task, options, learning_rate):
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss={"mlm": loss, "nsp": loss},
            weighted_metrics={
                "mlm": [keras.metrics.SparseCategoricalAccuracy("accuracy")],
                "nsp": [keras.metrics.SparseCategoricalAccuracy("accuracy")],
            },
        )

    def _outputs(self, run, arrays):
        def call(part):
            result = run.model(part, training=False)
            return {k: np.asarray(v) for k, v in result.items()}

        return batched(
            call,
            {
                k: arrays[k]
                for k in ("token_ids", "padding_mask", "mask_positions")
            },
            batch_size=64,
        )

    def evaluate(self, run, data):
        arrays = self._masked(
            run.tokenizer, data, run.task, run.sequence_length, seed=1
        )
        outputs = self._outputs(run, arrays)
        weights = arrays["mask_weights"]
        logits = outputs["mlm"].astype("float64")
        logits -= logits.max(-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        picked = np.take_along_axis(
            log_probs, arrays["mask_ids"][..., None], -1
        )[..., 0]
        total = max(weights.sum(), 1.0)
        mlm_accuracy = (
            (outputs["mlm"].argmax(-1) == arrays["mask_ids"]) * weights
        ).sum() / total
        nsp = outputs["nsp"].argmax(-1) == np.asarray(data["labels"])
        return {
            "mlm_accuracy": float(mlm_accuracy),
            "mlm_perplexity": float(np.exp(-(picked * weights).sum() / total)),
            "nsp_accuracy": float(nsp.mean()) if len(nsp) else 0.0,
            "pairs": len(data["labels"]),
            "masked_tokens": int(weights.sum()),
        }

    def predict_lines(self, run, data):
        """Fill-mask: each input line's `[MASK]`s, predicted.

        Prints `line<TAB>tokens<TAB>scores`, one predicted token (and its
        probability) per `[MASK]`, separated by spaces; `line` is the
        0-based index of the non-empty line.
        """
        tokenizer = run.tokenizer
        vocabulary = tokenizer.vocabulary
        for row, line in enumerate(data["lines"]):
            parts = line.split("[MASK]")
            pieces = tokenizer.tokenize(parts).to_list()
            ids = [CLS_ID]
            for i, piece in enumerate(pieces):
                if i:
                    ids.append(MASK_ID)
                ids.extend(piece)
            ids = ids[: run.sequence_length - 1] + [SEP_ID]
            positions = [i for i, t in enumerate(ids) if t == MASK_ID]
            if not positions:
                yield f"{row}\t\t"
                continue
            outputs = run.model(
                {
                    "token_ids": np.asarray([ids], "int32"),
                    "padding_mask": np.ones((1, len(ids)), "int32"),
                    "mask_positions": np.asarray([positions], "int32"),
                },
                training=False,
            )
            logits = np.asarray(outputs["mlm"][0], "float64")
            probs = np.exp(logits - logits.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            best = probs.argmax(-1)
            tokens = [_token_text(tokenizer, vocabulary, int(i)) for i in best]
            scores = [f"{probs[k, i]:.4f}" for k, i in enumerate(best)]
            yield f"{row}\t{' '.join(tokens)}\t{' '.join(scores)}"

    def parity_inputs(self, run, lengths=(9, 23)):
        result = []
        for inputs in super().parity_inputs(run, lengths):
            positions = np.tile(np.asarray([[1, 3, 5]], "int32"), (2, 1))
            result.append(dict(inputs, mask_positions=positions))
        return result

    def serving_endpoints(self, run):
        tokenizer, length = run.tokenizer, run.sequence_length
        encoder = run.model.get_layer("encoder")
        pooling = pooling_layer("mean")

        def serve(texts):
            token_ids, mask = tokenizer.pack(tokenizer.tokenize(texts), length)
            sequence = encoder(
                {"token_ids": token_ids, "padding_mask": mask}, training=False
            )
            return {"embedding": pooling(sequence, padding_mask=mask)}

        signature = [tf.TensorSpec([None], tf.string, name="texts")]
        return {"serving_default": (serve, signature)}

    def bundle_extras(self, run):
        return {
            "task": run.task,
            "extra_inputs": {
                "mask_positions": "int32 (batch_size, num_masks)",
            },
        }


def _token_text(tokenizer, vocabulary, token_id):
    if vocabulary is not None:
        return vocabulary[token_id]
    if token_id < 5:
        return ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"][token_id]
    value = token_id - 5
    if tokenizer.kind == "byte":
        return bytes([value]).decode("latin-1")
    return chr(value)


APP = PretrainApp()
