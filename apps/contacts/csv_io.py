"""Contacts as CSV: export everyone, import a file all or nothing.

An import that half-applies leaves an org chart nobody designed (managers pointing at people
who were never created, contact methods of the wrong person), so the whole file is checked
before anything is written, and every bad row is reported at once with its line number so the
sender can fix the file in one go. Only then are people written, through the same services as
the edit pages, in one transaction.

Columns (the export's; ``email``, ``full_name`` and ``title`` are required, the others may be
left out, which keeps that field as it is, or gives a new person the default):

    email, full_name, title, team (slug), manager_email, authority_rank, timezone, contact_methods

``contact_methods`` is ``kind:value`` pairs separated by ``;`` in priority order, e.g.
``email:a@example.com;phone:+447700900123``. A present column is authoritative: an empty
``manager_email`` means "no manager", an empty ``contact_methods`` removes them all.

Exporting then importing the same file changes nothing: values are written exactly as stored,
and the import only touches a person whose values differ.

Every cell obeys the length and character rules of the form field it would be typed into on
the person page (``COLUMN_FIELDS``): a 200 KB name or a NUL character is refused with its line
and column, in the form's words, and nothing is imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from apps.audit.services import record
from apps.common.csvexport import is_trailer, uncell
from apps.common.moments import timezone_error
from apps.contacts.forms import ContactMethodForm, ContactMethodFormSet, PersonForm
from apps.contacts.models import ContactMethod, Person, Team
from apps.contacts.services import contact_methods_set, person_upsert
from apps.contacts.validation import text_rule_errors, validate_contact_value

COLUMNS = [
    "email",
    "full_name",
    "title",
    "team",
    "manager_email",
    "authority_rank",
    "timezone",
    "contact_methods",
]
REQUIRED = ["email", "full_name", "title"]
MAX_ROWS = 10_000
KINDS = {k.value for k in ContactMethod.Kind}
# The field each column is typed into on the person page; its length and character rules
# apply to the cell. (``team`` is a team's slug and ``timezone`` a zone's name there: the
# model's lengths; ``contact_methods`` is checked method by method against the method form.)
COLUMN_FIELDS = {
    "email": PersonForm.base_fields["email"],
    "full_name": PersonForm.base_fields["full_name"],
    "title": PersonForm.base_fields["title"],
    "team": forms.SlugField(max_length=Team._meta.get_field("slug").max_length),
    "manager_email": PersonForm.base_fields["email"],
    "authority_rank": PersonForm.base_fields["authority_rank"],  # a number: its rule is below
    "timezone": forms.CharField(max_length=Person._meta.get_field("timezone").max_length),
    "contact_methods": forms.CharField(),
}
METHOD_VALUE = ContactMethodForm.base_fields["value"]
MAX_METHODS = ContactMethodFormSet.max_num
SHOWN = 40  # characters of a refused value repeated in a message


# --- export ---------------------------------------------------------------------------------


def format_methods(methods: Iterable[ContactMethod]) -> str:
    return ";".join(f"{m.kind}:{m.value}" for m in methods)


def export_queryset(people=None):
    """Everyone (or ``people``) with what the export needs, in three queries at any size."""
    people = Person.objects.all() if people is None else people
    return people.select_related("team", "manager").prefetch_related("contact_methods").order_by("email")


def export_rows(people) -> Iterator[list]:
    """One row per person, in ``COLUMNS`` order; ``apps.common.csvexport`` makes the cells safe
    (the import's ``uncell`` reads them back)."""
    for person in people:
        yield [
            person.email,
            person.full_name,
            person.title,
            person.team.slug if person.team_id else "",
            person.manager.email if person.manager_id else "",
            person.authority_rank,
            person.timezone,
            format_methods(person.contact_methods.all()),
        ]


# --- parsing and validation -----------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int
    email: str
    reason: str


@dataclass
class Row:
    line: int
    email: str
    fields: dict = field(
        default_factory=dict
    )  # full_name, title, and team/authority_rank/timezone when given
    manager_email: str | None = None  # None: column absent, leave the manager as it is
    methods: list[tuple[str, str]] | None = None  # None: column absent


class ImportRejected(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} bad row(s)")
        self.errors = errors


def _shown(text: str) -> str:
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "…")


def parse_methods(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    methods, problems = [], []
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if len(parts) > MAX_METHODS:
        problems.append(f"has {len(parts)} contact methods; a person has at most {MAX_METHODS}")
        return methods, problems
    for index, part in enumerate(parts, start=1):
        kind, sep, value = part.partition(":")
        kind, value = kind.strip(), value.strip()
        if not sep or not value:
            problems.append(
                f"contact method {index} {_shown(part)} is not kind:value (e.g. phone:+447700900123)"
            )
            continue
        if kind not in KINDS:
            problems.append(
                f"contact method {index} has unknown kind {_shown(kind)} (use {', '.join(sorted(KINDS))})"
            )
            continue
        if rule_errors := text_rule_errors(METHOD_VALUE, value):
            problems.extend(f"contact method {index}: {m}" for m in rule_errors)
            continue
        try:
            validate_contact_value(kind, value)
        except ValidationError as exc:
            problems.extend(f"contact method {index}: {m}" for m in exc.messages)
            continue
        methods.append((kind, value))
    return methods, problems


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            [RowError(0, "", f"the file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8")]
        ) from None


@contextmanager
def _fields_up_to(size: int) -> Iterator[None]:
    """Let the csv module read a field as long as the whole file (already in memory, and at
    most the upload limit), so an overlong cell is refused by its column's rule, with its
    line and column, instead of csv's bare "field larger than field limit"."""
    previous = csv.field_size_limit(max(size, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def parse(data: bytes) -> list[Row]:
    """Every row, checked; raises ImportRejected listing every bad row (line numbers as in the file)."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    with _fields_up_to(len(text) + 1):
        try:
            return _parse(reader)
        except csv.Error as exc:
            raise ImportRejected(
                [RowError(reader.line_num, "", f"the file is not valid CSV here: {exc}")]
            ) from None


def _parse(reader) -> list[Row]:
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        reasons = []
        if missing:
            reasons.append(f"missing required column(s): {', '.join(missing)}")
        if unknown:
            shown = ", ".join(_shown(h) for h in unknown[:5]) + (", …" if len(unknown) > 5 else "")
            reasons.append(f"unknown column(s): {shown} (expected {', '.join(COLUMNS)})")
        if len(set(header)) != len(header):
            reasons.append("a column appears twice in the header")
        raise ImportRejected([RowError(1, "", "; ".join(reasons))])

    teams = dict(Team.objects.values_list("slug", "pk"))
    known_emails = set(Person.objects.values_list("email", flat=True))
    rows, errors, first_line = [], [], {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values) or is_trailer(values):
            continue  # blank lines are harmless; the export's trailer line is not a person
        if len(rows) >= MAX_ROWS:
            errors.append(RowError(line, "", f"more than {MAX_ROWS} rows; split the file"))
            break
        row, problems = _parse_row(line, header, values, teams)
        key = row.email.casefold()
        if key and key in first_line:
            problems.append(f"email {row.email} appears again (first on line {first_line[key]})")
        elif key:
            first_line[key] = line
        errors.extend(RowError(line, row.email, p) for p in problems)
        rows.append(row)  # bad rows too: their manager is checked as well, every reason at once
    file_emails = {r.email for r in rows}
    for row in rows:
        m = row.manager_email
        if m and m not in file_emails and m not in known_emails:
            errors.append(
                RowError(row.line, row.email, f"manager {m} is neither in the file nor in the directory")
            )
    errors.extend(_loops(rows))
    if errors:
        raise ImportRejected(sorted(set(errors), key=lambda e: (e.line, e.reason)))
    if not rows:
        raise ImportRejected([RowError(1, "", "the file has a header but no rows")])
    return rows


def _refused_cells(header: list[str], cells: dict[str, str], problems: list[str]) -> set[str]:
    """The columns whose cell breaks its form field's length or character rules, each reported
    with its column number; the other checks skip them (and never repeat a 200 KB value)."""
    bad = set()
    for number, name in enumerate(header, start=1):
        if rule_errors := text_rule_errors(COLUMN_FIELDS[name], cells[name]):
            bad.add(name)
            problems.extend(f"column {number} ({name}): {m}" for m in rule_errors)
    return bad


def _parse_row(line: int, header: list[str], values: list[str], teams: dict) -> tuple[Row, list[str]]:
    problems = []
    if len(values) != len(header):
        problems.append(f"has {len(values)} values but the header has {len(header)} columns")
    cells = {name: uncell(values[i].strip()) if i < len(values) else "" for i, name in enumerate(header)}
    bad = _refused_cells(header, cells, problems)
    cells = {name: "" if name in bad else value for name, value in cells.items()}
    row = Row(line=line, email=cells["email"])
    if "email" not in bad:
        try:
            validate_email(row.email)
        except ValidationError:
            problems.append(
                f"email {row.email!r} is not a valid email address" if row.email else "email is empty"
            )
    for name in ("full_name", "title"):
        if not cells[name] and name not in bad:
            problems.append(f"{name} is empty")
        row.fields[name] = cells[name]
    if "team" in cells and "team" not in bad:
        if cells["team"] and cells["team"] not in teams:
            problems.append(f"unknown team {cells['team']!r} (use a team's slug, e.g. platform-ops)")
        row.fields["team_id"] = teams.get(cells["team"])
    if "authority_rank" in cells and "authority_rank" not in bad:
        rank = cells["authority_rank"]
        if not (len(rank) <= 5 and rank.isascii() and rank.isdigit()) or int(rank) > 32767:
            problems.append(f"authority_rank {_shown(rank)} is not a whole number from 0 to 32767")
        else:
            row.fields["authority_rank"] = int(rank)
    if "timezone" in cells and "timezone" not in bad:
        if message := timezone_error(cells["timezone"]):
            problems.append(f"timezone: {message}")
        row.fields["timezone"] = cells["timezone"]
    if "manager_email" in cells and "manager_email" not in bad:
        row.manager_email = cells["manager_email"]
        if row.manager_email and row.manager_email == row.email:
            problems.append("a person cannot be their own manager")
    if "contact_methods" in cells and "contact_methods" not in bad:
        row.methods, method_problems = parse_methods(cells["contact_methods"])
        problems.extend(method_problems)
    return row, problems


def _final_managers(rows: list[Row]) -> dict[str, str | None]:
    """Everyone's manager (by email) as it would be after the import."""
    managers = dict(Person.objects.values_list("email", "manager__email"))
    for row in rows:
        if row.manager_email is not None:
            managers[row.email] = row.manager_email or None
        else:
            managers.setdefault(row.email, None)
    return managers


def _loops(rows: list[Row]) -> list[RowError]:
    """Rows whose reporting line would loop once the file is applied (the file's rows and the
    directory's together: a file can close a loop through people it does not mention)."""
    managers = _final_managers(rows)
    by_email = {r.email: r for r in rows}
    errors = []
    for row in rows:
        path, boss = [row.email], managers.get(row.email)
        while boss is not None and boss not in path:
            path.append(boss)
            boss = managers.get(boss)
        if boss == row.email:
            loop = " → ".join([*path, row.email])
            errors.append(
                RowError(row.line, row.email, f"manager_email makes the reporting line a loop: {loop}")
            )
    return [e for e in errors if e.email in by_email]


# --- applying -------------------------------------------------------------------------------


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    contact_methods_changed: int = 0

    def as_data(self) -> dict:
        return dict(self.__dict__)


def _depth_order(rows: list[Row]) -> list[Row]:
    """Managers before their reports, so every person's manager exists (and already has its
    final manager) when the person is saved. Person.clean walks the chain as it stands at that
    moment; in this order no intermediate state can look like a loop, and each person gets one
    history row, not "created" then "manager set"."""
    managers = _final_managers(rows)
    in_file = {r.email for r in rows}
    depth: dict[str, int] = {}

    def depth_of(email: str) -> int:
        if email not in depth:
            chain, boss = 0, managers.get(email)
            while boss in in_file:  # loops were refused in parse()
                chain, boss = chain + 1, managers.get(boss)
            depth[email] = chain
        return depth[email]

    return sorted(rows, key=lambda r: (depth_of(r.email), r.line))


def _changes(person: Person | None, row: Row, manager: Person | None) -> dict:
    """The fields to pass to person_upsert: everything for a new person, the differences otherwise."""
    wanted = dict(row.fields)
    if row.manager_email is not None:
        wanted["manager_id"] = manager.pk if manager else None
    if person is None:
        return wanted
    return {k: v for k, v in wanted.items() if getattr(person, k) != v}


@transaction.atomic
def apply(rows: list[Row], *, actor, filename: str = "") -> ImportResult:
    """Write the checked rows; one audit event for the import (each change audits itself)."""
    existing = {
        p.email: p
        for p in Person.objects.filter(email__in=[r.email for r in rows]).prefetch_related("contact_methods")
    }
    saved: dict[str, Person] = dict(existing)
    result = ImportResult(rows=len(rows))
    for row in _depth_order(rows):
        manager = None
        if row.manager_email:
            manager = saved.get(row.manager_email) or Person.objects.get(email=row.manager_email)
        person = existing.get(row.email)
        changes = _changes(person, row, manager)
        if person is None or changes:
            saved[row.email] = _service(row, person_upsert, email=row.email, actor=actor, **changes)
            result.created += person is None
            result.updated += person is not None
        else:
            result.unchanged += 1
    for row in rows:
        if row.methods is None:
            continue
        person = saved[row.email]
        before = [(m.kind, m.value) for m in person.contact_methods.all()] if row.email in existing else []
        if before != row.methods:
            _service(
                row, contact_methods_set, person=person, methods=row.methods, actor=actor, reason="CSV import"
            )
            result.contact_methods_changed += 1
    record(action="contacts.imported", actor=actor, data={**result.as_data(), "filename": filename[:200]})
    return result


def _service(row: Row, service, **kwargs):
    """A service refusing a row parse() accepted (a race with another edit) still names the line."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        messages = (
            [f"{k}: {m}" for k, ms in exc.message_dict.items() for m in ms]
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        raise ImportRejected([RowError(row.line, row.email, m) for m in messages]) from None
