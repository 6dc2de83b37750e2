"""API resources ``cases`` (with ``{id}/replies/``) and ``articles``, over the same services.

Registered in ``api/urls.py`` like every resource; scopes ``cases:read|write``, ``articles:read``.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.filters import ApiFilterSet, IdFilter
from api.idempotency import idempotent
from api.serializers import ScopedPrimaryKeyRelatedField, StaffOwnerField, StrictSerializer
from api.viewsets import CreateMixin, HistoryMixin, ListMixin, ResourceViewSet, RetrieveMixin, UpdateMixin
from cases import services
from cases.models import Case, CaseMessage
from cases.selectors import cases_for_staff
from core.errors import BusinessRuleViolation
from core.listing import Sort
from crm.models import Account, Contact
from iam.models import User
from knowledge import selectors as kb
from knowledge.models import Article, ArticleCategory

CREATED = Sort("-created", "Newest first", "created_at", descending=True)
UPDATED_ASC = Sort("updated_at", "Least recently changed first (incremental sync)", "updated_at")


class CaseSerializer(StrictSerializer):
    account = ScopedPrimaryKeyRelatedField(Account)
    contact = ScopedPrimaryKeyRelatedField(Contact, required=False, allow_null=True)
    assignee = StaffOwnerField(required=False, allow_null=True, help_text="Staff user id.")
    # The built-in categories (the schema's enum stays fixed); a retired one is refused by the service.
    category = serializers.ChoiceField(choices=Case.Category.choices, required=False)

    class Meta:
        model = Case
        fields = [
            "id",
            "account",
            "contact",
            "requester_email",
            "subject",
            "description",
            "category",
            "severity",
            "status",
            "team",
            "assignee",
            "channel",
            "sla_state",
            "first_response_due_at",
            "first_responded_at",
            "resolution_due_at",
            "resolved_at",
            "closed_at",
            "merged_into",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "status",
            "channel",
            "sla_state",
            "first_response_due_at",
            "first_responded_at",
            "resolution_due_at",
            "resolved_at",
            "closed_at",
            "merged_into",
            "created_at",
            "updated_at",
        ]


class CaseUpdateSerializer(CaseSerializer):
    """A change: status, assignment and what the case is; not whose it is."""

    status = serializers.ChoiceField(choices=Case.Status.choices, required=False)

    class Meta(CaseSerializer.Meta):
        read_only_fields = [
            *[f for f in CaseSerializer.Meta.read_only_fields if f != "status"],
            "account",
            "contact",
            "requester_email",
            "description",
        ]


class CaseMessageSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=CaseMessage.Kind.choices, default=CaseMessage.Kind.REPLY)
    body = serializers.CharField(max_length=50000)
    status = serializers.ChoiceField(
        choices=Case.Status.choices, required=False, write_only=True, help_text="Then set the case to this status."
    )

    class Meta:
        model = CaseMessage
        fields = ["id", "kind", "body", "status", "author_email", "from_staff", "channel", "created_at"]
        read_only_fields = ["id", "author_email", "from_staff", "channel", "created_at"]


class CaseFilter(ApiFilterSet):
    search_fields = ("subject",)
    owner = None  # type: ignore[assignment]  # a case has an assignee, not an owner
    account = IdFilter(field_name="account_id")
    assignee = IdFilter(field_name="assignee_id", help_text="Staff user id of the assignee.")
    status = django_filters.ChoiceFilter(choices=Case.Status.choices)
    severity = django_filters.ChoiceFilter(choices=Case.Severity.choices)
    team = django_filters.ChoiceFilter(choices=Case.Team.choices)
    sla_state = django_filters.ChoiceFilter(choices=[("ok", "On track"), ("amber", "Near breach"), ("red", "Breached")])

    class Meta:
        model = Case
        fields: list[str] = []


def _problem(exc: ValidationError | BusinessRuleViolation) -> Exception:
    from rest_framework.exceptions import ValidationError as DRFValidationError

    if isinstance(exc, BusinessRuleViolation):
        return exc
    return DRFValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


@extend_schema_view(
    list=extend_schema(summary="List cases"),
    retrieve=extend_schema(summary="Get a case"),
    create=extend_schema(summary="Open a case (its SLA clocks start from the account's service level)"),
    partial_update=extend_schema(summary="Change a case: status, assignee, team, subject, category, severity"),
)
class CaseViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, HistoryMixin, ResourceViewSet):
    resource = "cases"
    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    orderings = {s.key: s for s in (CREATED, UPDATED_ASC)}

    @staticmethod
    def selector(*, user: User) -> QuerySet[Case]:
        return cases_for_staff(user=user)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return CaseUpdateSerializer
        if self.action == "replies":
            return CaseMessageSerializer
        return super().get_serializer_class()

    def perform_create(self, data: dict[str, Any]) -> Case:
        try:
            return services.case_create(actor=self.request.user, channel=Case.Channel.API, **data)
        except (ValidationError, BusinessRuleViolation) as exc:
            raise _problem(exc) from exc

    def perform_update(self, case: Case, data: dict[str, Any]) -> Case:
        actor = self.request.user
        try:
            if "assignee" in data or "team" in data:
                case = services.case_assign(
                    actor=actor, case=case, assignee=data.pop("assignee", case.assignee), team=data.pop("team", None)
                )
            if "status" in data:
                case = services.case_set_status(actor=actor, case=case, status=data.pop("status"))
            if data:
                case = services.case_update(actor=actor, case=case, **data)
        except (ValidationError, BusinessRuleViolation) as exc:
            raise _problem(exc) from exc
        return case

    @extend_schema(
        summary="Reply to the customer (emailed to them) or add an internal note",
        request=CaseMessageSerializer,
        responses={201: CaseMessageSerializer},
        filters=False,
    )
    @action(detail=True, methods=["post"])
    def replies(self, request, *args, **kwargs):
        def handler() -> Response:
            case = self.get_object()
            serializer = CaseMessageSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            try:
                with transaction.atomic():
                    message = services.case_reply(
                        actor=request.user,
                        case=case,
                        body=data["body"],
                        kind=data["kind"],
                        status=data.get("status"),
                        channel=Case.Channel.API,
                    )
            except (ValidationError, BusinessRuleViolation) as exc:
                raise _problem(exc) from exc
            return Response(CaseMessageSerializer(message).data, status=status.HTTP_201_CREATED)

        return idempotent(request, handler)


class ArticleSerializer(StrictSerializer):
    category: serializers.SlugRelatedField[ArticleCategory] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = Article
        fields = [
            "id",
            "slug",
            "title",
            "summary",
            "body",
            "category",
            "status",
            "visibility",
            "published_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ArticleFilter(ApiFilterSet):
    search_fields = ("title",)
    owner = None  # type: ignore[assignment]  # articles have an author, not an owner
    status = django_filters.ChoiceFilter(choices=Article.Status.choices)
    visibility = django_filters.ChoiceFilter(choices=Article.Visibility.choices)

    class Meta:
        model = Article
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="List knowledge-base articles"),
    retrieve=extend_schema(summary="Get an article"),
)
class ArticleViewSet(ListMixin, RetrieveMixin, HistoryMixin, ResourceViewSet):
    resource = "articles"
    serializer_class = ArticleSerializer
    filterset_class = ArticleFilter
    account_field = None
    orderings = {s.key: s for s in (CREATED, UPDATED_ASC)}

    @staticmethod
    def selector(*, user: User) -> QuerySet[Article]:
        return kb.articles_for_staff(user=user)
