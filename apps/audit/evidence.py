"""The evidence pack of one escalation: everything that happened to it, and the chain hashes
that prove it, in one file a regulator or a court can check offline.

The file is two lines of JSON (``<reference>-evidence.jsonl``):

1. a header, ``{"format": "escalportal-evidence-pack/1", "sha256": <hex>}``, written
   canonically (sorted keys, no spaces);
2. the body, one line of canonical JSON: the escalation, its timeline, approvals and
   decisions, executive brief versions, every history row, and its audit events exactly as
   the chain hashed them (``canonical`` fields, ``prev_hash``, ``hash``), plus the state of
   the whole chain when the pack was made (its head and the last verification).

``scripts/verify_evidence_pack.py`` (standard library only) checks that the header is
canonical, that the body's SHA-256 matches (so one changed byte anywhere fails), that every
event's ``hash`` is the HMAC of its canonical body when given the chain key, and that events
in consecutive positions link by ``prev_hash``. The pack's SHA-256 is itself recorded in the
audit trail (``audit.evidence_pack_exported``), so the portal can later confirm which pack it
gave out.

The domain data comes from a builder the domain registers (``register_evidence_builder``):
the audit app knows no escalation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditEvent, ChainVerification
from apps.audit.services import record

FORMAT = "escalportal-evidence-pack/1"
Builder = Callable[[object, int], "dict | None"]  # (user, escalation pk) -> the domain sections
_builder: list[Builder] = []


def register_evidence_builder(builder: Builder) -> None:
    _builder[:] = [builder]


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def event_body(event: AuditEvent) -> dict:
    return {"canonical": json.loads(event.canonical()), "hash": event.hash}


def evidence_pack(*, user, escalation_id: int, page: str = "Evidence pack") -> tuple[str, bytes] | None:
    """``(file name, bytes)`` of the pack, or ``None`` when no builder knows the escalation.
    Making it is an audit event carrying the pack's SHA-256 (a read of sensitive records)."""
    if not _builder:
        return None
    sections = _builder[0](user, escalation_id)
    if sections is None:
        return None
    events = AuditEvent.objects.filter(escalation_id=escalation_id, confined_to="").order_by("seq")
    head = AuditEvent.objects.order_by("-seq").values("seq", "hash").first()
    last = ChainVerification.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
    body = {
        **sections,
        "audit_events": [event_body(e) for e in events],
        "chain": {
            "head": head,
            "last_verification": None
            if last is None
            else {"finished_at": last.finished_at, "result": last.status, "checked": last.checked},
            "hmac": "HMAC-SHA256 over each event's canonical JSON (sorted keys, no spaces), keyed by AUDIT_CHAIN_KEY",
        },
        "made_at": timezone.now(),
        "made_by": user.get_username(),
    }
    body_bytes = canonical(body).encode()
    digest = hashlib.sha256(body_bytes).hexdigest()
    header = canonical({"format": FORMAT, "sha256": digest}).encode()
    with transaction.atomic():
        record(
            action="audit.evidence_pack_exported",
            actor=user,
            target_type="escalations.escalation",
            target_id=str(escalation_id),
            target_repr=sections.get("escalation", {}).get("reference", ""),
            data={"sha256": digest, "events": len(body["audit_events"]), "page": page},
        )
    name = f"{sections.get('escalation', {}).get('reference', escalation_id)}-evidence.jsonl"
    return name, header + b"\n" + body_bytes + b"\n"
