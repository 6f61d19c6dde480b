"""Every lesson in notebooks/ is stored clean and shaped as a lesson (tests/test_book.py runs them)."""

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


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


# Each lesson is executed once in the suite, by the executed book build of tests/test_book.py
# (test_executed_book_builds_without_warnings: a failing cell fails the build;
# test_every_lesson_and_no_exercise_was_executed_within_budget: the per-lesson time budget).
