"""schemathesis over /api/schema/, bounded: every operation, then the stateful links between them.

No 5xx, no response that breaks the schema, no schema-valid request refused and no invalid one
accepted (schemathesis's checks, with what the schema cannot say in ``schemathesis.toml``).
Derandomized with a fixed budget, so a run is the same run every time. PostgreSQL only: the
500s this keeps away (date-time offsets, id overflow) are PostgreSQL's to raise.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import ignored_auth, positive_data_acceptance
from schemathesis.generation import overrides

from api.scopes import all_scopes
from config.wsgi import application
from tests.api.factories import issue_key
from tests.api.records import RESOURCES, make

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="The fuzzing run is for PostgreSQL, the production database (CI sets DATABASE_URL).",
    ),
]

# A schema-valid body may name a record that does not exist (owner: 12345): the 400 that earns
# says so, and no schema can know which ids exist. ignored_auth spoils the session cookie while
# the configured API key still authenticates, which is right (either scheme will do); who may
# do what is tested persona by persona in test_personas.py. Every other check runs.
STATE_DEPENDENT = [positive_data_acceptance, ignored_auth]
EXAMPLES_PER_OPERATION = 5
BOUNDED = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
}


@pytest.fixture
def api_key(db) -> tuple[dict[str, str], dict[str, int]]:
    """A read/write key for every resource, and one record of each for the operations to find.

    Also the ids a body may refer to: generated ids hit real records only while the sequences
    are young, which depends on what ran before in the same worker.
    """
    made = {resource: make(resource)[0] for resource in RESOURCES}
    key, secret = issue_key(all_scopes(), name="Fuzzing")
    references = {
        "owner": key.created_by_id,
        "account": made["accounts"].pk,
        "contact": made["contacts"].pk,
        "lead": made["leads"].pk,
        "opportunity": made["opportunities"].pk,
    }
    return {"Authorization": f"Api-Key {secret}"}, references


@pytest.fixture
def api_schema(api_key, settings):
    headers, references = api_key
    settings.API_THROTTLE_RATE = "100000/min"  # the run is one key's burst, not what the throttle is for
    # The WSGI handler closes the connection after each request; the test's transaction lives on
    # it (Django's test client disconnects the same receivers).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
        schema.config.update(headers=headers)

        @schema.hook
        def map_body(context, body):
            # A whole-number reference becomes a real record's id; anything else stays as
            # generated, so a negative case is still negative.
            if isinstance(body, dict):
                for name, value in body.items():
                    if name in references and type(value) is int:
                        body[name] = references[name]
            return body

        yield schema
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_operation_keeps_its_schema(api_schema):
    # schemathesis.pytest.from_fixture would make one test per operation, but it reaches into
    # pytest internals that pytest 9 no longer has; one test walking the operations is the same run.
    succeeded: set[str] = set()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        fixed = overrides.with_config_headers(api_schema.config, operation=operation).as_strategy_kwargs()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode, **fixed))
            @settings(max_examples=EXAMPLES_PER_OPERATION, phases=[Phase.explicit, Phase.generate], **BOUNDED)
            def check(case):
                response = case.call_and_validate(excluded_checks=STATE_DEPENDENT)
                if response.status_code < 300:
                    succeeded.add(case.operation.label)

            check()

    # The key was let in: every list answered. (Made-up ids mostly meet 404s here; the stateful
    # run below follows real ids from one operation to the next.)
    lists = {o.label for o in operations if o.method == "get" and "{" not in o.path}
    assert lists <= succeeded, sorted(lists - succeeded)


def test_stateful_links_between_operations_keep_the_schema(api_schema):
    statuses: list[int] = []

    class Workflow(api_schema.as_state_machine()):
        # Each scenario starts from the same records: what one scenario created (an import
        # undone, a review opened) would change the next one's answers, and a scenario that
        # plays out differently when Hypothesis replays it is reported as flaky generation
        # ("Inconsistent data generation"), hiding whatever it was replaying.
        def setup(self):
            super().setup()
            self._savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self._savepoint)
            super().teardown()

        def after_call(self, response, case):
            super().after_call(response, case)
            statuses.append(response.status_code)

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            case.validate_response(response, excluded_checks=STATE_DEPENDENT)

    Workflow.run(settings=settings(max_examples=30, stateful_step_count=8, **BOUNDED))

    assert 201 in statuses  # records were created, and the links followed them
