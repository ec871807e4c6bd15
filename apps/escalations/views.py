"""Escalation pages: thin. Parse, authorise (selectors decide visibility), call one service,
then redirect, or render the escalation's panel again for htmx.

A refused action changes nothing and says why: bad input comes back beside its field (400),
an action the user may not take is 403, a stale form or a colleague who acted first is 409
with what happened in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap
from apps.common.errors import Conflict
from apps.common.forms import apply_errors, error_dict
from apps.common.keyset import NEWEST_FIRST_WAY, KeysetPage, Way, keyset_pages
from apps.common.pagination import refused_filters
from apps.common.params import InvalidParameter
from apps.escalations import selectors, services
from apps.escalations.filters import EscalationFilter
from apps.escalations.forms import CommentForm, EscalateForm, HandOffForm, RaiseForm, ReasonForm, ResolveForm
from apps.escalations.models import Escalation
from apps.escalations.tables import EscalationTable
from apps.exports.respond import export_response
from apps.policies.models import Category
from apps.policies.selectors import policy_contacts, policy_for

PER_PAGE = 50


@authenticated
def dashboard(request):
    board = selectors.dashboard(request.user)
    return render(
        request,
        "escalations/dashboard.html",
        {"board": board, "can_raise": request.user.has_perm(Cap.RAISE_ESCALATION.perm)},
    )


WAYS = {  # the words of each of the list's orders (``selectors.LIST_ORDERS``)
    "-raised_at": NEWEST_FIRST_WAY,
    "raised_at": Way("Oldest first", "Oldest first, from {} on", "Newer", "Older", "Oldest"),
    "next_due_at": Way(
        "Next deadline first, then those with no clock running",
        "Next deadline first, from {} on",
        "Later deadlines",
        "Sooner deadlines",
        "Soonest",
    ),
    "-next_due_at": Way(
        "Latest deadline first, then those with no clock running",
        "Latest deadline first, from {} back",
        "Sooner deadlines",
        "Later deadlines",
        "Latest",
    ),
}


@authenticated
def escalation_list(request):
    """Every escalation the user may see, filtered, a page of 50 by keyset in the chosen order
    (``Older``/``Newer``, or go to a date): every page costs the same few index range scans at a
    thousand escalations or a million (issue 13). Never counts the table."""
    if request.GET.get("export") == "csv":
        return _export_csv(request)
    esc_filter = EscalationFilter(request.GET or None, queryset=selectors.for_list(request.user))
    refused = refused_filters(request, esc_filter)  # said beside each field; no rows rather than wrong rows
    refusal, page, sort = None, KeysetPage([], None, None), selectors.LIST_ORDER
    if not refused:
        try:
            sort = selectors.list_order(request.GET.get("sort", ""))
            page = selectors.list_page(esc_filter.qs, request.GET, sort=sort, size=PER_PAGE)
        except InvalidParameter as exc:
            refusal, refused = exc, True
    table = EscalationTable(page.rows)
    table.sorted_as(sort)
    context = {
        "filter": esc_filter,
        "table": table,
        "sort": "" if sort == selectors.LIST_ORDER else sort,
        **keyset_pages(request.GET, page, refusal=refusal, way=WAYS[sort]),
    }
    return render(request, "escalations/list.html", context, status=400 if refused else 200)


def _export_csv(request):
    """Streamed with a trailer line (100,000 rows never sit in memory), or a job with a page of
    its own when too long for the web timeout (``apps.exports``); audited either way."""
    return export_response(
        request,
        kind_key="escalations",
        audit_action="escalations.exported",
        audit_data={"filters": {k: v for k, v in request.GET.items() if k != "export"}},
    )


@requires(Cap.RAISE_ESCALATION)
def escalation_raise(request):
    """Choose the kind of risk and the service, then the form the covering policy asks for. htmx
    re-renders the form as the choice changes; without JavaScript, "Continue" does the same (a
    POST, so the form's token never lands in the address bar or the history)."""
    choosing = request.method == "GET" or "continue" in request.POST
    data = (request.GET or None) if request.method == "GET" else request.POST
    form = _raise_form(data)
    status = 200
    if not choosing:
        try:
            esc = services.escalation_raise(actor=request.user, **_clean_raise(form))
        except ValidationError as exc:
            for messages_ in apply_errors(form, error_dict(exc)).values():
                form.add_error(None, messages_)
            status = 400
        else:
            owner = esc.owner.full_name if esc.owner else "Nobody"
            messages.success(
                request, f"{esc.reference} raised. {owner} has been told, and the clock is running."
            )
            return redirect("escalations:detail", pk=esc.pk)
    elif data is not None:
        _choice_errors(form, pressed_continue="continue" in (data or {}))
    return _render_raise(request, form, status)


def _choice_errors(form: RaiseForm, *, pressed_continue: bool) -> None:
    """Choosing is not submitting: no errors yet, unless "Continue" was pressed with nothing
    chosen, which says what to choose."""
    form.errors.clear()
    if pressed_continue and not form.cleaned_data.get("category"):
        form.add_error("category", "Choose the kind of risk first: the policy for it decides the rest.")


def _render_raise(request, form: RaiseForm, status: int):
    context = _raise_context(form)
    if not request.headers.get("HX-Request"):
        return render(request, "escalations/raise.html", context, status=status)
    response = render(request, "escalations/_raise_form.html", context, status=status)
    # The address names the choice only: what was typed (and the form's token) stays out of it.
    chosen = {
        k: v for k, v in (("service", form.data.get("service")), ("category", form.data.get("category"))) if v
    }
    response["HX-Push-Url"] = reverse("escalations:raise") + (f"?{urlencode(chosen)}" if chosen else "")
    return response


def _raise_form(data) -> RaiseForm:
    """The raise form for the policy that covers the chosen service and category (if any)."""
    probe = RaiseForm(data or {})
    probe.is_valid()
    service, category = probe.cleaned_data.get("service"), probe.cleaned_data.get("category")
    return RaiseForm(data, policy=policy_for(service, category) if category else None)


def _clean_raise(form: RaiseForm) -> dict:
    _clean(form)  # a field that does not parse (a bad date) is a 400 beside it
    return form.service_fields()


def _raise_context(form: RaiseForm) -> dict:
    chosen = form.cleaned_data if form.is_bound else {}  # validated by now, when bound
    service, category = chosen.get("service"), chosen.get("category")
    return {
        "form": form,
        "policy": form.policy,
        "service": service,
        "category": category,
        "chosen": bool(category and (service or form.policy)),
        "category_label": dict(Category.choices).get(category, ""),
        "contacts": policy_contacts() if category and not form.policy else [],
    }


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
        "gate": selectors.gate_status(esc, request.user),
        "clock_zone": selectors.clock_zone(esc),
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
            initial=initial, candidates=selectors.owner_candidates(esc), auto_id=_ids("hand_off")
        )
    if actions.escalate_to:
        forms["escalate"] = EscalateForm(
            initial=initial,
            levels=actions.escalate_to,
            raiser=esc.raiser_id == request.user.pk,
            auto_id=_ids("escalate"),
        )
    if actions.de_escalate_to:
        forms["de_escalate"] = EscalateForm(
            initial=initial, levels=actions.de_escalate_to, auto_id=_ids("de_escalate")
        )
    if actions.resolve:
        forms["resolve"] = ResolveForm(initial=initial, escalation=esc, auto_id=_ids("resolve"))
    return forms


# --- actions ----------------------------------------------------------------------------------


def _clean(form) -> dict:
    """The form's data once it is valid. A form that does not parse (a level that is not a
    number, a stale version that is not one) never reaches a service: it is a 400 beside
    its field, and nothing changes."""
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.cleaned_data


def escalation_verb(form_key: str, bind: Callable):
    """The shape of every action on the escalation page, one view per verb: the escalation
    only for someone who may see it (404), never for a read-only role (403); the verb's form
    (``bind(request, esc)``) validated before the service; a refusal is the page, or the htmx
    panel, again with the reason beside the field (400), in words (403), or with what changed
    meanwhile (409), and nothing written."""

    def decorator(act: Callable[[object, Escalation, dict], str]):
        @wraps(act)
        def view(request, pk: int):
            esc = selectors.get_escalation_for_user(request.user, pk)
            form = bind(request, esc)
            try:
                selectors.require_writer(request.user)
                message = act(request, esc, _clean(form))
            except ValidationError as exc:
                leftover = apply_errors(form, error_dict(exc))
                text = " ".join(m for msgs in leftover.values() for m in msgs) or "See below."
                return _render_detail(request, esc, forms={form_key: form}, error=text, status=400)
            except Conflict as exc:
                fresh = selectors.get_escalation_for_user(request.user, esc.pk)
                return _render_detail(request, fresh, error=str(exc), status=409)
            except PermissionDenied as exc:
                if not request.headers.get("HX-Request"):
                    raise
                return _render_detail(request, esc, error=str(exc), status=403)
            return _done(request, esc, message)

        return authenticated(require_POST(view))

    return decorator


def _done(request, esc: Escalation, message: str):
    messages.success(request, message)
    if request.headers.get("HX-Request"):
        return _render_detail(request, selectors.get_escalation_for_user(request.user, esc.pk))
    return redirect(reverse("escalations:detail", args=[esc.pk]) + "#timeline")


def _reason_form(request, esc):
    return ReasonForm(request.POST, auto_id=_ids("reason"))


def _escalate_form(name: str):
    return lambda request, esc: EscalateForm(
        request.POST, levels=esc.levels, raiser=esc.raiser_id == request.user.pk, auto_id=_ids(name)
    )


@escalation_verb("reason", _reason_form)
def acknowledge(request, esc, data) -> str:
    services.escalation_acknowledge(escalation=esc, actor=request.user, expected_version=data["version"])
    return "Acknowledged: you own it. The resolve clock keeps running."


@escalation_verb("reason", _reason_form)
def take_ownership(request, esc, data) -> str:
    services.escalation_take_ownership(escalation=esc, actor=request.user, expected_version=data["version"])
    return "You own it now; whoever worked on it before stays on as a responder."


@escalation_verb(
    "hand_off",
    lambda request, esc: HandOffForm(
        request.POST, candidates=selectors.owner_candidates(esc), auto_id=_ids("hand_off")
    ),
)
def hand_off(request, esc, data) -> str:
    services.escalation_hand_off(
        escalation=esc,
        actor=request.user,
        to_person=data["to_person"],
        context_summary=data["context_summary"],
        expected_version=data["version"],
    )
    return f"{data['to_person'].full_name} owns it now."


@escalation_verb("escalate", _escalate_form("escalate"))
def escalate(request, esc, data) -> str:
    services.escalation_escalate(
        escalation=esc,
        actor=request.user,
        reason=data["reason"],
        to_level=data["to_level"],
        manager_conflicted=data.get("manager_conflicted", False),
        expected_version=data["version"],
    )
    gate = selectors.gate_status(Escalation.objects.get(pk=esc.pk), request.user)
    if gate.waiting_for:
        # The page's banner says until when, in the reader's zone; saying it here too repeated it.
        return f"Asked for {gate.waiting_for}'s approval."
    return "Escalated."


@escalation_verb("de_escalate", _escalate_form("de_escalate"))
def de_escalate(request, esc, data) -> str:
    services.escalation_de_escalate(
        escalation=esc,
        actor=request.user,
        to_level=data["to_level"] or 0,
        reason=data["reason"],
        expected_version=data["version"],
    )
    return "De-escalated."


@escalation_verb(
    "resolve", lambda request, esc: ResolveForm(request.POST, escalation=esc, auto_id=_ids("resolve"))
)
def resolve(request, esc, data) -> str:
    services.escalation_resolve(
        escalation=esc,
        actor=request.user,
        summary=data["summary"],
        criteria_confirmed=data["criteria"],
        expected_version=data["version"],
    )
    return "Resolved. The raiser is asked to confirm."


@escalation_verb("reason", _reason_form)
def close(request, esc, data) -> str:
    services.escalation_close(escalation=esc, actor=request.user, expected_version=data["version"])
    return "Closed. Thank you for confirming."


@escalation_verb("reason", _reason_form)
def reopen(request, esc, data) -> str:
    services.escalation_reopen(
        escalation=esc, actor=request.user, reason=data["reason"], expected_version=data["version"]
    )
    return "Reopened: the owner has been told."


@escalation_verb("reason", _reason_form)
def withdraw(request, esc, data) -> str:
    services.escalation_withdraw(
        escalation=esc, actor=request.user, reason=data["reason"], expected_version=data["version"]
    )
    return "Withdrawn. Every clock has stopped."


@escalation_verb("comment", lambda request, esc: CommentForm(request.POST, auto_id=_ids("comment")))
def comment(request, esc, data) -> str:
    update = bool(data["stakeholder_update"])
    services.escalation_comment(
        escalation=esc, actor=request.user, text=data["text"], stakeholder_update=update
    )
    return "Update sent to everyone involved." if update else "Comment added."


# The verbs of the escalation page, in the order its panel offers them (urls.py, the URL walk).
VERBS = (
    acknowledge,
    take_ownership,
    hand_off,
    escalate,
    de_escalate,
    resolve,
    close,
    reopen,
    withdraw,
    comment,
)
