"""`keras-seq tag train|evaluate|predict|export`."""

from keras_seq.apps.text.cli import register_app

DESCRIPTIONS = {
    "train": (
        "Train a tagger on CoNLL (token<TAB>tag, a blank line between "
        "sentences) or CoNLL-U (FORM and UPOS unless --token-column / "
        "--tag-column say otherwise). Word labels go on each word's first "
        "sub-word."
    ),
    "evaluate": "Token accuracy and BIO span precision, recall and F1.",
    "predict": (
        "Reads tokens one per line (a blank line between sentences; a tag "
        "column is ignored) and prints token<TAB>tag in the same layout."
    ),
}


def _add_options(parser, command):
    if command not in ("train", "evaluate", "predict"):
        return []
    parser.add_argument(
        "--token-column", type=int, default=None, help="0-based"
    )
    names = ["token_column"]
    if command != "predict":
        parser.add_argument(
            "--tag-column", type=int, default=None, help="0-based"
        )
        names.append("tag_column")
    return names


def register(subparsers):
    """Adds the tag subcommands to an argparse subparsers object."""
    register_app(
        subparsers, "keras_seq.apps.tag.app", _add_options, DESCRIPTIONS
    )
