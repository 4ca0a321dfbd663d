"""Keras model -> .tflite with an op audit (builtin ops only by default)."""

import dataclasses
import logging
import os
import re
import tempfile

import keras
import numpy as np
import tensorflow as tf

from keras_seq.layers.export_mode import export_mode

logger = logging.getLogger(__name__)

QUANTIZATIONS = (None, "float16", "dynamic_range", "int8")


class NonBuiltinOpsError(ValueError):
    """The model needs Flex (Select TF) or custom ops."""


@dataclasses.dataclass
class ConversionReport:
    """What `convert` produced.

    Attributes:
        path: where the .tflite file was written (None when not written).
        size_bytes: size of the flatbuffer.
        ops: sorted op names found in the flatbuffer.
        signature: `{"inputs": {name: shape_signature}, "outputs": {...}}`.
        quantization: the quantization that was applied.
        content: the flatbuffer bytes.
    """

    path: str | None
    size_bytes: int
    ops: list
    signature: dict
    quantization: str | None
    content: bytes = dataclasses.field(repr=False, default=b"")


def _input_specs(model, sequence_axes):
    specs = []
    for tensor in model.inputs:
        shape = list(tensor.shape)
        if shape:  # a scalar input (batch_shape=()) has no batch axis
            shape[0] = None
        for axis in sequence_axes:
            if axis < len(shape):
                shape[axis] = None
        name = tensor.name.split(":")[0]
        specs.append(tf.TensorSpec(shape, tensor.dtype, name=name))
    return specs


def _output_names(model):
    """One distinct, signature-safe name per model output, in order."""
    names = getattr(model, "output_names", None)
    outputs = model.outputs
    if not names or len(names) != len(outputs):
        names = [f"output_{i}" for i in range(len(outputs))]
    names = [re.sub(r"[^0-9A-Za-z_]", "_", n) for n in names]
    # A layer with several outputs gives them all the layer's name.
    unique = []
    for i, name in enumerate(names):
        unique.append(f"{name}_{i}" if names.count(name) > 1 else name)
    return unique


def pack_inputs(model, arrays):
    """Arranges a flat list of inputs the way `model` was built to take."""
    try:
        structure = model.input
    except AttributeError:  # a Sequential model: one input
        structure = None
    if structure is None or not isinstance(structure, (list, tuple, dict)):
        return arrays[0] if len(arrays) == 1 else arrays
    return keras.tree.pack_sequence_as(structure, arrays)


def serving_function(model, sequence_axes=(1,)):
    """A plain function that runs `model` in export mode, outputs by name.

    Args:
        model: a Functional (or built subclassed) Keras model.
        sequence_axes: axes of every input that stay variable.

    Returns:
        `(fn, input_signature)`: `fn(*inputs)` returns a dict of named
        outputs; `input_signature` is a list of `tf.TensorSpec`, one per
        model input, with the batch axis and `sequence_axes` unknown.
    """
    specs = _input_specs(model, sequence_axes)
    names = _output_names(model)

    def serve(*args):
        with export_mode():
            inputs = pack_inputs(model, list(args))
            outputs = model(inputs, training=False)
        if isinstance(outputs, dict):
            return outputs
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return dict(zip(names, outputs))

    return serve, specs


def export_saved_model(
    model, directory, input_signature=None, sequence_axes=(1,), endpoints=None
):
    """Writes a SavedModel whose `serving_default` runs `model` for export.

    Args:
        model: a Keras model.
        directory: the SavedModel folder to write.
        input_signature: optional list of `tf.TensorSpec`.
        sequence_axes: input axes left variable.
        endpoints: optional dict of extra endpoint name ->
            `(fn, input_signature)`, e.g. a streaming step.

    Returns:
        `directory`.
    """
    serve, specs = serving_function(model, sequence_axes)
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default", serve, input_signature=input_signature or specs
    )
    for name, (fn, signature) in (endpoints or {}).items():
        archive.add_endpoint(name, fn, input_signature=signature)
    archive.write_out(directory, verbose=False)
    return directory


def list_ops(content):
    """Sorted op names in every subgraph of a .tflite flatbuffer (bytes).

    WHILE and IF bodies are subgraphs of their own, so reading only the
    main one would miss a Flex op inside a loop. Custom and Flex ops are
    named by their custom code (e.g. "FlexTensorListReserve").
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(bytes(content), 0)
    builtin_names = {
        code: name
        for name, code in vars(schema.BuiltinOperator).items()
        if not name.startswith("_")
    }
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(code.CustomCode().decode("utf-8"))
        else:
            codes.append(builtin_names.get(builtin, f"BUILTIN_{builtin}"))
    ops = set()
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for i in range(graph.OperatorsLength()):
            ops.add(codes[graph.Operators(i).OpcodeIndex()])
    return sorted(ops)


def non_builtin_ops(ops):
    """Ops that the stock LiteRT runtime does not ship: Flex and custom."""
    return [o for o in ops if o.startswith("Flex") or not o.isupper()]


def representative_dataset(samples):
    """Turns a list of input samples into a converter's representative data.

    Args:
        samples: a list whose items are one array or a list of arrays (one
            per model input, in `model.inputs` order), each with a batch
            axis of 1. Varied sequence lengths calibrate better.

    Returns:
        A callable yielding lists of float32/int arrays, as `convert` takes
        for `quantization="int8"`.
    """
    samples = list(samples)
    if not samples:
        raise ValueError("`samples` is empty. Received: []")

    def generate():
        for sample in samples:
            arrays = sample if isinstance(sample, (list, tuple)) else [sample]
            yield [np.asarray(a) for a in arrays]

    return generate


def _converter(saved_model_dir, quantization, representative_dataset):
    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=["serving_default"]
    )
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic_range":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "int8":
        if representative_dataset is None:
            raise ValueError(
                "quantization='int8' needs a `representative_dataset`: a "
                "callable yielding lists of input arrays. Received: None"
            )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
    return converter


def convert(
    model,
    path=None,
    *,
    quantization=None,
    representative_dataset=None,
    allow_flex=False,
    input_signature=None,
    sequence_axes=(1,),
):
    """Converts a Keras model to TFLite and audits its ops.

    Args:
        model: a Keras model (TensorFlow backend).
        path: where to write the .tflite file; None keeps it in memory.
        quantization: None (float32), "float16", "dynamic_range" or "int8".
        representative_dataset: for "int8", a callable yielding lists of
            float input arrays (one list per sample).
        allow_flex: permit Flex (Select TF) ops. The stock LiteRT runtime on
            Android does not ship them, so the default is False.
        input_signature: optional list of `tf.TensorSpec`, one per input.
        sequence_axes: input axes left variable (default: axis 1).

    Returns:
        A `ConversionReport`.

    Raises:
        NonBuiltinOpsError: when `allow_flex=False` and the model needs Flex
            or custom ops; the message names them.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` must be one of {QUANTIZATIONS}. "
            f"Received: quantization={quantization!r}"
        )
    with tempfile.TemporaryDirectory() as saved_model_dir:
        export_saved_model(
            model, saved_model_dir, input_signature, sequence_axes
        )
        converter = _converter(
            saved_model_dir, quantization, representative_dataset
        )
        content = _run_converter(converter, quantization, allow_flex)

    ops = list_ops(content)
    bad = non_builtin_ops(ops)
    if bad and not allow_flex:
        raise NonBuiltinOpsError(
            f"The converted model needs non-builtin ops {bad}; the stock "
            "LiteRT runtime refuses them. Received model: "
            f"{model.name!r}"
        )
    if path is not None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
    return ConversionReport(
        path=path,
        size_bytes=len(content),
        ops=ops,
        signature=_signature(content),
        quantization=quantization,
        content=content,
    )


def _run_converter(converter, quantization, allow_flex):
    # int8 keeps TFLITE_BUILTINS (not *_INT8 alone) so that an op without
    # an int8 kernel falls back to float instead of failing.
    del quantization
    ops_sets = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if allow_flex:
        ops_sets.append(tf.lite.OpsSet.SELECT_TF_OPS)
    converter.target_spec.supported_ops = ops_sets
    try:
        return converter.convert()
    except Exception as error:  # re-raised with the offending ops named
        if allow_flex:
            raise
        raise NonBuiltinOpsError(_explain_failure(str(error))) from error


def _explain_failure(message):
    """Names the TF ops and the layers they came from in a converter error."""
    ops = sorted(
        set(re.findall(r"'tf\.([A-Za-z0-9_]+)' op", message))
        | set(re.findall(r"\btf\.([A-Z][A-Za-z0-9_]+)\b", message))
    )
    # Op locations look like "model/layer/sublayer/OpName@__inference_...".
    paths = re.findall(r'"([^"@\s]+/[^"@\s]+)@', message)
    layers = sorted({p.rsplit("/", 1)[0] for p in paths})
    text = "TFLite conversion with builtin ops only failed"
    if ops:
        text += f"; ops outside the builtin set: {ops}"
    if layers:
        text += f"; from layers: {layers[:10]}"
    first = [
        line.strip()
        for line in message.splitlines()
        if "error:" in line and "loc(" not in line[:5]
    ][:2]
    return text + ". Converter said: " + " | ".join(first)


def _signature(content):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    runner = interpreter.get_signature_list()
    key = next(iter(runner)) if runner else None
    details = {"inputs": {}, "outputs": {}}
    for d in interpreter.get_input_details():
        details["inputs"][d["name"]] = [int(s) for s in d["shape_signature"]]
    for d in interpreter.get_output_details():
        details["outputs"][d["name"]] = [int(s) for s in d["shape_signature"]]
    details["signature_key"] = key
    return details


def run_tflite(content_or_path, inputs, num_threads=None):
    """Runs a .tflite model on numpy inputs, resizing to their shapes.

    Args:
        content_or_path: flatbuffer bytes or a file path.
        inputs: one array, a list of arrays (in the model's input order), or
            a dict keyed by signature input name.
        num_threads: interpreter threads (None: runtime default).

    Returns:
        A dict of output name -> numpy array (the signature's names).
    """
    from ai_edge_litert.interpreter import Interpreter

    kwargs = {"num_threads": num_threads} if num_threads else {}
    if isinstance(content_or_path, (bytes, bytearray)):
        interpreter = Interpreter(
            model_content=bytes(content_or_path), **kwargs
        )
    else:
        interpreter = Interpreter(model_path=str(content_or_path), **kwargs)
    runner = interpreter.get_signature_runner()
    input_names = list(
        interpreter.get_signature_list()[
            next(iter(interpreter.get_signature_list()))
        ]["inputs"]
    )
    if isinstance(inputs, dict):
        feed = dict(inputs)
    else:
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        if len(inputs) != len(input_names):
            raise ValueError(
                f"The model takes {len(input_names)} inputs {input_names}. "
                f"Received: {len(inputs)} arrays"
            )
        feed = dict(zip(input_names, inputs))
    feed = {k: np.asarray(v) for k, v in feed.items()}
    return runner(**feed)
