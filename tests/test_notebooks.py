"""Every lesson in notebooks/ is stored clean and shaped as a lesson (tests/test_book.py runs them)."""

import ast
import inspect
import re
import typing
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from matplotlib.figure import Figure

from ferkit import plots

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



# ---------------------------------------------------------------------------
# Alt text: every figure a lesson draws is described for screen readers
# ---------------------------------------------------------------------------

def drawing_functions():
    """Names of the public functions of ``ferkit.plots`` that return a matplotlib ``Figure``."""
    return {
        name for name, function in inspect.getmembers(plots, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == plots.__name__
        and typing.get_type_hints(function).get("return") is Figure
    }


DRAWING_FUNCTIONS = drawing_functions()
IMAGE_SUFFIX = re.compile(r"\.(png|jpe?g|gif|svg|webp|pdf)\b", re.IGNORECASE)


def draws_a_figure(source: str) -> bool:
    """True when a code cell calls a drawing function of ``ferkit.plots`` (as ``plots.name(...)``,
    through a re-export such as ``widgets.name(...)``, or imported bare) or uses matplotlib
    directly (``plt``, ``matplotlib``). IPython magics are turned into Python before parsing."""
    python = TransformerManager().transform_cell(source)
    if re.search(r"run_line_magic\('matplotlib'", python):  # %matplotlib inline
        return True
    for node in ast.walk(ast.parse(python)):
        if isinstance(node, ast.Call):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
            if name in DRAWING_FUNCTIONS:
                return True
        elif isinstance(node, ast.Name) and node.id in ("plt", "matplotlib"):
            return True
        elif isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "matplotlib" for alias in node.names):
            return True
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "matplotlib":
            return True
    return False


def looks_like_a_file_name(text: str) -> bool:
    """True for text such as ``_images/3f2a.png``, ``figure.svg`` or a single path-like token."""
    text = text.strip()
    return not re.search(r"\s", text) or bool(IMAGE_SUFFIX.search(text)) or bool(re.search(r"\S/\S", text))


def alt_text_problem(alt) -> str | None:
    """Why ``alt`` (the value of ``metadata.mystnb.image.alt``) is not usable alt text, or None."""
    if not isinstance(alt, str) or not alt.strip():
        return "no alt text (set metadata.mystnb.image.alt)"
    if looks_like_a_file_name(alt):
        return f"alt text looks like a file name: {alt!r}"
    if len(alt.split()) < 6 or not alt.rstrip().endswith("."):
        return f"alt text should be one or two plain sentences: {alt!r}"
    if len(re.findall(r"[.!?](?:\s|$)", alt)) > 2:
        return f"alt text has more than two sentences: {alt!r}"
    if re.search(r"\d\.\d|%", alt):
        return f"alt text states a number that depends on the run: {alt!r}"
    return None


def test_drawing_functions_are_derived_from_ferkit_plots():
    assert {"show_images", "training_curves", "confusion_matrices", "gradcam", "convolution_figure"} <= DRAWING_FUNCTIONS


@pytest.mark.parametrize("source, draws", [
    ("plots.training_curves(history)", True),
    ("if wrong.size:\n    display(plots.gradcam(model, face))", True),
    ("widgets.convolution_figure(face, kernel)", True),
    ("from ferkit.plots import show_images\nshow_images(images)", True),
    ("import matplotlib.pyplot as plt\nplt.plot([1, 2])", True),
    ("%matplotlib inline\nx = 1", True),
    ("heatmap = introspect.gradcam_heatmap(model, face)", False),
    ("print('plots.show_images(images)')  # plots.show_images", False),
    ('if colab:\n    %pip install --quiet ferkit\nprint(environment.describe())', False),
])
def test_figure_cells_are_recognised(source, draws):
    assert draws_a_figure(source) is draws


@pytest.mark.parametrize("alt, fine", [
    ("A bar chart of the images per emotion, one bar per split. Notice how unequal the classes are.", True),
    ("", False),
    ("../_images/3f2a9c.png", False),
    ("figure 1.png shows the curves of the run", False),
    ("Training curves.", False),
    ("Training curves of the run, where the selection accuracy reaches 0.61 at epoch 3.", False),
])
def test_alt_text_rules(alt, fine):
    assert (alt_text_problem(alt) is None) is fine


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_figure_cell_has_alt_text(path):
    """MyST-NB gives every image output of a cell the alt text in ``metadata.mystnb.image.alt``;
    without it the book's ``<img>`` says only its file name."""
    problems = []
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type != "code" or not draws_a_figure(cell.source):
            continue
        image_options = cell.metadata.get("mystnb", {}).get("image", {})
        problem = alt_text_problem(image_options.get("alt"))
        if problem:
            problems.append(f"{path.name}: code cell {index}: {problem}")
        if not all(isinstance(value, (str, int)) for value in image_options.values()):
            problems.append(f"{path.name}: code cell {index}: mystnb.image options must be strings")
    assert problems == []


# Each lesson is executed once in the suite, by the executed book build of tests/test_book.py
# (test_executed_book_builds_without_warnings: a failing cell fails the build;
# test_every_lesson_and_no_exercise_was_executed_within_budget: the per-lesson time budget).
