"""The repository's address is one setting (tools/repository_url.py): _config.yml's repository.url.

The first tests check this checkout: every lesson, exercise, page and pyproject.toml names
the repository that _config.yml names. The others rewrite a temporary copy, never the
checkout itself.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import repository_url

ROOT = Path(__file__).resolve().parent.parent
FORK = "https://github.com/uni-example/fer-course"


def test_config_names_a_github_repository():
    repository = repository_url.configured(ROOT)
    assert repository.url.startswith("https://github.com/") and repository.branch


@pytest.mark.parametrize("folder", ["notebooks", "exercises", "solutions"])
def test_every_notebook_agrees_with_the_config(folder):
    problems = [problem for problem in repository_url.disagreements(ROOT) if problem.startswith(folder + "/")]
    notebooks = [path for path in repository_url.searched_files(ROOT) if path.parts[len(ROOT.parts)] == folder]
    assert notebooks, f"no notebook found in {folder}/"
    assert problems == [], "run `make repository-url` to rewrite them from _config.yml:\n" + "\n".join(problems)


def test_the_pages_and_pyproject_agree_with_the_config():
    problems = [problem for problem in repository_url.disagreements(ROOT)
                if not problem.startswith(("notebooks/", "exercises/", "solutions/"))]
    assert problems == [], "\n".join(problems)


def test_every_lesson_and_exercise_has_a_badge_and_the_install_line():
    repository = repository_url.configured(ROOT)
    for path in [*sorted((ROOT / "notebooks").glob("*.ipynb")), *sorted((ROOT / "exercises").glob("*/*.ipynb"))]:
        text = path.read_text()
        relative = path.relative_to(ROOT).as_posix()
        assert repository.colab(relative) in text, f"{relative}: no Colab badge opening itself"
        assert f"ferkit @ git+{repository.url}" in text, f"{relative}: no install line"


@pytest.fixture
def copy_of_course(tmp_path):
    """The files the tool searches, and _config.yml, copied to a temporary folder."""
    copy = tmp_path / "course"
    copy.mkdir()
    for name in ("notebooks", "exercises", "solutions", "book"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name in ("README.md", "pyproject.toml", "_config.yml"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def test_one_command_rewrites_every_place_of_a_fork(copy_of_course):
    old = repository_url.configured(ROOT)
    result = subprocess.run([sys.executable, "-m", "tools.repository_url", "--root", str(copy_of_course),
                             "--set", FORK, "--branch", "spring"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    fork = repository_url.configured(copy_of_course)
    assert (fork.url, fork.branch) == (FORK, "spring")
    assert repository_url.disagreements(copy_of_course) == []
    for path in repository_url.searched_files(copy_of_course):
        assert f"github.com/{old.owner}/{old.name}" not in path.read_text(), f"{path}: the old address is left"
    lesson = (copy_of_course / "notebooks" / "04_compact_cnn.ipynb").read_text()
    assert fork.colab("notebooks/04_compact_cnn.ipynb") in lesson
    assert f"ferkit @ git+{FORK}" in lesson
    assert f'Repository = "{FORK}"' in (copy_of_course / "pyproject.toml").read_text()
    setup_page = (copy_of_course / "book" / "setup.md").read_text()
    assert f"git clone {FORK}.git\ncd fer-course" in setup_page, "the clone line and the cd after it"
    # Only the addresses changed: the notebooks still parse, cell for cell.
    for name in ("notebooks/04_compact_cnn.ipynb", "solutions/a8_bedi_training/a8_bedi_training.ipynb"):
        before, after = nbformat.read(ROOT / name, as_version=4), nbformat.read(copy_of_course / name, as_version=4)
        assert [cell.id for cell in before.cells] == [cell.id for cell in after.cells]
        changed = [cell.id for cell, new in zip(before.cells, after.cells) if cell.source != new.source]
        assert 1 <= len(changed) <= 2, f"{name}: cells {changed} changed"


def test_the_released_exercises_keep_valid_nbgrader_checksums(copy_of_course):
    from nbgrader.utils import compute_checksum

    repository_url.set_configured(repository_url.parse_url(FORK), copy_of_course)
    repository_url.rewrite(copy_of_course)
    for path in sorted((copy_of_course / "exercises").glob("*/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        locked = [cell for cell in notebook.cells if "checksum" in cell.metadata.get("nbgrader", {})]
        assert locked, path
        stale = [cell.metadata.nbgrader["grade_id"] for cell in locked
                 if compute_checksum(cell) != cell.metadata.nbgrader["checksum"]]
        assert stale == [], f"{path.name}: Validate would report {stale} as edited"


def test_a_colab_link_without_dot_com_is_reported_then_repaired(copy_of_course):
    path = copy_of_course / "notebooks" / "04_compact_cnn.ipynb"
    path.write_text(path.read_text().replace("colab.research.google.com/github", "colab.research.google/github"))
    problems = repository_url.disagreements(copy_of_course)
    assert len(problems) == 1 and problems[0].startswith("notebooks/04_compact_cnn.ipynb:"), problems
    assert "colab.research.google/github" in problems[0], problems
    assert repository_url.rewrite(copy_of_course) == [path]
    assert repository_url.disagreements(copy_of_course) == []
    assert repository_url.rewrite(copy_of_course) == [], "a second run changes nothing"


def test_other_addresses_are_left_alone(copy_of_course):
    page = copy_of_course / "book" / "extra.md"
    text = ("See https://github.com/keras-team/keras and "
            "https://colab.research.google.com/github/keras-team/keras-io/blob/master/examples/demo.ipynb\n")
    page.write_text(text)
    problems = repository_url.disagreements(copy_of_course)
    assert problems == ["book/extra.md:1: the Colab link opens examples/demo.ipynb, which is not in the repository"]
    repository_url.rewrite(copy_of_course, repository_url.parse_url(FORK))
    assert page.read_text() == text


def test_a_url_that_colab_cannot_open_is_refused(copy_of_course):
    with pytest.raises(ValueError, match="--set: expected a GitHub repository URL"):
        repository_url.parse_url("https://gitlab.com/someone/ferkit", where="--set")
    config = copy_of_course / "_config.yml"
    config.write_text(config.read_text().replace("https://github.com/ferkit/ferkit", "https://example.org/ferkit"))
    with pytest.raises(ValueError, match=r"_config.yml, repository.url"):
        repository_url.configured(copy_of_course)
    result = subprocess.run([sys.executable, "-m", "tools.repository_url", "--root", str(copy_of_course), "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "expected a GitHub repository URL" in result.stderr


def test_check_exits_1_and_names_each_place(copy_of_course):
    path = copy_of_course / "exercises" / "a5_metrics_by_hand" / "a5_metrics_by_hand.ipynb"
    path.write_text(path.read_text().replace("git+https://github.com/ferkit/ferkit", "git+https://github.com/old/ferkit"))
    result = subprocess.run([sys.executable, "-m", "tools.repository_url", "--root", str(copy_of_course), "--check"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout
    assert "exercises/a5_metrics_by_hand/a5_metrics_by_hand.ipynb:" in result.stdout
    assert "https://github.com/old/ferkit (expected https://github.com/ferkit/ferkit)" in result.stdout
