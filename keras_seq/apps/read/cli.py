"""`keras-seq read train|evaluate|predict|export`."""

from keras_seq.apps.text.cli import register_app

DESCRIPTIONS = {
    "train": (
        "Train an extractive reader on SQuAD v1.1 JSON: question and "
        "context packed together, start and end heads."
    ),
    "evaluate": "Exact match and F1 (SQuAD v1.1 normalization).",
    "predict": (
        "Prints id<TAB>answer<TAB>score for each question of a SQuAD-format"
        " file (answers may be absent)."
    ),
    "export": (
        "Builtin-only TFLite with the best-span search in the graph "
        "(end >= start, at most --max-answer-length tokens)."
    ),
}


def _add_options(parser, command):
    if command != "train":
        return []
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument("--max-question-length", type=int, default=64)
    return ["max_answer_length", "max_question_length"]


def register(subparsers):
    """Adds the read subcommands to an argparse subparsers object."""
    register_app(
        subparsers, "keras_seq.apps.read.app", _add_options, DESCRIPTIONS
    )
