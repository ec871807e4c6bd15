"""Policies, services, calendars, maintenance windows and change freezes.

Everyone signed in reads them (people need to know where to escalate); governance admins
edit them through the services, which validate a policy as a whole and keep its history.
Views parse, authorise, call one service and render: a refusal comes back as a 400 page with
every problem beside the field or the part of the page it concerns, and nothing saved.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import holidays as holidays_lib
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap, Role
from apps.audit.diffs import format_duration, history_entries, merge_entries
from apps.common.forms import apply_errors, error_dict
from apps.common.pagination import paginate
from apps.contacts.models import Person, Rotation, Team
from apps.contacts.selectors import (
    Unreachable,
    on_call,
    on_call_rotation,
    oversight_of,
    rotations_prefetched,
)
from apps.policies import selectors
from apps.policies.calendar import WEEKDAY_NAMES, parse_weekly
from apps.policies.filters import PolicyFilter
from apps.policies.forms import (
    CalendarForm,
    ChangeFreezeForm,
    LevelForm,
    MaintenanceWindowForm,
    PolicyForm,
    ReviewForm,
    ThresholdFormSet,
    default_period_start,
    hours_field_name,
    level_formset,
    threshold_initial,
)
from apps.policies.models import (
    BusinessCalendar,
    CalendarClosure,
    ChangeFreeze,
    CustomerTier,
    EscalationLevel,
    EscalationPolicy,
    MaintenanceWindow,
    ResponseThreshold,
    Service,
    Severity,
)
from apps.policies.services import (
    calendar_save,
    policy_mark_reviewed,
    policy_save,
    validate_levels,
    validate_thresholds,
)
from apps.policies.tables import PolicyTable, ServiceTable
from apps.policies.windows import change_freeze_save, maintenance_window_save

HISTORY_LIMIT = 50
ROLE_LABELS = {r.value: r.label for r in Role}


def _can_edit(request) -> bool:
    return request.user.has_perm(Cap.EDIT_POLICIES.perm)


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
    return _render_detail(request, _policy_or_404(pk), ReviewForm(), status=200)


def _policy_or_404(pk: int) -> EscalationPolicy:
    try:
        return selectors.policy_detail(pk)
    except EscalationPolicy.DoesNotExist:
        raise Http404("No such policy.") from None


def _render_detail(request, policy: EscalationPolicy, review_form: ReviewForm, status: int):
    now = timezone.now()
    today = timezone.localdate()
    problems = dict((level.pk, probs) for level, probs in selectors.policy_reachability(policy, now))
    context = {
        "policy": policy,
        "levels": [_level_row(level, now, problems.get(level.pk, [])) for level in policy.levels.all()],
        "reachability": [
            f"Level {level.order} ({level.name}): {problem}"
            for level in policy.levels.all()
            for problem in problems.get(level.pk, [])
        ],
        "matrix": _threshold_matrix(policy.thresholds.all()),
        "tiers": CustomerTier.labels,
        "calendar": _calendar_summary(policy.calendar, today),
        "services": list(policy.services.all()),
        "overdue": policy.active and policy.next_review_on <= today,
        "review_form": review_form,
        "history": policy_history(policy)
        if oversight_of(request.user).covers_team(policy.owner.team_id)
        else None,
        "history_limit": HISTORY_LIMIT,
        "can_edit": _can_edit(request),
        "now": now,
    }
    return render(request, "policies/detail.html", context, status=status)


def _level_row(level: EscalationLevel, now: datetime, problems: list[Unreachable]) -> dict:
    """Who the level reaches right now: the named person, or whoever holds the rotation."""
    if level.target_kind == "person":
        holder = level.target_person
    elif level.target_kind == "team_on_call":
        holder = on_call(level.target_team, now) if level.target_team else None
    else:
        holder = on_call_rotation(level.target_rotation, now) if level.target_rotation else None
    return {
        "level": level,
        "target": level.target,
        "now": holder,
        "timeout": format_duration(level.approval_timeout),
        "trigger_roles": [ROLE_LABELS.get(r, r) for r in level.trigger_roles or []],
        "problems": problems,
    }


def _threshold_matrix(thresholds) -> list[dict]:
    cells = {(t.severity, t.customer_tier): t for t in thresholds}
    return [
        {
            "severity": sev,
            "cells": [_threshold_cell(cells.get((sev.value, tier.value))) for tier in CustomerTier],
        }
        for sev in Severity
    ]


def _threshold_cell(threshold: ResponseThreshold | None) -> dict | None:
    if threshold is None:
        return None
    return {
        "ack": format_duration(threshold.acknowledge_within),
        "resolve": format_duration(threshold.resolve_within),
        "business_hours_only": threshold.business_hours_only,
    }


def _extra_fields_text(fields: list) -> str:
    return "; ".join(" | ".join(filter(None, [f.get("name"), f.get("label"), f.get("help")])) for f in fields)


def policy_history(policy: EscalationPolicy) -> list[dict]:
    """The policy, its levels and its thresholds as one history, newest first.

    Levels and thresholds are read from their own history tables by policy, so a removed
    level's past still shows."""
    severity, tier = dict(Severity.choices), dict(CustomerTier.choices)
    return merge_entries(
        history_entries(
            EscalationPolicy.history.filter(id=policy.pk),
            HISTORY_LIMIT,
            label=lambda r: "Policy",
            formatters={"extra_required_fields": _extra_fields_text},
            show_created=True,
        ),
        history_entries(
            EscalationLevel.history.filter(policy_id=policy.pk),
            HISTORY_LIMIT,
            label=lambda r: f"Level {r.order} · {r.name}",
            formatters={"trigger_roles": lambda roles: ", ".join(ROLE_LABELS.get(x, x) for x in roles)},
            exclude=["policy"],
            show_created=True,
        ),
        history_entries(
            ResponseThreshold.history.filter(policy_id=policy.pk),
            HISTORY_LIMIT,
            label=lambda r: (
                f"Threshold {severity.get(r.severity, r.severity)} × {tier.get(r.customer_tier, r.customer_tier)}"
            ),
            exclude=["policy", "severity", "customer_tier"],
            show_created=True,
        ),
        limit=HISTORY_LIMIT,
    )


@requires(Cap.EDIT_POLICIES)
@require_POST
def policy_review(request, pk: int):
    """Mark a policy reviewed: notes required; the next review falls one interval from today."""
    policy = _policy_or_404(pk)
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
    policy = None
    if pk is not None:
        policy = get_object_or_404(
            EscalationPolicy.objects.prefetch_related(
                "services",
                "thresholds",
                Prefetch("levels", queryset=EscalationLevel.objects.order_by("order")),
            ),
            pk=pk,
        )
    data = request.POST if request.method == "POST" else None
    form = PolicyForm(data, initial=PolicyForm.initial_for(policy) if policy else None)
    levels = level_formset(new=policy is None)(
        data,
        initial=[LevelForm.initial_for(level) for level in policy.levels.all()] if policy else [],
        prefix="levels",
        form_kwargs={"target_choices": _target_choices()},
    )
    thresholds = ThresholdFormSet(data, initial=threshold_initial(policy), prefix="thresholds")
    version = request.POST.get("version") if data else _policy_version(policy)
    problems: dict[str, list[str]] = {}
    if data is not None:
        saved, problems = _save_policy(request, policy, form, levels, thresholds, version)
        if saved is not None:
            messages.success(request, f"Saved “{saved.name}”.")
            return redirect("policies:detail", pk=saved.pk)
    level_errors, threshold_errors = problems.pop("levels", []), problems.pop("thresholds", [])
    context = {
        "policy": policy,
        "form": form,
        "levels": levels,
        "thresholds": thresholds,
        "grid": thresholds.grid(),
        "level_errors": level_errors,
        "threshold_errors": threshold_errors,
        "other_errors": [m for messages_ in problems.values() for m in messages_],
        "parts_invalid": data is not None
        and bool(
            level_errors or threshold_errors or levels.total_error_count() or thresholds.total_error_count()
        ),
        "version": version or "",
        "has_calendars": BusinessCalendar.objects.exists(),
    }
    return render(request, "policies/form.html", context, status=400 if data is not None else 200)


def _target_choices() -> dict[str, list[tuple[int, str]]]:
    """Select options for level targets, three queries for the whole formset. People without
    a contact method are marked: a level pointing at one is refused as unreachable."""
    people = Person.objects.annotate(methods=Count("contact_methods")).order_by("full_name")
    return {
        "target_person": [
            (
                p.pk,
                f"{p.full_name} — {p.title} (authority {p.authority_rank})"
                + ("" if p.methods else " — no contact method"),
            )
            for p in people
        ],
        "target_team": list(Team.objects.order_by("name").values_list("pk", "name")),
        "target_rotation": [
            (r.pk, f"{r.team.name}: {r.name}")
            for r in Rotation.objects.select_related("team").order_by("team__name", "name")
        ],
    }


def _targets(ids: dict[str, set[int]]) -> dict[str, dict]:
    """The chosen targets, prefetched the way the reachability checks read them."""
    return {
        "target_person": Person.objects.prefetch_related("contact_methods").in_bulk(ids["target_person"]),
        "target_team": Team.objects.in_bulk(ids["target_team"]),
        "target_rotation": rotations_prefetched()
        .prefetch_related("members__person__contact_methods")
        .in_bulk(ids["target_rotation"]),
    }


def _policy_version(policy: EscalationPolicy | None) -> str:
    """The policy's newest history id: every ``policy_save`` writes one, so a different value
    at save time means someone else saved the policy since this page was opened."""
    if policy is None:
        return ""
    latest = (
        EscalationPolicy.history.filter(id=policy.pk)
        .order_by("-history_id")
        .values_list("history_id", flat=True)
    )
    return str(latest.first() or "")


def _save_policy(request, policy, form, levels, thresholds, version) -> tuple[EscalationPolicy | None, dict]:
    """Check every part that parsed (so the page lists every problem at once), then save.

    Returns ``(saved policy, {})`` or ``(None, problems that belong to no form field)``; the
    field problems are already on ``form``."""
    form_ok, levels_ok, thresholds_ok = form.is_valid(), levels.is_valid(), thresholds.is_valid()
    problems: dict[str, list[str]] = {}
    level_specs = levels.specs(_targets(levels.target_ids())) if levels_ok else []
    threshold_specs = thresholds.specs() if thresholds_ok else []
    checks = []
    if levels_ok:
        checks.append(lambda: validate_levels(level_specs))
    if thresholds_ok:
        checks.append(lambda: validate_thresholds(threshold_specs))
    target = None
    if not set(form.errors) - {"change_reason"}:
        # A fresh instance: a refused save must not leave the page's copy half-changed.
        target = form.apply_to(EscalationPolicy.objects.get(pk=policy.pk) if policy else EscalationPolicy())
        checks.append(target.full_clean)
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for key, messages_ in error_dict(exc).items():
                problems.setdefault(key, []).extend(messages_)
    if not problems and form_ok and levels_ok and thresholds_ok:
        try:
            return _save_checked(request, policy, target, form, level_specs, threshold_specs, version), {}
        except ValidationError as exc:
            problems = error_dict(exc)
    return None, apply_errors(form, problems)


@transaction.atomic
def _save_checked(request, policy, target, form, level_specs, threshold_specs, version) -> EscalationPolicy:
    if policy is not None:
        # Lock, then compare versions: two admins saving at once are serialised, and the
        # second is told instead of silently overwriting the first.
        EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
        if version != _policy_version(policy):
            raise ValidationError(
                "Someone else saved this policy after you opened it. Open it again to see their "
                "change, then make yours."
            )
    return policy_save(
        policy=target,
        levels=level_specs,
        thresholds=threshold_specs,
        services=list(form.cleaned_data["services"]),
        actor=request.user,
        reason=form.cleaned_data["change_reason"],
    )


# --- services -------------------------------------------------------------------------------


@authenticated
def service_list(request):
    """Which team owns each service (and initiates escalation when several are impacted)."""
    queryset = Service.objects.select_related("owner_team").prefetch_related(
        "supporting_teams", Prefetch("policies", queryset=EscalationPolicy.objects.order_by("name"))
    )
    table = ServiceTable(queryset)
    paginate(request, table, per_page=100)
    return render(request, "policies/services.html", {"table": table})


# --- calendars ------------------------------------------------------------------------------


@authenticated
def calendar_list(request):
    calendars = BusinessCalendar.objects.annotate(
        policy_count=Count("policies", distinct=True), closure_count=Count("closures", distinct=True)
    ).order_by("name")
    rows = [{"calendar": c, "hours": hours_summary(c)} for c in calendars]
    return render(request, "policies/calendars.html", {"rows": rows, "can_edit": _can_edit(request)})


@authenticated
def calendar_detail(request, pk: int):
    calendar = get_object_or_404(BusinessCalendar.objects.prefetch_related("closures"), pk=pk)
    today = timezone.localdate()
    history = None if not oversight_of(request.user).everything else merge_entries(
        history_entries(
            BusinessCalendar.history.filter(id=pk),
            HISTORY_LIMIT,
            label=lambda r: "Calendar",
            formatters={"weekly_hours": weekly_text},
            show_created=True,
        ),
        history_entries(
            CalendarClosure.history.filter(calendar_id=pk),
            HISTORY_LIMIT,
            label=lambda r: f"Closure {r.date:%Y-%m-%d}",
            exclude=["calendar"],
            show_created=True,
        ),
        limit=HISTORY_LIMIT,
    )
    context = {
        "calendar": calendar,
        "summary": _calendar_summary(calendar, today),
        "policies": calendar.policies.order_by("name"),
        "history": history,
        "history_limit": HISTORY_LIMIT,
        "can_edit": _can_edit(request),
    }
    return render(request, "policies/calendar_detail.html", context)


def hours_summary(calendar: BusinessCalendar) -> str:
    """“Mon–Fri 09:00–17:30”: consecutive days with the same hours grouped."""
    return "24x7" if calendar.always_open else weekly_text(calendar.weekly_hours)


def weekly_text(weekly_hours: dict) -> str:
    try:
        weekly = parse_weekly(weekly_hours or {})
    except (ValueError, TypeError):
        return "invalid hours"
    groups: list[list] = []
    for day in range(7):
        spans = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in weekly.get(day, ()))
        if groups and groups[-1][2] == spans and groups[-1][1] == day - 1:
            groups[-1][1] = day
        else:
            groups.append([day, day, spans])
    short = [d[:3] for d in WEEKDAY_NAMES]
    parts = [f"{short[a]}{'–' + short[b] if b != a else ''} {spans}" for a, b, spans in groups if spans]
    return "; ".join(parts) or "no working hours"


def _calendar_summary(calendar: BusinessCalendar, today) -> dict:
    """Hours by weekday, the next public holidays and the coming closures (closures prefetched)."""
    try:
        weekly = parse_weekly(calendar.weekly_hours or {})
    except (ValueError, TypeError):
        weekly = {}
    days = [
        {"day": name, "spans": [f"{a:%H:%M}–{b:%H:%M}" for a, b in weekly.get(i, ())]}
        for i, name in enumerate(WEEKDAY_NAMES)
    ]
    closures = sorted(calendar.closures.all(), key=lambda c: c.date)
    return {
        "days": days,
        "hours": hours_summary(calendar),
        "holidays": upcoming_holidays(calendar, today),
        "closures": [c for c in closures if c.date >= today],
        "past_closures": len([c for c in closures if c.date < today]),
    }


def upcoming_holidays(calendar: BusinessCalendar, today, count: int = 8) -> list[tuple]:
    if not calendar.holiday_country:
        return []
    try:
        found = holidays_lib.country_holidays(
            calendar.holiday_country,
            subdiv=calendar.holiday_subdivision or None,
            years=[today.year, today.year + 1],
        )
    except NotImplementedError:
        return []
    return sorted((day, name) for day, name in found.items() if day >= today)[:count]


@requires(Cap.EDIT_POLICIES)
def calendar_edit(request, pk: int | None = None):
    calendar = get_object_or_404(BusinessCalendar.objects.prefetch_related("closures"), pk=pk) if pk else None
    if calendar is not None:
        initial = CalendarForm.initial_for(calendar)
    else:
        initial = {"timezone": "UTC"}
        for day in range(5):  # a new calendar starts as office hours, Monday to Friday
            initial[hours_field_name(day, 1, "start")] = "09:00"
            initial[hours_field_name(day, 1, "end")] = "17:00"
    data = request.POST if request.method == "POST" else None
    form = CalendarForm(data, initial=initial)
    hours_errors: list[str] = []
    if data is not None:
        saved, hours_errors = _save_calendar(request, calendar, form)
        if saved is not None:
            messages.success(request, f"Saved calendar “{saved.name}”.")
            return redirect("policies:calendar", pk=saved.pk)
    context = {"calendar": calendar, "form": form, "hours": form.hours_rows(), "hours_errors": hours_errors}
    return render(request, "policies/calendar_form.html", context, status=400 if data is not None else 200)


def _save_calendar(request, calendar, form) -> tuple[BusinessCalendar | None, list[str]]:
    form_ok = form.is_valid()
    if set(form.errors) - {"change_reason"}:
        return None, []
    target = form.apply_to(BusinessCalendar.objects.get(pk=calendar.pk) if calendar else BusinessCalendar())
    try:
        if not form_ok:
            target.full_clean()  # show the calendar's own refusals beside a missing reason
            return None, []
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


def _periods(model, now: datetime, noun: str) -> list[tuple[str, list, str]]:
    """Current and coming periods (all of them), then the twenty most recent past ones."""
    queryset = model.objects.prefetch_related(Prefetch("services", queryset=Service.objects.order_by("name")))
    return [
        (
            "In progress",
            list(queryset.filter(starts_at__lte=now, ends_at__gt=now).order_by("ends_at")),
            f"No {noun} now.",
        ),
        ("Coming", list(queryset.filter(starts_at__gt=now).order_by("starts_at")), f"No {noun} planned."),
        ("Recently ended", list(queryset.filter(ends_at__lte=now).order_by("-ends_at")[:20]), "None."),
    ]


@authenticated
def maintenance_list(request):
    """Maintenance windows: escalation clocks due inside one that defers them wait for its end."""
    context = {
        "sections": _periods(MaintenanceWindow, timezone.now(), "maintenance window"),
        "can_edit": _can_edit(request),
        "kind": "maintenance",
    }
    return render(request, "policies/maintenance.html", context)


@authenticated
def freeze_list(request):
    context = {
        "sections": _periods(ChangeFreeze, timezone.now(), "change freeze"),
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
    data = request.POST if request.method == "POST" else None
    form = form_class(data, initial={"tz": "UTC", "starts_at": start, "ends_at": start + timedelta(hours=4)})
    if data is not None and form.is_valid():
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
    template = "policies/period_form.html"
    context = {"form": form, "kind": kind}
    return render(request, template, context, status=400 if data is not None else 200)
