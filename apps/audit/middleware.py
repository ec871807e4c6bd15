"""Auditors see everything and change nothing (DESIGN.md, roles; issue 11): a request that
could change something (any method but GET, HEAD, OPTIONS, TRACE) from someone whose only role
is Auditor is refused with a 403 before any view runs, whatever the view itself would allow.

Their own account (password, second factor, signing out) and filing a protection report,
which every role may do for themselves, stay open.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.accounts.roles import Role

SAFE = {"GET", "HEAD", "OPTIONS", "TRACE"}
OWN = ("/account/", "/login/", "/logout/", "/protection/")


def only_reads(user) -> bool:
    return user.is_authenticated and not user.is_superuser and set(user.roles) == {Role.AUDITOR}


class ReadOnlyAuditorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method not in SAFE and not request.path.startswith(OWN) and only_reads(request.user):
            raise PermissionDenied("Auditors read everything and change nothing.")
        return None
