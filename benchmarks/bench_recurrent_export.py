"""BiLSTM export options for LiteRT: latency and size, side by side.

One bidirectional LSTM, 128 units per direction on 64 features, outputs
concatenated (256 wide), batch 1, sequence lengths 50 and 200 (and 800 for
the keras_seq options and the TensorFlow graphs):

- keras_seq `RecurrentBlock` converted by `keras_seq.tflite.convert`
  (builtin ops only, one model for every length), with each of the three
  ways its loop can carry the outputs: "blocked" (the default: an outer
  loop over blocks of 16 steps, an inner loop with a fixed-shape block
  buffer), "select" (one loop, a fixed full-length buffer written with
  SELECT_V2) and "concat" (one loop, outputs growing by concatenation);
- Keras's own `Bidirectional(LSTM)` exported by
  `model.export(format="litert")`: it needs Flex ops, and neither
  ai-edge-litert nor TF 2.21's `tf.lite.Interpreter` ships the Flex
  delegate here, so only its size and ops are reported; its latency stands
  in as the same Keras graph run by TensorFlow's kernels (`tf.function`,
  with and without XLA), which is what the Flex delegate would run;
- Keras's `LSTM(unroll=True)`: builtin ops, but one model per length (the
  "unroll to a bucket length" option: a shorter input is padded to the
  bucket and costs the bucket's time).

Every model holds the same weights; each one's outputs are checked against
Keras before it is timed. One thread everywhere, median of `--repeats`.

usage: python benchmarks/bench_recurrent_export.py [--repeats 30] [--write]
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
# keras_seq's carries also run at this length, where their costs part.
LONG = 800
CARRY_NOTES = {
    "blocked": "builtin only, any length (default)",
    "select": "builtin only, any length",
    "concat": "builtin only, any length",
}


def _interpreter(content, flex):
    if flex:
        return tf.lite.Interpreter(model_content=content, num_threads=THREADS)
    return Interpreter(model_content=content, num_threads=THREADS)


def litert_run(content, x, repeats, flex=False):
    """Returns ((CPU ms, wall ms), output) for one input array."""
    interpreter = _interpreter(content, flex)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    output = interpreter.get_output_details()[0]["index"]
    interpreter.invoke()
    result = interpreter.get_tensor(output)
    return _time(interpreter.invoke, repeats), result


def _time(fn, repeats):
    """Median (CPU ms, wall ms) of `fn()` in this process."""
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start_wall) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def tf_run(fn, x, repeats):
    """Returns ((CPU ms, wall ms), output) of a `tf.function`."""
    x = tf.constant(x)
    result = np.asarray(fn(x))
    return _time(lambda: fn(x).numpy(), repeats), result


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


def _summary(options):
    """The default's choice, in words, from the measured CPU times."""
    cpu = {
        name: {t: v[0][0] for t, v in row.items() if v[0]}
        for name, row, _ in options
    }
    names = [name for name, _, _ in options]
    blocked, select, concat = names[:3]
    xla = next(n for n in names if "jit_compile=True" in n)
    flex_graph = next(n for n in names if "jit_compile=False" in n)
    unroll = names[-1]

    def ratio(a, b, t):
        return cpu[a][t] / cpu[b][t]

    return (
        'Choice: the default carry is "blocked". Its cost grows '
        "linearly with the length (CPU ms per step "
        + ", ".join(
            f"{cpu[blocked][t] / t * 1000:.0f} us at T={t}"
            for t in sorted(cpu[blocked])
        )
        + f'); "select" touches the whole buffer every step, so it is '
        f"{ratio(select, blocked, 50):.2f}x the default's time at T=50 "
        f'but {ratio(select, blocked, LONG):.2f}x at T={LONG}; "concat" '
        "makes the runtime re-plan the loop's memory every step "
        f"({ratio(concat, blocked, 200):.2f}x at T=200). Against Keras: "
        "unrolling is "
        f"{ratio(unroll, blocked, 200):.2f}x the default's time at T=200 "
        "and fixes the length; TensorFlow's own kernels for the graph that "
        "Keras's Flex export holds take "
        f"{ratio(flex_graph, blocked, 200):.2f}x at T=200; XLA is faster "
        f"({ratio(xla, blocked, 200):.2f}x) but does not run on the stock "
        "LiteRT runtime. Not measured: the fused "
        "UNIDIRECTIONAL_SEQUENCE_LSTM / BIDIRECTIONAL_SEQUENCE_LSTM ops, "
        "which the converter emits only for Keras 2's tagged LSTM "
        "functions."
    )


def main():
    tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(THREADS)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument(
        "--write", action="store_true", help="write to benchmarks/RESULTS.md"
    )
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inputs = {
        t: rng.normal(size=(1, t, FEATURES)).astype("float32")
        for t in LENGTHS + (LONG,)
    }

    model, block = keras_seq_bilstm()
    reference = keras_bilstm()
    copy_weights(block, reference)
    expected = {t: np.asarray(model(x)) for t, x in inputs.items()}
    short = {t: inputs[t] for t in LENGTHS}
    np.testing.assert_allclose(reference(inputs[50]), expected[50], atol=1e-5)

    options = []  # (name, {length: (ms, size, max error)}, note)

    # keras_seq: one builtin-only model for every length, per carry.
    for carry, note in CARRY_NOTES.items():
        block._export_carry = carry
        start = time.perf_counter()
        report = tflite.convert(model)
        convert_s = time.perf_counter() - start
        row = {}
        for t, x in inputs.items():
            ms, y = litert_run(report.content, x, args.repeats)
            row[t] = (ms, report.size_bytes, np.abs(y - expected[t]).max())
        options.append(
            (
                f'keras_seq `RecurrentBlock`, carry="{carry}"',
                row,
                f"{note}; converts in {convert_s:.0f} s",
            )
        )
    block._export_carry = RecurrentBlock._export_carry

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
    for t, x in short.items():
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
        f"{args.repeats} runs. CPU ms: this process's CPU time per run "
        "(the machine is shared, so wall time includes waiting for a "
        "core); ratio: CPU ms / the default keras_seq option's CPU ms at "
        "the same length. Max error: against Keras on the same weights.",
        "",
        "| option | T | CPU ms | ratio | wall ms | size KB | max error "
        "| note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row, note in options:
        for t, (ms, size, err) in row.items():
            cells = [
                "-" if ms is None else f"{ms[0]:.2f}",
                "-" if ms is None else f"{ms[0] / base[t][0][0]:.2f}",
                "-" if ms is None else f"{ms[1]:.2f}",
                "-" if size is None else f"{size / 1024:.0f}",
                "-" if err is None else f"{err:.1e}",
            ]
            lines.append(f"| {name} | {t} | {' | '.join(cells)} | {note} |")
    lines += ["", _summary(options)]
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
