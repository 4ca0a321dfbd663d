"""BiLSTM export options for LiteRT: latency and size, side by side.

One bidirectional LSTM, 128 units per direction on 64 features, outputs
concatenated (256 wide), batch 1, sequence lengths 50 and 200:

- keras_seq `RecurrentBlock` converted by `keras_seq.tflite.convert`
  (builtin ops only, a `WHILE` loop, one model for every length);
- Keras's own `Bidirectional(LSTM)` exported by
  `model.export(format="litert")`, run in full TensorFlow's
  `tf.lite.Interpreter` because it needs Flex ops (one model, any length);
- Keras's `LSTM(unroll=True)`: builtin ops, but one model per length (the
  "unroll to a bucket length" option: a shorter input is padded to the
  bucket and costs the bucket's time).

Every model holds the same weights; each one's outputs are checked against
Keras before it is timed. One interpreter thread, median of `--repeats`.

usage: python benchmarks/bench_recurrent_export.py [--repeats 50] [--write]
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

from keras_seq import tflite  # noqa: E402
from keras_seq.layers import RecurrentBlock  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from results import write_section  # noqa: E402

THREADS = 1
UNITS = 128
FEATURES = 64
LENGTHS = (50, 200)


def _interpreter(content, flex):
    if flex:
        return tf.lite.Interpreter(model_content=content, num_threads=THREADS)
    return Interpreter(model_content=content, num_threads=THREADS)


def litert_run(content, x, repeats, flex=False):
    """Returns (median milliseconds, output) for one input array."""
    interpreter = _interpreter(content, flex)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    output = interpreter.get_output_details()[0]["index"]
    interpreter.invoke()
    result = interpreter.get_tensor(output)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        interpreter.invoke()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def tf_run(fn, x, repeats):
    """Returns (median milliseconds, output) of a `tf.function`."""
    x = tf.constant(x)
    result = np.asarray(fn(x))
    fn(x)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x).numpy()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), result


def keras_bilstm(length=None, unroll=False):
    inputs = keras.Input((length, FEATURES))
    outputs = keras.layers.Bidirectional(
        keras.layers.LSTM(UNITS, return_sequences=True, unroll=unroll)
    )(inputs)
    return keras.Model(inputs, outputs)


def keras_seq_bilstm():
    inputs = keras.Input((None, FEATURES))
    block = RecurrentBlock(UNITS, bidirectional=True)
    return keras.Model(inputs, block(inputs)), block


def copy_weights(block, keras_model):
    """Gives the Keras Bidirectional(LSTM) the block's weights."""
    bidirectional = keras_model.layers[-1]
    bidirectional.forward_layer.set_weights(
        block.forward_layers[0].get_weights()
    )
    bidirectional.backward_layer.set_weights(
        block.backward_layers[0].get_weights()
    )


def keras_flex_export(model):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.tflite")
        model.export(path, format="litert", verbose=False)
        with open(path, "rb") as f:
            return f.read()


def main():
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument(
        "--write", action="store_true", help="write to benchmarks/RESULTS.md"
    )
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs = {
        t: rng.normal(size=(1, t, FEATURES)).astype("float32") for t in LENGTHS
    }

    model, block = keras_seq_bilstm()
    reference = keras_bilstm()
    copy_weights(block, reference)
    expected = {t: np.asarray(model(x)) for t, x in inputs.items()}
    np.testing.assert_allclose(reference(inputs[50]), expected[50], atol=1e-5)

    options = []  # (name, {length: (ms, size, max error)}, note)

    # keras_seq: one builtin-only model for every length.
    start = time.perf_counter()
    report = tflite.convert(model)
    convert_s = time.perf_counter() - start
    row = {}
    for t, x in inputs.items():
        ms, y = litert_run(report.content, x, args.repeats)
        row[t] = (ms, report.size_bytes, np.abs(y - expected[t]).max())
    options.append(
        (
            "keras_seq `RecurrentBlock`, builtin WHILE",
            row,
            f"builtin only, any length; converts in {convert_s:.1f} s",
        )
    )

    # Keras's own export: Flex TensorList ops. Neither interpreter here
    # ships the Flex delegate, so its latency stands in as the same Keras
    # graph run by TensorFlow's kernels (what the Flex delegate runs).
    content = keras_flex_export(reference)
    flex_ops = [o for o in tflite.list_ops(content) if o.startswith("Flex")]
    try:
        litert_run(content, inputs[50], 1, flex=True)
        runs = "runs"
    except RuntimeError:
        runs = "refused by both interpreters here (no Flex delegate)"
    options.append(
        (
            'Keras `model.export(format="litert")`',
            {t: (None, len(content), None) for t in LENGTHS},
            f"needs {', '.join(flex_ops)}; {runs}",
        )
    )
    for jit in (False, True):
        fn = tf.function(reference, jit_compile=jit)
        row = {}
        for t, x in inputs.items():
            ms, y = tf_run(fn, x, args.repeats)
            row[t] = (ms, None, np.abs(y - expected[t]).max())
        options.append(
            (
                f"Keras graph, `tf.function(jit_compile={jit})`",
                row,
                "TensorFlow runtime, 1 thread",
            )
        )

    # Keras unroll=True: builtin, one model per length.
    row = {}
    for t, x in inputs.items():
        unrolled = keras_bilstm(length=t, unroll=True)
        copy_weights(block, unrolled)
        report = tflite.convert(unrolled, sequence_axes=())
        ms, y = litert_run(report.content, x, args.repeats)
        row[t] = (ms, report.size_bytes, np.abs(y - expected[t]).max())
    options.append(
        (
            "Keras `LSTM(unroll=True)`",
            row,
            "builtin only, one model per length",
        )
    )

    base = options[0][1]
    lines = [
        f"Bidirectional LSTM, {UNITS} units per direction on {FEATURES} "
        f"features, concat, batch 1, {THREADS} LiteRT thread, median of "
        f"{args.repeats} runs. Ratio: latency / keras_seq's latency at the "
        "same length. Max error: against Keras `predict` on the same "
        "weights.",
        "",
        "| option | T | latency ms | ratio | size KB | max error | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row, note in options:
        for t, (ms, size, err) in row.items():
            cells = [
                "-" if ms is None else f"{ms:.2f}",
                "-" if ms is None else f"{ms / base[t][0]:.2f}",
                "-" if size is None else f"{size / 1024:.0f}",
                "-" if err is None else f"{err:.1e}",
            ]
            lines.append(f"| {name} | {t} | {' | '.join(cells)} | {note} |")
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(
            "Recurrent export options",
            body,
            "python benchmarks/bench_recurrent_export.py --write",
        )


if __name__ == "__main__":
    main()
