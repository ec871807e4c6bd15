"""The exports app's action codes in words (``apps.audit.labels``)."""

from __future__ import annotations

from apps.audit.labels import register_actions

READS = {
    "exports.downloaded": ("Export downloaded", "{actor} downloaded an export file ({data[rows]} rows)"),
}
ACTIONS = {
    "exports.files_removed": ("Export files removed", "{data[files]} export files past their day were removed"),
}


def register() -> None:
    register_actions(ACTIONS)
    register_actions(READS, read=True)
