from __future__ import annotations

import factory

from iam.models import User
from tests.factories import StaffFactory
from webhooks import signing
from webhooks.models import Endpoint


class OpsFactory(StaffFactory):
    email = factory.Sequence(lambda n: f"ops{n}@clientele.example")
    staff_role = User.StaffRole.OPERATIONS


class EndpointFactory(factory.django.DjangoModelFactory):
    """An endpoint as stored; tests of registration go through ``endpoint_create`` instead."""

    class Meta:
        model = Endpoint

    url = "https://hooks.integrator.example/clientele"
    description = factory.Sequence(lambda n: f"Integration {n}")
    secret = factory.LazyFunction(signing.secret_generate)
    created_by = factory.SubFactory(OpsFactory)
