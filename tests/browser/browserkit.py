"""What the browser tests share (tests/browser/): a headless Chromium driven by Selenium 4, the
axe-core accessibility check, keyboard navigation and screenshots.

The browser is Debian's ``chromium`` with its ``chromium-driver`` (/usr/bin/chromium,
/usr/bin/chromedriver; DELEGATOR_CHROMIUM and DELEGATOR_CHROMEDRIVER point elsewhere): Selenium
is handed both paths, so it never looks for or downloads a browser of its own. The pages under
test are on loopback, and the browser resolves no other host name: a page that needs anything
from the internet breaks in the tests as it would for a client behind a strict firewall.

axe-core is the pinned release tools/axe_core.py fetched (``make axe-core``), checked by its
SHA-256 before it is injected. Screenshots go to ``test-artifacts/screenshots/`` at the
repository's root (DELEGATOR_TEST_ARTIFACTS moves ``test-artifacts``), a folder git ignores.
"""

from __future__ import annotations

import base64
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_VARIABLE = "DELEGATOR_CHROMIUM"
CHROMEDRIVER_VARIABLE = "DELEGATOR_CHROMEDRIVER"
ARTIFACTS_VARIABLE = "DELEGATOR_TEST_ARTIFACTS"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
DEFAULT_CHROMEDRIVER = "/usr/bin/chromedriver"

# Every page is looked at in the same viewport (a laptop's), so screenshots compare.
WINDOW_SIZE = (1280, 800)
# A page of the service on loopback loads in well under a second; this only bounds a hang.
PAGE_LOAD_TIMEOUT = 20.0
# axe-core on a large page (500 clients' rows) takes a few seconds.
SCRIPT_TIMEOUT = 60.0
# axe's impacts, least to most severe; the check fails on the last two by default.
IMPACTS = ("minor", "moderate", "serious", "critical")


def _load_axe_tool() -> ModuleType:
    """tools/axe_core.py, which knows the pinned release and where it is kept."""
    spec = importlib.util.spec_from_file_location("axe_core_tool", ROOT / "tools" / "axe_core.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


AXE_TOOL = _load_axe_tool()


def chromium_path() -> Path:
    return Path(os.environ.get(CHROMIUM_VARIABLE, "").strip() or DEFAULT_CHROMIUM)


def chromedriver_path() -> Path:
    return Path(os.environ.get(CHROMEDRIVER_VARIABLE, "").strip() or DEFAULT_CHROMEDRIVER)


def axe_script_path() -> Path:
    return Path(AXE_TOOL.script_path())


def artifacts_dir() -> Path:
    """``test-artifacts/`` (created, with a .gitignore that ignores all of it)."""
    configured = os.environ.get(ARTIFACTS_VARIABLE, "").strip()
    folder = Path(configured) if configured else ROOT / "test-artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# Written by the tests (tests/browser/browserkit.py): never committed.\n*\n"
        )
    return folder


def screenshots_dir() -> Path:
    folder = artifacts_dir() / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def missing() -> list[str]:
    """Why the browser tests cannot run here, one reason per missing piece (empty: they can)."""
    reasons = []
    for what, path, package in (
        ("Chromium", chromium_path(), "chromium"),
        ("ChromeDriver", chromedriver_path(), "chromium-driver"),
    ):
        if not (path.is_file() and os.access(path, os.X_OK)):
            reasons.append(f"{what} is not at {path} (Debian: apt-get install {package})")
    script = axe_script_path()
    if not script.is_file():
        reasons.append(f"axe-core is not at {script} (make axe-core)")
    elif not AXE_TOOL.is_pinned(script):
        reasons.append(f"{script} is not axe-core {AXE_TOOL.VERSION} (make axe-core fetches it)")
    return reasons


def chromium_options() -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium_path())
    width, height = WINDOW_SIZE
    for argument in (
        "--headless=new",
        f"--window-size={width},{height}",
        "--force-device-scale-factor=1",
        # Root in CI and containers, where Chromium's own sandbox cannot start; the pages are
        # the project's own, on loopback.
        "--no-sandbox",
        # Docker's 64 MB /dev/shm crashes tabs; /tmp instead.
        "--disable-dev-shm-usage",
        "--lang=en-US",
        # Nothing but loopback: no host name resolves, and Chromium's own traffic is off.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-features=Translate,OptimizationHints,MediaRouter",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return options


def start_chromium() -> WebDriver:
    """A new headless Chromium with an empty profile, its viewport and timeouts set."""
    service = Service(executable_path=str(chromedriver_path()))
    driver = webdriver.Chrome(options=chromium_options(), service=service)
    try:
        # The page's viewport, not only the window around it, is WINDOW_SIZE.
        width, height = WINDOW_SIZE
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
        driver.set_script_timeout(SCRIPT_TIMEOUT)
    except BaseException:
        driver.quit()
        raise
    return driver


def save_screenshot(driver: WebDriver, path: Path, *, full_page: bool = False) -> Path:
    """A PNG of the window (or of the whole page, scrolled parts too) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if full_page:
        shot = driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        path.write_bytes(base64.b64decode(shot["data"]))
    elif not driver.save_screenshot(str(path)):
        raise OSError(f"Chromium wrote no screenshot to {path}")
    return path


# ---------------------------------------------------------------- accessibility (axe-core)


@dataclass(frozen=True)
class Violation:
    """One axe rule a page breaks: the rule's id (``image-alt``), how bad, what it asks, and the
    CSS selectors of the elements that break it."""

    rule: str
    impact: str
    help: str
    help_url: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.rule} ({self.impact}): {self.help}: {', '.join(self.targets)}"


_RUN_AXE = """
const done = arguments[arguments.length - 1];
const selector = (target) => Array.isArray(target) ? target.map(selector).join(" >>> ") : target;
window.axe.run(document, {resultTypes: ["violations"]}).then(
    (results) => done({violations: results.violations.map((v) => ({
        rule: v.id, impact: v.impact || "", help: v.help, help_url: v.helpUrl,
        targets: v.nodes.map((node) => selector(node.target)),
    }))}),
    (error) => done({error: String(error && error.stack || error)}),
);
"""


def axe(driver: WebDriver, *, impact: Sequence[str] = ("serious", "critical")) -> list[Violation]:
    """Run axe-core on the page the driver shows; the violations of the given impacts, by rule.

    axe's default rule set (WCAG 2.x A and AA, and its best practices). A page whose axe could
    not run raises: an empty list always means axe looked and found nothing.
    """
    unknown = set(impact) - set(IMPACTS)
    if unknown:
        raise ValueError(f"axe knows no impact {sorted(unknown)}; it has {IMPACTS}")
    version = driver.execute_script("return window.axe ? window.axe.version : null;")
    if version is None:
        driver.execute_script(axe_script_path().read_text(encoding="utf-8"))
        version = driver.execute_script("return window.axe ? window.axe.version : null;")
    if version != AXE_TOOL.VERSION:
        raise RuntimeError(f"the page has axe-core {version!r}, not {AXE_TOOL.VERSION}")
    result: dict[str, Any] = driver.execute_async_script(_RUN_AXE)
    if "error" in result:
        raise RuntimeError(f"axe-core failed on {driver.current_url}: {result['error']}")
    found = [
        Violation(
            rule=str(item["rule"]),
            impact=str(item["impact"]),
            help=str(item["help"]),
            help_url=str(item["help_url"]),
            targets=tuple(str(target) for target in item["targets"]),
        )
        for item in result["violations"]
    ]
    return sorted(
        (violation for violation in found if violation.impact in impact),
        key=lambda violation: violation.rule,
    )


# ---------------------------------------------------------------- keyboard


@dataclass(frozen=True)
class Focus:
    """An element the keyboard reached: its tag (``a``, ``button``, ``input``), its text
    (whitespace folded; an input's value or label name, else its aria-label) and its ``href``
    attribute as written (None without one)."""

    tag: str
    text: str
    href: str | None


_FOCUSED = """
const e = document.activeElement;
if (!e || e === document.body || e === document.documentElement) return null;
let text = e.innerText || "";
if (!text.trim() && e.labels && e.labels.length) text = e.labels[0].innerText;
if (!text.trim()) text = e.value || e.getAttribute("aria-label") || e.getAttribute("title") || "";
return [e, e.tagName.toLowerCase(), text, e.getAttribute("href")];
"""

# Sequential focus navigation starts from a focused, unfocusable-by-Tab marker at the page's
# start (or end): wherever the test clicked or focused before, Tab starts from the top.
_MARK_START = """
const mark = document.createElement("span");
mark.tabIndex = -1;
mark.id = "browserkit-keyboard-start";
if (arguments[0]) document.body.append(mark); else document.body.prepend(mark);
mark.focus();
"""
_UNMARK = 'document.getElementById("browserkit-keyboard-start")?.remove();'


def keyboard(driver: WebDriver, *, backwards: bool = False, limit: int = 200) -> list[Focus]:
    """Press Tab (Shift+Tab when ``backwards``) from the page's start (end) until focus leaves
    the page or comes back to an element it already reached; the elements reached, in order.

    More than ``limit`` elements raises: a page that keeps focus is a keyboard trap.
    """
    driver.execute_script(_MARK_START, backwards)
    reached: list[Focus] = []
    seen: set[str] = set()
    try:
        for _ in range(limit + 1):
            chain = ActionChains(driver)
            if backwards:
                chain.key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT)
            else:
                chain.send_keys(Keys.TAB)
            chain.perform()
            focused = driver.execute_script(_FOCUSED)
            if focused is None:
                return reached
            element, tag, text, href = focused
            assert isinstance(element, WebElement)
            if element.get_attribute("id") == "browserkit-keyboard-start" or element.id in seen:
                return reached
            seen.add(element.id)
            reached.append(Focus(tag=str(tag), text=" ".join(str(text).split()), href=href))
        raise AssertionError(
            f"focus went through more than {limit} elements of {driver.current_url} "
            "without leaving the page: a keyboard trap?"
        )
    finally:
        driver.execute_script(_UNMARK)


def browser_log(driver: WebDriver) -> list[str]:
    """What the page wrote to the console (and its load errors) since the last call."""
    try:
        entries = driver.get_log("browser")  # type: ignore[no-untyped-call]
    except Exception as error:  # a driver without the log says so in the artifact
        return [f"(no console log: {error})"]
    return [f"{entry.get('level')} {entry.get('message')}" for entry in entries]
