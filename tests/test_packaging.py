"""The installed package, as on Colab: a wheel of ferkit carries the records, the model and its card.

Builds the wheel from this checkout, installs it without dependencies into a fresh virtual
environment that borrows this environment's libraries (TensorFlow, NumPy, ...) instead of
reinstalling them, and reads the shipped records from there, outside the checkout.
"""

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(python, working folder)`` of a fresh environment with the wheel installed."""
    work = tmp_path_factory.mktemp("installed")
    source = work / "source"  # a copy, so that the build's own folders stay out of the checkout
    shutil.copytree(ROOT / "ferkit", source / "ferkit", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"),
                    str(source)], check=True, capture_output=True)
    (wheel,) = (work / "dist").glob("ferkit-*.whl")
    environment = work / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(environment)], check=True)
    python = environment / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheel)], check=True, capture_output=True)
    site_packages = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip()
    # This environment's libraries, after the new one's own site-packages (which holds ferkit).
    (Path(site_packages) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, work, wheel


def test_the_wheel_carries_records_model_and_card(installed):
    names = zipfile.ZipFile(installed[2]).namelist()
    assert "ferkit/records/bedi_cnn-fer2013.json" in names
    assert "ferkit/assets/reference_model.keras" in names and "ferkit/assets/reference_model.md" in names
    assert not any(name.startswith(("tools/", "tests/", "solutions/")) for name in names)


def test_an_installed_ferkit_finds_the_shipped_records_and_writes_runs_where_you_are(installed):
    python, work, _ = installed
    script = textwrap.dedent("""
        import ferkit
        from ferkit import runner
        record = runner.load_record("bedi_cnn", "fer2013")
        print(ferkit.__file__)
        print(record["location"], record["reported_split"], round(record["accuracy"], 4))
        print(runner.results_folder())
    """)
    result = subprocess.run([str(python), "-c", script], cwd=work, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(work)})
    assert result.returncode == 0, result.stderr
    package_file, found, results_folder = result.stdout.splitlines()
    assert package_file.startswith(str(work / "venv")), package_file  # the installed copy, not the checkout
    assert found.startswith("shipped with ferkit: bedi_cnn-fer2013.json public_test 0.47")
    assert results_folder == str(work / "results")
