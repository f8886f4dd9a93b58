"""``delegator sandbox``: runs the server, says where and who can log in, stops cleanly."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from delegator.cli import sandbox as sandbox_command

REPO = Path(__file__).resolve().parents[2]


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="delegator")
    sandbox_command.register(parser.add_subparsers())
    return parser.parse_args(["sandbox", *argv])


def wait_for(pattern: str, out: io.StringIO) -> re.Match[str]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = re.search(pattern, out.getvalue())
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError(f"{pattern!r} never appeared in:\n{out.getvalue()}")


def test_options_and_their_defaults() -> None:
    args = parse()
    assert (args.seed, args.port, args.host, args.today, args.quiet) == (
        None,
        0,
        "127.0.0.1",
        None,
        False,
    )
    assert args.handler is sandbox_command.run
    args = parse("--seed", "w.yaml", "--port", "8123", "--today", "2026-12-01", "--quiet")
    assert (str(args.seed), args.port, args.today.isoformat(), args.quiet) == (
        "w.yaml",
        8123,
        "2026-12-01",
        True,
    )


def test_serves_the_demo_world_prints_tokens_and_requests_until_stopped() -> None:
    out = io.StringIO()
    stop = threading.Event()
    codes: list[int] = []
    runner = threading.Thread(
        target=lambda: codes.append(sandbox_command.serve(parse(), stop, out))
    )
    runner.start()
    try:
        base_url = wait_for(r"Asana sandbox at (http://127\.0\.0\.1:\d+/api/1\.0)", out).group(1)
        response = requests.get(
            f"{base_url}/users/me",
            headers={"Authorization": "Bearer sandbox-token-giulia"},
            timeout=5,
        )
        assert response.json()["data"]["name"] == "Giulia Bianchi"
        wait_for(r"200 GET /users/me user=1100000000000102", out)
    finally:
        stop.set()
        runner.join(timeout=5)
    assert codes == [0]
    text = out.getvalue()
    assert "sandbox-token-anna               Anna Rossi <anna@northwind.example> (client)" in text
    assert "sandbox-token-sam" in text
    assert text.rstrip().endswith("Sandbox stopped.")


def test_a_fixture_of_ones_own(tmp_path: Path) -> None:
    seed = tmp_path / "mine.json"
    seed.write_text(
        json.dumps(
            {
                "workspaces": [
                    {
                        "name": "Mine",
                        "users": [{"name": "Me", "email": "me@x.example", "token": "t-me"}],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    out = io.StringIO()
    stop = threading.Event()
    stop.set()  # serve, print, and stop at once
    assert sandbox_command.serve(parse("--seed", str(seed), "--quiet"), stop, out) == 0
    assert "t-me" in out.getvalue()
    assert "Me <me@x.example>, Mine" in out.getvalue()


def test_a_broken_fixture_is_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "broken.yaml"
    seed.write_text("workspaces:\n  - name: A\n    users: [{name: B}]\n", encoding="utf-8")
    out = io.StringIO()
    assert sandbox_command.serve(parse("--seed", str(seed)), threading.Event(), out) == 2
    assert out.getvalue() == ""
    assert capsys.readouterr().err == (
        "delegator sandbox: workspaces[0].users[0].email: required: a non-empty string\n"
    )


def test_sigterm_stops_the_command(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-m", "delegator", "sandbox", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Asana sandbox at http://127.0.0.1:")
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors
    assert rest.rstrip().endswith("Sandbox stopped.")
