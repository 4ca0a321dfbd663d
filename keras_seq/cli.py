"""The `keras-seq` command: one subcommand per app, plus a few tools.

Each app under `keras_seq.apps` that has a command line exposes a module
with a `register(subparsers)` function; it adds the app's own subcommands
(`keras-seq ocr train`, ...) and sets `func` on each parser it adds.
App-independent tools (`keras-seq export`) register one top-level
subcommand the same way. `main` only routes: a new app is one more entry
in `APPS`.

Example:

```
keras-seq ocr demo --out runs/demo
keras-seq ocr train --synthetic --out runs/ocr --minutes 30
```
"""

import argparse
import importlib
import os
import sys

# App name -> (module with `register(subparsers)`, one-line help). Modules
# are imported only when their app is named, so `keras-seq --help` stays
# fast and does not load TensorFlow.
APPS = {
    "ocr": ("keras_seq.apps.ocr.cli", "text-line OCR (image -> text)"),
    "classify": ("keras_seq.apps.classify.cli", "text classification"),
    "regress": ("keras_seq.apps.regress.cli", "a number per text"),
    "tag": ("keras_seq.apps.tag.cli", "a tag per token (POS, NER)"),
    "read": ("keras_seq.apps.read.cli", "question answering (SQuAD)"),
    "pretrain": ("keras_seq.apps.pretrain.cli", "masked LM + next sentence"),
}

# Top-level tool -> ("module:function" that adds its one subparser, help).
TOOLS = {
    "export": (
        "keras_seq.tflite.command:add_export_parser",
        "convert a .keras model to builtin-only TFLite",
    ),
}


def build_parser(app=None):
    """The argument parser; with `app`, only that app's subcommands."""
    parser = argparse.ArgumentParser(
        prog="keras-seq",
        description="Train, evaluate, run and export keras_seq models.",
    )
    apps = parser.add_subparsers(dest="app", metavar="APP")
    apps.required = True
    for name, (module_name, help_text) in APPS.items():
        app_parser = apps.add_parser(name, help=help_text)
        if app == name:
            module = importlib.import_module(module_name)
            commands = app_parser.add_subparsers(
                dest="command", metavar="COMMAND"
            )
            commands.required = True
            module.register(commands)
    for name, (target, help_text) in TOOLS.items():
        if app != name:
            # Imported only when named: the module may load TensorFlow.
            apps.add_parser(name, help=help_text, add_help=False)
            continue
        module_name, function = target.split(":")
        module = importlib.import_module(module_name)
        getattr(module, function)(apps)
    return parser


def main(argv=None):
    """Runs `keras-seq` with `argv` (default: `sys.argv[1:]`).

    Returns:
        The process exit code: 0 on success, 2 on a usage or input error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    known = set(APPS) | set(TOOLS)
    app = argv[0] if argv and argv[0] in known else None
    parser = build_parser(app)
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except (ValueError, FileNotFoundError) as error:
        command = " ".join(
            c for c in (args.app, getattr(args, "command", None)) if c
        )
        print(f"keras-seq {command}: error: {error}", file=sys.stderr)
        return 2
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
