"""Identity and access in the operations console: every change through ``iam.services``, audited.

The user page is no back door: staff rights, superuser rights and a user's active flag change
through ``iam.services.user_update``, which checks who may grant what and audits it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from allauth.account.admin import EmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.idp.oidc.admin import ClientAdmin as _AllauthClientAdmin
from allauth.idp.oidc.admin import TokenAdmin
from allauth.idp.oidc.models import Client as _OIDCClient
from allauth.idp.oidc.models import Token
from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from allauth.usersessions.admin import UserSessionAdmin
from allauth.usersessions.models import UserSession
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from core.admin import SERVICE_REFUSALS, ServiceModelAdmin, ServiceRefused
from core.errors import BusinessRuleViolation
from iam import services
from iam.models import Application, ApplicationRole, AuditEvent, BusinessRole, Membership, User
from iam.oidc import services as oidc_services
from iam.permissions import can_use_admin

USER_CHANGEABLE = (*services.USER_NAME_FIELDS, *services.USER_ACCESS_FIELDS)


class ServicePasswordForm(AdminPasswordChangeForm):
    """Django's password form, saving through ``iam.services.user_password_set`` as ``actor``."""

    actor: User

    def save(self, commit: bool = True) -> User:
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        try:
            self.user = services.user_password_set(actor=self.actor, user=self.user, password=password)
        except SERVICE_REFUSALS as error:
            raise ServiceRefused(error, self.user) from error
        return self.user


@admin.register(User)
class UserAdmin(ServiceModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "staff_role", "is_active", "last_login"]
    list_filter = ["is_staff", "staff_role", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "staff_role", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    actions = ["reset_mfa"]

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        # The email is the login and allauth's verified address: it changes through the user's
        # own account pages, where the new address is verified.
        return ["email", "last_login", "date_joined"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # deactivate instead: the user's audit trail and records keep their name

    def service_save(
        self, request: HttpRequest, obj: User, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> User:
        data = form.cleaned_data
        if not change:
            password = data["password1"] if data.get("set_usable_password", True) else None
            return services.user_create(actor=request.user, email=data["email"], password=password)
        changes = {name: data[name] for name in form.changed_data if name in USER_CHANGEABLE}
        return services.user_update(actor=request.user, user=obj, changes=changes)

    @admin.action(description="Reset two-factor authentication (lost device)", permissions=["change"])
    def reset_mfa(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            with self._through_service(user):
                services.user_mfa_reset(actor=request.user, user=user)
        self.message_user(request, "Two-factor authentication was reset; they set it up again at sign-in.")

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Django's view builds ``self.change_password_form``: give it this request's actor, on a
        # copy of this (shared) ModelAdmin so no other request sees it.
        class ActorPasswordForm(ServicePasswordForm):
            actor = request.user

        view = copy.copy(self)
        view.change_password_form = ActorPasswordForm
        try:
            return DjangoUserAdmin.user_change_password(view, request, id, form_url)
        except ServiceRefused as refused:
            self._message_refusal(request, refused)
            return HttpResponseRedirect(reverse("admin:iam_user_change", args=[refused.obj.pk]))


# --- Identity and access model -------------------------------------------------------------------
# Membership status and roles change only through iam.services (audited, sessions ended, the
# last-admin rule kept): the admin shows them read-only and changes them with actions.


@admin.register(BusinessRole)
class BusinessRoleAdmin(ServiceModelAdmin):
    list_display = ["name", "key", "delegable", "sort_order"]
    list_editable = ["sort_order"]
    list_filter = ["delegable"]
    search_fields = ["name", "key"]
    filter_horizontal = ["application_roles"]

    def get_readonly_fields(self, request: HttpRequest, obj: BusinessRole | None = None) -> list[str]:
        # The key is what code and tokens refer to ("org_admin", "lead"); rename with the name.
        return ["key"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: BusinessRole | None = None) -> bool:
        return False  # memberships hold roles, and code refers to some by key

    def service_save(
        self, request: HttpRequest, obj: BusinessRole, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> BusinessRole:
        # The list page edits sort_order alone: its form has no application roles, which then stay.
        mapped = form.cleaned_data.get("application_roles")
        return services.business_role_save(actor=request.user, role=obj, application_roles=mapped)


class ApplicationRoleInline(admin.TabularInline):
    model = ApplicationRole
    extra = 1
    fields = ["key", "name"]


@admin.register(Application)
class ApplicationAdmin(ServiceModelAdmin):
    """Applications are registered on the staff Applications page, which makes the OpenID Connect
    client and shows its secret once; here operations change their details and roles."""

    list_display = ["name", "key", "url", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "key"]
    fields = ["key", "name", "description", "url", "is_active", "oidc_client"]
    readonly_fields = ["key", "oidc_client"]
    inlines = [ApplicationRoleInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Application | None = None) -> bool:
        return False  # switch it off (is_active) instead: that ends its sign-ins and keeps its history

    def service_save(
        self, request: HttpRequest, obj: Application, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> Application:
        data = form.cleaned_data
        if set(form.changed_data) & {"name", "description", "url", "is_active"}:
            client = obj.oidc_client
            obj = oidc_services.application_update(
                actor=request.user,
                application=obj,
                name=data["name"],
                description=data["description"],
                url=data["url"],
                is_active=data["is_active"],
                redirect_uris=client.get_redirect_uris() if client else [],
                post_logout_redirect_uris=client.get_post_logout_redirect_uris() if client else [],
            ).application
        roles = _inline_roles(formsets)
        if roles is not None:
            obj = oidc_services.application_roles_set(actor=request.user, application=obj, roles=roles)
        return obj


def _inline_roles(formsets: Sequence[Any]) -> dict[str, str] | None:
    for formset in formsets:
        if formset.model is ApplicationRole:
            return {
                row.cleaned_data["key"]: row.cleaned_data.get("name", "")
                for row in formset.forms
                if row.cleaned_data.get("key") and not row.cleaned_data.get("DELETE")
            }
    return None


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

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False  # every field is read-only: status changes are the actions below

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False  # removing is a status change that keeps the row for the audit trail

    def has_manage_permission(self, request: HttpRequest) -> bool:
        # The services decide per membership (the last-admin rule, who may reactivate what).
        return can_use_admin(request.user)

    @admin.action(description="Suspend selected memberships", permissions=["manage"])
    def suspend(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        _membership_action(services.membership_suspend, "suspended")(self, request, queryset)

    @admin.action(description="Reactivate selected memberships", permissions=["manage"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        _membership_action(services.membership_reactivate, "reactivated")(self, request, queryset)

    @admin.action(description="Remove selected memberships", permissions=["manage"])
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


# --- What allauth and Django register: look, never touch ------------------------------------------


class _LookOnly:
    """Mixed into a library's ModelAdmin: no add, change, delete or bulk action."""

    actions = ()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyClientAdmin(_LookOnly, _AllauthClientAdmin):
    """OpenID Connect clients change only on the Applications pages, where every change is audited."""


class ReadOnlyTokenAdmin(_LookOnly, TokenAdmin):
    """Tokens end through the services (suspension, deactivation, switching an application off)."""


class ReadOnlyEmailAddressAdmin(_LookOnly, EmailAddressAdmin):
    """A verified address lets its owner into registration's auto-approval: only its owner verifies it."""


class ReadOnlyAuthenticatorAdmin(_LookOnly, AuthenticatorAdmin):
    """Second factors are the user's own; a lost one is reset with the users page's action (audited)."""


class ReadOnlyUserSessionAdmin(_LookOnly, UserSessionAdmin):
    """Sessions end when a user is deactivated or loses access (``iam.services``)."""


class ReadOnlyGroupAdmin(_LookOnly, GroupAdmin):
    """Clientele's access is staff roles and business roles; Django's groups grant nothing here."""


for _model, _model_admin in [
    (_OIDCClient, ReadOnlyClientAdmin),
    (Token, ReadOnlyTokenAdmin),
    (EmailAddress, ReadOnlyEmailAddressAdmin),
    (Authenticator, ReadOnlyAuthenticatorAdmin),
    (UserSession, ReadOnlyUserSessionAdmin),
    (Group, ReadOnlyGroupAdmin),
]:
    admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
