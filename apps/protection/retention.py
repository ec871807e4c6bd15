"""Protection cases in the portal's retention (apps.audit.retention): kept five years after
closure by default, at least two, unless a legal hold keeps the case or the escalation it
concerns; the purge removes the case with its messages, files, disclosures and their history.

Watch windows, adverse actions and flags are not part of a case (they concern a person, under a
pseudonym) and stay. Nobody outside protection can place a hold on a case by name (a case's
existence is confidential); a hold on its escalation keeps it.
"""

from __future__ import annotations

from apps.audit.retention import ESCALATION, RecordType, register_record_type

KEY = "protection_cases"


def _expired(cutoff):
    from apps.protection.models import ProtectionReport

    return ProtectionReport.objects.filter(closed_at__lt=cutoff).order_by("closed_at")


def _hold_keys(report) -> list[tuple[str, str]]:
    keys = [(KEY, str(report.pk))]
    if report.escalation_id:
        keys.append((ESCALATION, str(report.escalation_id)))
    return keys


def _parts(report) -> list:
    from apps.protection.models import CaseAttachment, CaseEntry, IdentityDisclosure, ProtectionReport

    return [
        report,
        *CaseEntry.objects.filter(report=report),
        *CaseAttachment.objects.filter(entry__report=report),
        *IdentityDisclosure.objects.filter(report=report),
        *ProtectionReport.history.filter(id=report.pk),
        *CaseEntry.history.filter(report_id=report.pk),
        *IdentityDisclosure.history.filter(report_id=report.pk),
    ]


def _purge(report) -> dict[str, int]:
    from apps.protection.models import CaseEntry, IdentityDisclosure, ProtectionReport

    counts: dict[str, int] = {}
    pk = report.pk
    for source in (
        report.delete()[1],
        ProtectionReport.history.filter(id=pk).delete()[1],
        CaseEntry.history.filter(report_id=pk).delete()[1],
        IdentityDisclosure.history.filter(report_id=pk).delete()[1],
    ):
        for label, n in source.items():
            if n:
                counts[label] = counts.get(label, 0) + n
    return counts


def register() -> None:
    register_record_type(
        RecordType(
            key=KEY,
            label="Protection cases (with their messages, files and identity disclosures)",
            default_years=5,
            minimum_years=2,
            basis="after closure",
            expired=_expired,
            purge=_purge,
            hold_keys=_hold_keys,
            describe=lambda report: report.reference,
            snapshot=_parts,
        )
    )
