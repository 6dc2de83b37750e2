"""The notification service other apps call: once per event, only to people who can read it."""

from __future__ import annotations

import pytest

from notifications import selectors, services
from notifications.models import Notification
from tests.factories import AccountFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_the_same_event_notifies_once():
    rep = StaffFactory()
    account = AccountFactory(owner=rep)
    first = services.notify(
        recipient=rep, kind="contact.left", title="Ann left Acme", target=account, dedupe_key="left:1"
    )
    again = services.notify(recipient=rep, kind="contact.left", title="Ann left Acme", dedupe_key="left:1")

    assert first is not None
    assert again is None
    assert Notification.objects.filter(recipient=rep).count() == 1
    assert (first.target_type, first.target_id) == ("crm.account", account.pk)


def test_inactive_people_and_nobody_are_skipped_not_refused():
    gone = StaffFactory(is_active=False)
    assert services.notify(recipient=gone, kind="task.due", title="Call back") is None
    assert services.notify(recipient=None, kind="task.due", title="Call back") is None
    assert not Notification.objects.exists()


def test_notify_many_skips_those_already_told_and_duplicates():
    ann, bob = StaffFactory(), StaffFactory()
    services.notify(recipient=ann, kind="case.breached", title="Case 7 breached", dedupe_key="breach:7")
    created = services.notify_many(
        recipients=[ann, bob, bob], kind="case.breached", title="Case 7 breached", dedupe_key="breach:7"
    )
    assert [n.recipient for n in created] == [bob]
    assert Notification.objects.filter(dedupe_key="breach:7").count() == 2


def test_unread_count_and_mark_read_touch_only_the_users_own():
    ann, bob = StaffFactory(), StaffFactory()
    mine = services.notify(recipient=ann, kind="task.due", title="Call back")
    services.notify(recipient=ann, kind="task.due", title="Send quote")
    theirs = services.notify(recipient=bob, kind="task.due", title="Renewal")

    assert services.mark_read(user=ann, ids=[mine.pk, theirs.pk]) == 1
    assert selectors.unread_count(ann) == 1
    assert selectors.unread_count(bob) == 1
    assert services.mark_read(user=ann) == 1
    assert selectors.unread_count(ann) == 0
