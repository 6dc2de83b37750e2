"""Operations' view of teams, territories and assignment rules: every write goes through the services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin, ServiceModelAdmin
from territories import services
from territories.models import AssignmentRule, Team, TeamMembership, Territory, TerritoryRun

if TYPE_CHECKING:
    from iam.models import User


def _actor(request: HttpRequest) -> User:
    return cast("User", request.user)  # the admin site lets only signed-in staff in


@admin.register(Team)
class TeamAdmin(ServiceModelAdmin):
    list_display = ["name", "key", "manager"]
    search_fields = ["name", "key"]
    autocomplete_fields = ["manager"]

    def get_readonly_fields(self, request: HttpRequest, obj: Team | None = None) -> list[str]:
        return ["key"] if obj is not None else []

    def service_save(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Team:
        return services.team_save(actor=_actor(request), team=obj)

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        services.team_delete(actor=_actor(request), team=obj)


@admin.register(TeamMembership)
class TeamMembershipAdmin(ServiceModelAdmin):
    list_display = ["user", "team", "max_open_leads", "max_open_cases", "accepts_assignments"]
    list_filter = ["team", "accepts_assignments"]
    search_fields = ["user__email", "team__name"]
    autocomplete_fields = ["user", "team"]

    def get_readonly_fields(self, request: HttpRequest, obj: TeamMembership | None = None) -> list[str]:
        return ["team", "user"] if obj is not None else []

    def service_save(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> TeamMembership:
        return services.team_member_save(actor=_actor(request), membership=obj)

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        services.team_member_remove(actor=_actor(request), membership=obj)


@admin.register(Territory)
class TerritoryAdmin(ServiceModelAdmin):
    list_display = ["name", "position", "is_active", "team", "owner"]
    list_filter = ["is_active", "team"]
    search_fields = ["name"]
    autocomplete_fields = ["team", "owner"]

    def service_save(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Territory:
        return services.territory_save(actor=_actor(request), territory=obj)

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        services.territory_delete(actor=_actor(request), territory=obj)


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(ServiceModelAdmin):
    list_display = ["name", "record_type", "position", "is_active", "strategy", "team", "user"]
    list_filter = ["record_type", "is_active", "strategy"]
    search_fields = ["name"]
    filter_horizontal = ["territories"]
    autocomplete_fields = ["team", "user", "fallback_user"]

    def service_save(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> AssignmentRule:
        return services.rule_save(actor=_actor(request), rule=obj, territories=form.cleaned_data.get("territories"))

    def service_delete(self, request: HttpRequest, obj: Any) -> None:
        services.rule_delete(actor=_actor(request), rule=obj)


@admin.register(TerritoryRun)
class TerritoryRunAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "status", "requested_by", "accounts_checked", "accounts_changed", "finished_at"]
