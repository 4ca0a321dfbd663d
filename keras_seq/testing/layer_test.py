"""The one helper every layer test runs: `run_layer_test`.

It checks, for one layer configuration:

1. build, output shape and dtype;
2. one training step through `model.fit` (weights change, loss finite);
3. `mixed_float16` and `mixed_bfloat16` (outputs in the compute dtype,
   finite);
4. `jit_compile=True` (XLA) gives the same outputs as eager;
5. `get_config` -> `from_config` -> same outputs;
6. `.keras` save and load with `safe_mode=True` -> same outputs;
7. masking invariance: changing padded content, or adding more padding,
   never changes outputs at real positions;
8. TFLite: converts with builtin ops only and matches Keras at two
   sequence lengths.

Expected values come from the layer itself run another way, so each check
is a real comparison: a layer that drops a config key, ignores its mask or
needs a Flex op fails here.
"""

import os
import tempfile

import keras
import numpy as np

from keras_seq import tflite as tflite_lib


def _to_list(x):
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _model_inputs(input_data):
    data = _to_list(input_data)
    return data[0] if len(data) == 1 else data


def _numpy(x):
    return [keras.ops.convert_to_numpy(t) for t in _to_list(x)]


def _wrap(layer, input_data, call_kwargs, with_padding_mask):
    """Functional model around `layer`, sequence axis left variable."""
    inputs = []
    for i, array in enumerate(_to_list(input_data)):
        shape = list(array.shape[1:])
        if array.ndim >= 2:
            shape[0] = None
        inputs.append(
            keras.Input(shape=tuple(shape), dtype=array.dtype, name=f"in_{i}")
        )
    kwargs = dict(call_kwargs or {})
    model_inputs = list(inputs)
    if with_padding_mask:
        mask_input = keras.Input(shape=(None,), dtype="int32", name="mask")
        model_inputs.append(mask_input)
        kwargs["padding_mask"] = mask_input
    layer_input = inputs[0] if len(inputs) == 1 else inputs
    outputs = layer(layer_input, **kwargs)
    if len(model_inputs) == 1:
        model_inputs = model_inputs[0]
    return keras.Model(model_inputs, outputs)


def _assert_close(actual, expected, atol, rtol, what):
    for a, e in zip(_numpy(actual), _numpy(expected)):
        a = np.asarray(a, np.float64)
        e = np.asarray(e, np.float64)
        if a.shape != e.shape:
            raise AssertionError(f"{what}: shape {a.shape} != {e.shape}")
        if not np.allclose(a, e, atol=atol, rtol=rtol):
            err = float(np.max(np.abs(a - e)))
            raise AssertionError(f"{what}: max abs error {err:.3g}")


def _call(layer, input_data, call_kwargs, training=False):
    x = input_data if isinstance(input_data, list) else input_data
    return layer(x, training=training, **(call_kwargs or {}))


def _check_training(layer_cls, init_kwargs, input_data, call_kwargs):
    layer = layer_cls(**init_kwargs)
    model = _wrap(layer, input_data, call_kwargs, False)
    outputs = _to_list(model(_model_inputs(input_data)))
    rng = np.random.default_rng(0)
    targets = [
        rng.normal(size=keras.ops.shape(o)).astype("float32") for o in outputs
    ]
    before = [np.array(w) for w in layer.trainable_weights]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(
        _model_inputs(input_data),
        targets if len(targets) > 1 else targets[0],
        epochs=1,
        batch_size=len(_to_list(input_data)[0]),
        verbose=0,
    )
    loss = history.history["loss"][-1]
    if not np.isfinite(loss):
        raise AssertionError(f"training loss is not finite: {loss}")
    if before:
        after = [np.array(w) for w in layer.trainable_weights]
        if all(np.array_equal(b, a) for b, a in zip(before, after)):
            raise AssertionError("one training step changed no weight")


def _check_mixed_precision(layer_cls, init_kwargs, input_data, call_kwargs):
    for policy, compute in (
        ("mixed_float16", "float16"),
        ("mixed_bfloat16", "bfloat16"),
    ):
        layer = layer_cls(**{**init_kwargs, "dtype": policy})
        outputs = _call(layer, input_data, call_kwargs)
        for out in _to_list(outputs):
            dtype = keras.backend.standardize_dtype(out.dtype)
            if "float" in dtype and dtype != compute:
                raise AssertionError(
                    f"{policy}: output dtype {dtype}, expected {compute}"
                )
            values = keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))
            if not np.all(np.isfinite(values)):
                raise AssertionError(f"{policy}: non-finite outputs")


def _check_jit(layer, input_data, call_kwargs, expected, atol, rtol):
    import tensorflow as tf

    @tf.function(jit_compile=True)
    def run(x):
        return _call(layer, x, call_kwargs)

    _assert_close(run(input_data), expected, atol, rtol, "jit_compile=True")


def _check_config(layer, layer_cls, input_data, call_kwargs, expected):
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    _call(clone, input_data, call_kwargs)
    try:
        clone.set_weights(layer.get_weights())
    except ValueError as error:
        raise AssertionError(
            f"from_config(get_config()) built other weights: {error}"
        ) from error
    _assert_close(
        _call(clone, input_data, call_kwargs),
        expected,
        1e-6,
        1e-6,
        "from_config(get_config())",
    )
    if clone.get_config() != config:
        raise AssertionError(
            "get_config() of the clone differs from the original"
        )


def _check_saving(layer, input_data, call_kwargs):
    model = _wrap(layer, input_data, call_kwargs, False)
    expected = model(_model_inputs(input_data))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    _assert_close(
        loaded(_model_inputs(input_data)),
        expected,
        1e-6,
        1e-6,
        ".keras round trip",
    )


def _real_positions(output, lengths):
    """Output values at real positions: `[b, :len]` for sequence outputs."""
    values = keras.ops.convert_to_numpy(output)
    return [values[b, : lengths[b]] for b in range(values.shape[0])]


def check_masking(
    layer, input_data, padding_mask, call_kwargs=None, sequence_output=True
):
    """Padded content and padding length never change real outputs.

    Args:
        layer: a built or unbuilt layer called as
            `layer(x, padding_mask=mask, **call_kwargs)`.
        input_data: `(batch_size, sequence_length, ...)` array.
        padding_mask: `(batch_size, sequence_length)`, 1 for real steps;
            real steps must come first (right padding).
        call_kwargs: other call arguments.
        sequence_output: True when the output has the sequence axis at 1
            (then only real positions are compared), False for pooled
            outputs (compared whole).
    """
    call_kwargs = dict(call_kwargs or {})
    x = np.asarray(input_data)
    mask = np.asarray(padding_mask).astype("int32")
    lengths = mask.sum(axis=1)
    base = layer(x, padding_mask=mask, **call_kwargs)

    # 1. Different content at padded positions.
    rng = np.random.default_rng(1)
    noisy = x.copy()
    pad = mask == 0
    noisy[pad] = rng.normal(size=noisy[pad].shape).astype(x.dtype) * 5
    changed = layer(noisy, padding_mask=mask, **call_kwargs)

    # 2. Three more padded steps.
    extra = 3
    longer = np.concatenate(
        [x, rng.normal(size=(x.shape[0], extra) + x.shape[2:]).astype(x.dtype)],
        axis=1,
    )
    longer_mask = np.concatenate(
        [mask, np.zeros((mask.shape[0], extra), "int32")], axis=1
    )
    longer_out = layer(longer, padding_mask=longer_mask, **call_kwargs)

    for other, what in ((changed, "padded content"), (longer_out, "padding")):
        if sequence_output:
            for b, (e, a) in enumerate(
                zip(
                    _real_positions(base, lengths),
                    _real_positions(other, lengths),
                )
            ):
                if not np.allclose(e, a, atol=1e-5, rtol=1e-5):
                    raise AssertionError(
                        f"changing the {what} changed real outputs of "
                        f"sample {b} (length {lengths[b]})"
                    )
        else:
            _assert_close(other, base, 1e-5, 1e-5, f"changing the {what}")


def check_tflite(
    layer,
    input_data,
    call_kwargs=None,
    lengths=(7, 19),
    atol=1e-4,
    rtol=1e-4,
    with_padding_mask=False,
):
    """Converts a model around `layer` builtin-only; parity at `lengths`.

    The first input's axis 1 is the sequence axis and is left variable;
    inputs are cut or tiled to each length. Returns the conversion report.
    """
    model = _wrap(layer, input_data, call_kwargs, with_padding_mask)
    report = tflite_lib.convert(model)
    rng = np.random.default_rng(2)
    samples = []
    for length in lengths:
        arrays = []
        for array in _to_list(input_data):
            shape = (1, length) + tuple(array.shape[2:])
            if np.issubdtype(array.dtype, np.integer):
                high = max(int(array.max()) + 1, 2)
                arrays.append(
                    rng.integers(0, high, size=shape, dtype=array.dtype)
                )
            else:
                arrays.append(rng.normal(size=shape).astype(array.dtype))
        if with_padding_mask:
            arrays.append(np.ones((1, length), "int32"))
        samples.append(arrays)
    result = tflite_lib.check_parity(
        model, report.content, samples, rtol=rtol, atol=atol
    )
    if not result["ok"]:
        raise AssertionError(
            f"TFLite differs from Keras: max abs error "
            f"{result['max_abs_error']:.3g} at lengths {lengths}"
        )
    return report


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_output_dtype="float32",
    call_kwargs=None,
    padding_mask=None,
    sequence_output=True,
    run_training=True,
    run_mixed_precision=True,
    run_jit=True,
    run_saving=True,
    run_tflite=True,
    tflite_lengths=(7, 19),
    tflite_atol=1e-4,
    atol=1e-5,
    rtol=1e-5,
):
    """Runs every shared check on one layer configuration.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_data: a numpy array, or a list of them for several inputs.
        expected_output_shape: a shape tuple, or a list of them.
        expected_output_dtype: the output dtype under float32, or a list
            with one per output.
        call_kwargs: extra call arguments (not tensors from the inputs).
        padding_mask: if given, `(batch_size, sequence_length)` with 1 for
            real steps; runs the masking invariance check.
        sequence_output: see `check_masking`.
        run_training, run_mixed_precision, run_jit, run_saving, run_tflite:
            turn a check off only with a reason in the calling test.
        tflite_lengths: the two sequence lengths of the TFLite parity check.
        tflite_atol: absolute tolerance of the TFLite parity check.
        atol, rtol: tolerance of the XLA check.

    Returns:
        The TFLite conversion report, or None.
    """
    # 1. Build, shape and dtype.
    layer = layer_cls(**init_kwargs)
    outputs = _call(layer, input_data, call_kwargs)
    shapes = expected_output_shape
    if not isinstance(shapes, list):
        shapes = [shapes]
    dtypes = expected_output_dtype
    if not isinstance(dtypes, list):
        dtypes = [dtypes] * len(shapes)
    for out, shape, want in zip(_to_list(outputs), shapes, dtypes):
        got = tuple(keras.ops.shape(out))
        if got != tuple(shape):
            raise AssertionError(f"output shape {got}, expected {shape}")
        dtype = keras.backend.standardize_dtype(out.dtype)
        if dtype != want:
            raise AssertionError(f"output dtype {dtype}, expected {want}")

    # 2. Same outputs through config, XLA and saving.
    _check_config(layer, layer_cls, input_data, call_kwargs, outputs)
    if run_jit:
        _check_jit(layer, input_data, call_kwargs, outputs, atol, rtol)
    if run_saving:
        _check_saving(layer, input_data, call_kwargs)
    if padding_mask is not None:
        check_masking(
            layer, input_data, padding_mask, call_kwargs, sequence_output
        )
    if run_training:
        _check_training(layer_cls, init_kwargs, input_data, call_kwargs)
    if run_mixed_precision:
        _check_mixed_precision(layer_cls, init_kwargs, input_data, call_kwargs)
    if run_tflite:
        return check_tflite(
            layer,
            input_data,
            call_kwargs,
            lengths=tflite_lengths,
            atol=tflite_atol,
        )
    return None
