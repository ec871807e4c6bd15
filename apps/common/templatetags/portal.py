"""Template filters every app's pages share."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import dateformat, timezone
from django.utils.safestring import mark_safe

from apps.common.html import escaped
from apps.common.moments import timezone_names, zone_label

register = template.Library()

WHEN = "D d M H:i"


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


@register.filter
def when(value, fmt: str = WHEN) -> str:
    """A moment in the reader's zone, the zone named: ``{{ esc.ack_due_at|when }}`` gives
    "Mon 07 Dec 14:30 CET"; the argument is a Django date format."""
    return _shown(value, timezone.get_current_timezone(), fmt)


@register.filter
def when_in(value, zone: str) -> str:
    """A moment in a named zone (a policy calendar's, a rotation's), the zone named:
    ``{{ esc.ack_due_at|when_in:calendar.timezone }}``."""
    if not zone or zone not in timezone_names():
        return _shown(value, timezone.get_current_timezone(), WHEN)
    return _shown(value, ZoneInfo(zone), WHEN)


def _shown(value, tz, fmt: str) -> str:
    if not isinstance(value, datetime):
        return "—" if value in (None, "") else str(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    local = value.astimezone(tz)
    return f"{dateformat.format(local, fmt)} {zone_label(local)}"


_WORD_TAGS = {"del": ('<del class="text-danger-emphasis">', "</del>"), "ins": ('<ins class="text-success-emphasis">', "</ins>")}


@register.simple_tag
def changes_table(changes) -> str:
    """The "Fields changed" table of one history entry (``apps.audit.diffs`` change dicts: field,
    old, new and, for long text, a word diff), printed in Python: the history feed prints 50 of
    these a page, and an include per entry cost more than the rest of the page's template."""
    rows = []
    for change in changes:
        name = str(change["field"])
        field = escaped(name[:1].upper() + name[1:])  # capfirst, without its lazy wrapper
        head = f'<th scope="row" class="fw-semibold text-body-secondary ps-0 text-nowrap">{field}</th>'
        if change.get("words"):
            parts = []
            for part in change["words"]:
                opening, closing = _WORD_TAGS.get(part["op"], ("", ""))
                parts.append(f"{opening}{escaped(part['text'])}{closing} ")
            cells = f'<td colspan="2" class="word-diff">{"".join(parts)}</td>'
        else:
            cells = (
                f'<td><del class="text-danger-emphasis">{escaped(change["old"])}</del></td>'
                '<td><span aria-hidden="true" class="text-body-secondary">→</span> '
                f'<ins class="text-success-emphasis">{escaped(change["new"])}</ins></td>'
            )
        rows.append(f"<tr>{head}{cells}</tr>")
    return mark_safe(  # noqa: S308 - every value escaped above
        '<div class="table-responsive"><table class="table table-sm table-borderless mb-0 w-auto">'
        '<caption class="visually-hidden">Fields changed</caption>'
        '<thead class="visually-hidden"><tr><th scope="col">Field</th><th scope="col">Before</th>'
        '<th scope="col">After</th></tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></div>'
    )
