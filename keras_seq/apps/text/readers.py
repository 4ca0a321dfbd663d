"""Readers for the files the text apps take.

- tables: CSV, TSV (by extension, `.tsv` or `.tab`) and JSONL (`.jsonl`,
  `.ndjson`), with named columns;
- CoNLL (`token<TAB>tag`, a blank line between sentences) and CoNLL-U
  (ten columns; FORM and UPOS by default; comments and multi-word token
  ranges skipped);
- SQuAD v1.1 JSON;
- a raw text corpus (one sentence a line, a blank line between documents).

Every reader decodes UTF-8 strictly and names the file and line of the
first bad byte. Rows that cannot be used (an empty text, a missing value)
are skipped and counted in the returned `skipped` count; a missing column
is an error naming the columns found.
"""

import csv
import io
import json
import os


class InputError(ValueError):
    """A data file the apps cannot read; the message names what was found."""


def _read_text(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such data file. Received: {path!r}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            f"{path} is not UTF-8: byte {data[error.start]:#04x} at line "
            f"{line}. Re-encode the file as UTF-8. Received: "
            f"{data[max(0, error.start - 20) : error.start + 5]!r}"
        ) from None
    return text.lstrip("\ufeff")


def table_format(path):
    """`"csv"`, `"tsv"` or `"jsonl"` from the file name."""
    lower = path.lower()
    if lower.endswith((".tsv", ".tab")):
        return "tsv"
    if lower.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "csv"


def read_rows(path):
    """All rows of a CSV, TSV or JSONL file as dicts, plus the columns."""
    text = _read_text(path)
    kind = table_format(path)
    if kind == "jsonl":
        rows, columns = [], []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                rows.append(None)
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(
                    f"{path} line {number} is not JSON ({error.msg}). "
                    f"Received: {line[:80]!r}"
                ) from None
            if not isinstance(row, dict):
                raise InputError(
                    f"{path} line {number} must be a JSON object. "
                    f"Received: {line[:80]!r}"
                )
            for key in row:
                if key not in columns:
                    columns.append(key)
            rows.append(row)
        return rows, columns
    delimiter = "\t" if kind == "tsv" else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = list(reader.fieldnames or [])
    return list(reader), columns


def _check_columns(path, columns, wanted):
    missing = [c for c in wanted if c is not None and c not in columns]
    if missing:
        raise InputError(
            f"{path} has no column {missing[0]!r}. Received columns: {columns}"
        )


def read_table(path, text_column, label_column=None, allow_missing=False):
    """Texts and optional labels from a CSV, TSV or JSONL file.

    Args:
        path: the file.
        text_column: the column holding the text.
        label_column: the column holding the label (or target); None reads
            texts only.
        allow_missing: keep rows whose label is missing (label None), for
            prediction.

    Returns:
        A dict: `texts`, `labels` (None without `label_column`), `rows`
        (0-based data-row index of each kept example), `skipped` (rows
        without a text, or without a label unless `allow_missing`).
    """
    rows, columns = read_rows(path)
    _check_columns(
        path, columns, [text_column, None if allow_missing else label_column]
    )
    texts, labels, kept, skipped = [], [], [], 0
    for index, row in enumerate(rows):
        text = None if row is None else row.get(text_column)
        label = (
            None if row is None or not label_column else row.get(label_column)
        )
        if text is None or not str(text).strip():
            skipped += 1
            continue
        if (
            label_column
            and (label is None or label == "")
            and not allow_missing
        ):
            skipped += 1
            continue
        texts.append(str(text))
        labels.append(label)
        kept.append(index)
    return {
        "texts": texts,
        "labels": labels if label_column else None,
        "rows": kept,
        "skipped": skipped,
    }


def read_conll(path, token_column=None, tag_column=None):
    """Sentences of (token, tag) from CoNLL or CoNLL-U.

    A file is CoNLL-U when its name ends in `.conllu` or a data line has
    ten tab-separated columns; then FORM (column 2) and UPOS (column 4)
    are read unless `token_column` / `tag_column` (0-based) say otherwise.
    Plain CoNLL reads the first column as the token and the last as the
    tag (a line with one column has no tag, as in prediction input).

    Returns:
        A dict: `sentences` (lists of tokens), `tags` (lists of tags, None
        for a token without one), `skipped` (malformed lines).
    """
    text = _read_text(path)
    lines = text.splitlines()
    conllu = path.lower().endswith(".conllu") or any(
        len(line.split("\t")) == 10
        for line in lines[:200]
        if line and not line.startswith("#")
    )
    if conllu:
        token_column = 1 if token_column is None else token_column
        tag_column = 3 if tag_column is None else tag_column
    sentences, tags, skipped = [], [], 0
    words, labels = [], []
    for line in lines + [""]:
        if not line.strip():
            if words:
                sentences.append(words)
                tags.append(labels)
            words, labels = [], []
            continue
        if line.startswith("#") and (conllu or line.startswith("# ")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if conllu:
            if len(fields) != 10:
                skipped += 1
                continue
            if "-" in fields[0] or "." in fields[0]:
                continue  # multi-word token range or empty node
        column = 0 if token_column is None else token_column
        if column >= len(fields):
            skipped += 1
            continue
        words.append(fields[column])
        if tag_column is not None:
            labels.append(
                fields[tag_column] if tag_column < len(fields) else None
            )
        else:
            labels.append(fields[-1] if len(fields) > 1 else None)
    return {"sentences": sentences, "tags": tags, "skipped": skipped}


def read_squad(path):
    """Question-context-answer examples from SQuAD v1.1 JSON.

    Returns:
        A dict: `examples`, a list of dicts with `id`, `question`,
        `context`, `answers` (texts) and `answer_start` (character offset
        of the first answer, or None), and `skipped` (questions without a
        question text or context).
    """
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path} is not JSON ({error.msg} at line {error.lineno})."
        ) from None
    if not isinstance(data, dict) or "data" not in data:
        keys = list(data)[:5] if isinstance(data, dict) else type(data)
        raise InputError(
            f"{path} is not SQuAD JSON: expected a top-level 'data' list. "
            f"Received keys: {keys}"
        )
    examples, skipped = [], 0
    for article in data["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph.get("context", "")
            for qa in paragraph.get("qas", []):
                question = qa.get("question", "")
                if not context.strip() or not question.strip():
                    skipped += 1
                    continue
                answers = qa.get("answers", [])
                examples.append(
                    {
                        "id": qa.get("id", str(len(examples))),
                        "question": question,
                        "context": context,
                        "answers": [a["text"] for a in answers],
                        "answer_start": (
                            answers[0]["answer_start"] if answers else None
                        ),
                    }
                )
    return {"examples": examples, "skipped": skipped}


def read_corpus(path):
    """Documents (lists of sentence strings) from a raw text file."""
    text = _read_text(path)
    documents, current = [], []
    for line in text.splitlines() + [""]:
        if line.strip():
            current.append(line.strip())
        elif current:
            documents.append(current)
            current = []
    return documents
