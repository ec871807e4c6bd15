"""Teams, people, the org chart and on-call: readable by everyone signed in, edited by
governance admins through the services (which validate, keep history and audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap
from apps.audit.models import AuditEvent
from apps.audit.services import record
from apps.common.csvexport import streamed_csv
from apps.common.forms import apply_errors, error_dict
from apps.common.pagination import paginate
from apps.contacts import csv_io, selectors
from apps.contacts.filters import PersonFilter
from apps.contacts.forms import (
    BackupForm,
    ContactMethodFormSet,
    ImportForm,
    OnCallAtForm,
    OverrideForm,
    PersonForm,
    RotationForm,
    RotationMemberFormSet,
    contact_method_initial,
    person_choices,
)
from apps.contacts.models import Person, Rotation, Team
from apps.contacts.people import person_errors, person_save
from apps.contacts.selectors import oversight_of
from apps.contacts.services import backup_assign, rotation_override_add, rotation_save
from apps.contacts.tables import PersonTable

GAP_HORIZON = timedelta(days=14)


# --- reads ----------------------------------------------------------------------------------


@authenticated
def teams(request):
    """Every team with its size, who is on call now and the services it owns, in four queries."""
    now = timezone.now()
    team_list = list(
        Team.objects.annotate(member_count=Count("members"))
        .prefetch_related("owned_services")
        .order_by("name")
    )
    on_call_now = {
        r.team_id: selectors.on_call_rotation(r, now)
        for r in selectors.rotations_prefetched().filter(is_primary=True)
    }
    rows = [
        {"team": t, "on_call": on_call_now.get(t.pk), "has_rotation": t.pk in on_call_now} for t in team_list
    ]
    return render(request, "contacts/teams.html", {"rows": rows, "now": now})


@authenticated
def team(request, slug: str):
    team = get_object_or_404(Team, slug=slug)
    now = timezone.now()
    members = (
        team.members.select_related("manager")
        .prefetch_related("contact_methods")
        .order_by("-authority_rank", "full_name")
    )
    rotations = list(
        selectors.rotations_prefetched()
        .filter(team=team)
        .prefetch_related("members__person__contact_methods")
    )
    problems = [p for r in rotations if r.is_primary for p in selectors.rotation_problems(r, now)]
    if not members:
        problems.insert(0, selectors.Unreachable(team.name, "has no members"))
    elif not any(r.is_primary for r in rotations):
        problems.insert(0, selectors.Unreachable(team.name, "has no primary on-call rotation"))
    context = {
        "team": team,
        "members": members,
        "rotations": [rotation_status(r, now) for r in rotations],
        "owned_services": team.owned_services.all(),
        "supported_services": team.supported_services.all(),
        "problems": problems,
        "history": history_for(team) if oversight_of(request.user).covers_team(team.pk) else None,
        "can_edit": request.user.has_perm(Cap.EDIT_POLICIES.perm),
    }
    return render(request, "contacts/team_detail.html", context)


@authenticated
def people(request):
    """Search and filter everyone; the page costs the same queries at any size (tested)."""
    queryset = Person.objects.select_related("team", "manager").prefetch_related("contact_methods")
    person_filter = PersonFilter(request.GET or None, queryset=queryset)
    table = PersonTable(person_filter.qs)
    paginate(request, table, per_page=50, filters=person_filter)
    context = {
        "filter": person_filter,
        "table": table,
        "can_edit": request.user.has_perm(Cap.EDIT_POLICIES.perm),
        "can_export": request.user.has_perm(Cap.BROWSE_AUDIT.perm),
    }
    return render(request, "contacts/people.html", context)


def _person_history(user, person: Person) -> dict:
    """History is for those who oversee the person's team, and for the person themselves:
    it holds old addresses and phone numbers (issue 8: any signed-in user read them)."""
    if not oversight_of(user).covers_person(person):
        return {"history": None, "method_changes": None}
    return {"history": history_for(person), "method_changes": contact_method_changes(person)}


@authenticated
def person(request, pk: int):
    person = get_object_or_404(
        Person.objects.select_related("team", "manager__team", "user").prefetch_related("contact_methods"),
        pk=pk,
    )
    now = timezone.now()
    context = {
        "person": person,
        "methods": list(person.contact_methods.all()),
        "chain": person.management_chain(),
        "reports": person.reports.select_related("team").order_by("-authority_rank", "full_name"),
        "backup_now": selectors.backup_for(person, now),
        "backups": person.backup_assignments.select_related("backup").order_by("-starts_on", "-pk"),
        "backing_up": person.backing_up.select_related("person").order_by("-starts_on", "-pk"),
        "memberships": person.rotation_memberships.select_related("rotation__team").order_by(
            "rotation__name"
        ),
        "overrides": person.rotation_overrides.filter(ends_at__gt=now).select_related("rotation__team"),
        "problems": selectors.person_problems(person),
        **_person_history(request.user, person),
        "can_edit": request.user.has_perm(Cap.EDIT_POLICIES.perm),
    }
    return render(request, "contacts/person_detail.html", context)


@authenticated
def org_chart(request):
    """The whole reporting tree; ``selectors.org_chart`` reads it in one query at any size."""
    return render(request, "contacts/org_chart.html", {"roots": selectors.org_chart()})


@authenticated
def on_call(request):
    """Every rotation: on call now, the next hand-off, gaps ahead, and on call at a chosen time."""
    now = timezone.now()
    form = OnCallAtForm(request.GET or None, initial={"date": timezone.localdate(now), "tz": "UTC"})
    at = form.moment() if form.is_bound and form.is_valid() else None
    rows = []
    for rotation in selectors.rotations_prefetched().order_by("team__name", "-is_primary", "name"):
        status = rotation_status(rotation, now)
        status.at_person = selectors.on_call_rotation(rotation, at) if at else None
        rows.append(status)
    context = {
        "form": form,
        "at": at,
        "rows": rows,
        "now": now,
        "horizon_days": GAP_HORIZON.days,
        "can_edit": request.user.has_perm(Cap.EDIT_POLICIES.perm),
    }
    return render(request, "contacts/on_call.html", context, status=400 if form.is_bound and not at else 200)


@authenticated
def rotation(request, pk: int):
    rotation = get_object_or_404(selectors.rotations_prefetched(), pk=pk)
    now = timezone.now()
    context = {
        "status": rotation_status(rotation, now),
        "rotation": rotation,
        "shifts": upcoming_shifts(rotation, now, count=8),
        "overrides": [o for o in rotation.overrides.all() if o.ends_at > now - timedelta(days=30)],
        "history": history_for(rotation) if oversight_of(request.user).covers_team(rotation.team_id) else None,
        "can_edit": request.user.has_perm(Cap.EDIT_POLICIES.perm),
    }
    return render(request, "contacts/rotation_detail.html", context)


# --- CSV ------------------------------------------------------------------------------------


@requires(Cap.BROWSE_AUDIT)
@never_cache
def export_csv(request):
    """Contacts as CSV. A bulk read of personal data, so it is an audit event.

    Who may export follows the matrix's "browse" capability and its scopes: auditors and
    governance admins ("all") get everyone; a manager ("own team") gets their own team.
    """
    people, scope = _export_scope(request.user)
    record(action="contacts.exported", actor=request.user, data={"rows": people.count(), "scope": scope})
    rows = csv_io.export_rows(csv_io.export_queryset(people))
    return streamed_csv(name="contacts", header=csv_io.COLUMNS, rows=rows)


def _export_scope(user):
    oversight = oversight_of(user)
    if oversight.everything:
        return Person.objects.all(), "all"
    if not oversight.team_ids:
        return Person.objects.none(), "own team (none)"
    slugs = sorted(Team.objects.filter(pk__in=oversight.team_ids).values_list("slug", flat=True))
    return Person.objects.filter(team_id__in=oversight.team_ids), f"own team: {', '.join(slugs)}"


@requires(Cap.EDIT_POLICIES)
def import_csv(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    errors: list[csv_io.RowError] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = csv_io.parse(upload.read())
            result = csv_io.apply(rows, actor=request.user, filename=upload.name)
        except csv_io.ImportRejected as rejected:
            errors = rejected.errors
        else:
            messages.success(
                request,
                f"Imported {result.rows} rows: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged; contact methods changed for {result.contact_methods_changed}.",
            )
            return redirect("contacts:people")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "errors": errors, "columns": csv_io.COLUMNS, "required": csv_io.REQUIRED}
    return render(request, "contacts/import.html", context, status=status)


# --- edits ----------------------------------------------------------------------------------


@requires(Cap.EDIT_POLICIES)
def person_edit(request, pk: int | None = None):
    person = get_object_or_404(Person.objects.prefetch_related("contact_methods"), pk=pk) if pk else None
    initial = PersonForm.initial_for(person) if person else None
    form = PersonForm(request.POST or None, initial=initial, person=person)
    formset = ContactMethodFormSet(
        request.POST or None, initial=contact_method_initial(person), prefix="methods"
    )
    method_errors: list[str] = []
    if request.method == "POST" and form.is_valid() and not formset.is_valid():
        # Show a manager loop or a taken email now, not after the contact methods are fixed.
        fields = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        if errors := person_errors(person=person, fields=fields):
            apply_errors(form, errors)
    elif request.method == "POST" and form.is_valid() and formset.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "reason"}
        try:
            saved = person_save(
                person=person,
                fields=fields,
                methods=formset.methods(),
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            method_errors = apply_errors(form, error_dict(exc)).pop("contact_methods", [])
        else:
            messages.success(request, f"Saved {saved.full_name}.")
            return redirect("contacts:person", pk=saved.pk)
    context = {"form": form, "formset": formset, "person": person, "method_errors": method_errors}
    return render(
        request, "contacts/person_form.html", context, status=400 if request.method == "POST" else 200
    )


@requires(Cap.EDIT_POLICIES)
def backup_add(request, pk: int):
    person = get_object_or_404(Person, pk=pk)
    form = BackupForm(request.POST or None, person=person, initial={"starts_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            backup_assign(person=person, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, error_dict(exc))
        else:
            messages.success(
                request, f"{form.cleaned_data['backup'].full_name} now backs up {person.full_name}."
            )
            return redirect("contacts:person", pk=person.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "contacts/backup_form.html", {"form": form, "person": person}, status=status)


@requires(Cap.EDIT_POLICIES)
def rotation_edit(request, pk: int | None = None):
    rotation = get_object_or_404(Rotation, pk=pk) if pk else None
    initial = RotationForm.initial_for(rotation) if rotation else {"team": request.GET.get("team")}
    form = RotationForm(request.POST or None, initial=initial, rotation=rotation)
    members_initial = (
        [{"person": m.person_id, "position": m.position} for m in rotation.members.order_by("position")]
        if rotation
        else []
    )
    formset = RotationMemberFormSet(
        request.POST or None,
        initial=members_initial,
        prefix="members",
        form_kwargs={"person_choices": person_choices()},
    )
    member_errors: list[str] = []
    if request.method == "POST" and all([form.is_valid(), formset.is_valid()]):
        ids = formset.person_ids()
        found = Person.objects.in_bulk(ids)
        target = rotation or Rotation()
        for key, value in form.cleaned_data.items():
            if key != "reason":
                setattr(target, key, value)
        try:
            saved = rotation_save(
                rotation=target,
                members=[found[i] for i in ids if i in found],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            member_errors = apply_errors(form, error_dict(exc)).pop("members", [])
        else:
            messages.success(request, f"Saved rotation {saved.name}.")
            return redirect("contacts:rotation", pk=saved.pk)
    context = {"form": form, "formset": formset, "rotation": rotation, "member_errors": member_errors}
    return render(
        request, "contacts/rotation_form.html", context, status=400 if request.method == "POST" else 200
    )


@requires(Cap.EDIT_POLICIES)
def override_add(request, pk: int):
    rotation = get_object_or_404(Rotation.objects.select_related("team"), pk=pk)
    form = OverrideForm(request.POST or None)
    # Times typed into the form are the rotation's local times, as its hand-offs are.
    with timezone.override(ZoneInfo(rotation.timezone)):
        valid = request.method == "POST" and form.is_valid()
    if valid:
        try:
            rotation_override_add(rotation=rotation, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, error_dict(exc))
        else:
            messages.success(request, f"{form.cleaned_data['person'].full_name} covers {rotation.name}.")
            return redirect("contacts:rotation", pk=rotation.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "contacts/override_form.html", {"form": form, "rotation": rotation}, status=status)


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
    start = selectors.shift_start(rotation)
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
    current = selectors.on_call_rotation(rotation, now)
    next_at = next_person = None
    # A hand-off to the same person is no hand-off: look as far as one full turn of the members.
    for moment in _boundaries(rotation, now, limit=len(rotation.members.all()) + 1):
        holder = selectors.on_call_rotation(rotation, moment)
        if holder != current:
            next_at, next_person = moment, holder
            break
    gaps = selectors.rotation_gaps(rotation, now, now + GAP_HORIZON)
    return RotationStatus(rotation, current, next_at, next_person, gaps)


def upcoming_shifts(rotation: Rotation, now: datetime, count: int) -> list[dict]:
    """The next ``count`` changes of hands, starting with the current holder."""
    shifts, moment = [], now
    holder = selectors.on_call_rotation(rotation, now)
    for boundary in _boundaries(rotation, now, limit=count + 1):
        if len(shifts) >= count:
            break
        new_holder = selectors.on_call_rotation(rotation, boundary)
        if new_holder != holder:
            shifts.append({"person": holder, "starts": moment if moment != now else None, "ends": boundary})
            moment, holder = boundary, new_holder
    if len(shifts) < count:
        shifts.append({"person": holder, "starts": moment if moment != now else None, "ends": None})
    return shifts


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
