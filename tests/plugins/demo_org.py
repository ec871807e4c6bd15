"""The demo organisation at a fixed moment, for the page tests (pytest plugin, see
tests/conftest.py).

``org``
    Seeds the demo organisation (``seed_demo``) and returns its people by the part of their
    email before the ``@``: ``org["grace.lindqvist"]``.

``demo_clock``
    Holds the clock at ``FIXED_NOW`` (ticking) for the test: a Wednesday afternoon. On-call
    answers depend on the clock, and the demo's weekly rotation starts on Monday at 09:00
    London time, so before that on a Monday seed_demo's own reachability check refuses its
    policies. Page test modules ask for it with
    ``pytestmark = pytest.mark.usefixtures("demo_clock")``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.management import call_command

from apps.contacts.models import Person

FIXED_NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)


@pytest.fixture
def demo_clock():
    with time_machine.travel(FIXED_NOW, tick=True):
        yield


@pytest.fixture
def org(db) -> dict[str, Person]:
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    return {p.email.split("@")[0]: p for p in Person.objects.all()}
