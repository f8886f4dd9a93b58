"""The voice the service writes in: languages and locales, dates and numbers per locale, phrase
and noun catalogues complete in every language (every catalogue of the package, imported)."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date, datetime
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

import delegator
from delegator.core.language import (
    ENGLISH,
    ITALIAN,
    LANGUAGES,
    Language,
    LanguageError,
    Noun,
    Phrases,
    Voice,
    parse_locale,
)

ROME = ZoneInfo("Europe/Rome")
FRIDAY = date(2026, 12, 4)


# ----------------------------------------------------------------------------- choosing a voice


def test_a_language_alone_a_locale_alone_or_both_agreeing() -> None:
    assert Voice.of() == ENGLISH == Voice(Language.EN, "en_GB")
    assert Voice.of("it") == ITALIAN == Voice(Language.IT, "it_IT")
    assert Voice.of(locale="it_CH") == Voice(Language.IT, "it_CH")
    assert Voice.of(locale="en-US") == Voice(Language.EN, "en_US")
    assert Voice.of(Language.IT, "it_CH") == Voice(Language.IT, "it_CH")


@pytest.mark.parametrize(
    ("language", "locale", "said"),
    [
        ("en", "it_IT", "disagree"),
        ("it", "en_GB", "disagree"),
        (None, "fr_FR", "not 'fr'"),
        (None, "xx_YY", "unknown locale"),
        (None, "", "unknown locale"),
    ],
)
def test_a_locale_that_disagrees_or_is_unknown_is_refused(
    language: str | None, locale: str, said: str
) -> None:
    with pytest.raises(LanguageError, match=said):
        Voice.of(language, locale)


def test_parse_locale_accepts_a_dash() -> None:
    assert parse_locale(" it-CH ") == "it_CH"


def test_an_assistant_speaking_another_language_keeps_the_locale_only_when_it_fits() -> None:
    swiss = Voice.of(locale="it_CH")
    assert swiss.speaking(None) is swiss
    assert swiss.speaking("it") is swiss
    assert swiss.speaking("en") == ENGLISH
    assert ENGLISH.speaking(Language.IT) == ITALIAN


# ----------------------------------------------------------------------------- dates and numbers


def test_days_in_each_locale() -> None:
    assert ITALIAN.day(FRIDAY) == "ven 4 dic"
    assert ENGLISH.day(FRIDAY) == "Fri 4 Dec"
    assert Voice.of(locale="en_US").day(FRIDAY) == "Fri 4 Dec"
    assert ITALIAN.long_day(FRIDAY) == "venerdì 4 dicembre 2026"
    assert ENGLISH.long_day(FRIDAY) == "Friday 4 December 2026"


def test_english_months_keep_their_three_letters() -> None:
    """CLDR's en_GB writes "Sept": the service's English texts always wrote "Sep"."""
    months = [ENGLISH.month(date(2026, m, 1)) for m in range(1, 13)]
    assert months == [
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "May",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Oct",
        "Nov",
        "Dec",
    ]
    assert ENGLISH.day(date(2026, 9, 4)) == "Fri 4 Sep"
    assert ITALIAN.day(date(2026, 9, 4)) == "ven 4 set"


def test_moments_and_periods_in_the_zone_given() -> None:
    moment = datetime(2026, 3, 3, 13, tzinfo=ZoneInfo("UTC"))
    assert ENGLISH.moment(moment, ROME) == "Tue 3 Mar 14:00"
    assert ITALIAN.moment(moment, ROME) == "mar 3 mar 14:00"
    start, end = datetime(2026, 11, 28, tzinfo=ROME), datetime(2026, 12, 5, tzinfo=ROME)
    assert ITALIAN.period(start, end, ROME) == "28 nov - 4 dic 2026"
    assert ENGLISH.period(start, end, ROME) == "28 Nov - 4 Dec 2026"
    same = datetime(2026, 11, 20, tzinfo=ROME), datetime(2026, 11, 28, tzinfo=ROME)
    assert ITALIAN.period(*same, ROME) == "20-27 nov 2026"
    across = datetime(2026, 12, 28, tzinfo=ROME), datetime(2027, 1, 4, tzinfo=ROME)
    assert ITALIAN.period(*across, ROME) == "28 dic 2026 - 3 gen 2027"
    assert ITALIAN.period(start, start, ROME) == "28 nov 2026"


def test_numbers_counts_and_durations() -> None:
    assert ITALIAN.number(1234) == "1.234"
    assert ITALIAN.number(1234.5) == "1.234,5"
    assert ENGLISH.number(1234) == "1,234"
    task = Noun({Language.EN: ("task", "tasks"), Language.IT: ("attività", "attività")})
    assert ITALIAN.plural(1234, task) == "1.234 attività"
    assert ENGLISH.plural(1, task) == "1 task"
    assert ENGLISH.plural(0, task) == "0 tasks"
    assert ITALIAN.count(1, "giorno", "giorni") == "1 giorno"
    assert ITALIAN.count(3, "giorno", "giorni") == "3 giorni"
    assert [ITALIAN.duration(m) for m in (-5, 25, 60, 200)] == [
        "0 min",
        "25 min",
        "1 h",
        "3 h 20 min",
    ]


# ----------------------------------------------------------------------------- catalogues


def test_a_phrase_missing_a_language_or_a_field_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="no text in it"):
        Phrases({"hello": {Language.EN: "hello"}})
    with pytest.raises(ValueError, match="no text in it"):
        Phrases({"hello": {Language.EN: "hello", Language.IT: ""}})
    with pytest.raises(ValueError, match="different fields"):
        Phrases({"late": {Language.EN: "{n} late", Language.IT: "{count} in ritardo"}})
    with pytest.raises(ValueError, match="no forms in it"):
        Noun({Language.EN: ("task", "tasks")})
    said = Phrases({"late": {Language.EN: "{n} late", Language.IT: "{n} in ritardo"}})
    assert ITALIAN.say(said, "late", n=3) == "3 in ritardo"


def _modules() -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages(delegator.__path__, "delegator.")
        if info.name.rpartition(".")[2] != "__main__"  # runs the command line when imported
    ]
    return [delegator, *map(importlib.import_module, names)]


def test_every_catalogue_of_the_package_has_every_language() -> None:
    """Every module imports (a catalogue missing a language would fail there), and every
    catalogue and noun found has a text in every language for every key."""
    phrases: list[tuple[str, Phrases]] = []
    nouns: list[tuple[str, Noun]] = []
    for module in _modules():
        for name, value in vars(module).items():
            if isinstance(value, Phrases):
                phrases.append((f"{module.__name__}.{name}", value))
            elif isinstance(value, Noun):
                nouns.append((f"{module.__name__}.{name}", value))
    assert any(name == "delegator.core.summary.WORDS" for name, _ in phrases)
    assert any(name == "delegator.core.summary_render.WORDS" for name, _ in phrases)
    assert any(name == "delegator.summaries.gather.SAY" for name, _ in phrases)
    for name, catalogue in phrases:
        for key, versions in catalogue.texts.items():
            assert set(versions) == set(LANGUAGES), (name, key)
            assert all(versions[language].strip() for language in LANGUAGES), (name, key)
    for name, noun in nouns:
        assert set(noun.forms) == set(LANGUAGES), name
        assert all(all(form.strip() for form in noun.forms[lang]) for lang in LANGUAGES), name
