"""`keras-seq regress train|evaluate|predict|export`."""

from keras_seq.apps.text.cli import register_app

DESCRIPTIONS = {
    "train": (
        "Train a model that predicts a number per text from a CSV, TSV or "
        "JSONL file (--text-column, --target-column)."
    ),
    "evaluate": "MAE, RMSE and Pearson's r.",
    "predict": "Prints row<TAB>value, row being the 0-based data row.",
}


def _add_options(parser, command):
    parser.add_argument("--text-column", default="text")
    names = ["text_column"]
    if command in ("train", "evaluate"):
        parser.add_argument("--target-column", default="target")
        names.append("target_column")
    if command == "train":
        parser.add_argument(
            "--pooling",
            choices=["mean", "max", "sum", "attention"],
            default="mean",
        )
        names.append("pooling")
    return names


def register(subparsers):
    """Adds the regress subcommands to an argparse subparsers object."""
    register_app(
        subparsers, "keras_seq.apps.regress.app", _add_options, DESCRIPTIONS
    )
