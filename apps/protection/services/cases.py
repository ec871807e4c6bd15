"""Working a case: reviewers, opening, acknowledgement, feedback, status, messages, notes."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.common.errors import Conflict
from apps.protection import links
from apps.protection.models import (
    CaseEntry,
    Mode,
    ProtectionReport,
    ProtectionReportUserObjectPermission,
    Status,
)
from apps.protection.services import clocks
from apps.protection.services.attachments import attachment_store, check_attachment
from apps.protection.services.common import (
    REVIEW_PERM,
    audit,
    case_path,
    is_officer,
    lock,
    message_limit,
    officers,
    save,
    setting,
    tell,
)
from apps.protection.services.intake import _entry, feedback_due

# Where each status may go. Acknowledgement and feedback are events of their own (below).
NEXT = {
    Status.ACKNOWLEDGED: {Status.UNDER_REVIEW, Status.CLOSED},
    Status.UNDER_REVIEW: {Status.SUBSTANTIATED, Status.UNSUBSTANTIATED},
    Status.SUBSTANTIATED: {Status.REMEDIED, Status.CLOSED},
    Status.UNSUBSTANTIATED: {Status.CLOSED, Status.UNDER_REVIEW},
    Status.REMEDIED: {Status.CLOSED},
    Status.RECEIVED: set(),
    Status.CLOSED: set(),
}


def reviewer_ids(report: ProtectionReport) -> set[int]:
    return set(
        ProtectionReportUserObjectPermission.objects.filter(
            content_object=report, permission__codename=REVIEW_PERM
        ).values_list("user_id", flat=True)
    )


def excluded_ids(report: ProtectionReport) -> set[int]:
    """Who may never review this case: the reporter, anyone named, their managers, and anyone
    linked to the escalation it concerns (raiser, owners, levels reached, approvers)."""
    named = set(report.people_named.values_list("pk", flat=True))
    out = named | links.managers_of(named) | links.people_of_escalation(report.escalation_id)
    if report.reporter_id:
        out.add(report.reporter_id)
    return out


@transaction.atomic
def reviewer_assign(*, report: ProtectionReport, reviewer, actor) -> ProtectionReport:
    report = lock(report)
    assigned = reviewer_ids(report)
    if assigned and actor.pk not in assigned:
        raise Conflict("Only the case's reviewers may add a reviewer to it.")
    if not is_officer(reviewer):
        raise ValidationError({"reviewer": "Only HR and compliance officers can review protection cases."})
    if reviewer.pk in excluded_ids(report):
        raise ValidationError(
            {
                "reviewer": f"{reviewer} is named in this case, manages someone named, or is linked to its escalation."
            }
        )
    if reviewer.pk in assigned:
        raise ValidationError({"reviewer": f"{reviewer} already reviews this case."})
    assign_perm(REVIEW_PERM, reviewer, report)
    audit(report, "reviewer_assigned", actor, reviewer=reviewer.get_username())
    if reviewer.pk != actor.pk:
        tell(
            reviewer,
            event_key=f"protection:{report.pk}:assigned:{reviewer.pk}",
            subject_line=f"You review protection case {report.reference}",
            body="You were assigned a protection case.",
            path=case_path(report),
        )
    return report


@transaction.atomic
def report_mark_opened(*, report: ProtectionReport, actor) -> ProtectionReport:
    report = lock(report)
    if report.first_opened_at is None:
        report.first_opened_at = timezone.now()
        save(report, ["first_opened_at"])
        clocks.on_opened(report)
    return report


@transaction.atomic
def report_acknowledge(*, report: ProtectionReport, actor, text: str) -> ProtectionReport:
    report = lock(report)
    text = _clean(text, "text")
    if report.acknowledged_at is not None:
        raise Conflict(f"Case {report.reference} was already acknowledged.")
    now = timezone.now()
    report.acknowledged_at, report.status = now, Status.ACKNOWLEDGED
    report.feedback_due_at = feedback_due(now)
    save(report, ["acknowledged_at", "status", "feedback_due_at"])
    _entry(report, CaseEntry.Kind.ACKNOWLEDGEMENT, text, actor)
    audit(report, "acknowledged", actor, feedback_due_at=report.feedback_due_at)
    clocks.on_acknowledged(report)
    _tell_reporter(report, "Your protection report was acknowledged")
    return report


@transaction.atomic
def report_send_feedback(*, report: ProtectionReport, actor, text: str) -> ProtectionReport:
    report = lock(report)
    text = _clean(text, "text")
    if report.acknowledged_at is None:
        raise Conflict("Acknowledge the report before sending feedback.")
    first = report.feedback_at is None
    if first:
        report.feedback_at = timezone.now()
        save(report, ["feedback_at"])
        clocks.on_feedback(report)
    _entry(report, CaseEntry.Kind.FEEDBACK, text, actor)
    audit(report, "feedback_sent", actor, first=first)
    _tell_reporter(report, "There is feedback on your protection report")
    return report


@transaction.atomic
def report_set_status(*, report: ProtectionReport, actor, status: str, note: str = "") -> ProtectionReport:
    report = lock(report)
    if status not in NEXT.get(report.status, set()):
        allowed = ", ".join(Status(s).label.lower() for s in NEXT.get(report.status, ())) or "nothing"
        raise ValidationError(
            {"status": f"A case that is {report.get_status_display().lower()} can move to: {allowed}."}
        )
    old, report.status = report.status, status
    fields = ["status"]
    if status == Status.CLOSED:
        report.closed_at = timezone.now()
        fields.append("closed_at")
    save(report, fields)
    label = Status(status).label
    _entry(report, CaseEntry.Kind.STATUS, f"{Status(old).label} → {label}. {note}".strip(), actor)
    audit(report, "status_changed", actor, old=old, new=status)
    if status == Status.CLOSED:
        clocks.on_closed(report)
    return report


@transaction.atomic
def note_add(*, report: ProtectionReport, actor, text: str) -> CaseEntry:
    text = _clean(text, "text")
    entry = _entry(lock(report), CaseEntry.Kind.NOTE, text, actor)
    audit(report, "note_added", actor)
    return entry


@transaction.atomic
def message_to_reporter(*, report: ProtectionReport, actor, text: str) -> CaseEntry:
    text = _clean(text, "text")
    entry = _entry(lock(report), CaseEntry.Kind.TO_REPORTER, text, actor)
    audit(report, "message_to_reporter", actor)
    _tell_reporter(report, "A reviewer wrote to you about your protection report")
    return entry


@transaction.atomic
def message_from_reporter(*, report: ProtectionReport, text: str, author=None, attachment=None) -> CaseEntry:
    """The reporter writes (by key, or signed in), with a file if they like. After closure only
    for a set period."""
    report = lock(report)
    text = _clean(text, "text")
    check_attachment(attachment)
    days = setting("PROTECTION_REPLY_DAYS_AFTER_CLOSE", 30)
    if report.closed_at and timezone.now() > report.closed_at + timedelta(days=days):
        raise Conflict(f"This case closed more than {days} days ago; file a new report instead.")
    shown_author = author if report.mode == Mode.NAMED else None
    entry = _entry(report, CaseEntry.Kind.FROM_REPORTER, text, shown_author)
    if attachment is not None:
        attachment_store(entry, attachment)
    audit(report, "message_from_reporter", shown_author, attachment=attachment is not None)
    for reviewer in officers().filter(pk__in=reviewer_ids(report)):
        tell(
            reviewer,
            event_key=f"protection:{report.pk}:from-reporter:{entry.pk}:{reviewer.pk}",
            subject_line=f"The reporter wrote on protection case {report.reference}",
            body="The reporter sent a message.",
            path=case_path(report),
        )
    return entry


def _clean(text: str, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({field: "Write the message (it cannot be empty)."})
    if len(text) > message_limit():
        raise ValidationError({field: f"At most {message_limit()} characters: this has {len(text)}."})
    return text


def _tell_reporter(report: ProtectionReport, subject_line: str) -> None:
    if report.reporter_id is None:
        return  # anonymous: they look with their key
    tell(
        report.reporter,
        event_key=f"protection:{report.pk}:reporter:{timezone.now().timestamp()}",
        subject_line=subject_line,
        body="Open your protection reports in the portal to read it.",
        path="/protection/mine/",
    )
