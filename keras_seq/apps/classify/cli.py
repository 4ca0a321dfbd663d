"""`keras-seq classify train|evaluate|predict|export|demo`."""

import json

from keras_seq.apps.text.cli import register_app

DESCRIPTIONS = {
    "train": (
        "Train a text classifier on a CSV, TSV or JSONL file (--text-column,"
        " --label-column). Multi-label with --multi-label (labels joined by"
        " --label-separator). Writes the run folder --out: model, tokenizer,"
        " checkpoints (resumed automatically), logs, history and metrics."
    ),
    "evaluate": "Accuracy, macro F1 and the confusion matrix (+ PNG).",
    "predict": (
        "Prints row<TAB>label<TAB>score, row being the 0-based data row."
    ),
}


def _add_options(parser, command):
    parser.add_argument("--text-column", default="text")
    names = ["text_column"]
    if command in ("train", "evaluate"):
        parser.add_argument("--label-column", default="label")
        names.append("label_column")
    if command == "train":
        parser.add_argument("--multi-label", action="store_true")
        parser.add_argument("--label-separator", default="|")
        parser.add_argument(
            "--class-weights",
            choices=["balanced"],
            default=None,
            help="weight classes by inverse frequency",
        )
        parser.add_argument(
            "--pooling",
            choices=["mean", "max", "sum", "attention"],
            default="mean",
        )
        parser.add_argument("--threshold", type=float, default=0.5)
        names += [
            "multi_label",
            "label_separator",
            "class_weights",
            "pooling",
            "threshold",
        ]
    return names


def register(subparsers):
    """Adds the classify subcommands to an argparse subparsers object."""
    register_app(
        subparsers, "keras_seq.apps.classify.app", _add_options, DESCRIPTIONS
    )
    demo = subparsers.add_parser(
        "demo",
        help="language identification on generated sentences, end to end",
        description=(
            "Generate sentences in 12 languages from wordfreq word lists, "
            "train a small WordPiece transformer, evaluate it on unseen "
            "sentences, export builtin-only TFLite (under 1 MB) and print "
            "the figures."
        ),
    )
    demo.add_argument("--out", default="runs/langid")
    demo.add_argument("--minutes", type=float, default=3.0)
    demo.add_argument("--per-language", type=int, default=600)
    demo.add_argument("--languages", nargs="+", default=None)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)


def _demo(args):
    from keras_seq.apps.classify.demo import DEFAULT_LANGUAGES, demo

    report = demo(
        args.out,
        minutes=args.minutes,
        languages=tuple(args.languages or DEFAULT_LANGUAGES),
        per_language=args.per_language,
        seed=args.seed,
    )
    print(json.dumps(report, indent=1))
    return 0
