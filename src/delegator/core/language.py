"""The language the service speaks to a client: its default texts, dates and numbers.

Two languages, English and Italian. A client file's ``client.language`` chooses the default
texts (comments the service writes, summaries, digests, ``explain`` and ``plan``); its
``client.locale`` (``it_IT``, ``it_CH``, ``en_GB``, ``en_US``...) chooses how dates and numbers
are written. Either gives the other: ``locale: it_CH`` speaks Italian, ``language: it`` writes
dates as ``it_IT`` does. Without both, English with British dates ("Fri 27 Nov").

Texts are catalogues of phrases, each written in every language (``Phrases``): a catalogue
missing a language fails when its module is imported, and the test suite imports them all. The
Italian is written as an Italian office writes it, not word for word from the English.

Dates and numbers come from Babel (the Unicode CLDR data): a well-kept library with every
locale's month and weekday names, separators and date orders, where the standard library has
only the machine's own C locale (process-wide, not per client).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.numbers import format_decimal


class Language(StrEnum):
    EN = "en"
    IT = "it"


LANGUAGES: tuple[Language, ...] = tuple(Language)

# The locale of each language when the client names none: British English keeps the day before
# the month ("Fri 27 Nov"), as the service's English texts always did.
DEFAULT_LOCALES: Mapping[Language, str] = {Language.EN: "en_GB", Language.IT: "it_IT"}


class LanguageError(ValueError):
    """A language or locale the service cannot write in, or two that disagree."""


def parse_locale(text: str) -> str:
    """A locale name as Babel knows it (``it_IT``; ``it-IT`` accepted), or LanguageError."""
    try:
        locale = Locale.parse(text.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise LanguageError(
            f"unknown locale {text!r}: write a language and country such as it_IT or en_GB"
        ) from None
    if locale.language not in {lang.value for lang in Language}:
        raise LanguageError(
            f"the service writes {' and '.join(lang.value for lang in Language)}, not "
            f"{locale.language!r} (locale {text!r}): write a locale such as it_IT or en_GB"
        )
    return str(locale)


# ----------------------------------------------------------------------------- phrases


def _fields(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


@dataclass(frozen=True, slots=True)
class Phrases:
    """A catalogue of texts, each written in every language: ``{name}`` fields are filled in by
    ``say``. Built at import: a text missing in a language, or whose fields differ between the
    languages, is a ValueError then, not a user's English sentence later."""

    texts: Mapping[str, Mapping[Language, str]]

    def __post_init__(self) -> None:
        for key, versions in self.texts.items():
            missing = [lang.value for lang in Language if not versions.get(lang)]
            if missing:
                raise ValueError(f"phrase {key!r} has no text in {', '.join(missing)}")
            fields = {lang: _fields(versions[lang]) for lang in Language}
            if len(set(fields.values())) > 1:
                raise ValueError(f"phrase {key!r} has different fields in its languages")

    def say(self, language: Language, key: str, /, **values: object) -> str:
        return self.texts[key][language].format(**values)


@dataclass(frozen=True, slots=True)
class Noun:
    """A noun's singular and plural in each language: ``Noun({EN: ("task", "tasks"), IT:
    ("attività", "attività")})``."""

    forms: Mapping[Language, tuple[str, str]]

    def __post_init__(self) -> None:
        missing = [lang.value for lang in Language if lang not in self.forms]
        if missing:
            raise ValueError(f"noun {self.forms!r} has no forms in {', '.join(missing)}")

    def count(self, language: Language, count: int, number: str | None = None) -> str:
        one, other = self.forms[language]
        return f"{number if number is not None else count} {one if count == 1 else other}"


# ----------------------------------------------------------------------------- the voice

_ENGLISH_MONTHS = (
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
)


@dataclass(frozen=True, slots=True)
class Voice:
    """How the service writes to one client: the language of its texts and the locale of its
    dates and numbers. ``Voice()`` is English with British dates."""

    language: Language = Language.EN
    locale: str = DEFAULT_LOCALES[Language.EN]

    @classmethod
    def of(cls, language: Language | str | None = None, locale: str | None = None) -> Voice:
        """The voice a client file asks for; LanguageError when the two disagree."""
        lang = Language(language) if language is not None else None
        if locale is not None:
            locale = parse_locale(locale)
            spoken = Language(Locale.parse(locale).language)
            if lang is not None and lang is not spoken:
                raise LanguageError(
                    f"language {lang.value} and locale {locale} disagree: "
                    f"write a {lang.value} locale such as {DEFAULT_LOCALES[lang]}"
                )
            return cls(spoken, locale)
        lang = lang or Language.EN
        return cls(lang, DEFAULT_LOCALES[lang])

    def speaking(self, language: Language | str | None) -> Voice:
        """This voice in another language (an assistant's own ``language``): the same locale
        when it speaks that language, else that language's default locale."""
        if language is None or Language(language) is self.language:
            return self
        return Voice.of(language)

    def say(self, phrases: Phrases, key: str, /, **values: object) -> str:
        return phrases.say(self.language, key, **values)

    def count(self, count: int, one: str, other: str) -> str:
        """ "1 giorno", "3 giorni": a count and the form of a word its number asks for."""
        return f"{self.number(count)} {one if count == 1 else other}"

    def plural(self, count: int, noun: Noun) -> str:
        """ "3 tasks", "3 attività": the count written for the locale ("1.234 attività")."""
        return noun.count(self.language, count, self.number(count))

    def number(self, value: float) -> str:
        """ "1,234.5" in English, "1.234,5" in Italian."""
        return str(format_decimal(value, locale=self.locale))

    def day(self, day: date) -> str:
        """ "Fri 27 Nov", "ven 27 nov"."""
        return f"{format_date(day, 'EEE', locale=self.locale)} {day.day} {self.month(day)}"

    def month(self, day: date) -> str:
        """The month's short name: "Sep", "set". English keeps the three letters its texts
        always wrote (CLDR's en_GB writes "Sept")."""
        if self.language is Language.EN:
            return _ENGLISH_MONTHS[day.month - 1]
        return str(format_date(day, "MMM", locale=self.locale))

    def long_day(self, day: date) -> str:
        """ "Friday 27 November 2026", "venerdì 27 novembre 2026"."""
        return str(format_date(day, "EEEE d MMMM y", locale=self.locale))

    def time(self, moment: datetime, tz: ZoneInfo) -> str:
        """ "14:00" (24-hour whatever the locale: the service's texts always were)."""
        return str(format_time(moment.astimezone(tz), "HH:mm", locale=self.locale))

    def moment(self, moment: datetime, tz: ZoneInfo) -> str:
        """ "Tue 3 Mar 14:00", "mar 3 mar 14:00", in tz."""
        local = moment.astimezone(tz)
        return f"{self.day(local.date())} {self.time(local, tz)}"

    def period(self, start: datetime, end: datetime, tz: ZoneInfo) -> str:
        """The days a period covers, in tz: "20-27 Nov 2026", "28 nov - 4 dic 2026"."""
        first = start.astimezone(tz).date()
        # The end is exclusive: a period ending at midnight does not cover the next day.
        last = (end - timedelta(microseconds=1)).astimezone(tz).date() if end > start else first

        month = self.month

        if first == last:
            return f"{first.day} {month(first)} {first.year}"
        if (first.year, first.month) == (last.year, last.month):
            return f"{first.day}-{last.day} {month(last)} {last.year}"
        if first.year == last.year:
            return f"{first.day} {month(first)} - {last.day} {month(last)} {last.year}"
        return f"{first.day} {month(first)} {first.year} - {last.day} {month(last)} {last.year}"

    def duration(self, minutes: int) -> str:
        """Minutes as people say them: "25 min", "3 h", "3 h 20 min" (rounded to 5 min past
        1 h); the same abbreviations in Italian."""
        if minutes < 60:
            return f"{max(0, minutes)} min"
        rounded = int((minutes + 2.5) // 5 * 5)
        hours, rest = divmod(rounded, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"


ENGLISH = Voice()
ITALIAN = Voice(Language.IT, DEFAULT_LOCALES[Language.IT])
