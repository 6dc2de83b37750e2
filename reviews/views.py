"""The org admin's access review page in the portal: one form, every person, one submit."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from core.errors import BusinessRuleViolation
from core.http import PortalHttpRequest
from iam.views import org_admin_required
from reviews.models import AccessReview, AccessReviewAnswer
from reviews.services import ReviewAnswer, review_for, review_people, review_submit

Answer = AccessReviewAnswer.Answer


def _answers(request: PortalHttpRequest, people) -> dict[int, ReviewAnswer]:
    if "all_correct" in request.POST:
        return {}
    answers = {}
    for person in people:
        given = request.POST.get(f"answer-{person.pk}", Answer.CORRECT)
        answers[person.pk] = ReviewAnswer(given, request.POST.get(f"title-{person.pk}", "")[:150])
    return answers


@org_admin_required
def portal_review(request: PortalHttpRequest) -> HttpResponse:
    account = request.membership.account
    review = review_for(actor=request.user, account=account)
    last = AccessReview.objects.filter(account=account, completed_at__isnull=False).first()
    people = review_people(review) if review else []
    errors: dict[str, str] = {}
    answers: dict[int, ReviewAnswer] = {}
    if request.method == "POST" and review is not None:
        answers = _answers(request, people)
        try:
            done = review_submit(actor=request.user, review=review, answers=answers)
        except ValidationError as exc:
            errors = {k: " ".join(v) for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {}
            if not errors:
                messages.error(request, " ".join(exc.messages))
        except BusinessRuleViolation as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Review complete: {done.confirmed} still correct, {done.changed} changed, {done.left} left. "
                "Thank you.",
            )
            return redirect("reviews:portal_review")
    rows = [
        {
            "person": p,
            "answer": answers.get(p.pk, ReviewAnswer(Answer.CORRECT)).answer,
            "title": answers.get(p.pk, ReviewAnswer(Answer.CORRECT)).job_title,
            "error": errors.get(f"answer-{p.pk}") or errors.get(f"title-{p.pk}", ""),
        }
        for p in people
    ]
    context = {
        "account": account,
        "review": review,
        "last": last,
        "rows": rows,
        "has_errors": bool(errors),
        "nav_section": "review",
    }
    return render(request, "reviews/portal_review.html", context, status=400 if errors else 200)
