"""The ``probe`` deadline kind: records its firing; can hold the transaction open.

``payload["hold_seconds"]`` keeps the handler busy inside the firing transaction, so a test
can kill the worker in the middle of it. ``payload["fail_times"]`` raises on the first N
attempts, to exercise retries.
"""

import os
import time

from django.db.models.functions import Now

from apps.timers.registry import register
from tests.probe.models import ProbeHit


@register("probe")
def fire_probe(deadline) -> None:
    hold = float(deadline.payload.get("hold_seconds", 0))
    if hold:
        marker = deadline.payload.get("marker_file")
        if marker:
            with open(marker, "a") as fh:
                fh.write(f"{os.getpid()}\n")
        time.sleep(hold)
    if deadline.attempts < int(deadline.payload.get("fail_times", 0)):
        raise RuntimeError(f"probe failing on purpose (attempt {deadline.attempts + 1})")
    ProbeHit.objects.create(
        deadline_id=deadline.pk, due_at=deadline.due_at, fired_at=Now(), worker_pid=os.getpid()
    )
