"""Staff pages of webhook endpoints (operations)."""

from django.urls import path

from webhooks import views

app_name = "webhooks"

_endpoint = "<int:endpoint_pk>"

urlpatterns = [
    path("", views.endpoint_list, name="endpoint_list"),
    path("new/", views.endpoint_create, name="endpoint_create"),
    path(f"{_endpoint}/", views.endpoint_detail, name="endpoint_detail"),
    path(f"{_endpoint}/edit/", views.endpoint_edit, name="endpoint_edit"),
    path(f"{_endpoint}/disable/", views.endpoint_disable, name="endpoint_disable"),
    path(f"{_endpoint}/enable/", views.endpoint_enable, name="endpoint_enable"),
    path(f"{_endpoint}/rotate-secret/", views.endpoint_rotate_secret, name="endpoint_rotate_secret"),
    path(f"{_endpoint}/test/", views.endpoint_send_test, name="endpoint_send_test"),
    path(f"{_endpoint}/deliveries/<int:delivery_pk>/", views.delivery_detail, name="delivery_detail"),
    path(f"{_endpoint}/deliveries/<int:delivery_pk>/redeliver/", views.delivery_redeliver, name="delivery_redeliver"),
]
