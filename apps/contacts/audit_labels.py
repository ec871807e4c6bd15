"""Contacts' action codes in words, and where people, teams and rotations live."""

from __future__ import annotations

from django.db.models import Q
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
    register_history()


# --- history sources (apps.audit.feed) ---------------------------------------------------------


def _team_rule(column: str):
    """Everything for auditors and governance admins; a manager's teams' rows; else none."""

    def rule(user):
        from apps.contacts.selectors import oversight_of

        oversight = oversight_of(user)
        if oversight.everything:
            return Q()
        if not oversight.any:
            return None
        return Q(**{f"{column}__in": oversight.team_ids})

    return rule


def _person_rule(user):
    from apps.contacts.models import Person
    from apps.contacts.selectors import oversight_of

    oversight = oversight_of(user)
    if oversight.everything:
        return Q()
    if not oversight.any:
        return None
    return Q(person_id__in=Person.objects.filter(team_id__in=oversight.team_ids).values("pk"))


def _everything_only(user):
    from apps.contacts.selectors import oversight_of

    return Q() if oversight_of(user).everything else None


def _user_name():
    """``User.__str__``: the full name, else the username."""
    from django.db.models import F, Value
    from django.db.models.functions import Coalesce, Concat, NullIf, Trim

    full = Trim(Concat(F("first_name"), Value(" "), F("last_name")))
    return Coalesce(NullIf(full, Value("")), F("username"))


def register_history() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models import F, Value
    from django.db.models.functions import Concat

    from apps.audit.feed import HistorySource, register_history_source
    from apps.contacts.models import ContactMethod, Person, Rotation, Team

    register_history_source(
        HistorySource(
            "person",
            "Person",
            Person,
            _team_rule("team_id"),
            url=lambda pk: reverse("contacts:person", args=[pk]),
            describe=lambda r: r.full_name,
            name=lambda: Concat(F("full_name"), Value(" ("), F("title"), Value(")")),
        )
    )
    register_history_source(
        HistorySource(
            "team", "Team", Team, _team_rule("id"), describe=lambda r: r.name, name=lambda: F("name")
        )
    )
    register_history_source(
        HistorySource(
            "rotation",
            "Rotation",
            Rotation,
            _team_rule("team_id"),
            url=lambda pk: reverse("contacts:rotation", args=[pk]),
            describe=lambda r: r.name,
            name=lambda: Concat(F("team__name"), Value(": "), F("name")),
        )
    )
    register_history_source(
        HistorySource(
            "contact-method",
            "Contact method",
            ContactMethod,
            _person_rule,
            describe=lambda r: f"{r.get_kind_display()} of person #{r.person_id}",
        )
    )
    register_history_source(
        HistorySource(
            "account",
            "Account",
            get_user_model(),
            _everything_only,
            describe=lambda r: r.username,
            name=_user_name,
        )
    )
