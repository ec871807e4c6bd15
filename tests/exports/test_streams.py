"""A streamed export ends with its trailer only when every row was sent: a download cut off
(the client went away, a timeout ended the body) is missing it, and its read transaction ends."""

from __future__ import annotations

import gzip
import zlib

import pytest
from django.db import connection
from django.urls import reverse

from apps.common.csvexport import TRAILER_PREFIX
from tests.csvfiles import complete_body
from tests.exports.conftest import events


def test_a_whole_export_ends_with_a_trailer_counting_its_rows(client, auditor):
    events(5)
    client.force_login(auditor)
    response = client.get(reverse("audit:export"), {"target": "thing"})
    assert response.streaming
    body = complete_body(response)  # checks the trailer's count against the rows
    assert body.count(",thing ") == 5  # the Object column


@pytest.mark.django_db(transaction=True)
def test_a_stream_cut_off_midway_has_no_trailer_and_leaves_no_transaction_open(client, auditor):
    events(300)  # more than one block of the stream (STREAM_BLOCK)
    client.force_login(auditor)
    response = client.get(reverse("audit:export"), {"target": "thing"})
    received = next(iter(response.streaming_content))  # the first block arrives: then the line drops
    # On PostgreSQL the stream reads one snapshot: its transaction is open while rows flow.
    assert connection.in_atomic_block is (connection.vendor == "postgresql")
    response.close()  # what the server does when the client goes away
    assert not connection.in_atomic_block
    text = received.decode("utf-8-sig")
    assert 1 < text.count(",thing ") < 300 and TRAILER_PREFIX not in text


def test_the_trailer_is_the_last_line_even_when_the_page_is_gzipped(client, auditor):
    events(40)
    client.force_login(auditor)
    response = client.get(
        reverse("audit:export"), {"target": "thing"}, headers={"accept-encoding": "gzip"}
    )
    assert response["Content-Encoding"] == "gzip"
    compressed = b"".join(response.streaming_content)
    whole = gzip.decompress(compressed).decode("utf-8-sig")
    assert whole.endswith(f"{TRAILER_PREFIX}40 rows\r\n")
    # Cut off halfway, what can be decompressed is a prefix without the trailer.
    cut = zlib.decompressobj(wbits=31).decompress(compressed[: len(compressed) // 2])
    assert TRAILER_PREFIX.encode() not in cut


def test_each_list_says_beside_its_download_how_to_tell_a_whole_file(client, auditor):
    client.force_login(auditor)
    for name in ("audit:events", "approvals:log", "escalations:list"):
        page = client.get(reverse(name)).content.decode()
        assert "# end of export: N rows" in page and "written in the background" in page, name
