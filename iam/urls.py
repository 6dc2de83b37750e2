from django.urls import path

from iam import views

app_name = "portal"

_member = "organisation/members/<int:membership_pk>"

urlpatterns = [
    path("", views.portal_home, name="home"),
    path("no-access/", views.no_access, name="no_access"),
    path("switch/", views.switch_account, name="switch_account"),
    path("profile/", views.profile, name="profile"),
    path("security/", views.security, name="security"),
    path("organisation/", views.org_members, name="org_members"),
    path(f"{_member}/", views.org_member, name="org_member"),
    path(f"{_member}/roles/", views.org_member_roles, name="org_member_roles"),
    path(f"{_member}/suspend/", views.org_member_suspend, name="org_member_suspend"),
    path(f"{_member}/reactivate/", views.org_member_reactivate, name="org_member_reactivate"),
    path(f"{_member}/remove/", views.org_member_remove, name="org_member_remove"),
    path("organisation/audit/", views.org_audit, name="org_audit"),
]
