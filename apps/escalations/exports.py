"""The escalation list as an export kind (``apps.exports.registry``)."""

from __future__ import annotations

from apps.common.pagination import require_valid_filters
from apps.escalations import selectors
from apps.escalations.filters import EscalationFilter
from apps.exports.registry import ExportKind, register


def escalations(user, params):
    """The escalations the user may see, with the list's filters (a bad one is refused)."""
    export_filter = EscalationFilter(params, queryset=selectors.for_export(user))
    require_valid_filters(export_filter)
    return selectors.export_values(export_filter.qs)


ESCALATIONS = ExportKind(
    key="escalations",
    label="Escalation list",
    header=selectors.CSV_COLUMNS,
    queryset=escalations,
    order=selectors.EXPORT_ORDER,
    rows=selectors.escalation_rows,
    allowed=lambda user: user.is_authenticated,
    list_url="escalations:list",
)


def register_kinds() -> None:
    register(ESCALATIONS)
