from django.urls import path

from workflows import views

app_name = "workflows"

urlpatterns = [
    path("", views.rule_index, name="list"),
    path("new/", views.rule_create, name="create"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_create"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("<int:pk>/", views.rule_detail, name="detail"),
    path("<int:pk>/edit/", views.rule_edit, name="edit"),
    path("<int:pk>/dry-run/", views.rule_dry_run, name="dry_run"),
    path("<int:pk>/toggle/", views.rule_toggle, name="toggle"),
    path("<int:pk>/move/", views.rule_move, name="move"),
    path("<int:pk>/delete/", views.rule_delete, name="delete"),
]
