"""The trail's and the history feed's filters. A value that cannot be what it claims (a
malformed date, an action or kind of record the portal does not know, a name that matches
nobody) is said beside its field, and the page then shows no rows rather than silently
widening to everything."""

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
UNKNOWN = "The portal records no such value: choose one from the list."


class PersonPeriodFilter(BootstrapMixin, forms.Form):
    """Who and when: what the trail and the history feed filter alike."""

    person = forms.CharField(
        label="Person", required=False, max_length=150, help_text="Name or username, e.g. Leo Martins."
    )
    since = forms.DateField(
        label="From", required=False, widget=DateInput(), error_messages={"invalid": DATE_ERROR}
    )
    until = forms.DateField(
        label="To", required=False, widget=DateInput(), error_messages={"invalid": DATE_ERROR}
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


class EventFilter(PersonPeriodFilter):
    action = forms.ChoiceField(label="Action", required=False)
    target_type = forms.ChoiceField(label="Kind of record", required=False)
    target = forms.CharField(
        label="Record",
        required=False,
        max_length=255,
        help_text="As the trail names it, e.g. ESC-2026-00042.",
    )
    before = forms.IntegerField(required=False, min_value=1, max_value=2**62, widget=forms.HiddenInput)
    field_order = ["person", "action", "target_type", "target", "since", "until"]

    def __init__(self, *args, with_action: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_action:
            self.fields["action"].choices = [("", "Any action")] + [
                (a.code, a.label) for a in known_actions()
            ]
            self.fields["action"].error_messages["invalid_choice"] = UNKNOWN
        else:
            del self.fields["action"]
        self.fields["target_type"].choices = [("", "Any kind")] + known_types()
        self.fields["target_type"].error_messages["invalid_choice"] = UNKNOWN

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


class HistoryFilter(PersonPeriodFilter):
    """The history feed's filters: like the trail's, by kind of record instead of action."""

    kind = forms.ChoiceField(label="Kind of record", required=False)
    after = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    field_order = ["person", "kind", "since", "until"]

    def __init__(self, *args, **kwargs):
        from apps.audit.feed import sources

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "Every kind")] + [
            (s.key, s.label) for s in sources() if s.in_feed
        ]
        self.fields["kind"].error_messages["invalid_choice"] = "The portal keeps no history of that kind."

    def clean_after(self):
        from apps.audit.feed import Cursor

        text = self.cleaned_data.get("after", "")
        if text and Cursor.parse(text) is None:
            raise forms.ValidationError("The page link was not valid: start again from the newest changes.")
        return Cursor.parse(text) if text else None

    def query(self):
        from apps.audit.feed import FeedQuery

        if not self.is_bound:
            return FeedQuery()
        if not self.is_valid():
            return None
        data = self.cleaned_data
        people = getattr(self, "_people", None)
        return FeedQuery(
            kinds=(data["kind"],) if data.get("kind") else (),
            user_ids=people[0] if people is not None else None,
            since=data.get("since"),
            until=data.get("until"),
        )


class RetentionRuleForm(BootstrapMixin, forms.Form):
    years = forms.IntegerField(label="Keep for (years)", min_value=1, max_value=100)
    reason = forms.CharField(
        label="Reason for this change", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )


class LegalHoldForm(BootstrapMixin, forms.Form):
    target_type = forms.ChoiceField(label="Hold")
    target_id = forms.CharField(
        label="Record",
        max_length=64,
        help_text="An escalation's reference (ESC-2026-00042) or a record's number.",
    )
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000)

    def __init__(self, *args, **kwargs):
        from apps.audit.retention import ESCALATION, record_types

        super().__init__(*args, **kwargs)
        self.fields["target_type"].choices = [(ESCALATION, "A whole escalation, with everything of it")] + [
            (t.key, f"One record: {t.label}") for t in record_types() if t.key != "audit_events"
        ]
        self.fields["target_type"].error_messages["invalid_choice"] = UNKNOWN


class ReleaseForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(
        label="Why the hold ends", widget=forms.Textarea(attrs={"rows": 2}), max_length=1000
    )
