"""Schemathesis against ``/api/openapi.json``: every route, with data that fits the schemas and
data that does not (both generation modes), a bounded number of derandomized examples. No
answer may be a 5xx, and every answer must match the document (status code, content type,
headers, schema).

Each route is run with generated program ids (almost always a program nobody has: 404) and with
the seeded program's id, so the 200 answers are checked too."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from scheduler.services import api as service
from tests.support.web import seed

EXAMPLES = 12  # per route, generation mode and program id: some 350 requests per database, well under a minute


@pytest.fixture
def api(settings):
    from config.bootstrap import bootstrap
    from web import create_app

    container = bootstrap(settings.with_overrides({"api.requests_per_minute": 1_000_000}))
    seeded = seed(container)
    token = service.create_api_token(container, name="schemathesis", program_id=None).token
    app = create_app(container=container)
    yield schemathesis.openapi.from_wsgi("/api/openapi.json", app), seeded, token
    container.dispose()


@pytest.mark.slow
def test_every_route_answers_as_documented(api):
    schema, seeded, token = api
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10  # GET/POST pairs count as two; people: export and erase
    ran: dict[str, int] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for fixed in ({}, {"program_id": seeded.program_id}):
                if fixed and "{program_id}" not in operation.path:
                    continue
                strategy = operation.as_strategy(generation_mode=mode, headers=headers, path_parameters=fixed or None)

                @given(case=strategy)
                @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                def run(case):
                    # A schema-valid request may still be refused with 400/422 where the schema
                    # cannot say why: a cursor no page handed out, "from" after "to", pairs the
                    # import's checks refuse. Every other check runs on those too.
                    semantic = operation.method.upper() == "POST" or any(
                        key in (case.query or {}) for key in ("cursor", "from", "to"))
                    case.call_and_validate(headers=headers,
                                           excluded_checks=[positive_data_acceptance] if semantic else None)
                    ran[operation.label] = ran.get(operation.label, 0) + 1

                try:
                    run()
                except Unsatisfiable:  # nothing of this route can be made invalid (no query, no body)
                    assert mode is GenerationMode.NEGATIVE, operation.label
    assert set(ran) == {op.label for op in operations}
