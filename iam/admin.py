from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from core.errors import BusinessRuleViolation
from iam import services
from iam.models import Application, ApplicationRole, AuditEvent, BusinessRole, Membership, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "staff_role", "is_active", "last_login"]
    list_filter = ["is_staff", "staff_role", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "staff_role", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


# --- Identity and access model -------------------------------------------------------------------
# Membership status and roles change only through iam.services (audited, sessions ended, the
# last-admin rule kept): the admin shows them read-only and changes them with actions.


@admin.register(BusinessRole)
class BusinessRoleAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "delegable", "sort_order"]
    list_editable = ["sort_order"]
    list_filter = ["delegable"]
    search_fields = ["name", "key"]
    filter_horizontal = ["application_roles"]

    def get_readonly_fields(self, request: HttpRequest, obj: BusinessRole | None = None) -> list[str]:
        # The key is what code and tokens refer to ("org_admin", "lead"); rename with the name.
        return ["key"] if obj is not None else []


class ApplicationRoleInline(admin.TabularInline):
    model = ApplicationRole
    extra = 1
    fields = ["key", "name"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "url", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "key"]
    inlines = [ApplicationRoleInline]


def _membership_action(service: Callable[..., Membership], done: str) -> Callable[..., None]:
    def action(modeladmin: MembershipAdmin, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        changed, refused = 0, []
        for membership in queryset.select_related("user", "account"):
            try:
                service(actor=request.user, membership=membership)
            except (BusinessRuleViolation, PermissionDenied) as exc:
                refused.append(f"{membership}: {exc}")
            else:
                changed += 1
        if changed:
            modeladmin.message_user(request, f"{changed} membership(s) {done}.", messages.SUCCESS)
        for message in refused:
            modeladmin.message_user(request, message, messages.ERROR)

    return action


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "status", "suspended_by", "is_org_admin", "is_lead_only", "status_changed_at"]
    list_filter = ["status", "suspended_by", "is_org_admin", "is_lead_only"]
    list_select_related = ["user", "account"]
    search_fields = ["user__email", "account__name"]
    show_full_result_count = False
    fields = [
        "user",
        "account",
        "contact",
        "status",
        "suspended_by",
        "roles",
        "is_org_admin",
        "is_lead_only",
        "created_at",
        "status_changed_at",
        "updated_at",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # stubs: fields may nest; these are names only
    actions = ["suspend", "reactivate", "remove"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # staff add portal users from the account page; customers invite their own

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False  # removing is a status change that keeps the row for the audit trail

    @admin.action(description="Suspend selected memberships", permissions=["change"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        _membership_action(services.membership_suspend, "suspended")(self, request, queryset)

    @admin.action(description="Reactivate selected memberships", permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        _membership_action(services.membership_reactivate, "reactivated")(self, request, queryset)

    @admin.action(description="Remove selected memberships", permissions=["change"])
    def remove(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        _membership_action(services.membership_remove, "removed")(self, request, queryset)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only: viewable, never added, changed or deleted here."""

    list_display = ["occurred_at", "action", "actor_label", "account", "target_label", "ip_address"]
    list_select_related = ["actor", "account"]
    search_fields = ["action", "actor_label", "target_label", "target_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    ordering = ["-occurred_at", "-id"]

    def get_readonly_fields(self, request: HttpRequest, obj: AuditEvent | None = None) -> list[str]:
        return [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False


# --- OpenID Connect clients: changed only on the Applications pages, where every change is audited.
from allauth.idp.oidc.admin import ClientAdmin as _AllauthClientAdmin  # noqa: E402
from allauth.idp.oidc.models import Client as _OIDCClient  # noqa: E402


class ReadOnlyClientAdmin(_AllauthClientAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


admin.site.unregister(_OIDCClient)
admin.site.register(_OIDCClient, ReadOnlyClientAdmin)
