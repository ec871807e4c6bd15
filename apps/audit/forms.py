"""The trail's filters. A value that cannot be what it claims (a malformed date, an action or
kind of object the portal does not know, a name that matches nobody) is said beside its field,
and the page then shows no rows rather than silently widening to everything."""

from __future__ import annotations

from datetime import date

from django import forms

from apps.audit.labels import known_actions, known_types
from apps.audit.selectors import EventQuery, people_named
from apps.common.forms import BootstrapMixin, DateInput

DATE_ERROR = "Enter a date as YYYY-MM-DD."
# The trail begins long after the first and ends long before the last date Python can hold
# (the day after 9999-12-31 overflows).
EARLIEST, LATEST = date(1970, 1, 1), date(9998, 12, 31)


class EventFilter(BootstrapMixin, forms.Form):
    person = forms.CharField(
        label="Person", required=False, max_length=150, help_text="Name or username, e.g. Leo Martins."
    )
    action = forms.ChoiceField(label="Action", required=False)
    target_type = forms.ChoiceField(label="Kind of record", required=False)
    target = forms.CharField(
        label="Record",
        required=False,
        max_length=255,
        help_text="As the trail names it, e.g. ESC-2026-00042.",
    )
    since = forms.DateField(
        label="From", required=False, widget=DateInput(), error_messages={"invalid": DATE_ERROR}
    )
    until = forms.DateField(
        label="To", required=False, widget=DateInput(), error_messages={"invalid": DATE_ERROR}
    )
    before = forms.IntegerField(required=False, min_value=1, max_value=2**62, widget=forms.HiddenInput)

    def __init__(self, *args, with_action: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_action:
            self.fields["action"].choices = [("", "Any action")] + [
                (a.code, a.label) for a in known_actions()
            ]
        else:
            del self.fields["action"]
        self.fields["target_type"].choices = [("", "Any kind")] + known_types()
        for name in ("action", "target_type"):
            if name in self.fields:
                self.fields[name].error_messages["invalid_choice"] = (
                    "The portal records no such value: choose one from the list."
                )

    def clean_person(self) -> str:
        name = " ".join(self.cleaned_data.get("person", "").split())
        if name:
            ids, usernames = people_named(name)
            if not ids and not usernames:
                raise forms.ValidationError(f"No one in the portal is called “{name}”.")
            self._people = (tuple(ids), tuple(usernames))
        return name

    def clean(self):
        data = super().clean()
        for name in ("since", "until"):
            day = data.get(name)
            if day and not EARLIEST <= day <= LATEST:
                self.add_error(name, f"Enter a date from {EARLIEST.isoformat()} to {LATEST.isoformat()}.")
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the period comes before its start.")
        return data

    def query(self) -> EventQuery | None:
        """The filters as an ``EventQuery``; ``None`` when any is wrong (show no rows)."""
        if not self.is_bound:
            return EventQuery()
        if not self.is_valid():
            return None
        data = self.cleaned_data
        ids, usernames = getattr(self, "_people", (None, ()))
        return EventQuery(
            actor_ids=ids,
            actor_usernames=usernames,
            action=data.get("action", ""),
            target_type=data.get("target_type", ""),
            target=data.get("target", "").strip(),
            since=data.get("since"),
            until=data.get("until"),
        )
