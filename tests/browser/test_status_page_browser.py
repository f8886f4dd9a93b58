"""The status page in a real browser (headless Chromium through Selenium): an operator signs in
and finds a failing client's reason, a client's link shows that client only and a tampered or
expired one is refused, a task's page shows the conditions that took it, the keyboard alone
goes through the pages, and axe-core finds no serious or critical violation on any of them.
Screenshots of each page are saved as test artifacts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from browserkit import axe, keyboard
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from delegator.statuspage.access import Role
from pageworld import OPERATOR, Running, page_world

Shot = Callable[..., Path]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with page_world(tmp_path) as world:
        yield world


def sign_in(browser: WebDriver, running: Running, token: str = OPERATOR) -> None:
    browser.get(f"{running.url}/")
    field = browser.find_element(By.NAME, "token")
    field.send_keys(token)
    field.send_keys(Keys.ENTER)


def no_serious_violations(browser: WebDriver, page: str) -> None:
    found = axe(browser)
    assert not found, f"{page}: " + "; ".join(str(v) for v in found)


def test_an_operator_signs_in_and_finds_a_failing_clients_reason(
    browser: WebDriver, running: Running, screenshot: Shot
) -> None:
    sign_in(browser, running, "not the token")
    assert "That is not the operator token." in browser.page_source
    screenshot("refused")
    # Fischer Consulting's token is revoked in Asana: its next cycle fails.
    running.sandbox.faults.revoke(running.sandbox.token("lena@fischer-consulting.example"))
    running.cycle("solo-consultant")
    sign_in(browser, running)
    assert browser.current_url.endswith("/ops")
    row = browser.find_element(By.XPATH, "//tr[th//a[contains(., 'Fischer Consulting')]]")
    assert "the token was refused" in row.text  # the reason, on the overview already
    assert "1 need attention" in browser.find_element(By.TAG_NAME, "main").text
    screenshot("clients", full_page=True)
    no_serious_violations(browser, "/ops")
    row.find_element(By.LINK_TEXT, "Fischer Consulting").click()
    assert "Fischer Consulting" in browser.find_element(By.TAG_NAME, "h1").text
    body = browser.find_element(By.TAG_NAME, "main").text
    assert "last cycle failed: the token was refused" in body
    assert "401 Unauthorized" in body  # the cycle's own failure, listed
    screenshot("failing-client", full_page=True)
    no_serious_violations(browser, "/ops/clients/solo-consultant")
    browser.find_element(By.LINK_TEXT, "Journal").click()
    no_serious_violations(browser, "/ops/journal")


def test_a_client_link_shows_its_client_only_and_a_bad_one_is_refused(
    browser: WebDriver, running: Running, screenshot: Shot
) -> None:
    link = running.link(Role.CLIENT, client="small-agency")
    browser.get(link)
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "Northwind Studio" in text
    assert "Fischer" not in browser.page_source
    screenshot("client", full_page=True)
    no_serious_violations(browser, "a client's page")
    browser.get(link + "?lang=it")
    assert "Completate" in browser.find_element(By.TAG_NAME, "main").text
    no_serious_violations(browser, "a client's page in Italian")
    token = link.rsplit("/", 1)[1]
    browser.get(link[: -len(token)] + token[:-4] + "AAAA")
    assert "not valid" in browser.find_element(By.TAG_NAME, "main").text
    old = running.link(Role.CLIENT, client="small-agency",
                       issued=running.clock.now() - timedelta(days=45))  # fmt: skip
    browser.get(old)
    assert "expired" in browser.find_element(By.TAG_NAME, "main").text
    screenshot("expired")
    no_serious_violations(browser, "a refused link")


def test_a_tasks_page_shows_the_conditions_that_took_it(
    browser: WebDriver, running: Running, screenshot: Shot
) -> None:
    browser.get(running.link(Role.CLIENT, client="small-agency"))
    browser.find_element(By.LINK_TEXT, "Send November receipts to the accountant").click()
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Why rule “Invoices and receipts go to the assistants”" in main
    assert "quadrant in [delegate, eliminate]" in main
    assert "actual:" in main
    assert "wanted:" in main
    screenshot("task", full_page=True)
    no_serious_violations(browser, "a task's page")


def test_the_keyboard_alone_goes_through_the_pages(browser: WebDriver, running: Running) -> None:
    browser.get(f"{running.url}/")
    reached = keyboard(browser)
    assert [f.tag for f in reached][:3] == ["a", "input", "button"], reached  # skip, token, go
    field = browser.find_element(By.NAME, "token")
    field.send_keys(OPERATOR + Keys.ENTER)
    assert browser.current_url.endswith("/ops")
    reached = keyboard(browser)
    names = [f.text for f in reached]
    assert names[0] == "Skip to the content"
    assert "Clients" in names
    assert "Journal" in names
    assert "Sign out" in names
    assert "Northwind Studio" in names
    assert "Fischer Consulting" in names
    # Enter on a focused link follows it: tab to Northwind and press Enter.
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    for _ in range(len(reached)):
        active = browser.switch_to.active_element
        if active.text == "Northwind Studio":
            active.send_keys(Keys.ENTER)
            break
        active.send_keys(Keys.TAB)
    assert browser.current_url.endswith("/ops/clients/small-agency")
    browser.get(running.link(Role.ASSISTANT, assistant="giulia"))
    assert keyboard(browser), "nothing on an assistant's page takes the keyboard"
    no_serious_violations(browser, "an assistant's page")
