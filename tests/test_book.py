"""The book (Jupyter Book 1.x): builds without warnings, publishes what it should, works in a browser.

Two builds, each made once per test run, into temporary folders:

* ``unexecuted_book``: ``_config.yml`` with ``execute_notebooks: "off"`` (the committed
  notebooks have no outputs), so it takes seconds. It checks the warnings, the table of
  contents, what is and is not published, the references, the glossary and the buttons.
  ``test_config_executes_every_lesson_and_no_exercise`` checks the execution settings
  that this build switches off.
* ``executed_book``: ``_config.yml`` exactly as ``make course`` uses it, so every lesson
  runs (several minutes on 2 CPU cores; marked ``slow``). Headless Chromium opens its
  pages: every page loads, every image loads, no internal link is broken, each lesson
  shows its executed output; screenshots go to ``test-artifacts/``. To check a build made
  beforehand instead (``make course`` writes ``_build/html``), set
  ``FERKIT_BOOK_HTML=_build/html``.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs
them when it runs as root) and the ``selenium`` package; they skip, saying so, without them.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pytest
from conftest import headless_chromium, solution_regions
import yaml

from tools import course

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
LESSONS = sorted(path.relative_to(ROOT).with_suffix("").as_posix() for path in (ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((path.relative_to(ROOT).with_suffix("").as_posix() for path in (ROOT / "exercises").glob("*/*.ipynb")),
                   key=lambda name: int(re.search(r"exercises/a(\d+)_", name).group(1)))
# Remote images the book may show although it is read offline: the "Open in Colab"
# badges at the top of the lessons and exercises (they link to Colab anyway).
ALLOWED_REMOTE_IMAGE_HOSTS = {"colab.research.google.com"}
BUILD_TIMEOUT_SECONDS = {"off": 600, "force": 3600}
# A guard against a lesson that runs away, not a speed measurement (as in test_notebooks.py).
LESSON_BUDGET_SECONDS = 300


def toc_files(toc=TOC):
    """Every page of ``_toc.yml`` in reading order, as paths without suffix ("book/intro")."""
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return files


def build_book(output: Path, execute_notebooks: str):
    """Build the book into ``output/_build/html`` with ``execute_notebooks`` overridden.

    Runs ``make course``'s own command (:func:`tools.course.book_command`: any warning fails
    it) with a copy of ``_config.yml`` in ``output``. Returns ``(html_folder, returncode, log,
    seconds)``.
    """
    output.mkdir(parents=True, exist_ok=True)
    config_path = course.write_config(output / "_config.yml", execute_notebooks)
    command = course.book_command(ROOT, output, config=config_path)
    if not Path(command[0]).exists():
        pytest.skip("jupyter-book is not installed: pip install -c constraints.txt -e '.[course]'")
    started = time.perf_counter()
    process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                             timeout=BUILD_TIMEOUT_SECONDS[execute_notebooks])
    seconds = time.perf_counter() - started
    log = process.stdout + process.stderr
    (output / "build.log").write_text(log)
    return output / "_build" / "html", process.returncode, log, seconds


def built_cleanly(code, log):
    """True when Sphinx reported a build with no warning at all.

    With ``--warningiserror --keep-going`` any warning makes the exit code non-zero, and
    Sphinx ends a clean build with exactly "build succeeded." (otherwise "build succeeded,
    N warnings." or "build finished with problems"). The log also holds the kernels' own
    stderr (TensorFlow's start-up lines), which are not book warnings.
    """
    return code == 0 and re.search(r"^build succeeded\.$", re.sub(r"\x1b\[[0-9;]*m", "", log), re.MULTILINE)


def page_path(html: Path, name: str) -> Path:
    return html / f"{name}.html"


@pytest.fixture(scope="module")
def unexecuted_book(tmp_path_factory):
    html, code, log, seconds = build_book(tmp_path_factory.mktemp("book-unexecuted"), "off")
    print(f"unexecuted book built in {seconds:.1f} s")
    return {"html": html, "code": code, "log": log}


@pytest.fixture(scope="module")
def executed_book(tmp_path_factory):
    existing = os.environ.get("FERKIT_BOOK_HTML")
    if existing:  # an executed build made beforehand, e.g. `FERKIT_BOOK_HTML=_build/html` after `make course`
        html = Path(existing).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"FERKIT_BOOK_HTML={existing!r}: expected a built book there, found no index.html")
        return {"html": html, "code": None, "log": None}
    html, code, log, seconds = build_book(tmp_path_factory.mktemp("book-executed"), "force")
    print(f"executed book built in {seconds:.1f} s")
    return {"html": html, "code": code, "log": log}


# ---------------------------------------------------------------------------
# Configuration and table of contents (no build)
# ---------------------------------------------------------------------------

def test_toc_lists_every_lesson_and_exercise_in_order():
    files = toc_files()
    assert files[0] == "book/intro"
    assert [f for f in files if f.startswith("notebooks/")] == LESSONS
    assert [f for f in files if f.startswith("exercises/")] == EXERCISES
    assert len(EXERCISES) == 10 and len(LESSONS) == 9
    for name in files:
        assert any((ROOT / name).with_suffix(suffix).is_file() for suffix in (".md", ".ipynb")), name
    assert len(files) == len(set(files)), "a page is listed twice"


def test_config_executes_every_lesson_and_no_exercise():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "force", "a cached run must never be published as a real run"
    assert execute["raise_on_error"] is True and execute["allow_errors"] is False
    patterns = execute["exclude_patterns"]

    def excluded(name):  # as myst-nb matches them: PurePosixPath(absolute path).match(pattern)
        path = PurePosixPath((ROOT / f"{name}.ipynb").as_posix())
        return any(path.match(pattern) for pattern in patterns)

    assert [name for name in LESSONS if excluded(name)] == []
    assert [name for name in EXERCISES if not excluded(name)] == []


def test_config_never_publishes_private_folders():
    assert CONFIG["only_build_toc_files"] is True
    for folder in ("solutions", "submitted", "autograded", "feedback", "release", ".venv", "_build"):
        assert f"{folder}/*" in CONFIG["exclude_patterns"], folder
    assert not any(name.startswith(("solutions/", "submitted/", "autograded/")) for name in toc_files())


def test_title_author_copyright_and_launch_buttons_are_configured():
    assert CONFIG["title"].startswith("ferkit")
    assert CONFIG["author"] == "the ferkit authors"
    assert str(CONFIG["copyright"]) == "2026"
    assert CONFIG["repository"]["url"] == "https://github.com/ferkit/ferkit"
    assert CONFIG["html"]["use_repository_button"] is True
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    # No hub address is known: an instructor sets it (book/instructor_guide.md says how).
    assert CONFIG["launch_buttons"]["jupyterhub_url"] == ""
    assert "jupyterhub_url:" in (ROOT / "book" / "instructor_guide.md").read_text()


# ---------------------------------------------------------------------------
# The unexecuted build: warnings and what is published
# ---------------------------------------------------------------------------

def test_book_builds_without_warnings(unexecuted_book):
    assert built_cleanly(unexecuted_book["code"], unexecuted_book["log"]), "\n".join(
        unexecuted_book["log"].splitlines()[-40:])


def test_every_toc_page_is_published_and_nothing_else(unexecuted_book):
    html = unexecuted_book["html"]
    for name in toc_files():
        assert page_path(html, name).is_file(), f"{name}: no page"
    published = {path.relative_to(html).with_suffix("").as_posix() for path in html.rglob("*.html")
                 if not path.relative_to(html).parts[0].startswith("_")}
    extra = published - set(toc_files()) - {"index", "genindex", "search"}
    assert extra == set()


def secret_lines():
    """Distinctive lines of the solutions and hidden tests in ``solutions/`` that no published
    notebook (exercise or lesson) or page contains."""
    import nbformat

    notebooks = [*(ROOT / "exercises").glob("*/*.ipynb"), *(ROOT / "notebooks").glob("*.ipynb")]
    released = "\n".join([cell.source for path in notebooks for cell in nbformat.read(path, as_version=4).cells]
                         + [path.read_text() for path in (ROOT / "book").glob("*.md")])
    secrets = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        secret, _ = solution_regions(nbformat.read(path, as_version=4))
        secrets |= {line for line in secret if len(line) >= 25 and line not in released}
    return secrets


def published_text(path: Path) -> str:
    import html as html_module

    text = path.read_text(errors="replace")
    if path.suffix == ".html":
        text = html_module.unescape(re.sub(r"<[^>]+>", "", text))
    return text


def test_solutions_and_hidden_tests_are_never_published(unexecuted_book):
    html = unexecuted_book["html"]
    assert not any("solutions" in path.relative_to(html).parts for path in html.rglob("*"))
    secrets = secret_lines()
    assert len(secrets) > 50, "found too few solution lines to check against"
    for path in html.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".ipynb", ".md", ".txt", ".js"}:
            text = published_text(path)
            leaked = [line for line in secrets if line in text]
            assert leaked == [], f"{path.relative_to(html)} publishes solution lines: {leaked[:3]}"


def test_exercises_are_published_as_students_receive_them(unexecuted_book):
    for name in EXERCISES:
        page = page_path(unexecuted_book["html"], name).read_text()
        assert "NotImplementedError" in page and "YOUR ANSWER HERE" in page, name
        assert 'class="cell_output' not in page, f"{name} shows outputs"


def test_references_list_every_bibtex_entry(unexecuted_book):
    keys = re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), flags=re.MULTILINE)
    page = page_path(unexecuted_book["html"], "book/references").read_text()
    assert page.count('role="doc-biblioentry"') == len(keys) >= 17
    for surname in ("Mondal", "Bedi", "Barbagallo", "Matijasevic", "Qutub", "Goodfellow", "Deng", "LeCun",
                    "Simonyan", "Kaiming He", "Tan", "Srivastava", "Ioffe", "Zhong", "Khaireddin"):
        assert surname in page, surname


GLOSSARY_TERMS = (
    "Convolution", "Stride", "Padding", "Pooling", "Dropout", "Batch normalisation", "Softmax",
    "Cross-entropy", "Transfer learning", "Fine-tuning", "Augmentation", "TenCrop",
    "Validation carve-out", "PublicTest", "PrivateTest", "Macro F1", "Confusion matrix",
    "Precision", "Recall", "F1 score", "Overfitting", "Random erasing", "Grad-CAM",
)


def test_glossary_defines_the_terms_the_lessons_use(unexecuted_book):
    page = page_path(unexecuted_book["html"], "book/glossary").read_text()
    defined = set(re.findall(r'<dt id="term-([^"]+)"', page))
    missing = [term for term in GLOSSARY_TERMS if term.replace(" ", "-") not in defined]
    assert missing == []


def test_pages_carry_title_copyright_and_buttons(unexecuted_book):
    html = unexecuted_book["html"]
    home = page_path(html, "book/intro").read_text()
    assert "<title>ferkit: facial-expression recognition" in home
    footer = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", home[home.rindex("</article>"):]))
    assert "By the ferkit authors" in footer and "© Copyright 2026." in footer
    assert 'href="https://github.com/ferkit/ferkit"' in home
    for name in LESSONS + EXERCISES:
        page = page_path(html, name).read_text()
        colab = f"https://colab.research.google.com/github/ferkit/ferkit/blob/main/{name}.ipynb"
        assert f'href="{colab}"' in page, f"{name}: no Colab launch button"


# ---------------------------------------------------------------------------
# The executed build, in a real browser
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium("1280,1600")
    yield driver
    driver.quit()


def open_page(driver, path: Path):
    driver.get(path.as_uri())
    return driver.execute_script("return document.readyState") == "complete"


IMAGES_SCRIPT = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(image => { image.loading = "eager"; });
Promise.all(images.map(image => image.decode().catch(() => null))).then(() => done(
    images.map(image => ({src: image.currentSrc || image.src, width: image.naturalWidth,
                          alt: image.getAttribute("alt")}))));
"""


@pytest.mark.slow
def test_executed_book_builds_without_warnings(executed_book):
    if executed_book["log"] is None:
        pytest.skip("FERKIT_BOOK_HTML names a build made beforehand; make course fails on warnings itself")
    assert built_cleanly(executed_book["code"], executed_book["log"]), "\n".join(
        executed_book["log"].splitlines()[-40:])


@pytest.mark.slow
def test_every_lesson_and_no_exercise_was_executed_within_budget(executed_book):
    if executed_book["log"] is None:
        pytest.skip("FERKIT_BOOK_HTML names a build made beforehand: no execution log to read")
    executed = dict(re.findall(r"((?:notebooks|exercises)/[\w/]+)\.ipynb: Executed notebook in ([\d.]+) seconds",
                               executed_book["log"]))
    print("lesson execution times (s):", executed)
    assert sorted(executed) == LESSONS
    assert {name: seconds for name, seconds in executed.items() if float(seconds) > LESSON_BUDGET_SECONDS} == {}


@pytest.mark.slow
def test_every_toc_page_loads_with_all_its_images(executed_book, browser):
    html = executed_book["html"]
    browser.set_script_timeout(60)
    problems = []
    for name in toc_files():
        assert open_page(browser, page_path(html, name)), name
        title = browser.title
        heading = browser.execute_script("const h = document.querySelector('article h1'); return h && h.innerText;")
        if not title.endswith(CONFIG["title"]) or not heading:
            problems.append(f"{name}: title {title!r}, heading {heading!r}")
        for image in browser.execute_async_script(IMAGES_SCRIPT):
            scheme, host = urlsplit(image["src"]).scheme, urlsplit(image["src"]).hostname
            if scheme == "file" and image["width"] == 0:
                problems.append(f"{name}: image {image['src']} did not load")
            elif scheme in ("http", "https") and host not in ALLOWED_REMOTE_IMAGE_HOSTS:
                problems.append(f"{name}: remote image {image['src']} (the book must read offline)")
    assert problems == []


LINKS_SCRIPT = "return Array.from(document.querySelectorAll('a[href]'), a => a.href);"
IDS_SCRIPT = "return Array.from(document.querySelectorAll('[id]'), e => e.id);"


@pytest.mark.slow
def test_no_internal_link_is_broken(executed_book, browser):
    html = executed_book["html"].resolve()
    ids_of = {}

    def anchors(target: Path):
        if target not in ids_of:
            open_page(browser, target)
            ids_of[target] = set(browser.execute_script(IDS_SCRIPT))
        return ids_of[target]

    broken, checked = [], 0
    for name in toc_files():
        page = page_path(html, name)
        open_page(browser, page)
        for href in browser.execute_script(LINKS_SCRIPT):
            parts = urlsplit(href)
            if parts.scheme != "file":
                continue
            target = Path(unquote(parts.path))
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{name}: {href} (no such file)")
            elif html not in target.resolve().parents:
                broken.append(f"{name}: {href} (outside the book)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in anchors(target):
                broken.append(f"{name}: {href} (no anchor #{parts.fragment})")
    assert checked > 100
    assert broken == []


OUTPUTS_SCRIPT = """
const outputs = Array.from(document.querySelectorAll('article div.cell_output'));
return {
  cells: document.querySelectorAll('article div.cell').length,
  outputs: outputs.filter(o => o.innerText.trim() || o.querySelector('img, svg, table')).length,
  first: outputs.length ? outputs[0].innerText : "",
  figures: document.querySelectorAll('article div.cell_output img').length,
  errors: document.querySelectorAll('article div.cell_output .traceback, article div.cell_output .output.error').length,
};
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_shows_its_executed_output(executed_book, browser, name):
    assert open_page(browser, page_path(executed_book["html"], name))
    found = browser.execute_script(OUTPUTS_SCRIPT)
    assert found["errors"] == 0, found
    # Every lesson prints the versions in its first code cell, and most cells show a result.
    assert "TensorFlow" in found["first"], f"{name}: {found}"
    assert found["outputs"] >= max(3, found["cells"] // 2), f"{name}: {found}"


# What the backend prints for its own authors: native start-up lines, CUDA probing, tracing notes.
BACKEND_LOG = re.compile(r"\b[IWE]0000 |cuInit|absl::|oneDNN|XNNPACK|triggered tf\.function retracing|cudart_stub")


@pytest.mark.slow
def test_no_lesson_page_shows_backend_log_lines(executed_book):
    for name in LESSONS:
        lines = [line for line in published_text(page_path(executed_book["html"], name)).splitlines()
                 if BACKEND_LOG.search(line)]
        assert lines == [], f"{name}: {lines[:3]}"


CELL_IMAGES_SCRIPT = """
return Array.from(document.querySelectorAll('article div.cell_output img'),
                  image => ({src: image.getAttribute('src') || '', alt: image.getAttribute('alt')}));
"""


def alt_looks_like_a_file_name(alt: str, src: str) -> bool:
    """True when ``alt`` is the image's own path or file name (Sphinx's default alt) or any path-like token."""
    file_name = PurePosixPath(unquote(urlsplit(src).path)).name
    return bool(alt == src or (file_name and file_name in alt) or not re.search(r"\s", alt)
                or re.search(r"\.(png|jpe?g|gif|svg|webp)\b", alt, re.IGNORECASE))


@pytest.mark.slow
def test_every_figure_of_a_lesson_has_alt_text(executed_book, browser):
    """A screen reader reads each figure's description, never its file name. MyST-NB takes the alt
    text from the cell's ``metadata.mystnb.image.alt`` (tests/test_notebooks.py checks the cells)."""
    problems, checked = [], 0
    for name in LESSONS:
        assert open_page(browser, page_path(executed_book["html"], name)), name
        for image in browser.execute_script(CELL_IMAGES_SCRIPT):
            checked += 1
            alt = (image["alt"] or "").strip()
            if not alt:
                problems.append(f"{name}: {image['src']} has no alt text")
            elif alt_looks_like_a_file_name(alt, image["src"]):
                problems.append(f"{name}: {image['src']} has a file name as alt text: {alt!r}")
    assert checked > 0, "found no figure in the lessons' cell outputs"
    assert problems == []


@pytest.mark.slow
def test_exercises_are_rendered_but_not_executed(executed_book, browser):
    for name in EXERCISES:
        assert open_page(browser, page_path(executed_book["html"], name))
        found = browser.execute_script(OUTPUTS_SCRIPT)
        assert found["cells"] > 0 and found["outputs"] == 0, f"{name}: {found}"


@pytest.mark.slow
def test_screenshots_of_the_home_page_and_a_lesson(executed_book, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {"book-home.png": "book/intro", "book-lesson-01_convolution.png": LESSONS[0]}
    for file_name, name in shots.items():
        target = ARTIFACTS / file_name
        target.unlink(missing_ok=True)
        open_page(browser, page_path(executed_book["html"], name))
        assert browser.save_screenshot(str(target))
        assert target.stat().st_size > 10_000, f"{target} looks blank"
