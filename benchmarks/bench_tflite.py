"""Keras versus LiteRT at batch 1: latency and size, side by side.

Two models: an OCR-shaped CRNN (ConvFrontEnd, 2-layer BiLSTM, CTC head) and
a transformer encoder (2 blocks) with ALiBi and with rotary attention. For
each: Keras `predict`, the same model as a `tf.function` with and without
XLA, Keras's own `model.export(format="litert")` run with the Flex delegate
(full TensorFlow's `tf.lite.Interpreter`), and keras_seq's builtin-only
export in float32, float16, dynamic range and int8.

Everything runs on one CPU thread so the numbers compare like for like and
so that the FLOP floor is simple: floor = model FLOPs / single-thread peak,
the peak measured as LiteRT's own FULLY_CONNECTED on a 256x1024x1024 matmul.

usage: python benchmarks/bench_tflite.py [--repeats 30] [--write]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from keras_seq import layers, tflite  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from results import write_section  # noqa: E402

THREADS = 1


def _time(fn, repeats):
    fn()  # warm up
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def ocr_model(width=256, height=32, num_classes=100, units=128):
    images = keras.Input((height, None, 1), name="image")
    x = layers.ConvFrontEnd(name="front_end")(images)
    x = layers.RecurrentBlock(
        units, cell_type="lstm", bidirectional=True, num_layers=2
    )(x)
    logits = keras.layers.Dense(num_classes, name="logits")(x)
    model = keras.Model(images, logits, name="crnn")
    x = np.random.default_rng(0).random((1, height, width, 1), "float32")
    return model, x, (2,)


def ocr_flops(width=256, height=32, num_classes=100, units=128):
    flops = 0
    h, w, c = height, width, 1
    for i, f in enumerate((24, 24, 48, 48, 96, 96)):
        flops += 2 * 9 * c * f * h * w
        c = f
        if i in (1, 3, 5):
            h, w = h // 2, w // 2
    frames, features = w, h * c
    for layer in range(2):
        size = features if layer == 0 else 2 * units
        # 4 gates, input and recurrent matmuls, two directions.
        flops += 2 * frames * 2 * 4 * units * (size + units)
    flops += 2 * frames * 2 * units * num_classes
    return flops


def transformer_model(position_encoding, length=128, dim=128, heads=4):
    inputs = keras.Input((None, dim), name="embeddings")
    x = inputs
    for i in range(2):
        x = layers.TransformerEncoderBlock(
            num_heads=heads,
            intermediate_dim=4 * dim,
            position_encoding=position_encoding,
            name=f"block_{i}",
        )(x)
    outputs = keras.layers.Dense(dim, name="head")(x)
    model = keras.Model(inputs, outputs, name=f"encoder_{position_encoding}")
    x = np.random.default_rng(0).normal(size=(1, length, dim))
    return model, x.astype("float32"), (1,)


def transformer_flops(length=128, dim=128):
    per_block = (
        2 * length * dim * dim * 4  # q, k, v, output projections
        + 2 * 2 * length * length * dim  # scores and weighted sum
        + 2 * 2 * length * dim * 4 * dim  # feed-forward
    )
    return 2 * per_block + 2 * length * dim * dim


def litert_ms(content, x, repeats):
    return _time(_litert_runner(content, x), repeats)


def peak_gflops(repeats):
    inputs = keras.Input((1024,))
    model = keras.Model(inputs, keras.layers.Dense(1024)(inputs))
    report = tflite.convert(model, sequence_axes=())
    x = np.random.default_rng(0).random((256, 1024), "float32")
    # The best of three rounds: load on a shared machine only slows it.
    ms = min(litert_ms(report.content, x, repeats) for _ in range(3))
    return 2 * 256 * 1024 * 1024 / (ms / 1000) / 1e9


def _litert_runner(content, x, flex=False):
    if flex:
        interpreter = tf.lite.Interpreter(
            model_content=content, num_threads=THREADS
        )
    else:
        interpreter = Interpreter(model_content=content, num_threads=THREADS)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    return interpreter.invoke


def bench(name, model, x, axes, flops, repeats, peak, rounds=3):
    """Times every path in turn, `rounds` times; keeps each path's best
    round median, so a burst of load on a shared machine hits one round of
    one path, not a whole column."""
    runners = {"Keras predict": lambda: model.predict(x, verbose=0)}
    graph = tf.function(lambda t: model(t, training=False))
    runners["tf.function"] = lambda: graph(x)
    xla = tf.function(lambda t: model(t, training=False), jit_compile=True)
    runners["tf.function XLA"] = lambda: xla(x)
    sizes = {}

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "keras.tflite")
        model.export(path, format="litert", verbose=False)
        with open(path, "rb") as f:
            content = f.read()
    flex_ops = [o for o in tflite.non_builtin_ops(tflite.list_ops(content))]
    label = "Keras model.export(format='litert')"
    try:
        runner = _litert_runner(content, x, flex=bool(flex_ops))
        runner()
        runners[label] = runner
        sizes[label] = len(content)
    except Exception:  # the stock runtimes here have no Flex delegate
        sizes[f"{label}: refused, needs {', '.join(flex_ops)}"] = len(content)

    rng = np.random.default_rng(1)
    calibration = [rng.random(x.shape, "float32") for _ in range(8)]
    if x.ndim == 3:
        calibration = [rng.normal(size=x.shape).astype("float32")] * 8
    for quantization in (None, "float16", "dynamic_range", "int8"):
        report = tflite.convert(
            model,
            quantization=quantization,
            representative_dataset=tflite.representative_dataset(calibration),
            sequence_axes=axes,
        )
        key = f"keras_seq LiteRT {quantization or 'float32'}"
        runners[key] = _litert_runner(report.content, x)
        sizes[key] = report.size_bytes

    best = {key: float("inf") for key in runners}
    for _ in range(rounds):
        for key, run in runners.items():
            best[key] = min(best[key], _time(run, repeats))

    floor_ms = flops / (peak * 1e9) * 1000
    f32 = best["keras_seq LiteRT float32"]
    lines = [
        f"### {name}: input {tuple(x.shape)}, {flops / 1e6:.1f} MFLOP, "
        f"FLOP floor {floor_ms:.2f} ms",
        "",
        "| path | ms | time / LiteRT float32 | size KB |",
        "|---|---:|---:|---:|",
    ]
    for key in list(runners) + [k for k in sizes if k not in runners]:
        ms = best.get(key)
        size = sizes.get(key)
        cells = (
            (f"{ms:.2f}", f"{ms / f32:.2f}") if ms is not None else ("-", "-")
        )
        kb = f"{size / 1024:.0f}" if size else ""
        lines.append(f"| {key} | {cells[0]} | {cells[1]} | {kb} |")
    lines.append("")
    int8_ratio = (
        sizes["keras_seq LiteRT int8"] / sizes["keras_seq LiteRT float32"]
    )
    lines.append(
        f"LiteRT float32 / FLOP floor: {f32 / floor_ms:.2f}x; "
        f"XLA / LiteRT float32: {best['tf.function XLA'] / f32:.2f}x; "
        f"int8 size / float32 size: {int8_ratio:.2f}; "
        f"float32 time / int8 time: "
        f"{f32 / best['keras_seq LiteRT int8']:.2f}x"
    )
    lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--write",
        action="store_true",
        help="write the tables to benchmarks/RESULTS.md",
    )
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)

    peak = peak_gflops(args.repeats)
    sections = [
        f"Single-thread peak assumed: {peak:.1f} GFLOP/s (LiteRT "
        "FULLY_CONNECTED, 256x1024 by 1024x1024, float32). One thread "
        "everywhere; median of "
        f"{args.repeats} runs at batch 1, best of 3 interleaved rounds.",
        "",
        "Keras's own export needs Flex ops for the recurrent layers; neither "
        "`ai_edge_litert` nor full TensorFlow's `tf.lite.Interpreter` (2.21) "
        "ships the Flex delegate, so that row gives its size and ops only.",
        "",
    ]
    model, x, axes = ocr_model()
    sections.append(
        bench("CRNN (OCR)", model, x, axes, ocr_flops(), args.repeats, peak)
    )
    for encoding in ("alibi", "rotary"):
        model, x, axes = transformer_model(encoding)
        sections.append(
            bench(
                f"Transformer encoder, {encoding}",
                model,
                x,
                axes,
                transformer_flops(),
                args.repeats,
                peak,
            )
        )
    body = "\n".join(sections)
    print(body)
    if args.write:
        command = "python benchmarks/bench_tflite.py " + " ".join(sys.argv[1:])
        write_section("TFLite export", body, command)


if __name__ == "__main__":
    main()
