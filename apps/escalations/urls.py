from django.urls import path

from apps.escalations import views

app_name = "escalations"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("all/", views.escalation_list, name="list"),
    path("raise/", views.escalation_raise, name="raise"),
    path("<int:pk>/", views.escalation_detail, name="detail"),
    *(path(f"<int:pk>/{verb.__name__}/", verb, name=verb.__name__) for verb in views.VERBS),
]
