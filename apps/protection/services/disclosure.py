"""Identity disclosure: a reviewer asks, a second officer decides once, the requester alone sees
the identity until it expires, and the reporter is told (or the reason not to is recorded)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.common.errors import Conflict
from apps.protection.models import CaseEntry, IdentityDisclosure, Mode, ProtectionReport
from apps.protection.services.cases import _clean, excluded_ids, reviewer_ids
from apps.protection.services.common import audit, case_path, is_officer, lock, setting, tell
from apps.protection.services.intake import _entry


@transaction.atomic
def disclosure_request(*, report: ProtectionReport, actor, reason: str) -> IdentityDisclosure:
    report = lock(report)
    reason = _clean(reason, "reason")
    if report.mode != Mode.CONFIDENTIAL:
        raise Conflict("Only a confidential report has an identity to disclose.")
    if actor.pk not in reviewer_ids(report):
        raise Conflict("Only a reviewer of the case may ask for the identity.")
    if report.disclosures.filter(requested_by=actor, status=IdentityDisclosure.Status.PENDING).exists():
        raise Conflict("You already asked; a second officer has yet to decide.")
    disclosure = IdentityDisclosure.objects.create(
        report=report, requested_by=actor, reason=reason, requested_at=timezone.now()
    )
    audit(report, "identity_requested", actor, disclosure=disclosure.pk, reason=reason)
    return disclosure


@transaction.atomic
def disclosure_decide(
    *,
    disclosure: IdentityDisclosure,
    actor,
    approve: bool,
    reason: str,
    tell_reporter: bool = True,
    not_told_reason: str = "",
) -> IdentityDisclosure:
    disclosure = IdentityDisclosure.objects.select_for_update().get(pk=disclosure.pk)
    report = disclosure.report
    reason = _clean(reason, "reason")
    if disclosure.status != IdentityDisclosure.Status.PENDING:
        raise Conflict(f"This request was already {disclosure.get_status_display().lower()}.")
    if actor.pk == disclosure.requested_by_id:
        raise ValidationError({"approve": "A second officer decides: not the one who asked."})
    if not is_officer(actor) or actor.pk in excluded_ids(report):
        raise Conflict("Only an officer with no part in the case may decide.")
    if approve and not tell_reporter and not (not_told_reason or "").strip():
        raise ValidationError({"not_told_reason": "Say why the reporter is not told."})
    now = timezone.now()
    disclosure.status = IdentityDisclosure.Status.APPROVED if approve else IdentityDisclosure.Status.DENIED
    disclosure.decided_by, disclosure.decided_at, disclosure.decision_reason = actor, now, reason
    if approve:
        disclosure.expires_at = now + timedelta(hours=setting("PROTECTION_DISCLOSURE_HOURS", 72))
        disclosure.reporter_told = tell_reporter
        disclosure.not_told_reason = "" if tell_reporter else not_told_reason.strip()
    disclosure.save()
    audit(
        report,
        "identity_decided",
        actor,
        disclosure=disclosure.pk,
        approved=approve,
        reason=reason,
        reporter_told=disclosure.reporter_told,
        not_told_reason=disclosure.not_told_reason,
    )
    if approve and tell_reporter:
        _entry(
            report,
            CaseEntry.Kind.NOTICE,
            "A reviewer of your case was allowed to see who you are, for a limited time, "
            "to investigate it. Nobody else was told.",
            None,
        )
    tell(
        disclosure.requested_by,
        event_key=f"protection:disclosure:{disclosure.pk}:decided",
        subject_line=f"Identity request on {report.reference} {disclosure.get_status_display().lower()}",
        body="A second officer decided your request.",
        path=case_path(report),
    )
    return disclosure
