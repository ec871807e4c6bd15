"""Single sign-on with OpenID Connect (mozilla-django-oidc), optional.

On only when ``OIDC_RP_CLIENT_ID`` is set; the backend stays listed in
``AUTHENTICATION_BACKENDS`` either way and answers nothing while it is off, so turning single
sign-on on or off never changes which backends Django loads. Local accounts keep working beside
it. The provider's groups claim (``OIDC_GROUPS_CLAIM``) maps to portal roles through
``OIDC_ROLE_MAP``; with no map, roles are managed in the portal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import wraps

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from apps.accounts.roles import Role
from apps.accounts.services import SignOnIdentity, SignOnRefused, user_sign_on
from apps.accounts.sessions import SIGNED_ON

log = logging.getLogger(__name__)


def roles_from_groups(groups: object, role_map: dict[str, str]) -> frozenset[Role] | None:
    """The roles the provider's groups give; None when there is no map (roles stay the portal's).
    A group claim may be a list or, from some providers, a single string; groups not in the map
    give nothing."""
    if not role_map:
        return None
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, Iterable):
        groups = []
    return frozenset(Role(role_map[g]) for g in groups if isinstance(g, str) and g in role_map)


def identity_from_claims(claims: dict) -> SignOnIdentity:
    return SignOnIdentity(
        subject=str(claims["sub"]),
        email=str(claims.get("email") or ""),
        email_verified=claims.get("email_verified")
        if isinstance(claims.get("email_verified"), bool)
        else None,
        username=str(claims.get("preferred_username") or ""),
        first_name=str(claims.get("given_name") or ""),
        last_name=str(claims.get("family_name") or ""),
        roles=roles_from_groups(claims.get(settings.OIDC_GROUPS_CLAIM), settings.OIDC_ROLE_MAP),
    )


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's authorization-code backend, matching accounts by the provider's
    subject (see ``user_sign_on``) rather than by email alone."""

    def __init__(self, *args, **kwargs) -> None:
        self.UserModel = get_user_model()
        if settings.OIDC_ENABLED:  # the parent reads (and requires) the provider's settings
            super().__init__(*args, **kwargs)

    def authenticate(self, request, **kwargs):
        if not settings.OIDC_ENABLED:
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        # ModelBackend's: refuses deactivated accounts (the parent's does not).
        return ModelBackend.get_user(self, user_id)

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims with the userinfo endpoint's on top, which must be about the same
        subject (OpenID Connect Core 5.3.2)."""
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if str(userinfo.get("sub")) != str(payload.get("sub")):
            raise SuspiciousOperation("The userinfo subject differs from the ID token's")
        return {**payload, **userinfo}

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("sub"))

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation("The provider named no subject")
        try:
            return user_sign_on(identity=identity_from_claims(claims), create=settings.OIDC_CREATE_USER)
        except SignOnRefused as exc:
            raise SuspiciousOperation(str(exc)) from exc


class PortalOIDCCallbackView(OIDCAuthenticationCallbackView):
    """The provider sends the browser back here. Any failure (refused, provider down, a token
    that does not verify) lands on the sign-in page with a plain message, never a 500."""

    def get(self, request):
        try:
            return super().get(request)
        except (
            SuspiciousOperation,
            requests.RequestException,
            jwt.InvalidTokenError,
            ValueError,
            KeyError,
        ) as exc:
            log.warning("single sign-on failed: %s: %s", type(exc).__name__, exc)
            return self.login_failure()

    def login_success(self):
        response = super().login_success()
        self.request.session[SIGNED_ON] = True
        return response

    def login_failure(self):
        messages.error(
            self.request,
            f"Signing in with {settings.OIDC_PROVIDER_NAME} did not work. "
            "Try again, or sign in with your portal password.",
        )
        return HttpResponseRedirect(reverse("login"))


def only_when_enabled(view):
    """Single sign-on pages do not exist while it is off."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not set up.")
        return view(request, *args, **kwargs)

    return wrapped
