"""The train / evaluate / predict / export flow every text app shares.

An app (`classify`, `regress`, `tag`, `read`, `pretrain`) subclasses
`TextApp` and fills in what differs: how to read its files, how to turn
examples into arrays, its head, its metrics and its predictions. The
functions `train`, `evaluate`, `predict`, `export` and
`export_saved_model` below do the rest the same way for all of them.

A run folder holds:

- `config.json`: the app, sequence length, encoder and task settings;
- `tokenizer.json`, `vocabulary.txt` (wordpiece): the tokenizer;
- `model.keras` (the task model), `encoder.keras` (its encoder, for
  `--encoder`), `best.keras` (best validation loss);
- `backup/` (resume state, removed when training ends), `logs/`
  (TensorBoard), `history.csv`, `metrics.json`, `golden_tokens.json`.
"""

import json
import logging
import os

import keras
import numpy as np
import tensorflow as tf

from keras_seq.apps.text.backbone import (
    build_encoder,
    default_encoder_config,
)
from keras_seq.apps.text.tokenizer import TextTokenizer, train_vocabulary
from keras_seq.apps.text.training import fit
from keras_seq.tflite import check_parity, convert, representative_dataset

logger = logging.getLogger(__name__)


class TextApp:
    """What one text app adds to the shared flow.

    Subclasses set `name` and `default_sequence_length` and implement the
    methods that raise `NotImplementedError`. `options` is a dict of the
    app's own settings (columns, flags), stored in `config.json`.
    """

    name = None
    default_sequence_length = 128
    loss_monitor = "val_loss"

    def read(self, path, options, labelled=True):
        """Reads a data file into the app's example structure."""
        raise NotImplementedError

    def texts(self, data):
        """The raw texts of `data`, for learning a vocabulary."""
        raise NotImplementedError

    def size(self, data):
        """The number of examples in `data`."""
        raise NotImplementedError

    def subset(self, data, indices):
        """The examples of `data` at `indices` (for a validation split)."""
        raise NotImplementedError

    def needed_length(self, tokenizer, data):
        """Tokens the longest packed example needs (with [CLS], [SEP])."""
        return _longest(tokenizer, self.texts(data)) + 2

    def prepare(self, data, options):
        """Task settings learned from training data (e.g. the labels)."""
        return {}

    def encode(self, tokenizer, data, task, sequence_length, options):
        """Arrays for `model.fit`.

        Returns:
            A dict with `inputs` (dict of arrays), `targets` and optional
            `sample_weight`, `class_weight`, `skipped`.
        """
        raise NotImplementedError

    def build_model(self, encoder, task, options):
        raise NotImplementedError

    def compile(self, model, task, options, learning_rate):
        raise NotImplementedError

    def evaluate(self, run, data):
        """Metrics of `run` on labelled `data` (a dict of floats)."""
        raise NotImplementedError

    def predict_lines(self, run, data):
        """Lines of text output for unlabelled `data`."""
        raise NotImplementedError

    def serving_endpoints(self, run):
        """`{name: (tf.function, input_signature)}` taking raw strings."""
        raise NotImplementedError

    def tflite_model(self, run):
        """The Keras model that goes to TFLite (takes token ids)."""
        return run.model

    def parity_inputs(self, run, lengths=(9, 23)):
        """Model inputs at two sequence lengths for the parity check.

        Returns:
            A list of dicts, input name -> array.
        """
        rng = np.random.default_rng(0)
        vocabulary_size = run.tokenizer.vocabulary_size
        result = []
        for length in lengths:
            ids = rng.integers(5, vocabulary_size, (2, length)).astype("int32")
            ids[:, 0] = 1
            mask = np.ones((2, length), "int32")
            # The second row is shorter: real tokens, then padding.
            mask[1, length - 3 :] = 0
            ids[1, length - 3 :] = 0
            result.append({"token_ids": ids, "padding_mask": mask})
        return result

    def bundle_extras(self, run):
        """App-specific entries of the exported bundle JSON."""
        return {"task": run.config["task"]}


class TableTextApp(TextApp):
    """A `TextApp` whose data is one text and one label per table row.

    `read` returns `{"texts", "labels", "rows", "skipped"}`, `rows` being
    each example's 0-based row in the file.
    """

    def texts(self, data):
        return data["texts"]

    def size(self, data):
        return len(data["texts"])

    def subset(self, data, indices):
        return {
            "texts": [data["texts"][i] for i in indices],
            "labels": [data["labels"][i] for i in indices],
            "rows": [data["rows"][i] for i in indices],
            "skipped": 0,
        }


class TextRun:
    """A trained run folder: config, tokenizer and (lazily) the model."""

    def __init__(self, directory):
        path = os.path.join(directory, "config.json")
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"Not a run folder (no config.json). Received: {directory!r}"
            )
        self.directory = directory
        with open(path, encoding="utf-8") as f:
            self.config = json.load(f)
        self.tokenizer = TextTokenizer.load(directory)
        self._model = None

    @property
    def sequence_length(self):
        return int(self.config["sequence_length"])

    @property
    def task(self):
        return self.config["task"]

    @property
    def model(self):
        if self._model is None:
            path = os.path.join(self.directory, "model.keras")
            if not os.path.exists(path):
                raise FileNotFoundError(
                    f"The run has no trained model yet. Received: {path!r}"
                )
            self._model = keras.saving.load_model(path, compile=False)
        return self._model

    def check_app(self, name):
        if self.config.get("app") != name:
            raise ValueError(
                f"This run was trained by `{self.config.get('app')}`, not "
                f"`{name}`. Received: {self.directory!r}"
            )


def _write_json(path, data):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)


def _split(app, data, val_fraction, seed):
    count = app.size(data)
    order = np.random.default_rng(seed).permutation(count)
    val_count = max(1, int(round(count * val_fraction))) if count > 4 else 0
    if not val_count:
        return data, None
    return (
        app.subset(data, sorted(order[val_count:])),
        app.subset(data, sorted(order[:val_count])),
    )


def _longest(tokenizer, texts):
    """The most tokens any of `texts` has."""
    longest = 0
    for start in range(0, len(texts), 4096):
        lengths = tokenizer.tokenize(texts[start : start + 4096]).row_lengths()
        if len(lengths):
            longest = max(longest, int(tf.reduce_max(lengths)))
    return longest


def make_tokenizer(kind, texts, vocabulary_size, lowercase=True):
    """A new `TextTokenizer`; wordpiece learns its vocabulary on `texts`."""
    vocabulary = None
    if kind == "wordpiece":
        vocabulary = train_vocabulary(texts, vocabulary_size, lowercase)
    return TextTokenizer(kind, vocabulary=vocabulary, lowercase=lowercase)


def train(
    app,
    data,
    out,
    *,
    val_data=None,
    encoder=None,
    tokenizer="wordpiece",
    vocabulary_size=8000,
    lowercase=True,
    encoder_config=None,
    sequence_length=None,
    epochs=10,
    minutes=None,
    batch_size=32,
    learning_rate=1e-3,
    patience=None,
    val_fraction=0.1,
    seed=0,
    options=None,
    verbose="auto",
):
    """Trains `app` on the file `data`, writing the run folder `out`.

    Args:
        app: a `TextApp`.
        data: the training file.
        out: the run folder; if it already holds this app's run, its
            tokenizer and settings are reused, an interrupted training
            resumes from `out/backup`, and a finished one trains on from
            its `model.keras`.
        val_data: a validation file (default: `val_fraction` of `data`).
        encoder: a run folder whose `encoder.keras` and tokenizer to start
            from (e.g. a `pretrain` run).
        tokenizer: `"wordpiece"`, `"byte"` or `"char"` (ignored with
            `encoder`).
        vocabulary_size: the wordpiece vocabulary to learn.
        encoder_config: overrides of `default_encoder_config` (backbone,
            hidden_dim, ...).
        sequence_length: the longest packed sequence (default: the
            longest training example, up to the app's default).
        epochs, minutes, batch_size, learning_rate, patience: training.
        options: the app's own settings.

    Returns:
        A summary dict (examples, skipped, training figures, validation
        metrics).
    """
    options = dict(options or {})
    keras.utils.set_random_seed(seed)
    os.makedirs(out, exist_ok=True)
    train_set = app.read(data, options)
    if app.size(train_set) == 0:
        raise ValueError(f"No usable examples in the training data: {data}")
    if val_data:
        val_set = app.read(val_data, options)
    else:
        train_set, val_set = _split(app, train_set, val_fraction, seed)

    # The tokenizer and the settings: reused on resume or from --encoder.
    resume = os.path.exists(os.path.join(out, "config.json"))
    if resume:
        run = TextRun(out)
        run.check_app(app.name)
        text_tokenizer, config = run.tokenizer, run.config
        logger.info("Resuming the run in %s", out)
    else:
        if encoder:
            source = TextRun(encoder)
            text_tokenizer = source.tokenizer
            enc_config = dict(source.config["encoder"])
        else:
            text_tokenizer = make_tokenizer(
                tokenizer, app.texts(train_set), vocabulary_size, lowercase
            )
            enc_config = default_encoder_config(**(encoder_config or {}))
            enc_config["vocabulary_size"] = text_tokenizer.vocabulary_size
        cap = min(
            app.default_sequence_length, enc_config["max_sequence_length"]
        )
        length = sequence_length or min(
            max(app.needed_length(text_tokenizer, train_set), 8), cap
        )
        config = {
            "app": app.name,
            "sequence_length": length,
            "encoder": enc_config,
            "encoder_source": encoder,
            "task": app.prepare(train_set, options),
            "options": options,
        }
        text_tokenizer.save(out)
        _write_json(os.path.join(out, "config.json"), config)
    task, options = config["task"], config["options"]
    length = config["sequence_length"]

    # Arrays.
    train_arrays = app.encode(text_tokenizer, train_set, task, length, options)
    val_arrays = None
    if val_set is not None and app.size(val_set):
        val_arrays = app.encode(text_tokenizer, val_set, task, length, options)

    # The model.
    if config.get("encoder_source"):
        backbone = keras.saving.load_model(
            os.path.join(config["encoder_source"], "encoder.keras")
        )
    else:
        backbone = build_encoder(config["encoder"])
    model = app.build_model(backbone, task, options)
    app.compile(model, task, options, learning_rate)
    saved = os.path.join(out, "model.keras")
    if resume and os.path.exists(saved):
        if os.path.exists(os.path.join(out, "backup")):
            # BackupAndRestore restores the interrupted epoch itself.
            logger.info("Resuming the interrupted training in %s", out)
        else:
            # A finished run trains on from its final weights (not its
            # optimizer state: the optimizer here is new).
            previous = keras.saving.load_model(saved, compile=False)
            model.set_weights(previous.get_weights())

    def triple(arrays):
        result = (arrays["inputs"], arrays["targets"])
        if arrays.get("sample_weight") is not None:
            result += (arrays["sample_weight"],)
        return result

    summary = fit(
        model,
        triple(train_arrays),
        triple(val_arrays) if val_arrays else None,
        out,
        epochs=epochs,
        batch_size=batch_size,
        minutes=minutes,
        patience=patience,
        class_weight=train_arrays.get("class_weight"),
        verbose=verbose,
    )
    model.save(os.path.join(out, "model.keras"))
    model.get_layer("encoder").save(os.path.join(out, "encoder.keras"))
    _write_json(
        os.path.join(out, "golden_tokens.json"), text_tokenizer.golden()
    )
    summary.update(
        {
            "run": out,
            "resumed": resume,
            "train_examples": app.size(train_set),
            "val_examples": app.size(val_set) if val_set else 0,
            "skipped": train_arrays.get("skipped", 0)
            + train_set.get("skipped", 0),
            "sequence_length": length,
        }
    )
    if val_set is not None and app.size(val_set):
        run = TextRun(out)
        run._model = model
        summary["val_metrics"] = app.evaluate(run, val_set)
    _write_json(os.path.join(out, "metrics.json"), summary)
    return summary


def evaluate(app, run_dir, data, options=None):
    """The app's metrics of the run in `run_dir` on the labelled `data`."""
    run = TextRun(run_dir)
    run.check_app(app.name)
    merged = dict(run.config["options"])
    merged.update({k: v for k, v in (options or {}).items() if v})
    dataset = app.read(data, merged)
    results = app.evaluate(run, dataset)
    results["skipped"] = dataset.get("skipped", 0) + results.get("skipped", 0)
    return results


def predict(app, run_dir, data, options=None):
    """Output lines of the run in `run_dir` for the file `data`."""
    run = TextRun(run_dir)
    run.check_app(app.name)
    merged = dict(run.config["options"])
    merged.update({k: v for k, v in (options or {}).items() if v})
    dataset = app.read(data, merged, labelled=False)
    return app.predict_lines(run, dataset)


def export(app, run_dir, out, quantization=None):
    """Builtin-only TFLite of the run, its bundle JSON, parity at 2 lengths.

    Writes `out` (the .tflite) and `out` with `.json` in place of
    `.tflite`: the tokenizer settings, the vocabulary, golden token ids
    (sample strings and their ids), the labels, the input names and the
    parity figures.

    Returns:
        A dict: path, bundle path, size in bytes, ops, parity.
    """
    run = TextRun(run_dir)
    run.check_app(app.name)
    model = app.tflite_model(run)
    names = [t.name.split(":")[0] for t in model.inputs]
    calibration = None
    if quantization == "int8":
        # Calibration rows of batch 1 at both parity lengths; the inputs
        # are ids, so only the float activations are calibrated.
        calibration = representative_dataset(
            [
                [x[n][row : row + 1] for n in names]
                for x in app.parity_inputs(run)
                for row in range(len(x["token_ids"]))
            ]
        )
    report = convert(
        model,
        out,
        quantization=quantization,
        representative_dataset=calibration,
    )
    parity = check_parity(
        model,
        report.content,
        [[x[n] for n in names] for x in app.parity_inputs(run)],
        rtol=1e-3 if quantization is None else 1.0,
        atol=1e-4 if quantization is None else 1.0,
    )
    bundle_path = os.path.splitext(out)[0] + ".json"
    bundle = {
        "app": app.name,
        "model": os.path.basename(out),
        "inputs": {
            "token_ids": "int32 (batch_size, sequence_length)",
            "padding_mask": "int32 (batch_size, sequence_length), 1 = real",
        },
        "outputs": _signature_outputs(report.content),
        "max_sequence_length": run.config["encoder"]["max_sequence_length"],
        "sequence_length": run.sequence_length,
        "special_tokens": {
            "pad": 0,
            "cls": 1,
            "sep": 2,
            "unk": 3,
            "mask": 4,
        },
        "tokenizer": run.tokenizer.get_config(),
        "vocabulary": run.tokenizer.vocabulary,
        "golden_token_ids": run.tokenizer.golden(),
        "parity": {
            "max_abs_error": parity["max_abs_error"],
            "lengths": [
                int(p["shapes"][names.index("token_ids")][1])
                for p in parity["per_input"]
            ],
            "ok": parity["ok"],
        },
    }
    bundle.update(app.bundle_extras(run))
    _write_json(bundle_path, bundle)
    return {
        "tflite": out,
        "bundle": bundle_path,
        "size_bytes": report.size_bytes,
        "ops": report.ops,
        "parity_ok": parity["ok"],
        "max_abs_error": parity["max_abs_error"],
    }


def _signature_outputs(content):
    """Output name -> shape signature of the .tflite serving signature."""
    from keras_seq.apps.text.lite import LiteModel

    interpreter = LiteModel(content).interpreter
    key = next(iter(interpreter.get_signature_list()))
    runner = interpreter.get_signature_runner(key)
    return {
        name: [int(d) for d in detail["shape_signature"]]
        for name, detail in runner.get_output_details().items()
    }


def export_saved_model(app, run_dir, directory):
    """A SavedModel whose signatures take raw strings (tokenizer inside).

    Returns:
        `directory`; the signature names are the app's endpoint names.
    """
    run = TextRun(run_dir)
    run.check_app(app.name)
    archive = keras.export.ExportArchive()
    archive.track(run.model)
    tokenizer_layer = run.tokenizer.layer
    if not tokenizer_layer.built:
        tokenizer_layer.build(None)
    archive.track(tokenizer_layer)
    for name, (function, signature) in app.serving_endpoints(run).items():
        archive.add_endpoint(name, function, input_signature=signature)
    archive.write_out(directory, verbose=False)
    return directory


def batched(function, arrays, batch_size=256):
    """Calls `function` on slices of the dict `arrays`; concatenates."""
    count = len(next(iter(arrays.values())))
    outputs = []
    for start in range(0, count, batch_size):
        part = {k: v[start : start + batch_size] for k, v in arrays.items()}
        outputs.append(function(part))
    if not outputs:
        return None
    if isinstance(outputs[0], dict):
        return {
            k: np.concatenate([np.asarray(o[k]) for o in outputs])
            for k in outputs[0]
        }
    return np.concatenate([np.asarray(o) for o in outputs])


def model_outputs(model, inputs, batch_size=256):
    """Runs a Keras model in inference mode over `inputs` in batches."""

    def run(part):
        result = model(part, training=False)
        if isinstance(result, dict):
            return {k: np.asarray(v) for k, v in result.items()}
        return np.asarray(result)

    return batched(run, inputs, batch_size)
