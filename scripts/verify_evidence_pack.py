#!/usr/bin/env python3
"""Verify an escalportal evidence pack offline. Standard library only.

    python3 scripts/verify_evidence_pack.py ESC-2026-00042-evidence.jsonl [--key-file FILE]

Checks, in order, and stops at the first failure (exit status 1, the reason on stderr):

1. the first line is the canonical header ``{"format": "escalportal-evidence-pack/1",
   "sha256": ...}`` (sorted keys, no spaces): a changed byte in it fails;
2. the SHA-256 of the second line (the body, exactly as written) is the header's: a changed
   byte anywhere in the body fails;
3. the body parses, and its audit events that sit next to each other in the chain (seq n and
   n+1) link: the later one's ``prev_hash`` is the earlier one's ``hash``;
4. with ``--key-file`` (a file holding the portal's AUDIT_CHAIN_KEY): every audit event's
   ``hash`` is the HMAC-SHA256 of its canonical JSON under that key, which proves the events
   are the ones the portal's chain holds.

The pack's SHA-256 is also recorded in the portal's audit trail (``Downloaded an evidence
pack``), so whoever holds the portal can confirm which pack it gave out.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys

FORMAT = "escalportal-evidence-pack/1"


class Invalid(Exception):
    pass


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def verify(data: bytes, key: bytes | None = None) -> dict:
    """The parsed body when the pack verifies; raises ``Invalid`` naming the first problem."""
    lines = data.split(b"\n")
    if len(lines) != 3 or lines[2] != b"":
        raise Invalid("the pack must be exactly two lines: a header and a body")
    header_bytes, body_bytes = lines[0], lines[1]
    try:
        header = json.loads(header_bytes)
    except ValueError as exc:
        raise Invalid(f"the header is not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT or set(header) != {"format", "sha256"}:
        raise Invalid(f"the header is not an {FORMAT} header")
    if canonical(header) != header_bytes:
        raise Invalid("the header is not written canonically (it was edited)")
    if hashlib.sha256(body_bytes).hexdigest() != header["sha256"]:
        raise Invalid("the body's SHA-256 does not match the header: the pack was changed")
    try:
        body = json.loads(body_bytes)
    except ValueError as exc:
        raise Invalid(f"the body is not JSON ({exc})") from None
    events = body.get("audit_events", [])
    by_seq = {e["canonical"]["seq"]: e for e in events}
    for seq, event in by_seq.items():
        before = by_seq.get(seq - 1)
        if before is not None and event["canonical"]["prev_hash"] != before["hash"]:
            raise Invalid(f"audit event {seq} does not link to event {seq - 1}")
        if key is not None:
            expected = hmac.new(key, canonical(event["canonical"]), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, event["hash"]):
                raise Invalid(f"audit event {seq} does not verify under the chain key")
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify an escalportal evidence pack offline.")
    parser.add_argument("pack", help="the downloaded <reference>-evidence.jsonl")
    parser.add_argument(
        "--key-file", help="a file holding the portal's AUDIT_CHAIN_KEY (checks every event's HMAC)"
    )
    args = parser.parse_args(argv)
    with open(args.pack, "rb") as handle:
        data = handle.read()
    key = None
    if args.key_file:
        with open(args.key_file, "rb") as handle:
            key = handle.read().strip()
    try:
        body = verify(data, key)
    except Invalid as exc:
        print(f"NOT VERIFIED: {exc}", file=sys.stderr)
        return 1
    events = len(body.get("audit_events", []))
    reference = body.get("escalation", {}).get("reference", "?")
    keyed = "with their HMACs checked" if key is not None else "(HMACs not checked: no --key-file)"
    print(f"VERIFIED: evidence pack of {reference}, {events} audit events {keyed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
