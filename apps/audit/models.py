"""The audit trail: append-only, HMAC hash-chained.

Each row carries ``prev_hash`` (the hash of the row before it) and its own ``hash``, an
HMAC-SHA256 over a canonical JSON of its fields and ``prev_hash``. Altering, removing or
inserting any row breaks the chain at that row, which ``manage.py verify_audit_chain`` reports.
The key (``AUDIT_CHAIN_KEY``) lives outside the database, so someone who can write to the
table cannot forge a row that verifies. On PostgreSQL a trigger refuses UPDATE, DELETE and
TRUNCATE outright (migration 0002).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.db import models

from apps.audit.history import tracked_history

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    # ``seq`` is the position in the chain: consecutive from 1, so a removed row leaves a gap.
    seq = models.BigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(editable=False)
    # The actor outlives their account: id and username as plain values, not a foreign key.
    actor_id = models.BigIntegerField(null=True, blank=True, editable=False)
    actor_username = models.CharField(max_length=150, blank=True, editable=False)
    action = models.CharField(max_length=100, editable=False)
    target_type = models.CharField(max_length=100, blank=True, editable=False)
    target_id = models.CharField(max_length=64, blank=True, editable=False)
    target_repr = models.CharField(max_length=255, blank=True, editable=False)
    data = models.JSONField(default=dict, blank=True, editable=False)
    # Whose record it is (apps.audit.scopes): the escalation it belongs to and the team whose
    # record it is, so the trail is filtered in SQL by who may see what. Plain ids, like the
    # actor's: they outlive the rows they name.
    escalation_id = models.BigIntegerField(null=True, blank=True, editable=False)
    team_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # Events of records kept out of the general trail (e.g. "protection": retaliation cases),
    # which only their own app shows, under its own need-to-know (apps.audit.scopes).
    confined_to = models.CharField(max_length=30, blank=True, default="", db_default="", editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-seq"], name="audit_target_seq"),
            models.Index(fields=["actor_id", "-seq"], name="audit_actor_seq"),
            models.Index(fields=["action", "-seq"], name="audit_action_seq"),
            models.Index(fields=["escalation_id", "-seq"], name="audit_escalation_seq"),
            models.Index(fields=["team_id", "-seq"], name="audit_team_seq"),
            models.Index(fields=["confined_to", "-seq"], name="audit_confined_seq"),
            # The trail's filters by a deleted account's username, by record name, by period.
            models.Index(fields=["actor_username", "-seq"], name="audit_username_seq"),
            models.Index(fields=["target_repr", "-seq"], name="audit_repr_seq"),
            models.Index(fields=["occurred_at"], name="audit_occurred"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only")

    def canonical(self) -> bytes:
        """The bytes the HMAC covers: every field but ``hash``, in a fixed form."""
        body = {
            "seq": self.seq,
            "occurred_at": self.occurred_at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_username": self.actor_username,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_repr": self.target_repr,
            "data": self.data,
            "prev_hash": self.prev_hash,
        }
        # The scope joined the chain later: covered when set, absent otherwise, so events
        # written before it verify as they always did, and setting or clearing it breaks the hash.
        for name in ("escalation_id", "team_id", "confined_to"):
            if getattr(self, name) not in (None, ""):
                body[name] = getattr(self, name)
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def data_items(self) -> list[tuple[str, str]]:
        """``data`` as (key, compact JSON) pairs for display: lists and dicts stay readable."""
        return [
            (
                key,
                value
                if isinstance(value, str)
                else json.dumps(value, ensure_ascii=False, separators=(", ", ": ")),
            )
            for key, value in sorted(self.data.items())
        ]

    def compute_hash(self) -> str:
        key = settings.AUDIT_CHAIN_KEY.encode()
        return hmac.new(key, self.canonical(), hashlib.sha256).hexdigest()


class ChainCheckpoint(models.Model):
    """Where the chain starts after audit events past their retention were removed.

    The purge removes only the oldest events, a prefix of the chain, and first writes this row:
    the first event kept, the hash that event names as its predecessor, how many were removed
    and a SHA-256 over their hashes, sealed by the same HMAC as the events. Verification starts
    at the newest checkpoint instead of at the genesis; removing the checkpoint makes the
    removed events a gap again, and a forged one does not verify without the key. On PostgreSQL
    the append-only trigger lets a DELETE through only below the newest checkpoint."""

    first_seq = models.BigIntegerField(unique=True, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    removed_events = models.BigIntegerField(editable=False)
    removed_sha256 = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-first_seq"]

    def __str__(self) -> str:
        return f"chain starts at #{self.first_seq} ({self.removed_events} removed)"

    def canonical(self) -> bytes:
        body = {
            "first_seq": self.first_seq,
            "prev_hash": self.prev_hash,
            "removed_events": self.removed_events,
            "removed_sha256": self.removed_sha256,
            "created_at": self.created_at.isoformat(timespec="microseconds"),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hmac.new(settings.AUDIT_CHAIN_KEY.encode(), self.canonical(), hashlib.sha256).hexdigest()


class ChainVerification(models.Model):
    """One run of the chain's verification: asked for on the chain health page or run by the
    nightly beat task. Progress (``checked`` of ``total``) is saved as it goes, so the page can
    show it; the result names the first row that does not verify."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Verifying"
        INTACT = "intact", "Intact"
        BROKEN = "broken", "Broken"
        ABANDONED = "abandoned", "Abandoned (no worker finished it)"

    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", "Nightly check"
        ON_DEMAND = "on_demand", "Asked for"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    requested_at = models.DateTimeField()
    requested_by_username = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.BigIntegerField(default=0)
    checked = models.BigIntegerField(default=0)
    broken_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [models.Index(fields=["-requested_at", "-id"], name="audit_verification_recent")]

    def __str__(self) -> str:
        return f"Verification #{self.pk} ({self.get_status_display()})"

    @property
    def done(self) -> bool:
        return self.status in (self.Status.INTACT, self.Status.BROKEN, self.Status.ABANDONED)

    @property
    def percent(self) -> int:
        return 100 if self.done else int(100 * self.checked / self.total) if self.total else 0


class RetentionRule(models.Model):
    """How long one type of record is kept (``apps.audit.retention`` lists the types and their
    legal minimums). Edited by governance admins; every version kept."""

    record_type = models.CharField(max_length=50, unique=True)
    years = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField()
    history = tracked_history()

    def __str__(self) -> str:
        return f"{self.record_type}: {self.years} years"


class LegalHold(models.Model):
    """A record, or a whole escalation with everything that belongs to it, kept whatever its
    retention rule says until the hold is released. Placed and released with a reason."""

    # "escalation" holds the escalation and every record of it; otherwise a record type's key.
    target_type = models.CharField(max_length=50)
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=255, blank=True)
    reason = models.TextField()
    placed_at = models.DateTimeField()
    placed_by_username = models.CharField(max_length=150, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by_username = models.CharField(max_length=150, blank=True)
    release_reason = models.TextField(blank=True)
    history = tracked_history()

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_hold_target")]

    def __str__(self) -> str:
        return f"Legal hold on {self.target_repr or self.target_type + ' ' + self.target_id}"

    @property
    def active(self) -> bool:
        return self.released_at is None
