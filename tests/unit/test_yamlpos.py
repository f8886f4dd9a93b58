from __future__ import annotations

import pytest

from delegator.core.yamlpos import Position, YamlSyntaxError, format_path, load, trace_key


def test_positions_of_keys_and_values_are_one_based() -> None:
    doc = load("client:\n  name: Acme\nrules:\n  - name: x\n    when: {tag: a}\n")
    assert doc.values[("client", "name")] == Position(2, 9)
    assert doc.keys[("client", "name")] == Position(2, 3)
    assert doc.values[("rules", 0, "when", "tag")] == Position(5, 17)


def test_position_of_a_path_not_written_falls_back_to_its_nearest_parent() -> None:
    doc = load("rules:\n  - name: x\n")
    assert doc.position_of(("rules", 0, "when", "all", 3)) == Position(2, 5)


def test_duplicate_keys_are_reported_where_the_second_one_is() -> None:
    doc = load("a: 1\nb: 2\na: 3\n")
    assert doc.data == {"a": 1, "b": 2}
    [problem] = doc.problems
    assert problem.position == Position(3, 1)
    assert problem.message == "duplicate key 'a' (first written at line 1)"


def test_non_text_keys_are_kept_as_written() -> None:
    doc = load("on: 1\n2026-01-01: x\n")
    assert doc.data == {"on": 1, "2026-01-01": "x"}


def test_text_that_is_not_yaml_gives_one_error_where_the_parser_stopped() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load("client:\n  name: [unclosed\n")
    assert caught.value.position.line == 3
    assert caught.value.message.startswith("not valid YAML:")


def test_paths_print_for_people_and_for_traces() -> None:
    path = ("rules", 0, "when", "all", 2)
    assert format_path(path) == "rules[0].when.all[2]"
    assert trace_key(path) == "rules/0/when/all/2"
