"""The 400 page (``handler400``): what was wrong with the request, in plain words."""

from __future__ import annotations

from django.shortcuts import render

from apps.common.params import InvalidParameter


def bad_request(request, exception=None):
    """Our own refusals (``InvalidParameter``) say which parameter and which rule; Django's
    (a malformed request, too many fields) keep their details to the log, as Django does."""
    reason = str(exception) if isinstance(exception, InvalidParameter) else ""
    return render(request, "400.html", {"reason": reason}, status=400)
