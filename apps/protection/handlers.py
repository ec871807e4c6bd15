"""Deadline handlers of the statutory clocks (``apps.protection.services.clocks``).

Each checks the case as it is now and does nothing when the event it waits for is recorded
(or the case is closed): a reminder never goes out about something already done.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from guardian.shortcuts import assign_perm

from apps.protection.models import ProtectionReport, Status
from apps.protection.services import clocks
from apps.protection.services.cases import excluded_ids, reviewer_ids
from apps.protection.services.common import REVIEW_PERM, audit, case_path, officers, tell
from apps.timers.models import Deadline
from apps.timers.registry import register


def _report(deadline: Deadline) -> ProtectionReport | None:
    report = ProtectionReport.objects.select_for_update().filter(pk=deadline.subject_id).first()
    return report if report is not None and report.status != Status.CLOSED else None


def _reviewers_or_officers(report: ProtectionReport):
    ids = reviewer_ids(report)
    return list(get_user_model().objects.filter(pk__in=ids)) if ids else list(officers())


def _tell_all(report, deadline: Deadline, subject_line: str, body: str) -> None:
    for user in _reviewers_or_officers(report):
        tell(
            user,
            event_key=f"protection:{report.pk}:{deadline.kind}:{deadline.pk}:{user.pk}",
            subject_line=subject_line,
            body=body,
            path=case_path(report),
        )


@register(clocks.ACK_REMINDER, label="Protection case: acknowledgement reminder")
def ack_reminder(deadline: Deadline) -> None:
    report = _report(deadline)
    if report is None or report.acknowledged_at:
        return
    _tell_all(
        report,
        deadline,
        f"Acknowledge protection case {report.reference} within 2 days",
        "The 7-day acknowledgement period ends in 2 days.",
    )


@register(clocks.ACK_DUE, label="Protection case: acknowledgement due")
def ack_due(deadline: Deadline) -> None:
    report = _report(deadline)
    if report is None or report.acknowledged_at:
        return
    audit(report, "ack_overdue", None)
    _tell_all(
        report,
        deadline,
        f"Protection case {report.reference} is overdue for acknowledgement",
        "The 7-day acknowledgement period has ended without an acknowledgement.",
    )


@register(clocks.FEEDBACK_REMINDER, label="Protection case: feedback reminder")
def feedback_reminder(deadline: Deadline) -> None:
    report = _report(deadline)
    if report is None or report.feedback_at:
        return
    _tell_all(
        report,
        deadline,
        f"Feedback on protection case {report.reference} is due in 14 days",
        "The 3-month feedback period ends in 14 days.",
    )


@register(clocks.FEEDBACK_DUE, label="Protection case: feedback due")
def feedback_due(deadline: Deadline) -> None:
    report = _report(deadline)
    if report is None or report.feedback_at:
        return
    audit(report, "feedback_overdue", None)
    _tell_all(
        report,
        deadline,
        f"Protection case {report.reference} is overdue for feedback",
        "The 3-month feedback period has ended without feedback to the reporter.",
    )


@register(clocks.UNOPENED, label="Protection case: nobody has opened it")
def unopened(deadline: Deadline) -> None:
    """A backup reviewer: the first officer (by id) neither assigned nor excluded."""
    report = _report(deadline)
    if report is None or report.first_opened_at:
        return
    taken = reviewer_ids(report) | excluded_ids(report)
    backup = officers().exclude(pk__in=taken).first()
    if backup is None:
        return
    assign_perm(REVIEW_PERM, backup, report)
    audit(report, "backup_reviewer_assigned", None, reviewer=backup.get_username())
    tell(
        backup,
        event_key=f"protection:{report.pk}:backup:{backup.pk}",
        subject_line=f"You are the backup reviewer of protection case {report.reference}",
        body="Nobody has opened this case for 2 days. Please open and acknowledge it.",
        path=case_path(report),
    )
