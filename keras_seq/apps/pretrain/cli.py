"""`keras-seq pretrain train|evaluate|predict|export`."""

from keras_seq.apps.text.cli import register_app

DESCRIPTIONS = {
    "train": (
        "Masked LM + next-sentence prediction on a raw text corpus (one "
        "sentence a line, a blank line between documents). The run's "
        "encoder is what `--encoder RUN_DIR` of the other apps starts from."
    ),
    "evaluate": "Masked-token accuracy and perplexity, next-sentence accuracy.",
    "predict": (
        "Fill-mask: for each line holding [MASK], prints line<TAB>predicted "
        "tokens<TAB>probabilities."
    ),
}


def _add_options(parser, command):
    if command != "train":
        return []
    parser.add_argument("--mask-rate", type=float, default=0.15)
    parser.add_argument("--max-predictions", type=int, default=20)
    return ["mask_rate", "max_predictions"]


def register(subparsers):
    """Adds the pretrain subcommands to an argparse subparsers object."""
    register_app(
        subparsers, "keras_seq.apps.pretrain.app", _add_options, DESCRIPTIONS
    )
