"""Reading the portal's CSV exports in tests: every one ends with its trailer line."""

from __future__ import annotations

import csv
import io
import re

TRAILER = re.compile(r"# end of export: (\d+) rows?\r\n\Z")


def complete_body(response) -> str:
    """The body without its BOM and trailer; fails when the trailer is missing or miscounts."""
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    found = TRAILER.search(body)
    assert found, f"no trailer at the end of the export: {body[-80:]!r}"
    data = body[: found.start()]
    assert int(found.group(1)) == len(list(csv.reader(io.StringIO(data)))) - 1  # minus the header
    return data
