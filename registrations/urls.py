from django.urls import path

from registrations import views

app_name = "registrations"

urlpatterns = [
    # Public: the form and the links it emails.
    path("register/", views.register, name="register"),
    path("register/sent/", views.sent, name="sent"),
    path("register/verify/<str:key>/", views.verify, name="verify"),
    path("register/continue/<str:token>/", views.continue_registration, name="continue"),
    path("register/respond/<str:token>/", views.respond, name="respond"),
    # Staff: the approval queue.
    path("registrations/", views.queue, name="queue"),
    path("registrations/<int:pk>/", views.detail, name="detail"),
    path("registrations/<int:pk>/approve/", views.approve, name="approve"),
    path("registrations/<int:pk>/reject/", views.reject, name="reject"),
    path("registrations/<int:pk>/request-info/", views.request_info, name="request_info"),
    path("registrations/<int:pk>/admit-lead/", views.admit_lead, name="admit_lead"),
    # Portal: an org admin confirms the people who joined their organisation.
    path("portal/registrations/", views.portal_confirmations, name="portal_confirmations"),
    path("portal/registrations/<int:pk>/confirm/", views.portal_confirm, name="portal_confirm"),
]
