from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser

from apps.audit.history import tracked_history


class User(AbstractUser):
    """The portal's user. Custom from the first migration so it can grow without pain.

    Roles are Django groups named after ``apps.accounts.roles.Role``; what each role may do
    is declared once in ``roles.py``.
    """

    history = tracked_history(excluded_fields=["password", "last_login"])

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def roles(self) -> frozenset[str]:
        from apps.accounts.roles import Role

        names = set(self.groups.values_list("name", flat=True))
        return frozenset(role for role in Role if role.value in names)
