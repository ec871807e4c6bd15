"""Export tests write their files to a directory of their own."""

from __future__ import annotations

import pytest

from apps.audit.services import record


@pytest.fixture
def export_dir(settings, tmp_path):
    location = tmp_path / "exports"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": location}},
    }
    return location


def events(n: int, *, start: int = 0) -> list:
    """``n`` audit events an auditor sees in the trail, numbered from ``start``."""
    return [
        record(action="test.thing_done", target_type="test.thing", target_id=str(i), target_repr=f"thing {i}")
        for i in range(start, start + n)
    ]
