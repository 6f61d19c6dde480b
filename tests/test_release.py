"""The student edition (tools/student_release.py, `make student-release`): the course without its secrets.

Each test writes the edition into a temporary folder and greps it: the lessons, the book's
sources, the released exercises and the library are there; the solutions, the gradebook,
students' work and every line of the hidden tests and solutions are not; and every badge
opens the students' repository.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import solution_regions

from tools import repository_url, student_release

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = "https://github.com/example-school/ferkit-students"


def secret_and_public_lines():
    """``(secret, public)``: stripped lines inside solution or hidden-test regions of solutions/, and the others."""
    secret, public = set(), set()
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        notebook_secret, notebook_public = solution_regions(nbformat.read(path, as_version=4))
        secret |= notebook_secret
        public |= notebook_public
    return secret, public


def course_material_lines():
    """Every line of the public material the instructors' repository holds: the library, lessons and book."""
    lines = set()
    for path in [*(ROOT / "ferkit").rglob("*.py"), *(ROOT / "book").glob("*.md")]:
        lines |= {line.strip() for line in path.read_text().splitlines()}
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        lines |= {line.strip() for cell in nbformat.read(path, as_version=4).cells for line in cell.source.splitlines()}
    return lines


def distinctive_secrets():
    """Solution and hidden-test lines that no public part of the course shows (the library may implement an
    exercise's answer: lesson 06 uses ferkit.augment.ten_crop), long enough that finding one means a leak."""
    secret, public = secret_and_public_lines()
    return {line for line in secret - public - course_material_lines() if len(line) >= 16 and not line.startswith("#")}


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    destination = tmp_path_factory.mktemp("release") / "ferkit-students"
    student_release.write_student_release(destination, PUBLIC)
    return destination


def files_of(folder):
    return [path for path in sorted(folder.rglob("*")) if path.is_file()]


def test_the_edition_holds_the_lessons_the_book_the_exercises_and_the_library(edition):
    lessons = sorted(path.name for path in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(path.name for path in (edition / "notebooks").glob("*.ipynb")) == lessons
    exercises = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "exercises").glob("*/*.ipynb"))
    assert sorted(path.relative_to(edition).as_posix() for path in (edition / "exercises").glob("*/*.ipynb")) \
        == exercises
    assert sorted(path.name for path in (edition / "book").glob("*.md")) == \
        sorted(path.name for path in (ROOT / "book").glob("*.md"))
    for name in ("_config.yml", "_toc.yml", "references.bib", "pyproject.toml", "constraints.txt",
                 "environment.yml", "postBuild", "README.md", ".gitignore"):
        assert (edition / name).is_file(), name
    assert (edition / "ferkit" / "__init__.py").is_file() and (edition / "ferkit" / "assets").is_dir()
    assert not list(edition.rglob("__pycache__")) and not list(edition.rglob(".ipynb_checkpoints"))


def test_no_solution_no_gradebook_no_instructor_tool(edition):
    names = {part for path in edition.rglob("*") for part in path.relative_to(edition).parts}
    for name in ("solutions", "gradebook.db", "nbgrader_config.py", "submitted", "autograded", "feedback", "tests",
                 "tools", ".git"):
        assert name not in names, f"{name} is in the student edition"


def test_no_hidden_test_or_solution_text_anywhere(edition):
    secrets = distinctive_secrets()
    assert len(secrets) > 200, "the grep found too few secret lines to mean anything"
    assert "def calls_blocked(*names):" in secrets, "the hidden tests' own helper is among the lines looked for"
    for path in files_of(edition):
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if path.suffix in (".ipynb", ".py"):  # the instructor guide may name the markers, a notebook never
            for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
                assert marker not in text, f"{path.relative_to(edition)}: {marker!r}"
        lines = {line.strip() for line in text.splitlines()}
        if path.suffix == ".ipynb":
            notebook = nbformat.reads(text, as_version=4)
            lines |= {line.strip() for cell in notebook.cells for line in cell.source.splitlines()}
        leaked = sorted(secrets & lines)
        assert not leaked, f"{path.relative_to(edition)} holds hidden-test or solution lines: {leaked[:3]}"


def test_every_badge_opens_the_students_repository(edition):
    repository = repository_url.configured(edition)
    assert (repository.url, repository.branch) == (PUBLIC, "main")
    assert repository_url.disagreements(edition) == []
    for path in [*sorted((edition / "notebooks").glob("*.ipynb")), *sorted((edition / "exercises").glob("*/*.ipynb"))]:
        text = path.read_text()
        relative = path.relative_to(edition).as_posix()
        assert repository.colab(relative) in text and f"ferkit @ git+{PUBLIC}" in text, relative
    instructors = repository_url.configured(ROOT)
    everything = "\n".join(path.read_text(errors="ignore") for path in files_of(edition) if path.suffix != ".keras")
    assert f"github.com/{instructors.owner}/{instructors.name}" not in everything.replace(PUBLIC, "")
    assert f"git clone {PUBLIC}.git" in (edition / "README.md").read_text()


def test_a_destination_that_holds_files_is_refused_and_left_alone(tmp_path):
    destination = tmp_path / "students"
    destination.mkdir()
    (destination / "notes.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match=r"students: the folder already holds 1 entry \(notes.txt\)"):
        student_release.write_student_release(destination, PUBLIC)
    assert [path.name for path in destination.iterdir()] == ["notes.txt"]
    assert (destination / "notes.txt").read_text() == "my notes"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["students"], "no staging folder left behind"
    result = subprocess.run([sys.executable, "-m", "tools.student_release", str(destination),
                             "--repository-url", PUBLIC], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "already holds 1 entry" in result.stderr, result.stderr
    (tmp_path / "a-file").write_text("")
    with pytest.raises(FileExistsError, match="a file is in the way"):
        student_release.write_student_release(tmp_path / "a-file", PUBLIC)


def test_a_url_colab_cannot_open_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="--repository-url: expected a GitHub repository URL"):
        student_release.write_student_release(tmp_path / "students", "https://gitlab.com/school/ferkit")
    assert not (tmp_path / "students").exists()
    result = subprocess.run([sys.executable, "-m", "tools.student_release", str(tmp_path / "students")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "--repository-url" in result.stderr


def test_grading_work_beside_the_course_never_reaches_the_edition(tmp_path):
    """A course that is being graded (gradebook, submissions) and a release that would leak are both handled."""
    course = tmp_path / "course"
    course.mkdir()
    for name in student_release.COPIED:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, course / name)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    (course / "gradebook.db").write_text("grades")
    (course / "submitted" / "alice" / "a1_convolution").mkdir(parents=True)
    (course / "submitted" / "alice" / "a1_convolution" / "a1_convolution.ipynb").write_text("{}")
    edition = student_release.write_student_release(tmp_path / "clean", PUBLIC, root=course)
    assert not (edition / "gradebook.db").exists() and not (edition / "submitted").exists()
    # An exercise that still holds a hidden test (a release made by hand, say) stops the edition.
    exercise = course / "exercises" / "a5_metrics_by_hand" / "a5_metrics_by_hand.ipynb"
    exercise.write_text(exercise.read_text().replace("Visible tests passed.", "### BEGIN HIDDEN TESTS", 1))
    with pytest.raises(RuntimeError, match=r"a5_metrics_by_hand.ipynb: holds 'BEGIN HIDDEN TESTS'"):
        student_release.write_student_release(tmp_path / "leaky", PUBLIC, root=course)
    assert not (tmp_path / "leaky").exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".student-release-")]


def test_make_target_refuses_without_its_arguments():
    result = subprocess.run(["make", "--no-print-directory", "student-release"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode != 0 and re.search(r"usage: make student-release DEST=.* URL=", result.stderr)
