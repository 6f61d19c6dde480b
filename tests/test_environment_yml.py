"""The hub image: environment.yml and postBuild, as repo2docker reads them.

repo2docker (Binder, Zero to JupyterHub) builds the course image from ``environment.yml``
and then runs ``postBuild``. What can be checked without building an image: the file
parses, it installs the packages pyproject.toml asks for (ferkit's dependencies and the
``course`` extra) plus JupyterLab, at the versions of constraints.txt, and ferkit itself;
postBuild is a valid bash script that switches off only extensions nbgrader really has.
"""

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HUB_PACKAGES = {"jupyterlab"}  # the hub's interface: not a dependency of ferkit, named on purpose


@pytest.fixture(scope="module")
def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def pip_lines(environment):
    sections = [entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict)]
    assert len(sections) == 1, "one pip section"
    return [str(line) for line in sections[0]]


def pinned(environment):
    """``{canonical name: version}`` of the pip section's ``name==version`` lines."""
    pins = {}
    for line in pip_lines(environment):
        if "==" in line:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier).removeprefix("==")
    return pins


def constraints():
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_it_parses_as_a_conda_environment_from_conda_forge(environment):
    assert environment["name"] == "ferkit"
    assert environment["channels"] == ["conda-forge"]
    conda = [entry for entry in environment["dependencies"] if isinstance(entry, str)]
    python = next(entry for entry in conda if entry.startswith("python"))
    assert re.fullmatch(r"python=3\.\d+", python), python
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python.split("=")[1] >= requires.removeprefix(">="), (python, requires)
    assert "pip" in conda


def test_it_lists_the_packages_of_pyproject_and_jupyterlab(environment):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {canonicalize_name(Requirement(line).name)
              for line in project["dependencies"] + project["optional-dependencies"]["course"]}
    listed = set(pinned(environment))
    assert listed == wanted | HUB_PACKAGES, (
        f"missing from environment.yml: {sorted(wanted | HUB_PACKAGES - listed)}; "
        f"not in pyproject.toml: {sorted(listed - wanted - HUB_PACKAGES)}"
    )


def test_the_pins_agree_with_constraints(environment):
    pins = constraints()
    disagree = {name: (version, pins.get(name)) for name, version in pinned(environment).items()
                if pins.get(name) != version}
    assert disagree == {}, f"environment.yml pin, constraints.txt pin: {disagree}"
    assert "-c constraints.txt" in pip_lines(environment), "the other packages follow constraints.txt too"


def test_it_installs_ferkit_with_the_course_extra_not_editable(environment):
    lines = pip_lines(environment)
    assert ".[course]" in lines, "ferkit itself, from the repository, with nbgrader and Jupyter Book"
    assert not any(line.startswith(("-e", "--editable")) for line in lines), \
        "an editable install breaks on a hub, where the users' home volume hides the image's copy"
    # repo2docker copies the whole repository before installing an environment with local
    # references (-c constraints.txt, .[course]); without them it would build from environment.yml alone.
    assert any(line.startswith(("-c", ".")) for line in lines)


def test_postbuild_is_an_executable_bash_script(environment):
    script = ROOT / "postBuild"
    assert os.access(script, os.X_OK), "repo2docker runs postBuild only when it is executable"
    assert script.read_text().startswith("#!/bin/bash\n")
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_postbuild_switches_off_only_extensions_nbgrader_has():
    import nbgrader

    text = (ROOT / "postBuild").read_text()
    panels = set(re.findall(r"for panel in ([\w -]+); do", text)[0].split())
    servers = set(re.findall(r"for extension in ([\w ]+); do", text)[0].split())
    assert panels == {"formgrader", "create-assignment", "course-list"}, "students keep the assignment list"
    extension = Path(nbgrader.__file__).parent / "labextension"
    assert json.loads((extension / "package.json").read_text())["name"] == "@jupyter/nbgrader"
    bundle = "".join(path.read_text(errors="ignore") for path in (extension / "static").glob("*.js"))
    plugins = set(re.findall(r'"@jupyter/nbgrader:([a-z-]+)"', bundle))
    assert {"assignment-list", "validate-assignment"} <= plugins, sorted(plugins)
    assert panels <= plugins, f"nbgrader has no lab plugin named {sorted(panels - plugins)}"
    for name in servers:
        __import__(f"nbgrader.server_extensions.{name}")
    assert 'c.CourseDirectory.course_id = "ferkit"' in text
    configured = re.search(r'c\.CourseDirectory\.course_id = "(\w+)"',
                           (ROOT / "nbgrader_config.py").read_text()).group(1)
    assert configured == "ferkit", "the hub's course id is the course's"
