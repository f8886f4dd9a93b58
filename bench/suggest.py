"""Benchmark: what `delegator suggest` costs once the history is read (mining and scoring).

A synthetic history for the agency example: two thirds of the tasks handed off by hand (invoices
in Italian and English to Giulia, bookings to Marco, a share of them in a section, due dates
near or far), a third kept by the owner, every name with two or three words of noise drawn from
a vocabulary of 400. For 300, 1,500 (the default bound of three people) and 3,000 tasks: the
wall time of `core.rulemining.suggest` (the features, the greedy covering, each suggestion
compiled into the file and scored by the rule engine on every task), the peak memory it
allocates (tracemalloc), and how many rules it suggests. Figures, not assertions.

    .venv/bin/python bench/suggest.py [--sizes 300,1500,3000]
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from delegator.core.context import Directory, Identity
from delegator.core.model import Membership, Ref, Task, UserRef
from delegator.core.rulemining import Example, suggest

AGENCY = Path(__file__).resolve().parents[1] / "examples" / "small-agency.yaml"
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
ANNA = Identity("101", "anna@northwind.example", "Anna Rossi")
DIRECTORY = Directory(
    ANNA,
    {
        "giulia": Identity("102", "giulia@va-agency.example", "Giulia Bianchi"),
        "marco": Identity("103", "marco@va-agency.example", "Marco Verdi"),
    },
)
ADMIN = Ref("202", "Client Admin")
INVOICES, BOOKINGS = Ref("301", "Invoices"), Ref("302", "Bookings")
INVOICE_WORDS = ("fattura", "fatture", "invoice", "invoices", "ricevuta", "receipt")
BOOKING_WORDS = ("prenotazione", "hotel", "hotels", "flight", "volo", "treno")
KEPT_WORDS = ("strategy", "proposal", "pitch", "interview", "review", "brief")


def history(size: int, seed: int = 7) -> list[Example]:
    rng = random.Random(seed)
    noise = [f"w{n:03d}" for n in range(400)]
    examples: list[Example] = []
    for n in range(size):
        at = NOW - timedelta(days=rng.randint(1, 180), hours=rng.randint(0, 8))
        kind = n % 3
        words = rng.sample(noise, rng.randint(2, 3))
        if kind == 0:
            words.append(rng.choice(INVOICE_WORDS))
            to, section = "giulia", INVOICES if rng.random() < 0.3 else None
        elif kind == 1:
            words.append(rng.choice(BOOKING_WORDS))
            to, section = "marco", BOOKINGS if rng.random() < 0.3 else None
        else:
            words.append(rng.choice(KEPT_WORDS))
            to, section = None, None
        rng.shuffle(words)
        due = (at + timedelta(days=rng.randint(0, 20))).date() if rng.random() < 0.7 else None
        task = Task(
            str(10_000 + n),
            " ".join(words).capitalize(),
            assignee=UserRef("102", "Giulia Bianchi"),
            completed=True,
            completed_at=at,
            due_on=due,
            projects=(ADMIN,) if section else (),
            memberships=(Membership(ADMIN, section),) if section else (),
        )
        examples.append(Example(task, to, at))
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="300,1500,3000")
    args = parser.parse_args()
    # The agency writes Italian; the bench's lines stay English, comparable from run to run.
    text = AGENCY.read_text(encoding="utf-8").replace("\n  language: it\n", "\n  language: en\n")
    print(f"{'tasks':>6} {'seconds':>8} {'peak MiB':>9} {'rules':>6}")
    for size in (int(s) for s in args.sizes.split(",")):
        examples = history(size)
        tracemalloc.start()
        started = time.perf_counter()
        mined = suggest(text, "small-agency.yaml", examples, now=NOW, directory=DIRECTORY)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"{size:>6} {elapsed:>8.2f} {peak / 2**20:>9.1f} {len(mined.suggestions):>6}")
        for s in mined.suggestions:
            print(f"         {s.name}: {s.score.line}")


if __name__ == "__main__":
    main()
