"""The GitHub Pages workflow (.github/workflows/book.yml) publishes what the README's command builds.

What can be checked without GitHub: the file parses as YAML; it runs on pushes to main and by
hand; it builds with exactly the README's book command (``make course``, read from the README)
on Python 3.11, after checking the repository out; it uploads the folder the README says that
command writes (``_build/html``) as the Pages artifact; and a separate job deploys that
artifact with the permissions and environment GitHub Pages requires.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
README = (ROOT / "README.md").read_text()


def readme_book_command() -> str:
    """The command the README's "The two commands" block gives for building the book."""
    block = re.search(r"## The two commands.*?```bash\n(.*?)```", README, re.DOTALL)
    assert block, "README.md: no bash block under '## The two commands'"
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    book = [command for command in commands if command.startswith("make course")]
    assert len(book) == 1, f"README.md: expected one 'make course' command, found {book}"
    return book[0]


def readme_book_folder() -> str:
    """The folder the README says ``make course`` writes the book to (``_build/html``)."""
    found = re.search(r"`make course` prints the\s+path of the built book, `([^`]+)/index\.html`", README)
    assert found, "README.md: no sentence saying where make course writes the book"
    return found.group(1)


@pytest.fixture(scope="module")
def workflow():
    assert WORKFLOW.is_file(), f"no workflow file at {WORKFLOW.relative_to(ROOT)}"
    parsed = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(parsed, dict) and "jobs" in parsed, f"{WORKFLOW.name}: not a workflow"
    return parsed


def steps_using(job, action):
    """The steps of ``job`` that use ``action`` (e.g. ``actions/checkout``), any version."""
    return [step for step in job.get("steps", []) if str(step.get("uses", "")).split("@")[0] == action]


def job_using(workflow, action):
    jobs = [name for name, job in workflow["jobs"].items() if steps_using(job, action)]
    assert len(jobs) == 1, f"expected one job using {action}, found {jobs}"
    return jobs[0], workflow["jobs"][jobs[0]]


def test_readme_names_the_book_command_and_folder():
    assert readme_book_command() == "make course"
    assert readme_book_folder() == "_build/html"
    assert re.search(r"^course:", (ROOT / "Makefile").read_text(), re.MULTILINE), "Makefile: no course target"


def test_workflow_runs_on_pushes_to_main_and_by_hand(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "main" in triggers["push"]["branches"]
    assert "workflow_dispatch" in triggers


def test_build_job_runs_the_readme_command_on_python_311(workflow):
    _, build = job_using(workflow, "actions/upload-pages-artifact")
    steps = build["steps"]
    runs = [index for index, step in enumerate(steps) if str(step.get("run", "")).strip() == readme_book_command()]
    assert len(runs) == 1, f"the build job should run exactly {readme_book_command()!r} once, found steps {runs}"
    checkout, python = steps_using(build, "actions/checkout"), steps_using(build, "actions/setup-python")
    assert len(checkout) == 1 and len(python) == 1
    assert str(python[0]["with"]["python-version"]) == "3.11"
    assert steps.index(checkout[0]) < steps.index(python[0]) < runs[0], "check out and set up Python first"
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), f"unpinned action: {step['uses']}"


def test_build_job_uploads_the_built_book(workflow):
    _, build = job_using(workflow, "actions/upload-pages-artifact")
    upload = steps_using(build, "actions/upload-pages-artifact")[0]
    assert upload["with"]["path"] == readme_book_folder()
    runs = [index for index, step in enumerate(build["steps"]) if step.get("run", "").strip() == readme_book_command()]
    assert build["steps"].index(upload) > runs[0], "the artifact is uploaded after the book is built"


def test_deploy_job_has_the_pages_permissions(workflow):
    build_name, _ = job_using(workflow, "actions/upload-pages-artifact")
    _, deploy = job_using(workflow, "actions/deploy-pages")
    needs = deploy.get("needs")
    assert build_name in ([needs] if isinstance(needs, str) else needs), "deploy must wait for the build"
    permissions = {**workflow.get("permissions", {}), **deploy.get("permissions", {})}
    assert permissions.get("pages") == "write" and permissions.get("id-token") == "write", permissions
    assert permissions.get("contents") in (None, "read"), "the workflow needs no write access to the code"
    assert deploy["environment"]["name"] == "github-pages"
    deploy_step = steps_using(deploy, "actions/deploy-pages")[0]
    assert deploy["environment"]["url"] == f"${{{{ steps.{deploy_step['id']}.outputs.page_url }}}}"
