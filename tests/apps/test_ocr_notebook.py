"""examples/ocr.ipynb runs top to bottom (at its tiny size, on a CPU)."""

import os

import nbformat
from nbclient import NotebookClient

NOTEBOOK = os.path.join(
    os.path.dirname(__file__), "..", "..", "examples", "ocr.ipynb"
)


def test_ocr_notebook_runs_top_to_bottom(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [
        cell
        for cell in notebook.cells
        if "parameters" in cell.metadata.get("tags", [])
    ]
    assert len(tagged) == 1
    # Papermill-style: the next cell overrides the parameters.
    index = notebook.cells.index(tagged[0])
    notebook.cells.insert(
        index + 1,
        nbformat.v4.new_code_cell(
            'SIZE = "tiny"\n'
            "MINUTES = 0.05\n"
            f"OUT = {str(tmp_path / 'run')!r}\n"
            "TEST_LINES = 4\n"
            "EXPORT_INT8 = False\n"
        ),
    )
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "CER " in outputs
    assert os.path.isfile(tmp_path / "run" / "model.tflite")
    assert os.path.isfile(tmp_path / "run" / "model.charset.json")
