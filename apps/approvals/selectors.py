"""Reads for the approval pages: the inbox, a request with its chain, the decision log, the
bottleneck report and briefs, each scoped by the role matrix in SQL."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.roles import Cap, Role
from apps.approvals import routing
from apps.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    BriefReceipt,
    ExecutiveBrief,
    Outcome,
    RequestStatus,
)
from apps.audit.services import record
from apps.common.csvexport import chunked_rows
from apps.contacts.models import Person
from apps.contacts.selectors import oversight_of, person_of
from apps.escalations.models import Status as EscalationStatus
from apps.escalations.selectors import visible_escalations, visible_through


def _about_visible_escalation(user, relation: str = "escalation") -> Q:
    """A request (or decision, or brief) is seen by whoever may see its escalation; a freeze
    exception, which has none, is restricted by the caller's own rule."""
    rule = visible_through(user, relation)
    if not rule:  # sees every escalation: no condition (an OR with an empty Q would drop it)
        return Q()
    return Q(**{f"{relation}__isnull": True}) | rule


def _overseen(user, prefix: str = "") -> Q | None:
    """The rule of ``overseen_requests`` as a condition on ``prefix`` (a path to a request);
    None when the user oversees nothing."""
    oversight = oversight_of(user)
    if not oversight.any:
        return None
    rule = _about_visible_escalation(user, f"{prefix}escalation")
    if oversight.everything:
        return rule
    teams = oversight.team_ids
    return rule & (
        Q(**{f"{prefix}approver__team_id__in": teams})
        | Q(**{f"{prefix}requester_person__team_id__in": teams})
        | Q(**{f"{prefix}escalation__raiser_person__team_id__in": teams})
    )


def overseen_requests(user) -> QuerySet[ApprovalRequest]:
    """The requests whose decisions someone may browse (decision log, its export, the
    bottleneck report): auditors and governance admins every one, managers those of the teams
    they oversee (the approver's, the requester's or the raiser's); and never one about an
    escalation they may not open."""
    rule = _overseen(user)
    return ApprovalRequest.objects.none() if rule is None else ApprovalRequest.objects.filter(rule)


def inbox(user) -> tuple[list[ApprovalRequest], list[ApprovalRequest]]:
    """(mine, others an executive may take): pending, oldest first. An executive sees others'
    requests only about escalations they may open (issue 8: confidential ones leaked here)."""
    person = person_of(user)
    pending = (
        ApprovalRequest.objects.filter(status=RequestStatus.PENDING)
        .select_related(
            "escalation__service", "escalation__raiser", "approver", "freeze", "brief", "requested_by"
        )
        .order_by("requested_at", "id")
    )
    mine = list(pending.filter(approver=person)) if person else []
    others: list[ApprovalRequest] = []
    if Role.EXECUTIVE in user.roles:
        others = [
            r
            for r in pending.exclude(approver=person).filter(_about_visible_escalation(user))[:50]
            if not person or person.pk not in r.excluded
        ]
    return mine, others


def may_decide(user, approval: ApprovalRequest) -> str:
    """'' when ``user`` may decide ``approval`` now, else why not (for a 403 and the inbox)."""
    if not user.has_perm(Cap.DECIDE_APPROVAL.perm):
        return "Your role does not decide approvals."
    person = person_of(user)
    if approval.raised_by_id == user.pk or approval.requested_by_id == user.pk:
        return "You cannot approve your own escalation."
    if person is not None and person.pk in approval.excluded:
        return "You are named in this escalation, so you may not decide it."
    if person is not None and person.pk == approval.approver_id:
        return ""
    if Role.EXECUTIVE in user.roles:
        return ""  # executives may decide any request they are not conflicted on
    return f"This request is for {approval.approver.full_name} to decide."


@dataclass(frozen=True)
class AppealChance:
    """Whether a rejection can be appealed now, and who would hear it."""

    state: str  # "open" | "nobody" (nobody above the rejecter can hear it) | "closed" | "waiting"
    hearer: Person | None = None
    why_not: str = ""


def appeal_chance(approval: ApprovalRequest) -> AppealChance:
    """The one rule the request page (to offer the button) and ``approval_appeal`` (to refuse)
    share: a rejection is appealed once, to someone above the rejecter who is not named in the
    escalation, and not while the escalation already waits for another approval. Whether the
    person asking is the raiser is the caller's check (a 403, not a state)."""
    if approval.status != RequestStatus.REJECTED:
        return AppealChance("closed", why_not="Only a rejected request can be appealed.")
    if approval.appeal_of_id is not None or ApprovalRequest.objects.filter(appeal_of=approval).exists():
        return AppealChance(
            "closed",
            why_not="This rejection has already been appealed once; the decision on the appeal stands.",
        )
    rejecter = approval.approver
    hearer = routing.appeal_hearer(rejecter, set(approval.excluded) | {rejecter.pk})
    if hearer is None:
        return AppealChance("nobody", why_not=f"Nobody above {rejecter.full_name} can hear an appeal.")
    esc = approval.escalation
    if esc is not None and esc.status == EscalationStatus.AWAITING_APPROVAL:
        # Someone asked for a level again since the rejection: that request is the one to decide
        # (and the database allows one pending request per level).
        return AppealChance(
            "waiting",
            hearer,
            f"{esc.reference} is already waiting for an approval of level {esc.pending_level}; "
            "appeal this rejection once that is decided, if it is still needed.",
        )
    return AppealChance("open", hearer)


def request_page(user, approval: ApprovalRequest) -> dict:
    """What the request page shows and offers this user: the brief, the chain of re-routes and
    decisions, why the level was asked for, and whether they may decide, appeal (and to whom)
    or go around a silent approver (from half the time on)."""
    raiser = approval.raised_by_id == user.pk
    appeal = appeal_chance(approval) if raiser else None
    return {
        "approval": approval,
        "brief": getattr(approval, "brief", None) if approval.escalation_id else None,
        "chain": approval.chain(),
        "decisions": list(approval.decisions.order_by("at", "id")),
        "asked_because": asked_because(approval),
        "can_decide": approval.is_pending and not may_decide(user, approval),
        "can_appeal": bool(appeal and appeal.state == "open"),
        "appeal_to": appeal.hearer if appeal else None,
        "no_appeal_possible": bool(appeal and appeal.state == "nobody"),
        "can_go_around": raiser and approval.is_pending,
        "around_from": approval.requested_at + (approval.due_at - approval.requested_at) / 2,
    }


def asked_because(approval: ApprovalRequest) -> str:
    """Why the level was asked for: the words of whoever escalated, from the timeline."""
    if not approval.escalation_id:
        return ""
    event = (
        approval.escalation.timeline.filter(kind="escalated", level=approval.level)
        .order_by("-at", "-id")
        .first()
    )
    return event.data.get("reason", "") if event else ""


def _involved(user) -> Q:
    person = person_of(user)
    q = Q(requested_by=user) | Q(escalation__raiser=user)
    if person is not None:
        q |= Q(approver=person) | Q(on_behalf_of=person)
    return q


def get_request_for_user(user, pk: int) -> ApprovalRequest:
    """A request the user takes part in, one whose decisions they browse (``overseen_requests``),
    or, for an executive, one about an escalation they may open; 404 otherwise: a request can
    reveal a confidential escalation."""
    qs = ApprovalRequest.objects.select_related(
        "escalation__service",
        "escalation__raiser",
        "escalation__owner",
        "approver",
        "on_behalf_of",
        "freeze",
        "requested_by",
    )
    approval = qs.filter(pk=pk).first()
    if approval is None:
        raise Http404("No such approval request.")
    if ApprovalRequest.objects.filter(_involved(user), pk=pk).exists():
        return approval
    if overseen_requests(user).filter(pk=pk).exists():
        return approval
    if (
        Role.EXECUTIVE in user.roles
        and ApprovalRequest.objects.filter(_about_visible_escalation(user), pk=pk).exists()
    ):
        return approval
    raise Http404("No such approval request.")


def decision_log(user) -> QuerySet[ApprovalDecision]:
    """The decisions on the requests the user oversees (``overseen_requests``)."""
    decisions = ApprovalDecision.objects.select_related(
        "approval__escalation__policy", "approval__approver", "approval__freeze", "decided_by"
    )
    rule = _overseen(user, "approval__")
    return decisions.none() if rule is None else decisions.filter(rule)


# What a row of the decision log page prints, and nothing else: a page of 50 reads 50 narrow rows.
LOG_PAGE_FIELDS = (
    "at",
    "outcome",
    "decided_by_name",
    "on_behalf_of_name",
    "reason",
    "waited_seconds",
    "approval__level",
    "approval__level_name",
    "approval__escalation__reference",
    "approval__freeze__name",
    "approval__approver__full_name",
)


def log_page_rows(decisions: QuerySet[ApprovalDecision]) -> QuerySet[ApprovalDecision]:
    """``decisions`` (filtered) narrowed to what the log page prints."""
    return (
        decisions.select_related(None)
        .select_related("approval__escalation", "approval__freeze", "approval__approver")
        .only(*LOG_PAGE_FIELDS)
    )


@dataclass
class Row:
    name: str
    decided: int
    rerouted: int
    median_hours: float | None
    p90_hours: float | None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def _row(name: str, seconds: list[int], rerouted: int) -> Row:
    hours = sorted(s / 3600 for s in seconds)
    return Row(
        name, len(hours), rerouted, statistics.median(hours) if hours else None, _percentile(hours, 0.9)
    )


@dataclass
class Bottlenecks:
    since: datetime
    by_approver: list[Row]
    by_policy: list[Row]
    pending_by_age: list[tuple[str, int]]
    oldest: list[ApprovalRequest]


AGE_BUCKETS = [
    ("under 1 hour", timedelta(hours=1)),
    ("1–4 hours", timedelta(hours=4)),
    ("4–24 hours", timedelta(days=1)),
    ("over a day", None),
]


def bottlenecks(user, *, days: int = 90) -> Bottlenecks:
    """Median and p90 time to decision per approver (their own time on the request) and per
    policy (from the first request to the decision), how often each approver was silent, and
    what is pending by age. Bounded by ``days``: a few columns per decision, in one query."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        decision_log(user)
        .filter(at__gte=since)
        .values_list(
            "outcome",
            "approval__approver__full_name",
            "approval__escalation__policy__name",
            "at",
            "approval__requested_at",
            "waited_seconds",
        )
    )
    per_approver: dict[str, list[int]] = {}
    silent: dict[str, int] = {}
    per_policy: dict[str, list[int]] = {}
    for outcome, approver, policy, at, requested_at, waited in rows:
        if outcome in (Outcome.APPROVED, Outcome.REJECTED):
            per_approver.setdefault(approver, []).append(int((at - requested_at).total_seconds()))
            per_policy.setdefault(policy or "Change-freeze exceptions", []).append(waited)
        elif outcome in (Outcome.REROUTED, Outcome.ESCALATED_AROUND):
            silent[approver] = silent.get(approver, 0) + 1
    by_approver = sorted(
        (_row(n, per_approver.get(n, []), silent.get(n, 0)) for n in set(per_approver) | set(silent)),
        key=lambda r: (-(r.p90_hours or 0), -r.rerouted, r.name),
    )
    by_policy = sorted((_row(n, s, 0) for n, s in per_policy.items()), key=lambda r: -(r.p90_hours or 0))
    now = timezone.now()
    pending = overseen_requests(user).filter(status=RequestStatus.PENDING)
    buckets, lower = [], timedelta(0)
    for label, upper in AGE_BUCKETS:
        q = pending.filter(requested_at__lte=now - lower)
        if upper is not None:
            q = q.filter(requested_at__gt=now - upper)
        buckets.append((label, q.count()))
        lower = upper or lower
    oldest = list(pending.select_related("approver", "escalation").order_by("requested_at")[:10])
    return Bottlenecks(since, by_approver, by_policy, buckets, oldest)


def get_brief_for_user(user, pk: int, *, reading: bool = True) -> ExecutiveBrief:
    """Executives and auditors read any brief of an escalation they may see; managers only
    approved (sent) ones. Every read is audited: briefs are sensitive. ``reading=False`` when
    the brief is only acted on (acknowledging it), which is audited as what it is."""
    if not user.has_perm(Cap.READ_BRIEF.perm):
        raise PermissionDenied("Your role does not read executive briefs.")
    brief = ExecutiveBrief.objects.select_related("approval__approver", "escalation").filter(pk=pk).first()
    if brief is None or not visible_escalations(user).filter(pk=brief.escalation_id).exists():
        raise Http404("No such brief.")
    if not (Role.EXECUTIVE in user.roles or Role.AUDITOR in user.roles) and brief.sent_at is None:
        raise PermissionDenied("Managers read a brief once it has been approved and sent.")
    if not reading:
        return brief
    record(
        action="approvals.brief_read",
        actor=user,
        target=brief.approval,
        data={"escalation": brief.escalation.reference, "brief": brief.pk, "page": "Executive brief"},
    )
    return brief


def brief_page(user, brief: ExecutiveBrief) -> dict:
    """What the brief page shows besides the brief: the reader's own receipt, who approved it
    (from the decision log: an executive may have decided for the asked manager), and who has
    received and acknowledged it."""
    person = person_of(user)
    return {
        "brief": brief,
        "receipt": BriefReceipt.objects.filter(brief=brief, executive=person).first() if person else None,
        "approved": brief.approval.decisions.filter(outcome=Outcome.APPROVED).first(),
        "receipts": list(brief.receipts.select_related("executive")),
    }


LOG_COLUMNS = [
    "at",
    "request",
    "kind",
    "escalation",
    "level",
    "policy",
    "outcome",
    "decided_by",
    "on_behalf_of",
    "asked_of",
    "reason",
    "waited_seconds",
]


LOG_ORDER = ("-at", "-id")  # the log's sort plus id: the keyset of its export (index decision_log)


# What the export prints, and nothing else: whole rows of six joined models cost 0.7 ms of
# Python a decision (model instances, JSON fields parsed), these columns a tenth of that.
LOG_EXPORT_FIELDS = (
    "id",
    "at",
    "approval_id",
    "approval__kind",
    "approval__escalation__reference",
    "approval__level",
    "approval__escalation__policy__name",
    "outcome",
    "decided_by_name",
    "on_behalf_of_name",
    "approval__approver__full_name",
    "reason",
    "waited_seconds",
)


def log_export(decisions: QuerySet[ApprovalDecision]) -> QuerySet:
    """The decisions narrowed to ``LOG_EXPORT_FIELDS`` (dicts): what ``decision_rows`` reads."""
    return decisions.values(*LOG_EXPORT_FIELDS)


def log_rows(decisions: QuerySet[ApprovalDecision]):
    """The decision log export's rows, in ``LOG_COLUMNS`` order, read in keyset chunks."""
    return chunked_rows(log_export(decisions), LOG_ORDER, decision_rows)


def decision_rows(decisions: Iterable[dict]):
    """Decisions from ``log_export`` as export rows, in ``LOG_COLUMNS`` order."""
    for d in decisions:
        yield [
            d["at"].isoformat(),
            d["approval_id"],
            d["approval__kind"],
            d["approval__escalation__reference"] or "",
            d["approval__level"] or "",
            d["approval__escalation__policy__name"] or "",
            d["outcome"],
            d["decided_by_name"],
            d["on_behalf_of_name"],
            d["approval__approver__full_name"],
            d["reason"],
            d["waited_seconds"],
        ]


@dataclass
class DeskRow:
    receipt: BriefReceipt
    brief: ExecutiveBrief
    escalation: object
    ack_due_at: datetime | None  # the acknowledge clock, while it is this reader's

    @property
    def unread(self) -> bool:
        return self.receipt.acknowledged_at is None


def desk(user, *, limit: int = 50) -> list[DeskRow]:
    """An executive's briefs: unread first (oldest first: the longest waiting on them), then
    the read ones, newest first. Each with its escalation, what is asked, who owns it now and
    the time left on the acknowledge clock while it is theirs. Three queries however many."""
    person = person_of(user)
    if person is None:
        return []
    receipts = (
        BriefReceipt.objects.filter(brief__escalation__in=visible_escalations(user), executive=person)
        .select_related("brief__approval", "brief__escalation__owner", "brief__escalation__engaged")
        .order_by(F("acknowledged_at").desc(nulls_first=True), "sent_at")
    )[:limit]
    rows = []
    for receipt in receipts:
        esc = receipt.brief.escalation
        mine = esc.engaged_id == person.pk and esc.status == EscalationStatus.OPEN
        rows.append(DeskRow(receipt, receipt.brief, esc, esc.ack_due_at if mine else None))
    return rows


def unread_briefs(user) -> int:
    person = person_of(user)
    if person is None:
        return 0
    return BriefReceipt.objects.filter(
        executive=person, acknowledged_at=None, brief__escalation__in=visible_escalations(user)
    ).count()


def brief_recipients(approval: ApprovalRequest) -> list[str]:
    """The names of the executives an approval's brief went to (none until it is sent)."""
    return list(
        BriefReceipt.objects.filter(brief__approval=approval)
        .order_by("executive__full_name")
        .values_list("executive__full_name", flat=True)
    )
