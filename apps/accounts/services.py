"""Writes for accounts: the role groups and their permissions."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.roles import Cap, Role, capabilities_of
from apps.audit.services import record


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Make the groups and permissions match ``roles.py`` exactly (idempotent).

    Permissions hang off the User content type: they are capabilities of a person, not of a
    model. A permission removed from the matrix is taken away from the group too.
    """
    content_type = ContentType.objects.get_for_model(User)
    perms = {}
    for cap in Cap.all():
        perm, _ = Permission.objects.update_or_create(
            content_type=content_type, codename=cap.codename, defaults={"name": cap.label}
        )
        perms[cap.codename] = perm
    changed = 0
    for role in Role:
        group, created = Group.objects.get_or_create(name=role.value)
        wanted = {perms[cap.codename] for cap in capabilities_of(role)}
        current = set(group.permissions.filter(content_type=content_type))
        if created or wanted != current:
            group.permissions.remove(*(current - wanted))
            group.permissions.add(*(wanted - current))
            changed += 1
    if changed:
        record(action="accounts.roles_synced", data={"groups_changed": changed})
    return {"groups_changed": changed, "capabilities": len(perms)}


@transaction.atomic
def user_set_roles(*, user: User, roles: set[Role], actor: User | None) -> None:
    """Replace the user's roles; audited with the before and after sets."""
    before = sorted(r.value for r in user.roles)
    groups = list(Group.objects.filter(name__in=[r.value for r in roles]))
    keep = user.groups.exclude(name__in=[r.value for r in Role])
    user.groups.set([*keep, *groups])
    user.__dict__.pop("roles", None)
    after = sorted(r.value for r in roles)
    if before != after:
        record(
            action="accounts.roles_changed",
            actor=actor,
            target=user,
            data={"before": before, "after": after},
        )
