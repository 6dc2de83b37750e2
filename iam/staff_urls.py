"""Staff pages of identity and access: an account's portal users, and the audit trail."""

from django.urls import path

from iam import staff_views

app_name = "staff_iam"

_member = "accounts/<int:account_pk>/portal-users/<int:membership_pk>"

urlpatterns = [
    path("accounts/<int:account_pk>/portal-users/add/", staff_views.portal_user_add, name="portal_user_add"),
    path(f"{_member}/roles/", staff_views.portal_user_roles, name="portal_user_roles"),
    path(f"{_member}/suspend/", staff_views.portal_user_suspend, name="portal_user_suspend"),
    path(f"{_member}/reactivate/", staff_views.portal_user_reactivate, name="portal_user_reactivate"),
    path(f"{_member}/remove/", staff_views.portal_user_remove, name="portal_user_remove"),
    path("audit/", staff_views.audit_list, name="audit_list"),
    path("audit/export.csv", staff_views.audit_export, name="audit_export"),
]
