from django.urls import path

from apps.protection import views

app_name = "protection"
urlpatterns = [
    path("report/", views.report_new, name="report"),
    path("follow/", views.follow, name="follow"),
    path("mine/", views.mine, name="mine"),
    path("mine/<int:pk>/", views.mine_case, name="mine_case"),
    path("check-ins/", views.check_ins, name="check_ins"),
    path("desk/", views.desk, name="desk"),
    path("cases/<int:pk>/", views.case, name="case"),
    path("cases/<int:pk>/take/", views.take, name="take"),
    path("files/<int:pk>/", views.attachment, name="attachment"),
    path("disclosures/<int:pk>/", views.disclosure, name="disclosure"),
    path("flags/", views.flags, name="flags"),
    path("flags/<int:pk>/close/", views.flag_close, name="flag_close"),
    path("actions/new/", views.adverse_new, name="adverse_new"),
    path("actions/<int:pk>/sign-off/", views.sign_off, name="sign_off"),
    path("statistics/", views.statistics, name="statistics"),
    path("api/adverse-actions/", views.api_adverse_action, name="api_adverse_action"),
]
