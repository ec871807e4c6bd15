"""HTML escaping for markup printed in Python (tables' cells, the history's "Fields changed")."""

from __future__ import annotations

import html

from django.utils.functional import Promise


def escaped(text) -> str:
    """``django.utils.html.conditional_escape`` without its lazy-argument wrapper, which costs
    more than the escaping when a page prints hundreds of values: the same result (``html.escape``
    is what Django's ``escape`` calls; safe strings pass through ``__html__``)."""
    if isinstance(text, Promise):
        text = str(text)
    if hasattr(text, "__html__"):
        return text.__html__()
    return html.escape(str(text))
