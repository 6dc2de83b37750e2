from django.urls import path

from customfields import views

app_name = "customfields"

urlpatterns = [
    path("", views.field_list, name="list"),
    path("new/", views.field_create, name="create"),
    path("<int:pk>/edit/", views.field_edit, name="edit"),
    path("<int:pk>/archive/", views.field_archive, name="archive"),
    path("<int:pk>/restore/", views.field_restore, name="restore"),
    path("<int:pk>/purge/", views.field_purge, name="purge"),
]
