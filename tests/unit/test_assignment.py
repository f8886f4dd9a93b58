"""Fair assignment: skills, capacity, time away, working hours, strategies, determinism."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from delegator.core.assignment import Roster, choose
from delegator.core.intents import Assign
from delegator.core.schema import Assistant

ROME = ZoneInfo("Europe/Rome")
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=ROME)
ASSISTANTS = TypeAdapter(dict[str, Assistant]).validate_python(
    {
        "giulia": {"user": "g@x.example", "capacity": 3, "hours": "Mon-Fri 09:00-17:00",
                   "skills": ["admin", "booking"], "away": ["2026-12-24..2027-01-06"]},
        "marco": {"user": "m@x.example", "capacity": 2, "hours": "Mon-Fri 14:00-20:00",
                  "timezone": "Europe/Lisbon", "skills": ["admin", "inbox"]},
        "sam": {"user": "s@x.example", "capacity": 5, "skills": ["admin"]},
    }
)  # fmt: skip


def roster(**load: int) -> Roster:
    return Roster(ASSISTANTS, ROME, dict(load))


POOL = Assign(pool=("giulia", "marco"), skill="admin")


def test_least_loaded_prefers_whoever_is_working_now() -> None:
    choice = choose(POOL, roster(), TUESDAY_10)  # Marco starts at 14:00 Lisbon time
    assert choice.assistant == "giulia"
    assert choice.reason == "least loaded: giulia 0/3 (working now)"
    afternoon = datetime(2026, 12, 1, 16, 0, tzinfo=ROME)  # both working
    assert choose(POOL, roster(giulia=1), afternoon).assistant == "marco"
    assert choose(POOL, roster(giulia=1, marco=1), afternoon).assistant == "giulia"  # 1/3 < 1/2


def test_ties_go_to_the_pool_order() -> None:
    afternoon = datetime(2026, 12, 1, 16, 0, tzinfo=ROME)
    assert choose(Assign(pool=("marco", "giulia")), roster(), afternoon).assistant == "marco"
    assert choose(Assign(pool=("giulia", "marco")), roster(), afternoon).assistant == "giulia"


def test_nobody_working_goes_to_the_soonest_shift() -> None:
    saturday = datetime(2026, 12, 5, 11, 0, tzinfo=ROME)
    choice = choose(POOL, roster(), saturday)
    assert choice.assistant == "giulia"
    assert "nobody is working now; the next shift starts Mon 09:00" in choice.reason
    evening = datetime(2026, 12, 1, 18, 30, tzinfo=ROME)  # Giulia done, Marco until 20:00 Lisbon
    assert choose(POOL, roster(), evening).assistant == "marco"


def test_capacity_skill_and_time_away_exclude_with_reasons() -> None:
    full = choose(POOL, roster(giulia=3, marco=2), TUESDAY_10)
    assert (full.assistant, full.overflow) == (None, "queue")
    assert full.reason == "nobody can take it: giulia at capacity (3/3); marco at capacity (2/2)"
    inbox = choose(
        Assign(pool=("giulia", "marco"), skill="inbox", overflow="skip"), roster(), TUESDAY_10
    )
    assert inbox.assistant == "marco"
    assert inbox.candidates[0].reason == "lacks the skill inbox"
    christmas = datetime(2026, 12, 28, 10, 0, tzinfo=ROME)
    choice = choose(POOL, roster(), christmas)
    assert choice.assistant == "marco"
    assert choice.candidates[0].reason == "away (2026-12-24..2027-01-06)"


def test_round_robin_takes_turns_among_the_eligible() -> None:
    pool = Assign(pool=("giulia", "sam"), strategy="round_robin")
    state = roster()
    picks = []
    for _ in range(4):
        choice = choose(pool, state, TUESDAY_10)
        assert choice.assistant is not None
        picks.append(choice.assistant)
        state.took(choice.assistant, pool.pool)
    assert picks == ["giulia", "sam", "giulia", "sam"]
    state.load["giulia"] = 3  # at capacity: her turn is skipped
    assert choose(pool, state, TUESDAY_10).assistant == "sam"


def test_direct_assignment_checks_the_assistant_or_names_anyone_else() -> None:
    assert choose(Assign(to="sam"), roster(), TUESDAY_10).assistant == "sam"
    away = choose(
        Assign(to="giulia", overflow="skip"), roster(), datetime(2026, 12, 28, 10, tzinfo=ROME)
    )
    assert (away.assistant, away.overflow) == (None, "skip")
    outside = choose(Assign(to="luca@northwind.example"), roster(), TUESDAY_10)
    assert (outside.assistant, outside.user, outside.assigned) == (
        None,
        "luca@northwind.example",
        True,
    )


def test_the_same_state_gives_the_same_choice() -> None:
    assert choose(POOL, roster(giulia=1), TUESDAY_10) == choose(POOL, roster(giulia=1), TUESDAY_10)
