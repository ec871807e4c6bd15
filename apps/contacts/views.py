"""Teams, people, the org chart and on-call: readable by everyone signed in, edited by
governance admins through the services (which validate, keep history and audit).

Views parse, authorise, call one service or selector and render; who may read a history and
whom an export covers are decided in ``selectors``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from apps.accounts.access import authenticated, requires
from apps.accounts.roles import Cap
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
from apps.contacts.services import backup_assign, rotation_override_add, rotation_save
from apps.contacts.tables import PersonTable


def _can_edit(request) -> bool:
    return request.user.has_perm(Cap.EDIT_POLICIES.perm)


def _status(request) -> int:
    """A form page answers a POST that gets this far (it was refused) with a 400."""
    return 400 if request.method == "POST" else 200


# --- reads ----------------------------------------------------------------------------------


@authenticated
def teams(request):
    """Every team with its size, who is on call now and the services it owns, in four queries."""
    now = timezone.now()
    return render(request, "contacts/teams.html", {"rows": selectors.teams_overview(now), "now": now})


@authenticated
def team(request, slug: str):
    team = get_object_or_404(Team, slug=slug)
    context = {**selectors.team_page(team, request.user, timezone.now()), "can_edit": _can_edit(request)}
    return render(request, "contacts/team_detail.html", context)


@authenticated
def people(request):
    """Search and filter everyone; the page costs the same queries at any size (tested)."""
    person_filter = PersonFilter(request.GET or None, queryset=selectors.people_for_list())
    table = PersonTable(person_filter.qs)
    paginate(request, table, per_page=50, filters=person_filter)
    context = {
        "filter": person_filter,
        "table": table,
        "can_edit": _can_edit(request),
        "can_export": request.user.has_perm(Cap.BROWSE_AUDIT.perm),
    }
    return render(request, "contacts/people.html", context)


@authenticated
def person(request, pk: int):
    try:
        person = selectors.person_for_page(pk)
    except Person.DoesNotExist:
        raise Http404("No such person.") from None
    context = {**selectors.person_page(person, request.user, timezone.now()), "can_edit": _can_edit(request)}
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
    context = {
        "form": form,
        "at": at,
        "rows": selectors.on_call_rows(now, at),
        "now": now,
        "horizon_days": selectors.GAP_HORIZON.days,
        "can_edit": _can_edit(request),
    }
    return render(request, "contacts/on_call.html", context, status=400 if form.is_bound and not at else 200)


@authenticated
def rotation(request, pk: int):
    rotation = get_object_or_404(selectors.rotations_prefetched(), pk=pk)
    context = {
        **selectors.rotation_page(rotation, request.user, timezone.now()),
        "can_edit": _can_edit(request),
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
    people, scope = selectors.export_scope(request.user)
    record(action="contacts.exported", actor=request.user, data={"rows": people.count(), "scope": scope})
    rows = csv_io.export_rows(csv_io.export_queryset(people))
    return streamed_csv(name="contacts", header=csv_io.COLUMNS, rows=rows)


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
    context = {"form": form, "errors": errors, "columns": csv_io.COLUMNS, "required": csv_io.REQUIRED}
    return render(request, "contacts/import.html", context, status=_status(request))


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
    if request.method == "POST":
        saved, method_errors = _save_person(request, person, form, formset)
        if saved is not None:
            messages.success(request, f"Saved {saved.full_name}.")
            return redirect("contacts:person", pk=saved.pk)
    context = {"form": form, "formset": formset, "person": person, "method_errors": method_errors}
    return render(request, "contacts/person_form.html", context, status=_status(request))


def _save_person(request, person, form, formset) -> tuple[Person | None, list[str]]:
    """Save the person and their contact methods, or put every problem on the form; returns
    the saved person, or None and the contact-method problems the formset shows."""
    if not form.is_valid():
        return None, []
    if not formset.is_valid():
        # Show a manager loop or a taken email now, not after the contact methods are fixed.
        apply_errors(form, person_errors(person=person, fields=form.person_fields()))
        return None, []
    try:
        saved = person_save(
            person=person,
            fields=form.person_fields(),
            methods=formset.methods(),
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        return None, apply_errors(form, error_dict(exc)).pop("contact_methods", [])
    return saved, []


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
    return render(
        request, "contacts/backup_form.html", {"form": form, "person": person}, status=_status(request)
    )


@requires(Cap.EDIT_POLICIES)
def rotation_edit(request, pk: int | None = None):
    rotation = get_object_or_404(Rotation, pk=pk) if pk else None
    initial = RotationForm.initial_for(rotation) if rotation else {"team": request.GET.get("team")}
    form = RotationForm(request.POST or None, initial=initial, rotation=rotation)
    formset = RotationMemberFormSet(
        request.POST or None,
        initial=selectors.rotation_members_initial(rotation),
        prefix="members",
        form_kwargs={"person_choices": person_choices()},
    )
    member_errors: list[str] = []
    if request.method == "POST":
        saved, member_errors = _save_rotation(request, rotation, form, formset)
        if saved is not None:
            messages.success(request, f"Saved rotation {saved.name}.")
            return redirect("contacts:rotation", pk=saved.pk)
    context = {"form": form, "formset": formset, "rotation": rotation, "member_errors": member_errors}
    return render(request, "contacts/rotation_form.html", context, status=_status(request))


def _save_rotation(request, rotation, form, formset) -> tuple[Rotation | None, list[str]]:
    """Save the rotation and its members in their order, or put every problem on the form;
    returns the saved rotation, or None and the member problems the formset shows."""
    if not all([form.is_valid(), formset.is_valid()]):
        return None, []
    try:
        saved = rotation_save(
            rotation=form.apply_to(rotation or Rotation()),
            members=selectors.people_in_order(formset.person_ids()),
            actor=request.user,
            reason=form.cleaned_data["reason"],
        )
    except ValidationError as exc:
        return None, apply_errors(form, error_dict(exc)).pop("members", [])
    return saved, []


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
    context = {"form": form, "rotation": rotation}
    return render(request, "contacts/override_form.html", context, status=_status(request))
