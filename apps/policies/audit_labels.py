"""Policies' action codes in words, and where policies and calendars live."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from apps.audit.labels import register_actions, register_target_urls

ACTIONS = {
    "policies.policy_created": ("Policy created", "{actor} created the policy {target}: {data[reason]}"),
    "policies.policy_changed": ("Policy changed", "{actor} changed the policy {target}: {data[reason]}"),
    "policies.policy_reviewed": ("Policy reviewed", "{actor} reviewed the policy {target}"),
    "policies.review_due": ("Policy review due", "The review of {target} fell due; {data[owner]} was told"),
    "policies.calendar_created": ("Calendar created", "{actor} created the business calendar {target}"),
    "policies.calendar_changed": ("Calendar changed", "{actor} changed the business calendar {target}"),
    "policies.maintenance_window_created": (
        "Maintenance planned",
        "{actor} planned the maintenance window {target}",
    ),
    "policies.maintenance_window_changed": (
        "Maintenance changed",
        "{actor} changed the maintenance window {target}",
    ),
    "policies.change_freeze_created": ("Change freeze set", "{actor} set the change freeze {target}"),
    "policies.change_freeze_changed": ("Change freeze changed", "{actor} changed the change freeze {target}"),
}


def _by_pk(url_name: str):
    def resolve(ids: list[str]) -> dict[str, str]:
        return {i: reverse(url_name, args=[int(i)]) for i in ids if i.isdigit()}

    return resolve


def _listed(url_name: str):
    def resolve(ids: list[str]) -> dict[str, str]:
        return {i: reverse(url_name) for i in ids}

    return resolve


def register() -> None:
    register_actions(ACTIONS)
    register_target_urls("policies.escalationpolicy", _by_pk("policies:detail"), label="Policy")
    register_target_urls("policies.businesscalendar", _by_pk("policies:calendar"), label="Business calendar")
    register_target_urls(
        "policies.maintenancewindow", _listed("policies:maintenance"), label="Maintenance window"
    )
    register_target_urls("policies.changefreeze", _listed("policies:freezes"), label="Change freeze")
    register_history()


# --- history sources (apps.audit.feed) ---------------------------------------------------------


def _oversight(user):
    from apps.contacts.selectors import oversight_of

    return oversight_of(user)


def _owned_by_teams(column: str):
    """A policy's rows belong to its owner's team: a manager reads their teams' policies."""

    def rule(user):
        from apps.contacts.models import Person
        from apps.policies.models import EscalationPolicy

        oversight = _oversight(user)
        if oversight.everything:
            return Q()
        if not oversight.any:
            return None
        owners = Person.objects.filter(team_id__in=oversight.team_ids).values("pk")
        if column == "owner_id":
            return Q(owner_id__in=owners)
        return Q(**{f"{column}__in": EscalationPolicy.objects.filter(owner_id__in=owners).values("pk")})

    return rule


def _everything_only(user):
    return Q() if _oversight(user).everything else None


def register_history() -> None:
    from django.db.models import F

    from apps.audit.feed import HistorySource, register_history_source
    from apps.policies import models

    detail = lambda pk: reverse("policies:detail", args=[pk])  # noqa: E731
    by_name = lambda: F("name")  # noqa: E731  (what each of these is called: its name)
    for source in (
        HistorySource(
            "policy",
            "Policy",
            models.EscalationPolicy,
            _owned_by_teams("owner_id"),
            url=detail,
            describe=lambda r: r.name,
            name=by_name,
        ),
        HistorySource(
            "level",
            "Policy level",
            models.EscalationLevel,
            _owned_by_teams("policy_id"),
            describe=lambda r: f"Level {r.order}: {r.name}",
        ),
        HistorySource(
            "threshold",
            "Response threshold",
            models.ResponseThreshold,
            _owned_by_teams("policy_id"),
            describe=lambda r: (
                f"{r.get_severity_display()} · {r.get_customer_tier_display()} threshold of policy #{r.policy_id}"
            ),
        ),
        HistorySource(
            "service", "Service", models.Service, _everything_only, describe=lambda r: r.name, name=by_name
        ),
        HistorySource(
            "calendar",
            "Business calendar",
            models.BusinessCalendar,
            _everything_only,
            url=lambda pk: reverse("policies:calendar", args=[pk]),
            describe=lambda r: r.name,
            name=by_name,
        ),
        HistorySource(
            "maintenance-window",
            "Maintenance window",
            models.MaintenanceWindow,
            _everything_only,
            describe=lambda r: r.name,
        ),
        HistorySource(
            "change-freeze",
            "Change freeze",
            models.ChangeFreeze,
            _everything_only,
            describe=lambda r: r.name,
            name=by_name,
        ),
        HistorySource(
            "governance-threshold",
            "Governance threshold",
            models.GovernanceThreshold,
            _everything_only,
            describe=lambda r: r.name,
        ),
    ):
        register_history_source(source)
