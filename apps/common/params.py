"""Request parameters that cannot be what they claim are refused with a 400 naming them.

A view that reads a number from the query string hands it to the database or to date
arithmetic; a value past what those can hold (``?page=`` with 30 digits) used to surface as a
500. ``InvalidParameter`` carries a message meant for the person who typed the URL, and the
400 handler (``apps.common.views.bad_request``) shows it.
"""

from __future__ import annotations

import re

from django.core.exceptions import BadRequest
from django.http import HttpRequest

SHOWN = 40  # characters of a refused value repeated back; a 1 MB value is not
WHOLE = re.compile(r"-?[0-9]{1,30}")


class InvalidParameter(BadRequest):
    """A query-string or form parameter outside its rule; the message names both."""

    def __init__(self, name: str, rule: str, value: str | None = None):
        shown = "" if value is None else f" (got {shown_value(value)})"
        super().__init__(f"The “{name}” parameter {rule}{shown}.")
        self.name, self.rule = name, rule


def shown_value(value: str) -> str:
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")


def int_param(request: HttpRequest, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """``request.GET[name]`` as a whole number from ``minimum`` to ``maximum``; absent or empty
    is ``default``; anything else is an ``InvalidParameter``."""
    raw = request.GET.get(name, "")
    if raw.strip() == "":
        return default
    rule = f"must be a whole number from {minimum} to {maximum}"
    # ASCII digits, and not many: int() of a million digits is slow, and "1e9" or "١٢" are
    # not what anyone means by a page or a number of days.
    if not WHOLE.fullmatch(raw.strip()) or not minimum <= int(raw) <= maximum:
        raise InvalidParameter(name, rule, raw)
    return int(raw)
