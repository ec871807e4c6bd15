"""What each action code means to a person, and where each object of the trail lives.

The audit app knows no domain app, so each app tells it, in its ``AppConfig.ready`` (usually
from an ``audit_labels`` module):

- ``register_actions({code: (label, summary)})``: a plain label ("Approved") and a one-line
  summary template ("{actor} approved {target} reaching {data[level_name]}"). The template
  may name ``actor`` (the person's name, or "The portal"), ``target`` (what the event is about)
  and ``data[key]`` (a value the event recorded); a missing value reads as nothing rather than
  failing. ``read=True`` marks reads of sensitive records: they make up the read access log.
- ``register_target_urls(target_type, resolver)``: ``resolver(ids) -> {id: url}`` for the
  objects of one type on a page, so linking a page of rows costs one query per type at most.

An unknown code still reads: ``escalations.ack_missed`` becomes "Ack missed" with the summary
"{actor}: ack missed on {target}". Protection (built in parallel) joins by registering its
codes and its URLs the same way; its events stay ``confined_to`` its app (``scopes``).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

UrlResolver = Callable[[list[str]], dict[str, str]]
SYSTEM = "The portal"


@dataclass(frozen=True)
class ActionLabel:
    code: str
    label: str
    summary: str
    read: bool = False


_actions: dict[str, ActionLabel] = {}
_urls: dict[str, UrlResolver] = {}
_type_labels: dict[str, str] = {}


def register_actions(labels: dict[str, tuple[str, str]], *, read: bool = False) -> None:
    for code, (label, summary) in labels.items():
        _actions[code] = ActionLabel(code, label, summary, read)


def register_target_urls(target_type: str, resolver: UrlResolver, *, label: str = "") -> None:
    """``label`` names the kind of object in filters ("Escalation")."""
    _urls[target_type] = resolver
    if label:
        _type_labels[target_type] = label


def humanise(code: str) -> str:
    verb = code.rsplit(".", 1)[-1].replace("_", " ").strip()
    return verb[:1].upper() + verb[1:] if verb else code


def action_label(code: str) -> ActionLabel:
    known = _actions.get(code)
    if known:
        return known
    return ActionLabel(code, humanise(code), "{actor}: " + humanise(code).lower() + " on {target}")


def known_actions() -> list[ActionLabel]:
    return sorted(_actions.values(), key=lambda a: (a.label.lower(), a.code))


def read_actions() -> list[str]:
    """The codes of reads of sensitive records: the read access log."""
    return sorted(code for code, label in _actions.items() if label.read)


def type_label(target_type: str) -> str:
    if target_type in _type_labels:
        return _type_labels[target_type]
    return humanise(target_type).capitalize() if target_type else ""


def known_types() -> list[tuple[str, str]]:
    return sorted(((t, type_label(t)) for t in _urls), key=lambda pair: pair[1].lower())


class _Lenient(string.Formatter):
    """Formats a summary template; a value the event did not record reads as nothing."""

    def get_value(self, key, args, kwargs):
        return kwargs.get(key, "") if isinstance(key, str) else ""

    def get_field(self, field_name, args, kwargs):
        try:
            return super().get_field(field_name, args, kwargs)
        except (KeyError, IndexError, AttributeError, TypeError):
            return "", field_name


class _Data(dict):
    def __missing__(self, key):
        return ""


_formatter = _Lenient()


def summarise(event, actor_name: str) -> str:
    label = action_label(event.action)
    target = event.target_repr or (f"{type_label(event.target_type)} {event.target_id}".strip())
    data = _Data({k: ("" if v is None else v) for k, v in (event.data or {}).items()})
    try:
        text = _formatter.format(
            label.summary, actor=actor_name or SYSTEM, target=target or "the portal", data=data
        )
    except (ValueError, KeyError):  # a malformed template must not break the trail
        text = f"{actor_name or SYSTEM}: {label.label.lower()}"
    return " ".join(text.split()).replace(" .", ".").rstrip(" :")


def target_urls(events: Iterable) -> dict[tuple[str, str], str]:
    """(target_type, target_id) -> URL for the events given: one resolver call per type."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.target_type in _urls and event.target_id:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
    found: dict[tuple[str, str], str] = {}
    for target_type, ids in wanted.items():
        for target_id, url in _urls[target_type](sorted(ids)).items():
            found[(target_type, str(target_id))] = url
    return found
