"""A person's path through JupyterLab: open notebook 04 in Chromium, run it, move the layer slider,
and check that the picture changes. Needs Debian's chromium and the playwright package (the test
skips, saying so, where either is missing; .ci/run installs both)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

NOTEBOOK = "04_progressive_decoding.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the notebook (so that autosave cannot touch the real one)."""
    folder = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, folder / NOTEBOOK)
    port, token = _free_port(), "sdcomp-test-token"
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(folder / ".jupyter"), HF_HUB_OFFLINE="1")
    # Warm up first: in a fresh environment the first import compiles bytecode and builds
    # matplotlib's font cache, which can take longer than any sensible wait in the browser.
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot, sdcomp_lite.widgets, sdcomp_lite.evaluation.tasks, "
                    "sdcomp_lite.ranking.embedding, mediapipe"], check=True, env=env, capture_output=True)
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start within 60 s")
    yield url, token
    server.terminate()
    server.wait(timeout=20)


def test_layer_slider_changes_the_picture(lab):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    url, token = lab
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            before, after, readout = _run_and_move_slider(page, url, token)
        finally:
            page.screenshot(path=str(Path(os.environ.get("SDCOMP_SCREENSHOT_DIR", "/tmp")) / "sdcomp_browser_test.png"))
            browser.close()
    assert after != before
    assert readout.strip() == "3", f"the slider should read 3 after two steps from 1, reads {readout!r}"


def _run_and_move_slider(page, url: str, token: str) -> tuple[str, str, str]:
    """Open the notebook, run every cell, press the slider's handle right twice."""
    page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)  # the kernel is up and ready
    cells = page.locator(".jp-Notebook .jp-Cell")
    cells.first.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Escape")  # command mode: Shift+Enter runs a cell and selects the next
    for _ in range(cells.count()):
        page.keyboard.press("Shift+Enter")
    slider = page.locator(".widget-slider").first
    slider.wait_for(timeout=240_000)
    picture = page.locator(".jupyter-widgets.widget-image, img.widget-image").first
    picture.wait_for(timeout=60_000)
    before = picture.get_attribute("src")
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    page.wait_for_function(
        "([selector, old]) => { const img = document.querySelector(selector); return img && img.src !== old; }",
        arg=[".widget-image", before], timeout=60_000,
    )
    after = picture.get_attribute("src")
    readout = slider.locator(".widget-readout").first.inner_text()
    return before, after, readout
