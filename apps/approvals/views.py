"""Approval pages: the manager's inbox, a request (decide, appeal, go around), the decision
log, the bottleneck report and the executive brief. Thin: authorise, call one service, render.
Refusals say why and change nothing (400 bad input, 403 not yours, 409 already decided/stale)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap
from apps.approvals import routing, selectors, services
from apps.approvals.filters import DecisionFilter
from apps.approvals.forms import DecisionForm, FreezeExceptionForm, ReasonForm
from apps.approvals.models import ApprovalRequest, BriefReceipt, RequestStatus
from apps.approvals.tables import DecisionTable
from apps.audit.services import record
from apps.common.csvexport import streamed_csv
from apps.common.forms import apply_errors, error_dict
from apps.common.pagination import paginate, require_valid_filters
from apps.common.params import int_param
from apps.contacts.selectors import person_of
from apps.escalations.services import Conflict


@requires(Cap.DECIDE_APPROVAL)
def inbox(request):
    mine, others = selectors.inbox(request.user)
    return render(request, "approvals/inbox.html", {"mine": mine, "others": others, "now": timezone.now()})


def _asked_because(ask: ApprovalRequest) -> str:
    """Why the level was asked for: the words of whoever escalated, from the timeline."""
    if not ask.escalation_id:
        return ""
    event = ask.escalation.timeline.filter(kind="escalated", level=ask.level).order_by("-at", "-id").first()
    return event.data.get("reason", "") if event else ""


def _request_context(request, ask: ApprovalRequest, *, form=None, side_form=None, error: str = "") -> dict:
    brief = getattr(ask, "brief", None) if ask.escalation_id else None
    user = request.user
    can_decide = ask.is_pending and not services.may_decide_request(user, ask)
    raiser = services._raiser_id(ask) == user.pk
    halfway = ask.requested_at + (ask.due_at - ask.requested_at) / 2
    appealable = (
        raiser
        and ask.status == RequestStatus.REJECTED
        and ask.appeal_of_id is None
        and not ApprovalRequest.objects.filter(appeal_of=ask).exists()
    )
    # Offer an appeal only when someone could hear it (the service would refuse otherwise).
    appeal_to = routing.appeal_hearer(ask.approver, set(ask.excluded)) if appealable else None
    return {
        "ask": ask,
        "brief": brief,
        "chain": ask.chain(),
        "decisions": list(ask.decisions.order_by("at", "id")),
        "asked_because": _asked_because(ask),
        "can_decide": can_decide,
        "form": form or (DecisionForm(initial={"version": ask.version}, brief=brief) if can_decide else None),
        "can_appeal": appeal_to is not None,
        "appeal_to": appeal_to,
        "no_appeal_possible": appealable and appeal_to is None,
        "can_go_around": raiser and ask.is_pending,
        "around_from": halfway,
        "side_form": side_form or ReasonForm(initial={"version": ask.version}),
        "error": error,
        "now": timezone.now(),
    }


@authenticated
def request_detail(request, pk: int):
    ask = selectors.get_request_for_user(request.user, pk)
    return render(request, "approvals/request.html", _request_context(request, ask))


@authenticated
@require_POST
def decide(request, pk: int):
    ask = selectors.get_request_for_user(request.user, pk)
    brief = getattr(ask, "brief", None) if ask.escalation_id else None
    form = DecisionForm(request.POST, brief=brief)
    form.is_valid()
    approve = request.POST.get("decision") == "approve"
    try:
        services.approval_decide(
            request=ask,
            actor=request.user,
            approve=approve,
            reason=form.cleaned_data.get("reason", ""),
            brief_edits=form.brief_edits() if approve and brief else None,
            expected_version=form.cleaned_data.get("version"),
        )
    except ValidationError as exc:
        leftover = apply_errors(form, error_dict(exc))
        text = " ".join(m for msgs in leftover.values() for m in msgs)
        return _rerender(request, ask, form=form, error=text, status=400)  # field errors show beside fields
    except Conflict as exc:
        return _rerender(request, ask, error=str(exc), status=409)
    except PermissionDenied as exc:
        return _rerender(request, ask, error=str(exc), status=403)
    messages.success(
        request,
        "Approved: the executive has the brief."
        if approve
        else "Rejected: the raiser has your reason and may appeal once.",
    )
    return redirect("approvals:inbox")  # only deciders get here, and they have an inbox


def _rerender(request, ask, *, form=None, error: str, status: int):
    ask = selectors.get_request_for_user(request.user, ask.pk)
    template = (
        "approvals/_request_panel.html" if request.headers.get("HX-Request") else "approvals/request.html"
    )
    return render(request, template, _request_context(request, ask, form=form, error=error), status=status)


def _raiser_action(request, pk: int, action, done: str):
    ask = selectors.get_request_for_user(request.user, pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        result = action(ask, form.cleaned_data.get("reason", ""))
    except ValidationError as exc:
        apply_errors(form, error_dict(exc))
        return render(
            request,
            "approvals/request.html",
            _request_context(request, ask, side_form=form, error="Nothing was done: see below."),
            status=400,
        )
    except Conflict as exc:
        return _rerender(request, ask, error=str(exc), status=409)
    messages.success(request, done.format(approver=result.approver.full_name))
    return redirect("approvals:request", result.pk)


@authenticated
@require_POST
def appeal(request, pk: int):
    return _raiser_action(
        request,
        pk,
        lambda ask, reason: services.approval_appeal(request=ask, actor=request.user, reason=reason),
        "Appealed: {approver} will decide. Appealing is protected.",
    )


@authenticated
@require_POST
def escalate_around(request, pk: int):
    return _raiser_action(
        request,
        pk,
        lambda ask, reason: services.approval_escalate_around(request=ask, actor=request.user, reason=reason),
        "Gone around: {approver} will decide now.",
    )


@requires(Cap.BROWSE_AUDIT)
def decision_log(request):
    log_filter = DecisionFilter(request.GET or None, queryset=selectors.decision_log(request.user))
    if request.GET.get("export") == "csv":
        require_valid_filters(log_filter)
        return _export(request, log_filter.qs)
    table = DecisionTable(log_filter.qs)
    paginate(request, table, per_page=50, lazy=True, filters=log_filter)
    return render(request, "approvals/log.html", {"filter": log_filter, "table": table})


def _export(request, queryset):
    record(
        action="approvals.log_exported",
        actor=request.user,
        data={"filters": {k: v for k, v in request.GET.items() if k != "export"}},
    )

    header = [
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

    def rows():
        for d in queryset.order_by("-at", "-id").iterator(chunk_size=2000):
            r = d.request
            yield [
                d.at.isoformat(),
                r.pk,
                r.kind,
                r.escalation.reference if r.escalation_id else "",
                r.level or "",
                r.escalation.policy.name if r.escalation_id else "",
                d.outcome,
                d.decided_by_name,
                d.on_behalf_of_name,
                r.approver.full_name,
                d.reason,
                d.waited_seconds,
            ]

    return streamed_csv(name="decision-log", header=header, rows=rows())


@requires(Cap.BROWSE_AUDIT)
def bottlenecks(request):
    days = int_param(request, "days", default=90, minimum=1, maximum=3650)
    return render(
        request,
        "approvals/bottlenecks.html",
        {"report": selectors.bottlenecks(request.user, days=days), "days": days},
    )


@authenticated
def brief_detail(request, pk: int):
    brief = selectors.get_brief_for_user(request.user, pk)
    person = person_of(request.user)
    receipt = BriefReceipt.objects.filter(brief=brief, executive=person).first() if person else None
    # Who approved, from the decision log: an executive may have decided for the asked manager.
    approval = brief.request.decisions.filter(outcome="approved").first()
    context = {
        "brief": brief,
        "receipt": receipt,
        "approval": approval,
        "receipts": list(brief.receipts.select_related("executive")),
    }
    return render(request, "approvals/brief.html", context)


@authenticated
@require_POST
def brief_ack(request, pk: int):
    brief = selectors.get_brief_for_user(request.user, pk, reading=False)
    try:
        services.brief_acknowledge(brief=brief, actor=request.user)
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, "Thank you: your acknowledgement is recorded.")
    return redirect("approvals:brief", brief.pk)


@requires(Cap.RAISE_ESCALATION)
def freeze_exception(request, freeze_pk: int):
    """Ask for a change during a freeze: the same approval engine, routed to your manager."""
    from django.shortcuts import get_object_or_404

    from apps.policies.models import ChangeFreeze

    freeze = get_object_or_404(ChangeFreeze, pk=freeze_pk, ends_at__gt=timezone.now())
    form = FreezeExceptionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            ask = services.freeze_exception_request(
                freeze=freeze, actor=request.user, change_summary=form.cleaned_data["change_summary"]
            )
        except ValidationError as exc:
            apply_errors(form, error_dict(exc))
            status = 400
        except Conflict as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            messages.success(
                request, f"Asked: {ask.approver.full_name} decides by {ask.due_at:%a %d %b %H:%M} UTC."
            )
            return redirect("approvals:request", ask.pk)
    return render(request, "approvals/freeze_exception.html", {"form": form, "freeze": freeze}, status=status)
