"""Keras-versus-LiteRT output comparison."""

import numpy as np

from keras_seq.tflite.convert import _output_names, pack_inputs, run_tflite


def _as_list(x):
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def check_parity(model, tflite, inputs_list, rtol=1e-4, atol=1e-5):
    """Runs `model` and the .tflite model on the same inputs and compares.

    Args:
        model: the Keras model that was converted.
        tflite: .tflite bytes or path.
        inputs_list: a list of model inputs (each one array, or a list of
            arrays in `model.inputs` order), typically at two or more
            sequence lengths.
        rtol, atol: the tolerance; `ok` is True when every output element
            satisfies `|tflite - keras| <= atol + rtol * |keras|`.

    Returns:
        A dict: `max_abs_error`, `mean_abs_error`, `ok`, and `per_input`, a
        list of dicts with the input shapes and the errors for each.
    """
    names = [t.name.split(":")[0] for t in model.inputs]
    per_input = []
    for inputs in inputs_list:
        arrays = [np.asarray(a) for a in _as_list(inputs)]
        expected = model(pack_inputs(model, arrays), training=False)
        expected = [np.asarray(e) for e in _as_list(expected)]
        outputs = run_tflite(tflite, dict(zip(names, arrays)))
        output_names = _output_names(model)
        if set(output_names) == set(outputs):
            got = [outputs[n] for n in output_names]
        elif len(outputs) == len(expected):
            got = _match_outputs(expected, list(outputs.values()))
        else:
            raise ValueError(
                f"Output count differs: Keras {len(expected)}, "
                f"TFLite {len(outputs)} ({sorted(outputs)})"
            )
        max_abs, mean_abs, ok = 0.0, [], True
        for e, g in zip(expected, got):
            e = e.astype(np.float64)
            g = g.astype(np.float64)
            if e.shape != g.shape:
                raise ValueError(
                    f"Output shape differs: Keras {e.shape}, TFLite {g.shape}"
                )
            diff = np.abs(e - g)
            if diff.size:
                max_abs = max(max_abs, float(diff.max()))
                mean_abs.append(float(diff.mean()))
            ok = ok and bool(np.all(diff <= atol + rtol * np.abs(e)))
        per_input.append(
            {
                "shapes": [a.shape for a in arrays],
                "max_abs_error": max_abs,
                "mean_abs_error": float(np.mean(mean_abs)) if mean_abs else 0,
                "ok": ok,
            }
        )
    return {
        "max_abs_error": max(p["max_abs_error"] for p in per_input),
        "mean_abs_error": float(
            np.mean([p["mean_abs_error"] for p in per_input])
        ),
        "ok": all(p["ok"] for p in per_input),
        "per_input": per_input,
    }


def _match_outputs(expected, got):
    """Pairs outputs by the model's order when names were sorted away."""
    if len(expected) == 1:
        return got
    remaining = list(got)
    ordered = []
    for e in expected:
        best = min(
            range(len(remaining)),
            key=lambda i: (
                remaining[i].shape != e.shape,
                float(np.abs(remaining[i].astype(np.float64) - e).mean())
                if remaining[i].shape == e.shape
                else np.inf,
            ),
        )
        ordered.append(remaining.pop(best))
    return ordered
