"""Reads. Visibility is decided in SQL: a case is seen by its assigned reviewers (guardian's
direct foreign-key rows) and its reporter; everyone else gets "no such case" (404), so its
existence is not confirmed. Every read of a case or an identity writes its audit event in the
same transaction as the read."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.roles import Cap
from apps.audit.services import record
from apps.protection import links
from apps.protection.models import (
    AdverseAction,
    CaseAttachment,
    CaseEntry,
    IdentityDisclosure,
    Mode,
    ProtectionFlag,
    ProtectionReport,
    ProtectionReportUserObjectPermission,
    Status,
)

SUPPRESS_BELOW = 5


def _review_permission_id() -> int:
    return (
        Permission.objects.only("pk")
        .get(content_type__app_label="protection", codename="review_protectionreport")
        .pk
    )


def _reviews(user) -> Exists:
    return Exists(
        ProtectionReportUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"), user_id=user.pk, permission_id=_review_permission_id()
        )
    )


def _has_reviewers() -> Exists:
    return Exists(ProtectionReportUserObjectPermission.objects.filter(content_object=OuterRef("pk")))


def cases_for_reviewer(user) -> QuerySet[ProtectionReport]:
    """Cases the user reviews: a guardian row, and still an officer (a reviewer who left HR
    keeps no access through an old row)."""
    if not user.is_authenticated or not user.has_perm(Cap.WORK_PROTECTION_CASES.perm):
        return ProtectionReport.objects.none()
    return ProtectionReport.objects.filter(_reviews(user))


def my_cases_by_clock(user) -> QuerySet[ProtectionReport]:
    """Open cases the user reviews, the nearest statutory clock first."""
    return (
        cases_for_reviewer(user)
        .exclude(status=Status.CLOSED)
        .annotate(
            next_due=_next_due(),
        )
        .order_by("next_due")
    )


def _next_due():
    from django.db.models import Case, When

    return Case(When(acknowledged_at=None, then=F("ack_due_at")), default=F("feedback_due_at"))


def unassigned_cases() -> QuerySet[ProtectionReport]:
    """Cases nobody reviews yet: the desk shows their reference and clocks, never their text."""
    return (
        ProtectionReport.objects.exclude(status=Status.CLOSED)
        .exclude(_has_reviewers())
        .order_by("ack_due_at")
    )


def overdue_cases(user) -> QuerySet[ProtectionReport]:
    now = timezone.now()
    return (
        cases_for_reviewer(user)
        .exclude(status=Status.CLOSED)
        .filter(Q(acknowledged_at=None, ack_due_at__lt=now) | Q(feedback_at=None, feedback_due_at__lt=now))
    )


def open_flags() -> QuerySet[ProtectionFlag]:
    return ProtectionFlag.objects.filter(closed_at=None).select_related(
        "action", "action__person", "action__actor"
    )


def actions_awaiting_sign_off() -> QuerySet[AdverseAction]:
    return AdverseAction.objects.filter(status=AdverseAction.Status.AWAITING_SIGN_OFF).select_related(
        "person", "actor", "recorded_by"
    )


@transaction.atomic
def case_for_reviewer(user, pk: int) -> ProtectionReport:
    """The case, for one of its reviewers; 404 for anyone else. The read is audited."""
    report = cases_for_reviewer(user).filter(pk=pk).first()
    if report is None:
        raise Http404("No such case.")
    record(action="protection.case_read", actor=user, target=report, data={"as": "reviewer"})
    return report


def reports_of(user) -> QuerySet[ProtectionReport]:
    if not user.is_authenticated:
        return ProtectionReport.objects.none()
    return ProtectionReport.objects.filter(reporter_id=user.pk)


@transaction.atomic
def case_for_reporter(user, pk: int) -> ProtectionReport:
    report = reports_of(user).filter(pk=pk).first()
    if report is None:
        raise Http404("No such case.")
    record(action="protection.case_read", actor=user, target=report, data={"as": "reporter"})
    return report


def record_key_read(report: ProtectionReport) -> None:
    """A read by receipt key: audited with no actor (anonymous)."""
    record(action="protection.case_read", target=report, data={"as": "reporter by key"})


ATTACHMENTS = Prefetch("attachments", queryset=CaseAttachment.objects.defer("data"))


def entries_for_reviewer(report: ProtectionReport) -> QuerySet[CaseEntry]:
    return report.entries.select_related("author").prefetch_related(ATTACHMENTS)


def entries_for_reporter(report: ProtectionReport) -> QuerySet[CaseEntry]:
    return (
        report.entries.filter(kind__in=CaseEntry.REPORTER_SEES)
        .select_related("author")
        .prefetch_related(ATTACHMENTS)
    )


def active_disclosure(user, report: ProtectionReport) -> IdentityDisclosure | None:
    return report.disclosures.filter(
        requested_by_id=user.pk, status=IdentityDisclosure.Status.APPROVED, expires_at__gt=timezone.now()
    ).first()


def reporter_identity(user, report: ProtectionReport) -> str:
    """Who reported, as this reviewer may know it; reading a disclosed identity is audited."""
    if report.mode == Mode.ANONYMOUS:
        return "Anonymous (not known to anyone)"
    if report.mode == Mode.NAMED:
        return str(report.reporter)
    disclosure = active_disclosure(user, report)
    if disclosure is None:
        return "Confidential (ask for an identity disclosure if the investigation needs it)"
    record(
        action="protection.identity_read",
        actor=user,
        target=report,
        data={"disclosure": disclosure.pk, "expires_at": disclosure.expires_at},
    )
    return str(report.reporter)


def pending_disclosures_for(user) -> QuerySet[IdentityDisclosure]:
    """Requests another officer may decide (never the requester's own)."""
    return (
        IdentityDisclosure.objects.filter(status=IdentityDisclosure.Status.PENDING)
        .exclude(requested_by_id=user.pk)
        .select_related("report", "requested_by")
    )


@dataclass(frozen=True)
class Count_:
    label: str
    value: int | None  # None: fewer than five, suppressed

    @property
    def shown(self) -> str:
        return f"fewer than {SUPPRESS_BELOW}" if self.value is None else str(self.value)


def _suppress(label: str, value: int) -> Count_:
    return Count_(label, value if value >= SUPPRESS_BELOW or value == 0 else None)


def statistics() -> dict[str, list[Count_]]:
    """Counts only, any count from 1 to 4 suppressed (small numbers identify people)."""
    by_status = dict(ProtectionReport.objects.values_list("status").annotate(n=Count("pk")).order_by())
    reports = ProtectionReport.objects
    acked = reports.exclude(acknowledged_at=None)
    fed = reports.exclude(feedback_at=None)
    now = timezone.now()
    timeliness = [
        _suppress("Acknowledged within 7 days", acked.filter(acknowledged_at__lte=F("ack_due_at")).count()),
        _suppress("Acknowledged late", acked.filter(acknowledged_at__gt=F("ack_due_at")).count()),
        _suppress(
            "Not acknowledged, overdue", reports.filter(acknowledged_at=None, ack_due_at__lt=now).count()
        ),
        _suppress("Feedback within 3 months", fed.filter(feedback_at__lte=F("feedback_due_at")).count()),
        _suppress("Feedback late", fed.filter(feedback_at__gt=F("feedback_due_at")).count()),
        _suppress("No feedback, overdue", reports.filter(feedback_at=None, feedback_due_at__lt=now).count()),
    ]
    flags = [
        _suppress("Flags raised", ProtectionFlag.objects.count()),
        _suppress("Flags open", ProtectionFlag.objects.filter(closed_at=None).count()),
    ]
    return {
        "by_status": [_suppress(label, by_status.get(value, 0)) for value, label in Status.choices],
        "timeliness": timeliness,
        "flags": flags,
        "flags_by_unit": _flags_by_unit(),
    }


def _flags_by_unit() -> list[Count_]:
    """Flags by the org unit of the person acted against (from the domain, through links)."""
    per_person = dict(
        ProtectionFlag.objects.values_list("action__person_id").annotate(n=Count("pk")).order_by()
    )
    units = links.teams_of(set(per_person))
    counts: dict[str, int] = {}
    for person_id, n in per_person.items():
        unit = units.get(person_id, "No unit")
        counts[unit] = counts.get(unit, 0) + n
    return [_suppress(unit, n) for unit, n in sorted(counts.items())]


@transaction.atomic
def attachment_for(user, pk: int) -> CaseAttachment:
    """A file of a case, for one of the case's reviewers or its signed-in reporter (the messages
    they can see); 404 for anyone else. The read is an audit event in the same transaction."""
    attachment = (
        CaseAttachment.objects.select_related("entry__report").filter(pk=pk).first()
        if user.is_authenticated
        else None
    )
    report = attachment.entry.report if attachment is not None else None
    reviewer = report is not None and cases_for_reviewer(user).filter(pk=report.pk).exists()
    reporter = (
        report is not None
        and report.reporter_id == user.pk
        and attachment.entry.kind in CaseEntry.REPORTER_SEES
    )
    if not (reviewer or reporter):
        raise Http404("No such file.")
    record(
        action="protection.attachment_read",
        actor=user,
        target=report,
        data={
            "attachment": attachment.pk,
            "name": attachment.name,
            "as": "reviewer" if reviewer else "reporter",
        },
    )
    return attachment
