"""Beat's scheduler: the sweep goes through the broker, or, when the broker is down, beat runs it.

The sweep is the guarantee behind every clock, and it used to be a broker task like any other:
with Redis stopped for a minute nothing fired for a minute, and then everything at once. Beat
talks to the database anyway (it is a Django process), so when it cannot publish the sweep it
runs the sweep itself, bounded by one sweep interval so its other entries keep their times.
Exactly-once does not depend on who sweeps: rows are claimed with ``skip_locked``.

While beat sweeps for an absent broker, nothing it does tries the broker again: every task sent
from this process (a handler's new deadline, a notification's delivery task) is refused at once
instead of spending most of a second on kombu's connection retries. Those deadlines are the
sweep's, those messages wait in the outbox for the delivery retry sweep. Beat tries the broker
again with the real sweep task every ``probe_every`` seconds and goes back to publishing once it
answers.

Used by ``celery beat`` and the worker's embedded beat (``-B``) alike: ``beat_scheduler`` is set
in ``escalportal/celery.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from celery import Celery
from celery.beat import PersistentScheduler, SchedulingError
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

SWEEP_TASK = "timers.sweep_due_deadlines"


class BrokerOutage(OperationalError):
    """Refused without trying: beat is sweeping because the broker did not answer."""


@contextmanager
def publishing_refused(app: Celery) -> Iterator[None]:
    """Every task sent through ``app`` in this block fails at once with ``BrokerOutage`` (which
    callers already treat as the broker being down). ``Task.apply_async`` ends in
    ``app.send_task``; shadowing it on the instance covers both. Beat's scheduling runs on
    one thread, so nothing else publishes meanwhile."""

    def refuse(name, *args, **kwargs):
        raise BrokerOutage(f"{name}: not sent, the broker is down (the sweep and the outbox take it)")

    app.send_task = refuse
    try:
        yield
    finally:
        del app.send_task


class TimersScheduler(PersistentScheduler):
    """``PersistentScheduler`` that runs the sweep in-process when it cannot be published."""

    #: seconds between attempts to publish the sweep while the broker is down; each attempt
    #: costs up to a second of kombu's retries, so not every interval.
    probe_every = 10.0

    def __init__(self, *args, **kwargs) -> None:
        self.outage_since: float | None = None
        self.next_probe = 0.0
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        if entry.task != SWEEP_TASK:
            return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        if self.outage_since is not None and time.monotonic() < self.next_probe:
            return self.sweep_here()
        try:
            result = super().apply_async(entry, producer=producer, advance=advance, **kwargs)
        except SchedulingError as exc:
            if self.outage_since is None:
                self.outage_since = time.monotonic()
                log.warning("beat: the broker did not take the sweep (%s); beat sweeps itself", exc.__context__)
            self.next_probe = time.monotonic() + self.probe_every
            return self.sweep_here()
        if self.outage_since is not None:
            log.warning(
                "beat: the broker is back after %.0f s; the sweep goes to the sweeper again",
                time.monotonic() - self.outage_since,
            )
            self.outage_since = None
        return result

    def sweep_here(self) -> None:
        """One sweep in this process, within one interval; any error is logged, never raised
        (beat must live on to try again, the database may be down as well)."""
        from django.conf import settings
        from django.db import close_old_connections

        from apps.timers.services import sweep_due_deadlines

        close_old_connections()
        try:
            with publishing_refused(self.app):
                result = sweep_due_deadlines(
                    budget_seconds=float(settings.TIMERS_SWEEP_INTERVAL), keep_the_clock=True
                )
        except Exception:  # noqa: BLE001 - logged; the next tick tries again
            log.exception("beat: the sweep run by beat failed")
            return None
        finally:
            close_old_connections()
        if result.fired or result.failed:
            log.warning("beat: swept without the broker: %s fired, %s failed", result.fired, result.failed)
        return None
