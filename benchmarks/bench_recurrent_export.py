"""BiLSTM export options for LiteRT: latency and size, side by side.

One bidirectional LSTM, 128 units per direction on 64 features, outputs
concatenated (256 wide), batch 1, sequence lengths 50 and 200 (and 800 for
the keras_seq options and the TensorFlow graphs):

- keras_seq `RecurrentBlock` converted by `keras_seq.tflite.convert`
  (builtin ops only, one model for every length): "fused" (what
  `keras_seq.layers.fused_lstm.fused_lstm_export()` asks for: TFLite's
  UNIDIRECTIONAL_SEQUENCE_LSTM op, one per direction, inside a loop over
  the batch; and, with the batch size fixed at 1 by the input signature,
  over the whole batch without that loop), and the three ways its loop
  can carry the outputs:
  "blocked" (the default: an outer loop over blocks of 16 steps, an
  inner loop with a fixed-shape block buffer), "select" (one loop, a fixed
  full-length buffer written with SELECT_V2) and "concat" (one loop,
  outputs growing by concatenation);
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
Keras before it is timed. One thread everywhere; the options are timed
in turn, in three rounds, each keeping its lowest round's median.

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
# (carry, batch size fixed in the input signature, note).
KERAS_SEQ_OPTIONS = (
    ("fused", True, "builtin only, any length, batch size fixed"),
    ("fused", False, "builtin only, any length and batch"),
    ("blocked", False, "builtin only, any length (default)"),
    ("select", False, "builtin only, any length"),
    ("concat", False, "builtin only, any length"),
)


def _interpreter(content, flex):
    if flex:
        return tf.lite.Interpreter(model_content=content, num_threads=THREADS)
    return Interpreter(model_content=content, num_threads=THREADS)


def litert_prepare(content, x, flex=False):
    """Returns (run, output): `run()` invokes the model on `x` again."""
    interpreter = _interpreter(content, flex)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], x)
    output = interpreter.get_output_details()[0]["index"]
    interpreter.invoke()
    return interpreter.invoke, interpreter.get_tensor(output).copy()


def tf_prepare(fn, x):
    """Returns (run, output) for a `tf.function`."""
    x = tf.constant(x)
    return (lambda: fn(x).numpy()), np.asarray(fn(x))


def time_all(runs, repeats, rounds=3):
    """Median (CPU ms, wall ms) of every run, interleaved in rounds.

    The machine is shared and its load drifts over minutes: every round
    times each run in turn (`repeats // rounds` calls), and each run keeps
    its lowest round, so all options see the same conditions.
    """
    best = {}
    for run in runs.values():
        run()
    for _ in range(rounds):
        for key, run in runs.items():
            cpu, wall = [], []
            for _ in range(max(1, repeats // rounds)):
                start_cpu = time.process_time()
                start_wall = time.perf_counter()
                run()
                cpu.append((time.process_time() - start_cpu) * 1000)
                wall.append((time.perf_counter() - start_wall) * 1000)
            median = (statistics.median(cpu), statistics.median(wall))
            if key not in best or median[0] < best[key][0]:
                best[key] = median
    return best


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
    """The defaults' choice, in words, from the measured CPU times."""
    cpu = {
        name: {t: v[0][0] for t, v in row.items() if v[0]}
        for name, row, _ in options
    }
    names = [name for name, _, _ in options]
    fixed, fused, blocked, select, concat = names[:5]
    xla = next(n for n in names if "jit_compile=True" in n)
    flex_graph = next(n for n in names if "jit_compile=False" in n)
    unroll = names[-1]

    def ratio(a, b, t):
        return cpu[a][t] / cpu[b][t]

    lengths = sorted(cpu[fused])
    return (
        "Choice: the fused op takes "
        + ", ".join(
            f"{ratio(fused, blocked, t):.2f}x the blocked loop's time "
            f"and {ratio(fused, xla, t):.2f}x XLA's at T={t}"
            for t in lengths
        )
        + " inside the loop over the batch, and with the batch size fixed "
        "at 1 in the signature "
        + ", ".join(
            f"{ratio(fixed, blocked, t):.2f}x the blocked loop's and "
            f"{ratio(fixed, xla, t):.2f}x XLA's"
            for t in lengths
        )
        + " (on this shared machine, differences under about 20% have "
        "changed sign from one run of this script to the next). "
        + f"At T={LONG} the fused op costs "
        f"{cpu[fixed][LONG] / LONG * 1000:.0f} us a step (both directions) "
        f"against {cpu[xla][LONG] / LONG * 1000:.0f} us for XLA's compiled "
        "loop, so neither form reaches XLA. It stays opt-in "
        "(`fused_lstm.fused_lstm_export()`): int8 conversion fails on it "
        "inside the batch loop and quantizes it poorly outside it, and "
        "`convert` traces the model before it knows the quantization. "
        "Masks other than right padding, streaming, and GRU / SimpleRNN "
        "blocks run "
        'the loop, whose default carry is "blocked". Its cost grows '
        "linearly with the length (CPU ms per step "
        + ", ".join(
            f"{cpu[blocked][t] / t * 1000:.0f} us at T={t}"
            for t in sorted(cpu[blocked])
        )
        + f'); "select" touches the whole buffer every step, so it is '
        f"{ratio(select, blocked, 50):.2f}x the blocked loop's time at "
        f'T=50 but {ratio(select, blocked, LONG):.2f}x at T={LONG}; "concat" '
        "makes the runtime re-plan the loop's memory every step "
        f"({ratio(concat, blocked, 200):.2f}x at T=200). Against Keras: "
        "unrolling is "
        f"{ratio(unroll, blocked, 200):.2f}x the blocked loop's time at "
        "T=200 and fixes the length; TensorFlow's own kernels for the graph "
        "that Keras's Flex export holds take "
        f"{ratio(flex_graph, blocked, 200):.2f}x at T=200; XLA takes "
        f"{ratio(xla, blocked, 200):.2f}x but does not run on the stock "
        "LiteRT runtime."
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

    options = []  # (name, {length: (size, max error)}, note)
    timers = {}  # (name, length): a callable to time

    # keras_seq: one builtin-only model for every length, per carry.
    for carry, fixed, note in KERAS_SEQ_OPTIONS:
        block._export_carry = carry
        # The fused op needs the batch size when the model is traced.
        signature = None
        if fixed:
            signature = [tf.TensorSpec((1, None, FEATURES), tf.float32)]
        start = time.perf_counter()
        report = tflite.convert(model, input_signature=signature)
        # `report.ops` lists the main graph's ops: the fused op sits
        # there only for a fixed batch size (else in the batch loop).
        assert ("UNIDIRECTIONAL_SEQUENCE_LSTM" in report.ops) == fixed
        convert_s = time.perf_counter() - start
        name = f'keras_seq `RecurrentBlock`, carry="{carry}"' + (
            ", batch 1 signature" if fixed else ""
        )
        row = {}
        for t, x in inputs.items():
            timers[name, t], y = litert_prepare(report.content, x)
            row[t] = (report.size_bytes, np.abs(y - expected[t]).max())
        options.append(
            (
                name,
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
        litert_prepare(content, inputs[50], flex=True)
        runs = "runs"
    except RuntimeError:
        runs = "refused by both interpreters here (no Flex delegate)"
    options.append(
        (
            'Keras `model.export(format="litert")`',
            {t: (len(content), None) for t in LENGTHS},
            f"needs {', '.join(flex_ops)}; {runs}",
        )
    )
    for jit in (False, True):
        fn = tf.function(reference, jit_compile=jit)
        name = f"Keras graph, `tf.function(jit_compile={jit})`"
        row = {}
        for t, x in inputs.items():
            timers[name, t], y = tf_prepare(fn, x)
            row[t] = (None, np.abs(y - expected[t]).max())
        options.append(
            (
                name,
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
        timers["Keras `LSTM(unroll=True)`", t], y = litert_prepare(
            report.content, x
        )
        row[t] = (report.size_bytes, np.abs(y - expected[t]).max())
    options.append(
        (
            "Keras `LSTM(unroll=True)`",
            row,
            "builtin only, one model per length",
        )
    )

    timings = time_all(timers, args.repeats)
    options = [
        (
            name,
            {t: (timings.get((name, t)),) + v for t, v in row.items()},
            note,
        )
        for name, row, note in options
    ]
    blocked = options[2][1]
    xla = next(row for name, row, _ in options if "jit_compile=True" in name)
    lines = [
        f"Bidirectional LSTM, {UNITS} units per direction on {FEATURES} "
        f"features, concat, batch 1, {THREADS} LiteRT thread, {args.repeats} "
        "runs each in three rounds that take every option in turn, the "
        "lowest round's median. CPU ms: this process's CPU time per run "
        "(the machine is shared, so wall time includes waiting for a "
        "core); vs blocked, vs XLA: CPU ms / the CPU ms of the blocked "
        "loop, of the XLA-compiled Keras graph, at the same length. Max "
        "error: against Keras on the same weights.",
        "",
        "| option | T | CPU ms | vs blocked | vs XLA | wall ms | size KB "
        "| max error | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row, note in options:
        for t, (ms, size, err) in row.items():
            cells = [
                "-" if ms is None else f"{ms[0]:.2f}",
                "-" if ms is None else f"{ms[0] / blocked[t][0][0]:.2f}",
                "-" if ms is None else f"{ms[0] / xla[t][0][0]:.2f}",
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
