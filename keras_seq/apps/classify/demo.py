"""Language identification demo on sentences generated from `wordfreq`.

`wordfreq` ships word frequency lists for dozens of languages inside its
wheel, so the demo needs no download: each sentence is a run of words drawn
from one language's most frequent words (weighted by the square root of
their frequency, so common words dominate without drowning the rest),
with a capital first letter and a full stop. `make_language_data` writes
such sentences to CSV; `demo` trains a small WordPiece transformer on
them, evaluates it on sentences generated with another seed, and exports
builtin-only TFLite.
"""

import csv
import os
import random
import time

import numpy as np

DEFAULT_LANGUAGES = (
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "cs",
    "pl",
    "sv",
    "tr",
    "ru",
)


def _word_list(language, size):
    import wordfreq

    words = wordfreq.top_n_list(language, size)
    words = [w for w in words if any(c.isalpha() for c in w)]
    weights = np.sqrt([wordfreq.word_frequency(w, language) for w in words])
    return words, weights / weights.sum()


def generate_sentences(language, count, seed, vocabulary=3000, lengths=(3, 12)):
    """`count` sentences of `language` words (a wordfreq language code)."""
    words, weights = _word_list(language, vocabulary)
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(count):
        n = int(rng.integers(lengths[0], lengths[1] + 1))
        chosen = rng.choice(len(words), size=n, p=weights)
        text = " ".join(words[i] for i in chosen)
        sentences.append(text[:1].upper() + text[1:] + ".")
    return sentences


def make_language_data(
    path, languages=DEFAULT_LANGUAGES, per_language=400, seed=0
):
    """Writes a CSV (`text,label`) of generated sentences, shuffled.

    Returns:
        The number of rows written.
    """
    known = set(_available_languages())
    unknown = [lang for lang in languages if lang not in known]
    if unknown:
        raise ValueError(
            f"wordfreq has no word list for {unknown}. Known: {sorted(known)}"
        )
    rows = []
    for i, language in enumerate(languages):
        for text in generate_sentences(language, per_language, seed * 1000 + i):
            rows.append((text, language))
    random.Random(seed).shuffle(rows)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return len(rows)


def _available_languages():
    import wordfreq

    return wordfreq.available_languages(wordlist="best")


def demo(
    out="runs/langid",
    minutes=3.0,
    languages=DEFAULT_LANGUAGES,
    per_language=600,
    epochs=30,
    seed=0,
    verbose="auto",
):
    """Generate data, train, evaluate on unseen sentences, export TFLite.

    Returns:
        A report dict: data sizes, training figures, test accuracy and
        macro F1 for Keras and for LiteRT, the TFLite size and latency.
    """
    from keras_seq.apps.classify.app import APP
    from keras_seq.apps.text import app as text_app
    from keras_seq.apps.text.app import TextRun

    data = os.path.join(out, "data")
    train_path = os.path.join(data, "train.csv")
    val_path = os.path.join(data, "val.csv")
    test_path = os.path.join(data, "test.csv")
    make_language_data(train_path, languages, per_language, seed)
    make_language_data(val_path, languages, 50, seed + 1)
    make_language_data(test_path, languages, 100, seed + 2)

    run_dir = os.path.join(out, "run")
    summary = text_app.train(
        APP,
        train_path,
        run_dir,
        val_data=val_path,
        tokenizer="wordpiece",
        vocabulary_size=2000,
        encoder_config={
            "backbone": "transformer",
            "hidden_dim": 64,
            "num_layers": 1,
            "num_heads": 2,
            "intermediate_dim": 128,
            "max_sequence_length": 128,
            "position_encoding": "learned",
        },
        epochs=epochs,
        minutes=minutes,
        batch_size=64,
        learning_rate=2e-3,
        seed=seed,
        options={"text_column": "text", "label_column": "label"},
        verbose=verbose,
    )
    keras_metrics = text_app.evaluate(APP, run_dir, test_path)
    tflite_path = os.path.join(out, "langid.tflite")
    export = text_app.export(APP, run_dir, tflite_path)
    lite = tflite_accuracy(TextRun(run_dir), tflite_path, test_path)
    return {
        "languages": list(languages),
        "train_sentences": summary["train_examples"],
        "test_sentences": keras_metrics["examples"],
        "epochs_run": summary["epochs_run"],
        "train_seconds": summary["seconds"],
        "keras_accuracy": keras_metrics["accuracy"],
        "keras_macro_f1": keras_metrics["macro_f1"],
        "tflite_accuracy": lite["accuracy"],
        "tflite_ms_per_sentence": lite["ms_per_sentence"],
        "tflite_bytes": export["size_bytes"],
        "parity_ok": export["parity_ok"],
        "tflite": tflite_path,
        "bundle": export["bundle"],
    }


def tflite_accuracy(run, tflite_path, data_path):
    """Accuracy of the .tflite model, one sentence at a time (batch 1)."""
    from keras_seq.apps.text.lite import LiteModel
    from keras_seq.apps.text.readers import read_table

    data = read_table(data_path, "text", "label")
    labels = run.task["labels"]
    model = LiteModel(tflite_path)
    correct, seconds = 0, 0.0
    for text, label in zip(data["texts"], data["labels"]):
        ids, mask = run.tokenizer.encode([text], run.sequence_length)
        length = int(mask.sum())
        start = time.perf_counter()
        scores = model(token_ids=ids[:, :length], padding_mask=mask[:, :length])
        seconds += time.perf_counter() - start
        best = int(np.asarray(next(iter(scores.values()))).argmax())
        correct += labels[best] == label
    count = max(len(data["texts"]), 1)
    return {
        "accuracy": correct / count,
        "ms_per_sentence": 1000.0 * seconds / count,
    }
