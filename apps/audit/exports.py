"""The audit trail as an export kind (``apps.exports.registry``)."""

from __future__ import annotations

from apps.accounts.roles import Cap
from apps.audit.forms import EventFilter
from apps.audit.selectors import EXPORT_HEADER, EXPORT_ORDER, event_rows, filtered_events
from apps.common.params import InvalidParameter
from apps.exports.registry import ExportKind, register


def events(user, params):
    """The trail the user sees with the page's filters (the page refuses bad ones first)."""
    form = EventFilter(params or None, with_action=True)
    query = form.query()
    if query is None:
        name, errors = next(iter(form.errors.items()))
        raise InvalidParameter(name, "is not a valid filter: " + " ".join(errors))
    return filtered_events(user, query)


AUDIT_TRAIL = ExportKind(
    key="audit-trail",
    label="Audit trail",
    header=EXPORT_HEADER,
    queryset=events,
    order=EXPORT_ORDER,
    rows=event_rows,
    allowed=lambda user: user.has_perm(Cap.BROWSE_AUDIT.perm),
    list_url="audit:events",
    chunk_size=1000,
)


def register_kinds() -> None:
    register(AUDIT_TRAIL)
