"""Fixtures of the outbox tests: the probe template, and the delivery tasks that would have
been queued (recorded instead of published, except under a real worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.notifications.tasks import deliver_notification

TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def probe_template(settings) -> None:
    """``notifications/probe``: subject ``{{ title }}``, body greets, says ``{{ text }}``, links."""
    settings.TEMPLATES = [{**engine, "DIRS": [*engine["DIRS"], TEMPLATES]} for engine in settings.TEMPLATES]


@pytest.fixture(autouse=True)
def queued(request, monkeypatch) -> list[tuple[int, float | None]]:
    """(notification id, countdown) of every delivery task queued; nothing reaches a broker.
    Tests marked ``worker`` publish for real."""
    calls: list[tuple[int, float | None]] = []
    if request.node.get_closest_marker("worker"):
        return calls

    def record(args, countdown=None, **options):
        calls.append((args[0], countdown))

    monkeypatch.setattr(deliver_notification, "apply_async", record)
    return calls
