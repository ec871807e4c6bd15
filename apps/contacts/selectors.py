"""Reads about people and teams: who is on call, who backs up whom, who can be reached, who
may look back on whose records, and what the contact pages show (histories included, for
those who may read them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Prefetch, QuerySet

from apps.accounts.roles import Cap
from apps.audit.models import AuditEvent
from apps.contacts.models import BackupAssignment, Person, Rotation, RotationMember, RotationOverride, Team

GAP_HORIZON = timedelta(days=14)


def person_of(user) -> Person | None:
    """The directory entry of a signed-in user, or None (a user need not be in the directory)."""
    if user is None or not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).first()


def rotations_prefetched() -> QuerySet[Rotation]:
    return Rotation.objects.select_related("team").prefetch_related(
        Prefetch("members", queryset=RotationMember.objects.select_related("person").order_by("position")),
        Prefetch(
            "overrides", queryset=RotationOverride.objects.select_related("person").order_by("-created_at")
        ),
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


def rotation_problems(
    rotation: Rotation, now: datetime, horizon: timedelta = timedelta(days=14)
) -> list[Unreachable]:
    members = list(rotation.members.all())
    if not members:
        return [Unreachable(str(rotation), "has no members")]
    problems = []
    for start, end in rotation_gaps(rotation, now, now + horizon):
        problems.append(
            Unreachable(str(rotation), f"nobody on call {start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC")
        )
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
        return self.covers_team(person.team_id) or (
            self.person_id is not None and person.pk == self.person_id
        )

    @property
    def any(self) -> bool:
        return self.everything or bool(self.team_ids)


def oversight_of(user) -> Oversight:
    """A manager oversees their own team and the teams of everyone who reports to them,
    directly or not (walked breadth-first: one query per level of the org chart). Kept on the
    user object, which lives for one request: a page asking once per kind of record (the
    history feed asks for each of its sources) walks the chart once."""
    if not user.is_authenticated:
        return Oversight(False, frozenset(), None)
    cached = getattr(user, "_oversight", None)
    if cached is not None:
        return cached
    user._oversight = _oversight_of(user)
    return user._oversight


def _oversight_of(user) -> Oversight:
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


# --- the contact pages ----------------------------------------------------------------------


def teams_overview(now: datetime) -> list[dict]:
    """Every team with its size, who is on call now and the services it owns, in four queries."""
    team_list = list(
        Team.objects.annotate(member_count=Count("members"))
        .prefetch_related("owned_services")
        .order_by("name")
    )
    on_call_now = {
        r.team_id: on_call_rotation(r, now) for r in rotations_prefetched().filter(is_primary=True)
    }
    return [
        {"team": t, "on_call": on_call_now.get(t.pk), "has_rotation": t.pk in on_call_now} for t in team_list
    ]


def team_page(team: Team, user, now: datetime) -> dict:
    """A team's members, rotations and why it might reach nobody; its history for those who
    oversee it."""
    members = (
        team.members.select_related("manager")
        .prefetch_related("contact_methods")
        .order_by("-authority_rank", "full_name")
    )
    rotations = list(
        rotations_prefetched().filter(team=team).prefetch_related("members__person__contact_methods")
    )
    return {
        "team": team,
        "members": members,
        "rotations": [rotation_status(r, now) for r in rotations],
        "owned_services": team.owned_services.all(),
        "supported_services": team.supported_services.all(),
        "problems": _team_page_problems(team, members, rotations, now),
        "history": history_for(team) if oversight_of(user).covers_team(team.pk) else None,
    }


def _team_page_problems(team: Team, members, rotations: list[Rotation], now: datetime) -> list[Unreachable]:
    """``team_problems`` from what the page has read already."""
    problems = [p for r in rotations if r.is_primary for p in rotation_problems(r, now)]
    if not members:
        problems.insert(0, Unreachable(team.name, "has no members"))
    elif not any(r.is_primary for r in rotations):
        problems.insert(0, Unreachable(team.name, "has no primary on-call rotation"))
    return problems


def people_for_list() -> QuerySet[Person]:
    return Person.objects.select_related("team", "manager").prefetch_related("contact_methods")


def person_for_page(pk: int) -> Person:
    """The person with what their page shows (raises ``DoesNotExist``)."""
    return (
        Person.objects.select_related("team", "manager__team", "user")
        .prefetch_related("contact_methods")
        .get(pk=pk)
    )


def person_page(person: Person, user, now: datetime) -> dict:
    """A person's place in the organisation, their backups, rotations and problems; their
    history for those who oversee their team, and for the person themselves: it holds old
    addresses and phone numbers (issue 8: any signed-in user read them)."""
    may_look_back = oversight_of(user).covers_person(person)
    return {
        "person": person,
        "methods": list(person.contact_methods.all()),
        "chain": person.management_chain(),
        "reports": person.reports.select_related("team").order_by("-authority_rank", "full_name"),
        "backup_now": backup_for(person, now),
        "backups": person.backup_assignments.select_related("backup").order_by("-starts_on", "-pk"),
        "backing_up": person.backing_up.select_related("person").order_by("-starts_on", "-pk"),
        "memberships": person.rotation_memberships.select_related("rotation__team").order_by(
            "rotation__name"
        ),
        "overrides": person.rotation_overrides.filter(ends_at__gt=now).select_related("rotation__team"),
        "problems": person_problems(person),
        "history": history_for(person) if may_look_back else None,
        "method_changes": contact_method_changes(person) if may_look_back else None,
    }


def on_call_rows(now: datetime, at: datetime | None) -> list[RotationStatus]:
    """Every rotation's status now, with who holds it at ``at`` when a moment is asked about."""
    rows = []
    for rotation in rotations_prefetched().order_by("team__name", "-is_primary", "name"):
        status = rotation_status(rotation, now)
        status.at_person = on_call_rotation(rotation, at) if at else None
        rows.append(status)
    return rows


def rotation_page(rotation: Rotation, user, now: datetime) -> dict:
    """A rotation (read by ``rotations_prefetched``): its status, the next shifts, recent
    overrides; its history for those who oversee its team."""
    return {
        "status": rotation_status(rotation, now),
        "rotation": rotation,
        "shifts": upcoming_shifts(rotation, now, count=8),
        "overrides": [o for o in rotation.overrides.all() if o.ends_at > now - timedelta(days=30)],
        "history": history_for(rotation) if oversight_of(user).covers_team(rotation.team_id) else None,
    }


def rotation_members_initial(rotation: Rotation | None) -> list[dict]:
    if rotation is None:
        return []
    return [{"person": m.person_id, "position": m.position} for m in rotation.members.order_by("position")]


def people_in_order(ids: list[int]) -> list[Person]:
    """The people with these ids in this order; an id that matches nobody is left out."""
    found = Person.objects.in_bulk(ids)
    return [found[i] for i in ids if i in found]


def export_scope(user) -> tuple[QuerySet[Person], str]:
    """Whom ``user`` may export, and the scope in words for the audit event: auditors and
    governance admins everyone, a manager their own teams (the matrix's "browse" scopes)."""
    oversight = oversight_of(user)
    if oversight.everything:
        return Person.objects.all(), "all"
    if not oversight.team_ids:
        return Person.objects.none(), "own team (none)"
    slugs = sorted(Team.objects.filter(pk__in=oversight.team_ids).values_list("slug", flat=True))
    return Person.objects.filter(team_id__in=oversight.team_ids), f"own team: {', '.join(slugs)}"


# --- what the pages compute from prefetched rotations (no queries) ---------------------------


@dataclass
class RotationStatus:
    rotation: Rotation
    now_person: Person | None
    next_at: datetime | None
    next_person: Person | None
    gaps: list[tuple[datetime, datetime]]
    at_person: Person | None = None


def _boundaries(rotation: Rotation, now: datetime, limit: int) -> list[datetime]:
    """Moments after ``now`` when the holder can change: shift hand-offs, override edges, the end."""
    start = shift_start(rotation)
    step = timedelta(hours=rotation.shift_hours)
    first = start if now < start else start + (int((now - start) / step) + 1) * step
    times = [first + k * step for k in range(limit)]
    for override in rotation.overrides.all():
        times += [t for t in (override.starts_at, override.ends_at) if t > now]
    if rotation.ends_on:
        end = datetime.combine(rotation.ends_on + timedelta(days=1), time(0), ZoneInfo(rotation.timezone))
        times.append(end)
    return sorted(t for t in times if t > now)


def rotation_status(rotation: Rotation, now: datetime) -> RotationStatus:
    """Who holds the rotation now, and the next moment someone else does (and who)."""
    current = on_call_rotation(rotation, now)
    next_at = next_person = None
    # A hand-off to the same person is no hand-off: look as far as one full turn of the members.
    for moment in _boundaries(rotation, now, limit=len(rotation.members.all()) + 1):
        holder = on_call_rotation(rotation, moment)
        if holder != current:
            next_at, next_person = moment, holder
            break
    gaps = rotation_gaps(rotation, now, now + GAP_HORIZON)
    return RotationStatus(rotation, current, next_at, next_person, gaps)


def upcoming_shifts(rotation: Rotation, now: datetime, count: int) -> list[dict]:
    """The next ``count`` changes of hands, starting with the current holder."""
    shifts, moment = [], now
    holder = on_call_rotation(rotation, now)
    for boundary in _boundaries(rotation, now, limit=count + 1):
        if len(shifts) >= count:
            break
        new_holder = on_call_rotation(rotation, boundary)
        if new_holder != holder:
            shifts.append({"person": holder, "starts": moment if moment != now else None, "ends": boundary})
            moment, holder = boundary, new_holder
    if len(shifts) < count:
        shifts.append({"person": holder, "starts": moment if moment != now else None, "ends": None})
    return shifts


# --- histories --------------------------------------------------------------------------------


def history_for(obj, limit: int = 50) -> list[dict]:
    """The object's history, newest first, each change with its field-by-field diff.

    Foreign keys in the diffs are named, not numbered: the ids are resolved in one query per
    related model. Only the newest ``limit`` rows are read (one more to diff the oldest shown).
    """
    rows = list(obj.history.order_by("-history_date", "-history_id")[: limit + 1])
    entries, wanted = [], {}
    for newer, older in zip(rows[:limit], [*rows[1:], None], strict=False):
        changes = newer.diff_against(older).changes if older is not None and newer.history_type == "~" else []
        for change in changes:
            field = obj._meta.get_field(change.field)
            if field.is_relation:
                wanted.setdefault(field.related_model, set()).update({change.old, change.new} - {None})
        entries.append({"row": newer, "changes": changes})
    names = {model: model.objects.in_bulk(ids) for model, ids in wanted.items()}
    for entry in entries:
        entry["changes"] = [_named_change(obj, change, names) for change in entry["changes"]]
    return entries


def _named_change(obj, change, names: dict) -> dict:
    field = obj._meta.get_field(change.field)

    def show(value):
        if value is None or value == "":
            return "—"
        if field.is_relation:
            return str(names[field.related_model].get(value, f"#{value} (deleted)"))
        return str(value)

    return {"field": field.verbose_name, "old": show(change.old), "new": show(change.new)}


def contact_method_changes(person: Person, limit: int = 20) -> list:
    """Contact-method replacements from the audit trail, which keeps each one's before and
    after as a whole (the methods' own history rows are a delete and a create per method)."""
    events = AuditEvent.objects.filter(
        action="contacts.contact_methods_changed", target_type="contacts.person", target_id=str(person.pk)
    ).order_by("-seq")[:limit]
    return [
        {
            "event": e,
            "before": [f"{kind}: {value}" for kind, value in e.data.get("before", [])],
            "after": [f"{kind}: {value}" for kind, value in e.data.get("after", [])],
        }
        for e in events
    ]
