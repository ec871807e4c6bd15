"""Reads about people and teams: who is on call, who backs up whom, who can be reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet

from apps.accounts.roles import Cap
from apps.contacts.models import BackupAssignment, Person, Rotation, RotationMember, RotationOverride, Team


def person_of(user) -> Person | None:
    """The directory entry of a signed-in user, or None (a user need not be in the directory)."""
    if user is None or not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()


def rotations_prefetched() -> QuerySet[Rotation]:
    return Rotation.objects.select_related("team").prefetch_related(
        Prefetch("members", queryset=RotationMember.objects.select_related("person").order_by("position")),
        Prefetch("overrides", queryset=RotationOverride.objects.select_related("person").order_by("-created_at")),
    )


def shift_start(rotation: Rotation) -> datetime:
    """The first hand-off: ``starts_on`` at ``handoff_time`` in the rotation's timezone."""
    return datetime.combine(rotation.starts_on, rotation.handoff_time, ZoneInfo(rotation.timezone))


def on_call_rotation(rotation: Rotation, at: datetime) -> Person | None:
    """Who holds ``rotation`` at ``at``: the newest override covering it, else the member
    whose shift it is. None before the rotation starts, after it ends, or with no members.

    Shifts are counted in elapsed hours from the first hand-off, so a 24-hour shift moves
    with the clock change (as pagers do) instead of stretching to 23 or 25 hours. Uses the
    prefetched members/overrides when present (``rotations_prefetched``).
    """
    for override in sorted(rotation.overrides.all(), key=lambda o: o.created_at, reverse=True):
        if override.starts_at <= at < override.ends_at:
            return override.person
    start = shift_start(rotation)
    if at < start:
        return None
    if rotation.ends_on and at.astimezone(ZoneInfo(rotation.timezone)).date() > rotation.ends_on:
        return None
    members = list(rotation.members.all())
    if not members:
        return None
    shift = int((at - start) / timedelta(hours=rotation.shift_hours))
    return members[shift % len(members)].person


def primary_rotation(team: Team) -> Rotation | None:
    return rotations_prefetched().filter(team=team, is_primary=True).first()


def on_call(team: Team, at: datetime) -> Person | None:
    """Who is on call for ``team`` at ``at`` (its primary rotation), or None."""
    rotation = primary_rotation(team)
    return on_call_rotation(rotation, at) if rotation else None


def rotation_gaps(rotation: Rotation, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Periods within [start, end) when nobody holds the rotation, checked shift by shift."""
    gaps: list[tuple[datetime, datetime]] = []
    step = timedelta(hours=min(rotation.shift_hours, 24))
    cursor = start
    while cursor < end:
        nxt = min(cursor + step, end)
        if on_call_rotation(rotation, cursor) is None:
            if gaps and gaps[-1][1] == cursor:
                gaps[-1] = (gaps[-1][0], nxt)
            else:
                gaps.append((cursor, nxt))
        cursor = nxt
    return gaps


def backup_for(person: Person, at: datetime) -> Person | None:
    """The person's backup on the day of ``at`` (in their timezone), newest assignment first."""
    day = at.astimezone(ZoneInfo(person.timezone)).date()
    assignment = (
        BackupAssignment.objects.select_related("backup")
        .filter(person=person, starts_on__lte=day)
        .exclude(ends_on__lt=day)
        .order_by("-starts_on", "-pk")
        .first()
    )
    return assignment.backup if assignment else None


@dataclass(frozen=True)
class Unreachable:
    subject: str
    problem: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.problem}"


def person_problems(person: Person) -> list[Unreachable]:
    # contact_methods must be prefetched by the caller when checking many people.
    if not list(person.contact_methods.all()):
        return [Unreachable(person.full_name, "has no contact method")]
    return []


def rotation_problems(rotation: Rotation, now: datetime, horizon: timedelta = timedelta(days=14)) -> list[Unreachable]:
    members = list(rotation.members.all())
    if not members:
        return [Unreachable(str(rotation), "has no members")]
    problems = []
    for start, end in rotation_gaps(rotation, now, now + horizon):
        problems.append(Unreachable(str(rotation), f"nobody on call {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"))
    for member in members:
        problems.extend(person_problems(member.person))
    return problems


def team_problems(team: Team, now: datetime) -> list[Unreachable]:
    if not team.members.exists():
        return [Unreachable(team.name, "has no members")]
    rotation = primary_rotation(team)
    if rotation is None:
        return [Unreachable(team.name, "has no primary on-call rotation")]
    return rotation_problems(rotation, now)


def org_chart() -> list[dict]:
    """The whole reporting tree in two queries: [{"person": p, "reports": [...]}, ...]."""
    people = list(Person.objects.select_related("team", "user").order_by("-authority_rank", "full_name"))
    children: dict[int | None, list[Person]] = {}
    for person in people:
        children.setdefault(person.manager_id, []).append(person)

    def node(person: Person, seen: frozenset[int]) -> dict:
        kids = [c for c in children.get(person.pk, []) if c.pk not in seen]
        return {"person": person, "reports": [node(c, seen | {c.pk}) for c in kids]}

    return [node(root, frozenset({root.pk})) for root in children.get(None, [])]


# --- oversight: whose records a person may look back on ------------------------------------------


@dataclass(frozen=True)
class Oversight:
    """Whose records someone may browse the history and audit of (the matrix's "browse the
    decision log, history and audit chain"): everything (auditors, governance admins), the
    teams they manage (managers), or nothing. Their own person record is always theirs."""

    everything: bool
    team_ids: frozenset[int]
    person_id: int | None

    def covers_team(self, team_id: int | None) -> bool:
        return self.everything or (team_id is not None and team_id in self.team_ids)

    def covers_person(self, person: Person) -> bool:
        return self.covers_team(person.team_id) or (self.person_id is not None and person.pk == self.person_id)

    @property
    def any(self) -> bool:
        return self.everything or bool(self.team_ids)


def oversight_of(user) -> Oversight:
    """A manager oversees their own team and the teams of everyone who reports to them,
    directly or not (walked breadth-first: one query per level of the org chart)."""
    if not user.is_authenticated:
        return Oversight(False, frozenset(), None)
    person = Person.objects.filter(user_id=user.pk).only("pk", "team_id").first()
    person_id = person.pk if person else None
    scopes = {Cap.BROWSE_AUDIT.scopes[r] for r in user.roles if Cap.BROWSE_AUDIT.allows(r)}
    if user.is_superuser or any(scope.startswith("all") for scope in scopes):
        return Oversight(True, frozenset(), person_id)
    if not scopes or person is None:
        return Oversight(False, frozenset(), person_id)
    teams: set[int] = {person.team_id} if person.team_id else set()
    frontier, seen = {person.pk}, {person.pk}
    while frontier:
        reports = list(Person.objects.filter(manager_id__in=frontier).values_list("pk", "team_id"))
        frontier = {pk for pk, _ in reports} - seen
        seen |= frontier
        teams |= {team for _, team in reports if team}
    return Oversight(False, frozenset(teams), person_id)
