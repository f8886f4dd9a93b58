"""Fixtures of the browser tests: ``browser`` (a fresh headless Chromium for each test) and
``screenshot`` (save what it shows, by name, as a test artifact). The helpers the tests call on
the driver, ``axe`` and ``keyboard``, are in browserkit.py beside this file.

Every test here is marked ``browser`` and ``slow`` (a Chromium starts in about 0.8 s, so
``make test-fast`` leaves them out; ``make test`` and CI run them). Without Chromium, its driver
or axe-core a test skips and says what to install; under CI it fails instead, so a broken
install cannot pass for a green build. A failed test leaves a screenshot, the page's HTML and its
console log in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from browserkit import browser_log, missing, save_screenshot, screenshots_dir, start_chromium
from selenium.webdriver.chrome.webdriver import WebDriver

HERE = Path(__file__).resolve().parent


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_browser() -> None:
    """Skip the test when Chromium, its driver or axe-core is missing; fail under CI."""
    reasons = missing()
    if not reasons:
        return
    reason = "the browser tests cannot run: " + "; ".join(reasons)
    if _in_ci():
        pytest.fail(f"{reason} (CI is set: .ci/run should have installed them)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Each phase's report kept on the test, for ``browser`` to see whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def artifact_stem(item: pytest.Item) -> str:
    """The test's name as a file name: ``test_harness.test_axe_finds[page]``, made safe."""
    return re.sub(r"[^A-Za-z0-9_.\[\]-]+", "-", f"{item.path.stem}.{item.name}")


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[WebDriver]:
    """A new headless Chromium with an empty profile (no cookie or sign-in carries over from
    another test), 1280x800, page loads bounded; quit after the test. A test that failed leaves
    ``<test>.failure.png``, ``.html`` and ``.console.txt`` in test-artifacts/screenshots/."""
    require_browser()
    driver = start_chromium()
    try:
        yield driver
        call = request.node.stash.get(_REPORTS, {}).get("call")
        if call is not None and call.failed:
            _leave_failure_artifacts(driver, request.node)
    finally:
        driver.quit()


def _leave_failure_artifacts(driver: WebDriver, item: pytest.Item) -> None:
    folder = screenshots_dir()
    stem = f"{artifact_stem(item)}.failure"
    try:
        save_screenshot(driver, folder / f"{stem}.png", full_page=True)
        (folder / f"{stem}.html").write_text(driver.page_source, encoding="utf-8")
        lines = [f"url: {driver.current_url}", *browser_log(driver)]
        (folder / f"{stem}.console.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    except Exception as error:  # the test's own failure is what matters; say why none is left
        item.add_report_section("teardown", "browser artifacts", f"none saved: {error!r}")
    else:
        item.add_report_section("teardown", "browser artifacts", f"saved as {folder / stem}.*")


@pytest.fixture
def screenshot(browser: WebDriver, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """``screenshot("signed-in")`` saves what the browser shows now as
    ``test-artifacts/screenshots/<test>.signed-in.png`` and returns its path;
    ``full_page=True`` takes the whole page, not only the window."""

    def take(name: str, *, full_page: bool = False) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            raise ValueError(f"a screenshot's name is letters, digits, - and _: {name!r}")
        path = screenshots_dir() / f"{artifact_stem(request.node)}.{name}.png"
        return save_screenshot(browser, path, full_page=full_page)

    return take
