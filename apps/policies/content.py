"""The sensitive-content check every brief and stakeholder message passes before it leaves.

A match blocks the message with a message naming the pattern and what matched, so the writer
can take it out; nothing is redacted silently (a brief that says less than its writer thinks
is worse than one that is held back)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from apps.policies.models import SensitivePattern

# Seeded by migration; governance admins add, change and retire them.
DEFAULT_PATTERNS = [
    ("IPv4 address", r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
    ("IPv6 address", r"\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"),
    ("Internal hostname", r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:internal|corp|lan|local|intra)\b"),
    ("Private key", r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----"),
    ("AWS access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("API token or secret", r"\b(?:api[_-]?key|secret|token|password|passwd)\s*[:=]\s*\S{6,}"),
    (
        "Bearer token or JWT",
        r"\b(?:bearer\s+[a-z0-9._~+/-]{20,}|eyJ[a-z0-9_-]{10,}\.[a-z0-9_-]{10,}\.[a-z0-9_-]{10,})",
    ),
    ("Payment card number", r"\b(?:\d[ -]?){13,16}\b"),
    ("UK National Insurance number", r"\b[a-ceghj-pr-tw-z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[a-d]\b"),
    ("US Social Security number", r"\b\d{3}-\d{2}-\d{4}\b"),
]


@dataclass(frozen=True)
class Match:
    pattern: str
    found: str
    where: str

    def __str__(self) -> str:
        shown = self.found if len(self.found) <= 24 else self.found[:21] + "…"
        return f"{self.where}: “{shown}” looks like {self.pattern}"


def sensitive_matches(texts: dict[str, str]) -> list[Match]:
    """Every match of an active pattern in ``{where: text}``, in the order given."""
    patterns = [
        (p.name, re.compile(p.pattern, re.IGNORECASE)) for p in SensitivePattern.objects.filter(active=True)
    ]
    matches = []
    for where, text in texts.items():
        for name, regex in patterns:
            if (found := regex.search(text or "")) is not None:
                matches.append(Match(name, found.group(0), where))
    return matches


def check_outgoing(texts: dict[str, str], *, field: str, fields: dict[str, str] | None = None) -> None:
    """Refuse a message that would carry sensitive content: each match is a ValidationError on
    the form field its text came from (``fields`` maps a ``texts`` key to its field), so the
    page marks the box that holds it; texts without a field of their own report on ``field``."""
    matches = sensitive_matches(texts)
    if matches:
        errors: dict[str, list[str]] = {}
        for m in matches:
            where = (fields or {}).get(m.where, field)
            errors.setdefault(where, []).append(
                f"Held back, nothing was sent: {m}. Take it out and try again."
            )
        raise ValidationError(errors)
