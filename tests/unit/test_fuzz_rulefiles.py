"""Property-based tests: whatever text a rule file, a test file or a settings file holds, the
loaders give data or located errors, never an exception, in bounded time; `check` exits 0, 1
or 2 and prints no traceback."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from delegator.cli import main
from delegator.core.boundedjson import JsonInputError, load_json
from delegator.core.rulefile import parse_client_file
from delegator.core.ruletests import parse_test_file
from delegator.settings import SettingsError, load_settings

CORPUS = Path(__file__).parent / "corpus"
EXAMPLE = Path("examples/solo-consultant.yaml").read_text()
FAST = settings(
    max_examples=60,
    deadline=2000,  # ms per example: a slow input is a failure
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,  # the same examples on every run: the suite stays quick and stable
)

# Pieces of YAML that have broken loaders: tags, anchors, aliases, merges, odd dates, flow.
TOKENS = [
    "&a ", "*a", "&b ", "*b", "!!int ", "!!float ", "!!timestamp ", "!!binary ", "!!set ",
    "!!map ", "!!seq ", "!!str ", "!!null ", "!!bool ", "!foo ", "!!python/object:os.system ",
    "<<: ", "<<: *a", "? ", ": ", "- ", "[", "]", "{", "}", ",", "\n", "  ", "    ", "\t",
    "2026-02-30", "0000-01-01", "2026-01-01T25:00:00", "5m", "~", "null", "yes", "on", "'",
    '"', "---\n", "...\n", "%YAML 1.1\n", "# c\n", "|\n", ">\n", "\x00", "\ufeff", "é",
    "rules", "when", "then", "client", "version: 1", "timezone", "holidays", "poll", "name",
    "tag", "assign", "comment", "{{ task.name }}", "{% if %}", "A" * 70, "9" * 30,
]  # fmt: skip
yaml_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.dates(),
    st.sampled_from(["2026-02-30", "0000-01-01", "!!int abc", "5m", "Europe/Rome", "me"]),
)
KEYS = st.sampled_from(
    ["version", "client", "name", "workspace", "token", "env", "timezone", "owner", "holidays",
     "watch", "poll", "assistants", "user", "skills", "capacity", "rules", "when", "then", "all",
     "any", "not", "tag", "assign", "pool", "comment", "due", "summary", "digest", "schedule",
     "to", "matrix", "urgent", "important", "x"]
)  # fmt: skip
structures = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


def _check(text: str) -> None:
    loaded = parse_client_file(text, "fuzz.yaml")
    for error in loaded.errors:
        assert error.line >= 1
        assert error.column >= 1
        assert error.message


@FAST
@given(yaml_soup)
@example("a: &a [*a]\n")
@example("x: !!timestamp 5m\n")
@example("? [a]\n: 1\n<<: [1]\n")
def test_yaml_soup_never_raises(text: str) -> None:
    _check(text)
    parse_test_file(text, "fuzz.test.yaml")


@FAST
@given(st.text(max_size=200))
def test_any_text_never_raises(text: str) -> None:
    _check(text)


@FAST
@given(structures)
def test_any_structure_dumped_as_yaml_never_raises(data: Any) -> None:
    _check(yaml.safe_dump(data, allow_unicode=True))


@FAST
@given(st.dictionaries(KEYS, structures, max_size=4), st.sampled_from(["rules", "client", "watch"]))
def test_the_example_with_a_part_replaced_never_raises(extra: dict[str, Any], part: str) -> None:
    data = yaml.safe_load(EXAMPLE)
    data[part] = extra
    _check(yaml.safe_dump(data, allow_unicode=True))


@settings(FAST, max_examples=15)
@given(yaml_soup | st.text(max_size=80))
def test_check_exits_0_1_or_2_without_a_traceback(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["check", str(path)])
    assert code in (0, 1, 2)
    assert "Traceback" not in out.getvalue() + err.getvalue()


def test_check_of_the_whole_corpus_exits_1_without_a_traceback() -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", str(CORPUS)])
    assert code == 1
    assert "Traceback" not in out.getvalue() + err.getvalue()


@FAST
@given(
    st.text(max_size=200)
    | st.lists(st.sampled_from(list('[]{}",:0 \\"tx')), max_size=200).map("".join)
)
def test_json_gives_a_value_or_a_located_error(text: str) -> None:
    error: JsonInputError | None = None
    try:
        load_json(text, max_depth=20)
    except JsonInputError as exc:
        error = exc
    if error is not None:
        assert error.line >= 1
        assert error.column >= 1


SETTING_KEYS = st.sampled_from(
    ["rules", "dir", "database", "url", "asana", "requests_per_minute", "reconcile_every",
     "log", "level", "format", "http", "port", "shutdown", "grace", "smtp", "starttls", "colour"]
)  # fmt: skip
ENV_NAMES = st.sampled_from(
    ["DELEGATOR_HTTP_PORT", "DELEGATOR_LOG_LEVEL", "DELEGATOR_LOG_LEVLE", "DELEGATOR_X",
     "DELEGATOR_SHUTDOWN_GRACE", "DELEGATOR_SMTP_STARTTLS", "DELEGATOR_HTTP_PORT_FILE"]
)  # fmt: skip


@FAST
@given(
    st.dictionaries(SETTING_KEYS, structures, max_size=4) | yaml_soup,
    st.dictionaries(ENV_NAMES, st.text(max_size=10), max_size=3),
)
def test_settings_give_settings_or_a_settings_error(
    written: dict[str, Any] | str, environ: dict[str, str]
) -> None:
    text = written if isinstance(written, str) else yaml.safe_dump(written)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "delegator.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        environ = {k: v.replace("\x00", "") for k, v in environ.items()}
        environ.pop("DELEGATOR_HTTP_PORT_FILE", None)
        message = "loaded"
        try:
            load_settings(path, environ, warn=None)
        except SettingsError as exc:
            message = str(exc)
    assert message
