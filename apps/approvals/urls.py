from django.urls import path

from apps.approvals import views

app_name = "approvals"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("log/", views.decision_log, name="log"),
    path("bottlenecks/", views.bottlenecks, name="bottlenecks"),
    path("<int:pk>/", views.request_detail, name="request"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("<int:pk>/appeal/", views.appeal, name="appeal"),
    path("<int:pk>/around/", views.escalate_around, name="around"),
    path("freezes/<int:freeze_pk>/exception/", views.freeze_exception, name="freeze_exception"),
    path("briefs/", views.briefs, name="briefs"),
    path("briefs/<int:pk>/", views.brief_detail, name="brief"),
    path("briefs/<int:pk>/acknowledge/", views.brief_ack, name="brief_ack"),
]
