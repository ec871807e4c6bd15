from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.crypto import salted_hmac

from apps.audit.history import tracked_history


class User(AbstractUser):
    """The portal's user. Custom from the first migration so it can grow without pain.

    Roles are Django groups named after ``apps.accounts.roles.Role``; what each role may do
    is declared once in ``roles.py``.
    """

    # Part of the session hash: raising it ends every session of the person at their next
    # request ("sign out everywhere"), on any session engine, with no query of its own (the
    # user row is read on every request anyway). Not history: it is not a fact about the person.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # The single sign-on provider's subject ("sub") for people who signed in through it; empty
    # for local-only accounts. Once set, the account is found by it, never by email again.
    external_id = models.CharField(max_length=255, blank=True, default="", editable=False)

    history = tracked_history(excluded_fields=["password", "last_login", "session_epoch"])

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="accounts_user_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def roles(self) -> frozenset[str]:
        from apps.accounts.roles import Role

        names = set(self.groups.values_list("name", flat=True))
        return frozenset(role for role in Role if role.value in names)

    # Django verifies the session against this hash on every request and flushes the session
    # when it differs: covering the password (Django's rule: a new password ends other
    # sessions) and the epoch (ours: sign out everywhere, two-factor enrolment).
    def get_session_auth_hash(self) -> str:
        return self._session_hash(secret=None)

    def get_session_auth_fallback_hash(self):
        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=fallback_secret)

    def _session_hash(self, *, secret: str | None) -> str:
        key_salt = "apps.accounts.models.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_epoch}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()
