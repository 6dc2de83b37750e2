"""Admin building blocks for big tables that services write: a paginator that never counts a
million-row table whole, and a read-only ModelAdmin.

The admin's changelist asks its paginator for ``count`` on every page, and Django's
``Paginator`` answers with ``COUNT(*)``, even with ``show_full_result_count = False`` (that only
skips the second, unfiltered count). At a million contacts that is half the changelist's SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections, models, router, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property

from core.errors import BusinessRuleViolation
from core.forms import add_service_errors
from core.listing import estimated_table_rows

if TYPE_CHECKING:
    # Generic in the stubs only: Django's classes take no subscript at runtime.
    _Paginator = Paginator[Any]
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _Paginator = Paginator
    _ModelAdmin = admin.ModelAdmin


class EstimatedCountPaginator(_Paginator):
    """``count`` is the planner's estimate unfiltered, and bounded filtered, on PostgreSQL.

    - The whole table (no WHERE): ``pg_class.reltuples``, which VACUUM/ANALYZE keep within a
      few percent; a table at or under ``CRM_COUNT_LIMIT`` rows, or never analyzed, is counted
      exactly, which is cheap.
    - Filtered or searched: counted up to ``CRM_COUNT_LIMIT + 1`` rows and no further, so the
      pager offers that many rows' pages and the count reads as "at least".
    - Anything else (SQLite, a list, a UNION): Django's exact count.

    An estimate can be off by a page or two at the end: the last pages' links may show a page
    that turns out empty (the admin then shows its "invalid page" notice) or miss the newest
    rows' last page. That is the price of not reading every row to draw the pager.
    """

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet) or connections[qs.db].vendor != "postgresql" or qs.query.combinator:
            return super().count
        limit = settings.CRM_COUNT_LIMIT
        if not qs.query.where:
            estimate = estimated_table_rows(qs.model)
            if estimate is not None and estimate > limit:
                return estimate
            return super().count
        return qs.order_by().values("pk")[: limit + 1].count()


class ReadOnlyAdmin(_ModelAdmin):
    """Look, never touch: the rows are written (and audited) by services and jobs only.

    No add, change or delete: a delete from the admin would bypass the audit trail.
    """

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


# --- Writing through the services -----------------------------------------------------------------

# What a service raises when it refuses a change: bad input, a role it checks, a business rule.
SERVICE_REFUSALS = (ValidationError, PermissionDenied, BusinessRuleViolation)


class ServiceRefused(Exception):
    """A service refused the admin's write. Raised out of the admin's transaction, so it rolls back.

    Kept apart from ``PermissionDenied`` on purpose: the admin turns its own into a 403, while a
    service's refusal is shown to the operator as a form error or a message.
    """

    def __init__(self, error: Exception, obj: models.Model | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.obj = obj


def refusal_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "This change is not allowed."


class _RefusedFormMixin:
    """Shows the refusal of the last attempt on the form, so the form is invalid and saves nothing."""

    service_refusal: Exception

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        error = self.service_refusal
        if isinstance(error, ValidationError):
            add_service_errors(self, error)  # type: ignore[arg-type]
        else:
            self.add_error(None, refusal_text(error))  # type: ignore[attr-defined]


class ServiceModelAdmin(admin.ModelAdmin):
    """A ModelAdmin that saves and deletes only through the owning app's services.

    The admin's own writes are replaced:

    - ``save_model`` writes nothing; ``save_related`` makes one service call with the form's
      instance, its many-to-many values and its inline rows (``service_save``), so a record and
      its inlines are one change, audited once. The list page's editable columns come the same way.
    - ``delete_model`` and ``delete_queryset`` (the "delete selected" action) call
      ``service_delete`` per record; a refusal of any record keeps them all.
    - A service's ``ValidationError``, ``PermissionDenied`` or ``BusinessRuleViolation`` rolls the
      admin's transaction back (with the service's audit events and its on-commit side effects)
      and comes back as a form error or an error message, never as a 500 or a 403.
    """

    def service_save(
        self, request: HttpRequest, obj: models.Model, form: forms.ModelForm, formsets: Sequence[Any], change: bool
    ) -> models.Model:
        raise NotImplementedError

    def service_delete(self, request: HttpRequest, obj: models.Model) -> None:
        raise NotImplementedError

    @contextmanager
    def _through_service(self, obj: models.Model | None = None) -> Iterator[None]:
        try:
            yield
        except SERVICE_REFUSALS as error:
            raise ServiceRefused(error, obj) from error

    # --- writes ---

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.ModelForm, change: bool) -> None:
        """Nothing yet: the record is saved with its many-to-many values and inlines in ``save_related``."""

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Sequence[Any], change: bool) -> None:
        with self._through_service(form.instance):
            saved = self.service_save(request, form.instance, form, formsets, change)
        if saved is not form.instance:
            # A service that builds its own instance (a logged activity) or re-reads it locked:
            # the admin's response and its log entry point at the saved row.
            form.instance.pk = saved.pk
            form.instance._state.adding = False
        for formset in formsets:
            # The service wrote the inline rows; the admin's change message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        with self._through_service(obj):
            self.service_delete(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            with self._through_service(obj):
                self.service_delete(request, obj)

    def get_deleted_objects(self, objs, request: HttpRequest):
        # What a delete takes with it is the service's rule (it refuses, with a reason, what it
        # must not take), not whether the related models are writable here: most are read-only.
        deleted, model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, model_count, set(), protected

    # --- refusals ---

    def get_form(self, request: HttpRequest, obj: models.Model | None = None, change: bool = False, **kwargs: Any):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form_class

        class RefusedForm(_RefusedFormMixin, form_class):
            service_refusal = refusal

        return RefusedForm

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # Everything the attempt wrote is rolled back; the form is shown again with the reason.
            request._service_refusal = refused.error  # type: ignore[attr-defined]
            return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method != "POST":
            return super().changelist_view(request, extra_context)
        # One transaction for the list's edits and actions: a refused record keeps every record.
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super().changelist_view(request, extra_context)
        except ServiceRefused as refused:
            self._message_refusal(request, refused)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:
            self._message_refusal(request, refused)
            opts = self.model._meta
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def _message_refusal(self, request: HttpRequest, refused: ServiceRefused) -> None:
        which = f"{refused.obj}: " if refused.obj is not None else ""
        self.message_user(request, f"Nothing was changed. {which}{refusal_text(refused.error)}", messages.ERROR)
