"""The hourly review job: open the reviews that are due, remind the overdue ones once."""

from __future__ import annotations

from celery import shared_task

from reviews.services import reviews_open_due, reviews_remind_overdue


@shared_task(name="reviews.open_and_remind")
def reviews_open_and_remind() -> dict[str, int]:
    return {"opened": reviews_open_due(), "reminded": reviews_remind_overdue()}
