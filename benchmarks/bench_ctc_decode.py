"""CTC decoding speed: keras_seq's decoders against the peers.

Beam search at 200 frames, 31 classes (30 characters and the blank),
beam 25: keras_seq's numpy prefix beam search, `tf.nn.ctc_beam_search_decoder`
and `keras.ops.ctc_decode(strategy="beam_search")`, plus fast-ctc-decode and
pyctcdecode when they are installed (they are not dependencies). Greedy:
keras_seq's numpy `greedy_decode`. In-graph: the `CTCGreedyDecoder` and
`CTCBeamSearchDecoder` layers as builtin-only .tflite files (size and
LiteRT latency at batch 1).

The logits are random but peaked like a trained model's (one frame class
scaled up), so the searches have real choices to make and mostly agree.

Run: `.venv/bin/python benchmarks/bench_ctc_decode.py [--write]`
(`--write` replaces the "CTC decoding" section of benchmarks/RESULTS.md).
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_seq import tflite  # noqa: E402
from keras_seq.ctc import (  # noqa: E402
    CTCBeamSearchDecoder,
    CTCGreedyDecoder,
    beam_search_decode,
    greedy_decode,
)

FRAMES, NUM_CLASSES, BEAM = 200, 31, 25
COMMAND = ".venv/bin/python benchmarks/bench_ctc_decode.py --write"


def make_logits(batch, seed=0):
    """Peaked random logits, blank (id 0) likeliest on about half the frames."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(batch, FRAMES, NUM_CLASSES)).astype("float32")
    best = rng.integers(1, NUM_CLASSES, size=(batch, FRAMES))
    best[rng.random((batch, FRAMES)) < 0.5] = 0
    np.put_along_axis(logits, best[..., None], 4.0, axis=-1)
    return logits


def timed(fn, repeats):
    """Best of `repeats` runs after one warm-up run, in seconds.

    The best run is the least disturbed by other jobs on a shared machine.
    """
    fn()  # warm up (tracing, caches)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def tf_beam(logits):
    # TensorFlow's blank is the last class: move id 0 there.
    moved = np.concatenate([logits[..., 1:], logits[..., :1]], axis=-1)
    decoded, _ = tf.nn.ctc_beam_search_decoder(
        np.transpose(moved, (1, 0, 2)),  # (frames, batch_size, classes)
        [logits.shape[1]] * logits.shape[0],
        beam_width=BEAM,
    )
    dense = tf.sparse.to_dense(decoded[0], default_value=-1).numpy()
    return [[int(v) + 1 for v in row if v >= 0] for row in dense]


def keras_beam(logits):
    decoded, _ = keras.ops.ctc_decode(
        logits,
        [logits.shape[1]] * logits.shape[0],
        strategy="beam_search",
        beam_width=BEAM,
        mask_index=0,
    )
    rows = keras.ops.convert_to_numpy(decoded[0])
    return [[int(v) for v in row if v > 0] for row in rows]


def optional_peers(logits):
    """fast-ctc-decode and pyctcdecode, only if already installed."""
    rows = []
    probs = tf.nn.softmax(logits).numpy()
    alphabet = ["_"] + [chr(ord("a") + i) for i in range(NUM_CLASSES - 1)]
    try:
        import fast_ctc_decode

        def run():
            for p in probs:
                fast_ctc_decode.beam_search(p, alphabet, beam_size=BEAM)

        rows.append(("fast-ctc-decode", run))
    except ImportError:
        rows.append(("fast-ctc-decode", None))
    try:
        import pyctcdecode

        decoder = pyctcdecode.build_ctcdecoder([""] + alphabet[1:])

        def run_py():
            for lg in tf.nn.log_softmax(logits).numpy():
                decoder.decode(lg, beam_width=BEAM)

        rows.append(("pyctcdecode", run_py))
    except ImportError:
        rows.append(("pyctcdecode", None))
    return rows


def tflite_decoder(layer, names):
    """A model around a decoding layer, converted builtin-only."""
    logits = keras.Input((None, NUM_CLASSES), name="logits")
    outputs = layer(logits)
    model = keras.Model(
        logits,
        [keras.layers.Identity(name=n)(o) for n, o in zip(names, outputs)],
    )
    return tflite.convert(model)


def litert_latency(report, logits, repeats):
    """Seconds per call on one thread, and the outputs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=report.content, num_threads=1)
    runner = interpreter.get_signature_runner()
    signature = interpreter.get_signature_list()["serving_default"]
    name = list(signature["inputs"])[0]
    seconds = timed(lambda: runner(**{name: logits}), repeats)
    return seconds, runner(**{name: logits})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sequences", type=int, default=20)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    n = args.sequences
    logits = make_logits(n)
    repeats = 3

    # Beam search, ms per sequence.
    ours = timed(lambda: beam_search_decode(logits, beam_width=BEAM), repeats)
    tf_time = timed(lambda: tf_beam(logits), repeats)
    tf_one = timed(
        lambda: [tf_beam(logits[i : i + 1]) for i in range(n)], repeats
    )
    keras_time = timed(lambda: keras_beam(logits), repeats)
    ours_ids = [r.ids for r in beam_search_decode(logits, beam_width=BEAM)]
    agree_tf = np.mean([a == b for a, b in zip(ours_ids, tf_beam(logits))])
    agree_keras = np.mean(
        [a == b for a, b in zip(ours_ids, keras_beam(logits))]
    )
    beam_rows = [
        ("keras_seq `beam_search_decode` (numpy)", ours, "1.00"),
        (
            f"`tf.nn.ctc_beam_search_decoder` (batch of {n})",
            tf_time,
            f"{ours / tf_time:.2f}",
        ),
        (
            "`tf.nn.ctc_beam_search_decoder` (one call per sequence)",
            tf_one,
            f"{ours / tf_one:.2f}",
        ),
        (
            f"`keras.ops.ctc_decode(strategy='beam_search')` (batch of {n})",
            keras_time,
            f"{ours / keras_time:.2f}",
        ),
    ]
    for name, fn in optional_peers(logits):
        if fn is None:
            beam_rows.append((f"{name}: not installed, not run", None, ""))
        else:
            t = timed(fn, repeats)
            beam_rows.append((name, t, f"{ours / t:.2f}"))

    # Greedy, and the in-graph decoders as .tflite (batch 1).
    greedy = timed(lambda: greedy_decode(logits), repeats)
    one = logits[:1]
    report = tflite_decoder(
        CTCGreedyDecoder(), ("labels", "lengths", "confidences")
    )
    lite, out = litert_latency(report, one, 20)
    same = out["labels"][0][: out["lengths"][0]].tolist() == (
        greedy_decode(one)[0].ids
    )
    in_graph_beam = []
    for width in (8, BEAM):
        beam_report = tflite_decoder(
            CTCBeamSearchDecoder(beam_width=width),
            ("labels", "lengths", "scores"),
        )
        seconds, beam_out = litert_latency(beam_report, one, 5)
        expected = beam_search_decode(one, beam_width=width)[0].ids
        got = beam_out["labels"][0][: beam_out["lengths"][0]].tolist()
        in_graph_beam.append((width, beam_report, seconds, got == expected))

    lines = [
        f"{n} sequences of {FRAMES} frames, {NUM_CLASSES} classes (blank "
        f"and 30 characters), beam {BEAM}; peaked random logits (see the "
        "script). Times are per sequence, best of 3 runs (LiteRT: greedy "
        "of 20, beam of 5), on a shared 2-core machine with other jobs "
        "running: read the "
        "ratios more than the absolute numbers.",
        "",
        "| beam search | ms / sequence | keras_seq time / this |",
        "|---|---|---|",
    ]
    for label, t, ratio in beam_rows:
        shown = "" if t is None else f"{t / n * 1000:.1f}"
        lines.append(f"| {label} | {shown} | {ratio} |")
    lines += [
        "",
        f"Same top path as keras_seq: TensorFlow {agree_tf:.0%}, Keras "
        f"{agree_keras:.0%} of the {n} sequences (the searches prune "
        "differently; with no pruning they agree, see "
        "tests/ctc/test_ctc_decoding.py).",
        "",
        "| greedy | value |",
        "|---|---|",
        f"| keras_seq `greedy_decode` (numpy), ms / sequence | "
        f"{greedy / n * 1000:.2f} |",
        f"| `CTCGreedyDecoder` .tflite size (builtin ops only) | "
        f"{report.size_bytes / 1024:.1f} KB |",
        f"| `CTCGreedyDecoder` LiteRT latency, 1 thread, {FRAMES} frames | "
        f"{lite * 1000:.2f} ms |",
        f"| LiteRT labels equal `greedy_decode` | {same} |",
    ]
    for width, beam_report, seconds, equal in in_graph_beam:
        lines += [
            f"| `CTCBeamSearchDecoder(beam_width={width})` .tflite size | "
            f"{beam_report.size_bytes / 1024:.1f} KB |",
            f"| `CTCBeamSearchDecoder(beam_width={width})` LiteRT latency, "
            f"1 thread, {FRAMES} frames | {seconds * 1000:.1f} ms |",
            f"| its labels equal `beam_search_decode(beam_width={width})` | "
            f"{equal} |",
        ]
    lines += [
        "",
        f"`CTCGreedyDecoder` TFLite ops: {', '.join(report.ops)}. "
        "`CTCBeamSearchDecoder` runs one WHILE over frames whose body is "
        "builtin ops only (the conversion fails otherwise).",
    ]
    body = "\n".join(lines)
    sys.stdout.write(body + "\n")
    if args.write:
        sys.path.insert(0, os.path.dirname(__file__))
        from results import write_section

        write_section("CTC decoding", body, COMMAND)


if __name__ == "__main__":
    main()
