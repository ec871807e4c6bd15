"""What the protection services share: settings, the officers, notifications, locking."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.urls import reverse

from apps.accounts.roles import Cap
from apps.audit.services import record
from apps.notifications.services import Recipient, notify
from apps.protection.models import ProtectionReport

REVIEW_PERM = "review_protectionreport"


def setting(name: str, default):
    return getattr(settings, name, default)


def message_limit() -> int:
    return setting("PROTECTION_MESSAGE_MAX_CHARS", 5000)


def officers() -> QuerySet:
    """Protection officers: HR and compliance people, by capability (not by group name)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__permissions__codename=Cap.WORK_PROTECTION_CASES.codename)
        .distinct()
        .order_by("pk")
    )


def is_officer(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(Cap.WORK_PROTECTION_CASES.perm))


def recipient_for(user) -> Recipient:
    methods = (("email", user.email),) if user.email else ()
    return Recipient(key=f"user:{user.pk}", name=str(user), methods=methods)


def tell(user, *, event_key: str, subject_line: str, body: str, path: str = "") -> None:
    """One notification saying no more than the subject line and body (never the case's text:
    messages leave the portal by email)."""
    notify(
        event_key=event_key,
        recipient=recipient_for(user),
        template="protection_notice",
        context={"subject_line": subject_line, "body": body, "path": path},
    )


def case_path(report: ProtectionReport) -> str:
    return reverse("protection:case", args=[report.pk])


def lock(report: ProtectionReport) -> ProtectionReport:
    return ProtectionReport.objects.select_for_update().get(pk=report.pk)


def save(report: ProtectionReport, fields: list[str]) -> None:
    """Save with the version bumped and no user on the history row when the reporter is not
    to be known from it (the history's actor column is filled from the request otherwise)."""
    report.version += 1
    report._history_user = None
    report.save(update_fields=[*fields, "version"])


def audit(report: ProtectionReport, verb: str, actor, **data) -> None:
    data.setdefault("status", report.status)
    record(action=f"protection.{verb}", actor=actor, target=report, data=data)
