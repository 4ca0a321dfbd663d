"""`keras-seq ocr train|evaluate|predict|export|demo`.

Argument parsing and printing only; the work is done by the functions of
`keras_seq.apps.ocr` (imported lazily, so `--help` does not load
TensorFlow).
"""

import json
import sys

from keras_seq.apps.ocr.defaults import ENCODERS, FONT_SETS

QUANTIZATIONS = ("float16", "dynamic_range", "int8")


def _add_model_arguments(parser):
    parser.add_argument(
        "--encoder",
        choices=list(ENCODERS),
        default="bilstm",
        help="sequence encoder after the conv front end (default: bilstm)",
    )
    parser.add_argument(
        "--hidden-dim",
        type=int,
        default=None,
        help="encoder width (LSTM units per direction); default per encoder",
    )
    parser.add_argument(
        "--num-layers", type=int, default=2, help="encoder depth"
    )


def register(subparsers):
    """Adds the OCR subcommands to an argparse subparsers object."""
    train = subparsers.add_parser(
        "train",
        help="train a text-line recognizer",
        description=(
            "Train on a folder with lines.tsv (path<TAB>text) or on "
            "generated lines. Writes the best model, the charset, "
            "checkpoints (resumed automatically), TensorBoard logs and "
            "history.csv into --out."
        ),
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="folder holding lines.tsv")
    source.add_argument(
        "--synthetic",
        action="store_true",
        help="train on lines rendered on the fly (see --font-set)",
    )
    train.add_argument(
        "--font-set",
        choices=list(FONT_SETS),
        default="dejavu",
        help="fonts of generated lines: matplotlib's DejaVu (default) or "
        "the 43 families of the Debian packages keras_seq.apps.ocr.fonts "
        "names (installed first)",
    )
    train.add_argument(
        "--font-dir", help="render generated lines in the fonts of DIR too"
    )
    train.add_argument(
        "--system-fonts",
        action="store_true",
        help="render generated lines in the machine's installed fonts",
    )
    train.add_argument(
        "--exclude-fonts",
        nargs="+",
        default=(),
        metavar="NAME",
        help="leave out fonts whose file or family name contains NAME "
        "(case-insensitive), e.g. to test on them",
    )
    train.add_argument(
        "--max-words",
        type=int,
        default=None,
        help="most words in a generated line (default: 6)",
    )
    train.add_argument(
        "--max-chars",
        type=int,
        default=None,
        help="most characters in a generated line",
    )
    train.add_argument(
        "--val-data", help="validation folder (default: a split of --data)"
    )
    train.add_argument(
        "--languages",
        nargs="+",
        default=None,
        help="wordfreq languages of generated lines (default: 7 languages)",
    )
    train.add_argument("--out", required=True, help="the run folder")
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="stop training after this many minutes (a time budget)",
    )
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        help="batches per epoch (default: one pass, or 200 for --synthetic)",
    )
    train.add_argument(
        "--val-size",
        type=int,
        default=256,
        help="validation lines (generated, or split from --data)",
    )
    train.add_argument("--patience", type=int, default=10)
    train.add_argument("--mixed-precision", action="store_true")
    train.add_argument(
        "--strategy", choices=["default", "mirrored"], default="default"
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--init-from",
        default=None,
        metavar="RUN_DIR",
        help="start from this run's weights, architecture and charset "
        "(fine-tuning)",
    )
    _add_model_arguments(train)
    train.set_defaults(func=_train)

    evaluate = subparsers.add_parser(
        "evaluate",
        help="CER and WER on a labelled folder",
        description=(
            "CER and WER overall, and broken down by every metadata column "
            "of lines.tsv (font, tier, language, ...)."
        ),
    )
    evaluate.add_argument(
        "--model", required=True, help="run folder or .keras file"
    )
    evaluate.add_argument(
        "--data", required=True, help="folder holding lines.tsv"
    )
    evaluate.add_argument("--batch-size", type=int, default=32)
    evaluate.add_argument("--json", help="also write the results here")
    evaluate.set_defaults(func=_evaluate)

    predict = subparsers.add_parser(
        "predict",
        help="read text lines from images",
        description=(
            "Prints path<TAB>text<TAB>confidence for each image, with the "
            "Keras model (a run folder) or a .tflite file."
        ),
    )
    predict.add_argument(
        "--model", required=True, help="run folder, .keras or .tflite"
    )
    predict.add_argument(
        "--charset",
        help="charset.json (default: found beside the model)",
    )
    predict.add_argument("paths", nargs="+", help="images or folders")
    predict.set_defaults(func=_predict)

    export = subparsers.add_parser(
        "export",
        help="convert to builtin-only TFLite with in-graph decoding",
    )
    export.add_argument(
        "--model", required=True, help="run folder or .keras file"
    )
    export.add_argument("--out", required=True, help="the .tflite to write")
    export.add_argument(
        "--quantization", choices=list(QUANTIZATIONS), default=None
    )
    export.add_argument(
        "--data",
        help="folder with lines.tsv for int8 calibration (default: "
        "generated lines)",
    )
    export.set_defaults(func=_export)

    demo = subparsers.add_parser(
        "demo",
        help="train, evaluate and export the default model end to end",
        description=(
            "Train the default CRNN on generated lines for a bounded time, "
            "evaluate it on held-out lines, export float32 and int8 TFLite, "
            "check parity and print the figures."
        ),
    )
    demo.add_argument("--out", default="runs/demo")
    demo.add_argument(
        "--minutes",
        type=float,
        default=10.0,
        help="training time budget in minutes (default: 10)",
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)


def _train(args):
    from keras_seq.apps.ocr.train import train

    summary = train(
        data=args.data,
        synthetic=args.synthetic,
        val_data=args.val_data,
        languages=args.languages,
        out=args.out,
        epochs=args.epochs,
        minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        steps_per_epoch=args.steps_per_epoch,
        val_size=args.val_size,
        patience=args.patience,
        mixed_precision=args.mixed_precision,
        strategy=args.strategy,
        seed=args.seed,
        encoder=args.encoder,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        renderer_options=_font_options(args),
        sampler_options=_sampler_options(args),
        init_from=args.init_from,
    )
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


def _font_options(args):
    from keras_seq.apps.ocr.fonts import font_set

    options = font_set(args.font_set)
    if args.font_dir:
        options["font_dir"] = args.font_dir
    if args.system_fonts:
        options["system_fonts"] = True
    if args.exclude_fonts:
        options["exclude_fonts"] = list(args.exclude_fonts)
    return options or None


def _sampler_options(args):
    options = {}
    if args.max_words is not None:
        options["max_words"] = args.max_words
    if args.max_chars is not None:
        options["max_chars"] = args.max_chars
    return options or None


def _evaluate(args):
    from keras_seq.apps.ocr.evaluate import evaluate, format_results

    results = evaluate(args.model, args.data, batch_size=args.batch_size)
    print(format_results(results))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, ensure_ascii=False)
    return 0


def _predict(args):
    from keras_seq.apps.ocr.predict import predict

    failed = 0
    for result in predict(args.model, args.paths, charset=args.charset):
        if result.get("error"):
            failed += 1
            print(f"{result['path']}: {result['error']}", file=sys.stderr)
            continue
        print(f"{result['path']}\t{result['text']}\t{result['confidence']:.4f}")
    return 1 if failed else 0


def _export(args):
    from keras_seq.apps.ocr.export import export

    report = export(
        args.model, args.out, quantization=args.quantization, data=args.data
    )
    print(json.dumps(report, indent=1))
    return 0


def _demo(args):
    from keras_seq.apps.ocr.demo import format_table, run_demo

    report = run_demo(out=args.out, minutes=args.minutes, seed=args.seed)
    print(format_table(report))
    return 0 if report["checks"]["ok"] else 1
