"""The shape every API resource shares: scoped reads, writes through services, retries.

A resource view declares its ``resource`` (the scope name), a ``selector`` (the staff-scoped
queryset from the app's selectors), where its records' account is (``account_field``, for keys
restricted to accounts; ``None``: the record has no account, so such keys see none), its
orderings and filters, and implements ``perform_create`` / ``perform_update`` /
``perform_destroy`` by calling one service each. Out-of-scope ids are the same 404 as missing ones.
The services write the audit events and emit the webhooks; the API writes neither, it only names
the acting key (``core.context``), which every event written while serving the request records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import transaction
from django.db.models import Model, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from api.etags import check_if_match, etag_for
from api.idempotency import idempotent
from api.models import ApiKey
from api.pagination import KeysetCursorPagination
from api.serializers import RecordChangeSerializer
from core.context import ActingCredential, reset_credential, set_credential
from core.listing import Sort
from history.selectors import HISTORY_SORT, record_history

if TYPE_CHECKING:
    from contextvars import Token

    from iam.models import User


class AuthenticatedRequest(Request):
    """A type only: behind ``ApiAccess`` the user is staff, or the user an API key acts for."""

    user: User


class ResourceViewSet(viewsets.GenericViewSet):
    request: AuthenticatedRequest
    _credential_token: Token[ActingCredential | None] | None
    resource: ClassVar[str]
    selector: ClassVar[Callable[..., QuerySet]]
    account_field: ClassVar[str | None] = "account_id"
    orderings: ClassVar[dict[str, Sort]] = {}
    pagination_class = KeysetCursorPagination
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    # --- who is asking -----------------------------------------------------------------------
    @property
    def api_key(self) -> ApiKey | None:
        auth = getattr(self.request, "auth", None)
        return auth if isinstance(auth, ApiKey) else None

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        key = self.api_key
        if (
            key is not None
            and key.account_ids is not None
            and self.account_field is None
            and request.method not in ("GET", "HEAD", "OPTIONS")
        ):
            # Such a key sees none of these records (they belong to no account), so it may not write them.
            raise exceptions.PermissionDenied("A key restricted to accounts cannot write records without an account.")
        if key is not None and key.account_ids is not None and self.account_field == "pk" and self.action == "create":
            # A new account is outside every list of accounts the key was given.
            raise exceptions.PermissionDenied("A key restricted to accounts cannot create accounts.")
        if key is not None:
            # Every audit event written while serving this request names the key as its actor.
            self._credential_token = set_credential(
                ActingCredential(label=key.label, reference={"api_key": key.prefix})
            )

    def dispatch(self, request, *args, **kwargs):
        self._credential_token = None
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._credential_token is not None:
                reset_credential(self._credential_token)

    # --- reads ---------------------------------------------------------------------------------
    def get_queryset(self) -> QuerySet:
        qs = type(self).selector(user=self.request.user)
        key = self.api_key
        if key is not None and key.account_ids is not None:
            if self.account_field is None:
                return qs.none()
            qs = qs.filter(**{f"{self.account_field}__in": key.account_ids})
        return qs

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "scoped_queryset": self.scoped}

    def scoped(self, model) -> QuerySet:
        """Records of another resource that this principal may reference (for foreign keys)."""
        from crm.models import Account

        if not hasattr(model.objects, "visible_to"):
            return model.objects.none()  # default deny: a reference needs a scoped manager
        qs = model.objects.visible_to(self.request.user)
        key = self.api_key
        if key is not None and key.account_ids is not None:
            field = "pk" if model is Account else "account_id"
            if field == "account_id" and not hasattr(model, "account_id"):
                return qs.none()
            qs = qs.filter(**{f"{field}__in": key.account_ids})
        return qs

    def detail_response(self, record: Model, *, status_code: int = status.HTTP_200_OK, location: bool = False):
        headers = {"ETag": etag_for(record)} if hasattr(record, "updated_at") else {}
        if location:
            headers["Location"] = self.request.build_absolute_uri(f"{self.request.path.rstrip('/')}/{record.pk}/")
        return Response(self.get_serializer(record).data, status=status_code, headers=headers)

    # --- writes ---------------------------------------------------------------------------------
    def locked_object(self) -> Model:
        """The record for a write, locked for this transaction, after the If-Match check."""
        record = self.get_object()  # in scope, or the same 404 as a missing id
        locked = type(record).objects.select_for_update().get(pk=record.pk)
        check_if_match(self.request, locked)
        return locked

    def written(self, record: Model) -> Model:
        """The record as a read returns it (annotations and joins of the selector)."""
        return self.get_queryset().get(pk=record.pk)


if TYPE_CHECKING:
    _Resource = ResourceViewSet  # the mixins are only ever mixed into a ResourceViewSet
else:
    _Resource = object


class ListMixin(_Resource):
    def list(self, request, *args, **kwargs):
        qs = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class RetrieveMixin(_Resource):
    def retrieve(self, request, *args, **kwargs):
        return self.detail_response(self.get_object())


class CreateMixin(_Resource):
    if TYPE_CHECKING:

        def perform_create(self, data: dict[str, Any]) -> Model: ...

    def create(self, request, *args, **kwargs):
        def handler() -> Response:
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            record = self.perform_create(serializer.validated_data)
            return self.detail_response(self.written(record), status_code=status.HTTP_201_CREATED, location=True)

        return idempotent(request, handler)


class UpdateMixin(_Resource):
    if TYPE_CHECKING:

        def perform_update(self, record: Any, data: dict[str, Any]) -> Model: ...

    def partial_update(self, request, *args, **kwargs):
        with transaction.atomic():
            record = self.locked_object()
            serializer = self.get_serializer(record, data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            record = self.perform_update(record, serializer.validated_data)
        return self.detail_response(self.written(record))


class HistoryMixin:
    """``GET …/{id}/history/``: the record's changes, newest first, keyset-paged like every list.

    The record is found as ``retrieve`` finds it (out of scope: the same 404 as a missing id).
    """

    @extend_schema(
        summary="The record's history: who changed which field from what to what, when and through what",
        responses=RecordChangeSerializer(many=True),
        filters=False,
        parameters=[
            OpenApiParameter(
                "ordering",
                str,
                OpenApiParameter.QUERY,
                description="Sort order. Default and only: `-changed` (newest first).",
                enum=[HISTORY_SORT.key],
            )
        ],
    )
    @action(detail=True, methods=["get"], pagination_class=KeysetCursorPagination)
    def history(self, request, *args, **kwargs):
        record = self.get_object()
        page = self.paginator.paginate_queryset(record_history(record=record), request, view=HistoryOrdering)
        return self.paginator.get_paginated_response(RecordChangeSerializer(page, many=True).data)

    def filter_queryset(self, queryset):
        if getattr(self, "action", None) == "history":
            return queryset  # the list's filters (?owner=…) do not apply to finding one record's history
        return super().filter_queryset(queryset)


class HistoryOrdering:
    """A history's one ordering, for the paginator: newest first."""

    orderings: ClassVar[dict[str, Sort]] = {"-changed": HISTORY_SORT}


class DestroyMixin:
    def destroy(self, request, *args, **kwargs):
        with transaction.atomic():
            self.perform_destroy(self.locked_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
