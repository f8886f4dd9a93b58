"""Rules mined from the owner's history: words folded (accents, plurals, Italian and English),
greedy covering with thresholds, scores by the real engine, and a rule file that stays valid."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from delegator.core.context import Directory, Identity
from delegator.core.model import Membership, Ref, Task, UserRef
from delegator.core.rulefile import parse_client_file
from delegator.core.rulemining import (
    AppendError,
    Example,
    Mined,
    append_rules,
    name_words,
    stat_line,
    stem,
    suggest,
)
from examplefiles import in_english

ROOT = Path(__file__).resolve().parents[2]
# The agency in English: the names and descriptions asserted here are English.
AGENCY = in_english((ROOT / "examples" / "small-agency.yaml").read_text(encoding="utf-8"))
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
ANNA = Identity("101", "anna@northwind.example", "Anna Rossi")
DIRECTORY = Directory(
    ANNA,
    {
        "giulia": Identity("102", "giulia@va-agency.example", "Giulia Bianchi"),
        "marco": Identity("103", "marco@va-agency.example", "Marco Verdi"),
    },
)
CLIENT_ADMIN = Ref("202", "Client Admin")


def task(gid: int, name: str, section: str | None = None, tags: tuple[str, ...] = ()) -> Task:
    memberships = (Membership(CLIENT_ADMIN, Ref(f"3{gid}", section)),) if section else ()
    return Task(
        str(gid),
        name,
        assignee=UserRef("102", "Giulia Bianchi"),
        completed=True,
        completed_at=NOW,
        projects=(CLIENT_ADMIN,) if section else (),
        memberships=memberships,
        tags=tuple(Ref(f"4{i}", t) for i, t in enumerate(tags)),
    )


def handed(gid: int, name: str, to: str = "giulia", section: str | None = None) -> Example:
    return Example(task(gid, name, section), to)


def kept(gid: int, name: str, section: str | None = None) -> Example:
    return Example(task(gid, name, section), None)


# Invoices (Italian and English) to Giulia, bookings to Marco, strategy and client work kept.
HISTORY = [
    handed(1, "Pagare la fattura Aruba", section="Invoices"),
    handed(2, "Send invoice to Harbor Books", section="Invoices"),
    handed(3, "Fattura Bluebird Cafe: acconto"),
    handed(4, "Pay invoice #1987 from Adobe"),
    handed(5, "Registrare le fatture di agosto"),
    handed(6, "Invoices from the print shop"),
    handed(7, "Pay the Hetzner bill"),
    handed(11, "Prenotazione hotel a Milano", "marco"),
    handed(12, "Book a hotel in Bologna", "marco"),
    handed(13, "Prenotazioni ristorante per la cena", "marco"),
    handed(14, "Hotels for the offsite", "marco"),
    kept(21, "Strategy review for Q4"),
    kept(22, "Check the new invoice template design"),
    kept(23, "Call with Bluebird Cafe about the rebrand"),
    kept(24, "Interview a senior designer"),
    kept(25, "Write the proposal for Fenwick Gallery"),
]


def mined(examples: list[Example], text: str = AGENCY) -> Mined:
    return suggest(text, "agency.yaml", examples, now=NOW, directory=DIRECTORY)


# ---------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("invoice", "invoices"),
        ("fattura", "fatture"),
        ("prenotazione", "prenotazioni"),
        ("hotel", "hotels"),
        ("ricevuta", "ricevute"),
        ("delivery", "deliveries"),
        ("tax", "taxes"),
    ],
)
def test_a_plural_is_the_same_word(one: str, other: str) -> None:
    assert stem(one) == stem(other)


def test_words_are_casefolded_accents_removed_stop_words_and_numbers_dropped() -> None:
    words = name_words("Pagare la FATTURA n. 2041 della Città di Milano")
    assert [w.stem for w in words] == ["pagar", "fattur", "citt", "milan"]
    assert [w.surface for w in words] == ["pagare", "fattura", "città", "milano"]
    assert [w.stem for w in name_words("The invoices for the hotel")] == ["invoic", "hotel"]


# ---------------------------------------------------------------------- mining and scores


def test_invoices_and_bookings_handed_off_by_hand_are_suggested_with_exact_scores() -> None:
    result = mined(HISTORY)
    assert (result.delegated, result.kept) == (11, 5)
    assert [s.name for s in result.suggestions] == [
        "Suggested: fattura or invoice or pay to giulia",
        "Suggested: hotel or prenotazione to marco",
    ]
    invoices, bookings = result.suggestions
    assert invoices.score.line == "precision 7/8 (88%), recall 7/7 (100%)"
    assert [m.name for m in invoices.score.wrong] == ["Check the new invoice template design"]
    assert invoices.score.missed == ()
    assert bookings.score.line == "precision 4/4 (100%), recall 4/4 (100%)"
    assert bookings.score.missed == bookings.score.wrong == ()
    assert '"\\\\b(fattur\\\\w*|invoice\\\\w*|pay\\\\w*)"' in invoices.yaml
    assert 'assign: { to: "giulia" }' in invoices.yaml
    assert "mode: shadow" in invoices.yaml
    assert "7 of the 8 tasks like this went to giulia" in invoices.yaml


def test_the_statistics_say_which_words_separate_hand_offs_from_kept_tasks() -> None:
    result = mined(HISTORY)
    lines = [stat_line(w, result.delegated, result.kept) for w in result.words]
    assert "fattura/fatture: 3 of 11 delegated, 0 of 5 kept" in lines
    assert "invoice/invoices: 3 of 11 delegated, 1 of 5 kept" in lines
    assert "hotel/hotels: 3 of 11 delegated, 0 of 5 kept" in lines


def test_the_score_is_the_engines_on_the_rule_as_printed() -> None:
    """The figures come from compiling the printed YAML into the file and deciding each task:
    the regex as written (no trailing word boundary) also takes "Payroll"."""
    history = [*HISTORY, kept(26, "Payroll questions for the accountant")]
    invoices = mined(history).suggestions[0]
    assert invoices.score.line == "precision 7/9 (78%), recall 7/7 (100%)"
    assert sorted(m.name for m in invoices.score.wrong) == [
        "Check the new invoice template design",
        "Payroll questions for the accountant",
    ]


def test_words_of_different_topics_for_the_same_assistant_stay_separate_rules() -> None:
    """Invoices and hotels both go to Giulia: without a name or a section in common they are
    two rules, each readable, not one "fattura or hotel"."""
    history = [
        handed(1, "Fattura Aruba"), handed(2, "Fattura Adobe"), handed(3, "Fatture di agosto"),
        handed(4, "Hotel a Milano"), handed(5, "Hotel in Bologna"), handed(6, "Hotels in Rome"),
        kept(7, "Strategy"), kept(8, "Proposal"),
    ]  # fmt: skip
    assert [s.name for s in mined(history).suggestions] == [
        "Suggested: fattura to giulia",
        "Suggested: hotel to giulia",
    ]


def test_a_world_with_no_pattern_gets_no_suggestion() -> None:
    history = [
        handed(1, "Alpha one", "giulia"),
        kept(2, "Alpha two"),
        handed(3, "Beta three", "marco"),
        kept(4, "Beta four"),
        handed(5, "Gamma five", "giulia"),
        kept(6, "Gamma six"),
        handed(7, "Delta seven", "marco"),
        kept(8, "Delta eight"),
    ]
    assert mined(history).suggestions == ()


def test_a_rule_that_would_match_everything_is_never_suggested() -> None:
    """Every task, handed off or not, sits in the same project: no suggestion says 'all'."""
    history = [handed(i, f"Thing {w}", section="Inbox") for i, w in enumerate("abcde", 1)]
    assert mined(history).suggestions == ()
    assert mined([]).suggestions == ()


def test_a_section_is_suggested_when_the_names_say_nothing() -> None:
    history = [
        handed(1, "Aruba", section="Invoices"),
        handed(2, "Hetzner", section="Invoices"),
        handed(3, "Adobe", section="Invoices"),
        kept(4, "Harbor", section="To do"),
        kept(5, "Fenwick", section="To do"),
    ]
    (only,) = mined(history).suggestions
    assert 'section: { project: "Client Admin", name: "Invoices" }' in only.yaml
    assert only.score.line == "precision 3/3 (100%), recall 3/3 (100%)"


def test_a_name_with_quotes_and_control_characters_is_quoted_so_the_file_still_loads() -> None:
    odd = 'Fat\x07ture: "2026" #1\u2028\ufffe'
    history = [handed(i, f"x{i}", section=odd) for i in (1, 2, 3)] + [kept(4, "y")]
    (only,) = mined(history).suggestions
    assert only.score.line == "precision 3/3 (100%), recall 3/3 (100%)"
    parsed = parse_client_file(append_rules(AGENCY, only.yaml), "agency.yaml")
    assert parsed.valid, parsed.errors
    assert parsed.rules[-1].rule.name == f"Suggested: section {odd} of Client Admin to giulia"


def test_tags_the_rules_add_and_the_opt_out_tag_are_not_features() -> None:
    history = [Example(task(i, f"x{i}", tags=("delegated",)), "giulia") for i in range(1, 5)] + [
        kept(9, "y")
    ]
    assert mined(history).suggestions == ()


# ---------------------------------------------------------------------- the file


def test_the_suggestions_appended_to_the_file_pass_check_and_keep_its_comments() -> None:
    result = mined(HISTORY)
    combined = append_rules(AGENCY, result.block)
    parsed = parse_client_file(combined, "agency.yaml")
    assert parsed.valid, parsed.errors
    assert [r.rule.name for r in parsed.rules][-2:] == [s.name for s in result.suggestions]
    assert combined.startswith(AGENCY.rstrip("\n"))
    assert "# Every Friday at 17:00 (Rome)" in combined


def test_appending_to_items_at_column_zero_before_another_key_and_to_no_rules() -> None:
    block = "- name: B\n  when: { tag: b }\n  then: [{ tag: c }]\n"
    text = "rules:\n- name: A\n  when: { tag: a }\n  then: [{ tag: c }]\n# end\nother: 1\n"
    assert append_rules(text, block) == (
        "rules:\n- name: A\n  when: { tag: a }\n  then: [{ tag: c }]\n"
        "- name: B\n  when: { tag: b }\n  then: [{ tag: c }]\n# end\nother: 1\n"
    )
    assert append_rules("version: 1", block) == (
        "version: 1\n\nrules:\n  - name: B\n    when: { tag: b }\n    then: [{ tag: c }]\n"
    )
    with pytest.raises(AppendError):
        append_rules("rules: []\n", block)


# ---------------------------------------------------------------------- properties


# Two rules exactly as broad and as precise: only their text decides which comes first.
TIED = [
    handed(1, "Alpha report"), handed(2, "Alpha summary"), handed(3, "Alpha notes"),
    handed(4, "Omega report", "marco"), handed(5, "Omega summary", "marco"),
    handed(6, "Omega notes", "marco"), kept(7, "Strategy"), kept(8, "Proposal"),
]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([HISTORY, TIED]).flatmap(lambda h: st.tuples(st.just(h), st.permutations(h)))
)
def test_the_same_history_in_any_order_gives_the_same_output(
    case: tuple[list[Example], list[Example]],
) -> None:
    history, order = case
    expected = mined(history)
    again = mined(list(order))
    assert again.block == expected.block
    assert [s.score for s in again.suggestions] == [s.score for s in expected.suggestions]
    assert again.words == expected.words
    if history is TIED:
        assert [s.name for s in expected.suggestions] == [
            "Suggested: alpha to giulia",
            "Suggested: omega to marco",
        ]


NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=30
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            NAMES,
            st.sampled_from(["giulia", "marco", None]),
            st.one_of(
                st.sampled_from([None, "Invoices", "Bookings", 'We"ird: [sec]tion #1']),
                NAMES.filter(str.strip),
            ),
        ),
        max_size=25,
    )
)
def test_arbitrary_names_never_crash_nor_give_a_rule_check_refuses(
    rows: list[tuple[str, str | None, str | None]],
) -> None:
    history = [Example(task(i, name, section), who) for i, (name, who, section) in enumerate(rows)]
    result = mined(history)
    parsed = parse_client_file(append_rules(AGENCY, result.block), "agency.yaml")
    assert parsed.valid, parsed.errors
    assert len(parsed.rules) == 4 + len(result.suggestions)
    for suggestion in result.suggestions:
        assert suggestion.score.matched < len(history)


def dated(gid: int, name: str, to: str | None, at: datetime, due_in: int | None) -> Example:
    """A task handed off (or completed, when ``to`` is None) at ``at``, due ``due_in`` days
    after that day (None: no due date)."""
    due = at.date() + timedelta(days=due_in) if due_in is not None else None
    return Example(replace(task(gid, name), due_on=due), to, at)


def test_a_due_date_habit_is_suggested_and_scored_as_of_each_hand_off() -> None:
    """Giulia gets what is due within days of the hand-off, months ago; the owner keeps what is
    due weeks later. Scored as of each hand-off: as of now, every one of those dates is past."""
    june = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    history = [
        dated(1, "Aruba", "giulia", june, 1),
        dated(2, "Hetzner", "giulia", june + timedelta(days=9), 2),
        dated(3, "Adobe", "giulia", june + timedelta(days=20), 0),
        dated(4, "Harbor", None, june + timedelta(days=3), 25),
        dated(5, "Fenwick", None, june + timedelta(days=30), 40),
    ]
    (only,) = mined(history).suggestions
    assert "- due: { within: 3d }" in only.yaml
    assert only.score.line == "precision 3/3 (100%), recall 3/3 (100%)"


def test_a_habit_of_handing_off_what_has_no_due_date_is_suggested() -> None:
    june = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    history = [
        dated(1, "Aruba", "giulia", june, None),
        dated(2, "Hetzner", "giulia", june, None),
        dated(3, "Adobe", "giulia", june, None),
        dated(4, "Harbor", None, june, 10),
        dated(5, "Fenwick", None, june, 12),
    ]
    (only,) = mined(history).suggestions
    assert "- due: { none: true }" in only.yaml
    assert only.score.line == "precision 3/3 (100%), recall 3/3 (100%)"
