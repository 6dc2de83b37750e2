"""API resource ``workflow-rules``: CRUD over the same services as the builder, the run log
(``{id}/runs/``) and a dry-run (``POST {id}/dry-run/``, changes nothing).

Scopes ``workflow-rules:read|write``. Staff who may not manage rules (sales reps) find none: the
same 404 as a missing id, like webhook endpoints.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from api.idempotency import idempotent
from api.pagination import KeysetCursorPagination
from api.serializers import StrictPlainSerializer, StrictSerializer
from api.viewsets import CreateMixin, DestroyMixin, ListMixin, ResourceViewSet, RetrieveMixin, UpdateMixin
from core.listing import Sort
from iam.models import User
from iam.permissions import can_manage_workflows
from workflows import engine, services
from workflows.models import Rule, RuleRun
from workflows.selectors import rule_list, rule_runs

POSITION = Sort("position", "Running order", "position")
NEWEST = Sort("-id", "Newest first", "id", descending=True)


class WorkflowRuleSerializer(StrictSerializer):
    conditions = serializers.JSONField(
        required=False,
        help_text='A tree: {"all": [...]} or {"any": [...]} of {"field": "account.tier", "op": "eq", "value": "key"}.',
    )
    actions = serializers.JSONField(help_text='A list of {"type": "task" | "assign" | …, …settings}.')
    change_conditions = serializers.JSONField(
        required=False, help_text='For changed/saved triggers: [{"field": "status", "from": "new", "to": "qualified"}].'
    )
    owner: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "description",
            "record_type",
            "trigger",
            "change_conditions",
            "event",
            "time_field",
            "time_offset_hours",
            "conditions",
            "actions",
            "enabled",
            "max_depth",
            "version",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "owner", "created_at", "updated_at"]


class RuleRunSerializer(StrictSerializer):
    log = serializers.JSONField(read_only=True)

    class Meta:
        model = RuleRun
        fields = [
            "id",
            "event_key",
            "record_type",
            "record_id",
            "record_label",
            "status",
            "reason",
            "depth",
            "attempts",
            "log",
            "created_at",
            "finished_at",
        ]


class DryRunLineSerializer(StrictPlainSerializer):
    at = serializers.DateTimeField(allow_null=True)
    record_type = serializers.CharField()
    record_id = serializers.IntegerField(allow_null=True)
    record_label = serializers.CharField()
    fire = serializers.BooleanField()
    reason = serializers.CharField()


class DryRunSerializer(StrictPlainSerializer):
    days = serializers.IntegerField()
    would_fire = serializers.IntegerField()
    would_skip = serializers.IntegerField()
    lines = DryRunLineSerializer(many=True)


class _RunOrdering:
    orderings: ClassVar[dict[str, Sort]] = {"-created": Sort("-created", "Newest first", "created_at", descending=True)}


@extend_schema_view(
    list=extend_schema(summary="List workflow rules (in running order)"),
    retrieve=extend_schema(summary="Get a workflow rule"),
    create=extend_schema(summary="Create a workflow rule (switched off unless enabled is true)"),
    partial_update=extend_schema(summary="Change a workflow rule (a new version; enabled switches it on or off)"),
    destroy=extend_schema(summary="Delete a workflow rule and its run log"),
)
class WorkflowRuleViewSet(ListMixin, RetrieveMixin, CreateMixin, UpdateMixin, DestroyMixin, ResourceViewSet):
    resource = "workflow-rules"
    account_field = None  # rules act on every account's records: keys restricted to accounts see none
    serializer_class = WorkflowRuleSerializer
    orderings: ClassVar[dict[str, Sort]] = {s.key: s for s in (POSITION, NEWEST)}

    @staticmethod
    def selector(*, user: User) -> QuerySet:
        return rule_list() if can_manage_workflows(user) else Rule.objects.none()

    def perform_create(self, data: dict[str, Any]) -> Rule:
        enabled = data.pop("enabled", False)
        rule = services.rule_create(actor=self.request.user, rule=Rule(**data))
        if enabled:
            rule = services.rule_set_enabled(actor=self.request.user, rule=rule, enabled=True)
        return rule

    def perform_update(self, record: Rule, data: dict[str, Any]) -> Rule:
        enabled = data.pop("enabled", None)
        rule = services.rule_update(actor=self.request.user, rule=record, changes=data) if data else record
        if enabled is not None:
            rule = services.rule_set_enabled(actor=self.request.user, rule=rule, enabled=enabled)
        return rule

    def perform_destroy(self, record: Rule) -> None:
        services.rule_delete(actor=self.request.user, rule=record)

    @extend_schema(
        summary="The rule's run log: fired, skipped (and why), failed", responses=RuleRunSerializer(many=True)
    )
    @action(detail=True, methods=["get"], pagination_class=KeysetCursorPagination, filter_backends=[])
    def runs(self, request, pk=None):
        page = self.paginator.paginate_queryset(rule_runs(self.get_object()), request, view=_RunOrdering)  # type: ignore[union-attr,arg-type]
        return self.paginator.get_paginated_response(RuleRunSerializer(page, many=True).data)  # type: ignore[union-attr]

    @extend_schema(
        summary="What the rule would have done over the last 30 days (changes nothing)",
        request=None,
        responses=DryRunSerializer,
    )
    @action(detail=True, methods=["post"], url_path="dry-run", filter_backends=[])
    def dry_run(self, request, pk=None):
        if not can_manage_workflows(request.user):
            self.permission_denied(request, message="Only sales managers and operations dry-run rules.")

        def handler() -> Response:
            lines = engine.dry_run(self.get_object())
            fire = sum(1 for line in lines if line.fire)
            body = {
                "days": engine.DRY_RUN_DAYS,
                "would_fire": fire,
                "would_skip": len(lines) - fire,
                "lines": [{**line.__dict__, "record_label": line.label} for line in lines[:500]],
            }
            return Response(DryRunSerializer(body).data)

        return idempotent(request, handler)
