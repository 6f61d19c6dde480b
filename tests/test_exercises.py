"""nbgrader exercises: solutions/ is the source, exercises/ the release, graded on a CPU.

Everything runs in temporary copies of the course (``nbgrader_config.py`` and
``solutions/``), so no gradebook, ``submitted/`` or ``autograded/`` folder is
left in the repository. nbgrader runs as ``sys.executable -m nbgrader``, so its
``python3`` kernel is this interpreter, with ferkit importable. One module
fixture generates the release once and starts three grading jobs in the
background, each in its own copy of the course: every assignment's solution and
untouched release are graded as two students (the assignments split over two
jobs), and the cheapest assignment also gets the adversarial students, with a
short cell timeout, then feedback and the CSV export. Two of the adversarial
students delegate answers to the library through a helper cell (scikit-learn in
``a5_metrics_by_hand``, ferkit in ``a3_mondal_models``): the hidden tests switch
those libraries off while an answer runs, so they score zero there and full marks
elsewhere. Meanwhile the Validator tests execute the source notebooks of the
exercises that train nothing in this process, so the two CPU cores of CI stay busy.

Regenerate the committed release after editing a source notebook with
``.venv/bin/python tests/test_exercises.py`` (see book/instructor_guide.md).
"""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import nbformat
import pytest
from conftest import HIDDEN_MARKERS, SOLUTION_MARKERS, solution_regions

ROOT = Path(__file__).resolve().parent.parent
# In the order of their numbers (a1, a2, ..., a10), as the book lists them.
ASSIGNMENTS = sorted(
    (folder.name for folder in (ROOT / "solutions").iterdir() if (folder / f"{folder.name}.ipynb").is_file()),
    key=lambda name: (int(re.match(r"a(\d+)_", name).group(1)) if re.match(r"a(\d+)_", name) else 0, name),
)
COURSE_ID = "ferkit"
# The adversarial submissions go to the cheapest assignment (NumPy and scikit-learn only).
ADVERSARIAL = "a5_metrics_by_hand"
# A second assignment whose hidden tests switch off ferkit itself (Mondal's builders).
DELEGATING_MODELS = "a3_mondal_models"
# Seconds per cell in the adversarial course: what the endless loop costs. The
# repository's nbgrader_config.py keeps its own, longer limit.
LOOP_TIMEOUT = 20
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# What a hidden test says when an answer called a library it switched off.
BLOCKED_MESSAGE = "this answer must do the work itself"

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------
# Running nbgrader in a copy of the course (also used to regenerate exercises/)
# ---------------------------------------------------------------------------

def nbgrader_environment():
    """The environment for nbgrader: this interpreter's bin folder first on PATH.

    nbgrader 0.9 runs the ``alembic`` command when it creates a gradebook; outside
    an activated virtual environment it is not found, and the first assignment
    fails. TF_CPP_MIN_LOG_LEVEL is removed, as on a grading server: the notebooks
    quiet TensorFlow themselves.
    """
    environment = os.environ.copy()
    environment["PATH"] = str(Path(sys.executable).parent) + os.pathsep + environment.get("PATH", "")
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return environment


def nbgrader_command(*arguments):
    return [sys.executable, "-m", "nbgrader", *arguments]


def copy_course(destination):
    """Copy the course's nbgrader_config.py and solutions/ to ``destination``; return it."""
    destination = Path(destination)
    destination.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", destination)
    shutil.copytree(ROOT / "solutions", destination / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    return destination


def generate_release(course):
    """Run ``nbgrader generate_assignment`` for every assignment in ``course``; return its exercises/."""
    result = subprocess.run(nbgrader_command("generate_assignment", "*", "--force"), cwd=course,
                            env=nbgrader_environment(), capture_output=True, text=True)
    if result.returncode != 0 or "ERROR" in result.stderr:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stderr[-5000:]}")
    return Path(course) / "exercises"


def regenerate_exercises():
    """Rewrite exercises/ with what nbgrader generates from solutions/ now (no gradebook is left behind)."""
    with tempfile.TemporaryDirectory() as temporary:
        release = generate_release(copy_course(Path(temporary) / "course"))
        target = ROOT / "exercises"
        for stale in target.iterdir() if target.exists() else []:
            if stale.is_dir() and stale.name not in ASSIGNMENTS:
                shutil.rmtree(stale)
        for name in ASSIGNMENTS:
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(release / name, target / name)
            print("regenerated", target / name)


# ---------------------------------------------------------------------------
# Notebooks: cells by role, and the submissions of the adversarial students
# ---------------------------------------------------------------------------

def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def cell_by_id(notebook, grade_id):
    matches = [cell for cell in notebook.cells if nbgrader_meta(cell).get("grade_id") == grade_id]
    assert len(matches) == 1, f"expected one cell {grade_id!r}, found {len(matches)}"
    return matches[0]


def graded_test_cell_ids(notebook):
    return [nbgrader_meta(cell)["grade_id"] for cell in notebook.cells
            if nbgrader_meta(cell).get("grade") and cell.cell_type == "code"]


def without_solution_markers(source):
    """A source answer as a good student writes it: the solution without nbgrader's delimiters."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


def filled_in(release, source):
    """The released notebook with every answer cell (code and written) answered as in the source."""
    answers = {nbgrader_meta(cell)["grade_id"]: cell.source for cell in source.cells
               if nbgrader_meta(cell).get("solution")}
    notebook = copy.deepcopy(release)
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = without_solution_markers(answers[nbgrader_meta(cell)["grade_id"]])
    return notebook


# The literal matrix of the visible test: passes it, and nothing else.
HARD_CODED_CONFUSION_MATRIX = '''
def confusion_matrix_by_hand(y_true, y_pred, num_classes=7):
    return np.array([[1, 0, 0, 0, 1, 0, 0],
                     [1, 0, 0, 0, 0, 0, 0],
                     [0, 0, 1, 0, 1, 0, 0],
                     [0, 0, 0, 5, 1, 0, 0],
                     [0, 0, 1, 0, 1, 0, 1],
                     [0, 0, 1, 0, 0, 1, 0],
                     [0, 0, 0, 1, 1, 0, 2]])
'''


# A helper cell a student adds after the setup: the answers reach scikit-learn through it,
# so their own source never names the library. Question 2 stays honest.
DELEGATING_HELPER = '''
import importlib


def library(name):
    return importlib.import_module(name)


def labels_from(confusion):
    """Rebuild (truth, prediction) label arrays from a confusion matrix."""
    confusion = np.asarray(confusion)
    rows, columns = np.nonzero(confusion)
    counts = confusion[rows, columns]
    return np.repeat(rows, counts), np.repeat(columns, counts)
'''

DELEGATING_CONFUSION_MATRIX = '''
def confusion_matrix_by_hand(y_true, y_pred, num_classes=7):
    return library("sklearn.metrics").confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))
'''

DELEGATING_ACCURACY = '''
def accuracy_and_macro_f1(confusion):
    truth, prediction = labels_from(confusion)
    metrics = library("sklearn.metrics")
    labels = np.arange(len(confusion))
    return (float(metrics.accuracy_score(truth, prediction)),
            float(metrics.f1_score(truth, prediction, labels=labels, average="macro", zero_division=0)))
'''

# The same trick with the course library: the shallow network is ferkit's own.
DELEGATING_MODELS_HELPER = '''
import ferkit.models as course_models


def network(name, *arguments):
    return getattr(course_models, name)(*arguments)
'''

DELEGATING_SHALLOW = '''
def build_mondal_shallow(input_shape=(48, 48, 1), num_classes=7):
    return network("mondal_shallow", input_shape, num_classes)
'''


def with_helper_cell(notebook, helper):
    """``notebook`` with ``helper`` as a new, unmarked code cell right after the setup cell."""
    index = next(i for i, cell in enumerate(notebook.cells) if nbgrader_meta(cell).get("grade_id") == "setup")
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(helper.strip()))
    return notebook


def delegating_submission(release, source):
    """A5 answered through scikit-learn in questions 1 and 3 (honest in 2), and the expected shares."""
    notebook = with_helper_cell(filled_in(release, source), DELEGATING_HELPER)
    cell_by_id(notebook, "confusion_matrix").source = DELEGATING_CONFUSION_MATRIX.strip()
    cell_by_id(notebook, "accuracy_macro_f1").source = DELEGATING_ACCURACY.strip()
    expected = {grade_id: 1.0 for grade_id in graded_test_cell_ids(source)}
    return notebook, {**expected, "confusion_matrix_tests": 0.0, "accuracy_macro_f1_tests": 0.0}


def delegating_models_submission(release, source):
    """A3 with the shallow network taken from ferkit.models (the two others honest), and the expected shares."""
    notebook = with_helper_cell(filled_in(release, source), DELEGATING_MODELS_HELPER)
    cell_by_id(notebook, "mondal_shallow").source = DELEGATING_SHALLOW.strip()
    expected = {grade_id: 1.0 for grade_id in graded_test_cell_ids(source)}
    return notebook, {**expected, "mondal_shallow_tests": 0.0}


def adversarial_submissions(release, source):
    """``{student: (notebook, {test cell: expected automatic score as a share of its points})}``."""
    good = filled_in(release, source)
    all_marks = {grade_id: 1.0 for grade_id in graded_test_cell_ids(source)}
    submissions = {}

    looping = copy.deepcopy(good)
    answer = cell_by_id(looping, "confusion_matrix")
    answer.source = "while True:  # a student's endless loop\n    pass\n" + answer.source
    submissions["infinite_loop"] = (looping, {**all_marks, "confusion_matrix_tests": 0.0})

    raising = copy.deepcopy(good)
    raising.cells.insert(0, nbformat.v4.new_code_cell('raise RuntimeError("a student broke the first cell")'))
    submissions["exception_at_top"] = (raising, all_marks)

    deleted = copy.deepcopy(good)
    deleted.cells = [cell for cell in deleted.cells if nbgrader_meta(cell).get("grade_id") != "precision_recall_f1_tests"]
    submissions["deleted_test_cell"] = (deleted, all_marks)

    edited = copy.deepcopy(good)
    cell_by_id(edited, "confusion_matrix").source = (
        "def confusion_matrix_by_hand(y_true, y_pred, num_classes=7):\n"
        "    return np.zeros((num_classes, num_classes), dtype=np.int64)\n"
    )
    cell_by_id(edited, "confusion_matrix_tests").source = 'print("All tests passed!")'
    submissions["edited_test_cell"] = (edited, {**all_marks, "confusion_matrix_tests": 0.0})

    hard_coded = copy.deepcopy(good)
    cell_by_id(hard_coded, "confusion_matrix").source = HARD_CODED_CONFUSION_MATRIX.strip()
    submissions["hard_coded"] = (hard_coded, {**all_marks, "confusion_matrix_tests": 0.0})

    submissions["delegating"] = delegating_submission(release, source)
    return submissions


def submit(course, student, assignment, notebook):
    folder = Path(course) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{assignment}.ipynb")


# ---------------------------------------------------------------------------
# The module fixture: generate once, grade in the background
# ---------------------------------------------------------------------------

class GradingJob:
    """nbgrader commands run one after the other in a course, in a background thread."""

    def __init__(self, course, commands):
        self.course, self.commands = Path(course), commands
        self.log_path = self.course / "grading.log"
        self.process, self.failed, self.stopped = None, None, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        with open(self.log_path, "w") as log:
            for command in self.commands:
                if self.stopped:
                    return
                log.write(f"$ {' '.join(command[2:])}\n")
                log.flush()
                self.process = subprocess.Popen(command, cwd=self.course, env=nbgrader_environment(),
                                                stdout=log, stderr=subprocess.STDOUT)
                if self.process.wait() != 0:
                    self.failed = " ".join(command[2:])
                    return

    def check(self):
        self.thread.join(timeout=900)
        assert not self.thread.is_alive(), f"grading in {self.course} ran for 15 minutes"
        assert self.failed is None, f"`{self.failed}` failed in {self.course}:\n{self.log_path.read_text()[-6000:]}"

    def stop(self):
        self.stopped = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # nbgrader shuts its kernel down; kill it if it does not
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.thread.join(timeout=60)


class Course:
    """A temporary course: its release, and the autograde runs started in the background.

    After ``generate_assignment`` the course is copied, with its gradebook, into
    three grading copies that autograde at the same time: the other assignments
    split in two halves (students ``solution`` and ``untouched``), and the
    adversarial assignment with ``solution``, ``untouched`` and the adversarial
    students, under the short cell timeout, followed there by ``generate_feedback``
    and ``export`` (grades to CSV). ``a3_mondal_models`` also gets the student who takes
    the shallow network from ferkit.
    """

    def __init__(self, root):
        self.root = Path(root)
        self.main = copy_course(self.root / "course")
        started = time.perf_counter()
        self.release = generate_release(self.main)
        self.generate_seconds = time.perf_counter() - started
        others = [name for name in ASSIGNMENTS if name != ADVERSARIAL]
        groups = {"grading_a": others[0::2], "grading_b": others[1::2], "adversarial": [ADVERSARIAL]}
        self.where = {}
        self.expected = {}
        for folder, names in groups.items():
            copy_of_course = self.root / folder
            shutil.copytree(self.main, copy_of_course)  # with its gradebook, which knows the assignments
            for name in names:
                self.where[name] = copy_of_course
                submit(copy_of_course, "solution", name, read(self.main / "solutions" / name / f"{name}.ipynb"))
                submit(copy_of_course, "untouched", name, read(self.release / name / f"{name}.ipynb"))
        self.adversarial = self.where[ADVERSARIAL]
        source = read(self.main / "solutions" / ADVERSARIAL / f"{ADVERSARIAL}.ipynb")
        release = read(self.release / ADVERSARIAL / f"{ADVERSARIAL}.ipynb")
        for student, (notebook, expected) in adversarial_submissions(release, source).items():
            submit(self.adversarial, student, ADVERSARIAL, notebook)
            self.expected[student] = expected
        notebook, self.expected_delegating_models = delegating_models_submission(
            read(self.release / DELEGATING_MODELS / f"{DELEGATING_MODELS}.ipynb"),
            read(self.main / "solutions" / DELEGATING_MODELS / f"{DELEGATING_MODELS}.ipynb"))
        submit(self.where[DELEGATING_MODELS], "delegating", DELEGATING_MODELS, notebook)
        self.started = time.perf_counter()
        self.jobs = []
        for folder in groups:
            commands = [nbgrader_command("autograde", "*")]
            if folder == "adversarial":
                commands = [
                    nbgrader_command("autograde", ADVERSARIAL, f"--Execute.timeout={LOOP_TIMEOUT}"),
                    nbgrader_command("generate_feedback", ADVERSARIAL),
                    nbgrader_command("export", "--to", "grades.csv"),
                ]
            self.jobs.append(GradingJob(self.root / folder, commands))
        self.finished = None

    def wait(self):
        """Wait for the grading jobs; fail with the log of one that failed."""
        for job in self.jobs:
            job.check()
        if self.finished is None:
            self.finished = time.perf_counter() - self.started
            print(f"\nnbgrader generate_assignment: {self.generate_seconds:.0f} s, "
                  f"grading (three jobs in the background): {self.finished:.0f} s")
        return self

    def stop(self):
        for job in self.jobs:
            job.stop()

    def grades(self, student, assignment):
        """``{grade_id: (cell type, auto_score, max_score)}`` from the gradebook that graded ``assignment``."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.where[assignment] / 'gradebook.db'}", COURSE_ID) as gradebook:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            return {grade.name: (grade.cell_type, grade.auto_score, grade.max_score) for grade in notebook.grades}

    def autograded(self, student, assignment):
        return read(self.where[assignment] / "autograded" / student / assignment / f"{assignment}.ipynb")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from ferkit.data import load_sample

    for split in ("train", "public_test", "private_test"):
        load_sample(split)  # fill the cache (FERKIT_CACHE) that the kernels share
    course = Course(tmp_path_factory.mktemp("nbgrader"))
    yield course
    course.stop()


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

def test_there_is_an_assignment_for_every_lesson_each_with_every_kind_of_cell():
    assert len(ASSIGNMENTS) >= 10, ASSIGNMENTS
    lessons = sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    covered = {re.search(r"\*\*Lesson:\*\* (\w+)", read(ROOT / "solutions" / name / f"{name}.ipynb").cells[0].source)
               .group(1) for name in ASSIGNMENTS}
    assert lessons and set(lessons) <= covered, f"lessons without an exercise: {sorted(set(lessons) - covered)}"
    for name in ASSIGNMENTS:
        notebook = read(ROOT / "solutions" / name / f"{name}.ipynb")
        roles = [nbgrader_meta(cell) for cell in notebook.cells]
        sources = [cell.source for cell in notebook.cells]
        answers = [meta for meta, cell in zip(roles, notebook.cells)
                   if meta.get("solution") and not meta.get("grade") and cell.cell_type == "code"]
        tests = [meta for meta, cell in zip(roles, notebook.cells) if meta.get("grade") and cell.cell_type == "code"]
        written = [meta for meta, cell in zip(roles, notebook.cells)
                   if meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown"]
        assert answers and tests and written, f"{name}: needs answer cells, test cells and a written answer"
        assert all(meta["points"] > 0 and meta["locked"] for meta in tests), name
        assert all(meta.get("schema_version") == 3 for meta in roles if meta), name
        for cell, meta in zip(notebook.cells, roles):
            if meta.get("solution"):
                assert all(marker in cell.source for marker in SOLUTION_MARKERS), f"{name}: {meta['grade_id']}"
            if meta.get("grade") and cell.cell_type == "code":
                assert all(marker in cell.source for marker in HIDDEN_MARKERS), f"{name}: {meta['grade_id']}"
        assert notebook.metadata.kernelspec.name == "python3", name
        assert all(cell.outputs == [] for cell in notebook.cells if cell.cell_type == "code"), name
        assert any("load_sample" in source or "from ferkit" in source for source in sources), name
        points = sum(meta["points"] for meta in roles if meta.get("grade"))
        automatic = sum(meta["points"] for meta, cell in zip(roles, notebook.cells)
                        if meta.get("grade") and cell.cell_type == "code")
        header = f"**Points:** {points} ({automatic} graded automatically, {points - automatic} by your instructor)"
        assert header in sources[0], f"{name}: the first cell should say {header!r}"


def hidden_regions(source):
    """The text of every hidden-test region of a cell's source."""
    return re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", source, flags=re.S)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_written_answer_has_a_rubric_for_its_points(name):
    notebook = read(ROOT / "solutions" / name / f"{name}.ipynb")
    written = [cell for cell in notebook.cells if cell.cell_type == "markdown" and nbgrader_meta(cell).get("grade")]
    assert written, name
    for cell in written:
        solution = cell.source.split(SOLUTION_MARKERS[0], 1)[1].split(SOLUTION_MARKERS[1], 1)[0]
        points = nbgrader_meta(cell)["points"]
        rubric = re.search(r"\*\*Rubric \((\d+) points?\)\.\*\*(.*)", solution, flags=re.S)
        assert rubric, f"{name}: {nbgrader_meta(cell)['grade_id']} has no '**Rubric (n points).**' in its solution"
        assert int(rubric.group(1)) == points, f"{name}: the rubric gives {rubric.group(1)} points, the cell {points}"
        awarded = [int(found) for found in re.findall(r"(\d+) points?:", rubric.group(2))]
        assert sum(awarded) == points, f"{name}: the rubric's parts add up to {sum(awarded)}, not {points}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_hidden_tests_are_seeded_and_block_the_library(name):
    """A regrade gives the same mark, and every graded test runs the answers with libraries switched off."""
    notebook = read(ROOT / "solutions" / name / f"{name}.ipynb")
    tests = [cell for cell in notebook.cells if cell.cell_type == "code" and nbgrader_meta(cell).get("grade")]
    first = hidden_regions(tests[0].source)
    assert first and "def calls_blocked(" in first[0] and tests[0].source.startswith(HIDDEN_MARKERS[0]), \
        f"{name}: the first test cell should open with the hidden calls_blocked guard"
    for cell in tests:
        hidden = "\n".join(hidden_regions(cell.source))
        grade_id = nbgrader_meta(cell)["grade_id"]
        assert "with calls_blocked(" in hidden, f"{name}: {grade_id} never runs an answer with the libraries off"
        assert not re.search(r"default_rng\(\s*\)", hidden), f"{name}: {grade_id} draws unseeded random inputs"
        assert "np.random.rand" not in hidden and "random.random()" not in hidden, f"{name}: {grade_id}"


# The Validator executes a notebook as the students' Validate button does. It runs here on the
# exercises that train nothing; the others' solutions run the same tests when they are
# autograded to full marks (test_source_autogrades_to_full_automatic_marks), and executing
# them twice would cost CI minutes for no new check.
VALIDATED = [name for name in ASSIGNMENTS if name.startswith(("a1_", "a2_", "a5_", "a7_"))]


@pytest.mark.parametrize("name", VALIDATED)
def test_source_notebook_validates(name, course):
    """nbgrader's Python Validator (the CLI exits 0 even when a notebook fails)."""
    from nbgrader.validator import Validator
    from traitlets.config import Config

    config = Config()
    config.Execute.timeout = 300  # a limit for a loaded machine, not a speed requirement
    started = time.perf_counter()
    results = Validator(config=config).validate(str(course.main / "solutions" / name / f"{name}.ipynb"))
    assert results == {}, json.dumps(results, indent=1)[:6000]
    print(f"{name}: validated in {time.perf_counter() - started:.0f} s")


def notebook_content(path):
    """A notebook as a plain dict, with the fields nbgrader rewrites on every run removed (none so far)."""
    return json.loads(json.dumps(read(path)))


def test_exercises_are_exactly_what_nbgrader_generates(course):
    committed = ROOT / "exercises"
    generated_files = sorted(path.relative_to(course.release) for path in course.release.rglob("*") if path.is_file())
    committed_files = sorted(path.relative_to(committed) for path in committed.rglob("*")
                             if path.is_file() and ".ipynb_checkpoints" not in path.parts)
    hint = "run `.venv/bin/python tests/test_exercises.py` to regenerate exercises/ from solutions/"
    assert committed_files == generated_files, f"exercises/ has other files than the release: {hint}"
    for relative in generated_files:
        if relative.suffix != ".ipynb":
            assert (committed / relative).read_bytes() == (course.release / relative).read_bytes(), hint
            continue
        ours, theirs = notebook_content(committed / relative), notebook_content(course.release / relative)
        assert ours["metadata"] == theirs["metadata"], f"{relative}: notebook metadata differs: {hint}"
        assert len(ours["cells"]) == len(theirs["cells"]), f"{relative}: cells added or removed: {hint}"
        for index, (mine, fresh) in enumerate(zip(ours["cells"], theirs["cells"])):
            assert mine == fresh, f"{relative}, cell {index} differs from a fresh release: {hint}"


def released_lines(path):
    """Every line of a released file; for notebooks, of the cell sources and outputs."""
    if path.suffix != ".ipynb":
        return {line.strip() for line in path.read_text(errors="replace").splitlines()}
    notebook = read(path)
    texts = [cell.source for cell in notebook.cells]
    texts += [json.dumps(cell.get("outputs", [])) for cell in notebook.cells]
    return {line.strip() for text in texts for line in text.splitlines()}


def test_exercises_hold_no_solution_and_no_hidden_test():
    files = [path for path in (ROOT / "exercises").rglob("*") if path.is_file()]
    assert files, "exercises/ is empty"
    for path in files:
        text = path.read_text(errors="replace")
        for marker in MARKERS:
            assert marker not in text, f"{path}: {marker!r} was released"
    released = set().union(*(released_lines(path) for path in files))
    regions = {name: solution_regions(read(ROOT / "solutions" / name / f"{name}.ipynb")) for name in ASSIGNMENTS}
    # A line that some source notebook shows openly (a layer in a given model, say) is no secret.
    public = set().union(*(public_lines for _secret, public_lines in regions.values()))
    for name, (secret, _public) in regions.items():
        secrets = {line for line in secret - public if len(line) >= 12 and not line.startswith("#")}
        assert len(secrets) > 20, f"{name}: the leak check found too few solution lines to mean anything"
        leaked = sorted(secrets & released)
        assert not leaked, f"{name}: solution or hidden-test lines released: {leaked[:5]}"


def error_outputs(cell):
    return [output for output in cell.get("outputs", []) if output.output_type == "error"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_autogrades_to_full_automatic_marks(name, course):
    grades = course.wait().grades("solution", name)
    automatic = {grade_id: (score, points) for grade_id, (kind, score, points) in grades.items() if kind == "code"}
    assert automatic and all(score == points for score, points in automatic.values()), automatic
    written = [grade_id for grade_id, (kind, score, points) in grades.items() if kind == "markdown"]
    assert written and all(grades[grade_id][1] is None for grade_id in written), "written answers need a human"
    # A correct answer that scores 0 because `import ferkit` failed in autograded/ is a known trap.
    notebook = course.autograded("solution", name)
    failing = [index for index, cell in enumerate(notebook.cells) if error_outputs(cell)]
    assert not failing, f"cells {failing} raised under autograde"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_untouched_release_autogrades_to_zero(name, course):
    grades = course.wait().grades("untouched", name)
    assert grades and all(score == 0 for kind, score, points in grades.values()), grades
    setup = cell_by_id(course.autograded("untouched", name), "setup")
    assert not error_outputs(setup), "the setup cell itself failed"


def test_delegating_answers_score_zero_there_and_full_marks_elsewhere(course):
    """The helper-cell delegations pass the visible tests, and fail only by the hidden tests' block."""
    course.wait()
    for student, assignment, expected in (("delegating", ADVERSARIAL, course.expected["delegating"]),
                                          ("delegating", DELEGATING_MODELS, course.expected_delegating_models)):
        grades = course.grades(student, assignment)
        scores = {grade_id: grades[grade_id][1] / grades[grade_id][2] for grade_id in expected}
        assert scores == expected, f"{assignment}, {student}: {scores}"
        notebook = course.autograded(student, assignment)
        for grade_id, share in expected.items():
            errors = error_outputs(cell_by_id(notebook, grade_id))
            if share == 0:
                assert errors and BLOCKED_MESSAGE in errors[0].evalue, f"{assignment} {grade_id}: {errors}"
            else:
                assert not errors, f"{assignment} {grade_id} failed: {errors}"


def test_delegating_answers_pass_the_visible_tests(monkeypatch):
    """So that only the run-time block, not a visible example, catches them."""
    from IPython.core.inputtransformer2 import TransformerManager

    release = read(ROOT / "exercises" / ADVERSARIAL / f"{ADVERSARIAL}.ipynb")
    namespace = {}
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    with warnings.catch_warnings():
        exec(TransformerManager().transform_cell(cell_by_id(release, "setup").source), namespace)
    for code in (DELEGATING_HELPER, DELEGATING_CONFUSION_MATRIX, DELEGATING_ACCURACY):
        exec(code, namespace)
    for grade_id in ("confusion_matrix_tests", "accuracy_macro_f1_tests"):
        exec(cell_by_id(release, grade_id).source, namespace)


def test_adversarial_submissions_are_graded_without_crashing_the_batch(course):
    course.wait()
    graded = sorted(path.name for path in (course.adversarial / "autograded").iterdir())
    assert graded == sorted([*course.expected, "solution", "untouched"]), graded
    for student, expected in course.expected.items():
        grades = course.grades(student, ADVERSARIAL)
        scores = {grade_id: grades[grade_id][1] / grades[grade_id][2] for grade_id in expected}
        assert scores == expected, f"{student}: {scores}"


def test_endless_loop_is_interrupted_and_the_rest_still_runs(course):
    notebook = course.wait().autograded("infinite_loop", ADVERSARIAL)
    assert error_outputs(cell_by_id(notebook, "confusion_matrix")), "the looping cell should end in an error"
    assert not error_outputs(cell_by_id(notebook, "precision_recall_f1_tests"))


def test_deleted_test_cell_is_restored_with_its_hidden_tests(course):
    notebook = course.wait().autograded("deleted_test_cell", ADVERSARIAL)
    restored = cell_by_id(notebook, "precision_recall_f1_tests")
    assert "was missing from the submission" in restored.source
    assert "BEGIN HIDDEN TESTS" in restored.source and "precision_recall_fscore_support" in restored.source


def test_edited_test_cell_is_replaced_by_the_instructors(course):
    notebook = course.wait().autograded("edited_test_cell", ADVERSARIAL)
    tests = cell_by_id(notebook, "confusion_matrix_tests")
    assert "All tests passed!" not in tests.source and "BEGIN HIDDEN TESTS" in tests.source
    assert error_outputs(tests), "the restored tests catch the wrong answer"


def test_hard_coded_answer_passes_the_visible_tests_but_not_the_hidden_ones(course, monkeypatch):
    from IPython.core.inputtransformer2 import TransformerManager

    release = read(ROOT / "exercises" / ADVERSARIAL / f"{ADVERSARIAL}.ipynb")
    namespace = {}
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))  # restored afterwards
    with warnings.catch_warnings():  # the setup cell silences warnings: not in this process
        exec(TransformerManager().transform_cell(cell_by_id(release, "setup").source), namespace)
    exec(HARD_CODED_CONFUSION_MATRIX, namespace)
    exec(cell_by_id(release, "confusion_matrix_tests").source, namespace)  # the visible tests pass
    grades = course.wait().grades("hard_coded", ADVERSARIAL)
    assert grades["confusion_matrix_tests"][1] == 0, "the hidden tests should catch the hard-coded matrix"


def test_feedback_is_written_for_every_student_without_the_hidden_tests(course):
    course.wait()
    students = [*course.expected, "solution", "untouched"]
    for student in students:
        page = course.adversarial / "feedback" / student / ADVERSARIAL / f"{ADVERSARIAL}.html"
        assert page.is_file(), f"no feedback for {student}"
        html = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in html, f"{student}: hidden tests in the feedback"
        # An import that only the (passing) hidden tests of question 2 make.
        assert "precision_recall_fscore_support" not in html, f"{student}: hidden tests in the feedback"


def test_grades_export_to_csv(course):
    import pandas as pd

    grades = pd.read_csv(course.wait().adversarial / "grades.csv")
    rows = grades[grades["assignment"] == ADVERSARIAL].set_index("student_id")
    assert set(rows.index) == {*course.expected, "solution", "untouched"}
    points = sum(points for kind, score, points in course.grades("solution", ADVERSARIAL).values())
    assert (rows["max_score"] == points).all()
    automatic = sum(points for kind, score, points in course.grades("solution", ADVERSARIAL).values() if kind == "code")
    assert rows.loc["solution", "score"] == automatic, "the written answer awaits manual grading"
    assert rows.loc["untouched", "score"] == 0
    assert rows.loc["hard_coded", "score"] == automatic - 3
    assert rows.loc["delegating", "score"] == automatic - 3 - 2, "questions 1 (3 points) and 3 (2) delegated"


if __name__ == "__main__":
    regenerate_exercises()
