"""Hostile input is refused in plain words, never a 500: every GET parameter and every form
field of every page, one at a time, as users who may open the page.

The pages, their forms and their parameters come from ``tests/urlwalk.py`` (a new view is
walked without anyone adding it here). Each value is sent with the rest of the form at its
defaults (empty controls given a plausible value, so the hostile one travels as far as it
can), inside a savepoint rolled back afterwards: one request's success does not change what
the next one sees. The test client runs with ``raise_request_exception=False`` and DEBUG off,
so a failure is what a user would get, the 500 page; all of them are reported at once.

Senders: the governance admin where they may open the page or were shown the form, and one
other user who may (the participant shown an escalation's action form, the approver, the
raiser). What they send, chosen per kind of control to keep the walk near a minute on SQLite:

* every control: a NUL byte and a 1 MB string;
* number and hidden controls: 10**30, 2**63, 2**63-1 and -1; selects, checkboxes and named
  buttons: 10**30, 2**63 and -1 (a formset's row counts too: every formset's ``absolute_max``
  is its ``max_num``, so a huge count is refused, not rendered as a thousand rows);
* date and time controls: the first and the last day (and minute) of the calendar, and, in a
  form with a timezone choice, each date at an edge together with the timezone that pushes it
  past the edge of UTC (9999-12-31 23:59 in Pago Pago, 0001-01-01 00:00 in Tokyo);
* once per form and per page: invalid UTF-8, percent-encoded and as raw bytes (they are
  decoded with the whole body or query string, before any field reads them);
* lists with a django-tables2 table (they announce themselves with sort links): ``page`` and
  ``per_page`` out of every range; integer path arguments: 2**63 and 10**30;
* a file control: NUL bytes, 1 MB, invalid UTF-8, a CSV with a 200 KB field and with a NUL.

A probe that saves something (a redirect) is followed to the page it redirects to, in the same
savepoint: a stored value must not break the page that shows it either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote_from_bytes, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests import urlwalk

pytestmark = pytest.mark.django_db

HUGE, INT64_OVER, INT64_MAX = str(10**30), str(2**63), str(2**63 - 1)
NUL = "name\x00with a NUL"
MEGABYTE = "x" * 1_000_000
BAD_UTF8 = b"caf\xe9 \xff\xfe"  # Latin-1 and bytes no UTF-8 sequence starts with
EVERY_FIELD = [NUL, MEGABYTE]
NUMBERS = [HUGE, INT64_OVER, INT64_MAX, "-1"]
CHOICES = [HUGE, INT64_OVER, "-1"]
EDGES = {
    "date": ["0001-01-01", "9999-12-31"],
    "time": ["00:00", "23:59"],
    "datetime-local": ["0001-01-01T00:00", "9999-12-31T23:59"],
}
# The last minute of the calendar where the clock is furthest behind UTC, the first where
# it is furthest ahead: both are outside what a UTC datetime can hold.
FAR_ZONES = [("Pacific/Pago_Pago", "9999-12-31", "23:59"), ("Asia/Tokyo", "0001-01-01", "00:00")]
PAGINATION = ["page", "per_page"]
PAGE_VALUES = [HUGE, INT64_OVER, INT64_MAX, "-1", "0", "abc", "1e9"]
# Whose forms differ: the admin, the participants of the escalations, a visitor.
USERS = ["", "gov_admin", "raiser", "engineer", "eng_manager", "lead", "cto"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    yield from urlwalk.world_fixture(django_db_setup, django_db_blocker)


@pytest.fixture(scope="module")
def walked(world, django_db_blocker):
    with django_db_blocker.unblock():
        targets = urlwalk.concrete_urls(world)
        clients = urlwalk.discover(world, targets, users=USERS)
    with urlwalk.production_rendering():
        yield targets, clients


@dataclass
class Probe:
    """One request: who sends what, where, and what it is called in the report."""

    user: str
    method: str
    path: str
    label: str  # "page=-1", "starts_at=<1 MB>", ...
    query: str = ""  # raw QUERY_STRING (may hold raw non-UTF-8 bytes, as latin-1)
    body: bytes | None = None
    content_type: str = urlwalk.URLENCODED
    multipart: dict | None = None


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _show(value: str | bytes) -> str:
    if value is MEGABYTE:
        return "<1 MB string>"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _encode(pairs: list[tuple[str, str | bytes]]) -> str:
    return "&".join(f"{quote_from_bytes(_bytes(k))}={quote_from_bytes(_bytes(v))}" for k, v in pairs)


def _raw(pairs: list[tuple[str, str | bytes]], name: str, value: bytes) -> str:
    """The pairs urlencoded, except ``name`` whose value goes unescaped, as latin-1 text (how
    WSGI hands a server's bytes to Django)."""
    rest = _encode([(k, v) for k, v in pairs if k != name])
    return "&".join(filter(None, [rest, f"{name}=" + value.decode("latin-1")]))


def _values(field: urlwalk.Field) -> list[str | bytes]:
    """What one control gets (invalid UTF-8 is sent once per form, see ``_once``)."""
    values = list(EVERY_FIELD)
    if field.kind in ("number", "hidden"):
        values += NUMBERS
    elif field.kind in ("select", "select-multiple", "radio", "checkbox", "submit"):
        values += CHOICES
    return values + EDGES.get(field.kind, [])


def _once(form_fields: list[urlwalk.Field]) -> list[tuple[urlwalk.Field, bytes]]:
    """Invalid UTF-8 is decoded with the whole query string or body, before any field reads
    it: one text control per form carries it (percent-encoded, and raw)."""
    text = [f for f in form_fields if f.kind in ("text", "textarea", "search", "email")]
    return [(f, BAD_UTF8) for f in (text or form_fields)[:1]]


def _replace(pairs, name: str, value) -> list[tuple[str, str | bytes]]:
    replaced = [(k, value if k == name else v) for k, v in pairs]
    return replaced if any(k == name for k, _ in pairs) else [*replaced, (name, value)]


def _zone_field(form: urlwalk.Form) -> urlwalk.Field | None:
    return next((f for f in form.fields if f.kind == "select" and "Asia/Tokyo" in f.options), None)


def _far_zone_combos(form: urlwalk.Form, base) -> Iterator[tuple[str, list]]:
    """Each date (or date and time) control of the form at an edge of the calendar, its time
    controls at the same edge, in the timezone that pushes the moment past the edge of UTC."""
    zone = _zone_field(form)
    days = [f for f in form.fields if f.kind in ("date", "datetime-local")]
    clocks = [f for f in form.fields if f.kind == "time"]
    if zone is None:
        return
    for tz, day, clock in FAR_ZONES:
        for f in days:
            pairs = _replace(base, zone.name, tz)
            pairs = _replace(pairs, f.name, day if f.kind == "date" else f"{day}T{clock}")
            for c in clocks:
                pairs = _replace(pairs, c.name, clock)
            yield f"{f.name}={day} {clock} in {tz}", pairs


def _senders(seen_by: list[str], *, most: int = 2) -> list[str]:
    """The governance admin when they may, then others who may (the participants)."""
    ordered = sorted((u for u in seen_by if u), key=lambda u: u != "gov_admin")
    return ordered[:most] or seen_by[:1]


def _dedupe_key(target: urlwalk.Target, *parts) -> tuple:
    """One view, action and form need one probe per field, not one per object or per URL
    name (``policies:new`` and ``policies:edit`` are one view and one form)."""
    words = tuple(sorted((k, v) for k, v in target.kwargs.items() if not isinstance(v, int)))
    return (target.view, words, *parts)


def _deepest_first(targets: list[urlwalk.Target]) -> list[urlwalk.Target]:
    """Edit pages (with arguments) before create pages: their defaults are a valid object, so
    a hostile value in one field reaches the service."""
    return sorted(targets, key=lambda t: not t.kwargs)


def _field_probes(user, method, path, field, pairs, make) -> Iterator[Probe]:
    """``make(pairs)`` is the probe's payload with ``field`` at each of its values."""
    for value in _values(field):
        yield Probe(
            user, method, path, f"{field.name}={_show(value)}", **make(_replace(pairs, field.name, value))
        )


def get_probes(targets: list[urlwalk.Target]) -> Iterator[Probe]:
    seen = set()
    for target in _deepest_first(targets):
        get_forms = [f for f in target.forms if f.method == "get"]
        base = [p for f in get_forms for p in f.defaults()]
        by_name = {f.name: f for form in get_forms for f in form.fields}
        params = [by_name.get(name) or urlwalk.Field(name, "text") for name in target.get_params]
        table = "sort" in target.link_params

        def query(pairs):
            return {"query": _encode(pairs)}

        for user in _senders(target.openers, most=1):
            if (key := _dedupe_key(target, user)) in seen:
                continue
            seen.add(key)
            for field in params:
                yield from _field_probes(user, "GET", target.path, field, base, query)
            for name in PAGINATION if table else []:
                for value in PAGE_VALUES:
                    yield Probe(
                        user,
                        "GET",
                        target.path,
                        f"{name}={value!r}",
                        query=_encode(_replace(base, name, value)),
                    )
            for field, value in _once(params):
                pairs = _replace(base, field.name, value)
                yield Probe(user, "GET", target.path, f"{field.name}={_show(value)}", query=_encode(pairs))
                yield Probe(
                    user,
                    "GET",
                    target.path,
                    f"{field.name}=<raw {_show(value)}>",
                    query=_raw(pairs, field.name, value),
                )
            for form in get_forms:
                for label, pairs in _far_zone_combos(form, form.defaults()):
                    yield Probe(user, "GET", target.path, label, query=_encode(pairs))


def post_probes(targets: list[urlwalk.Target]) -> Iterator[Probe]:
    seen = set()
    for target in _deepest_first(targets):
        for form in target.post_forms:
            for user in _senders(form.seen_by):
                if (key := _dedupe_key(target, user, form.shape)) not in seen:
                    seen.add(key)
                    yield from _form_probes(user, target, form)


def _form_probes(user: str, target: urlwalk.Target, form: urlwalk.Form) -> Iterator[Probe]:
    base, multipart = form.filled(), form.enctype == urlwalk.MULTIPART

    def payload(pairs):
        return {"multipart": _multipart(pairs)} if multipart else {"body": _encode(pairs).encode()}

    fields = list({urlwalk.normalised(f.name): f for f in reversed(form.fields)}.values())[::-1]
    for field in fields:
        if field.kind == "file":
            yield from _file_probes(user, target, field, base)
        else:
            yield from _field_probes(user, "POST", target.path, field, base, payload)
    for field, value in _once(fields):
        pairs = _replace(base, field.name, value)
        yield Probe(user, "POST", target.path, f"{field.name}={_show(value)}", **payload(pairs))
        if not multipart:
            raw = _raw(pairs, field.name, value).encode("latin-1")
            yield Probe(user, "POST", target.path, f"{field.name}=<raw {_show(value)}>", body=raw)
    for label, pairs in _far_zone_combos(form, base):
        yield Probe(user, "POST", target.path, label, **payload(pairs))


FILES = {
    "NUL bytes": b"\x00" * 64,
    "1 MB": MEGABYTE.encode(),
    "invalid UTF-8": BAD_UTF8 * 10,
    "CSV with a 200 KB field": b"email,full_name,title\r\nbig@example.com,"
    + b"B" * 200_000
    + b",Engineer\r\n",
    "CSV with a NUL in a name": b"email,full_name,title\r\nnul@example.com,Nul\x00Name,Engineer\r\n",
}


def _file_probes(user, target, field, base) -> Iterator[Probe]:
    for label, content in FILES.items():
        pairs = [(k, v) for k, v in base if k != field.name]
        data = _multipart(pairs)
        data[field.name] = SimpleUploadedFile("hostile.csv", content, content_type="text/csv")
        yield Probe(user, "POST", target.path, f"{field.name}=<{label}>", multipart=data)


def _multipart(pairs) -> dict:
    data: dict[str, list] = {}
    for k, v in pairs:
        data.setdefault(k, []).append(_bytes(v))
    return data


def path_probes(targets: list[urlwalk.Target]) -> Iterator[Probe]:
    """Integer path arguments out of every integer range, on the first target of each pattern."""
    done = set()
    for target in targets:
        ints = [k for k, v in target.kwargs.items() if isinstance(v, int)]
        if not ints or target.name in done:
            continue
        done.add(target.name)
        user = "gov_admin"
        for name in ints:
            for value in (HUGE, INT64_OVER):
                path = reverse(target.name, kwargs={**target.kwargs, name: value})
                for method in ("GET", "POST"):
                    yield Probe(user, method, path, f"<{name}>={value}", body=b"")


def send(clients: dict[str, Client], probe: Probe) -> tuple[int, str]:
    """The request inside a savepoint rolled back after it, the client's cookies restored:
    a logout or a success changes nothing for the next probe. A success that redirects is
    followed in the same savepoint: what was saved must not break the page that shows it.
    Returns the worst status and, when that was the followed page, its path."""
    client = clients[probe.user]
    cookies = client.cookies
    client.cookies = type(cookies)(cookies)
    try:
        with transaction.atomic():
            response = _request(client, probe)
            status, where = response.status_code, ""
            target = urlsplit(response.get("Location", "")).path if status in (301, 302, 303) else ""
            if target.startswith("/") and not target.startswith("/login/"):
                followed = client.get(target)
                if followed.status_code >= 500:
                    status, where = followed.status_code, target
            transaction.set_rollback(True)
    finally:
        client.cookies = cookies
    return status, where


def _request(client: Client, probe: Probe):
    if probe.multipart is not None:
        return client.post(probe.path, probe.multipart)
    if probe.method == "GET":
        return client.get(probe.path, QUERY_STRING=probe.query)
    return client.generic("POST", probe.path, probe.body, content_type=probe.content_type)


def run(clients, probes: Iterator[Probe]) -> tuple[list[str], int]:
    failures, count = [], 0
    for probe in probes:
        count += 1
        status, where = send(clients, probe)
        if status >= 500:
            then = f" (saved, then GET {where})" if where else ""
            who = probe.user or "a visitor"
            failures.append(f"{probe.method} {probe.path} as {who}: {probe.label}{then} -> {status}")
    return failures, count


def _check(clients, probes, what: str) -> None:
    assert not settings.DEBUG, "the walk must see what users see: DEBUG off, the 500 page"
    failures, count = run(clients, probes)
    assert count, f"no {what} probes: the walk found nothing to send"
    assert not failures, f"{len(failures)} of {count} {what} probes failed:\n" + "\n".join(failures)


# --- the walk reaches everything ---------------------------------------------------------------


def test_the_walk_has_a_concrete_url_for_every_pattern(walked):
    targets, _ = walked
    assert {p.name for p in urlwalk.walk()} == {t.name for t in targets}


def test_a_pattern_the_walk_cannot_fill_fails_loudly(world, monkeypatch):
    known = {k: v for k, v in urlwalk.PATTERN_ARGS.items() if k != "escalations:detail"}
    monkeypatch.setattr(urlwalk, "PATTERN_ARGS", known)
    with pytest.raises(urlwalk.Unwalked, match=r"escalations/<int:pk>/ \(escalations:detail\)"):
        urlwalk.concrete_urls(world)


def test_the_walk_finds_the_parameters_and_forms_it_must(walked):
    targets, _ = walked
    by_path = {t.path: t for t in targets}
    assert {"q", "severity", "raised_after", "sort"} <= set(by_path[reverse("escalations:list")].get_params)
    assert {"date", "time", "tz"} <= set(by_path[reverse("contacts:on_call")].get_params)
    [raise_form] = by_path[reverse("escalations:raise")].post_forms
    assert {"impact_expected_at", "situation"} <= {f.name for f in raise_form.fields}  # after a service
    post_only = {t.name for t in targets if 405 in t.status.values()}
    assert {"logout", "escalations:escalate", "approvals:decide", "policies:review"} <= post_only
    without_form = post_only - {t.name for t in targets if t.post_forms}
    assert not without_form, f"no page offers a form for {without_form}: the walk cannot reach them"


# --- hostile values ---------------------------------------------------------------------------


@pytest.mark.timeout(900)  # thousands of requests; a busy machine may be 4x slower
def test_hostile_query_parameters_are_never_a_server_error(walked):
    targets, clients = walked
    _check(clients, get_probes(targets), "GET")


@pytest.mark.timeout(900)  # thousands of requests; a busy machine may be 4x slower
def test_hostile_form_fields_are_never_a_server_error(walked):
    targets, clients = walked
    _check(clients, post_probes(targets), "POST")


@pytest.mark.timeout(900)  # thousands of requests; a busy machine may be 4x slower
def test_out_of_range_ids_in_the_path_are_never_a_server_error(walked):
    targets, clients = walked
    _check(clients, path_probes(targets), "path")
