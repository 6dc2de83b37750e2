from django.urls import path

from territories import views

app_name = "territories"

urlpatterns = [
    path("", views.team_list, name="team_list"),
    path("new/", views.team_edit, name="team_create"),
    path("<int:pk>/", views.team_detail, name="team_detail"),
    path("<int:pk>/edit/", views.team_edit, name="team_edit"),
    path("<int:pk>/delete/", views.team_delete, name="team_delete"),
    path("<int:pk>/members/", views.member_add, name="member_add"),
    path("<int:pk>/members/<int:member_pk>/", views.member_update, name="member_update"),
    path("out-of-office/", views.out_of_office, name="out_of_office"),
    path("out-of-office/<int:user_pk>/", views.out_of_office, name="out_of_office_for"),
    path("territories/", views.territory_list, name="territory_list"),
    path("territories/new/", views.territory_edit, name="territory_create"),
    path("territories/<int:pk>/", views.territory_edit, name="territory_edit"),
    path("territories/<int:pk>/delete/", views.territory_delete, name="territory_delete"),
    path("territories/re-apply/", views.territories_reapply, name="territories_reapply"),
    path("territories/re-apply/status/", views.run_status, name="run_status"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
]
