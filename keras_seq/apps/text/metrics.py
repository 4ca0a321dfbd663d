"""Task metrics of the text apps, as plain numpy functions."""

import collections
import re
import string

import numpy as np


def confusion_matrix(true, pred, num_classes):
    """`(num_classes, num_classes)` counts; rows are the true class."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(true), np.asarray(pred)), 1)
    return matrix


def classification_metrics(true, pred, num_classes):
    """Accuracy, macro F1 (over classes present in truth or prediction)
    and the confusion matrix of single-label predictions."""
    true, pred = np.asarray(true), np.asarray(pred)
    matrix = confusion_matrix(true, pred, num_classes)
    tp = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    present = (support + predicted) > 0
    f1 = np.divide(
        2 * tp, support + predicted, out=np.zeros_like(tp), where=present
    )
    return {
        "accuracy": float((true == pred).mean()) if len(true) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "confusion_matrix": matrix.tolist(),
    }


def multilabel_metrics(true, pred):
    """Exact-set accuracy, macro and micro F1 of 0/1 label matrices."""
    true = np.asarray(true, bool)
    pred = np.asarray(pred, bool)
    tp = (true & pred).sum(axis=0).astype(np.float64)
    support = true.sum(axis=0) + pred.sum(axis=0)
    present = support > 0
    f1 = np.divide(2 * tp, support, out=np.zeros_like(tp), where=present)
    total = support.sum()
    return {
        "subset_accuracy": float((true == pred).all(axis=1).mean()),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "micro_f1": float(2 * tp.sum() / total) if total else 0.0,
    }


def regression_metrics(true, pred):
    """MAE, RMSE and Pearson's r."""
    true = np.asarray(true, np.float64)
    pred = np.asarray(pred, np.float64)
    error = pred - true
    if len(true) > 1 and true.std() > 0 and pred.std() > 0:
        pearson = float(np.corrcoef(true, pred)[0, 1])
    else:
        pearson = 0.0
    return {
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "pearson_r": pearson,
    }


def bio_spans(tags):
    """`(type, start, end)` spans (end exclusive) of a BIO / IOB2 tag list.

    An `I-X` that does not continue an `X` span starts a new one (the
    lenient reading the conlleval script uses).
    """
    spans, start, kind = [], None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        tag = tag or "O"
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and kind == label and start is not None
        if start is not None and not continues:
            spans.append((kind, start, i))
            start, kind = None, None
        if prefix in ("B", "I") and not continues:
            start, kind = i, label
    return spans


def span_f1(true_sentences, pred_sentences):
    """Precision, recall and F1 of exact BIO spans over sentences."""
    correct = true_count = pred_count = 0
    for true, pred in zip(true_sentences, pred_sentences):
        true_spans = set(bio_spans(true))
        pred_spans = set(bio_spans(pred))
        correct += len(true_spans & pred_spans)
        true_count += len(true_spans)
        pred_count += len(pred_spans)
    precision = correct / pred_count if pred_count else 0.0
    recall = correct / true_count if true_count else 0.0
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision + recall
        else 0.0
    )
    return {"span_precision": precision, "span_recall": recall, "span_f1": f1}


def normalize_answer(text):
    """SQuAD v1.1 normalization: lowercase, no punctuation, no articles,
    single spaces (as the official evaluation script defines it)."""
    text = text.lower()
    text = "".join(c for c in text if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def squad_scores(prediction, answers):
    """Exact match and token F1 of one prediction, best over `answers`."""
    if not answers:
        return 0.0, 0.0
    best_em = best_f1 = 0.0
    pred_tokens = normalize_answer(prediction).split()
    for answer in answers:
        true_tokens = normalize_answer(answer).split()
        best_em = max(best_em, float(pred_tokens == true_tokens))
        common = collections.Counter(pred_tokens) & collections.Counter(
            true_tokens
        )
        same = sum(common.values())
        if same:
            precision = same / len(pred_tokens)
            recall = same / len(true_tokens)
            best_f1 = max(
                best_f1, 2 * precision * recall / (precision + recall)
            )
    return best_em, best_f1
