"""The command-line shape every text app shares.

`register_app(subparsers, module, add_options)` adds
`train|evaluate|predict|export` to one app's subparsers. `module` names the
app's module with an `APP` object (imported only when a command runs, so
`--help` does not load TensorFlow); `add_options(parser, command)` adds the
app's own flags and returns their destination names.
"""

import importlib
import json
import sys

BACKBONES = ("transformer", "recurrent", "conv_recurrent", "bag")
POSITIONS = ("learned", "sinusoidal", "rotary", "alibi", "none")
TOKENIZERS = ("wordpiece", "byte", "char")
QUANTIZATIONS = ("float16", "dynamic_range", "int8")


def _app(args):
    return importlib.import_module(args.app_module).APP


def _options(args):
    return {name: getattr(args, name) for name in args.option_names}


def _train(args):
    from keras_seq.apps.text import app as text_app

    encoder_config = {
        "backbone": args.backbone,
        "position_encoding": args.position_encoding,
        "hidden_dim": args.hidden_dim,
        "num_layers": args.num_layers,
        "num_heads": args.num_heads,
        "intermediate_dim": args.intermediate_dim,
        "dropout": args.dropout,
        "cell_type": args.cell_type,
        "max_sequence_length": args.max_sequence_length,
    }
    summary = text_app.train(
        _app(args),
        args.data,
        args.out,
        val_data=args.val_data,
        encoder=args.encoder,
        tokenizer=args.tokenizer,
        vocabulary_size=args.vocabulary_size,
        encoder_config={k: v for k, v in encoder_config.items() if v},
        sequence_length=args.sequence_length,
        epochs=args.epochs,
        minutes=args.minutes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        patience=args.patience,
        seed=args.seed,
        options=_options(args),
    )
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


def _evaluate(args):
    from keras_seq.apps.text import app as text_app

    results = text_app.evaluate(
        _app(args), args.model, args.data, _options(args)
    )
    text = json.dumps(results, indent=1, ensure_ascii=False)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)
    return 0


def _predict(args):
    from keras_seq.apps.text import app as text_app

    for line in text_app.predict(
        _app(args), args.model, args.input, _options(args)
    ):
        sys.stdout.write(line + "\n")
    return 0


def _export(args):
    from keras_seq.apps.text import app as text_app

    app = _app(args)
    result = text_app.export(
        app, args.model, args.out, quantization=args.quantization
    )
    if args.saved_model:
        result["saved_model"] = text_app.export_saved_model(
            app, args.model, args.saved_model
        )
    print(json.dumps(result, indent=1))
    return 0 if result["parity_ok"] else 1


def add_train_arguments(train):
    """The flags of every `train` command (data, model, loop)."""
    train.add_argument("--data", required=True, help="the training file")
    train.add_argument(
        "--val-data", help="a validation file (default: 10%% of --data)"
    )
    train.add_argument("--out", required=True, help="the run folder")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="stop training after this many minutes (a time budget)",
    )
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument(
        "--patience", type=int, default=None, help="early stopping epochs"
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--encoder",
        help="start from this run's encoder and tokenizer (e.g. pretrain)",
    )
    train.add_argument("--tokenizer", choices=TOKENIZERS, default="wordpiece")
    train.add_argument("--vocabulary-size", type=int, default=8000)
    train.add_argument("--backbone", choices=BACKBONES, default="transformer")
    train.add_argument("--position-encoding", choices=POSITIONS, default=None)
    train.add_argument("--hidden-dim", type=int, default=None)
    train.add_argument("--num-layers", type=int, default=None)
    train.add_argument("--num-heads", type=int, default=None)
    train.add_argument("--intermediate-dim", type=int, default=None)
    train.add_argument("--dropout", type=float, default=None)
    train.add_argument(
        "--cell-type", choices=("lstm", "gru", "rnn"), default=None
    )
    train.add_argument(
        "--sequence-length",
        type=int,
        default=None,
        help="packed length for training (default: the longest example)",
    )
    train.add_argument(
        "--max-sequence-length",
        type=int,
        default=None,
        help="the longest input the exported model takes (default 512)",
    )


def register_app(subparsers, module, add_options=None, descriptions=None):
    """Adds `train|evaluate|predict|export` for the app in `module`.

    Args:
        subparsers: the app's argparse subparsers object.
        module: the module path holding the app's `APP`.
        add_options: `f(parser, command) -> [dest names]`, the app's own
            flags for each command.
        descriptions: optional dict command -> description text.

    Returns:
        A dict command -> the parser added.
    """
    descriptions = descriptions or {}
    parsers = {}
    helps = {
        "train": "train a model; writes a run folder",
        "evaluate": "the task metrics on a labelled file",
        "predict": "print predictions for a file",
        "export": "builtin-only TFLite (+ bundle JSON, optional SavedModel)",
    }
    functions = {
        "train": _train,
        "evaluate": _evaluate,
        "predict": _predict,
        "export": _export,
    }
    for command, function in functions.items():
        parser = subparsers.add_parser(
            command,
            help=helps[command],
            description=descriptions.get(command, helps[command]),
        )
        if command == "train":
            add_train_arguments(parser)
        else:
            parser.add_argument("--model", required=True, help="the run folder")
        if command == "evaluate":
            parser.add_argument("--data", required=True)
            parser.add_argument("--json", help="also write the results here")
        if command == "predict":
            parser.add_argument("--input", required=True)
        if command == "export":
            parser.add_argument(
                "--out", required=True, help="the .tflite file to write"
            )
            parser.add_argument(
                "--quantization", choices=QUANTIZATIONS, default=None
            )
            parser.add_argument(
                "--saved-model",
                help="also write a SavedModel taking raw strings here",
            )
        names = add_options(parser, command) if add_options else []
        parser.set_defaults(
            func=function, app_module=module, option_names=list(names)
        )
        parsers[command] = parser
    return parsers
