"""Policies' action codes in words, and where policies and calendars live."""

from __future__ import annotations

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
