"""Tiny, learnable data sets in every format the text apps read.

For tests, examples and smoke runs: each writer makes a file whose labels
follow a simple rule, so even a few training steps move the metrics.
"""

import csv
import json
import os
import random

POSITIVE = ["good", "great", "fine", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "poor", "dreadful", "boring"]
FILLER = ["the", "movie", "was", "really", "a", "plot", "actors", "very"]
PEOPLE = [("Anna", "Novak"), ("Jan", "Svoboda"), ("Maria", "Garcia")]
PLACES = ["Prague", "Paris", "Oslo", "Lima", "Rome", "Quito", "Tokyo"]


def _makedirs(path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def sentiment_sentence(rng, label):
    words = rng.sample(FILLER, 3) + [
        rng.choice(POSITIVE if label == "pos" else NEGATIVE)
    ]
    rng.shuffle(words)
    return " ".join(words)


def write_sentiment(
    path, count=60, seed=0, text_column="text", label_column="label"
):
    """`text,label` rows (pos / neg by the sentiment word in the text).

    The format follows the extension: `.csv`, `.tsv` or `.jsonl`.
    """
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        label = rng.choice(["pos", "neg"])
        rows.append(
            {text_column: sentiment_sentence(rng, label), label_column: label}
        )
    _write_rows(path, rows, [text_column, label_column])
    return rows


def write_topics(path, count=60, seed=0):
    """Multi-label JSONL: `labels` lists each topic whose word appears."""
    rng = random.Random(seed)
    topics = {"sport": "football", "money": "bank", "food": "bread"}
    rows = []
    for _ in range(count):
        chosen = [t for t in topics if rng.random() < 0.5] or ["food"]
        words = [topics[t] for t in chosen] + rng.sample(FILLER, 3)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "labels": chosen})
    _write_rows(path, rows, ["text", "labels"])
    return rows


def write_ratings(path, count=60, seed=0):
    """`text,target` rows: the target is the number of positive words."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        stars = rng.randint(0, 4)
        words = rng.sample(POSITIVE, stars) + rng.sample(FILLER, 3)
        rng.shuffle(words)
        rows.append({"text": " ".join(words), "target": str(stars)})
    _write_rows(path, rows, ["text", "target"])
    return rows


def _write_rows(path, rows, columns):
    _makedirs(path)
    if path.endswith((".jsonl", ".ndjson")):
        with open(path, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    delimiter = "\t" if path.endswith(".tsv") else ","
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns, delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)


def ner_sentences(count=40, seed=0):
    """Sentences with person names tagged `B-PER`, `I-PER`, places
    `B-LOC`, everything else `O`."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        first, last = rng.choice(PEOPLE)
        place = rng.choice(PLACES)
        tokens = [first, last, "lives", "in", place, "."]
        tags = ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
        if rng.random() < 0.5:
            tokens = ["In", place, ",", first, "works", "."]
            tags = ["O", "B-LOC", "O", "B-PER", "O", "O"]
        sentences.append((tokens, tags))
    return sentences


def write_conll(path, count=40, seed=0, conllu=False):
    """CoNLL (`token<TAB>tag`) or CoNLL-U (tags in UPOS) sentences."""
    _makedirs(path)
    sentences = ner_sentences(count, seed)
    with open(path, "w", encoding="utf-8") as f:
        for tokens, tags in sentences:
            if conllu:
                f.write(f"# text = {' '.join(tokens)}\n")
            for i, (token, tag) in enumerate(zip(tokens, tags)):
                if conllu:
                    f.write(f"{i + 1}\t{token}\t_\t{tag}\t_\t_\t0\t_\t_\t_\n")
                else:
                    f.write(f"{token}\t{tag}\n")
            f.write("\n")
    return sentences


def write_squad(path, count=40, seed=0):
    """SQuAD v1.1 JSON: "Where does NAME live?" over a small context."""
    rng = random.Random(seed)
    paragraphs = []
    for i in range(count):
        first, _ = rng.choice(PEOPLE)
        place, other = rng.sample(PLACES, 2)
        context = (
            f"{first} lives in {place} and often visits {other} in summer."
        )
        question = f"Where does {first} live?"
        paragraphs.append(
            {
                "context": context,
                "qas": [
                    {
                        "id": f"q{i}",
                        "question": question,
                        "answers": [
                            {
                                "text": place,
                                "answer_start": context.index(place),
                            }
                        ],
                    }
                ],
            }
        )
    _makedirs(path)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(
            {
                "version": "1.1",
                "data": [{"title": "toy", "paragraphs": paragraphs}],
            },
            f,
        )
    return paragraphs


def write_corpus(path, documents=12, seed=0):
    """A raw corpus: numbered-story documents, one sentence a line."""
    rng = random.Random(seed)
    _makedirs(path)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(documents):
            first, _ = rng.choice(PEOPLE)
            place = rng.choice(PLACES)
            for sentence in (
                f"{first} woke up early in {place}.",
                f"Then {first} had breakfast with coffee.",
                f"After that {first} walked to the old market.",
                f"In the evening {first} read a good book.",
            ):
                f.write(sentence + "\n")
            f.write("\n")
