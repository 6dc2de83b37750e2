from django.urls import path

from reviews import staff_views

app_name = "coverage"

urlpatterns = [
    path("contacts/<int:pk>/verification/", staff_views.contact_verify, name="contact_verify"),
    path("accounts/<int:pk>/nominate-org-admin/", staff_views.org_admin_nominate_view, name="nominate_org_admin"),
]
