"""A client's first rule file, its rule tests and a sandbox world, written from a workspace.

`delegator init` reads what the token sees (`asana.catalogue`) and asks a few questions; this
module turns the catalogue and the answers into text, without any I/O:

* `rule_file`: a commented client file: the client block (the token by the name of its
  variable, never its value), who watches what, the assistants, a Covey matrix made of the
  workspace's own tags and Priority-like field, and the common low-value rules (invoices and
  receipts, bookings and appointments, inbox chores), with English and Italian words;
* `rule_tests`: rule tests for it that pass as written, each showing one decision;
* `world_file`: a sandbox fixture of the same workspace (its gids kept, so the rule file runs
  against it unchanged) with sample tasks the rules delegate and some they leave alone.

Every name that comes from Asana is written as a double-quoted YAML scalar (`quote`), so no
name (a colon, a ``#``, ``yes``, ``null``, a leading ``-``, a line break) can change the file's
structure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from delegator.asana.catalogue import (
    Catalogue,
    FieldInfo,
    OptionInfo,
    Person,
    ProjectInfo,
    SectionInfo,
)

# ---------------------------------------------------------------- words the rules look for

INVOICE_PATTERN = (
    r"\b(invoices?|receipts?|bills?|expenses?|reimburse\w*|fattur\w*|ricevut\w*|scontrin\w*"
    r"|bollett\w*|note? spese|rimbors\w*)\b"
)
BOOKING_PATTERN = (
    r"\b(book|booking|bookings|appointments?|reservations?|flights?|hotels?|trains?|taxi"
    r"|restaurant|meeting room|prenot\w*|appuntament\w*|voli|volo|albergo|alberghi|treni|treno"
    r"|ristorante|sala riunioni)\b"
)
CHORE_PATTERN = (
    r"\b(unsubscribe|newsletters?|mailing lists?|forms?|surveys?|sign[ -]?up|disiscri\w*"
    r"|iscrizion\w*|moduli|modulo|questionari\w*|sondaggi\w*)\b"
)

_URGENT_TAGS = ("urgent", "urgente", "asap")
_IMPORTANT_TAGS = ("important", "importante")
_DELEGATED_TAGS = ("delegated", "delegato", "delegata", "delegati")
_KEEP_TAGS = ("keep", "personale", "personal", "private", "privato", "non delegare")
_HIGH_OPTIONS = ("high", "highest", "alta", "altissima", "massima", "urgent", "urgente",
                 "critical", "critica", "p0", "p1", "top")  # fmt: skip
_INBOX_SECTIONS = ("inbox", "in arrivo", "da smistare", "triage", "incoming", "posta in arrivo")
_INVOICE_SECTIONS = ("invoices", "invoice", "fatture", "fatturazione", "receipts", "ricevute")
_BOOKING_SECTIONS = ("bookings", "booking", "prenotazioni", "appointments", "appuntamenti")

DEFAULT_TAGS = {"urgent": "urgent", "important": "important", "delegated": "delegated"}
UNDELEGATED_TAG = "to-delegate"  # the rules' tag while the file names no assistant


@dataclass(frozen=True, slots=True)
class TokenRef:
    """Where the client file says the token is: an environment variable or a file."""

    env: str | None = None
    file: str | None = None


@dataclass(frozen=True, slots=True)
class Answers:
    """What `delegator init` decided, by flag, question or default."""

    client_name: str
    client_key: str
    token: TokenRef
    timezone: str
    owner: Person
    assistants: tuple[Person, ...]
    projects: tuple[ProjectInfo, ...]  # watched, with their sections
    today: date


@dataclass(frozen=True, slots=True)
class Place:
    """A section of a watched project, as a rule names it."""

    project: ProjectInfo
    section: SectionInfo


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The workspace's own words for what the starter rules need."""

    urgent_tag: str
    important_tag: str
    delegated_tag: str
    keep_tag: str
    priority: FieldInfo | None
    high: tuple[OptionInfo, ...]
    inbox: tuple[Place, ...]
    invoices: tuple[Place, ...]
    bookings: tuple[Place, ...]


# ---------------------------------------------------------------- names, keys and quoting


def slug(text: str, *, fallback: str = "client") -> str:
    """Lower-case ASCII letters, digits and ``-``, starting with a letter: a file name, a key."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.casefold()).strip("-")
    words = re.sub(r"^[^a-z]+", "", words)
    return words[:40].strip("-") or fallback


def client_key(name: str) -> str:
    """The client's key (its file name): a slug of its name."""
    return slug(name)


def token_variable(key: str) -> str:
    """``ASANA_TOKEN_<KEY>``: the variable a client file names for the client's token."""
    return "ASANA_TOKEN_" + key.upper().replace("-", "_")


_RAW = re.compile(
    "[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def quote(text: str) -> str:
    """`text` as a double-quoted YAML scalar that reads back as exactly `text` (a lone
    surrogate, which no file can hold, becomes U+FFFD)."""
    out = ['"']
    for char in text:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            out.append("\\uFFFD")
        elif char in '"\\':
            out.append("\\" + char)
        elif _RAW.match(char):
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02X}")
        else:
            out.append(f"\\u{code:04X}")
    out.append('"')
    return "".join(out)


def comment_text(text: str, limit: int = 60) -> str:
    """A name shown in a ``#`` comment: one line of printable characters, shortened."""
    shown = "".join(c if _RAW.match(c) else " " for c in text).strip()
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


#: Words an assistant key cannot be: YAML would read them as true, false or null, or a rule
#: as a person other than the assistant (`assignee: owner`).
_RESERVED_KEYS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "owner", "none",
                            "any", "me"})  # fmt: skip


def assistant_keys(people: Sequence[Person]) -> dict[str, Person]:
    """A key per assistant, from their first name (``giulia``, then ``giulia-2``...)."""
    keys: dict[str, Person] = {}
    for person in people:
        first = person.name.split()[0] if person.name.split() else ""
        base = slug(first, fallback="") or slug((person.email or "").split("@")[0], fallback="")
        base = base or "assistant"
        if base in _RESERVED_KEYS:
            base += "-va"
        key, number = base, 2
        while key in keys:
            key, number = f"{base}-{number}", number + 1
        keys[key] = person
    return keys


def person_ref(person: Person) -> str:
    """How a file names a person: the email when it looks like one, else the gid."""
    email = (person.email or "").strip()
    if "@" in email and "." in email.rsplit("@", 1)[-1] and email == " ".join(email.split()):
        return email
    return person.gid


# ---------------------------------------------------------------- the workspace's words


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _usable(name: str) -> bool:
    """A name a rule can use to mean this thing: not blank, and not all digits (a gid)."""
    return bool(name.strip()) and not name.strip().isdigit()


def _tag(catalogue: Catalogue, words: Iterable[str], default: str) -> str:
    wanted = tuple(words)
    for word in wanted:
        for tag in catalogue.tags:
            if _usable(tag.name) and _folded(tag.name) == word:
                return tag.name.strip()
    return default


def _places(projects: Iterable[ProjectInfo], words: Iterable[str]) -> tuple[Place, ...]:
    wanted = set(words)
    return tuple(
        Place(project, section)
        for project in projects
        for section in project.sections
        if _folded(section.name) in wanted
    )


def vocabulary(catalogue: Catalogue, projects: Sequence[ProjectInfo]) -> Vocabulary:
    """The tags, field and sections of the workspace the starter rules use."""
    priority = next(
        (
            f
            for f in catalogue.fields
            if f.kind == "enum" and "priorit" in _folded(f.name) and _usable(f.name)
        ),
        None,
    )
    high: tuple[OptionInfo, ...] = ()
    if priority is not None:
        high = tuple(
            o
            for o in priority.options
            if o.enabled and _folded(o.name) in _HIGH_OPTIONS and o.name.strip()
        )
        if not high:
            priority = None
    return Vocabulary(
        urgent_tag=_tag(catalogue, _URGENT_TAGS, DEFAULT_TAGS["urgent"]),
        important_tag=_tag(catalogue, _IMPORTANT_TAGS, DEFAULT_TAGS["important"]),
        delegated_tag=_tag(catalogue, _DELEGATED_TAGS, DEFAULT_TAGS["delegated"]),
        keep_tag=_tag(catalogue, _KEEP_TAGS, "keep"),
        priority=priority,
        high=high,
        inbox=_places(projects, _INBOX_SECTIONS),
        invoices=_places(projects, _INVOICE_SECTIONS),
        bookings=_places(projects, _BOOKING_SECTIONS),
    )


def _project_ref(project: ProjectInfo, everyone: Sequence[ProjectInfo]) -> str:
    """A project in a ``watch`` entry: by name, or by gid when its name cannot say which."""
    same = [p for p in everyone if _folded(p.name) == _folded(project.name)]
    if _usable(project.name) and len(same) <= 1:
        return f"{{ name: {quote(project.name.strip())} }}"
    return f"{{ gid: {quote(project.gid)} }}"


def _section_condition(place: Place, everyone: Sequence[ProjectInfo]) -> str:
    """A ``section:`` condition: within its project by names, or the section's gid alone."""
    same_project = [p for p in everyone if _folded(p.name) == _folded(place.project.name)]
    same_section = [
        s for s in place.project.sections if _folded(s.name) == _folded(place.section.name)
    ]
    project = (
        place.project.name.strip()
        if _usable(place.project.name) and len(same_project) <= 1
        else place.project.gid
    )
    if _usable(place.section.name) and len(same_section) <= 1:
        return (
            f"section: {{ project: {quote(project)}, name: {quote(place.section.name.strip())} }}"
        )
    return f"section: {quote(place.section.gid)}"


# ---------------------------------------------------------------- the rule file


_ACTIVE = (
    "# The rules for invoices and bookings are active: they only take tasks that are not",
    "# important (see matrix) and still belong to the owner or to nobody. The inbox chores",
    "# rule starts in shadow mode: it reports what it would do and writes nothing until you",
    "# delete its `mode: shadow` line.",
)
_ALL_SHADOW = (
    "# No assistant is named yet, so every rule is in shadow mode: it reports what it would",
    "# do and writes nothing. Name assistants below, then switch the rules on.",
)


def rule_file(catalogue: Catalogue, answers: Answers) -> str:
    """The client's starter rule file, commented for the person who will review it."""
    words = vocabulary(catalogue, answers.projects)
    keys = assistant_keys(answers.assistants)
    listed = catalogue.projects.items + tuple(
        p for p in answers.projects if p.gid not in {x.gid for x in catalogue.projects}
    )
    lines = [
        f"# Starter rules for {comment_text(answers.client_name)}, written by `delegator init` "
        f"on {answers.today.isoformat()}",
        f"# from the Asana workspace {comment_text(catalogue.workspace.name)} "
        f"({catalogue.workspace.gid}).",
        "#",
        "# Read it, change it, then: delegator check / delegator test / delegator plan.",
        *(_ACTIVE if keys else _ALL_SHADOW),
        "version: 1",
        "client:",
        f"  name: {quote(answers.client_name.strip() or 'Client')}",
        f"  workspace: {quote(catalogue.workspace.gid)}",
        f"  token: {_token(answers.token)}    # where the token is read; never the token itself",
        f"  timezone: {quote(answers.timezone)}",
        f"  owner: {quote(person_ref(answers.owner))}    # {comment_text(answers.owner.name)}",
    ]
    if words.keep_tag != "keep":
        lines.append(f"  opt_out_tag: {quote(words.keep_tag)}    # tasks with it are never touched")
    else:
        lines.append("  # A task tagged `keep` is never touched (opt_out_tag).")
    lines += ["", "watch:", "  - my_tasks    # the owner's My Tasks"]
    for project in answers.projects:
        lines.append(f"  - project: {_project_ref(project, listed)}")
    others = [p for p in catalogue.projects if p.gid not in {w.gid for w in answers.projects}]
    if others:
        lines.append("  # Other projects of the workspace, to watch as well:")
        for project in others[:10]:
            lines.append(f"  # - project: {_project_ref(project, listed)}")
        if len(others) > 10 or catalogue.projects.truncated:
            lines.append("  # ... and more (delegator init lists them all)")
    lines += ["", *_assistants_block(keys), "", *_matrix_block(words), "", "rules:"]
    lines += _rules_block(words, keys, listed)
    return "\n".join(lines) + "\n"


def _token(token: TokenRef) -> str:
    if token.file is not None:
        return f"{{ file: {quote(token.file)} }}"
    assert token.env is not None
    return f"{{ env: {quote(token.env)} }}"


def _assistants_block(keys: dict[str, Person]) -> list[str]:
    if not keys:
        return [
            "# No assistant yet: the rules below only tag tasks `to-delegate`, in shadow mode.",
            "# Add one, e.g.",
            "#   assistants:",
            "#     giulia: { user: giulia@va-agency.example, skills: [admin] }",
            "# then replace `tag: to-delegate` with `assign: { pool: [giulia] }`.",
        ]
    lines = ["assistants:"]
    for key, person in keys.items():
        lines.append(f"  {key}:")
        lines.append(f"    user: {quote(person_ref(person))}")
        if person.name.strip():
            lines.append(f"    name: {quote(person.name.strip())}")
        lines.append("    capacity: 20    # the most open tasks delegated to them at once")
        lines.append('    # hours: "Mon-Fri 09:00-17:00"')
    return lines


def _matrix_block(words: Vocabulary) -> list[str]:
    lines = [
        "# The Covey matrix: urgent x important. Urgent and not important: an assistant does it.",
        "matrix:",
        "  urgent:",
        "    any:",
        "      - overdue: true",
        "      - due: { within: 2 business days }",
        f"      - tag: {quote(words.urgent_tag)}",
        "  important:",
        "    any:",
        f"      - tag: {quote(words.important_tag)}",
    ]
    if words.priority is not None:
        options = ", ".join(quote(o.name.strip()) for o in words.high)
        lines.append(
            f"      - custom_field: {{ name: {quote(words.priority.name.strip())}, in: [{options}] }}"
        )
    return lines


def _any_of(pattern: str, places: Sequence[Place], listed: Sequence[ProjectInfo]) -> list[str]:
    name = f"name: {{ matches: '{pattern}' }}"
    if not places:
        return [f"        - {name}"]
    lines = ["        - any:", f"            - {name}"]
    lines += [f"            - {_section_condition(place, listed)}" for place in places]
    return lines


def _rules_block(
    words: Vocabulary, keys: dict[str, Person], listed: Sequence[ProjectInfo]
) -> list[str]:
    pool = ", ".join(keys)
    delegated = quote(words.delegated_tag)

    def hand_over(strategy: str = "", *, due: bool = False, comment: str = "") -> list[str]:
        if not keys:
            return [f"      - tag: {quote(UNDELEGATED_TAG)}", "    mode: shadow"]
        how = f", strategy: {strategy}" if strategy else ""
        lines = [
            f"      - assign: {{ pool: [{pool}]{how} }}",
            f"      - tag: {delegated}",
            "      - follow: owner",
        ]
        if due:
            lines.append("      - due: { in: 3 business days }    # only when it has no date")
        if comment:
            lines += ["      - comment: |", *(f"          {line}" for line in comment.split("\n"))]
        return lines

    lines = [
        "  # Money paperwork (fattura, ricevuta, scontrino, nota spese...).",
        "  - name: Invoices and receipts",
        "    description: Paying, sending and filing money paperwork is not the owner's job.",
        "    when:",
        "      all:",
        "        - quadrant: [delegate, eliminate]",
        "        - assignee: [owner, none]",
        *_any_of(INVOICE_PATTERN, words.invoices, listed),
        "    then:",
        *hand_over(
            comment='Hi {{ assignee.first_name }}, this one is yours now (rule "{{ rule.name }}").'
            '\nDue {{ task.due_on or "without a date" }}: {{ task.permalink_url }}'
        ),
        "    minutes: 15",
        "",
        "  # Travel, bookings and appointments (prenotazione, appuntamento, volo, treno...).",
        "  - name: Bookings and appointments",
        "    when:",
        "      all:",
        "        - assignee: [owner, none]",
        "        - not: { quadrant: do }",
        *_any_of(BOOKING_PATTERN, words.bookings, listed),
        "    then:",
        *hand_over(
            due=True,
            comment="Hi {{ assignee.first_name }}, could you take care of this booking?"
            "\n{{ task.permalink_url }}",
        ),
        "    minutes: 20",
        "",
        "  # Inbox chores: unsubscribing, newsletters, forms (moduli, iscrizioni...). Shadow mode:",
        "  # `delegator plan` and the summary show what it would take; delete `mode: shadow`",
        "  # once that list looks right.",
        "  - name: Inbox chores",
        "    when:",
        "      all:",
        "        - quadrant: eliminate",
        "        - assignee: [owner, none]",
        *_any_of(CHORE_PATTERN, words.inbox, listed),
        "    then:",
        *hand_over("round_robin"),
    ]
    if keys:
        lines.append("    mode: shadow")
    return lines


# ---------------------------------------------------------------- the rule tests


@dataclass(frozen=True, slots=True)
class Sample:
    """A sample task: its name and what the starter rules must do with it."""

    name: str
    rule: str | None
    due: int | None = None  # days from today
    tags: tuple[str, ...] = ()
    delegated: bool = False  # the rules give it to an assistant (in the sandbox too)


def samples(words: Vocabulary) -> tuple[Sample, ...]:
    """The tasks of the rule tests and of the sandbox world."""
    return (
        Sample("Pay invoice #1042 from the web host", "Invoices and receipts", due=0, delegated=True),
        Sample("Pagare la fattura del commercialista", "Invoices and receipts", delegated=True),
        Sample("Prenotare il treno per la fiera di Milano", "Bookings and appointments", delegated=True),
        Sample("Book a hotel for the client visit", "Bookings and appointments", due=5, delegated=True),
        Sample("Invoice dispute with our biggest client", None, due=0, tags=(words.important_tag,)),
        Sample("Prepare the business plan for next year", None, tags=(words.important_tag,)),
        Sample("Pay invoice #1043 (personal card)", None, due=1, tags=(words.keep_tag,)),
        Sample("Unsubscribe from the supplier newsletter", None),
    )  # fmt: skip


def rule_tests(catalogue: Catalogue, answers: Answers) -> str:
    """Rule tests for `rule_file`'s file that pass as written, at 10:00 on `answers.today`."""
    words = vocabulary(catalogue, answers.projects)
    keys = assistant_keys(answers.assistants)
    today = answers.today

    def due(days: int | None) -> str:
        return "" if days is None else f", due_on: {date.fromordinal(today.toordinal() + days)}"

    def task(
        name: str, *, days: int | None = None, tags: Sequence[str] = (), extra: str = ""
    ) -> str:
        tag_text = f", tags: [{', '.join(quote(t) for t in tags)}]" if tags else ""
        return f"{{ name: {quote(name)}, assignee: owner{due(days)}{tag_text}{extra} }}"

    handed = "[assign, tag, follow, comment]" if keys else "[tag]"
    chores = "[assign, tag, follow]" if keys else "[tag]"
    booked = "[assign, tag, follow, due, comment]" if keys else "[tag]"
    # A rule in shadow mode (all of them while no assistant is named) is reported as the rule
    # that takes the task, with its actions, though nothing is written.
    invoice_rule = "Invoices and receipts"
    booking_rule = "Bookings and appointments"
    lines = [
        f"# Rule tests for {answers.client_key}.yaml: run them with `delegator test`.",
        "# Each case is a task and what the rules must decide for it; add your own.",
        f"rules: {quote(answers.client_key + '.yaml')}",
        f"now: {today.isoformat()}T10:00:00    # read in the client's time zone",
        f"owner: {quote(person_ref(answers.owner))}",
        "",
        "cases:",
        "  - name: an invoice due today goes to an assistant",
        f"    task: {task('Pay invoice #1042 from the web host', days=0)}",
        f"    expect: {{ rule: {invoice_rule}, quadrant: delegate, actions: {handed} }}",
        "",
        "  - name: an Italian invoice without a date is low value, delegated too",
        f"    task: {task('Pagare la fattura del commercialista')}",
        f"    expect: {{ rule: {invoice_rule}, quadrant: eliminate }}",
        "",
        "  - name: an important invoice stays with the owner",
        f"    task: {task('Invoice dispute with our biggest client', days=0, tags=[words.important_tag])}",
        "    expect: { rule: null, quadrant: do, near_miss: Invoices and receipts }",
        "",
        "  - name: a train booking gets a due date when it has none",
        f"    task: {task('Prenotare il treno per la fiera di Milano')}",
        f"    expect: {{ rule: {booking_rule}, actions: {booked} }}",
        "",
        "  - name: strategy work is scheduled, not delegated",
        f"    task: {task('Prepare the business plan for next year', tags=[words.important_tag])}",
        "    expect: { rule: null, quadrant: schedule, actions: [] }",
        "",
        f"  - name: {quote('a task tagged ' + words.keep_tag.strip() + ' is never touched')}",
        f"    task: {task('Pay invoice #1043 (personal card)', days=1, tags=[words.keep_tag])}",
        "    expect: { skipped: true, rule: null, actions: [] }",
        "",
        "  - name: the inbox chores rule only reports, in shadow mode",
        f"    task: {task('Unsubscribe from the supplier newsletter')}",
        f"    expect: {{ rule: Inbox chores, quadrant: eliminate, actions: {chores} }}",
    ]
    if keys:
        first = next(iter(keys))
        lines += [
            "",
            "  - name: a task already with an assistant is left as it is",
            "    task:",
            f"      {{ name: {quote('Pay invoice #1040')}, assignee: {first}, "
            f"tags: [{quote(words.delegated_tag)}], followers: [owner] }}",
            "    expect: { rule: null, actions: [] }",
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the sandbox world


_FIXTURE_KINDS = {"enum", "multi_enum", "number", "text", "date"}


def world_tokens(answers: Answers) -> dict[str, str]:
    """Each person's sandbox token in the world (by gid): ``sandbox-<client>-<n>``."""
    people = _world_people(answers)
    return {person.gid: f"sandbox-{answers.client_key}-{n}" for n, person in enumerate(people, 1)}


def _world_people(answers: Answers) -> list[Person]:
    people: dict[str, Person] = {answers.owner.gid: answers.owner}
    for person in answers.assistants:
        people.setdefault(person.gid, person)
    return list(people.values())


def _world_email(person: Person, domain: str) -> str:
    ref = person_ref(person)
    return ref if "@" in ref else f"user-{person.gid}@{domain}"


def world_file(catalogue: Catalogue, answers: Answers) -> str:
    """A sandbox fixture (docs/sandbox.md) of the workspace with the starter's sample tasks."""
    words = vocabulary(catalogue, answers.projects)
    owner_domain = answers.owner.domain or "client.example"
    tokens = world_tokens(answers)
    people = _world_people(answers)
    lines = [
        f"# A sandbox world for {comment_text(answers.client_name)}, written by `delegator init`:",
        "# the workspace's gids, people, projects, sections, tags and fields, and sample tasks.",
        "# The tokens below are the sandbox's own; they open nothing in Asana.",
        f"description: {quote('Sample tasks for the starter rules of ' + answers.client_name)}",
        "workspaces:",
        f"  - name: {quote(catalogue.workspace.name.strip() or 'Workspace')}",
        f"    gid: {quote(catalogue.workspace.gid)}",
        f"    email_domains: [{quote(owner_domain)}]",
        "    plan: paid",
        "    users:",
    ]
    for person in people:
        role = "client" if person.gid == answers.owner.gid else "assistant"
        lines.append(
            f"      - {{ name: {quote(person.name.strip() or person_ref(person))}, "
            f"email: {quote(_world_email(person, owner_domain))}, gid: {quote(person.gid)}, "
            f"token: {quote(tokens[person.gid])}, role: {role} }}"
        )
    tag_names = _unique(
        [
            *[t.name for t in catalogue.tags if _usable(t.name)][:50],
            words.urgent_tag,
            words.important_tag,
            words.keep_tag,
        ]
    )
    lines.append("    tags:")
    lines += [f"      - {quote(name)}" for name in tag_names]
    fields = [f for f in catalogue.fields if f.kind in _FIXTURE_KINDS and _usable(f.name)][:20]
    if fields:
        lines.append("    custom_fields:")
        for field in _unique_by_name(fields):
            lines.append(f"      - name: {quote(field.name.strip())}")
            lines.append(f"        gid: {quote(field.gid)}")
            lines.append(f"        type: {field.kind}")
            options = _unique_by_name([o for o in field.options if o.name.strip()])
            if field.kind in ("enum", "multi_enum"):
                lines.append("        options:")
                lines += [
                    f"          - {{ name: {quote(o.name.strip())}, gid: {quote(o.gid)} }}"
                    for o in options
                ] or ["          - Default"]
    owner_email = _world_email(answers.owner, owner_domain)
    tasks = _world_tasks(words, owner_email)
    if answers.projects:
        lines.append("    projects:")
        for index, project in enumerate(answers.projects):
            sections = _unique_by_name([s for s in project.sections if s.name.strip()])
            lines.append(f"      - name: {quote(project.name.strip() or project.gid)}")
            lines.append(f"        gid: {quote(project.gid)}")
            lines.append(f"        owner: {quote(owner_email)}")
            members = [_world_email(p, owner_domain) for p in people if p is not answers.owner]
            if members:
                lines.append(f"        members: [{', '.join(quote(m) for m in members)}]")
            if sections:
                lines.append("        sections:")
                lines += [
                    f"          - {{ name: {quote(s.name.strip())}, gid: {quote(s.gid)} }}"
                    for s in sections
                ]
            if index == 0:
                lines.append("        tasks:")
                lines += [f"          {line}" for line in tasks]
    else:
        lines.append("    tasks:    # in no project: the owner's My Tasks")
        lines += [f"      {line}" for line in tasks]
    return "\n".join(lines) + "\n"


def _world_tasks(words: Vocabulary, owner_email: str) -> list[str]:
    lines = []
    for sample in samples(words):
        due = ""
        if sample.due is not None:
            due = f", due_on: today+{sample.due}" if sample.due else ", due_on: today"
        tags = f", tags: [{', '.join(quote(t) for t in sample.tags)}]" if sample.tags else ""
        lines.append(
            f"- {{ name: {quote(sample.name)}, assignee: {quote(owner_email)}{due}{tags} }}"
        )
    return lines


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(_folded(name), name.strip())
    return list(seen.values())


_Named = TypeVar("_Named", SectionInfo, OptionInfo, FieldInfo)


def _unique_by_name(items: Iterable[_Named]) -> list[_Named]:
    seen: dict[str, _Named] = {}
    for item in items:
        seen.setdefault(_folded(item.name), item)
    return list(seen.values())
