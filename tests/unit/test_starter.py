"""The starter files `delegator init` writes, built from a catalogue without any I/O."""

from __future__ import annotations

from datetime import date

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator.asana.catalogue import (
    Catalogue,
    FieldInfo,
    Listing,
    OptionInfo,
    Person,
    ProjectInfo,
    SectionInfo,
    TagInfo,
    WorkspaceInfo,
)
from delegator.core.engine import Engine
from delegator.core.rulefile import parse_client_file
from delegator.core.ruletests import parse_test_file, run_cases
from delegator.core.yamlpos import load
from delegator.sandbox import load_world
from delegator.starter import (
    Answers,
    TokenRef,
    assistant_keys,
    client_key,
    quote,
    rule_file,
    rule_tests,
    token_variable,
    world_file,
)

TODAY = date(2026, 12, 4)  # a Friday
ANNA = Person("101", "Anna Rossi", "anna@studio.example")
GIULIA = Person("102", "Giulia Bianchi", "giulia@va.example")
MARCO = Person("103", "Marco Verdi", "marco@va.example")


def catalogue(
    *,
    name: str = "Studio Rossi",
    projects: tuple[ProjectInfo, ...] = (),
    tags: tuple[TagInfo, ...] = (),
    fields: tuple[FieldInfo, ...] = (),
    people: tuple[Person, ...] = (ANNA, GIULIA, MARCO),
) -> Catalogue:
    return Catalogue(
        WorkspaceInfo("1000", name, True, ("studio.example",)),
        ANNA,
        Listing(projects),
        Listing(tags),
        Listing(fields),
        Listing(people),
    )


def answers(
    *,
    name: str = "Studio Rossi",
    assistants: tuple[Person, ...] = (GIULIA, MARCO),
    projects: tuple[ProjectInfo, ...] = (),
    owner: Person = ANNA,
) -> Answers:
    key = client_key(name)
    return Answers(
        client_name=name,
        client_key=key,
        token=TokenRef(env=token_variable(key)),
        timezone="Europe/Rome",
        owner=owner,
        assistants=assistants,
        projects=projects,
        today=TODAY,
    )


def failures(seen: Catalogue, chosen: Answers) -> list[str]:
    """Every error of the rule file, of its test file, and every failing case."""
    text = rule_file(seen, chosen)
    loaded = parse_client_file(text, "starter.yaml")
    problems = [str(e) for e in loaded.errors]
    if problems:
        return problems
    tests, errors, lines = parse_test_file(rule_tests(seen, chosen), "starter.test.yaml")
    if tests is None:
        return [str(e) for e in errors]
    results = run_cases(tests, Engine(loaded), lines)
    return [f"{r.name}: {r.differences}" for r in results if not r.passed]


def test_the_starter_checks_and_its_tests_pass() -> None:
    assert failures(catalogue(), answers()) == []


def test_the_client_block_names_the_token_variable_and_the_owner() -> None:
    text = rule_file(catalogue(), answers())
    assert 'token: { env: "ASANA_TOKEN_STUDIO_ROSSI" }' in text
    assert 'owner: "anna@studio.example"' in text
    assert 'workspace: "1000"' in text
    head = parse_client_file(text, "x.yaml").head
    assert head is not None
    assert sorted(head.assistants) == ["giulia", "marco"]


def test_the_workspaces_own_words_make_the_matrix_and_the_inbox_rule() -> None:
    admin = ProjectInfo(
        "200",
        "Amministrazione",
        (SectionInfo("301", "In arrivo"), SectionInfo("302", "Fatture")),
    )
    seen = catalogue(
        projects=(admin,),
        tags=(TagInfo("401", "Urgente"), TagInfo("402", "Importante"), TagInfo("403", "Personale")),
        fields=(
            FieldInfo(
                "501",
                "Priorità",
                "enum",
                (OptionInfo("511", "Alta"), OptionInfo("512", "Bassa")),
            ),
        ),
    )
    chosen = answers(projects=(admin,))
    text = rule_file(seen, chosen)
    assert '- tag: "Urgente"' in text
    assert '- tag: "Importante"' in text
    assert 'custom_field: { name: "Priorità", in: ["Alta"] }' in text
    assert 'opt_out_tag: "Personale"' in text
    assert 'section: { project: "Amministrazione", name: "In arrivo" }' in text
    assert 'section: { project: "Amministrazione", name: "Fatture" }' in text
    assert '- project: { name: "Amministrazione" }' in text
    assert failures(seen, chosen) == []


def test_without_assistants_every_rule_only_tags_in_shadow_mode() -> None:
    text = rule_file(catalogue(), answers(assistants=()))
    loaded = parse_client_file(text, "x.yaml")
    assert loaded.errors == ()
    assert {r.rule.mode for r in loaded.rules} == {"shadow"}
    assert "assign:" not in text.split("rules:", 1)[1]
    assert "# No assistant is named yet, so every rule is in shadow mode" in text
    assert failures(catalogue(), answers(assistants=())) == []


def test_projects_whose_names_cannot_say_which_are_watched_by_gid() -> None:
    twins = (ProjectInfo("201", "Admin"), ProjectInfo("202", "admin"), ProjectInfo("203", "2027"))
    text = rule_file(catalogue(projects=twins), answers(projects=twins))
    assert '- project: { gid: "201" }' in text
    assert '- project: { gid: "202" }' in text
    assert '- project: { gid: "203" }' in text


def test_keys_and_variables_are_slugs_of_the_names() -> None:
    assert client_key("Caffè Rossi & Figli") == "caffe-rossi-figli"
    assert token_variable("caffe-rossi-figli") == "ASANA_TOKEN_CAFFE_ROSSI_FIGLI"
    assert client_key("2027 S.r.l.") == "s-r-l"
    assert client_key("東京") == "client"
    keys = assistant_keys(
        [GIULIA, Person("9", "Giulia Neri", None), Person("8", "", "x@y.example")]
    )
    assert list(keys) == ["giulia", "giulia-2", "x"]


def test_the_world_holds_the_workspace_people_and_sample_tasks() -> None:
    ops = ProjectInfo("200", "Operations", (SectionInfo("301", "Inbox"),))
    seen = catalogue(projects=(ops,), tags=(TagInfo("401", "urgent"),))
    world = load_world(yaml.safe_load(world_file(seen, answers(projects=(ops,)))), today=TODAY)
    assert world.workspace("1000").name == "Studio Rossi"
    assert world.project("200").name == "Operations"
    assert world.task("Pay invoice #1042 from the web host").due_on == TODAY
    assert world.user("anna@studio.example").tokens == ["sandbox-studio-rossi-1"]
    assert sorted(world.tokens) == [f"sandbox-studio-rossi-{n}" for n in (1, 2, 3)]


# ---------------------------------------------------------------- any names Asana may hold

SPECIAL = st.sampled_from(
    ["yes", "no", "null", "~", "true", "- x", "a: b", "# c", "'", '"', "\\", "@x", "*a", "&b",
     "!t", "%p", "{x}", "[y]", "|", ">", "", " ", "0x1F", "1e3", "2026-12-01", "\x85", "\u2028",
     "\ufeff", "\t", "é", "🙂", "a\nb", "---", "..."]
)  # fmt: skip
NAMES = st.one_of(SPECIAL, st.text(max_size=20), st.lists(SPECIAL, max_size=3).map("".join))
# Asana's gids are unique across a workspace's objects: none drawn is one of the fixed people's.
GIDS = (
    st.integers(min_value=1, max_value=10**15).filter(lambda n: n not in (101, 102, 103)).map(str)
)


@st.composite
def workspaces(draw: st.DrawFn) -> tuple[Catalogue, Answers]:
    gids = iter(draw(st.lists(GIDS, min_size=40, max_size=40, unique=True)))
    people = tuple(
        Person(next(gids), draw(NAMES), draw(st.sampled_from([None, f"p{n}@va.example"])))
        for n in range(draw(st.integers(0, 3)))
    )
    projects = tuple(
        ProjectInfo(
            next(gids),
            draw(NAMES),
            (
                SectionInfo(next(gids), draw(st.sampled_from(["Inbox", "Fatture", "Bookings"]))),
                SectionInfo(next(gids), draw(NAMES)),
            ),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    tags = tuple(TagInfo(next(gids), draw(NAMES)) for _ in range(draw(st.integers(0, 3))))
    options = tuple(OptionInfo(next(gids), draw(NAMES)) for _ in range(draw(st.integers(0, 2))))
    fields = (
        FieldInfo(next(gids), draw(st.sampled_from(["Priority", "Priorità"])), "enum",
                  (*options, OptionInfo(next(gids), "High"))),
        FieldInfo(next(gids), draw(NAMES), draw(st.sampled_from(["enum", "text", "people"])),
                  (OptionInfo(next(gids), draw(NAMES)),)),
    )  # fmt: skip
    seen = Catalogue(
        WorkspaceInfo(next(gids), draw(NAMES)),
        ANNA,
        Listing(projects),
        Listing(tags),
        Listing(fields),
        Listing((ANNA, *people)),
    )
    chosen = answers(
        name=draw(NAMES).strip() or "Client",
        assistants=people,
        projects=draw(st.sampled_from([projects, projects[:1], ()])),
    )
    return seen, chosen


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces())
def test_any_workspace_gives_a_valid_file_whose_tests_pass(
    drawn: tuple[Catalogue, Answers],
) -> None:
    seen, chosen = drawn
    assert failures(seen, chosen) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workspaces())
def test_any_workspace_gives_a_world_the_sandbox_loads(drawn: tuple[Catalogue, Answers]) -> None:
    seen, chosen = drawn
    world = load_world(yaml.safe_load(world_file(seen, chosen)), today=TODAY)
    assert world.user(ANNA.email or "").tokens == ["sandbox-" + chosen.client_key + "-1"]


@given(st.text())
def test_a_quoted_name_reads_back_as_written(name: str) -> None:
    assert load(f"key: {quote(name)}\n").data == {"key": name}
