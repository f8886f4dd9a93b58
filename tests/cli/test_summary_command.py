"""`delegator summary` previews and sends, and `delegator demo` ends with a summary and a digest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from delegator.cli import main
from delegator.rulesource import read_client_file
from delegator.sandbox import SandboxServer

EXAMPLES = Path("examples")


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer.demo() as server:
        monkeypatch.setenv("DELEGATOR_CONFIG", str(tmp_path / "no-config.yaml"))
        monkeypatch.setenv("DELEGATOR_ASANA_BASE_URL", server.base_url)
        monkeypatch.setenv("DELEGATOR_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
        monkeypatch.setenv("DELEGATOR_RULES_DIR", str(EXAMPLES))
        monkeypatch.setenv("DELEGATOR_LOG_FORMAT", "json")
        monkeypatch.setenv("DELEGATOR_LOG_LEVEL", "warning")
        monkeypatch.setenv("ASANA_TOKEN_NORTHWIND", server.token("anna@northwind.example"))
        monkeypatch.setenv("ASANA_TOKEN_FISCHER", server.token("lena@fischer-consulting.example"))
        yield server


def writes(sandbox: SandboxServer) -> int:
    """Requests that change something (a /batch of reads is a POST that changes nothing)."""
    return sum(
        1
        for e in sandbox.requests.entries()
        if e.method in ("POST", "PUT", "DELETE") and not e.path.endswith("/batch")
    )


def status_updates(sandbox: SandboxServer) -> int:
    return sum(
        1
        for e in sandbox.requests.entries()
        if e.method == "POST" and e.path.endswith("/status_updates")
    )


def test_summary_previews_after_a_cycle_and_sends_nothing(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once", "--client", "small-agency"]) == 0
    capsys.readouterr()
    writes_before = writes(sandbox)
    assert main(["summary", "--client", "small-agency", "--period", "7d", "--digests"]) == 0
    out = capsys.readouterr().out
    assert "# Northwind Studio" in out
    # The agency writes to its people in Italian (examples/small-agency.yaml: language: it).
    for section in (
        "**Attività delegate:",
        "**In ritardo",
        "**Matrice di Covey",
        "**Assistenti:**",
    ):
        assert section in out
    assert "le tue attività" in out  # the assistants' digests
    assert "https://app.asana.com/" in out
    assert writes(sandbox) == writes_before  # a preview writes nothing


def test_summary_as_json_and_as_asana_rich_text(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once", "--client", "solo-consultant"]) == 0
    capsys.readouterr()
    assert main(["summary", "--client", "solo-consultant", "--format", "json"]) == 0
    [data] = json.loads(capsys.readouterr().out)["clients"]
    assert data["client"] == "solo-consultant"
    assert len(data["summary"]["delegated"]) > 0
    assert data["summary"]["status_type"] in ("on_track", "at_risk", "off_track")
    assert main(["summary", "--client", "solo-consultant", "--format", "asana"]) == 0
    out = capsys.readouterr().out
    assert "<body>" in out
    assert "</body>" in out


def test_summary_send_posts_once_to_each_destination(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once", "--client", "solo-consultant"]) == 0
    capsys.readouterr()
    assert main(["summary", "--client", "solo-consultant", "--send"]) == 0
    out = capsys.readouterr().out
    assert "solo-consultant: summary sent -> asana_status:Clients" in out
    assert status_updates(sandbox) == 1
    update = sandbox.world.project("Clients").status_updates[-1]
    assert "Fischer Consulting" in update.title


def test_summary_send_reports_a_destination_that_fails(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # small-agency also mails the summary, and no SMTP server is configured here.
    assert main(["summary", "--client", "small-agency", "--send"]) == 1
    out = capsys.readouterr().out
    assert "sent -> asana_status:Operations" in out
    assert "gave_up -> email:anna@northwind.example: email needs the smtp.host setting" in out


def test_summary_rejects_a_bad_period(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", "--period", "3 business days"]) == 2
    assert "--period" in capsys.readouterr().err


def test_summary_of_an_unknown_client(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", "--client", "nobody"]) == 1
    assert "no client 'nobody'" in capsys.readouterr().err


def test_the_demo_ends_with_a_summary_posted_to_asana_and_a_digest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    # the follow-up scene: a reminder, an escalation, a bounce and an undo, each said once. It
    # follows a booking, which only Giulia takes: while she is away (the example's dates, in
    # real time) there is none to follow.
    if not _giulia_away_today():
        scene = out[out.index('The follow-up: reminders, escalation, "not for me", undo') :]
        scene = scene[: scene.index("== ", 3)]
        # The scene's narration is English; what the service posts is in the client's Italian.
        assert ", a reminder to " in scene
        assert ":\n      Promemoria: questa attività va presa in carico" in scene
        assert ", missed: escalated to the owner:\n      " in scene
        assert " non ha ancora preso in carico questa attività: era attesa entro " in scene
        assert "and tagged late, the owner following the task" in scene
        assert 'comments "Non fa per me: serve la firma del titolare"' in scene
        assert "ha restituito questa attività: serve la firma del titolare. Torna a te" in scene
        assert "`delegator undo --task " in scene
        assert "took back " in scene
        assert ", failed 0, " in scene
    summary = out[out.index("the client's summary") :]
    assert "# Northwind Studio" in summary
    assert "**Completate: 1**" in summary
    if not _giulia_away_today():
        assert "**Scadenze mancate (" in summary
        assert "da rivedere?" in summary
        assert ", segnalata al titolare" in summary
        assert "restituita da Giulia Bianchi: serve la firma del titolare" in summary
    assert "**Tempo restituito:**" in summary
    assert "Posted to Asana as a status update on Operations" in summary
    assert "An assistant's digest" in summary
    assert ": le tue attività, " in summary


def _giulia_away_today() -> bool:
    head = read_client_file(Path("examples") / "small-agency.yaml").head
    assert head is not None
    today = datetime.now(ZoneInfo(head.client.timezone)).date()
    return any(today in period for period in head.assistants["giulia"].away)
