"""Approval pages: the manager's inbox, a request (decide, appeal, go around), the decision
log, the bottleneck report and the executive brief. Thin: authorise, call one service, render.
Refusals say why and change nothing (400 bad input, 403 not yours, 409 already decided/stale)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap
from apps.approvals import selectors, services
from apps.approvals.filters import DecisionFilter
from apps.approvals.forms import DecisionForm, FreezeExceptionForm, ReasonForm
from apps.approvals.models import ApprovalRequest
from apps.approvals.tables import DecisionTable
from apps.common.errors import Conflict
from apps.common.forms import apply_errors, error_dict
from apps.common.keyset import KeysetPage, keyset_pages, requested_page
from apps.common.moments import shown
from apps.common.pagination import refused_filters
from apps.common.params import InvalidParameter, int_param
from apps.exports.respond import export_response
from apps.policies.selectors import open_freezes


@requires(Cap.DECIDE_APPROVAL)
def inbox(request):
    mine, others = selectors.inbox(request.user)
    return render(request, "approvals/inbox.html", {"mine": mine, "others": others, "now": timezone.now()})


def _request_context(
    request, approval: ApprovalRequest, *, form=None, side_form=None, error: str = ""
) -> dict:
    page = selectors.request_page(request.user, approval)
    if form is None and page["can_decide"]:
        form = DecisionForm(initial={"version": approval.version}, brief=page["brief"])
    return {
        **page,
        "form": form,
        "side_form": side_form or ReasonForm(initial={"version": approval.version}),
        "error": error,
        "now": timezone.now(),
    }


@authenticated
def request_detail(request, pk: int):
    approval = selectors.get_request_for_user(request.user, pk)
    return render(request, "approvals/request.html", _request_context(request, approval))


@authenticated
@require_POST
def decide(request, pk: int):
    """Approve (with the brief as the approver leaves it) or reject with a reason. A form that
    does not parse never reaches the service."""
    approval = selectors.get_request_for_user(request.user, pk)
    brief = getattr(approval, "brief", None) if approval.escalation_id else None
    form = DecisionForm(request.POST, brief=brief)
    try:
        if why := selectors.may_decide(request.user, approval):
            raise PermissionDenied(why)
        if not form.is_valid():
            raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
        services.approval_decide(
            approval=approval,
            actor=request.user,
            approve=form.approves,
            reason=form.cleaned_data["reason"],
            brief_edits=form.brief_edits() if form.approves and brief else None,
            expected_version=form.cleaned_data["version"],
        )
    except (ValidationError, Conflict, PermissionDenied) as exc:
        return _refused(request, approval, form, exc)
    told = selectors.brief_recipients(approval) if form.approves else []
    messages.success(
        request,
        f"Approved: {' and '.join(told)} {'has' if len(told) == 1 else 'have'} the brief."
        if told
        else DECIDED[form.approves],
    )
    return redirect("approvals:inbox")  # only deciders get here, and they have an inbox


DECIDED = {
    True: "Approved: the executive has the brief.",
    False: "Rejected: the raiser has your reason and may appeal once.",
}


def _refused(request, approval, form, exc: Exception):
    """Nothing was done: bad input beside its field (400), not yours (403), stale or already
    decided (409)."""
    if isinstance(exc, ValidationError):
        leftover = apply_errors(form, error_dict(exc))
        text = " ".join(m for msgs in leftover.values() for m in msgs)
        return _rerender(request, approval, form=form, error=text, status=400)
    return _rerender(request, approval, error=str(exc), status=409 if isinstance(exc, Conflict) else 403)


def _rerender(request, approval, *, form=None, error: str, status: int):
    approval = selectors.get_request_for_user(request.user, approval.pk)
    template = (
        "approvals/_request_panel.html" if request.headers.get("HX-Request") else "approvals/request.html"
    )
    return render(
        request, template, _request_context(request, approval, form=form, error=error), status=status
    )


def _raiser_action(request, pk: int, action, done: str):
    approval = selectors.get_request_for_user(request.user, pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        result = action(approval, form.cleaned_data.get("reason", ""))
    except ValidationError as exc:
        apply_errors(form, error_dict(exc))
        return render(
            request,
            "approvals/request.html",
            _request_context(request, approval, side_form=form, error="See below."),
            status=400,
        )
    except Conflict as exc:
        return _rerender(request, approval, error=str(exc), status=409)
    messages.success(request, done.format(approver=result.approver.full_name))
    return redirect("approvals:request", result.pk)


@authenticated
@require_POST
def appeal(request, pk: int):
    return _raiser_action(
        request,
        pk,
        lambda approval, reason: services.approval_appeal(
            approval=approval, actor=request.user, reason=reason
        ),
        "Appealed: {approver} will decide. Appealing is protected.",
    )


@authenticated
@require_POST
def escalate_around(request, pk: int):
    return _raiser_action(
        request,
        pk,
        lambda approval, reason: services.approval_escalate_around(
            approval=approval, actor=request.user, reason=reason
        ),
        "Gone around: {approver} will decide now.",
    )


LOG_PAGE = 50


@requires(Cap.BROWSE_AUDIT)
def decision_log(request):
    """Newest first, a page of 50 by keyset ("Older", "Newer", or go to a date): every page
    costs the same few index range scans at a thousand decisions or a million (issue 13)."""
    if request.GET.get("export") == "csv":
        return _export(request)
    log_filter = DecisionFilter(request.GET or None, queryset=selectors.decision_log(request.user))
    refused = refused_filters(request, log_filter)  # said beside each field; no rows rather than wrong rows
    refusal, page = None, KeysetPage([], None, None)
    if not refused:
        try:
            page = requested_page(request.GET, selectors.log_page_rows(log_filter.qs), size=LOG_PAGE)
        except InvalidParameter as exc:
            refusal, refused = exc, True
    context = {
        "filter": log_filter,
        "table": DecisionTable(page.rows),
        **keyset_pages(request.GET, page, refusal=refusal),
    }
    return render(request, "approvals/log.html", context, status=400 if refused else 200)


def _export(request):
    """Streamed with a trailer line, or, when too long to finish inside the web timeout, a
    job with a page of its own (``apps.exports``); audited either way."""
    return export_response(
        request,
        kind_key="decision-log",
        audit_action="approvals.log_exported",
        audit_data={"filters": {k: v for k, v in request.GET.items() if k != "export"}},
    )


@requires(Cap.BROWSE_AUDIT)
def bottlenecks(request):
    days = int_param(request, "days", default=90, minimum=1, maximum=3650)
    return render(
        request,
        "approvals/bottlenecks.html",
        {"report": selectors.bottlenecks(request.user, days=days), "days": days},
    )


@requires(Cap.READ_BRIEF)
def briefs(request):
    """The executive's desk: the briefs sent to them, unread first, with the clock."""
    return render(
        request, "approvals/desk.html", {"rows": selectors.desk(request.user), "now": timezone.now()}
    )


@authenticated
def brief_detail(request, pk: int):
    brief = selectors.get_brief_for_user(request.user, pk)
    return render(request, "approvals/brief.html", selectors.brief_page(request.user, brief))


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
    freeze = get_object_or_404(open_freezes(), pk=freeze_pk)
    form = FreezeExceptionForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            approval = services.freeze_exception_request(
                freeze=freeze, actor=request.user, change_summary=form.cleaned_data["change_summary"]
            )
        except (ValidationError, Conflict) as exc:
            status = _form_refusal(form, exc)
        else:
            messages.success(
                request, f"Asked: {approval.approver.full_name} decides by {shown(approval.due_at)}."
            )
            return redirect("approvals:request", approval.pk)
    return render(request, "approvals/freeze_exception.html", {"form": form, "freeze": freeze}, status=status)


def _form_refusal(form, exc: Exception) -> int:
    """Put a service's refusal on the form: bad input beside its field (400), a state that
    does not allow it above the form (409)."""
    if isinstance(exc, ValidationError):
        apply_errors(form, error_dict(exc))
        return 400
    form.add_error(None, str(exc))
    return 409
