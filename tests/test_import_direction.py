"""Imports point one way: cli -> apps -> layers, ctc, metrics, data, tflite.

docs/ARCHITECTURE.md draws the same map; this test keeps it true.
"""

import ast
import pathlib

import keras_seq

ROOT = pathlib.Path(keras_seq.__file__).parent

# Package -> the keras_seq packages it may import (besides itself).
ALLOWED = {
    "layers": set(),
    "ctc": set(),
    "metrics": {"ctc"},
    "data": set(),
    "tflite": {"layers"},
    "testing": {"tflite"},
    "apps": {
        "layers",
        "ctc",
        "metrics",
        "data",
        "tflite",
        "apps.text",
        "apps.training",
    },
    "cli": {"apps", "tflite"},
}


def _package(parts):
    """('apps', 'ocr', 'model') -> 'apps.ocr'; ('layers', 'x') -> 'layers'."""
    if parts[0] == "apps" and len(parts) > 2:
        return f"apps.{parts[1]}"
    return parts[0]


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "keras_seq":
                yield from (f"keras_seq.{a.name}" for a in node.names)
            else:
                yield node.module


def _edges():
    edges = set()
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts == ("__init__",):
            continue
        source = _package(parts)
        for name in _imports(path):
            if not name.startswith("keras_seq."):
                continue
            target = _package(tuple(name.split(".")[1:]) + ("_",))
            if target != source:
                edges.add((source, target, str(path.relative_to(ROOT))))
    return edges


def test_imports_point_one_way():
    wrong = []
    for source, target, path in sorted(_edges()):
        top = source.split(".")[0]
        allowed = ALLOWED[top]
        if source.startswith("apps.") and target.startswith("apps."):
            ok = target in allowed
        else:
            ok = target.split(".")[0] in allowed
        if not ok:
            wrong.append(f"{path}: {source} -> {target}")
    assert not wrong, "\n".join(wrong)


def test_the_rule_catches_an_upward_import():
    # A layer importing an app is what the rule exists to stop.
    assert "apps" not in ALLOWED["layers"]
    assert _package(("apps", "ocr", "model")) == "apps.ocr"
    assert _package(("layers", "recurrent_block")) == "layers"
