"""Escalation pages: thin. Parse, authorise (selectors decide visibility), call one service,
then redirect, or render the escalation's panel again for htmx.

A refused action changes nothing and says why: bad input comes back beside its field (400),
an action the user may not take is 403, a stale form or a colleague who acted first is 409
with what happened in plain words.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap
from apps.audit.services import record
from apps.common.csvexport import streamed_csv
from apps.common.forms import apply_errors, error_dict
from apps.common.pagination import paginate, require_valid_filters
from apps.contacts.models import Person
from apps.escalations import selectors, services
from apps.escalations.filters import EscalationFilter
from apps.escalations.forms import CommentForm, EscalateForm, HandOffForm, RaiseForm, ReasonForm, ResolveForm
from apps.escalations.models import Escalation
from apps.escalations.tables import EscalationTable
from apps.policies.selectors import policy_for

PER_PAGE = 50


@authenticated
def dashboard(request):
    board = selectors.dashboard(request.user)
    return render(
        request,
        "escalations/dashboard.html",
        {"board": board, "can_raise": request.user.has_perm(Cap.RAISE_ESCALATION.perm)},
    )


@authenticated
def escalation_list(request):
    """Every escalation the user may see; filters, sorting, CSV export. Never counts the table:
    the lazy paginator asks for one row more than a page to know there is a next one."""
    if request.GET.get("export") == "csv":
        export_filter = EscalationFilter(request.GET, queryset=selectors.for_export(request.user))
        require_valid_filters(export_filter)
        return _export_csv(request, export_filter.qs)
    esc_filter = EscalationFilter(request.GET or None, queryset=selectors.for_list(request.user))
    table = EscalationTable(esc_filter.qs)
    paginate(request, table, per_page=PER_PAGE, lazy=True, filters=esc_filter)
    return render(request, "escalations/list.html", {"filter": esc_filter, "table": table})


CSV_COLUMNS = [
    "reference",
    "title",
    "status",
    "severity",
    "customer_tier",
    "category",
    "service",
    "policy",
    "policy_version",
    "current_level",
    "owner",
    "raiser",
    "raised_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "ack_due_at",
    "resolve_due_at",
    "confidential",
]


def _export_csv(request, queryset):
    """Streamed, so 100,000 rows never sit in memory; the export itself is audited."""
    record(
        action="escalations.exported",
        actor=request.user,
        data={"filters": {k: v for k, v in request.GET.items() if k != "export"}},
    )

    def rows():
        for esc in queryset.order_by("-raised_at", "-id").iterator(chunk_size=2000):
            yield [
                esc.reference,
                esc.title,
                esc.status,
                esc.severity,
                esc.customer_tier,
                esc.category,
                esc.service.name,
                esc.policy.name,
                esc.policy_version,
                esc.current_level,
                esc.owner.full_name if esc.owner else "",
                esc.raiser.get_username(),
                *(
                    _iso(getattr(esc, f))
                    for f in ("raised_at", "acknowledged_at", "resolved_at", "closed_at", "ack_due_at", "resolve_due_at")
                ),
                "yes" if esc.confidential else "no",
            ]

    return streamed_csv(name="escalations", header=CSV_COLUMNS, rows=rows())


def _iso(value) -> str:
    return value.isoformat() if value else ""


@requires(Cap.RAISE_ESCALATION)
def escalation_raise(request):
    """Choose the service and category, then the form the covering policy asks for. htmx
    re-renders the form as the choice changes; without JavaScript, "Continue" does the same."""
    data = request.POST if request.method == "POST" else (request.GET or None)
    probe = RaiseForm(data or {})
    probe.is_valid()
    service, category = probe.cleaned_data.get("service"), probe.cleaned_data.get("category")
    policy = policy_for(service, category) if service and category else None
    form = RaiseForm(data, policy=policy)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            esc = services.escalation_raise(actor=request.user, **form.service_fields())
        except ValidationError as exc:
            leftover = apply_errors(form, error_dict(exc))
            for messages_ in leftover.values():
                form.add_error(None, messages_)
            status = 400
        else:
            messages.success(
                request,
                f"{esc.reference} raised. {esc.owner.full_name if esc.owner else 'Nobody'} "
                "has been told, and the clock is running.",
            )
            return redirect("escalations:detail", pk=esc.pk)
    elif data is not None:
        form.errors.clear()  # choosing a service is not submitting: no errors yet
    context = {
        "form": form,
        "policy": policy,
        "service": service,
        "category": category,
        "chosen": bool(service and category),
    }
    template = (
        "escalations/_raise_form.html" if request.headers.get("HX-Request") else "escalations/raise.html"
    )
    return render(request, template, context, status=status)


@authenticated
def escalation_detail(request, pk: int):
    esc = selectors.get_escalation_for_user(request.user, pk, page=request.path)
    return _render_detail(request, esc)


def _render_detail(
    request, esc: Escalation, *, forms: dict | None = None, error: str = "", status: int = 200
):
    actions = selectors.actions_for(request.user, esc)
    context = {
        "esc": esc,
        "actions": actions,
        "timeline": selectors.timeline(esc),
        "handoffs": selectors.handoffs(esc),
        "levels": esc.levels,
        "forms": {**_blank_forms(request, esc, actions), **(forms or {})},
        "error": error,
        "now": timezone.now(),
    }
    template = "escalations/_panel.html" if request.headers.get("HX-Request") else "escalations/detail.html"
    return render(request, template, context, status=status)


def _ids(name: str) -> str:
    """Each action form its own ids: several are on the page at once (Escalate and De-escalate
    both have a level and a reason), and a label must point at its own control."""
    return f"id_{name}_%s"


def _blank_forms(request, esc: Escalation, actions) -> dict:
    initial = {"version": esc.version}
    forms = {
        "comment": CommentForm(auto_id=_ids("comment")),
        "reason": ReasonForm(initial=initial, auto_id=_ids("reason")),
    }
    if actions.hand_off:
        forms["hand_off"] = HandOffForm(
            initial=initial, candidates=_hand_off_candidates(esc), auto_id=_ids("hand_off")
        )
    if actions.escalate_to:
        forms["escalate"] = EscalateForm(
            initial=initial, levels=actions.escalate_to, auto_id=_ids("escalate")
        )
    if actions.de_escalate_to:
        forms["de_escalate"] = EscalateForm(
            initial=initial, levels=actions.de_escalate_to, auto_id=_ids("de_escalate")
        )
    if actions.resolve:
        forms["resolve"] = ResolveForm(initial=initial, escalation=esc, auto_id=_ids("resolve"))
    return forms


def _hand_off_candidates(esc: Escalation):
    return (
        Person.objects.filter(
            user__isnull=False,
            user__groups__permissions__codename=Cap.RESPOND_ESCALATION.codename,
            contact_methods__isnull=False,
        )
        .exclude(pk=esc.owner_id)
        .distinct()
        .order_by("full_name")
    )


# --- actions ----------------------------------------------------------------------------------


def _clean(form) -> dict:
    """The form's data once it is valid. A form that does not parse (a level that is not a
    number, a stale version that is not one) never reaches a service: it is a 400 beside
    its field, and nothing changes."""
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.cleaned_data


def _act_acknowledge(request, esc):
    data = _clean(ReasonForm(request.POST))
    services.escalation_acknowledge(escalation=esc, actor=request.user, expected_version=data.get("version"))
    return "Acknowledged: you own it. The resolve clock keeps running."


def _act_hand_off(request, esc):
    data = _clean(HandOffForm(request.POST, candidates=_hand_off_candidates(esc)))
    services.escalation_hand_off(
        escalation=esc,
        actor=request.user,
        to_person=data.get("to_person"),
        context_summary=data.get("context_summary", ""),
        expected_version=data.get("version"),
    )
    return "Handed off."


def _act_escalate(request, esc):
    actions = selectors.actions_for(request.user, esc)
    data = _clean(EscalateForm(request.POST, levels=actions.escalate_to or esc.levels))
    services.escalation_escalate(
        escalation=esc,
        actor=request.user,
        reason=data.get("reason", ""),
        to_level=data.get("to_level"),
        expected_version=data.get("version"),
    )
    return "Escalated."


def _act_de_escalate(request, esc):
    data = _clean(EscalateForm(request.POST, levels=esc.levels))
    services.escalation_de_escalate(
        escalation=esc,
        actor=request.user,
        to_level=data.get("to_level") or 0,
        reason=data.get("reason", ""),
        expected_version=data.get("version"),
    )
    return "De-escalated."


def _act_resolve(request, esc):
    data = _clean(ResolveForm(request.POST, escalation=esc))
    services.escalation_resolve(
        escalation=esc,
        actor=request.user,
        summary=data.get("summary", ""),
        criteria_confirmed=data.get("criteria") or [],
        expected_version=data.get("version"),
    )
    return "Resolved. The raiser is asked to confirm."


def _act_close(request, esc):
    data = _clean(ReasonForm(request.POST))
    services.escalation_close(escalation=esc, actor=request.user, expected_version=data.get("version"))
    return "Closed. Thank you for confirming."


def _act_reopen(request, esc):
    data = _clean(ReasonForm(request.POST))
    services.escalation_reopen(
        escalation=esc,
        actor=request.user,
        reason=data.get("reason", ""),
        expected_version=data.get("version"),
    )
    return "Reopened: the owner has been told."


def _act_withdraw(request, esc):
    data = _clean(ReasonForm(request.POST))
    services.escalation_withdraw(
        escalation=esc,
        actor=request.user,
        reason=data.get("reason", ""),
        expected_version=data.get("version"),
    )
    return "Withdrawn. Every clock has stopped."


def _act_comment(request, esc):
    data = _clean(CommentForm(request.POST))
    update = bool(data.get("stakeholder_update"))
    services.escalation_comment(
        escalation=esc, actor=request.user, text=data.get("text", ""), stakeholder_update=update
    )
    return "Update sent to everyone involved." if update else "Comment added."


ACTIONS = {
    "acknowledge": _act_acknowledge,
    "hand_off": _act_hand_off,
    "escalate": _act_escalate,
    "de_escalate": _act_de_escalate,
    "resolve": _act_resolve,
    "close": _act_close,
    "reopen": _act_reopen,
    "withdraw": _act_withdraw,
    "comment": _act_comment,
}


@authenticated
@require_POST
def escalation_action(request, pk: int, action: str):
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    esc = selectors.get_escalation_for_user(request.user, pk)
    try:
        selectors.require_writer(request.user)
        message = handler(request, esc)
    except ValidationError as exc:
        name, form = _bound_form(request, esc, action)
        leftover = apply_errors(form, error_dict(exc))
        text = " ".join(m for msgs in leftover.values() for m in msgs)
        return _render_detail(
            request, esc, forms={name: form}, error=text or "Nothing was changed: see below.", status=400
        )
    except services.Conflict as exc:
        fresh = Escalation.objects.get(pk=esc.pk)
        return _render_detail(
            request, selectors.get_escalation_for_user(request.user, fresh.pk), error=str(exc), status=409
        )
    except PermissionDenied as exc:
        if not request.headers.get("HX-Request"):
            raise
        return _render_detail(request, esc, error=str(exc), status=403)
    messages.success(request, message)
    if request.headers.get("HX-Request"):
        return _render_detail(request, selectors.get_escalation_for_user(request.user, esc.pk))
    return redirect(reverse("escalations:detail", args=[esc.pk]) + "#timeline")


def _bound_form(request, esc: Escalation, action: str):
    """The submitted form again, to show its errors beside its fields."""
    if action == "hand_off":
        form = HandOffForm(request.POST, candidates=_hand_off_candidates(esc), auto_id=_ids(action))
    elif action in ("escalate", "de_escalate"):
        form = EscalateForm(request.POST, levels=esc.levels, auto_id=_ids(action))
    elif action == "resolve":
        form = ResolveForm(request.POST, escalation=esc, auto_id=_ids(action))
    elif action == "comment":
        form = CommentForm(request.POST, auto_id=_ids(action))
    else:
        form = ReasonForm(request.POST, auto_id=_ids("reason"))
        action = "reason"
    form.is_valid()
    return action, form
