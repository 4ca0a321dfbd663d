"""`keras-seq ocr evaluate`: CER and WER, overall and by metadata column."""

import collections

from keras_seq.apps.ocr import data as ocr_data
from keras_seq.apps.ocr.model import load_run
from keras_seq.apps.ocr.predict import recognize_batch
from keras_seq.metrics import character_error_rate, word_error_rate


def score(references, hypotheses):
    """`{"lines", "cer", "wer"}` of paired transcripts."""
    return {
        "lines": len(references),
        "cer": character_error_rate(references, hypotheses),
        "wer": word_error_rate(references, hypotheses),
    }


def breakdown(samples, hypotheses):
    """Scores per value of every metadata column of the samples.

    Returns:
        `{column: {value: {"lines", "cer", "wer"}}}`, values sorted.
    """
    groups = collections.defaultdict(lambda: collections.defaultdict(list))
    for sample, hypothesis in zip(samples, hypotheses):
        for column, value in (sample.get("meta") or {}).items():
            groups[column][value].append((sample["text"], hypothesis))
    return {
        column: {
            value: score([r for r, _ in pairs], [h for _, h in pairs])
            for value, pairs in sorted(values.items())
        }
        for column, values in sorted(groups.items())
    }


def evaluate_samples(model, charset, samples, batch_size=32):
    """Scores a loaded model on samples; see `evaluate`."""
    hypotheses = recognize_batch(
        model, [s["image"] for s in samples], charset, batch_size
    )
    references = [s["text"] for s in samples]
    results = score(references, hypotheses)
    results["out_of_charset_lines"] = sum(
        1 for r in references if charset.unknown_characters(r)
    )
    results["by"] = breakdown(samples, hypotheses)
    return results, hypotheses


def evaluate(model, data, batch_size=32):
    """CER and WER of a trained model on a labelled folder.

    Transcripts with characters outside the model's charset are kept (the
    model cannot read those characters, and the error rates say so) and
    counted in `out_of_charset_lines`. Unreadable images are skipped and
    counted in `skipped`.

    Args:
        model: a run folder or .keras file.
        data: a folder holding lines.tsv (with optional metadata columns).
        batch_size: lines per batch.

    Returns:
        dict: `lines`, `cer`, `wer`, `out_of_charset_lines`, `skipped`
        (reason -> count) and `by` (column -> value -> scores).
    """
    keras_model, charset = load_run(model)
    height = int(keras_model.inputs[0].shape[1])
    samples, skipped = ocr_data.read_folder(data, height)
    if not samples:
        raise ValueError(
            f"No readable lines in {data!r}. Skipped: {dict(skipped)}"
        )
    results, _ = evaluate_samples(keras_model, charset, samples, batch_size)
    results["skipped"] = dict(skipped)
    return results


def format_results(results):
    """The results as a plain-text table."""
    lines = [
        f"{'':<28}{'lines':>7}{'CER %':>8}{'WER %':>8}",
        f"{'all':<28}{results['lines']:>7}{100 * results['cer']:>8.2f}"
        f"{100 * results['wer']:>8.2f}",
    ]
    for column, values in results.get("by", {}).items():
        for value, s in values.items():
            name = f"{column}={value}"[:27]
            lines.append(
                f"{name:<28}{s['lines']:>7}{100 * s['cer']:>8.2f}"
                f"{100 * s['wer']:>8.2f}"
            )
    if results.get("skipped"):
        lines.append(f"skipped: {results['skipped']}")
    if results.get("out_of_charset_lines"):
        lines.append(
            "lines with characters outside the charset: "
            f"{results['out_of_charset_lines']}"
        )
    return "\n".join(lines)
