"""Lesson 01's convolution explainer works in a real JupyterLab, as students on a hub meet it.

``test_convolution_explainer_redraws_in_jupyterlab`` starts JupyterLab 4 on a free local port
with a token, in a temporary folder that holds a copy of lesson 01, and opens the lesson in
headless Chromium (Selenium with Debian's ``chromium`` and ``chromium-driver``, the browser
flags of ``tests/test_book.py``). Through the Run menu it runs only the cells the explainer
needs (:func:`cells_the_explainer_needs`), picks another kernel in the explainer's dropdown,
and checks that the widget draws a new figure (the PNG in its output changes). Marked
``slow``; it skips, saying why, where JupyterLab 4, selenium, Chromium or chromedriver is
absent. Nothing leaves this machine: JupyterLab's news feed, update check and PyPI extension
manager are off, Chromium resolves no host but localhost, and the test checks that the page
requested nothing from anywhere else.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import headless_chromium
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "01_convolution.ipynb"
EXPLAINER_CALL = "widgets.convolution_explainer("
# The lesson's "Open in Colab" badge is a remote image in its first cell (as in tests/test_book.py).
ALLOWED_REMOTE_IMAGE_HOSTS = {"colab.research.google.com"}
# JupyterLab user settings for the test: every cell attached to the page (so the n-th cell
# element is the notebook's n-th cell), and no news, update check or toast notifications.
JUPYTERLAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False,
                                                    "doNotDisturbMode": True},
}
# Waits, in seconds: guards against a hang, not speed measurements.
SERVER_START_SECONDS = 60
CELL_SECONDS = 120
REDRAW_SECONDS = 30


def cells_the_explainer_needs(notebook) -> list[int]:
    """Indices of the code cells to run for the convolution explainer, in order.

    The lesson's code cells from the start up to the first one that assigns ``train_images``
    (set-up, parameters, imports, data), then the cell that calls the explainer. Raises a
    ``ValueError`` naming what is missing when the lesson has no such cells.
    """
    code_cells = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]

    def assigns_train_images(source):
        tree = ast.parse(TransformerManager().transform_cell(source))  # IPython magics turned into Python
        return any(isinstance(node, ast.Name) and node.id == "train_images" and isinstance(node.ctx, ast.Store)
                   for node in ast.walk(tree))

    data_cell = next((index for index in code_cells if assigns_train_images(notebook.cells[index].source)), None)
    explainer = next((index for index in code_cells if EXPLAINER_CALL in notebook.cells[index].source), None)
    if data_cell is None or explainer is None:
        raise ValueError(f"{LESSON.name}: expected a code cell assigning train_images and one calling "
                         f"{EXPLAINER_CALL}...), found data cell {data_cell}, explainer cell {explainer}")
    return [index for index in code_cells if index <= data_cell] + [explainer]


def test_the_explainer_needs_the_set_up_and_data_cells_only():
    notebook = nbformat.read(LESSON, as_version=4)
    needed = cells_the_explainer_needs(notebook)
    sources = [notebook.cells[index].source for index in needed]
    assert EXPLAINER_CALL in sources[-1]
    assert any("parameters" in notebook.cells[index].metadata.get("tags", []) for index in needed)
    assert any("environment.resolve_data_source" in source for source in sources)
    assert not any("train.fit(" in source for source in sources), "the explainer must not wait for training"
    assert len(needed) < len([cell for cell in notebook.cells if cell.cell_type == "code"]) / 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    """JupyterLab 4 serving a temporary copy of lesson 01; yields ``(base_url, token, notebook_name)``."""
    jupyterlab_module = pytest.importorskip("jupyterlab", reason="JupyterLab is not installed: pip install jupyterlab")
    if int(jupyterlab_module.__version__.split(".")[0]) != 4:
        pytest.skip(f"this test drives JupyterLab 4, found JupyterLab {jupyterlab_module.__version__}")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(LESSON, work / LESSON.name)
    port, token = free_port(), secrets.token_hex(16)
    settings = tmp_path / "settings"
    for plugin, values in JUPYTERLAB_SETTINGS.items():
        target = settings / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    environment = dict(os.environ)
    environment.pop("MPLBACKEND", None)  # the kernel draws as it does for a student (inline)
    environment.update({
        "TF_CPP_MIN_LOG_LEVEL": "2",
        # No user configuration, settings or workspace of this machine is read or written.
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    })
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
        # Nothing from the internet: no news feed, no update check, no PyPI extension listing.
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--ServerApp.allow_root=True",  # CI runs as root in a container
    ]
    log_path = tmp_path / "jupyterlab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=work, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(f"{base_url}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start on port {port}:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        for plugin, values in JUPYTERLAB_SETTINGS.items():  # JupyterLab read the test's settings
            plugin_id = ":".join(plugin.rsplit("/", 1))
            with urllib.request.urlopen(f"{base_url}/lab/api/settings/{plugin_id}?token={token}", timeout=10) as reply:
                applied = json.load(reply)["settings"]
            assert {key: applied.get(key) for key in values} == values, f"{plugin}: {applied}"
        yield base_url, token, LESSON.name
    finally:
        server.terminate()  # stops the server; it shuts its kernels down first
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def browser():
    driver = headless_chromium("1400,1000")
    yield driver
    driver.quit()


# ---------------------------------------------------------------------------
# Driving JupyterLab's notebook, as a student does: select a cell, Run menu
# ---------------------------------------------------------------------------

def notebook_cells(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")


def click_menu(driver, menu: str, item: str):
    """Open ``menu`` in JupyterLab's menu bar and click its entry labelled ``item``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 10)
    wait.until(expected_conditions.element_to_be_clickable(
        (By.XPATH, f"//li[contains(@class, 'lm-MenuBar-item')][.//div[text()='{menu}']]"))).click()
    wait.until(expected_conditions.element_to_be_clickable(
        (By.XPATH, f"//ul[contains(@class, 'lm-Menu-content')]/li[.//div[contains(@class, 'lm-Menu-itemLabel')]"
                   f"[text()='{item}']]"))).click()


def run_cell(driver, index: int):
    """Select code cell ``index`` (click its prompt) and run it from the Run menu; wait until it ran."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    cell = notebook_cells(driver)[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", cell)
    cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()
    WebDriverWait(driver, 10).until(lambda _: "jp-mod-active" in cell.get_attribute("class"))
    click_menu(driver, "Run", "Run Selected Cell and Do not Advance")
    prompt = cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt")
    WebDriverWait(driver, CELL_SECONDS).until(lambda _: re.fullmatch(r"\[\d+\]:", prompt.text.strip()),
                                              message=f"code cell {index} did not finish running")
    output = cell.find_element(By.CSS_SELECTOR, ".jp-Cell-outputWrapper").text
    assert "Traceback (most recent call last)" not in output, f"code cell {index} failed:\n{output}"


def explainer_png(cell):
    """The ``src`` of the figure in the explainer's output (a PNG data URL), or None while there is none."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        images = cell.find_elements(By.CSS_SELECTOR, ".widget-output img")
        return images[0].get_attribute("src") if images else None
    except StaleElementReferenceException:  # the widget replaced its output while we looked
        return None


@pytest.mark.slow
def test_convolution_explainer_redraws_in_jupyterlab(browser, jupyterlab):  # no server without a browser
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    started = time.perf_counter()
    base_url, token, name = jupyterlab
    needed = cells_the_explainer_needs(nbformat.read(LESSON, as_version=4))
    browser.get(f"{base_url}/lab/tree/{name}?token={token}")
    WebDriverWait(browser, 60).until(lambda driver: len(notebook_cells(driver)) > max(needed),
                                     message="JupyterLab did not show the lesson's cells")
    opened_at = time.perf_counter()
    for index in needed:
        run_cell(browser, index)
    ran_at = time.perf_counter()

    cell = notebook_cells(browser)[needed[-1]]
    first = WebDriverWait(browser, REDRAW_SECONDS).until(lambda _: explainer_png(cell),
                                                         message="the explainer drew no figure")
    assert first.startswith("data:image/png;base64,")
    kernel = Select(cell.find_element(
        By.XPATH, ".//div[contains(@class, 'widget-dropdown')][label[text()='kernel']]//select"))
    assert kernel.first_selected_option.text == "edge"  # the lesson's starting view
    kernel.select_by_visible_text("blur")
    redrawn = WebDriverWait(browser, REDRAW_SECONDS).until(
        lambda _: (png := explainer_png(cell)) not in (None, first) and png,
        message="choosing another kernel did not redraw the figure")
    assert redrawn.startswith("data:image/png;base64,")
    assert browser.execute_script(  # the new figure is an image the browser could decode
        "const image = arguments[0].querySelector('.widget-output img');"
        "return image !== null && image.complete && image.naturalWidth > 0;", cell)
    redrawn_at = time.perf_counter()

    # Everything the page loaded came from this JupyterLab or was made in the page, except the
    # lesson's own "Open in Colab" badge (an image in its first cell; it does not load offline).
    requested = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
    elsewhere = [url for url in requested if not url.startswith((base_url, "data:", "blob:"))
                 and urllib.parse.urlsplit(url).hostname not in ALLOWED_REMOTE_IMAGE_HOSTS]
    assert elsewhere == [], f"JupyterLab requested resources from elsewhere: {elsewhere[:5]}"
    print(f"JupyterLab: lesson open after {opened_at - started:.1f} s; code cells {needed} run from the "
          f"Run menu by {ran_at - started:.1f} s; blur kernel chosen, figure redrawn by "
          f"{redrawn_at - started:.1f} s")
