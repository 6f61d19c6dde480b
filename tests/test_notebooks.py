"""Every lesson in notebooks/: stored clean, shaped as a lesson, and runs top to bottom on the sample."""

import os
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# A guard against a lesson that runs away, not a speed measurement: the lessons aim
# at about 2 minutes each on 2 CPU cores (see bench/ for measured figures).
NOTEBOOK_BUDGET_SECONDS = 300


def read(path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {index} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_shaped_as_a_lesson(path):
    cells = read(path).cells
    first = cells[0]
    assert first.cell_type == "markdown" and "What you will learn" in first.source, path.name
    assert "colab.research.google.com" in first.source, f"{path.name}: no Colab badge"
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code", f"{path.name}: needs one 'parameters' cell"
    for index, cell in enumerate(cells):
        if cell.cell_type == "code":
            assert cell.source.strip(), f"{path.name}: cell {index} is empty"
            assert cells[index - 1].cell_type == "markdown", f"{path.name}: code cell {index} has no prose before it"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_on_the_sample(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("CI", "true")  # lessons then use the generated sample whatever their parameters say
    notebook = read(path)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=NOTEBOOK_BUDGET_SECONDS, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    elapsed = time.perf_counter() - started
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors
    assert elapsed < NOTEBOOK_BUDGET_SECONDS, f"{path.name} took {elapsed:.0f} s"
