"""Rules suggested from the owner's own history: what she handed off by hand, and what she kept.

Pure: the examples come in typed (``Example``: a task as it was read, and the assistant who got
it, or None when the owner kept and completed it); out come readable rules in the rule language,
each scored by the real rule engine on the same examples, so the figures printed are exact for
the YAML printed.

Features of a task: the words of its name and its two-word phrases (casefolded, accents removed,
plurals folded so that invoice/invoices, fattura/fatture, prenotazione/prenotazioni and
hotel/hotels are one word; Italian and English stop words dropped), its projects, sections, tags
and single-choice custom field values. Rules are built by greedy covering: the feature (or a small
OR-group of name words that go to the same assistant) that covers the most hand-offs among those
precise enough is taken (ties: the more precise, then words before sections, projects, tags,
fields and phrases, then by text), the hand-offs it covers are removed, and so on (see
`Thresholds`).
A rule that would match every example is never suggested: a history without a pattern gets no
suggestion.

A suggested rule's name and description are written in the client file's language (its
``client.language``), as they go into that file; the regexes and conditions stay as they are.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from delegator.core.context import Directory, EvalContext, Identity
from delegator.core.engine import Engine
from delegator.core.expectations import fold
from delegator.core.language import ENGLISH, Language, Phrases, Voice
from delegator.core.model import Task, UserRef
from delegator.core.rulefile import ClientFile, NumberedRule, parse_client_file
from delegator.core.schema import TagAction

# ----------------------------------------------------------------------------- texts

TEXTS = Phrases(
    {
        "name": {
            Language.EN: "Suggested: {what} to {who}",
            Language.IT: "Suggerita: {what} → {who}",
        },
        "description": {
            Language.EN: "Suggested from the history: {hits} {of_the}{matched} tasks like this "
            "went to {who}.",
            Language.IT: "Suggerita dallo storico: {hits} {of_the}{matched} attività così sono "
            "andate a {who}.",
        },
        "description_one": {
            Language.EN: "Suggested from the history: {hits} {of_the}{matched} tasks like this "
            "went to {who}.",
            Language.IT: "Suggerita dallo storico: {hits} {of_the}{matched} attività così è "
            "andata a {who}.",
        },
        "of_the": {Language.EN: "of the ", Language.IT: "delle "},
        "of_the_vowel": {Language.EN: "of the ", Language.IT: "dell'"},
        "or": {Language.EN: " or ", Language.IT: " o "},
        "stat": {
            Language.EN: "{word}: {delegated} of {total_delegated} delegated, "
            "{kept} of {total_kept} kept",
            Language.IT: "{word}: {delegated} su {total_delegated} delegate, "
            "{kept} su {total_kept} tenute",
        },
        "score": {
            Language.EN: "precision {right}/{matched} ({precision}), "
            "recall {right}/{handed} ({recall})",
            Language.IT: "precisione {right}/{matched} ({precision}), "
            "copertura {right}/{handed} ({recall})",
        },
        "section": {
            Language.EN: "section {section} of {project}",
            Language.IT: "sezione {section} di {project}",
        },
        "project": {Language.EN: "project {name}", Language.IT: "progetto {name}"},
        "tag": {Language.EN: "tag {name}", Language.IT: "tag {name}"},
        "due_none": {Language.EN: "no due date", Language.IT: "senza scadenza"},
        "due_soon": {Language.EN: "due within {within}", Language.IT: "in scadenza entro {within}"},
    }
)


def figure(voice: Voice) -> Callable[[int], str]:
    """How a count is written: as it always was in English ("1234"), for the locale in another
    language ("1.234")."""
    return str if voice.language is Language.EN else voice.number


def percent(share: float, voice: Voice) -> str:
    """``69%``: a share rounded to a whole percent."""
    if voice.language is Language.EN:
        return f"{share:.0%}"
    return f"{voice.number(round(share * 100))}%"


def alternatives(items: Sequence[str], voice: Voice) -> str:
    """``fattura or invoice or pay``; in Italian ``fattura, invoice o pay``."""
    joiner = voice.say(TEXTS, "or")
    if voice.language is Language.EN or len(items) < 3:
        return joiner.join(items)
    return ", ".join(items[:-1]) + joiner + items[-1]


def _elided(count: int) -> bool:
    """Whether an Italian article elides before this number as it is said: otto, ottanta,
    ottocento... and undici take "dell'"."""
    digits = str(count)
    return digits.startswith("8") or digits == "11" or (len(digits) == 5 and digits[:2] == "11")


# ----------------------------------------------------------------------------- the examples


@dataclass(frozen=True, slots=True)
class Example:
    """One task of the history: handed off by hand to ``assistant`` (a key of the client file),
    or kept by the owner (``assistant`` None) and completed by her."""

    task: Task
    assistant: str | None
    at: datetime | None = None  # when it was handed off, or completed

    @property
    def delegated(self) -> bool:
        return self.assistant is not None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a feature becomes a rule: it covers at least `support` hand-offs not covered yet,
    and at least ``min_precision`` of the examples it matches went to the rule's assistant(s).
    At most ``max_rules`` rules; a group of name words has at most ``max_words`` words, each
    seen in at least ``min_word_support`` hand-offs (a third of `support` in a long
    history)."""

    min_support: int = 3
    min_share: float = 0.02
    min_precision: float = 0.8
    max_rules: int = 5
    max_words: int = 5
    min_word_support: int = 2

    def support(self, handed_off: int) -> int:
        """Hand-offs a rule must cover: ``min_support``, or ``min_share`` of the hand-offs in a
        long history (20 of 1,000), so a long history's chance coincidences are no rules."""
        return max(self.min_support, math.ceil(self.min_share * handed_off))


DEFAULT_THRESHOLDS = Thresholds()

# ----------------------------------------------------------------------------- words

_STOP_TEXT = (
    # English
    "a an the and or of to for from in on at by with about into per via is are be this that "
    "these those it its our my your new next last up out off as all any some re fw fwd "
    # Italian (accents already removed)
    "il lo la i gli le un una uno di da del dello della dei degli delle al allo alla ai agli "
    "alle dal dallo dalla dai dagli dalle nel nello nella nei negli nelle sul sullo sulla sui "
    "sugli sulle con per tra fra e ed o od che chi non si ci vi ne mi ti se su come anche "
    "questo questa questi queste quello quella quelli quelle mio mia tuo tua suo sua nostro "
    "nostra"
)
STOP_WORDS: frozenset[str] = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"\w+")
_VOWELS = "aeio"


def stem(word: str) -> str:
    """A folded word with its plural folded: invoices -> invoic, fatture -> fattur, hotels ->
    hotel, prenotazioni -> prenotazion. English plurals first (-ies, -es after a sibilant, -s),
    then an Italian final vowel (a, e, i, o) on a word of five letters or more."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "xes", "ches", "shes", "zes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) >= 5 and w[-1] in _VOWELS:
        w = w[:-1]
    return w


@dataclass(frozen=True, slots=True)
class Word:
    """A word of a task's name: its stem (the key) and how it was written (casefolded)."""

    stem: str
    surface: str


def name_words(name: str) -> list[Word]:
    """The words of a name that can say something: no stop words, no numbers, two letters or
    more; each with its stem and its casefolded spelling."""
    words: list[Word] = []
    for match in _WORD.finditer(name.casefold()):
        surface = match.group(0)
        folded = fold(surface)
        if len(folded) < 2 or folded.isdigit() or folded in STOP_WORDS or "_" in folded:
            continue
        if any(ch.isdigit() for ch in folded):
            continue
        words.append(Word(stem(folded), surface))
    return words


def _phrases(name: str) -> list[tuple[Word, Word]]:
    """Two-word phrases: neighbouring words of the name, neither a stop word."""
    tokens = [m.group(0) for m in _WORD.finditer(name.casefold())]
    pairs: list[tuple[Word, Word]] = []
    for left, right in pairwise(tokens):
        a, b = name_words(left), name_words(right)
        if a and b:
            pairs.append((a[0], b[0]))
    return pairs


# ----------------------------------------------------------------------------- features


class FeatureKind(StrEnum):
    WORDS = "words"  # any of the name words (an OR-group of one or more stems)
    PHRASE = "phrase"  # two neighbouring words
    PROJECT = "project"
    SECTION = "section"
    TAG = "tag"
    FIELD = "field"  # a single-choice custom field's option
    DUE = "due"  # a due-date habit: ("none",) no due date; ("soon",) due within DUE_SOON days


@dataclass(frozen=True, slots=True)
class Feature:
    kind: FeatureKind
    values: tuple[str, ...]  # stems (WORDS, PHRASE), (project,), (project, section), (tag,),
    # (field, option)

    @property
    def text(self) -> str:
        return self.said(ENGLISH)

    def said(self, voice: Voice) -> str:
        """The feature as the client reads it: "section Bookings of Client Admin", "sezione
        Bookings di Client Admin"."""
        match self.kind:
            case FeatureKind.WORDS:
                return " | ".join(self.values)
            case FeatureKind.PHRASE:
                return " ".join(self.values)
            case FeatureKind.SECTION:
                return voice.say(TEXTS, "section", section=self.values[1], project=self.values[0])
            case FeatureKind.FIELD:
                return f"{self.values[0]} = {self.values[1]}"
            case FeatureKind.DUE:
                if self.values == ("none",):
                    return voice.say(TEXTS, "due_none")
                within = (
                    DUE_SOON
                    if voice.language is Language.EN
                    else voice.count(_DUE_SOON_DAYS, "giorno", "giorni")
                )
                return voice.say(TEXTS, "due_soon", within=within)
            case _:
                return voice.say(TEXTS, self.kind.value, name=self.values[0])


@dataclass(frozen=True, slots=True)
class _Facts:
    """What one example has, as features (WORDS features of one stem each)."""

    features: frozenset[Feature]
    surfaces: Mapping[str, frozenset[str]]  # stem -> spellings in this name


# A due date this close to the hand-off is a habit worth a rule ("due: { within: 3d }").
DUE_SOON = "3d"
_DUE_SOON_DAYS = 3


def _due_habit(task: Task, at: datetime | None) -> Feature | None:
    """The task's due date as a habit, seen from the moment it was handed off (or completed):
    none, or within ``DUE_SOON`` of that day (whole days, like ``due: { within: 3d }``)."""
    due = task.due_date
    if due is None:
        return Feature(FeatureKind.DUE, ("none",))
    if at is not None and 0 <= (due - at.date()).days <= _DUE_SOON_DAYS:
        return Feature(FeatureKind.DUE, ("soon",))
    return None


def _facts(task: Task, ignore_tags: frozenset[str], at: datetime | None = None) -> _Facts:
    features: set[Feature] = set()
    surfaces: dict[str, set[str]] = {}
    for word in name_words(task.name):
        features.add(Feature(FeatureKind.WORDS, (word.stem,)))
        surfaces.setdefault(word.stem, set()).add(word.surface)
    for a, b in _phrases(task.name):
        if a.stem != b.stem:
            features.add(Feature(FeatureKind.PHRASE, (a.stem, b.stem)))
            surfaces.setdefault(a.stem, set()).add(a.surface)
            surfaces.setdefault(b.stem, set()).add(b.surface)
    for project in task.projects:
        if project.name:
            features.add(Feature(FeatureKind.PROJECT, (project.name,)))
    for membership in task.memberships:
        if membership.section is not None and membership.section.name and membership.project.name:
            features.add(
                Feature(FeatureKind.SECTION, (membership.project.name, membership.section.name))
            )
    for tag in task.tags:
        if tag.name and tag.name.casefold() not in ignore_tags:
            features.add(Feature(FeatureKind.TAG, (tag.name,)))
    for value in task.custom_fields:
        if value.type == "enum" and value.enum and value.name:
            features.add(Feature(FeatureKind.FIELD, (value.name, value.enum)))
    habit = _due_habit(task, at)
    if habit is not None:
        features.add(habit)
    return _Facts(frozenset(features), {k: frozenset(v) for k, v in surfaces.items()})


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True, slots=True)
class WordStat:
    """How often a name word appears in hand-offs and in kept tasks."""

    word: str  # as written most often ("fattura/fatture": every spelling, most frequent first)
    stem: str
    delegated: int
    kept: int
    by_assistant: tuple[tuple[str, int], ...]  # (assistant key, hand-offs), most first


def word_stats(examples: Sequence[Example], *, limit: int = 10) -> list[WordStat]:
    """The name words that separate hand-offs from kept tasks best: seen in at least two
    examples, ordered by how one-sided they are, then by how often, then by text."""
    delegated: Counter[str] = Counter()
    kept: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    by_assistant: dict[str, Counter[str]] = {}
    for example in examples:
        seen: dict[str, set[str]] = {}
        for word in name_words(example.task.name):
            seen.setdefault(word.stem, set()).add(word.surface)
        for key, forms in seen.items():
            spellings.setdefault(key, Counter()).update(forms)
            if example.assistant is not None:
                delegated[key] += 1
                by_assistant.setdefault(key, Counter())[example.assistant] += 1
            else:
                kept[key] += 1
    stats: list[WordStat] = []
    for key in set(delegated) | set(kept):
        d, k = delegated[key], kept[key]
        if d + k < 2:
            continue
        written = sorted(spellings[key].items(), key=lambda kv: (-kv[1], kv[0]))
        who = sorted((by_assistant.get(key) or Counter()).items(), key=lambda kv: (-kv[1], kv[0]))
        stats.append(WordStat("/".join(f for f, _ in written), key, d, k, tuple(who)))
    stats.sort(key=lambda s: (-abs(s.delegated - s.kept), -(s.delegated + s.kept), s.word))
    return stats[:limit]


def stat_line(stat: WordStat, total_delegated: int, total_kept: int, voice: Voice = ENGLISH) -> str:
    """``fattura/fatture: 9 of 12 delegated, 0 of 5 kept``; ``... 9 su 12 delegate``."""
    number = figure(voice)
    return voice.say(
        TEXTS,
        "stat",
        word=stat.word,
        delegated=number(stat.delegated),
        total_delegated=number(total_delegated),
        kept=number(stat.kept),
        total_kept=number(total_kept),
    )


# ----------------------------------------------------------------------------- mining


@dataclass(frozen=True, slots=True)
class Target:
    """Who a suggested rule gives its tasks to: one assistant, or a pool of them."""

    assistants: tuple[str, ...]  # one key: `to:`; several: `pool:`

    def takes(self, assistant: str | None) -> bool:
        return assistant is not None and assistant in self.assistants

    @property
    def text(self) -> str:
        return self.said(ENGLISH)

    def said(self, voice: Voice) -> str:
        """``giulia or marco``, ``giulia o marco``."""
        return alternatives(self.assistants, voice)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule the history suggests, before it is scored by the engine."""

    feature: Feature
    target: Target
    spellings: Mapping[str, tuple[str, ...]]  # stem -> spellings seen (WORDS, PHRASE)
    support: int  # hand-offs it newly covered when chosen
    matched: int  # examples it matches, by the features
    hits: int  # of those, the ones that went to the target


def _target_of(examples: Iterable[Example], precision: float) -> Target | None:
    """The assistant who got at least ``precision`` of these hand-offs, else the pool of those
    who got any; None without hand-offs."""
    counts = Counter(e.assistant for e in examples if e.assistant is not None)
    if not counts:
        return None
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    first, n = ranked[0]
    if n / total >= precision:
        return Target((first,))
    return Target(tuple(sorted(counts)))


# Between two features as broad and as precise, the more readable one: words first.
_RANK = {
    FeatureKind.WORDS: 0, FeatureKind.SECTION: 1, FeatureKind.PROJECT: 2, FeatureKind.TAG: 3,
    FeatureKind.FIELD: 4, FeatureKind.PHRASE: 5, FeatureKind.DUE: 6,
}  # fmt: skip


def mine(
    examples: Sequence[Example],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    *,
    ignore_tags: Iterable[str] = (),
) -> list[Candidate]:
    """Greedy covering of the hand-offs by readable features; see the module's description.
    The same examples in any order give the same candidates (ties are broken by text)."""
    ordered = sorted(examples, key=lambda e: (e.task.gid, e.task.name, e.assistant or ""))
    ignored = frozenset(t.casefold() for t in ignore_tags)
    facts = [_facts(e.task, ignored, e.at) for e in ordered]
    index: dict[Feature, set[int]] = {}
    for i, fact in enumerate(facts):
        for feature in fact.features:
            index.setdefault(feature, set()).add(i)
    remaining = {i for i, e in enumerate(ordered) if e.delegated}
    support = thresholds.support(len(remaining))
    mining = _Mining(ordered, facts, index, thresholds, support)
    all_features = sorted(
        (f for f, where in index.items() if len(where) >= min(support, mining.word_support)),
        key=lambda f: (f.kind.value, f.values),
    )
    chosen: list[Candidate] = []
    while remaining and len(chosen) < thresholds.max_rules:
        best: tuple[tuple[int, float, int, str], Candidate, set[int]] | None = None
        options = [f for f in all_features if f.kind is not FeatureKind.WORDS]
        options.extend(mining.word_groups(remaining, all_features))
        for feature in options:
            scored = mining.score(feature, remaining)
            if scored is None:
                continue
            candidate, covered = scored
            if candidate.matched >= len(ordered):
                continue  # a rule that matches everything says nothing
            precision = round(candidate.hits / candidate.matched, 9)
            key = (-candidate.support, -precision, _RANK[feature.kind], feature.text)
            if best is None or key < best[0]:
                best = (key, candidate, covered)
        if best is None:
            break
        _, candidate, covered = best
        chosen.append(candidate)
        remaining -= covered
    return chosen


@dataclass(frozen=True, slots=True)
class _Mining:
    """The examples, their features and which examples have each feature (the index)."""

    examples: Sequence[Example]
    facts: Sequence[_Facts]
    index: Mapping[Feature, set[int]]
    thresholds: Thresholds
    support: int  # hand-offs a rule must cover, for this history

    @property
    def word_support(self) -> int:
        """Hand-offs each word of a group must be seen on."""
        return max(self.thresholds.min_word_support, -(-self.support // 3))

    def matched(self, feature: Feature) -> set[int]:
        if feature.kind is FeatureKind.WORDS:
            found: set[int] = set()
            for key in feature.values:
                found |= self.index.get(Feature(FeatureKind.WORDS, (key,)), set())
            return found
        return self.index.get(feature, set())

    def score(self, feature: Feature, remaining: set[int]) -> tuple[Candidate, set[int]] | None:
        examples, precision = self.examples, self.thresholds.min_precision
        matched = self.matched(feature)
        new = matched & remaining
        if len(new) < self.support:
            return None
        target = _target_of((examples[i] for i in new), precision)
        if target is None:
            return None
        hits = sum(1 for i in matched if target.takes(examples[i].assistant))
        if hits / len(matched) < precision:
            return None
        covered = {i for i in new if target.takes(examples[i].assistant)}
        if len(covered) < self.support:
            return None
        spellings: dict[str, set[str]] = {}
        if feature.kind in (FeatureKind.WORDS, FeatureKind.PHRASE):
            for i in matched:
                for key in feature.values:
                    spellings.setdefault(key, set()).update(self.facts[i].surfaces.get(key, ()))
        shown = {k: tuple(sorted(v)) for k, v in sorted(spellings.items())}
        return Candidate(feature, target, shown, len(covered), len(matched), hits), covered

    def word_groups(self, remaining: set[int], features: Sequence[Feature]) -> list[Feature]:
        """For each assistant, the OR-group of name words grown greedily: of the words mostly
        seen on their hand-offs, the one that adds the most of them (ties: the more precise
        group, then by text), if it adds more of theirs than of others, the group stays at
        least ``min_precision`` theirs and the word is related to the group (`_related`)."""
        examples = self.examples
        words = [f for f in features if f.kind is FeatureKind.WORDS]
        assistants = sorted({a for i in remaining if (a := examples[i].assistant) is not None})
        groups: list[Feature] = []
        for assistant in assistants:
            # (stem, examples it matches, hand-offs to the assistant not covered yet)
            useful: list[tuple[str, set[int], set[int]]] = []
            for word in words:
                matched = self.index[word]
                theirs = {i for i in matched & remaining if examples[i].assistant == assistant}
                if len(theirs) < self.word_support:
                    continue
                hits = sum(1 for i in matched if examples[i].assistant == assistant)
                if hits * 2 > len(matched):  # mostly theirs
                    useful.append((word.values[0], matched, theirs))
            group = self._grow(assistant, useful)
            if group:
                groups.append(Feature(FeatureKind.WORDS, tuple(sorted(group))))
        return groups

    def _grow(self, assistant: str, useful: list[tuple[str, set[int], set[int]]]) -> list[str]:
        examples, thresholds = self.examples, self.thresholds
        group: list[str] = []
        matched_all: set[int] = set()
        covered: set[int] = set()  # the assistant's hand-offs the group matches
        while len(group) < thresholds.max_words:
            best: tuple[tuple[int, float, str], str, set[int]] | None = None
            for key, matched, theirs in useful:
                if key in group or (group and not _related(theirs, covered, self.facts, group)):
                    continue
                union = matched_all | matched
                added = matched - matched_all
                right = sum(1 for i in added if examples[i].assistant == assistant)
                gain = right - (len(added) - right)
                hits = len(covered) + right
                precision = round(hits / len(union), 9)
                if gain <= 0 or precision < thresholds.min_precision:
                    continue
                rank = (-right, -precision, key)
                if best is None or rank < best[0]:
                    best = (rank, key, union)
            if best is None:
                break
            group.append(best[1])
            matched_all = best[2]
            covered = {i for i in matched_all if examples[i].assistant == assistant}
        return group


def _related(
    theirs: set[int], covered: set[int], facts: Sequence[_Facts], group: list[str]
) -> bool:
    """Whether a word is about the same thing as the group: it shares a name with one of the
    group's words ("Pay invoice"), or one of its hand-offs shares a section with one of the
    group's ("fattura" and "invoice" both in Invoices). Words of different topics that go to
    the same assistant (invoices and hotels) stay separate rules."""
    words = {Feature(FeatureKind.WORDS, (g,)) for g in group}
    if any(words & facts[i].features for i in theirs):
        return True
    sections = {f for i in covered for f in facts[i].features if f.kind is FeatureKind.SECTION}
    return any(sections & facts[i].features for i in theirs)


# ----------------------------------------------------------------------------- rules as YAML


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's), every character YAML would
    refuse as is (controls, lone surrogates, non-characters) escaped."""
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(
        ch if ch.isprintable() or ch == " " else "".join(f"\\u{u:04x}" for u in _utf16(ch))
        for ch in quoted
    )


def _utf16(ch: str) -> list[int]:
    """A character as UTF-16 code units (a pair for one beyond the first plane)."""
    data = ch.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def _piece(key: str, spellings: Sequence[str]) -> str:
    """A regex for one word: the common beginning of its spellings (casefolded), then any
    letters: ``fattur\\w*`` for fattura/fatture."""
    forms = sorted(set(spellings)) or [key]
    prefix = forms[0]
    for form in forms[1:]:
        n = 0
        while n < min(len(prefix), len(form)) and prefix[n] == form[n]:
            n += 1
        prefix = prefix[:n]
    if len(prefix) >= 3:
        return re.escape(prefix) + r"\w*"
    return "(?:" + "|".join(re.escape(f) for f in forms) + ")"


def name_pattern(feature: Feature, spellings: Mapping[str, Sequence[str]]) -> str:
    """The ``matches:`` regex of a WORDS or PHRASE feature (RE2 syntax)."""
    if feature.kind is FeatureKind.PHRASE:
        a, b = (_piece(k, spellings.get(k, (k,))) for k in feature.values)
        body = f"{a}\\s+{b}"
    else:
        body = "|".join(_piece(k, spellings.get(k, (k,))) for k in feature.values)
        body = f"({body})" if len(feature.values) > 1 else body
    start = body.lstrip("(")[:1]
    if start.isascii() and (start.isalnum() or start == "_"):
        return f"\\b{body}"
    return f"(^|[^\\pL\\pN]){body}"


def condition_lines(candidate: Candidate) -> list[str]:
    """The candidate's own condition, as one YAML list item (without the leading ``- ``)."""
    feature = candidate.feature
    values = feature.values
    match feature.kind:
        case FeatureKind.WORDS | FeatureKind.PHRASE:
            pattern = name_pattern(feature, candidate.spellings)
            return [f"name: {{ matches: {_quoted(pattern)} }}"]
        case FeatureKind.PROJECT:
            return [f"project: {_quoted(values[0])}"]
        case FeatureKind.SECTION:
            return [f"section: {{ project: {_quoted(values[0])}, name: {_quoted(values[1])} }}"]
        case FeatureKind.TAG:
            return [f"tag: {_quoted(values[0])}"]
        case FeatureKind.FIELD:
            return [f"custom_field: {{ name: {_quoted(values[0])}, equals: {_quoted(values[1])} }}"]
        case FeatureKind.DUE:
            return [
                "due: { none: true }" if values == ("none",) else f"due: {{ within: {DUE_SOON} }}"
            ]
    raise AssertionError(feature.kind)  # pragma: no cover


def describe(candidate: Candidate, voice: Voice = ENGLISH) -> str:
    """The candidate's feature as people read it: words as written (their shortest spelling),
    ``fattura or invoice`` (``fattura, invoice o pay``); a section, project, tag or field by
    name."""
    feature = candidate.feature
    if feature.kind not in (FeatureKind.WORDS, FeatureKind.PHRASE):
        return feature.said(voice)
    shown = [
        min(candidate.spellings.get(k) or (k,), key=lambda w: (len(w), w)) for k in feature.values
    ]
    return alternatives(shown, voice) if feature.kind is FeatureKind.WORDS else " ".join(shown)


def rule_name(candidate: Candidate, taken: Iterable[str], voice: Voice = ENGLISH) -> str:
    """``Suggested: fattura or invoice to giulia`` (``Suggerita: fattura o invoice → giulia``),
    unique among ``taken`` (ignoring case)."""
    base = voice.say(
        TEXTS, "name", what=describe(candidate, voice), who=candidate.target.said(voice)
    )
    used = {t.strip().casefold() for t in taken}
    name, n = base, 2
    while name.casefold() in used:
        name, n = f"{base} ({n})", n + 1
    return name


def rule_yaml(candidate: Candidate, name: str, description: str) -> str:
    """The rule as a YAML list item at column 0, ready to go under ``rules:``."""
    target = candidate.target.assistants
    assign = (
        f"assign: {{ to: {_quoted(target[0])} }}"
        if len(target) == 1
        else f"assign: {{ pool: [{', '.join(_quoted(a) for a in target)}] }}"
    )
    lines = [
        f"- name: {_quoted(name)}",
        f"  description: {_quoted(description)}",
        "  when:",
        "    all:",
        "      - assignee: [owner, none]",
        *(f"      - {line}" for line in condition_lines(candidate)),
        "  then:",
        f"    - {assign}",
        "  mode: shadow",
    ]
    return "\n".join(lines) + "\n"


def describe_history(candidate: Candidate, voice: Voice = ENGLISH) -> str:
    """The rule's description: what the history says of it. ``Suggested from the history: 9 of
    the 10 tasks like this went to giulia.``; ``Suggerita dallo storico: 9 delle 10 attività
    così sono andate a giulia.``"""
    number = figure(voice)
    return voice.say(
        TEXTS,
        "description_one" if candidate.hits == 1 else "description",
        hits=number(candidate.hits),
        of_the=voice.say(TEXTS, "of_the_vowel" if _elided(candidate.matched) else "of_the"),
        matched=number(candidate.matched),
        who=candidate.target.said(voice),
    )


# ----------------------------------------------------------------------------- appending


class AppendError(ValueError):
    """The client file's ``rules:`` cannot be appended to as text (a flow-style list)."""


_RULES_KEY = re.compile(r"^rules\s*:\s*(#.*)?$")


def append_rules(text: str, block: str) -> str:
    """The client file's text with ``block`` (rules as YAML list items at column 0) appended to
    its ``rules:`` list, comments and everything else kept; a ``rules:`` key is added when the
    file has none. A flow-style list (``rules: [...]``) is an `AppendError`."""
    if not block.strip():
        return text
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"rules\s*:", line)), None)
    if start is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{tail}\nrules:\n{_indented(block, '  ')}"
    if not _RULES_KEY.match(lines[start].rstrip("\r\n")):
        raise AppendError("its rules: list is written on one line: write it as a block list")
    last = start
    indent: str | None = None
    for i in range(start + 1, len(lines)):
        line = lines[i].rstrip("\r\n")
        bare = line.lstrip(" ")
        if not bare or bare.startswith("#"):
            continue
        if not line.startswith((" ", "-")):
            break  # the next top-level key
        if indent is None:
            indent = line[: len(line) - len(bare)]
        last = i
    before = "".join(lines[: last + 1])
    if not before.endswith("\n"):
        before += "\n"
    return (
        before + _indented(block, "  " if indent is None else indent) + "".join(lines[last + 1 :])
    )


def _indented(block: str, indent: str) -> str:
    return "".join(f"{indent}{line}" if line.strip() else line for line in block.splitlines(True))


# ----------------------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class Miss:
    """An example the suggested rule gets wrong."""

    gid: str
    name: str
    went_to: str | None  # the assistant who got it; None: the owner kept it


@dataclass(frozen=True, slots=True)
class Score:
    """The suggested rule on the history, by the engine: precision = right / matched,
    recall = right / hand-offs to the rule's assistant(s)."""

    matched: int
    right: int
    handed: int  # hand-offs to the rule's assistant(s) in the history
    wrong: tuple[Miss, ...]  # matched, but kept or given to someone else
    missed: tuple[Miss, ...]  # given to the rule's assistant(s), not matched
    matched_gids: frozenset[str] = frozenset()

    @property
    def precision(self) -> float:
        return self.right / self.matched if self.matched else 0.0

    @property
    def recall(self) -> float:
        return self.right / self.handed if self.handed else 0.0

    @property
    def line(self) -> str:
        return self.said(ENGLISH)

    def said(self, voice: Voice) -> str:
        """``precision 9/10 (90%), recall 9/13 (69%)``; ``precisione 9/10 (90%), copertura
        9/13 (69%)`` (recall: the share of the hand-offs the rule covers)."""
        number = figure(voice)
        return voice.say(
            TEXTS,
            "score",
            right=number(self.right),
            matched=number(self.matched),
            handed=number(self.handed),
            precision=percent(self.precision, voice),
            recall=percent(self.recall, voice),
        )


@dataclass(frozen=True, slots=True)
class Suggestion:
    name: str
    target: Target
    feature: Feature
    yaml: str  # one rule, a list item at column 0
    score: Score


@dataclass(frozen=True, slots=True)
class Mined:
    """What the history suggests, and the words that tell hand-offs from kept tasks."""

    suggestions: tuple[Suggestion, ...]
    words: tuple[WordStat, ...]
    delegated: int
    kept: int
    dropped: tuple[str, ...] = field(default_factory=tuple)  # candidates the file refused

    @property
    def block(self) -> str:
        return "".join(s.yaml for s in self.suggestions)


def as_handed(task: Task, owner: Identity) -> Task:
    """The task as it was when the owner handed it off (or worked on it): open, hers."""
    return replace(
        task,
        completed=False,
        completed_at=None,
        assignee=UserRef(owner.gid, owner.name, owner.email),
    )


def suggest(
    text: str,
    source: str,
    examples: Sequence[Example],
    *,
    now: datetime,
    directory: Directory,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Mined:
    """The rules the history suggests for this client file, each scored by the engine on the
    examples as they were when handed off (open, the owner's). A candidate the file would refuse
    is left out (named in ``dropped``): every rule suggested passes ``delegator check``. Each
    rule's name and description are in the file's language (``client.language``).
    ``text`` is the client file's text (``source`` names it); a file whose ``rules:`` cannot
    be appended to is an `AppendError`, one that cannot be used a ValueError."""
    client = parse_client_file(text, source)
    ordered = sorted(examples, key=lambda e: (e.task.gid, e.task.name, e.assistant or ""))
    head = client.head
    if head is None:
        raise ValueError(f"{client.source}: the file cannot be used: fix its errors first")
    ignore = {head.client.opt_out_tag}
    for numbered in client.rules:
        for action in numbered.rule.then:
            if isinstance(action, TagAction):
                ignore.update(str(t) for t in _names(action.tag))
    voice = head.client.voice
    delegated = sum(1 for e in ordered if e.delegated)
    kept = len(ordered) - delegated
    words = tuple(word_stats(ordered))
    candidates = mine(ordered, thresholds, ignore_tags=ignore)
    taken = [r.rule.name for r in client.rules] + [name for _, name in client.left_out]
    suggestions: list[Suggestion] = []
    dropped: list[str] = []
    for candidate in candidates:
        name = rule_name(candidate, taken, voice)
        description = describe_history(candidate, voice)
        block = rule_yaml(candidate, name, description)
        parsed = parse_client_file(append_rules(text, block), source)
        scored = _score_parsed(parsed, name, ordered, now, directory, candidate.target)
        if scored is None:
            dropped.append(name)
            continue
        taken.append(name)
        suggestions.append(Suggestion(name, candidate.target, candidate.feature, block, scored))
    return Mined(tuple(suggestions), words, delegated, kept, tuple(dropped))


def _names(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _score_parsed(
    parsed: ClientFile,
    name: str,
    examples: Sequence[Example],
    now: datetime,
    directory: Directory,
    target: Target,
) -> Score | None:
    mine_ = [r for r in parsed.rules if r.rule.name == name]
    if len(mine_) != 1 or parsed.head is None:
        return None
    alone = replace(parsed, rules=(NumberedRule(mine_[0].index, mine_[0].rule),))
    engine = Engine(alone)
    contexts: dict[datetime, EvalContext] = {}
    matched = right = handed = 0
    gids: set[str] = set()
    wrong: list[Miss] = []
    missed: list[Miss] = []
    for example in examples:
        # Seen from the moment of the hand-off (or completion): a due date 2 days after it was
        # "due within 3d" then, whatever it is now.
        moment = example.at or now
        ctx = contexts.get(moment) or contexts.setdefault(moment, engine.context(moment, directory))
        decision = engine.decide(as_handed(example.task, directory.owner), ctx)
        hit = any(o.rule == name for o in decision.outcomes)
        goes = target.takes(example.assistant)
        handed += goes
        if hit:
            matched += 1
            gids.add(example.task.gid)
            if goes:
                right += 1
            else:
                wrong.append(Miss(example.task.gid, example.task.name, example.assistant))
        elif goes:
            missed.append(Miss(example.task.gid, example.task.name, example.assistant))
    return Score(matched, right, handed, tuple(wrong), tuple(missed), frozenset(gids))
