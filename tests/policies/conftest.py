"""Fixtures of the policy tests (the demo organisation and its clock: tests/plugins/demo_org.py)."""

from __future__ import annotations

import pytest

from apps.policies.models import EscalationPolicy


@pytest.fixture
def outage(org) -> EscalationPolicy:
    """The demo's production-outage policy: four levels, the platform team's on-call first."""
    return EscalationPolicy.objects.get(slug="production-outage")
