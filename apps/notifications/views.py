"""What the portal sent me: every message addressed to the signed-in person, newest first,
with how it was delivered. Only one's own: the list is filtered by the person's recipient key,
so nobody can page through another person's messages."""

from __future__ import annotations

from django.shortcuts import render

from apps.accounts.access import authenticated
from apps.common.pagination import paginate
from apps.notifications.selectors import for_person_of
from apps.notifications.tables import NotificationTable

PER_PAGE = 50


@authenticated
def mine(request):
    table = NotificationTable(for_person_of(request.user))
    paginate(request, table, per_page=PER_PAGE, lazy=True)
    return render(request, "notifications/pages/mine.html", {"table": table})
