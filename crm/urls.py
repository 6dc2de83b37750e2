from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("accounts/", views.account_list, name="account_list"),
    path("accounts/new/", views.account_create, name="account_create"),
    path("accounts/options/", views.account_options, name="account_options"),
    path("accounts/<int:pk>/", views.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account_edit"),
    path("accounts/<int:pk>/history/", views.account_history, name="account_history"),
    path("accounts/<int:pk>/timeline/", views.account_timeline, name="account_timeline"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/new/", views.contact_create, name="contact_create"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/history/", views.contact_history, name="contact_history"),
    path("contacts/<int:pk>/verify/", views.contact_verify, name="contact_verify"),
    path("contacts/<int:pk>/timeline/", views.contact_timeline, name="contact_timeline"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/new/", views.lead_create, name="lead_create"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="lead_edit"),
    path("leads/<int:pk>/history/", views.lead_history, name="lead_history"),
    path("leads/<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("leads/<int:pk>/timeline/", views.lead_timeline, name="lead_timeline"),
    path("opportunities/", views.opportunity_list, name="opportunity_list"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/history/", views.opportunity_history, name="opportunity_history"),
    path("opportunities/<int:pk>/timeline/", views.opportunity_timeline, name="opportunity_timeline"),
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<int:pk>/", views.contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/edit/", views.contract_edit, name="contract_edit"),
    path("contracts/<int:pk>/history/", views.contract_history, name="contract_history"),
    path("activities/", views.activity_list, name="activity_list"),
    path("activities/log/", views.activity_create, name="activity_create"),
    path("activities/<int:pk>/done/", views.activity_toggle_done, name="activity_toggle_done"),
    path("accounts/<int:pk>/delete/", views.record_delete, {"record_type": "account"}, name="account_delete"),
    path("contacts/<int:pk>/delete/", views.record_delete, {"record_type": "contact"}, name="contact_delete"),
    path("leads/<int:pk>/delete/", views.record_delete, {"record_type": "lead"}, name="lead_delete"),
    path(
        "opportunities/<int:pk>/delete/", views.record_delete, {"record_type": "opportunity"}, name="opportunity_delete"
    ),
    path("contracts/<int:pk>/delete/", views.record_delete, {"record_type": "contract"}, name="contract_delete"),
]
