"""The decision log as an export kind (``apps.exports.registry``)."""

from __future__ import annotations

from apps.accounts.roles import Cap
from apps.approvals import selectors
from apps.approvals.filters import DecisionFilter
from apps.common.pagination import require_valid_filters
from apps.exports.registry import ExportKind, register


def decisions(user, params):
    """The log the user sees with the page's filters; a bad filter is refused, never widened."""
    log_filter = DecisionFilter(params or None, queryset=selectors.decision_log(user))
    require_valid_filters(log_filter)
    return selectors.log_export(log_filter.qs)


DECISION_LOG = ExportKind(
    key="decision-log",
    label="Decision log",
    header=selectors.LOG_COLUMNS,
    queryset=decisions,
    order=selectors.LOG_ORDER,
    rows=selectors.decision_rows,
    allowed=lambda user: user.has_perm(Cap.BROWSE_AUDIT.perm),
    list_url="approvals:log",
)


def register_kinds() -> None:
    register(DECISION_LOG)
