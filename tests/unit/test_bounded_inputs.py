"""Bounded inputs: YAML and JSON past a limit, bad tags and dates, odd paths: located errors,
quickly, in little memory, never a traceback."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from delegator.core.boundedjson import JsonInputError, load_json
from delegator.core.rulefile import parse_client_file
from delegator.core.yamlpos import Limits, Position, YamlSyntaxError, load
from delegator.rulesource import read_client_file

CORPUS = Path(__file__).parent / "corpus"
EXAMPLE = Path("examples/solo-consultant.yaml")


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines.extend(
        f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)
    )
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_one_located_error_within_a_second_and_a_few_mb() -> None:
    text = billion_laughs()
    assert len(text) < 2500
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(YamlSyntaxError) as caught:
            load(text)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 5_000_000
    assert caught.value.position.line > 1
    assert "aliases bring in more than 100,000 values" in caught.value.message


def test_aliases_share_values_and_errors_inside_them_point_where_they_were_written() -> None:
    doc = load("base: &b\n  when: {tag: a}\n  then: [x]\nuse: *b\n")
    assert doc.data["use"] is doc.data["base"]
    assert doc.position_of(("use",)) == Position(4, 6)
    assert doc.position_of(("use", "when", "tag")) == Position(2, 15)


def test_merge_keys_merge_and_keys_written_win() -> None:
    doc = load("d: &d {a: 1, b: 2}\nm:\n  <<: *d\n  b: 3\n")
    assert doc.data["m"] == {"a": 1, "b": 3}
    assert doc.position_of(("m", "a"), key=True) == Position(1, 8)
    assert not doc.problems


@pytest.mark.parametrize(
    ("text", "limits", "message"),
    [
        ("x: " + "[" * 80 + "]" * 80, Limits(), "nested more than 64 levels deep"),
        ("[" + ", ".join(["1"] * 50) + "]", Limits(max_nodes=20), "more than 20 values"),
        ("a: &a 1\nb: [*a, *a, *a]\n", Limits(max_aliases=2), "more than 2 aliases"),
        ("x: " + "y" * 200, Limits(max_chars=100), "more than the 100 characters"),
        ("a: &a [*a]\n", Limits(), "inside the value it names"),
        ("a: *nowhere\n", Limits(), "names no anchor"),
        ("a: &x 1\nb: &x 2\n", Limits(), "the anchor 'x' is defined twice"),
        ("a: 1\n---\nb: 2\n", Limits(), "expected a single document"),
    ],
)
def test_yaml_past_a_limit_is_one_located_error(text: str, limits: Limits, message: str) -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load(text, limits)
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("!!int abc", "'abc' is not a whole number"),
        ("!!float x", "'x' is not a number"),
        ("!!timestamp 5m", "'5m' is not a date or a time"),
        ("2026-02-30", "'2026-02-30' is not a date or a time: day is out of range for month"),
        ("0000-01-01", "'0000-01-01' is not a date or a time: year 0 is out of range"),
        ("!foo bar", "unknown tag !foo"),
        ("!!python/object:os.system x", "unknown tag"),
        ("!!map x", "unknown tag !!map"),
    ],
)
def test_a_value_its_tag_cannot_make_is_a_problem_at_its_place(value: str, message: str) -> None:
    doc = load(f"a: 1\nb: {value}\n")  # raised (ValueError, AttributeError...) before
    assert doc.data["b"] == value.split(" ", 1)[-1]  # kept as the text written
    [problem] = doc.problems
    assert problem.message.startswith(message)
    assert problem.position == Position(2, 4)


def _rule_file(**replace: str) -> str:
    text = EXAMPLE.read_text()
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    return text


def test_a_bad_value_in_a_rule_leaves_that_rule_out_and_the_others_run() -> None:
    text = _rule_file(**{"    minutes: 20\n": "    minutes: !!int twenty\n"})
    loaded = parse_client_file(text, "solo.yaml")
    assert loaded.usable
    assert [e.message for e in loaded.errors] == ["'twenty' is not a whole number"]
    assert loaded.left_out == ((0, "Admin paperwork to Sam"),)
    assert len(loaded.rules) == 2


def test_a_bad_value_in_the_head_makes_the_file_unusable_with_one_error() -> None:
    text = _rule_file(**{"  owner: me\n": "  owner: me\n  holidays: [2026-02-30]\n"})
    loaded = parse_client_file(text, "solo.yaml")
    assert not loaded.usable
    [error] = loaded.errors
    assert str(error) == (
        "solo.yaml:12:14: client.holidays[0]: '2026-02-30' is not a date or a time: "
        "day is out of range for month"
    )


@pytest.mark.parametrize(
    ("zone", "message"),
    [
        ("A" * 300, "300 characters is longer than any time zone name"),
        ("America", "unknown time zone 'America'"),
        ("../etc/x", "unknown time zone '../etc/x'"),
    ],
)
def test_time_zones_that_are_no_time_zone_are_located_errors(zone: str, message: str) -> None:
    text = _rule_file(**{"timezone: Europe/Berlin": f'timezone: "{zone}"'})
    loaded = parse_client_file(text, "solo.yaml")  # OSError before, for the first two
    [error] = loaded.errors
    assert error.key_path == "client.timezone"
    assert message in error.message


def test_unreadable_paths_are_errors_of_their_file(tmp_path: Path) -> None:
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "binary.yaml").write_bytes(bytes(range(256)))
    cases = {
        "folder.yaml": "cannot read the file: it is a folder, not a file",
        "binary.yaml": "cannot read the file: not UTF-8 text (byte 129 cannot be read)",
        "missing.yaml": "cannot read the file: No such file or directory",
    }
    for name, message in cases.items():
        [error] = read_client_file(tmp_path / name).errors
        assert str(error).startswith(f"{tmp_path / name}:1:1: {message}")


def test_json_nested_too_deep_is_located_and_refused_before_parsing() -> None:
    with pytest.raises(JsonInputError) as caught:
        load_json("[" * 5000 + "]" * 5000)  # RecursionError before
    assert str(caught.value) == "1:101: nested more than 100 levels deep"
    assert load_json('{"a": "[[[[[["}') == {"a": "[[[[[["}
    with pytest.raises(JsonInputError, match=r"^2:1: not valid JSON"):
        load_json('{"a":\n')


def test_every_corpus_file_loads_to_errors_or_data_quickly() -> None:
    files = sorted(p for p in CORPUS.iterdir() if p.suffix == ".yaml")
    assert len(files) >= 15
    for path in files:
        started = time.perf_counter()
        loaded = read_client_file(path)
        assert time.perf_counter() - started < 2.0, path
        for error in loaded.errors:
            assert error.line >= 1
            assert error.column >= 1
            assert str(error).startswith(f"{path}:")
