"""Policies, services, calendars, maintenance windows and change freezes.

Everyone signed in reads them (people need to know where to escalate); governance admins
edit them through the services, which validate a policy as a whole and keep its history.
Views parse, authorise, call one service or selector and render: a refusal comes back as a
400 page with every problem beside the field or the part of the page it concerns, and
nothing saved.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap
from apps.common.errors import Conflict
from apps.common.forms import apply_errors, error_dict
from apps.common.moments import shown
from apps.common.pagination import paginate
from apps.policies import selectors
from apps.policies.filters import PolicyFilter
from apps.policies.forms import (
    CalendarChangeCancelForm,
    CalendarForm,
    ChangeFreezeForm,
    MaintenanceWindowForm,
    PolicyEditor,
    ReviewForm,
    default_period_start,
)
from apps.policies.models import (
    BusinessCalendar,
    CalendarChange,
    ChangeFreeze,
    EscalationPolicy,
    MaintenanceWindow,
)
from apps.policies.services import (
    calendar_change_cancel,
    calendar_change_schedule,
    calendar_save,
    policy_mark_reviewed,
    policy_problems,
    policy_save,
)
from apps.policies.tables import PolicyTable, ServiceTable
from apps.policies.windows import change_freeze_save, maintenance_window_save


def _can_edit(request) -> bool:
    return request.user.has_perm(Cap.EDIT_POLICIES.perm)


def _status(request) -> int:
    """A form page answers a POST that gets this far (it was refused) with a 400."""
    return 400 if request.method == "POST" else 200


def _posted(request):
    return request.POST if request.method == "POST" else None


# --- policies: reading ----------------------------------------------------------------------


@authenticated
def policy_list(request):
    """Search and filter every policy; the page costs the same queries at any size (tested)."""
    policy_filter = PolicyFilter(request.GET or None, queryset=selectors.policies_for_list())
    table = PolicyTable(policy_filter.qs)
    paginate(request, table, per_page=50, filters=policy_filter)
    context = {"filter": policy_filter, "table": table, "can_edit": _can_edit(request)}
    return render(request, "policies/list.html", context)


@authenticated
def policy_detail(request, pk: int):
    return _render_detail(request, _policy_or_404(selectors.policy_detail, pk), ReviewForm(), status=200)


def _policy_or_404(read, pk: int) -> EscalationPolicy:
    try:
        return read(pk)
    except EscalationPolicy.DoesNotExist:
        raise Http404("No such policy.") from None


def _render_detail(request, policy: EscalationPolicy, review_form: ReviewForm, status: int):
    context = {
        **selectors.policy_page(policy, timezone.now(), timezone.localdate()),
        "review_form": review_form,
        "history": selectors.policy_history_for(request.user, policy),
        "history_limit": selectors.HISTORY_LIMIT,
        "can_edit": _can_edit(request),
    }
    return render(request, "policies/detail.html", context, status=status)


@requires(Cap.EDIT_POLICIES)
@require_POST
def policy_review(request, pk: int):
    """Mark a policy reviewed: notes required; the next review falls one interval from today."""
    policy = _policy_or_404(selectors.policy_detail, pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            policy_mark_reviewed(policy=policy, actor=request.user, notes=form.cleaned_data["notes"])
        except ValidationError as exc:
            apply_errors(form, error_dict(exc), aliases={"change_reason": "notes"})
        else:
            messages.success(request, f"Marked “{policy.name}” reviewed.")
            return redirect("policies:detail", pk=policy.pk)
    return _render_detail(request, policy, form, status=400)


# --- policies: editing ----------------------------------------------------------------------


@requires(Cap.EDIT_POLICIES)
def policy_edit(request, pk: int | None = None):
    """The whole policy on one page: its fields, its level chain and its threshold matrix,
    saved together by ``services.policy_save`` or not at all."""
    policy = _policy_or_404(selectors.policy_for_edit, pk) if pk is not None else None
    editor = PolicyEditor(_posted(request), policy=policy)
    # The version the editor saw travels with the form; a save by someone else since is refused.
    version = request.POST.get("version") if editor.form.is_bound else selectors.policy_version(policy)
    problems: dict[str, list[str]] = {}
    if editor.form.is_bound:
        saved, problems = _save_policy(request, editor, version)
        if saved is not None:
            messages.success(request, f"Saved “{saved.name}”.")
            return redirect("policies:detail", pk=saved.pk)
    context = {
        **editor.context(problems),
        "version": version or "",
        "has_calendars": BusinessCalendar.objects.exists(),
    }
    return render(request, "policies/form.html", context, status=_status(request))


def _save_policy(request, editor: PolicyEditor, version: str | None) -> tuple[EscalationPolicy | None, dict]:
    """Check every part that parsed (so the page lists every problem at once), then save.

    Returns ``(saved policy, {})`` or ``(None, problems that belong to no form field)``; the
    field problems are put on the form."""
    parts = editor.parts()
    problems = policy_problems(policy=parts.target, levels=parts.levels, thresholds=parts.thresholds)
    if not problems and parts.complete:
        data = editor.form.cleaned_data
        try:
            return policy_save(
                policy=parts.target,
                levels=parts.levels,
                thresholds=parts.thresholds,
                services=list(data["services"]),
                actor=request.user,
                reason=data["change_reason"],
                seen_version=version or "",
            ), {}
        except ValidationError as exc:
            problems = error_dict(exc)
    return None, apply_errors(editor.form, problems)


# --- services -------------------------------------------------------------------------------


@authenticated
def service_list(request):
    """Which team owns each service (and initiates escalation when several are impacted)."""
    table = ServiceTable(selectors.services_for_list())
    paginate(request, table, per_page=100)
    return render(request, "policies/services.html", {"table": table})


# --- calendars ------------------------------------------------------------------------------


@authenticated
def calendar_list(request):
    context = {"rows": selectors.calendars_for_list(), "can_edit": _can_edit(request)}
    return render(request, "policies/calendars.html", context)


@authenticated
def calendar_detail(request, pk: int):
    calendar = get_object_or_404(BusinessCalendar.objects.prefetch_related("closures"), pk=pk)
    return _render_calendar(request, calendar)


def _render_calendar(request, calendar: BusinessCalendar, *, refused: dict | None = None, status: int = 200):
    context = {
        **selectors.calendar_page(calendar, request.user, timezone.localdate()),
        "can_edit": _can_edit(request),
        "refused": refused or {},
    }
    return render(request, "policies/calendar_detail.html", context, status=status)


@requires(Cap.EDIT_POLICIES)
def calendar_edit(request, pk: int | None = None):
    calendar = get_object_or_404(BusinessCalendar.objects.prefetch_related("closures"), pk=pk) if pk else None
    form = CalendarForm(_posted(request), initial=CalendarForm.initial_for(calendar))
    hours_errors: list[str] = []
    if form.is_bound:
        saved, hours_errors = _save_calendar(request, calendar, form)
        if isinstance(saved, CalendarChange):
            messages.success(
                request,
                f"Scheduled: the change to “{saved.calendar.name}” takes effect {shown(saved.effective_at)}.",
            )
            return redirect("policies:calendar", pk=saved.calendar_id)
        if saved is not None:
            messages.success(request, f"Saved calendar “{saved.name}”.")
            return redirect("policies:calendar", pk=saved.pk)
    context = {"calendar": calendar, "form": form, "hours": form.hours_rows(), "hours_errors": hours_errors}
    return render(request, "policies/calendar_form.html", context, status=_status(request))


@requires(Cap.EDIT_POLICIES)
@require_POST
def calendar_change_cancel_view(request, pk: int):
    """Withdraw a calendar change that has not taken effect (with a reason)."""
    change = get_object_or_404(CalendarChange.objects.select_related("calendar"), pk=pk)
    form = CalendarChangeCancelForm(request.POST)
    try:
        if not form.is_valid():  # a NUL byte or a megabyte never reaches the database
            raise ValidationError(form.errors["reason"])
        calendar_change_cancel(change=change, actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        return _render_calendar(
            request, change.calendar, refused={change.pk: " ".join(exc.messages)}, status=400
        )
    except Conflict as exc:
        messages.error(request, str(exc))
        return _render_calendar(request, change.calendar, status=409)
    messages.success(
        request, f"Cancelled: the change planned for {shown(change.effective_at)} will not happen."
    )
    return redirect("policies:calendar", pk=change.calendar_id)


def _save_calendar(request, calendar, form) -> tuple[BusinessCalendar | None, list[str]]:
    form_ok = form.is_valid()
    if set(form.errors) - {"change_reason"}:
        return None, []
    target = form.apply_to(BusinessCalendar.objects.get(pk=calendar.pk) if calendar else BusinessCalendar())
    try:
        if not form_ok:
            target.full_clean()  # show the calendar's own refusals beside a missing reason
            return None, []
        if form.cleaned_data.get("effective_at") and calendar is not None:
            change = calendar_change_schedule(
                calendar=calendar,
                target=target,
                closures=form.cleaned_data["closures"],
                effective_at=form.cleaned_data["effective_at"],
                actor=request.user,
                reason=form.cleaned_data["change_reason"],
            )
            return change, []
        saved = calendar_save(
            calendar=target,
            closures=form.cleaned_data["closures"],
            actor=request.user,
            reason=form.cleaned_data["change_reason"],
        )
        return saved, []
    except ValidationError as exc:
        leftover = apply_errors(form, error_dict(exc))
        return None, [m for messages_ in leftover.values() for m in messages_]


# --- maintenance windows and change freezes -------------------------------------------------


@authenticated
def maintenance_list(request):
    """Maintenance windows: escalation clocks due inside one that defers them wait for its end."""
    context = {
        "sections": selectors.periods(MaintenanceWindow, timezone.now(), "maintenance window"),
        "can_edit": _can_edit(request),
        "kind": "maintenance",
    }
    return render(request, "policies/maintenance.html", context)


@authenticated
def freeze_list(request):
    context = {
        "sections": selectors.periods(ChangeFreeze, timezone.now(), "change freeze"),
        "can_edit": _can_edit(request),
        "kind": "freeze",
        "now": timezone.now(),
    }
    return render(request, "policies/freezes.html", context)


@requires(Cap.EDIT_POLICIES)
def maintenance_new(request):
    return _period_new(request, MaintenanceWindowForm, maintenance_window_save, "window", "maintenance")


@requires(Cap.EDIT_POLICIES)
def freeze_new(request):
    return _period_new(request, ChangeFreezeForm, change_freeze_save, "freeze", "freeze")


def _period_new(request, form_class, save, keyword: str, kind: str):
    start = default_period_start()
    form = form_class(
        _posted(request),
        initial={
            "tz": timezone.get_current_timezone_name(),
            "starts_at": start,
            "ends_at": start + timedelta(hours=4),
        },
    )
    if form.is_bound and form.is_valid():
        try:
            saved = save(
                **{keyword: form.build()},
                services=list(form.cleaned_data["services"]),
                actor=request.user,
                reason=form.cleaned_data["change_reason"],
            )
        except ValidationError as exc:
            apply_errors(form, error_dict(exc))
        else:
            messages.success(request, f"Saved “{saved.name}”.")
            return redirect("policies:maintenance" if kind == "maintenance" else "policies:freezes")
    return render(request, "policies/period_form.html", {"form": form, "kind": kind}, status=_status(request))
