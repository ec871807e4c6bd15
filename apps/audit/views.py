from django import forms
from django.shortcuts import render

from apps.accounts.access import requires
from apps.accounts.roles import Cap
from apps.audit.selectors import events_page


class EventFilter(forms.Form):
    action = forms.CharField(required=False, max_length=100, help_text="Prefix, e.g. accounts.")
    actor = forms.CharField(required=False, max_length=150, help_text="Exact username")
    target_type = forms.CharField(required=False, max_length=100, help_text="e.g. accounts.user")
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


@requires(Cap.BROWSE_AUDIT)
def events(request):
    """The audit trail, newest first, keyset-paginated so it costs the same at any size."""
    form = EventFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows, next_cursor = events_page(
        request.user,
        before_seq=filters.get("before"),
        action=filters.get("action", ""),
        actor=filters.get("actor", ""),
        target_type=filters.get("target_type", ""),
    )
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "audit/events.html",
        {"form": form, "events": rows, "next_cursor": next_cursor, "query": query.urlencode()},
    )
