"""How views declare who may reach them.

Every view is wrapped in exactly one of ``public``, ``authenticated`` or ``requires(cap)``;
each sets ``view.access_rule`` so the URL-walk test can check every pattern against every role.
Denied is 403 for a signed-in user (PermissionDenied), a redirect to login for a visitor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from apps.accounts.roles import Capability, Role


@dataclass(frozen=True)
class AccessRule:
    kind: str  # "public" | "authenticated" | "capability"
    capability: Capability | None = None

    def allows_role(self, role: Role) -> bool:
        if self.kind != "capability":
            return True
        return self.capability.allows(role)


def _mark(view: Callable, rule: AccessRule) -> Callable:
    view.access_rule = rule
    return view


def public(view: Callable) -> Callable:
    return _mark(view, AccessRule("public"))


def authenticated(view: Callable) -> Callable:
    return _mark(login_required(view), AccessRule("authenticated"))


def requires(capability: Capability) -> Callable[[Callable], Callable]:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.has_perm(capability.perm):
                raise PermissionDenied(f"Your role does not allow: {capability.label.lower()}.")
            return view(request, *args, **kwargs)

        return _mark(login_required(wrapped), AccessRule("capability", capability))

    return decorator


def before_second_factor(view: Callable) -> Callable:
    """Marks a signed-in view the person may reach before giving their second factor (the code
    page, enrolment); ``TwoFactorMiddleware`` holds every other non-public view back until then.
    Apply it outermost, over ``authenticated``."""
    view.before_second_factor = True
    return view
