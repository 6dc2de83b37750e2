"""Through the real broker (Redis) and a real Celery worker: a committed change reaches the receiver."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.crm.test_celery_worker import real_worker  # noqa: F401 - the shared worker fixture
from tests.factories import ContactFactory, StaffFactory
from tests.webhooks.factories import OpsFactory
from tests.webhooks.receiver import verify_from_spec
from webhooks import services
from webhooks.models import Delivery


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="a worker thread and the test writing one in-memory SQLite database lock each other out",
)
@pytest.mark.django_db(transaction=True)
def test_a_worker_delivers_a_committed_contact_update(real_worker, receiver):  # noqa: F811
    from crm.services import contact_save

    endpoint = services.endpoint_create(actor=OpsFactory(), url=receiver.url, event_types=["contact.updated"])
    rep = StaffFactory()
    contact = ContactFactory(owner=rep)
    contact.job_title = "Chief Buyer"

    contact_save(actor=rep, contact=contact)  # commits; the worker takes the delivery from Redis
    # The solo worker runs tasks in order: when this test event arrives, the update's task is done.
    services.endpoint_send_test(actor=endpoint.created_by, endpoint=endpoint)

    assert receiver.wait_for(2)
    update, test_event = receiver.requests
    payload = verify_from_spec(endpoint.secret, update.headers, update.body)
    assert payload["type"] == "contact.updated"
    assert payload["data"]["job_title"] == "Chief Buyer"
    assert test_event.json["type"] == "webhook.test"
    assert Delivery.objects.get(event__type="contact.updated").state == Delivery.State.SUCCEEDED
