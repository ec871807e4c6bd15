"""Scheduling, cancelling and firing deadlines.

Exactly-once: a deadline is fired by whoever locks its row first while it is due, pending and
(for an ETA task) still carries the task's token. The handler runs in a savepoint inside the
transaction that sets ``fired_at``, so its database effects and the "fired" mark commit
together. A second ETA copy, a redelivered message or the sweep arriving later finds the row
fired (or locked, and skips it) and does nothing. A worker killed mid-handler rolls the
transaction back; the row stays pending and the sweep fires it later.
"""

from __future__ import annotations

import logging
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F, Model
from django.db.models.functions import Now
from django.utils import timezone

from apps.timers.models import Deadline, SweepHeartbeat
from apps.timers.registry import handler_for

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)

# The deadline whose handler is running. A handler that cancels its subject's pending deadlines
# of the same kind (to schedule the next one) must not cancel the one being fired: it is marked
# fired when the handler returns, and a row both fired and cancelled breaks a constraint.
_firing: ContextVar[int | None] = ContextVar("timers_firing", default=None)


class Outcome(StrEnum):
    FIRED = "fired"
    STALE = "stale"  # fired, cancelled, rescheduled, or being fired by someone else
    NOT_DUE = "not_due"  # the database clock says it is early
    FAILED = "failed"  # the handler raised; retried after a backoff


@dataclass(frozen=True)
class FireResult:
    outcome: Outcome
    seconds_early: float = 0.0


def subject_key(subject: Model) -> tuple[str, str]:
    return subject._meta.label_lower, str(subject.pk)


def deadline_schedule(
    *,
    kind: str,
    due_at: datetime,
    subject: Model | None = None,
    subject_type: str = "",
    subject_id: str = "",
    payload: dict | None = None,
) -> Deadline:
    """Create a deadline in the caller's transaction; its ETA task is queued on commit."""
    handler_for(kind)  # refuse a kind nobody handles now, not when it comes due
    if subject is not None:
        subject_type, subject_id = subject_key(subject)
    deadline = Deadline.objects.create(
        kind=kind,
        subject_type=subject_type,
        subject_id=str(subject_id),
        payload=payload or {},
        due_at=due_at,
        next_attempt_at=due_at,
    )
    _enqueue_on_commit(deadline.pk, deadline.token, due_at)
    return deadline


def deadline_cancel(*, deadline: Deadline) -> bool:
    """Cancel a pending deadline; False when it had already fired or been cancelled."""
    claimed = Deadline.objects.filter(pk=deadline.pk, fired_at=None, cancelled_at=None).update(
        cancelled_at=Now(), token=F("token") + 1
    )
    deadline.refresh_from_db()
    return claimed == 1


def deadlines_cancel_for(*, subject: Model, kind: str | None = None) -> int:
    """Cancel every pending deadline of a subject (of one kind, if given)."""
    subject_type, subject_id = subject_key(subject)
    pending = Deadline.objects.filter(
        subject_type=subject_type, subject_id=subject_id, fired_at=None, cancelled_at=None
    )
    if kind is not None:
        pending = pending.filter(kind=kind)
    if (firing := _firing.get()) is not None:
        pending = pending.exclude(pk=firing)
    return pending.update(cancelled_at=Now(), token=F("token") + 1)


def deadline_reschedule(*, deadline: Deadline, due_at: datetime) -> bool:
    """Move a pending deadline; tasks queued for the old time become stale."""
    claimed = Deadline.objects.filter(pk=deadline.pk, fired_at=None, cancelled_at=None).update(
        due_at=due_at, next_attempt_at=due_at, token=F("token") + 1, attempts=0, last_error=""
    )
    deadline.refresh_from_db()
    if claimed == 1:
        _enqueue_on_commit(deadline.pk, deadline.token, due_at)
    return claimed == 1


def _enqueue_on_commit(deadline_id: int, token: int, due_at: datetime) -> None:
    # Only deadlines due within the horizon (seconds) get an ETA task as well: the sweeper fires
    # each at its time (``keep_the_clock``), and a Celery task per firing costs as much CPU as the
    # firing. Near ones get both, so a sweeper restarting after a crash does not make them late.
    if due_at - timezone.now() > timedelta(seconds=settings.TIMERS_ETA_HORIZON):
        return
    transaction.on_commit(lambda: _enqueue(deadline_id, token, due_at))


def _enqueue(deadline_id: int, token: int, due_at: datetime) -> None:
    from apps.timers.tasks import fire_deadline

    try:
        fire_deadline.apply_async((deadline_id, token), eta=due_at)
    except Exception:  # the broker being down must not fail the request: the sweep backstops
        log.warning("could not queue deadline %s; the sweep will fire it", deadline_id, exc_info=True)


def deadline_fire(*, deadline_id: int, token: int | None = None) -> FireResult:
    """Fire one deadline if it is due and still what the caller expects (``token``).

    An ETA task (``token`` given) first looks at the row without a transaction: under a burst
    the sweep has often fired it already, and a stale copy then costs one indexed read instead
    of BEGIN, a row lock and COMMIT. The read decides nothing by itself; the locked re-read
    inside the transaction does.
    """
    if token is not None and (early := _precheck(deadline_id, token)) is not None:
        return early
    try:
        with transaction.atomic():
            deadline = (
                Deadline.objects.select_for_update(skip_locked=True)
                .filter(pk=deadline_id, fired_at=None, cancelled_at=None)
                .annotate(db_now=Now())
                .first()
            )
            if deadline is None or (token is not None and deadline.token != token):
                return FireResult(Outcome.STALE)
            if deadline.next_attempt_at > deadline.db_now:
                return FireResult(Outcome.NOT_DUE, seconds_early=_early(deadline))
            _fire_locked(deadline)
            return FireResult(Outcome.FIRED)
    except _HandlerFailed as failure:
        _record_failure(failure)
        return FireResult(Outcome.FAILED)


def _precheck(deadline_id: int, token: int) -> FireResult | None:
    """STALE or NOT_DUE from one plain read, or None when the row is worth locking."""
    row = (
        Deadline.objects.filter(pk=deadline_id, fired_at=None, cancelled_at=None, token=token)
        .annotate(db_now=Now())
        .only("next_attempt_at")
        .first()
    )
    if row is None:
        return FireResult(Outcome.STALE)
    if row.next_attempt_at > row.db_now:
        return FireResult(Outcome.NOT_DUE, seconds_early=_early(row))
    return None


def _early(deadline: Deadline) -> float:
    return (deadline.next_attempt_at - deadline.db_now).total_seconds()


class _HandlerFailed(Exception):  # noqa: N818 - carries a failure out of the rolled-back transaction
    def __init__(self, deadline: Deadline, error: str) -> None:
        super().__init__(error)
        self.deadline, self.error = deadline, error


def _fire_locked(deadline: Deadline) -> None:
    """Run the handler and mark the row fired, in the caller's transaction.

    No savepoint around the handler: on success (nearly always) that saves two round trips
    per firing. A handler that raises rolls the whole transaction back, its writes with it, and
    the failure is recorded afterwards in a transaction of its own (``_record_failure``).
    """
    firing = _firing.set(deadline.pk)
    try:
        handler_for(deadline.kind)(deadline)
    except Exception as exc:  # noqa: BLE001 - any handler failure is recorded and retried
        raise _HandlerFailed(deadline, "".join(traceback.format_exception_only(exc)).strip()[:2000]) from exc
    finally:
        _firing.reset(firing)
    deadline.fired_at = deadline.db_now
    deadline.save(update_fields=["fired_at"])


def _record_failure(failure: _HandlerFailed) -> None:
    """Count the failed attempt and push the next one back, unless the row changed meanwhile
    (fired by someone else after our rollback, cancelled, rescheduled): then it is theirs."""
    deadline = failure.deadline
    attempts = deadline.attempts + 1
    backoff = min(timedelta(seconds=5 * 2 ** (attempts - 1)), MAX_BACKOFF)
    Deadline.objects.filter(
        pk=deadline.pk, token=deadline.token, attempts=deadline.attempts, fired_at=None, cancelled_at=None
    ).update(attempts=attempts, last_error=failure.error, next_attempt_at=deadline.db_now + backoff)
    log.error("deadline %s (%s) failed: %s", deadline.pk, deadline.kind, failure.error)


@dataclass(frozen=True)
class SweepResult:
    fired: int
    failed: int
    batches: int


# The longest a sweep keeping the clock sleeps before it looks again (for a deadline scheduled
# meanwhile that is due sooner than the one it waits for).
POLL = 0.1


def sweep_due_deadlines(
    *, batch_size: int | None = None, budget_seconds: float | None = None, keep_the_clock: bool = False
) -> SweepResult:
    """Fire every due deadline, each in a transaction of its own, a batch of ids at a time.

    One transaction per deadline (locked with ``skip_locked``, exactly as its ETA task would)
    rather than one per batch: a handler's locks, the audit chain's among them, are held for
    that handler alone, so ETA tasks and web requests are not kept waiting behind a whole batch
    (bench/escalations.py: a sweeper holding 200 rows made 70 sessions wait on the audit lock
    and cut the firing rate by a quarter). A row someone else holds is theirs to fire. A sweep
    beats the heartbeat every half interval, so /healthz sees it alive; the time budget keeps
    one sweep from running into the next.

    ``keep_the_clock`` (the sweeper's task and beat's own sweep): while a deadline is due
    before the budget runs out, the sweep stays and fires it at its time, sleeping until it (and
    looking again every ``POLL`` in case a sooner one was scheduled meanwhile). Beat sends a
    sweep every interval, so the sweeper is the clock: a deadline due later than
    ``TIMERS_ETA_HORIZON`` after it was scheduled gets no ETA task at all, and a firing costs a
    transaction, not a Celery task as well (bench/timers.py: Celery's own handling of an ETA
    task cost as much CPU as the firing). With nothing due within the budget it returns at once,
    so a worker that shares its pool with the sweep is not held. ETA tasks of near deadlines
    race it; the loser leaves at the token check or the row lock.
    """
    batch_size = batch_size or settings.TIMERS_SWEEP_BATCH
    interval = settings.TIMERS_SWEEP_INTERVAL
    budget = budget_seconds if budget_seconds is not None else interval * 2
    started = time.monotonic()
    pulse = _Pulse(started)
    fired = failed = batches = 0
    while True:
        left = budget - (time.monotonic() - started)
        rows, looked_at = _due(batch_size, ahead=max(left, 0.0) if keep_the_clock else 0.0), time.monotonic()
        batches += 1
        taken = 0
        for pk, late in rows:
            if late < 0:
                break  # not due yet: what is left of the list is later still
            outcome = deadline_fire(deadline_id=pk).outcome
            fired += outcome == Outcome.FIRED
            failed += outcome == Outcome.FAILED
            taken += outcome in (Outcome.FIRED, Outcome.FAILED)
            pulse.fired += outcome == Outcome.FIRED
            if time.monotonic() - pulse.since >= interval / 2:
                pulse.beat()
            if time.monotonic() - started >= budget:
                break
        left = budget - (time.monotonic() - started)
        # Done when the budget is spent (the next sweep carries on), or when nothing more is
        # due or everything left is someone else's to fire, unless keeping the clock.
        if left <= 0:
            break
        if len(rows) == batch_size and taken:
            continue
        upcoming = [-late for _, late in rows if late < 0]
        if not (keep_the_clock and upcoming):
            break
        time.sleep(max(0.0, min(upcoming[0] - (time.monotonic() - looked_at), POLL, left)))
        if time.monotonic() - pulse.since >= interval / 2:
            pulse.beat()
    pulse.beat()
    return SweepResult(fired, failed, batches)


class _Pulse:
    """The sweep's heartbeat; each beat reports what was fired since the one before."""

    def __init__(self, since: float) -> None:
        self.since = since
        self.fired = 0

    def beat(self) -> None:
        now = time.monotonic()
        _beat_heartbeat("sweep", self.fired, int((now - self.since) * 1000))
        self.since, self.fired = now, 0


def _due(batch_size: int, ahead: float = 0.0) -> list[tuple[int, float]]:
    """(id, seconds it has been due) of the longest-waiting due rows, and of those due within
    ``ahead`` seconds (negative: due in that many), earliest first, by the database's clock."""
    rows = (
        Deadline.objects.filter(
            next_attempt_at__lte=Now() + timedelta(seconds=ahead), fired_at=None, cancelled_at=None
        )
        .annotate(db_now=Now())
        .order_by("next_attempt_at")
        .values_list("pk", "next_attempt_at", "db_now")[:batch_size]
    )
    return [(pk, (now - due).total_seconds()) for pk, due, now in rows]


def _beat_heartbeat(name: str, fired: int, duration_ms: int) -> None:
    touched = SweepHeartbeat.objects.filter(name=name).update(
        last_run_at=Now(), last_fired=fired, last_duration_ms=duration_ms
    )
    if not touched:
        SweepHeartbeat.objects.get_or_create(
            name=name,
            defaults={"last_run_at": timezone.now(), "last_fired": fired, "last_duration_ms": duration_ms},
        )
