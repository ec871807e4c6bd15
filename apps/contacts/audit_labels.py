"""Contacts' action codes in words, and where people, teams and rotations live."""

from __future__ import annotations

from django.urls import reverse

from apps.audit.labels import register_actions, register_target_urls

ACTIONS = {
    "contacts.team_created": ("Team created", "{actor} created the team {target}"),
    "contacts.team_updated": ("Team changed", "{actor} changed the team {target}"),
    "contacts.person_created": ("Person added", "{actor} added {target}"),
    "contacts.person_updated": ("Person changed", "{actor} changed {target}"),
    "contacts.contact_methods_changed": ("Contact methods changed", "{actor} changed how to reach {target}"),
    "contacts.backup_assigned": ("Backup assigned", "{actor} made {data[backup]} the backup of {target}"),
    "contacts.rotation_created": ("Rotation created", "{actor} created the rotation {target}"),
    "contacts.rotation_changed": ("Rotation changed", "{actor} changed the rotation {target}"),
    "contacts.rotation_override_added": (
        "On-call override",
        "{actor} put {data[person]} on call for {target}",
    ),
    "contacts.imported": ("People imported", "{actor} imported people from {data[filename]}"),
}
READS = {"contacts.exported": ("Exported people", "{actor} exported the people list as CSV")}


def _urls(model_name: str, url_name: str, key: str = "pk"):
    def resolve(ids: list[str]) -> dict[str, str]:
        from apps.contacts import models

        model = getattr(models, model_name)
        if key == "pk":
            return {i: reverse(url_name, args=[int(i)]) for i in ids if i.isdigit()}
        pairs = model.objects.filter(pk__in=[int(i) for i in ids if i.isdigit()]).values_list("pk", key)
        return {str(pk): reverse(url_name, args=[value]) for pk, value in pairs}

    return resolve


def register() -> None:
    register_actions(ACTIONS)
    register_actions(READS, read=True)
    register_target_urls("contacts.person", _urls("Person", "contacts:person"), label="Person")
    register_target_urls("contacts.team", _urls("Team", "contacts:team", "slug"), label="Team")
    register_target_urls("contacts.rotation", _urls("Rotation", "contacts:rotation"), label="Rotation")
