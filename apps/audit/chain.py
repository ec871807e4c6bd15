"""The chain's health: verifications asked for on the page or run nightly, with progress, and
compliance told when the chain is broken, naming the first bad row.

A verification is a row (``ChainVerification``) created in the asker's transaction and run by
a Celery task queued on commit; the task claims the row (QUEUED -> RUNNING, exactly once),
saves its progress as it walks, and records the outcome as an audit event (which joins the
chain after the walk: the walk covers the rows before it).
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.accounts.roles import Role
from apps.audit.models import AuditEvent, ChainVerification
from apps.audit.services import record, verify_chain
from apps.notifications.services import Recipient, notify

# Who is told of a broken chain: compliance (HR/Compliance officers) and auditors.
TOLD_OF_BREAKS = (Role.HR_COMPLIANCE, Role.AUDITOR)


def chain_verification_request(
    *, actor=None, trigger: str = ChainVerification.Trigger.ON_DEMAND
) -> ChainVerification:
    """Queue a verification; one already waiting or running is returned instead of a second."""
    from apps.audit import tasks

    with transaction.atomic():
        pending = ChainVerification.objects.filter(
            status__in=[ChainVerification.Status.QUEUED, ChainVerification.Status.RUNNING]
        ).first()
        if pending is not None:
            return pending
        verification = ChainVerification.objects.create(
            trigger=trigger,
            requested_at=timezone.now(),
            requested_by_username=actor.get_username() if actor is not None else "",
            total=AuditEvent.objects.count(),
        )
        transaction.on_commit(partial(tasks.run_verification.delay, verification.pk), robust=True)
    return verification


def chain_verification_run(*, verification_id: int) -> ChainVerification | None:
    """Run one queued verification. ``None`` when another worker has it (or it is done)."""
    claimed = ChainVerification.objects.filter(
        pk=verification_id, status=ChainVerification.Status.QUEUED
    ).update(status=ChainVerification.Status.RUNNING, started_at=timezone.now())
    if claimed != 1:
        return None

    def progress(checked: int) -> None:
        ChainVerification.objects.filter(pk=verification_id).update(checked=checked)

    report = verify_chain(progress=progress)
    with transaction.atomic():
        verification = ChainVerification.objects.select_for_update().get(pk=verification_id)
        verification.checked = report.checked
        verification.finished_at = timezone.now()
        verification.status = (
            ChainVerification.Status.INTACT if report.ok else ChainVerification.Status.BROKEN
        )
        verification.broken_seq = report.broken_seq
        verification.reason = report.reason[:255]
        verification.save()
        data = {
            "result": "intact" if report.ok else "broken",
            "checked": report.checked,
            "seq": report.broken_seq,
            "reason": report.reason,
            "trigger": verification.trigger,
        }
        record(action="audit.chain_verified" if report.ok else "audit.chain_broken", data=data)
        if not report.ok:
            _tell_compliance(verification)
    return verification


def _tell_compliance(verification: ChainVerification) -> None:
    people = get_user_model().objects.filter(
        groups__name__in=[str(r) for r in TOLD_OF_BREAKS], is_active=True
    )
    for user in people.distinct():
        notify(
            event_key=f"audit.chain_broken:{verification.pk}",
            recipient=Recipient(
                key=f"user:{user.pk}",
                name=user.get_full_name() or user.get_username(),
                methods=(("email", user.email),) if user.email else (),
            ),
            template="audit_chain_broken",
            context={"verification": verification},
            subject_type="audit.chainverification",
            subject_id=str(verification.pk),
        )


def chain_verification_nightly() -> ChainVerification | None:
    verification = chain_verification_request(trigger=ChainVerification.Trigger.NIGHTLY)
    return chain_verification_run(verification_id=verification.pk)
