from __future__ import annotations

from celery import shared_task


@shared_task(name="imports.import_run", acks_late=True, reject_on_worker_lost=True)
def import_run_task(job_id: int) -> int | None:
    """Run (or resume) an import; a redelivered task continues with the chunks not yet done."""
    from imports.services import import_run

    job = import_run(job_id=job_id)
    return job.processed_rows if job is not None else None


@shared_task(name="imports.import_undo", acks_late=True, reject_on_worker_lost=True)
def import_undo_task(job_id: int) -> int | None:
    """Undo (or go on undoing) an import; a redelivered task continues at the job's cursor."""
    from imports.undo import import_undo_run

    job = import_undo_run(job_id=job_id)
    return job.undo_done if job is not None else None


@shared_task(name="imports.imports_resume_stalled")
def imports_resume_stalled_task() -> int:
    """Re-queue imports and undos whose worker was lost (running or undoing, no progress for a while)."""
    from imports.services import imports_resume_stalled
    from imports.undo import imports_undo_resume_stalled

    return imports_resume_stalled() + imports_undo_resume_stalled()
