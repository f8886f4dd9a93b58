"""The status page over HTTP: the real app on the real server (uvicorn on loopback), the store of
a service that ran against the sandbox. Who may open what (every page, every role, tampered,
expired and revoked links, path traversal), escaping of what clients wrote, the headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from delegator.statuspage.access import Role, verify_link
from delegator.statuspage.app import SESSION_COOKIE
from pageworld import OPERATOR, SECRET, Running, page_world


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with page_world(tmp_path) as world:
        yield world


def test_nothing_is_public(running: Running) -> None:
    for path in ("/ops", "/ops/journal", "/ops/clients/small-agency",
                 "/ops/clients/small-agency/tasks/1", "/c/x", "/c/x/tasks/1", "/a/x"):  # fmt: skip
        answer = requests.get(f"{running.url}{path}", timeout=10)
        assert answer.status_code == 401, path
        assert "Northwind" not in answer.text, path
    home = requests.get(f"{running.url}/", timeout=10)
    assert home.status_code == 200
    assert "Sign in" in home.text


def test_an_operator_signs_in_and_sees_every_client(running: Running) -> None:
    wrong = requests.post(f"{running.url}/sign-in", data={"token": "guess"}, timeout=10)
    assert wrong.status_code == 401
    operator = running.operator()
    cookie = operator.cookies.get(SESSION_COOKIE)
    assert cookie
    assert OPERATOR not in cookie
    page = operator.get(f"{running.url}/ops", timeout=10)
    assert page.status_code == 200
    assert "Northwind Studio" in page.text
    assert "Fischer Consulting" in page.text
    assert "<svg" in page.text  # the assistants' load
    one = operator.get(f"{running.url}/ops/clients/small-agency", timeout=10)
    assert one.status_code == 200
    assert "cycles" in one.text
    journal = operator.get(f"{running.url}/ops/journal", params={"client": "small-agency",
                           "rule": "Inbox chores", "since": "2d"}, timeout=10)  # fmt: skip
    assert journal.status_code == 200
    assert "Inbox chores" in journal.text
    assert "Invoices and receipts go to the assistants" not in journal.text
    bad = operator.get(f"{running.url}/ops/journal", params={"since": "soon"}, timeout=10)
    assert bad.status_code == 200
    assert "invalid duration" in bad.text
    out = operator.post(f"{running.url}/sign-out", allow_redirects=False, timeout=10)
    assert out.status_code == 303
    assert operator.get(f"{running.url}/ops", timeout=10).status_code == 401


def test_a_forged_or_old_session_is_refused(running: Running) -> None:
    operator = running.operator()
    cookie = operator.cookies.get(SESSION_COOKIE)
    assert cookie is not None
    forged = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    answer = requests.get(f"{running.url}/ops", cookies={SESSION_COOKIE: forged}, timeout=10)
    assert answer.status_code == 401
    running.clock.advance(hours=13)  # past status.session (12h)
    assert operator.get(f"{running.url}/ops", timeout=10).status_code == 401


def test_a_client_link_shows_that_client_only(running: Running) -> None:
    link = running.link(Role.CLIENT, client="small-agency")
    page = requests.get(link, timeout=10)
    assert page.status_code == 200, page.text
    assert "Northwind Studio" in page.text
    assert "Fischer" not in page.text
    assert "lena@" not in page.text
    assert "@va-agency.example" not in page.text
    tasks = re.findall(r'href="(/c/[^"]+/tasks/\d+)"', page.text)
    assert tasks, "the client's page links no task"
    story = requests.get(running.url + tasks[0], timeout=10)
    assert story.status_code == 200
    assert "What the service did" in story.text
    other = running.link(Role.CLIENT, client="solo-consultant")
    fischer_task = tasks[0].split("/tasks/")[1]
    assert requests.get(f"{other}/tasks/{fischer_task}", timeout=10).status_code == 404
    assert requests.get(f"{link}/../../ops", timeout=10).status_code in (401, 404)
    italian = requests.get(link, headers={"Accept-Language": "it-IT,it;q=0.9"}, timeout=10)
    assert "Completate" in italian.text
    assert 'lang="it"' in italian.text


def test_a_page_speaks_its_clients_language_unless_the_reader_asks_for_another(
    running: Running,
) -> None:
    path = running.rules / "small-agency.yaml"
    text = path.read_text(encoding="utf-8")
    if "\n  language:" not in text:
        text = text.replace(
            "  timezone: Europe/Rome\n", "  timezone: Europe/Rome\n  language: it\n"
        )
    path.write_text(text.replace("  language: en\n", "  language: it\n"), encoding="utf-8")
    link = running.link(Role.CLIENT, client="small-agency")
    page = requests.get(link, timeout=10).text  # no Accept-Language: the client's language
    assert 'lang="it"' in page
    assert "Completate" in page
    english = requests.get(link, headers={"Accept-Language": "en-GB,en;q=0.8"}, timeout=10).text
    assert 'lang="en"' in english
    assert 'lang="en"' in requests.get(f"{link}?lang=en", timeout=10).text
    nothing_we_have = {"Accept-Language": "de-DE,fr;q=0.5,*;q=0.1"}
    assert 'lang="it"' in requests.get(link, headers=nothing_we_have, timeout=10).text
    tasks = re.findall(r'href="(/c/[^"]+/tasks/\d+)"', page)
    assert 'lang="it"' in requests.get(running.url + tasks[0], timeout=10).text
    giulia = running.link(Role.ASSISTANT, assistant="giulia")
    hers = requests.get(giulia, timeout=10).text
    assert 'lang="it"' in hers
    assert "presa in carico 2026-12-01 14:00" in hers  # her deadlines' stages in Italian
    assert "acknowledged 2026-12-01" not in hers
    other = running.link(Role.CLIENT, client="solo-consultant")
    assert 'lang="en"' in requests.get(other, timeout=10).text


def test_links_tampered_expired_or_revoked_are_refused(running: Running) -> None:
    link = running.link(Role.CLIENT, client="small-agency")
    token = link.rsplit("/", 1)[1]
    tampered = link[: -len(token)] + token[:-3] + ("x" if token[-3] != "x" else "y") + token[-2:]
    assert requests.get(tampered, timeout=10).status_code == 401
    assert requests.get(link + "x", timeout=10).status_code == 401
    old = running.link(Role.CLIENT, client="small-agency",
                       issued=running.clock.now() - timedelta(days=40))  # fmt: skip
    expired = requests.get(old, timeout=10)
    assert expired.status_code == 401
    assert "expired" in expired.text
    running.revoked.add(_link_id(link, running.clock.now()))
    withdrawn = requests.get(link, timeout=10)
    assert withdrawn.status_code == 401
    assert "withdrawn" in withdrawn.text
    assistant = running.link(Role.ASSISTANT, assistant="giulia")
    as_client = assistant.replace("/a/", "/c/")
    assert requests.get(as_client, timeout=10).status_code == 403
    # An assistant's link for one client opens neither that client's page nor its tasks.
    theirs = running.link(Role.ASSISTANT, client="small-agency", assistant="giulia")
    at_client = theirs.replace("/a/", "/c/")
    assert requests.get(at_client, timeout=10).status_code == 403
    assert requests.get(f"{at_client}/tasks/1900000000000008", timeout=10).status_code == 403
    client = running.link(Role.CLIENT, client="small-agency").replace("/c/", "/a/")
    assert requests.get(client, timeout=10).status_code == 403


def test_an_assistant_link_shows_their_own_tasks(running: Running) -> None:
    giulia = requests.get(running.link(Role.ASSISTANT, assistant="giulia"), timeout=10)
    assert giulia.status_code == 200
    assert "Giulia Bianchi" in giulia.text
    assert "Send November receipts to the accountant" in giulia.text
    marco_only = {d.task_name for d in running.store.delegations("small-agency")
                  if d.assistant == "marco"}  # fmt: skip
    assert marco_only
    assert not any(name in giulia.text for name in marco_only)


def test_what_clients_wrote_is_escaped_everywhere(running: Running) -> None:
    operator = running.operator()
    pages = [
        operator.get(f"{running.url}/ops/journal", timeout=10).text,
        requests.get(running.link(Role.CLIENT, client="small-agency"), timeout=10).text,
        requests.get(running.link(Role.ASSISTANT, assistant="giulia"), timeout=10).text
        + requests.get(running.link(Role.ASSISTANT, assistant="marco"), timeout=10).text,
    ]
    for page in pages:
        assert "<script>" not in page
        assert "&lt;script&gt;" in page, "the hostile task is not on the page"
        assert "{{ 7*7 }}" in page
        assert "49" not in page.split("&lt;script&gt;")[1][:60]


def test_headers_and_traversal(running: Running) -> None:
    page = requests.get(f"{running.url}/", timeout=10)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    css = requests.get(f"{running.url}/static/page.css", timeout=10)
    assert css.status_code == 200
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py",
                 "/static/../../settings.py", "/c/%2e%2e/ops"):  # fmt: skip
        answer = requests.get(f"{running.url}{path}", timeout=10)
        assert answer.status_code in (401, 404), path
        assert "def create_app" not in answer.text


def _link_id(link: str, now: datetime) -> str:
    token = link.rsplit("/", 1)[1]
    return verify_link(token, SECRET, now, lambda _: False).link_id


def test_every_word_of_the_pages_is_in_italian_too() -> None:
    from delegator.statuspage.i18n import MESSAGES

    assert set(MESSAGES["it"]) == set(MESSAGES["en"])
    assert all(text.strip() for text in MESSAGES["it"].values())


def test_a_chart_escapes_its_labels() -> None:
    from delegator.statuspage.charts import Bar, bar_chart

    svg = str(bar_chart([Bar('<b onload="x">', 3, 5)], "<title>"))
    assert "<b onload" not in svg
    assert "&lt;b onload=" in svg
    assert "3/5" in svg


def test_a_tasks_story_shows_why_the_rule_took_it(running: Running) -> None:
    [receipts] = [d for d in running.store.delegations("small-agency")
                  if d.task_name == "Send November receipts to the accountant"]  # fmt: skip
    link = running.link(Role.CLIENT, client="small-agency")
    story = requests.get(f"{link}/tasks/{receipts.task_gid}", timeout=10)
    assert story.status_code == 200
    text = story.text
    assert "Why rule “Invoices and receipts go to the assistants”" in text
    assert "Quadrant: delegate" in text
    assert "quadrant in [delegate, eliminate]" in text
    assert "actual: Send November receipts to the accountant" in text or "actual:" in text
    assert "holds:" in text
    italian = requests.get(f"{link}/tasks/{receipts.task_gid}?lang=it", timeout=10).text
    assert "Perché la regola" in italian


def test_a_clients_page_has_its_covey_matrix_weeks_and_summaries_sent(running: Running) -> None:
    page = requests.get(running.link(Role.CLIENT, client="small-agency"), timeout=10).text
    matrix = page.split("Covey matrix of the open tasks", 1)[1]
    found = {q: int(re.search(rf"{q}: (\d+)", matrix).group(1))  # type: ignore[union-attr]
             for q in ("do", "schedule", "delegate", "eliminate")}  # fmt: skip
    [first] = running.store.cycles("small-agency", limit=1)
    counts = first.counts.to_mapping()
    assert found == {q: counts.get(f"quadrant_{q}", 0) for q in found}
    assert sum(found.values()) > 0
    assert "Delegations per week" in page
    assert "Summaries sent" in page
