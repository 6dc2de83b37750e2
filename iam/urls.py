from django.urls import path

from iam import views

app_name = "portal"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("no-access/", views.no_access, name="no_access"),
    path("switch/", views.switch_account, name="switch_account"),
]
