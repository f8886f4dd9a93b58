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

The three are written in the client's language (`Answers.language`): the file's ``language:``,
its explanatory comments, the rules' names, descriptions and comment templates, the rule tests'
case names and the sample tasks. The rules recognise English and Italian words in either.

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

from babel.dates import format_date

from delegator.asana.catalogue import (
    Catalogue,
    FieldInfo,
    OptionInfo,
    Person,
    ProjectInfo,
    SectionInfo,
)
from delegator.core.language import Language

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
#: The section names above that are Italian words: a workspace whose watched sections are
#: mostly these is an Italian office's (`italian_sections`).
ITALIAN_SECTIONS = frozenset(
    {"in arrivo", "da smistare", "posta in arrivo", "fatture", "fatturazione", "ricevute",
     "prenotazioni", "appuntamenti"}
)  # fmt: skip
_ENGLISH_SECTIONS = (
    frozenset((*_INBOX_SECTIONS, *_INVOICE_SECTIONS, *_BOOKING_SECTIONS)) - ITALIAN_SECTIONS
)

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
    language: Language = Language.EN  # of the files' texts


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


@dataclass(frozen=True, slots=True)
class Texts:
    """The words of the starter files in one language. ``{name}`` fields are filled in with
    `str.format`; the comment templates (``{{ assignee.first_name }}``) are written as they are."""

    header: str  # {client} {date}
    workspace: str  # {workspace} {gid}
    read_it: str
    active: tuple[str, ...]
    all_shadow: tuple[str, ...]
    variable_note: str
    language_note: str
    opt_out_note: str
    keep_note: str
    my_tasks: str
    other_projects: str
    more_projects: str
    no_assistants: tuple[str, ...]
    capacity_note: str
    matrix_note: str
    due_note: str
    invoices_note: str
    invoices: str
    invoices_description: str
    invoices_comment: str
    bookings_note: str
    bookings: str
    bookings_comment: str
    chores_note: tuple[str, ...]
    chores: str
    tests_header: tuple[str, ...]  # {key}
    now_note: str
    cases: tuple[str, ...]  # a name per case of `rule_tests`, in its order
    keep_case: str  # {tag}
    with_assistant_case: str
    with_assistant_task: str
    samples: tuple[str, ...]  # the names of the eight `samples`, in their order
    world_header: tuple[str, ...]  # {client}
    world_description: str  # {client}
    world_my_tasks: str


ENGLISH = Texts(
    header="# Starter rules for {client}, written by `delegator init` on {date}",
    workspace="# from the Asana workspace {workspace} ({gid}).",
    read_it="# Read it, change it, then: delegator check / delegator test / delegator plan.",
    active=(
        "# The rules for invoices and bookings are active: they only take tasks that are not",
        "# important (see matrix) and still belong to the owner or to nobody. The inbox chores",
        "# rule starts in shadow mode: it reports what it would do and writes nothing until you",
        "# delete its `mode: shadow` line.",
    ),
    all_shadow=(
        "# No assistant is named yet, so every rule is in shadow mode: it reports what it would",
        "# do and writes nothing. Name assistants below, then switch the rules on.",
    ),
    variable_note="    # where the token is read; never the token itself",
    language_note="    # comments, summaries and digests in English",
    opt_out_note="    # tasks with it are never touched",
    keep_note="  # A task tagged `keep` is never touched (opt_out_tag).",
    my_tasks="  - my_tasks    # the owner's My Tasks",
    other_projects="  # Other projects of the workspace, to watch as well:",
    more_projects="  # ... and more (delegator init lists them all)",
    no_assistants=(
        "# No assistant yet: the rules below only tag tasks `to-delegate`, in shadow mode.",
        "# Add one, e.g.",
        "#   assistants:",
        "#     giulia: { user: giulia@va-agency.example, skills: [admin] }",
        "# then replace `tag: to-delegate` with `assign: { pool: [giulia] }`.",
    ),
    capacity_note="    # the most open tasks delegated to them at once",
    matrix_note=(
        "# The Covey matrix: urgent x important. Urgent and not important: an assistant does it."
    ),
    due_note="    # only when it has no date",
    invoices_note="  # Money paperwork (fattura, ricevuta, scontrino, nota spese...).",
    invoices="Invoices and receipts",
    invoices_description="Paying, sending and filing money paperwork is not the owner's job.",
    invoices_comment='Hi {{ assignee.first_name }}, this one is yours now (rule "{{ rule.name }}").'
    '\nDue {{ task.due_on or "without a date" }}: {{ task.permalink_url }}',
    bookings_note=(
        "  # Travel, bookings and appointments (prenotazione, appuntamento, volo, treno...)."
    ),
    bookings="Bookings and appointments",
    bookings_comment="Hi {{ assignee.first_name }}, could you take care of this booking?"
    "\n{{ task.permalink_url }}",
    chores_note=(
        "  # Inbox chores: unsubscribing, newsletters, forms (moduli, iscrizioni...). Shadow mode:",
        "  # `delegator plan` and the summary show what it would take; delete `mode: shadow`",
        "  # once that list looks right.",
    ),
    chores="Inbox chores",
    tests_header=(
        "# Rule tests for {key}.yaml: run them with `delegator test`.",
        "# Each case is a task and what the rules must decide for it; add your own.",
    ),
    now_note="    # read in the client's time zone",
    cases=(
        "an invoice due today goes to an assistant",
        "an Italian invoice without a date is low value, delegated too",
        "an important invoice stays with the owner",
        "a train booking gets a due date when it has none",
        "strategy work is scheduled, not delegated",
        "the inbox chores rule only reports, in shadow mode",
    ),
    keep_case="a task tagged {tag} is never touched",
    with_assistant_case="a task already with an assistant is left as it is",
    with_assistant_task="Pay invoice #1040",
    samples=(
        "Pay invoice #1042 from the web host",
        "Pagare la fattura del commercialista",
        "Prenotare il treno per la fiera di Milano",
        "Book a hotel for the client visit",
        "Invoice dispute with our biggest client",
        "Prepare the business plan for next year",
        "Pay invoice #1043 (personal card)",
        "Unsubscribe from the supplier newsletter",
    ),
    world_header=(
        "# A sandbox world for {client}, written by `delegator init`:",
        "# the workspace's gids, people, projects, sections, tags and fields, and sample tasks.",
        "# The tokens below are the sandbox's own; they open nothing in Asana.",
    ),
    world_description="Sample tasks for the starter rules of {client}",
    world_my_tasks="    # in no project: the owner's My Tasks",
)

ITALIAN = Texts(
    header="# Regole iniziali per {client}, scritte da `delegator init` il {date}",
    workspace="# a partire dall'area di lavoro Asana {workspace} ({gid}).",
    read_it="# Da rileggere e adattare, poi: delegator check / delegator test / delegator plan.",
    active=(
        "# Le regole per fatture e prenotazioni sono attive: prendono solo attività non",
        "# importanti (vedi matrix) che sono ancora del titolare o di nessuno. La regola per",
        "# posta e piccole incombenze parte in modalità shadow: dice cosa farebbe e non scrive",
        "# nulla finché non si cancella la sua riga `mode: shadow`.",
    ),
    all_shadow=(
        "# Il file non nomina ancora nessuna assistente: tutte le regole sono in modalità shadow,",
        "# dicono cosa farebbero e non scrivono nulla. Aggiungere le assistenti qui sotto, poi",
        "# attivare le regole.",
    ),
    variable_note="    # dove si legge il token, mai il token stesso",
    language_note="    # commenti e riepiloghi in italiano",
    opt_out_note="    # le attività con questo tag non si toccano mai",
    keep_note="  # Le attività con il tag `keep` non si toccano mai (opt_out_tag).",
    my_tasks="  - my_tasks    # «Le mie attività» del titolare",
    other_projects="  # Altri progetti dell'area di lavoro, da seguire se serve:",
    more_projects="  # ... e altri ancora (delegator init li elenca tutti)",
    no_assistants=(
        "# Ancora nessuna assistente: le regole qui sotto mettono solo il tag `to-delegate`,",
        "# in modalità shadow. Per aggiungerne una, per esempio:",
        "#   assistants:",
        "#     giulia: { user: giulia@va-agency.example, skills: [admin] }",
        "# poi sostituire `tag: to-delegate` con `assign: { pool: [giulia] }`.",
    ),
    capacity_note="    # quante attività delegate può avere aperte al massimo",
    matrix_note=(
        "# La matrice di Covey: urgente x importante. Urgente e non importante: se ne occupa"
        " un'assistente."
    ),
    due_note="    # solo se non ha già una scadenza",
    invoices_note="  # Fatture, ricevute, scontrini, note spese, bollette, rimborsi (anche in inglese).",
    invoices="Fatture e ricevute alle assistenti",
    invoices_description=(
        "Pagare, inviare e archiviare fatture e ricevute non è un lavoro per il titolare."
    ),
    invoices_comment="Ciao {{ assignee.first_name }}, questa la segui tu (regola «{{ rule.name }}»)."
    '\nScadenza: {{ task.due_on or "nessuna" }}. {{ task.permalink_url }}',
    bookings_note="  # Viaggi, prenotazioni e appuntamenti (voli, treni, alberghi, ristoranti...).",
    bookings="Viaggi e prenotazioni",
    bookings_comment="Ciao {{ assignee.first_name }}, ti occupi tu di questa prenotazione? Grazie!"
    "\n{{ task.permalink_url }}",
    chores_note=(
        "  # Posta e piccole incombenze: disiscrizioni, newsletter, moduli, questionari. In",
        "  # modalità shadow: `delegator plan` e il riepilogo mostrano cosa prenderebbe; togliere",
        "  # `mode: shadow` quando quell'elenco è giusto.",
    ),
    chores="Posta e piccole incombenze",
    tests_header=(
        "# Test delle regole di {key}.yaml: si lanciano con `delegator test`.",
        "# Ogni caso è un'attività e ciò che le regole devono decidere; se ne possono aggiungere.",
    ),
    now_note="    # nel fuso orario del cliente",
    cases=(
        "una fattura in scadenza oggi va a un'assistente",
        "una fattura scritta in inglese e senza scadenza vale poco: delegata anche lei",
        "una fattura importante resta al titolare",
        "la prenotazione di un treno riceve una scadenza se non ce l'ha",
        "il lavoro di strategia si pianifica, non si delega",
        "la regola per posta e piccole incombenze si limita a dire cosa farebbe",
    ),
    keep_case="un'attività con il tag {tag} non si tocca mai",
    with_assistant_case="un'attività già di un'assistente resta com'è",
    with_assistant_task="Pagare la fattura n. 1040",
    samples=(
        "Pagare la fattura n. 1042 del provider del sito",
        "Pay the accountant's invoice",
        "Prenotare il treno per la fiera di Milano",
        "Prenotare l'albergo per la visita al cliente",
        "Contestazione della fattura del nostro cliente principale",
        "Preparare il business plan dell'anno prossimo",
        "Pagare la fattura n. 1043 (carta personale)",
        "Disiscriversi dalla newsletter del fornitore",
    ),
    world_header=(
        "# Un mondo sandbox per {client}, scritto da `delegator init`: gid, persone, progetti,",
        "# sezioni, tag e campi dell'area di lavoro, e attività di esempio.",
        "# I token qui sotto sono quelli della sandbox: in Asana non aprono nulla.",
    ),
    world_description="Attività di esempio per le regole iniziali di {client}",
    world_my_tasks="    # in nessun progetto: «Le mie attività» del titolare",
)

TEXTS: dict[Language, Texts] = {Language.EN: ENGLISH, Language.IT: ITALIAN}


def italian_sections(projects: Iterable[ProjectInfo]) -> tuple[str, ...]:
    """The watched sections named with Italian words the starter recognises, when they are
    most of those it recognises (else none): a sign the office writes Italian."""
    italian, english = [], 0
    for project in projects:
        for section in project.sections:
            name = _folded(section.name)
            if name in ITALIAN_SECTIONS:
                italian.append(section.name.strip())
            elif name in _ENGLISH_SECTIONS:
                english += 1
    return tuple(italian) if len(italian) > english else ()


#: Time zones of Italy and of the states within it: a client there gets an Italian starter.
ITALIAN_ZONES = frozenset({"Europe/Rome", "Europe/San_Marino", "Europe/Vatican"})


@dataclass(frozen=True, slots=True)
class LanguageDefault:
    """The starter's language when none is asked for, and why: an Italian time zone, else
    the Italian section names of the watched projects (`sections`), else English."""

    language: Language
    zone: str
    sections: tuple[str, ...] = ()

    def reason(self) -> str:
        if self.language is Language.EN:
            return (
                f"neither the time zone ({self.zone}) nor the watched projects' section names "
                "are Italian"
            )
        if self.zone in ITALIAN_ZONES:
            return f"the time zone {self.zone} is Italian"
        names = ", ".join(comment_text(name, 30) for name in self.sections[:4])
        more = ", ..." if len(self.sections) > 4 else ""
        return f"the watched projects' sections are named in Italian ({names}{more})"


def default_language(zone: str, projects: Iterable[ProjectInfo]) -> LanguageDefault:
    """Italian for a client in an Italian time zone or whose watched sections are mostly named
    with the Italian words the starter recognises ("Fatture", "Prenotazioni", "In arrivo");
    English otherwise."""
    if zone in ITALIAN_ZONES:
        return LanguageDefault(Language.IT, zone)
    italian = italian_sections(projects)
    return LanguageDefault(Language.IT if italian else Language.EN, zone, italian)


def _date(day: date, language: Language) -> str:
    if language is Language.EN:
        return day.isoformat()
    return str(format_date(day, "d MMMM y", locale="it_IT"))


def rule_file(catalogue: Catalogue, answers: Answers) -> str:
    """The client's starter rule file, commented for the person who will review it."""
    words = vocabulary(catalogue, answers.projects)
    keys = assistant_keys(answers.assistants)
    listed = catalogue.projects.items + tuple(
        p for p in answers.projects if p.gid not in {x.gid for x in catalogue.projects}
    )
    text = TEXTS[answers.language]
    lines = [
        text.header.format(
            client=comment_text(answers.client_name), date=_date(answers.today, answers.language)
        ),
        text.workspace.format(
            workspace=comment_text(catalogue.workspace.name), gid=catalogue.workspace.gid
        ),
        "#",
        text.read_it,
        *(text.active if keys else text.all_shadow),
        "version: 1",
        "client:",
        f"  name: {quote(answers.client_name.strip() or 'Client')}",
        f"  workspace: {quote(catalogue.workspace.gid)}",
        f"  token: {_token(answers.token)}{text.variable_note}",
        f"  timezone: {quote(answers.timezone)}",
        f"  language: {answers.language.value}{text.language_note}",
        f"  owner: {quote(person_ref(answers.owner))}    # {comment_text(answers.owner.name)}",
    ]
    if words.keep_tag != "keep":
        lines.append(f"  opt_out_tag: {quote(words.keep_tag)}{text.opt_out_note}")
    else:
        lines.append(text.keep_note)
    lines += ["", "watch:", text.my_tasks]
    for project in answers.projects:
        lines.append(f"  - project: {_project_ref(project, listed)}")
    others = [p for p in catalogue.projects if p.gid not in {w.gid for w in answers.projects}]
    if others:
        lines.append(text.other_projects)
        for project in others[:10]:
            lines.append(f"  # - project: {_project_ref(project, listed)}")
        if len(others) > 10 or catalogue.projects.truncated:
            lines.append(text.more_projects)
    lines += ["", *_assistants_block(keys, text), "", *_matrix_block(words, text), "", "rules:"]
    lines += _rules_block(words, keys, listed, text)
    return "\n".join(lines) + "\n"


def _token(token: TokenRef) -> str:
    if token.file is not None:
        return f"{{ file: {quote(token.file)} }}"
    assert token.env is not None
    return f"{{ env: {quote(token.env)} }}"


def _assistants_block(keys: dict[str, Person], text: Texts) -> list[str]:
    if not keys:
        return list(text.no_assistants)
    lines = ["assistants:"]
    for key, person in keys.items():
        lines.append(f"  {key}:")
        lines.append(f"    user: {quote(person_ref(person))}")
        if person.name.strip():
            lines.append(f"    name: {quote(person.name.strip())}")
        lines.append(f"    capacity: 20{text.capacity_note}")
        lines.append('    # hours: "Mon-Fri 09:00-17:00"')
    return lines


def _matrix_block(words: Vocabulary, text: Texts) -> list[str]:
    lines = [
        text.matrix_note,
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
    words: Vocabulary, keys: dict[str, Person], listed: Sequence[ProjectInfo], text: Texts
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
            lines.append(f"      - due: {{ in: 3 business days }}{text.due_note}")
        if comment:
            lines += ["      - comment: |", *(f"          {line}" for line in comment.split("\n"))]
        return lines

    lines = [
        text.invoices_note,
        f"  - name: {text.invoices}",
        f"    description: {text.invoices_description}",
        "    when:",
        "      all:",
        "        - quadrant: [delegate, eliminate]",
        "        - assignee: [owner, none]",
        *_any_of(INVOICE_PATTERN, words.invoices, listed),
        "    then:",
        *hand_over(comment=text.invoices_comment),
        "    minutes: 15",
        "",
        text.bookings_note,
        f"  - name: {text.bookings}",
        "    when:",
        "      all:",
        "        - assignee: [owner, none]",
        "        - not: { quadrant: do }",
        *_any_of(BOOKING_PATTERN, words.bookings, listed),
        "    then:",
        *hand_over(due=True, comment=text.bookings_comment),
        "    minutes: 20",
        "",
        *text.chores_note,
        f"  - name: {text.chores}",
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


def samples(words: Vocabulary, language: Language = Language.EN) -> tuple[Sample, ...]:
    """The tasks of the rule tests and of the sandbox world, named in `language` (with one in
    the other language, which the rules recognise too)."""
    text = TEXTS[language]
    (paid, other_language, train, hotel, dispute, plan, personal, newsletter) = text.samples
    return (
        Sample(paid, text.invoices, due=0, delegated=True),
        Sample(other_language, text.invoices, delegated=True),
        Sample(train, text.bookings, delegated=True),
        Sample(hotel, text.bookings, due=5, delegated=True),
        Sample(dispute, None, due=0, tags=(words.important_tag,)),
        Sample(plan, None, tags=(words.important_tag,)),
        Sample(personal, None, due=1, tags=(words.keep_tag,)),
        Sample(newsletter, None),
    )


def rule_tests(catalogue: Catalogue, answers: Answers) -> str:
    """Rule tests for `rule_file`'s file that pass as written, at 10:00 on `answers.today`."""
    words = vocabulary(catalogue, answers.projects)
    keys = assistant_keys(answers.assistants)
    today = answers.today
    text = TEXTS[answers.language]
    paid, other_language, train, _, dispute, plan, personal, newsletter = text.samples

    def case(name: str) -> str:
        """A case's name: as it is when plain YAML reads it back so (the English ones)."""
        return name if answers.language is Language.EN else quote(name)

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
    invoice_rule, booking_rule = text.invoices, text.bookings
    on_time, undated, important, train_case, strategy, shadow = (case(c) for c in text.cases)
    important_tag = [words.important_tag]
    lines = [
        *(line.format(key=answers.client_key) for line in text.tests_header),
        f"rules: {quote(answers.client_key + '.yaml')}",
        f"now: {today.isoformat()}T10:00:00{text.now_note}",
        f"owner: {quote(person_ref(answers.owner))}",
        "",
        "cases:",
        f"  - name: {on_time}",
        f"    task: {task(paid, days=0)}",
        f"    expect: {{ rule: {invoice_rule}, quadrant: delegate, actions: {handed} }}",
        "",
        f"  - name: {undated}",
        f"    task: {task(other_language)}",
        f"    expect: {{ rule: {invoice_rule}, quadrant: eliminate }}",
        "",
        f"  - name: {important}",
        f"    task: {task(dispute, days=0, tags=important_tag)}",
        f"    expect: {{ rule: null, quadrant: do, near_miss: {invoice_rule} }}",
        "",
        f"  - name: {train_case}",
        f"    task: {task(train)}",
        f"    expect: {{ rule: {booking_rule}, actions: {booked} }}",
        "",
        f"  - name: {strategy}",
        f"    task: {task(plan, tags=important_tag)}",
        "    expect: { rule: null, quadrant: schedule, actions: [] }",
        "",
        f"  - name: {quote(text.keep_case.format(tag=words.keep_tag.strip()))}",
        f"    task: {task(personal, days=1, tags=[words.keep_tag])}",
        "    expect: { skipped: true, rule: null, actions: [] }",
        "",
        f"  - name: {shadow}",
        f"    task: {task(newsletter)}",
        f"    expect: {{ rule: {text.chores}, quadrant: eliminate, actions: {chores} }}",
    ]
    if keys:
        first = next(iter(keys))
        lines += [
            "",
            f"  - name: {case(text.with_assistant_case)}",
            "    task:",
            f"      {{ name: {quote(text.with_assistant_task)}, assignee: {first}, "
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
    text = TEXTS[answers.language]
    lines = [
        *(line.format(client=comment_text(answers.client_name)) for line in text.world_header),
        f"description: {quote(text.world_description.format(client=answers.client_name))}",
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
    tasks = _world_tasks(samples(words, answers.language), owner_email)
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
        lines.append(f"    tasks:{text.world_my_tasks}")
        lines += [f"      {line}" for line in tasks]
    return "\n".join(lines) + "\n"


def _world_tasks(tasks: Iterable[Sample], owner_email: str) -> list[str]:
    lines = []
    for sample in tasks:
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
