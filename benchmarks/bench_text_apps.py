"""Text apps: training throughput, TFLite size and latency, Keras vs LiteRT.

For each app (classify as language identification over 12 languages from
`wordfreq`; regress, tag, read and pretrain on the generated toy sets of
`keras_seq.apps.text.toy_data`): train under a time budget, export
builtin-only TFLite, then compute the task metric on held-out data twice,
once with the Keras model and once through LiteRT (every example alone,
batch 1, at its own length), with the app's own evaluation code.

Language identification is also run through `langid`, `py3langid` and
`lingua` when they are installed (this script never installs them).

Usage:

```
python benchmarks/bench_text_apps.py [--minutes 0.5] [--write]
```
"""

import argparse
import importlib.util
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from keras_seq.apps.text import app as text_app  # noqa: E402
from keras_seq.apps.text import toy_data  # noqa: E402
from keras_seq.apps.text.app import TextRun  # noqa: E402
from keras_seq.apps.text.lite import LiteAsKeras  # noqa: E402

SMALL_TRANSFORMER = {
    "backbone": "transformer",
    "hidden_dim": 64,
    "num_layers": 1,
    "num_heads": 2,
    "intermediate_dim": 128,
    "max_sequence_length": 256,
}


def _langid_data(folder):
    from keras_seq.apps.classify.demo import make_language_data

    train = os.path.join(folder, "langid_train.csv")
    test = os.path.join(folder, "langid_test.csv")
    make_language_data(train, per_language=400, seed=0)
    make_language_data(test, per_language=50, seed=2)
    return train, test


def _write(writer, name, count, seed, **kwargs):
    def make(folder):
        paths = []
        for part, size, offset in (
            ("train", count, 0),
            ("test", count // 4, 99),
        ):
            path = os.path.join(folder, f"{part}_{name}")
            writer(path, size, seed=seed + offset, **kwargs)
            paths.append(path)
        return paths

    return make


def _corpus(folder):
    paths = []
    for part, documents, seed in (("train", 150, 0), ("test", 30, 99)):
        path = os.path.join(folder, f"{part}_corpus.txt")
        toy_data.write_corpus(path, documents=documents, seed=seed)
        paths.append(path)
    return paths


def app_specs():
    """(label, app module, data maker, train kwargs, sequence outputs,
    metric names)."""
    return [
        (
            "classify: language id, 12 languages",
            "keras_seq.apps.classify.app",
            _langid_data,
            {
                "vocabulary_size": 2000,
                "encoder_config": dict(
                    SMALL_TRANSFORMER, max_sequence_length=128
                ),
            },
            (),
            ("accuracy", "macro_f1"),
        ),
        (
            "regress: toy ratings (0-4 stars)",
            "keras_seq.apps.regress.app",
            _write(toy_data.write_ratings, "ratings.csv", 2000, 0),
            {
                "vocabulary_size": 300,
                "encoder_config": {
                    "backbone": "recurrent",
                    "hidden_dim": 64,
                    "num_layers": 1,
                },
            },
            (),
            ("mae", "pearson_r"),
        ),
        (
            "tag: toy NER (BIO)",
            "keras_seq.apps.tag.app",
            _write(toy_data.write_conll, "ner.conll", 1000, 0),
            {
                "vocabulary_size": 300,
                "encoder_config": {
                    "backbone": "conv_recurrent",
                    "hidden_dim": 64,
                    "num_layers": 1,
                },
            },
            ("scores",),
            ("token_accuracy", "span_f1"),
        ),
        (
            "read: toy SQuAD",
            "keras_seq.apps.read.app",
            _write(toy_data.write_squad, "squad.json", 800, 0),
            {
                "vocabulary_size": 300,
                "encoder_config": dict(
                    SMALL_TRANSFORMER, position_encoding="alibi"
                ),
                "options": {"max_answer_length": 8},
            },
            ("start_logits", "end_logits"),
            ("exact_match", "f1"),
        ),
        (
            "pretrain: toy corpus (MLM + NSP)",
            "keras_seq.apps.pretrain.app",
            _corpus,
            {
                "vocabulary_size": 300,
                "encoder_config": dict(
                    SMALL_TRANSFORMER, position_encoding="rotary"
                ),
            },
            (),
            ("mlm_accuracy", "nsp_accuracy"),
        ),
    ]


def keras_batch1_ms(run, app, count=30):
    """Median ms of the Keras model on one example (batch 1, length 24),
    called through `tf.function` (a traced graph, as a server would run
    it; eager calls are several times slower still)."""
    import tensorflow as tf

    model = app.tflite_model(run)
    names = [t.name.split(":")[0] for t in model.inputs]
    sample = app.parity_inputs(run, lengths=(24,))[0]
    feed = {n: tf.constant(sample[n][:1]) for n in names}
    graph = tf.function(lambda x: model(x, training=False))
    graph(feed)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        outputs = graph(feed)
        tf.nest.map_structure(lambda t: t.numpy(), outputs)
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def run_app(spec, folder, minutes):
    import importlib

    label, module, make_data, kwargs, sequence_outputs, metrics = spec
    app = importlib.import_module(module).APP
    train_path, test_path = make_data(folder)
    run_dir = os.path.join(folder, f"run_{app.name}")
    summary = text_app.train(
        app,
        train_path,
        run_dir,
        epochs=1000,
        minutes=minutes,
        batch_size=32,
        learning_rate=2e-3,
        verbose=0,
        **kwargs,
    )
    run = TextRun(run_dir)
    keras_results = text_app.evaluate(app, run_dir, test_path)
    keras_ms = keras_batch1_ms(run, app)
    tflite = os.path.join(folder, f"{app.name}.tflite")
    export = text_app.export(app, run_dir, tflite)
    lite_run = TextRun(run_dir)
    lite_model = LiteAsKeras(tflite, sequence_outputs=sequence_outputs)
    lite_run._model = lite_model
    lite_results = app.evaluate(
        lite_run, app.read(test_path, run.config["options"])
    )
    return {
        "label": label,
        "backbone": run.config["encoder"]["backbone"]
        + (
            f" ({run.config['encoder']['position_encoding']})"
            if run.config["encoder"]["backbone"] == "transformer"
            else ""
        ),
        "examples_per_second": summary["examples_per_second"],
        "epochs": summary["epochs_run"],
        "train_seconds": summary["seconds"],
        "kb": export["size_bytes"] / 1024,
        "parity": export["parity_ok"],
        "max_error": export["max_abs_error"],
        "lite_ms": lite_model.ms_per_call,
        "keras_ms": keras_ms,
        "metrics": [(m, keras_results[m], lite_results[m]) for m in metrics],
        "test_path": test_path,
        "run": run_dir,
    }


def langid_peers(test_path):
    """Accuracy of the installed language identifiers, or why not run."""
    from keras_seq.apps.text.readers import read_table

    data = read_table(test_path, "text", "label")
    languages = sorted(set(data["labels"]))
    rows = []
    for name in ("langid", "py3langid", "lingua"):
        if importlib.util.find_spec(name) is None:
            rows.append((name, None, "not installed, not run"))
            continue
        if name in ("langid", "py3langid"):
            # Both expose module-level classify(); restrict to our set.
            module = importlib.import_module(name)
            inner = getattr(module, "langid", module)
            getattr(
                inner,
                "set_languages",
                getattr(module, "set_languages", lambda _: None),
            )(languages)

            def classify(text, module=module):
                return module.classify(text)[0]

        else:
            import lingua

            detector = lingua.LanguageDetectorBuilder.from_iso_codes_639_1(
                *[getattr(lingua.IsoCode639_1, c.upper()) for c in languages]
            ).build()

            def classify(text, detector=detector):
                found = detector.detect_language_of(text)
                return found.iso_code_639_1.name.lower() if found else ""

        start = time.perf_counter()
        correct = sum(
            classify(t) == label
            for t, label in zip(data["texts"], data["labels"])
        )
        ms = 1000 * (time.perf_counter() - start) / len(data["texts"])
        rows.append((name, correct / len(data["texts"]), f"{ms:.2f} ms"))
    return rows


def format_results(results, peers, minutes):
    lines = [
        f"Each app trains for {minutes} min of wall time (a time budget; "
        "epochs as many as fit) on a shared 2-core CPU, so throughput and "
        "latency are indicative. Metrics are on held-out data generated "
        "with another seed; LiteRT runs every example alone (batch 1) at "
        "its own length, through the app's own evaluation code. The toy "
        "sets (keras_seq.apps.text.toy_data) follow simple rules, so their "
        "metrics show that Keras and LiteRT agree, not how hard a real "
        "task is. Latency: median ms per example at batch 1: LiteRT (default "
        "threads) over the test set at each example's length, and the "
        "Keras model traced with `tf.function` at length 24.",
        "",
        "| app | backbone | train ex/s | epochs | .tflite KB | parity "
        "(max err) | LiteRT ms | Keras graph ms | metric | Keras | LiteRT |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for i, (metric, keras_value, lite_value) in enumerate(r["metrics"]):
            head = (
                f"| {r['label']} | {r['backbone']} | "
                f"{r['examples_per_second']:.0f} | {r['epochs']} | "
                f"{r['kb']:.0f} | {r['parity']} ({r['max_error']:.1e}) | "
                f"{r['lite_ms']:.2f} | {r['keras_ms']:.1f} |"
                if i == 0
                else "| | | | | | | | |"
            )
            lines.append(
                f"{head} {metric} | {keras_value:.4f} | {lite_value:.4f} |"
            )
    lines += ["", "Language identification peers on the same test set:", ""]
    lines += ["| identifier | accuracy | note |", "|---|---|---|"]
    for name, accuracy, note in peers:
        value = "-" if accuracy is None else f"{accuracy:.4f}"
        lines.append(f"| {name} | {value} | {note} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=0.5)
    parser.add_argument(
        "--apps",
        nargs="+",
        default=None,
        help="subset of: classify regress tag read pretrain",
    )
    parser.add_argument(
        "--write",
        action="store_true",
        help="write the section to benchmarks/RESULTS.md",
    )
    args = parser.parse_args(argv)
    specs = [
        s
        for s in app_specs()
        if not args.apps or s[1].split(".")[2] in args.apps
    ]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for spec in specs:
            results.append(run_app(spec, folder, args.minutes))
            print(results[-1]["label"], results[-1]["metrics"], flush=True)
        langid = [r for r in results if r["label"].startswith("classify")]
        peers = langid_peers(langid[0]["test_path"]) if langid else []
    body = format_results(results, peers, args.minutes)
    print(body)
    if args.write:
        from results import write_section

        command = "python benchmarks/bench_text_apps.py " + " ".join(
            argv if argv is not None else sys.argv[1:]
        )
        write_section("Text apps", body, command.strip())


if __name__ == "__main__":
    main()
