from django.urls import path

from invitations import views

app_name = "invitations"

urlpatterns = [
    path("invitations/accept/<str:token>/", views.accept, name="accept"),
    path("invitations/accept/<str:token>/sign-out/", views.accept_sign_out, name="accept_sign_out"),
    path("contacts/<int:pk>/invite/", views.invite_contact, name="invite_contact"),
    path("accounts/<int:pk>/invite/", views.invite_account, name="invite_account"),
    path("leads/<int:pk>/invite/", views.invite_lead, name="invite_lead"),
    path("invitations/<int:pk>/resend/", views.invitation_resend, name="resend"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="revoke"),
    path("invitations/batches/", views.batch_list, name="batch_list"),
    path("invitations/batches/new/", views.batch_new, name="batch_new"),
    path("invitations/batches/sample/", views.batch_sample, name="batch_sample"),
    path("invitations/batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("invitations/batches/<int:pk>/cancel/", views.batch_cancel, name="batch_cancel"),
    path("portal/organisation/invitations/", views.portal_invitations, name="portal_invitations"),
    path(
        "portal/organisation/invitations/<int:pk>/resend/",
        views.portal_invitation_resend,
        name="portal_invitation_resend",
    ),
    path(
        "portal/organisation/invitations/<int:pk>/revoke/",
        views.portal_invitation_revoke,
        name="portal_invitation_revoke",
    ),
]
