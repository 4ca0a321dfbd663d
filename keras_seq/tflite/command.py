"""`keras-seq export MODEL.keras --out model.tflite [--quantization ...]`."""

import argparse
import json
import os

import numpy as np


def add_export_parser(subparsers):
    """Adds the `export` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "export",
        help="convert a .keras model to builtin-only TFLite",
        description=(
            "Convert a .keras model to a .tflite file that uses builtin ops "
            "only, and print the conversion report as JSON."
        ),
    )
    parser.add_argument("model", help="path to a .keras file")
    parser.add_argument("--out", required=True, help="the .tflite to write")
    parser.add_argument(
        "--quantization",
        choices=["float16", "dynamic_range", "int8"],
        default=None,
    )
    parser.add_argument(
        "--sequence-axes",
        default="1",
        help="comma-separated input axes left variable (default: 1)",
    )
    parser.add_argument(
        "--calibration-lengths",
        default="16,32,64",
        help="sequence lengths of the random int8 calibration inputs",
    )
    parser.add_argument(
        "--allow-flex",
        action="store_true",
        help="permit Flex ops (the stock LiteRT runtime refuses them)",
    )
    parser.set_defaults(func=run_export)
    return parser


def _calibration_samples(model, axes, lengths, count=8, seed=0):
    """Random float inputs; int inputs (token ids) drawn below 2."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(count):
        length = lengths[i % len(lengths)]
        arrays = []
        for tensor in model.inputs:
            shape = [1] + [
                length if axis in axes else int(dim)
                for axis, dim in enumerate(tensor.shape)
                if axis > 0
            ]
            if "int" in str(tensor.dtype):
                arrays.append(rng.integers(0, 2, shape).astype(tensor.dtype))
            else:
                arrays.append(rng.random(shape).astype("float32"))
        samples.append(arrays)
    return samples


def run_export(args):
    """Runs `keras-seq export`; returns the process exit code."""
    import keras

    from keras_seq.tflite import convert, representative_dataset

    if not os.path.exists(args.model):
        raise SystemExit(f"keras-seq export: no such file: {args.model}")
    model = keras.saving.load_model(args.model, safe_mode=True)
    axes = tuple(int(a) for a in args.sequence_axes.split(",") if a)
    data = None
    if args.quantization == "int8":
        lengths = [int(n) for n in args.calibration_lengths.split(",")]
        data = representative_dataset(
            _calibration_samples(model, axes, lengths)
        )
    report = convert(
        model,
        args.out,
        quantization=args.quantization,
        representative_dataset=data,
        allow_flex=args.allow_flex,
        sequence_axes=axes,
    )
    summary = {
        "path": report.path,
        "size_bytes": report.size_bytes,
        "quantization": report.quantization,
        "ops": report.ops,
        "signature": report.signature,
    }
    print(json.dumps(summary, indent=2))  # noqa: T201
    return 0


def main(argv=None):
    """Stand-alone entry: `python -m keras_seq.tflite.command MODEL ...`."""
    parser = argparse.ArgumentParser(prog="keras-seq")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_export_parser(subparsers)
    args = parser.parse_args(["export"] + list(argv or []))
    return args.func(args)
