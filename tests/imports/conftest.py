from __future__ import annotations

import io

import pytest

from imports import services
from imports.mapping import suggest_mapping
from imports.models import ImportJob


@pytest.fixture
def run_import(sales_rep):
    """Upload, map (as suggested, or as given), start and run an import as a user would."""

    def run(
        content: bytes | str,
        *,
        resource: str = "contacts",
        name: str = "people.csv",
        policy: str = "skip",
        mapping: dict[str, str] | None = None,
        default_country: str = "FI",
        date_format: str = "%Y-%m-%d",
        actor=None,
    ) -> ImportJob:
        actor = actor or sales_rep
        data = content.encode() if isinstance(content, str) else content
        job = services.import_stage(actor=actor, resource=resource, stream=io.BytesIO(data), file_name=name)
        services.import_configure(
            actor=actor,
            job=job,
            mapping=mapping or suggest_mapping(resource, job.headers),
            policy=policy,
            default_country=default_country,
            date_format=date_format,
        )
        services.import_start(actor=actor, job=job)
        services.import_run(job_id=job.pk)
        job.refresh_from_db()
        return job

    return run


@pytest.fixture
def undo(sales_rep, django_capture_on_commit_callbacks):
    """Undo as the result page does: the request queues the job; its task runs (eagerly) once that commits."""

    def run(job: ImportJob, *, actor=None) -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            services.import_undo(actor=actor or sales_rep, job=job)
        job.refresh_from_db()
        return job

    return run
