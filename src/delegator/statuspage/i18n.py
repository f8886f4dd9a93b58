"""The words of the client's and the assistant's pages, in English and Italian.

A page speaks the language its reader asked for: ``?lang=it``, else the first language of the
browser's ``Accept-Language`` we have. When the reader asks for neither (no header, ``*``, or
only languages we do not have), a client's pages speak the client's ``language`` and an
assistant's page the assistant's (else their client's); English otherwise. Italian as an Italian
office writes it. The operator's pages are in English.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "it")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "skip": "Skip to the content",
        "at_a_glance": "At a glance",
        "delegated": "Delegated",
        "done": "Done",
        "overdue": "Overdue",
        "due_soon": "Due soon",
        "still_open": "Still open",
        "taken_back": "Taken back",
        "minutes_given_back": "minutes given back",
        "by_assistant": "Delegated per assistant",
        "by_rule": "Delegated per rule",
        "none": "None",
        "task": "Task",
        "assistant": "Assistant",
        "rule": "rule",
        "rule_heading": "Rule",
        "due": "Due",
        "bounced": "Not for me: bounced tasks",
        "missed": "Missed expectations",
        "problems": "Problems",
        "matrix": "Covey matrix of the open tasks",
        "important": "Important",
        "not_important": "Not important",
        "urgent": "Urgent",
        "not_urgent": "Not urgent",
        "q_do": "do",
        "q_schedule": "schedule",
        "q_delegate": "delegate",
        "q_eliminate": "eliminate",
        "what_was_written": "What the service did",
        "nothing_written": "Nothing was written to this task.",
        "follow_up": "Follow-up",
        "your_tasks": "your tasks",
        "open": "open",
        "capacity": "capacity",
        "expected": "Expected by",
        "delegations_per_week": "Delegations per week",
        "holds": "holds",
        "does_not_hold": "does not hold",
        "actual": "actual",
        "wanted": "wanted",
        "why_rule": "Why rule",
        "quadrant": "Quadrant",
        "trace_urgent": "Urgent?",
        "trace_important": "Important?",
        "trace_when": "The rule's conditions",
        "summaries_sent": "Summaries sent",
        "comment_posted": "comment posted",
        "held_by_owner": "Important tasks (do, schedule) the owner still holds",
        "stage_acknowledged": "acknowledged",
        "stage_started": "started",
        "stage_done": "done",
        "step_met": "met",
        "step_reminder": "reminder",
        "step_escalation": "escalation",
        "step_reassign": "reassign",
        "step_bounce": "bounce",
    },
    "it": {
        "skip": "Vai al contenuto",
        "at_a_glance": "In sintesi",
        "delegated": "Delegate",
        "done": "Completate",
        "overdue": "In ritardo",
        "due_soon": "In scadenza",
        "still_open": "Ancora aperte",
        "taken_back": "Riprese in carico",
        "minutes_given_back": "minuti restituiti",
        "by_assistant": "Delegate per assistente",
        "by_rule": "Delegate per regola",
        "none": "Nessuna",
        "task": "Attività",
        "assistant": "Assistente",
        "rule": "regola",
        "rule_heading": "Regola",
        "due": "Scadenza",
        "bounced": "Non fa per me: attività restituite",
        "missed": "Tempi non rispettati",
        "problems": "Problemi",
        "matrix": "Matrice di Covey delle attività aperte",
        "important": "Importante",
        "not_important": "Non importante",
        "urgent": "Urgente",
        "not_urgent": "Non urgente",
        "q_do": "fare",
        "q_schedule": "pianificare",
        "q_delegate": "delegare",
        "q_eliminate": "eliminare",
        "what_was_written": "Cosa ha fatto il servizio",
        "nothing_written": "Nessuna modifica a questa attività.",
        "follow_up": "Solleciti",
        "your_tasks": "le tue attività",
        "open": "aperte",
        "capacity": "capacità",
        "expected": "Attesa entro",
        "delegations_per_week": "Deleghe per settimana",
        "holds": "vera",
        "does_not_hold": "falsa",
        "actual": "valore",
        "wanted": "atteso",
        "why_rule": "Perché la regola",
        "quadrant": "Quadrante",
        "trace_urgent": "Urgente?",
        "trace_important": "Importante?",
        "trace_when": "Le condizioni della regola",
        "summaries_sent": "Riepiloghi inviati",
        "comment_posted": "commento pubblicato",
        "held_by_owner": "Attività importanti (fare, pianificare) ancora in mano al titolare",
        "stage_acknowledged": "presa in carico",
        "stage_started": "iniziata",
        "stage_done": "completata",
        "step_met": "rispettata",
        "step_reminder": "promemoria",
        "step_escalation": "segnalazione",
        "step_reassign": "riassegnata",
        "step_bounce": "non fa per me",
    },
}


def choose(asked: str | None, accept: str | None, default: str = "en") -> str:
    """``?lang=`` when we have it, else the first of ``Accept-Language`` we have, else
    ``default`` (the page's owner's language), else en."""
    if asked in LANGUAGES:
        return asked
    for part in (accept or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return default if default in LANGUAGES else "en"


def translator(language: str) -> Callable[[str], str]:
    words = MESSAGES.get(language, MESSAGES["en"])
    english = MESSAGES["en"]
    return lambda key: words.get(key) or english.get(key, key)
