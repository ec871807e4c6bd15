"""Middleware for signed-in sessions: their lifetime, the second factor, and no caching.

Installed after authentication and messages (see ``MIDDLEWARE`` in settings): each needs
``request.user`` or the session, and the lifetime one tells the person why they were signed out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from apps.accounts import sessions
from apps.accounts.selectors import has_authenticator, two_factor_required


class SessionLifetimeMiddleware:
    """Ends a session past its idle timeout or its maximum age, before any view sees it: the
    view then treats the request as a visitor's (a sign-in page for a protected page)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if SESSION_KEY in request.session:
            now = int(time.time())
            reason = sessions.why_ended(request.session, now)
            if reason:
                logout(request)
                messages.info(request, reason)
            else:
                sessions.touch(request.session, now)
        return self.get_response(request)


class TwoFactorMiddleware:
    """A signed-in person with an authenticator must give a code before any page; one whose role
    requires two-factor sign-in and who has none must enrol first. Public views (sign-in, sign-out,
    password reset, health) are never held back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args, view_kwargs):
        rule = getattr(view_func, "access_rule", None)
        if (rule is not None and rule.kind == "public") or getattr(view_func, "before_second_factor", False):
            return None
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        if settings.OIDC_COUNTS_AS_TWO_FACTOR and request.session.get(sessions.SIGNED_ON):
            return None  # the provider enforces its own second factor (OIDC_COUNTS_AS_TWO_FACTOR)
        if has_authenticator(user):
            return _redirect_keeping_next(request, "account:two_factor_verify")
        if two_factor_required(user):
            return _redirect_keeping_next(request, "account:two_factor_enrol")
        return None


def _redirect_keeping_next(request: HttpRequest, url_name: str) -> HttpResponseRedirect:
    url = reverse(url_name)
    if request.method == "GET":
        url += "?" + urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(url)


# Pages that handle credentials are never stored, even for a visitor.
NO_STORE_URL_NAMES = {"login", "logout"}
NO_STORE_NAMESPACES = {"account"}


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response to a signed-in person and on the sign-in,
    two-factor and password pages: escalations, approvals, audit trails and exports must not stay
    in a shared browser's cache or a proxy's after sign-out. A view that set its own
    Cache-Control keeps it. Static files never get here (WhiteNoise serves them first)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signed_in_before = SESSION_KEY in request.session
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        if signed_in_before or SESSION_KEY in request.session or _is_credentials_page(request):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


def _is_credentials_page(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    return match.url_name in NO_STORE_URL_NAMES or bool(NO_STORE_NAMESPACES & set(match.namespaces))
