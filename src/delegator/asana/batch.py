"""The Batch API: many actions in few round trips, with a result per action.

``POST /batch`` takes at most 10 actions, runs them in parallel in no set order, and answers 200
with one ``{status_code, headers, body}`` per action even when some failed. Each action costs
one quota unit and one concurrency slot, so the budget is charged per action, not per batch.

Retries: a batch of idempotent actions is retried like any idempotent request. A batch holding
a create is not, after an ambiguous failure: each create's check looks for what the failed
attempt may have made, and only the actions not found are sent again (idempotent ones always
are). A create without a check is then reported with the error instead of being sent twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from delegator.asana import answers, errors
from delegator.asana.errors import AsanaError, Outcome, UnexpectedAnswer
from delegator.asana.http import Record, Transport
from delegator.asana.writes import Action, find_existing

MAX_ACTIONS = 10


@dataclass(frozen=True)
class ActionResult:
    action: Action
    status: int  # the action's own status (0 when it has none: see `error`)
    body: Record  # {"data": ...} on success, {"errors": [...]} on failure
    error: AsanaError | None = None
    recovered: bool = False  # an ambiguous create that was found already done

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def data(self) -> Any:
        return self.body.get("data")


def action_error(
    transport: Transport, method: str, path: str, item: answers.BatchItem, now: datetime
) -> AsanaError:
    """A failed action's own error. A 429 on one action tells the budget to slow down, as a 429
    on a whole request does: every reader of /batch answers goes through here."""
    error = errors.from_status(method, path, item.status, item.body, item.headers, now)
    if isinstance(error, errors.RateLimited):
        transport.budget.rate_limited(error.retry_after or transport.policy.default_retry_after)
    return error


def chunks(actions: Sequence[Action], size: int = MAX_ACTIONS) -> Iterator[Sequence[Action]]:
    for start in range(0, len(actions), size):
        yield actions[start : start + size]


def run(
    transport: Transport, actions: Sequence[Action], *, me: Callable[[], str]
) -> list[ActionResult]:
    """Every action, in batches of at most 10, results in the order of `actions`.

    An error of a whole batch (401, a 429 beyond the policy, Asana unreachable) is raised; the
    batches before it were applied.
    """
    results: list[ActionResult] = []
    for chunk in chunks(actions):
        results.extend(_run_chunk(transport, chunk, me=me, since=None, failures=0))
    return results


def _run_chunk(
    transport: Transport,
    chunk: Sequence[Action],
    *,
    me: Callable[[], str],
    since: datetime | None,
    failures: int,
) -> list[ActionResult]:
    reads = sum(1 for action in chunk if action.is_read)
    idempotent = all(action.idempotent for action in chunk)
    if since is None:
        since = transport.clock.now() - timedelta(seconds=transport.policy.created_since_margin)
    try:
        response = transport.request(
            "POST",
            "/batch",
            body={"data": {"actions": [action.batch_entry() for action in chunk]}},
            idempotent=idempotent,
            reads=reads,
            writes=len(chunk) - reads,
            shape=answers.batch(len(chunk)),
        )
    except AsanaError as error:
        if idempotent or not error.may_have_executed:
            raise
        decision = errors.decide(
            error, method="POST", idempotent=False, failures=failures + 1, policy=transport.policy
        )
        if decision.outcome is not Outcome.VERIFY:
            error.outcome = decision.outcome
            raise
        transport.sleep(decision.delay)
        return _recover(transport, chunk, error, me=me, since=since, failures=failures + 1)
    return _results(transport, chunk, response.parsed)


def _recover(
    transport: Transport,
    chunk: Sequence[Action],
    error: AsanaError,
    *,
    me: Callable[[], str],
    since: datetime,
    failures: int,
) -> list[ActionResult]:
    """After an ambiguous failure: settle each create by looking for it, resend the rest."""
    settled: dict[int, ActionResult] = {}
    for index, action in enumerate(chunk):
        if action.idempotent:
            continue
        if action.check is None:
            settled[index] = ActionResult(action, 0, {}, error)
            continue
        existing = find_existing(transport, action.check, since, me=me)
        if existing is not None:
            settled[index] = ActionResult(action, 201, {"data": existing}, recovered=True)
    resend = [action for index, action in enumerate(chunk) if index not in settled]
    again = iter(
        _run_chunk(transport, resend, me=me, since=since, failures=failures) if resend else []
    )
    return [settled[index] if index in settled else next(again) for index in range(len(chunk))]


def _results(
    transport: Transport, chunk: Sequence[Action], items: list[answers.BatchItem]
) -> list[ActionResult]:
    """One result per action; `items` were checked by `answers.batch` (as many as actions, each
    with a status and a body). A success whose body is not what the action returns is that
    action's `UnexpectedAnswer`, not a success."""
    assert len(items) == len(chunk)
    now = transport.clock.now()
    results: list[ActionResult] = []
    for action, item in zip(chunk, items, strict=True):
        if 200 <= item.status < 300:
            try:
                action.shape(item.body)
            except answers.WrongShape as wrong:
                unexpected = UnexpectedAnswer(action.method, action.path, item.status, str(wrong))
                results.append(ActionResult(action, item.status, item.body, unexpected))
                continue
            results.append(ActionResult(action, item.status, item.body))
            continue
        error = action_error(transport, action.method, action.path, item, now)
        results.append(ActionResult(action, item.status, item.body, error))
    return results
