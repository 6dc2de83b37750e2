"""Reminders and notifications as staff meet them: the bell, the inbox, task reminders, the digest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.models import Notification, NotificationPreference
from notifications.tasks import digest_send_due_task, task_reminders_send_due_task
from tests.factories import AccountFactory, ActivityFactory

pytestmark = pytest.mark.django_db


def _task(owner, *, due_in: dt.timedelta, **kwargs):
    account = AccountFactory(owner=owner)
    return ActivityFactory(
        kind="task",
        done=False,
        done_at=None,
        owner=owner,
        author=owner,
        account=account,
        subject="Call back about the renewal",
        due_at=timezone.now() + due_in,
        **kwargs,
    )


def _told(user, kind=None):
    qs = Notification.objects.filter(recipient=user)
    return qs.filter(kind=kind) if kind else qs


# --- Task reminders -----------------------------------------------------------------------------


def test_a_due_task_reminds_its_owner_once_however_often_the_job_runs(sales_rep):
    task = _task(sales_rep, due_in=-dt.timedelta(minutes=5))

    assert task_reminders_send_due_task() == 1
    assert task_reminders_send_due_task() == 0

    [reminder] = _told(sales_rep, "task.due")
    assert reminder.title == "Task due: Call back about the renewal"
    assert reminder.url == reverse("crm:account_detail", args=[task.account_id])
    assert (reminder.target_type, reminder.target_id) == ("crm.activity", task.pk)


def test_tasks_not_yet_due_done_or_long_overdue_remind_nobody(sales_rep):
    _task(sales_rep, due_in=dt.timedelta(hours=1))
    done = _task(sales_rep, due_in=-dt.timedelta(minutes=5))
    done.done, done.done_at = True, timezone.now()
    done.save()
    _task(sales_rep, due_in=-dt.timedelta(days=30))

    assert task_reminders_send_due_task() == 0
    assert not _told(sales_rep).exists()


def test_a_task_moved_to_a_new_due_time_reminds_again(sales_rep):
    task = _task(sales_rep, due_in=-dt.timedelta(hours=2))
    task_reminders_send_due_task()
    task.due_at = timezone.now() - dt.timedelta(minutes=1)
    task.save()

    assert task_reminders_send_due_task() == 1
    assert _told(sales_rep, "task.due").count() == 2


# --- The bell and the inbox ---------------------------------------------------------------------


def _bell_count(html: str) -> str | None:
    import re

    match = re.search(r'class="app-bell-badge" data-unread="(\d+)">([^<]+)<', html)
    return match.group(2) if match else None


def test_the_bell_shows_the_unread_count_at_a_constant_query_cost(rep_client, sales_rep, django_assert_max_num_queries):
    page = rep_client.get(reverse("crm:account_list")).content.decode()
    assert f'hx-get="{reverse("notifications:bell")}"' in page  # the page loads the bell after itself

    services.notify(recipient=sales_rep, kind="task.due", title="Task due: first")
    with django_assert_max_num_queries(10) as few:
        html = rep_client.get(reverse("notifications:bell")).content.decode()
    assert _bell_count(html) == "1"

    for number in range(150):
        services.notify(recipient=sales_rep, kind="task.due", title=f"Task due: {number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = rep_client.get(reverse("notifications:bell")).content.decode()
    assert _bell_count(html) == "99+"
    assert 'aria-label="Notifications, 99+ unread"' in html


def test_nobody_sees_or_opens_another_persons_notifications(rep_client, sales_rep, other_rep):
    mine = services.notify(recipient=sales_rep, kind="task.due", title="Task due: mine", url="/accounts/")
    theirs = services.notify(recipient=other_rep, kind="task.due", title="Task due: theirs")

    listing = rep_client.get(reverse("notifications:list")).content.decode()
    menu = rep_client.get(reverse("notifications:menu")).content.decode()
    assert "Task due: mine" in listing
    assert "Task due: mine" in menu
    assert "Task due: theirs" not in listing
    assert "Task due: theirs" not in menu

    assert rep_client.post(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None

    response = rep_client.post(reverse("notifications:open", args=[mine.pk]))
    assert (response.status_code, response.url) == (302, "/accounts/")
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_mark_all_read_touches_only_my_own(rep_client, sales_rep, other_rep):
    services.notify(recipient=sales_rep, kind="task.due", title="a")
    services.notify(recipient=sales_rep, kind="task.due", title="b")
    services.notify(recipient=other_rep, kind="task.due", title="c")

    rep_client.post(reverse("notifications:read_all"))

    assert not _told(sales_rep).filter(read_at__isnull=True).exists()
    assert _told(other_rep).filter(read_at__isnull=True).count() == 1


def test_a_portal_user_has_no_bell_and_no_inbox(external_client):
    assert external_client.get(reverse("notifications:bell")).status_code == 404
    assert external_client.get(reverse("notifications:list")).status_code == 404
    assert external_client.post(reverse("notifications:read_all")).status_code == 404


def test_the_inbox_page_costs_the_same_with_many_notifications(rep_client, sales_rep, django_assert_max_num_queries):
    services.notify(recipient=sales_rep, kind="task.due", title="one")
    with django_assert_max_num_queries(40) as few:
        rep_client.get(reverse("notifications:list"))
    for number in range(120):
        services.notify(recipient=sales_rep, kind="task.due", title=f"n{number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = rep_client.get(reverse("notifications:list"))
    assert "Older" in response.content.decode()


# --- The email digest ---------------------------------------------------------------------------


def test_the_digest_sends_one_email_per_person_once(settings, sales_rep, other_rep, django_capture_on_commit_callbacks):
    settings.SITE_URL = "http://testserver"
    services.notify(recipient=sales_rep, kind="task.due", title="Task due: call Ann", url="/accounts/1/")
    services.notify(recipient=sales_rep, kind="customer.registered", title="Ann of Acme registered")
    services.notify(recipient=other_rep, kind="task.due", title="Task due: call Bob")

    with django_capture_on_commit_callbacks(execute=True):
        assert digest_send_due_task() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert digest_send_due_task() == 0

    assert len(mail.outbox) == 2
    [mine] = [m for m in mail.outbox if m.to == [sales_rep.email]]
    assert mine.subject == "2 updates for you in Clientele"
    html = mine.alternatives[0][0]
    for body in (mine.body, html):
        assert "Task due: call Ann" in body
        assert "Ann of Acme registered" in body
        assert "Task due: call Bob" not in body
        assert "http://testserver/accounts/1/" in body
        assert "http://testserver" + reverse("notifications:preferences") in body


def test_the_digest_respects_opt_out_and_kinds_and_skips_what_was_read(
    rep_client, sales_rep, other_rep, django_capture_on_commit_callbacks
):
    response = rep_client.post(reverse("notifications:preferences"), {"email_digest": "", "kinds": ["task.due"]})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=sales_rep).email_digest is False
    services.preference_update(actor=other_rep, email_digest=True, emailed_kinds=["customer.registered"])

    services.notify(recipient=sales_rep, kind="task.due", title="Task due: opted out")
    services.notify(recipient=other_rep, kind="task.due", title="Task due: muted kind")
    read = services.notify(recipient=other_rep, kind="customer.registered", title="Read already")
    services.mark_read(user=other_rep, ids=[read.pk])

    with django_capture_on_commit_callbacks(execute=True):
        assert digest_send_due_task() == 0
    assert mail.outbox == []
    # The bell still has them all.
    assert _told(sales_rep, "task.due").filter(emailed_at__isnull=True).count() == 1


def test_the_preferences_page_shows_every_kind(rep_client):
    html = rep_client.get(reverse("notifications:preferences")).content.decode()
    assert "A task of yours is due" in html
    assert "Email me a digest of unread notifications" in html
