"""Refusals several apps raise and every view shows the same way."""

from __future__ import annotations


class Conflict(Exception):
    """The action does not fit the record as it is now: a stale form, a colleague who acted
    first, or the wrong state. Shown to the user as it is; nothing was changed.

    Escalations and approvals raise it from their services; any view that calls them catches
    it, so it lives below both (``apps.escalations.services`` re-exports it)."""
