from django.urls import path

from apps.policies import views

app_name = "policies"
urlpatterns = [
    path("", views.policy_list, name="list"),
    path("new/", views.policy_edit, name="new"),
    path("<int:pk>/", views.policy_detail, name="detail"),
    path("<int:pk>/edit/", views.policy_edit, name="edit"),
    path("<int:pk>/review/", views.policy_review, name="review"),
    path("services/", views.service_list, name="services"),
    path("calendars/", views.calendar_list, name="calendars"),
    path("calendars/new/", views.calendar_edit, name="calendar_new"),
    path("calendars/<int:pk>/", views.calendar_detail, name="calendar"),
    path("calendars/<int:pk>/edit/", views.calendar_edit, name="calendar_edit"),
    path(
        "calendars/changes/<int:pk>/cancel/", views.calendar_change_cancel_view, name="calendar_change_cancel"
    ),
    path("maintenance/", views.maintenance_list, name="maintenance"),
    path("maintenance/new/", views.maintenance_new, name="maintenance_new"),
    path("freezes/", views.freeze_list, name="freezes"),
    path("freezes/new/", views.freeze_new, name="freeze_new"),
]
