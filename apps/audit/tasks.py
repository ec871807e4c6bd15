"""Thin Celery tasks over ``apps.audit.chain``; idempotent (a claimed verification runs once)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="audit.run_verification", acks_late=True, ignore_result=True)
def run_verification(verification_id: int) -> str:
    from apps.audit.chain import chain_verification_run

    result = chain_verification_run(verification_id=verification_id)
    return result.status if result else "taken"


@shared_task(name="audit.verify_chain_nightly", acks_late=True, ignore_result=True)
def verify_chain_nightly() -> str:
    from apps.audit.chain import chain_verification_nightly

    result = chain_verification_nightly()
    return result.status if result else "taken"


@shared_task(name="audit.purge_expired", acks_late=True, ignore_result=True)
def purge_expired() -> dict:
    """The daily purge; a second delivery finds nothing left to purge (and says so)."""
    from apps.audit.retention import purge_expired as purge

    result = purge()
    return {"records": result["records"], "held": result["held"]}
