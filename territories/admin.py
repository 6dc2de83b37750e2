"""Operations' view of teams, territories and assignment rules: every write goes through the services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin, ServiceModelAdmin
from territories import services
from territories.models import AssignmentRule, Team, TeamMembership, Territory, TerritoryRun


@admin.register(Team)
class TeamAdmin(ServiceModelAdmin):
    list_display = ["name", "key", "manager"]
    search_fields = ["name", "key"]
    autocomplete_fields = ["manager"]

    def get_readonly_fields(self, request: HttpRequest, obj: Team | None = None) -> list[str]:
        return ["key"] if obj is not None else []

    def service_save(
        self, request: HttpRequest, obj: Team, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Team:
        return services.team_save(actor=request.user, team=obj)

    def service_delete(self, request: HttpRequest, obj: Team) -> None:
        services.team_delete(actor=request.user, team=obj)


@admin.register(TeamMembership)
class TeamMembershipAdmin(ServiceModelAdmin):
    list_display = ["user", "team", "max_open_leads", "max_open_cases", "accepts_assignments"]
    list_filter = ["team", "accepts_assignments"]
    search_fields = ["user__email", "team__name"]
    autocomplete_fields = ["user", "team"]

    def get_readonly_fields(self, request: HttpRequest, obj: TeamMembership | None = None) -> list[str]:
        return ["team", "user"] if obj is not None else []

    def service_save(
        self, request: HttpRequest, obj: TeamMembership, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> TeamMembership:
        return services.team_member_save(actor=request.user, membership=obj)

    def service_delete(self, request: HttpRequest, obj: TeamMembership) -> None:
        services.team_member_remove(actor=request.user, membership=obj)


@admin.register(Territory)
class TerritoryAdmin(ServiceModelAdmin):
    list_display = ["name", "position", "is_active", "team", "owner"]
    list_filter = ["is_active", "team"]
    search_fields = ["name"]
    autocomplete_fields = ["team", "owner"]

    def service_save(
        self, request: HttpRequest, obj: Territory, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Territory:
        return services.territory_save(actor=request.user, territory=obj)

    def service_delete(self, request: HttpRequest, obj: Territory) -> None:
        services.territory_delete(actor=request.user, territory=obj)


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(ServiceModelAdmin):
    list_display = ["name", "record_type", "position", "is_active", "strategy", "team", "user"]
    list_filter = ["record_type", "is_active", "strategy"]
    search_fields = ["name"]
    filter_horizontal = ["territories"]
    autocomplete_fields = ["team", "user", "fallback_user"]

    def service_save(
        self, request: HttpRequest, obj: AssignmentRule, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> AssignmentRule:
        return services.rule_save(actor=request.user, rule=obj, territories=form.cleaned_data.get("territories"))

    def service_delete(self, request: HttpRequest, obj: AssignmentRule) -> None:
        services.rule_delete(actor=request.user, rule=obj)


@admin.register(TerritoryRun)
class TerritoryRunAdmin(ReadOnlyAdmin):
    list_display = ["requested_at", "status", "requested_by", "accounts_checked", "accounts_changed", "finished_at"]
