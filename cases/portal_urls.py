from django.urls import path

from cases import portal_views as views

app_name = "cases_portal"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.case_new, name="new"),
    path("suggest/", views.suggest, name="suggest"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/reply/", views.case_reply, name="reply"),
    path("<int:pk>/resolve/", views.case_resolve, name="resolve"),
    path("<int:pk>/share/", views.case_share, name="share"),
    path("<int:pk>/unshare/", views.case_unshare, name="unshare"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.case_attachment, name="attachment"),
]
