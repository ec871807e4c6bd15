"""Thin Celery tasks over ``apps.timers.services``; both are idempotent and acks_late."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.timers.services import Outcome, deadline_fire, sweep_due_deadlines


@shared_task(name="timers.fire_deadline", bind=True, acks_late=True, ignore_result=True)
def fire_deadline(self, deadline_id: int, token: int) -> str:
    result = deadline_fire(deadline_id=deadline_id, token=token)
    # The worker's clock ran ahead of the database's: come back when the database agrees.
    # (Never in eager mode, where the ETA is ignored; the sweep takes it there.)
    if result.outcome == Outcome.NOT_DUE and not self.request.is_eager:
        self.apply_async((deadline_id, token), countdown=min(result.seconds_early + 0.05, 60))
    return result.outcome.value


@shared_task(name="timers.sweep_due_deadlines", acks_late=True, ignore_result=True)
def sweep() -> dict:
    # One interval each: beat publishes the next as this one ends, so the sweeper keeps the
    # clock without a pause and without sweeps queueing up behind it.
    result = sweep_due_deadlines(budget_seconds=float(settings.TIMERS_SWEEP_INTERVAL), keep_the_clock=True)
    return {"fired": result.fired, "failed": result.failed, "batches": result.batches}
