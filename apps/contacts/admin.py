from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from apps.contacts.models import Person, Team


@admin.register(Team)
class TeamAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Person)
class PersonAdmin(SimpleHistoryAdmin):
    list_display = ["full_name", "title", "team", "manager", "authority_rank"]
    list_select_related = ["team", "manager"]
    list_filter = ["team"]
    search_fields = ["full_name", "email", "title"]
