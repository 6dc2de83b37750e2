"""API resource ``imports``: upload a file with its mapping and policy, follow its progress, read
its counts, download its failed rows, undo it. Over the same services as the import pages.

Registered in ``api/urls.py`` like every resource; scopes ``imports:read|write``. An import spans
accounts, so a key restricted to accounts sees none and may start none.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.reverse import reverse

from api.idempotency import idempotent
from api.serializers import StrictPlainSerializer, StrictSerializer
from api.viewsets import ListMixin, ResourceViewSet, RetrieveMixin
from core.listing import Sort
from iam.models import User
from imports import selectors, services
from imports.mapping import suggest_mapping
from imports.models import DuplicatePolicy, ImportJob, Resource
from imports.normalise import DATE_FORMATS

CREATED = Sort("-created", "Newest first", "created_at", descending=True)


class ImportSerializer(StrictSerializer):
    progress_percent = serializers.IntegerField(read_only=True, help_text="Rows processed, in per cent.")
    created_by = serializers.SerializerMethodField(help_text="Who uploaded it (staff email).")
    failed_rows_url = serializers.SerializerMethodField(
        help_text="The rows it could not take, as CSV with a reason column; null when none failed."
    )
    undo_percent = serializers.IntegerField(
        read_only=True, help_text="Of the undo: records deleted or put back so far, in per cent (100 when none)."
    )
    undo_url = serializers.SerializerMethodField(
        help_text="POST here to undo the import (while it is done): 202, the job undoing; follow its status."
    )

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "resource",
            "file_name",
            "file_format",
            "headers",
            "mapping",
            "policy",
            "default_country",
            "date_format",
            "status",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "created_count",
            "updated_count",
            "skipped_count",
            "failed_count",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "undo_percent",
            "undone_at",
            "failed_rows_url",
            "undo_url",
        ]
        read_only_fields = fields

    def get_created_by(self, job: ImportJob) -> str:
        return job.created_by.email

    def _url(self, name: str, job: ImportJob) -> str:
        return reverse(name, args=[job.pk], request=self.context.get("request"))

    def get_failed_rows_url(self, job: ImportJob) -> str | None:
        return self._url("api:import-failed-rows", job) if job.failed_count else None

    def get_undo_url(self, job: ImportJob) -> str | None:
        return self._url("api:import-undo", job) if job.status == ImportJob.Status.DONE else None


class ImportCreateSerializer(StrictPlainSerializer):
    file = serializers.FileField(help_text="CSV (UTF-8 with or without BOM, Windows-1252, Latin-1) or XLSX.")
    resource = serializers.ChoiceField(choices=Resource.choices)
    mapping = serializers.JSONField(
        required=False,
        help_text='Column index (as text) → target field, e.g. {"0": "first_name", "2": "email"}; '
        "custom fields as cf:<key>. Left out: suggested from the headers.",
    )
    policy = serializers.ChoiceField(choices=DuplicatePolicy.choices, default=DuplicatePolicy.SKIP)
    default_country = serializers.CharField(
        required=False, allow_blank=True, max_length=2, help_text="For phone numbers without a country code."
    )
    date_format = serializers.ChoiceField(choices=list(DATE_FORMATS), default="%Y-%m-%d")
    start = serializers.BooleanField(default=True, help_text="False: stage and map only (a draft).")

    def validate_mapping(self, value: Any) -> dict[str, str]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError("Send the mapping as a JSON object.") from None
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise serializers.ValidationError('A JSON object of column index → field, e.g. {"0": "email"}.')
        return {str(k): v for k, v in value.items()}


@extend_schema_view(
    list=extend_schema(summary="List imports"),
    retrieve=extend_schema(summary="Get an import: status, progress and counts"),
    create=extend_schema(
        summary="Upload a file and start its import",
        request={"multipart/form-data": ImportCreateSerializer},
        responses={201: ImportSerializer},
    ),
    undo=extend_schema(
        summary="Undo an import: queued as a job (status undoing, then undone)",
        request=None,
        responses={202: ImportSerializer},
    ),
    failed_rows=extend_schema(
        summary="The failed rows as CSV, with the reason and the line",
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)},
    ),
)
class ImportViewSet(ListMixin, RetrieveMixin, ResourceViewSet):
    resource = "imports"
    account_field = None  # an import spans accounts: keys restricted to accounts see none
    serializer_class = ImportSerializer
    orderings = {CREATED.key: CREATED}
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @staticmethod
    def selector(*, user: User):
        return selectors.import_jobs(user=user)

    def create(self, request, *args, **kwargs):
        def handler() -> Response:
            parser = ImportCreateSerializer(data=request.data, context=self.get_serializer_context())
            parser.is_valid(raise_exception=True)
            data = parser.validated_data
            upload = data["file"]
            job = services.import_stage(
                actor=request.user, resource=data["resource"], stream=upload, file_name=upload.name or "upload.csv"
            )
            services.import_configure(
                actor=request.user,
                job=job,
                mapping=data.get("mapping") or suggest_mapping(job.resource, job.headers),
                policy=data["policy"],
                default_country=data.get("default_country", ""),
                date_format=data["date_format"],
            )
            if data["start"]:
                services.import_start(actor=request.user, job=job)
            job.refresh_from_db()
            return self.detail_response(job, status_code=status.HTTP_201_CREATED, location=True)

        return idempotent(request, handler)

    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        def handler() -> Response:
            job = services.import_undo(actor=request.user, job=self.get_object())
            return self.detail_response(job, status_code=status.HTTP_202_ACCEPTED)

        return idempotent(request, handler)

    @action(detail=True, methods=["get"], url_path="failed-rows")
    def failed_rows(self, request, pk=None):
        job = self.get_object()
        response = StreamingHttpResponse(selectors.failed_rows_csv(job), content_type="text/csv; charset=utf-8")
        stem = job.file_name.rsplit(".", 1)[0] or "import"
        response["Content-Disposition"] = f'attachment; filename="{stem}-failed-rows.csv"'
        return response
