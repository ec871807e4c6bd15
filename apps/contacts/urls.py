from django.urls import path

from apps.contacts import views

app_name = "contacts"
urlpatterns = [
    path("teams/", views.teams, name="teams"),
    path("teams/<slug:slug>/", views.team, name="team"),
    path("people/", views.people, name="people"),
    path("people/new/", views.person_edit, name="person_new"),
    path("people/export.csv", views.export_csv, name="export"),
    path("people/import/", views.import_csv, name="import"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("people/<int:pk>/backups/add/", views.backup_add, name="backup_add"),
    path("org-chart/", views.org_chart, name="org_chart"),
    path("on-call/", views.on_call, name="on_call"),
    path("rotations/new/", views.rotation_edit, name="rotation_new"),
    path("rotations/<int:pk>/", views.rotation, name="rotation"),
    path("rotations/<int:pk>/edit/", views.rotation_edit, name="rotation_edit"),
    path("rotations/<int:pk>/overrides/add/", views.override_add, name="override_add"),
]
