"""The ``probe`` deadline kind: records its firing; can hold the transaction open or fail.

Payload options (all optional):

``marker_file``
    a path; every handler run appends ``"<pid>\\n"`` to it as it starts, so a test can see that
    the handler is running and in which process (to SIGKILL that worker mid-handler).
``hold_seconds``
    keeps the handler busy inside the firing transaction for that long.
``hold_once``
    with ``marker_file``: hold only when the marker file did not exist yet, i.e. on the first
    run; a later run (after the first was killed) fires straight away.
``fail_times``
    raises on the first N attempts (``deadline.attempts`` counts the recorded failures), to
    exercise the sweep's retries with backoff.
``repeat_in_seconds``
    cancels the pending probes of the same subject and schedules the next one that far ahead,
    as a recurring clock does (the firing deadline itself must survive the cancel).
"""

import os
import time

from django.db.models.functions import Now

from apps.timers.registry import register
from tests.probe.models import ProbeHit


@register("probe")
def fire_probe(deadline) -> None:
    payload = deadline.payload
    marker = payload.get("marker_file")
    first_run = True
    if marker:
        first_run = not os.path.exists(marker)
        with open(marker, "a") as fh:
            fh.write(f"{os.getpid()}\n")
    hold = float(payload.get("hold_seconds", 0))
    if hold and (first_run or not payload.get("hold_once")):
        time.sleep(hold)
    if deadline.attempts < int(payload.get("fail_times", 0)):
        raise RuntimeError(f"probe failing on purpose (attempt {deadline.attempts + 1})")
    ProbeHit.objects.create(
        deadline_id=deadline.pk, due_at=deadline.due_at, fired_at=Now(), worker_pid=os.getpid()
    )
    if "repeat_in_seconds" in payload:
        from datetime import timedelta

        from django.apps import apps
        from django.utils import timezone

        from apps.timers.services import deadline_schedule, deadlines_cancel_for

        subject = apps.get_model(deadline.subject_type).objects.get(pk=deadline.subject_id)
        deadlines_cancel_for(subject=subject, kind="probe")
        deadline_schedule(
            kind="probe", subject=subject, due_at=timezone.now() + timedelta(seconds=payload["repeat_in_seconds"])
        )
