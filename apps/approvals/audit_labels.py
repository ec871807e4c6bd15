"""Approvals' action codes in words, and where a request lives (``apps.audit.labels``)."""

from __future__ import annotations

import json

from django.urls import reverse

from apps.audit.labels import register_actions, register_target_urls

ACTIONS = {
    "approvals.requested": (
        "Approval requested",
        "{actor} asked {data[approver]} to approve {data[escalation]}",
    ),
    "approvals.approved": (
        "Approved",
        "{actor} approved {data[escalation]} reaching level {data[level]}",
    ),
    "approvals.rejected": (
        "Rejected",
        "{actor} rejected {data[escalation]} reaching level {data[level]}: {data[reason]}",
    ),
    "approvals.withdrawn": ("Approval withdrawn", "{actor} withdrew the request for {data[escalation]}"),
    "approvals.rerouted": ("Rerouted", "{target} went to {data[approver]} instead of {data[previous]}"),
    "approvals.unanswered": ("Unanswered", "{data[approver]} did not answer {target} in time"),
    "approvals.appealed": (
        "Appealed",
        "{actor} appealed {data[rejected_by]}'s rejection of {data[escalation]}",
    ),
    "approvals.brief_acknowledged": (
        "Brief acknowledged",
        "{actor} acknowledged the brief of {data[escalation]}",
    ),
    "protection.protected_act": (
        "Protected act",
        "{actor} {data[act]} on {data[escalation]} (a protected act)",
    ),
}
READS = {
    "approvals.brief_read": (
        "Read an executive brief",
        "{actor} read the executive brief of {data[escalation]}",
    ),
    "approvals.log_exported": ("Exported the decision log", "{actor} exported the decision log as CSV"),
}


def request_urls(ids: list[str]) -> dict[str, str]:
    return {i: reverse("approvals:request", args=[int(i)]) for i in ids if i.isdigit()}


def register() -> None:
    register_actions(ACTIONS)
    register_actions(READS, read=True)
    register_target_urls("approvals.approvalrequest", request_urls, label="Approval request")
    register_history()
    register_retention()
    from apps.audit.evidence import register_evidence_builder

    register_evidence_builder(evidence_sections)


# --- history sources (apps.audit.feed) ---------------------------------------------------------


def _request_rule(user):
    from django.db.models import Q

    from apps.escalations.audit import overseen_condition

    condition = overseen_condition(user, "escalation_id")
    if condition is None or not condition:  # nothing, or everything (no condition at all)
        return condition
    from apps.contacts.selectors import oversight_of

    # A freeze exception belongs to no escalation: those who oversee everything read it.
    return condition | (Q(escalation_id__isnull=True) if oversight_of(user).everything else Q(pk__in=[]))


def _brief_rule(user):
    """Brief versions are brief contents: readers of briefs only, managers approved ones."""
    from django.db.models import Q

    from apps.accounts.roles import Cap, Role
    from apps.escalations.audit import overseen_condition

    condition = overseen_condition(user, "escalation_id")
    if condition is None or not user.has_perm(Cap.READ_BRIEF.perm):
        return None
    if Role.EXECUTIVE in user.roles or Role.AUDITOR in user.roles:
        return condition
    return condition & Q(sent_at__isnull=False)


def _brief_read(user, brief) -> None:
    from apps.audit.services import record

    record(
        action="approvals.brief_read",
        actor=user,
        target=brief.approval,
        data={"escalation": brief.escalation.reference, "brief": brief.pk, "page": "Brief history"},
    )


def _request_name():
    """``ApprovalRequest.__str__`` as an expression: "Approval #12 (kind) for ESC-… level 2 (name)"."""
    from django.db.models import Case, CharField, F, Value, When
    from django.db.models.functions import Cast, Coalesce, Concat

    from apps.approvals.models import RequestKind
    from apps.audit.diffs import choice_label

    subject = Case(
        When(
            escalation_id__isnull=False,
            then=Concat(
                F("escalation__reference"),
                Value(" level "),
                Coalesce(Cast("level", CharField()), Value("None")),
                Value(" ("),
                F("level_name"),
                Value(")"),
            ),
        ),
        When(freeze_id__isnull=False, then=Concat(Value("change-freeze exception: "), F("freeze__name"))),
        default=Value("?"),
        output_field=CharField(),
    )
    return Concat(
        Value("Approval #"),
        Cast("pk", CharField()),
        Value(" ("),
        choice_label("kind", RequestKind.choices),
        Value(") for "),
        subject,
        output_field=CharField(),
    )


def register_history() -> None:
    from apps.approvals.models import ApprovalRequest, ExecutiveBrief
    from apps.audit.feed import HistorySource, register_history_source

    register_history_source(
        HistorySource(
            "approval",
            "Approval request",
            ApprovalRequest,
            _request_rule,
            url=lambda pk: reverse("approvals:request", args=[pk]),
            describe=lambda r: f"Approval #{r.id}",
            name=_request_name,
        )
    )
    register_history_source(
        HistorySource(
            "brief",
            "Executive brief",
            ExecutiveBrief,
            _brief_rule,
            url=lambda pk: reverse("approvals:brief", args=[pk]),
            describe=lambda r: f"Brief #{r.id} of escalation #{r.escalation_id}",
            in_feed=False,
            on_read=_brief_read,
        )
    )


# --- retention (apps.audit.retention) ----------------------------------------------------------
# Registered here, the lowest app that knows an escalation and the approvals that belong to it:
# an escalation is purged with its timeline, hand-offs, approval requests, decisions and briefs.


def _escalation_parts(esc) -> list:
    from apps.approvals.models import ApprovalRequest, ExecutiveBrief
    from apps.escalations.models import Escalation, HandOff

    return [
        esc,
        *esc.timeline.all(),
        *esc.handoffs.all(),
        *ApprovalRequest.objects.filter(escalation=esc),
        *ExecutiveBrief.objects.filter(escalation=esc),
        *Escalation.history.filter(id=esc.pk),
        *HandOff.history.filter(escalation_id=esc.pk),
        *ApprovalRequest.history.filter(escalation_id=esc.pk),
        *ExecutiveBrief.history.filter(escalation_id=esc.pk),
    ]


def _purge_escalation(esc) -> dict[str, int]:
    """Delete the escalation (its timeline, hand-offs, requests, decisions and briefs cascade),
    then every history row of them, the deletion rows simple-history just wrote included."""
    from apps.approvals.models import ApprovalRequest, ExecutiveBrief
    from apps.escalations.models import Escalation, HandOff

    counts: dict[str, int] = {}
    pk = esc.pk
    _add(counts, esc.delete()[1])
    for history in (
        Escalation.history.filter(id=pk),
        HandOff.history.filter(escalation_id=pk),
        ApprovalRequest.history.filter(escalation_id=pk),
        ExecutiveBrief.history.filter(escalation_id=pk),
    ):
        _add(counts, history.delete()[1])
    return counts


def _purge_request(request) -> dict[str, int]:
    from apps.approvals.models import ApprovalRequest

    counts: dict[str, int] = {}
    pk = request.pk
    _add(counts, request.delete()[1])
    _add(counts, ApprovalRequest.history.filter(id=pk).delete()[1])
    return counts


def _add(counts: dict[str, int], by_model: dict[str, int]) -> None:
    for label, n in by_model.items():
        if n:
            counts[label] = counts.get(label, 0) + n


def _find_escalation(text: str):
    from apps.escalations.models import Escalation

    query = {"pk": int(text)} if text.isdigit() and len(text) < 19 else {"reference__iexact": text}
    esc = Escalation.objects.filter(**query).only("pk", "reference").first()
    return (str(esc.pk), esc.reference) if esc else None


def register_retention() -> None:
    from apps.approvals.models import ApprovalRequest
    from apps.audit.retention import ESCALATION, RecordType, register_finder, register_record_type
    from apps.escalations.models import Escalation

    register_finder(ESCALATION, _find_escalation)
    register_finder("escalations", _find_escalation)

    register_record_type(
        RecordType(
            key="escalations",
            label="Escalations (with their approvals, briefs and timeline)",
            default_years=7,
            minimum_years=7,
            basis="after closure",
            expired=lambda cutoff: Escalation.objects.filter(closed_at__lt=cutoff).order_by("closed_at"),
            purge=_purge_escalation,
            hold_keys=lambda esc: [(ESCALATION, str(esc.pk))],
            describe=lambda esc: esc.reference,
            snapshot=_escalation_parts,
        )
    )
    register_record_type(
        RecordType(
            key="freeze_exceptions",
            label="Change-freeze exception approvals",
            default_years=7,
            minimum_years=7,
            basis="after the decision",
            expired=lambda cutoff: ApprovalRequest.objects.filter(
                escalation__isnull=True, decided_at__lt=cutoff
            ),
            purge=_purge_request,
            describe=lambda request: f"Approval #{request.pk}",
            snapshot=lambda request: [request, *ApprovalRequest.history.filter(id=request.pk)],
        )
    )


# --- the evidence pack (apps.audit.evidence) ---------------------------------------------------


def evidence_sections(user, escalation_id: int) -> dict | None:
    """An escalation's record for its evidence pack: the escalation, timeline, hand-offs,
    approval requests with their decisions, brief versions (for those who read briefs) and
    every history row. ``None`` when the user may not browse its history."""
    from django.core import serializers

    from apps.approvals.models import ApprovalDecision, ApprovalRequest, ExecutiveBrief
    from apps.escalations.audit import overseen_escalations
    from apps.escalations.models import Escalation, HandOff

    ids = overseen_escalations(user)
    esc = Escalation.objects.filter(pk=escalation_id, pk__in=ids).first() if ids is not None else None
    if esc is None:
        return None

    def rows(objects) -> list[dict]:
        return json.loads(serializers.serialize("json", list(objects)))

    requests = ApprovalRequest.objects.filter(escalation=esc).order_by("pk")
    sections = {
        "escalation": {"reference": esc.reference, "title": esc.title, "record": rows([esc])[0]},
        "timeline": rows(esc.timeline.order_by("at", "pk")),
        "handoffs": rows(esc.handoffs.order_by("pk")),
        "approvals": rows(requests),
        "decisions": rows(ApprovalDecision.objects.filter(approval__in=requests).order_by("at", "pk")),
        "history": {
            "escalation": rows(Escalation.history.filter(id=esc.pk).order_by("history_date", "history_id")),
            "handoffs": rows(
                HandOff.history.filter(escalation_id=esc.pk).order_by("history_date", "history_id")
            ),
            "approvals": rows(
                ApprovalRequest.history.filter(escalation_id=esc.pk).order_by("history_date", "history_id")
            ),
        },
    }
    brief_rule = _brief_rule(user)  # brief contents: brief readers only, managers sent ones
    if brief_rule is not None:
        versions = ExecutiveBrief.history.filter(brief_rule, escalation_id=esc.pk)
        sections["brief_versions"] = rows(versions.order_by("history_date", "history_id"))
    return sections
