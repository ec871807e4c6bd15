"""Template filters every app's pages share."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def hours_in_words(hours) -> str:
    """A duration in the unit that fits: "25 s", "14 min", "3.5 h", "4.2 days" (not "0.0 h")."""
    if hours is None or hours == "":
        return "—"
    seconds = float(hours) * 3600
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
