"""The browser tests' own tools, on two small pages a loopback server in the test serves: one
accessible, one with known serious faults. axe must tell them apart, the keyboard must reach the
links in order, screenshots must be PNGs, and a browser test must fail (not skip) under CI when
the browser is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from browserkit import ROOT, WINDOW_SIZE, Focus, axe, axe_script_path, keyboard
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

HERE = Path(__file__).resolve().parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A small picture, inline so the pages need nothing but their own HTML.
DOT = (
    "data:image/svg+xml;utf8,"
    "<svg xmlns='http://www.w3.org/2000/svg' width='16' height='16'>"
    "<circle cx='8' cy='8' r='8' fill='%23067d39'/></svg>"
)

ACCESSIBLE = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Clients</title></head>
<body>
<header><nav aria-label="Main"><a href="/clients">Clients</a> <a href="/journal">Journal</a></nav></header>
<main>
<h1>Clients</h1>
<p><img src="{DOT}" alt="Healthy" width="16" height="16"> Two clients, both healthy.</p>
<ul>
<li><a href="/clients/acme">Acme <span>srl</span></a></li>
<li><a href="/clients/rossi">Rossi &amp; figli</a></li>
</ul>
<p tabindex="-1">Not in the tab order.</p>
<form action="/search"><label for="q">Find a task</label> <input id="q" name="q" type="search">
<button type="submit">Search</button></form>
</main>
</body>
</html>
"""

INACCESSIBLE = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Faults</title></head>
<body>
<main>
<h1>Faults</h1>
<img src="{DOT}" width="16" height="16">
<form action="/search"><input type="text" name="who"></form>
<p style="color: #b0b0b0; background: #ffffff">Grey on white, too faint to read.</p>
</main>
</body>
</html>
"""

# What axe must say about INACCESSIBLE: the picture has no text alternative, the input no label,
# the grey text too little contrast. Each serious or critical; nothing else that bad.
EXPECTED_FAULTS = {
    "image-alt": ("img",),
    "label": ("input",),
    "color-contrast": ("p",),
}


class _Pages(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, str]] = {"/clients": ACCESSIBLE, "/faults": INACCESSIBLE}

    def do_GET(self) -> None:
        page = self.pages.get(self.path)
        body = (page or "<!doctype html><title>Not found</title>").encode()
        self.send_response(HTTPStatus.OK if page else HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test says what matters."""


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The two pages on a loopback server of their own: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_an_accessible_page_has_no_serious_violation(browser: WebDriver, site: str) -> None:
    browser.get(f"{site}/clients")
    assert browser.title == "Clients"

    assert axe(browser) == []


def test_axe_names_each_serious_fault_and_where_it_is(browser: WebDriver, site: str) -> None:
    browser.get(f"{site}/faults")

    found = axe(browser)

    assert {violation.rule: violation.targets for violation in found} == EXPECTED_FAULTS, "\n".join(
        map(str, found)
    )
    assert all(violation.impact in {"serious", "critical"} for violation in found)
    assert all(violation.help_url.startswith("https://") for violation in found)


def test_axe_runs_again_on_the_same_page_and_reports_by_impact(
    browser: WebDriver, site: str
) -> None:
    browser.get(f"{site}/faults")
    critical = axe(browser, impact=("critical",))
    everything = axe(browser, impact=("minor", "moderate", "serious", "critical"))

    assert {violation.rule for violation in critical} == {"image-alt", "label"}
    assert {violation.rule for violation in everything} >= set(EXPECTED_FAULTS)
    with pytest.raises(ValueError, match="no impact"):
        axe(browser, impact=("severe",))


def test_the_keyboard_reaches_every_link_and_control_in_order(
    browser: WebDriver, site: str
) -> None:
    browser.get(f"{site}/clients")
    # Focus left somewhere in the middle: the walk still starts from the top.
    browser.find_element(By.LINK_TEXT, "Rossi & figli").click()
    browser.get(f"{site}/clients")
    browser.find_element(By.ID, "q").click()

    forwards = keyboard(browser)

    assert forwards == [
        Focus(tag="a", text="Clients", href="/clients"),
        Focus(tag="a", text="Journal", href="/journal"),
        Focus(tag="a", text="Acme srl", href="/clients/acme"),
        Focus(tag="a", text="Rossi & figli", href="/clients/rossi"),
        Focus(tag="input", text="Find a task", href=None),
        Focus(tag="button", text="Search", href=None),
    ]
    assert keyboard(browser, backwards=True) == forwards[::-1]
    assert browser.find_elements(By.ID, "browserkit-keyboard-start") == []


def test_a_screenshot_is_a_png_of_the_viewport_saved_as_an_artifact(
    browser: WebDriver, site: str, screenshot: Callable[..., Path]
) -> None:
    browser.get(f"{site}/clients")

    saved = screenshot("clients")

    assert saved.name == (
        "test_browser_harness.test_a_screenshot_is_a_png_of_the_viewport_saved_as_an_artifact"
        ".clients.png"
    )
    assert saved.parent.name == "screenshots"
    assert (saved.parent.parent / ".gitignore").read_text().splitlines()[-1] == "*"
    assert _png_size(saved) == WINDOW_SIZE
    with pytest.raises(ValueError, match="name"):
        screenshot("../elsewhere")


def test_the_browser_reaches_loopback_and_resolves_no_host_name(
    browser: WebDriver, site: str
) -> None:
    port = site.rsplit(":", 1)[1]
    browser.get(f"http://localhost:{port}/clients")
    assert browser.title == "Clients"

    # The machine's own name is in its hosts file (often as 127.0.0.1 itself): still refused.
    name = socket.gethostname()
    if name == "localhost":
        name = "ip6-localhost"  # Debian's hosts file has it too
    with pytest.raises(WebDriverException, match="ERR_NAME_NOT_RESOLVED"):
        browser.get(f"http://{name}:{port}/clients")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# ---------------------------------------------------------------- the fixtures in a pytest of their own

_FAILING_TEST = """
    from selenium.webdriver.common.by import By


    def test_fails_on_a_page(browser):
        browser.get("data:text/html,<title>Lost</title><h1>Where am I</h1>")
        assert browser.find_element(By.TAG_NAME, "h1").text == "Home"
"""


def _run_pytest_on(
    tmp_path: Path, test: str, **environment: str
) -> subprocess.CompletedProcess[str]:
    """A pytest run, in its own process, of one test file beside copies of this folder's
    conftest.py and browserkit.py (and the tool they read axe-core's pin from)."""
    browser_dir = tmp_path / "tests" / "browser"
    browser_dir.mkdir(parents=True)
    (tmp_path / "tools").mkdir()
    shutil.copy(HERE / "conftest.py", browser_dir)
    shutil.copy(HERE / "browserkit.py", browser_dir)
    shutil.copy(ROOT / "tools" / "axe_core.py", tmp_path / "tools")
    (browser_dir / "test_on_purpose.py").write_text(textwrap.dedent(test))
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    browser: a real Chromium\n    slow: slow\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env.setdefault("DELEGATOR_AXE_CORE", str(axe_script_path()))
    env["DELEGATOR_TEST_ARTIFACTS"] = str(tmp_path / "artifacts")
    env.update(environment)
    return subprocess.run(  # noqa: S603 - this interpreter's pytest on files written above
        [
            *(sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:randomly"),
            *("-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(browser_dir)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_failed_browser_test_leaves_its_screenshot_page_and_console(
    browser: WebDriver, tmp_path: Path
) -> None:
    # `browser` here only makes this test skip (or fail under CI) without a Chromium.
    run = _run_pytest_on(tmp_path, _FAILING_TEST)

    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout
    folder = tmp_path / "artifacts" / "screenshots"
    stem = "test_on_purpose.test_fails_on_a_page.failure"
    assert f"saved as {folder / stem}.*" in run.stdout
    assert sorted(path.name for path in folder.iterdir()) == [
        f"{stem}.console.txt",
        f"{stem}.html",
        f"{stem}.png",
    ]
    assert _png_size(folder / f"{stem}.png")[0] == WINDOW_SIZE[0]
    assert "Where am I" in (folder / f"{stem}.html").read_text()
    assert (folder / f"{stem}.console.txt").read_text().startswith("url: data:text/html")


_PASSING_TEST = """
    def test_opens_a_page(browser):
        browser.get("data:text/html,<title>Here</title>")
        assert browser.title == "Here"
"""


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")], ids=["under-ci", "locally"]
)
def test_without_a_chromedriver_a_browser_test_skips_locally_and_fails_under_ci(
    tmp_path: Path, ci: str, outcome: str
) -> None:
    missing_driver = tmp_path / "no-such-chromedriver"
    environment = {"DELEGATOR_CHROMEDRIVER": str(missing_driver)}
    if ci:
        environment["CI"] = ci

    run = _run_pytest_on(tmp_path, _PASSING_TEST, **environment)

    assert outcome in run.stdout, run.stdout + run.stderr
    assert f"ChromeDriver is not at {missing_driver} (Debian: apt-get install chromium-driver)" in (
        run.stdout
    )
    assert run.returncode == (1 if ci else 0)
    assert not (tmp_path / "artifacts" / "screenshots").exists()


def test_an_axe_core_that_is_not_the_pinned_release_is_refused(tmp_path: Path) -> None:
    impostor = tmp_path / "axe.min.js"
    impostor.write_text("window.axe = {version: '4.14.1', run: async () => ({violations: []})};")

    run = _run_pytest_on(tmp_path, _PASSING_TEST, DELEGATOR_AXE_CORE=str(impostor))

    assert "1 skipped" in run.stdout, run.stdout + run.stderr
    assert f"{impostor} is not axe-core 4.14.1 (make axe-core fetches it)" in run.stdout
