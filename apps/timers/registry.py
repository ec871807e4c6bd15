"""Handlers per deadline kind. Apps register theirs in ``AppConfig.ready``.

A handler receives the locked, due Deadline inside the transaction that will mark it fired:
whatever it writes to the database commits together with ``fired_at`` or not at all. Work
outside the database (email, webhooks) must go through the outbox or ``on_commit``.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.timers.models import Deadline

Handler = Callable[[Deadline], None]
_handlers: dict[str, Handler] = {}
_labels: dict[str, str] = {}


class UnknownDeadlineKind(LookupError):
    pass


def register(kind: str, *, label: str = "") -> Callable[[Handler], Handler]:
    """``label`` is what the timers page calls the kind ("Acknowledge deadline")."""

    def decorator(handler: Handler) -> Handler:
        existing = _handlers.get(kind)
        if existing is not None and existing is not handler:
            raise ValueError(f"deadline kind {kind!r} already has a handler: {existing!r}")
        _handlers[kind] = handler
        _labels[kind] = label or kind.rsplit(".", 1)[-1].replace("_", " ").capitalize()
        return handler

    return decorator


def handler_for(kind: str) -> Handler:
    try:
        return _handlers[kind]
    except KeyError:
        raise UnknownDeadlineKind(f"no handler registered for deadline kind {kind!r}") from None


def registered_kinds() -> list[str]:
    return sorted(_handlers)


def kind_label(kind: str) -> str:
    return _labels.get(kind, kind)
