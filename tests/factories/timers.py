"""The sweep's heartbeat, for tests of what /healthz makes of it."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.timers.models import SweepHeartbeat


class SweepHeartbeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SweepHeartbeat

    name = "sweep"
    last_run_at = factory.LazyFunction(timezone.now)
