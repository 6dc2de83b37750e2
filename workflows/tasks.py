"""Thin Celery tasks: ids in, engine call, counts out."""

from __future__ import annotations

from celery import shared_task

from workflows import engine


@shared_task(name="workflows.dispatch")
def workflows_dispatch(source: str, ids: list[int], depth: int = 0) -> int:
    return engine.dispatch(source, ids, depth)


@shared_task(name="workflows.run_retry")
def workflows_run_retry(run_id: int) -> str:
    return engine.run_execute(run_id)


@shared_task(name="workflows.run_many")
def workflows_run_many(run_ids: list[int]) -> int:
    return sum(engine.run_execute(pk) == "done" for pk in run_ids)


@shared_task(name="workflows.time_scan")
def workflows_time_scan() -> int:
    return engine.time_scan()


@shared_task(name="workflows.resume_stalled")
def workflows_resume_stalled() -> int:
    return engine.runs_resume_stalled()
