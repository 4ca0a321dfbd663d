"""Every docstring example in keras_seq runs and shows what it says.

One test per module that has examples (`>>>` lines); a module whose
example breaks fails here, so the docs cannot drift from the code.
"""

import doctest
import importlib
import pkgutil

import pytest

import keras_seq


def _modules_with_examples():
    names = []
    for info in pkgutil.walk_packages(keras_seq.__path__, "keras_seq."):
        spec = importlib.util.find_spec(info.name)
        if spec is None or spec.origin is None:
            continue
        with open(spec.origin, encoding="utf-8") as f:
            if ">>> " in f.read():
                names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_the_public_layers_have_examples():
    # Guards the discovery: these modules are known to carry examples.
    for name in ("layers.recurrent_block", "ctc.ctc_loss", "data.charset"):
        assert f"keras_seq.{name}" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0
