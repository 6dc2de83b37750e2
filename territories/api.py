"""API resources ``territories`` and ``teams`` (with ``{id}/members/``), over the same services.

Every staff user and key with ``territories:read`` / ``teams:read`` reads them; writes need the
``:write`` scope *and* a sales manager or operations behind the request (the services check it).
Registered in ``api/urls.py`` like every resource.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.response import Response

from api.filters import ApiFilterSet
from api.serializers import StaffOwnerField, StrictSerializer
from api.viewsets import CreateMixin, DestroyMixin, ListMixin, ResourceViewSet, RetrieveMixin, UpdateMixin
from core.listing import Sort
from iam.models import User
from territories import selectors, services
from territories.models import Team, TeamMembership, Territory
from territories.regions import REGIONS

CREATED = Sort("-created", "Newest first", "created_at", descending=True)
UPDATED_ASC = Sort("updated_at", "Least recently changed first (incremental sync)", "updated_at")
POSITION = Sort("position", "In matching order (first match wins)", "position")


def _problem(exc: ValidationError) -> DRFValidationError:
    return DRFValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})


class TerritorySerializer(StrictSerializer):
    countries = serializers.ListField(child=serializers.CharField(max_length=2), required=False)
    regions = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(REGIONS)), required=False, help_text="Region keys."
    )
    industries = serializers.ListField(child=serializers.CharField(max_length=32), required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    owner = StaffOwnerField(required=False, allow_null=True, help_text="Staff user id.")

    class Meta:
        model = Territory
        fields = [
            "id",
            "name",
            "position",
            "is_active",
            "countries",
            "regions",
            "industries",
            "custom_field",
            "custom_value",
            "team",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class MemberSerializer(serializers.ModelSerializer[TeamMembership]):
    user = StaffOwnerField(help_text="Staff user id.")
    out_of_office_from = serializers.DateField(source="user.out_of_office_from", read_only=True, allow_null=True)
    out_of_office_until = serializers.DateField(source="user.out_of_office_until", read_only=True, allow_null=True)

    class Meta:
        model = TeamMembership
        fields = [
            "user",
            "max_open_leads",
            "max_open_cases",
            "accepts_assignments",
            "out_of_office_from",
            "out_of_office_until",
        ]


class TeamSerializer(StrictSerializer):
    manager = StaffOwnerField(required=False, allow_null=True, help_text="Staff user id.")
    members = MemberSerializer(source="memberships", many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "key", "name", "description", "manager", "members", "created_at", "updated_at"]
        read_only_fields = ["id", "members", "created_at", "updated_at"]


class TeamUpdateSerializer(TeamSerializer):
    class Meta(TeamSerializer.Meta):
        read_only_fields = [*TeamSerializer.Meta.read_only_fields, "key"]


class _Filter(ApiFilterSet):
    owner = None  # type: ignore[assignment]
    search_fields = ("name",)


class TerritoryFilter(_Filter):
    class Meta:
        model = Territory
        fields: list[str] = []


class TeamFilter(_Filter):
    class Meta:
        model = Team
        fields: list[str] = []


def _apply(record: Any, data: dict[str, Any]) -> Any:
    for name, value in data.items():
        setattr(record, name, value)
    return record


@extend_schema_view(
    list=extend_schema(summary="List territories (in matching order with ordering=position)"),
    retrieve=extend_schema(summary="Get a territory"),
    create=extend_schema(summary="Define a territory (sales managers and operations)"),
    partial_update=extend_schema(summary="Change a territory; a rename follows on its accounts"),
    destroy=extend_schema(summary="Delete a territory; accounts it was derived for lose it"),
)
class TerritoryViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, ResourceViewSet):
    resource = "territories"
    serializer_class = TerritorySerializer
    filterset_class = TerritoryFilter
    account_field = None
    orderings = {s.key: s for s in (CREATED, UPDATED_ASC, POSITION)}

    @staticmethod
    def selector(*, user: User) -> QuerySet[Territory]:
        return selectors.territory_list(user=user)

    def perform_create(self, data: dict[str, Any]) -> Territory:
        try:
            return services.territory_save(actor=self.request.user, territory=_apply(Territory(), data))
        except ValidationError as exc:
            raise _problem(exc) from exc

    def perform_update(self, territory: Territory, data: dict[str, Any]) -> Territory:
        try:
            return services.territory_save(actor=self.request.user, territory=_apply(territory, data))
        except ValidationError as exc:
            raise _problem(exc) from exc

    def perform_destroy(self, territory: Territory) -> None:
        services.territory_delete(actor=self.request.user, territory=territory)


def _teams_for(user: User) -> QuerySet[Team]:
    """Every team, with members, for any staff reader (the UI narrows a rep's page, not the API)."""
    from iam.permissions import is_crm_user

    if not is_crm_user(user):
        return Team.objects.none()
    members = TeamMembership.objects.select_related("user").order_by("id")
    return Team.objects.select_related("manager").prefetch_related(Prefetch("memberships", queryset=members)).all()


@extend_schema_view(
    list=extend_schema(summary="List teams with their members, capacities and out-of-office"),
    retrieve=extend_schema(summary="Get a team"),
    create=extend_schema(summary="Create a team (sales managers and operations)"),
    partial_update=extend_schema(summary="Change a team's name, description or manager"),
    destroy=extend_schema(summary="Delete a team no assignment rule routes to"),
)
class TeamViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, ResourceViewSet):
    resource = "teams"
    serializer_class = TeamSerializer
    filterset_class = TeamFilter
    account_field = None
    orderings = {s.key: s for s in (CREATED, UPDATED_ASC)}

    @staticmethod
    def selector(*, user: User) -> QuerySet[Team]:
        return _teams_for(user)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return TeamUpdateSerializer
        if self.action == "members":
            return MemberSerializer
        return super().get_serializer_class()

    def perform_create(self, data: dict[str, Any]) -> Team:
        try:
            return services.team_save(actor=self.request.user, team=_apply(Team(), data))
        except ValidationError as exc:
            raise _problem(exc) from exc

    def perform_update(self, team: Team, data: dict[str, Any]) -> Team:
        try:
            return services.team_save(actor=self.request.user, team=_apply(team, data))
        except ValidationError as exc:
            raise _problem(exc) from exc

    def perform_destroy(self, team: Team) -> None:
        try:
            services.team_delete(actor=self.request.user, team=team)
        except ValidationError as exc:
            raise _problem(exc) from exc

    @extend_schema(
        summary="Add a member, or change a member's capacity (the same user again)",
        request=MemberSerializer,
        responses={200: MemberSerializer, 201: MemberSerializer},
        filters=False,
    )
    @action(detail=True, methods=["post"])
    def members(self, request, *args, **kwargs):
        team = self.get_object()
        serializer = MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with transaction.atomic():
            membership = TeamMembership.objects.filter(team=team, user=data["user"]).first()
            created = membership is None
            membership = _apply(membership or TeamMembership(team=team), data)
            try:
                membership = services.team_member_save(actor=request.user, membership=membership)
            except ValidationError as exc:
                raise _problem(exc) from exc
        return Response(
            MemberSerializer(membership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(summary="Take a member out of the team", request=None, responses={204: None}, filters=False)
    @action(detail=True, methods=["delete"], url_path="members/<int:user_id>")
    def member_remove(self, request, *args, user_id: int, **kwargs):
        team = self.get_object()
        membership = TeamMembership.objects.filter(team=team, user_id=int(user_id)).first()
        if membership is None:
            raise NotFound("No such member.")
        services.team_member_remove(actor=request.user, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)
