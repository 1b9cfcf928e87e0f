"""The API keeps its own contract: Schemathesis generates requests from /api/schema/ and sends
them to a real uvicorn; every answer must be documented (status, content type, body schema,
headers) and none may be a 5xx. Token operations are left out (they would sign the test out).
Bounded: a fixed number of cases per operation."""

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assist.tokens import token_issue
from devtools.processes import asgi_server, free_port, live_env
from tests import factories

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CASES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_CASES", "30"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def test_the_api_answers_as_its_schema_says(tmp_path):
    agent = factories.agent(username="contract")
    for n in range(3):
        conversation = factories.ConversationFactory(assigned_agent=agent, external_id=f"c-{n}")
        factories.MessageFactory(conversation=conversation)
    factories.TemplateFactory(key="card-lost")
    headers = {"Authorization": f"Token {token_issue(user=agent)}"}
    env = live_env(
        redis_url=os.environ.get("REDIS_URL", ""), ranker_dir=tmp_path, API_RATE="100000/minute"
    )
    with asgi_server(env, free_port(), log=tmp_path / "server.log") as base:
        schema = schemathesis.openapi.from_url(f"{base}/api/schema/", headers=headers).exclude(
            path_regex="^/api/tokens"
        )
        session = requests.Session()
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 8
        for operation in operations:

            @settings(
                max_examples=CASES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            @given(case=operation.as_strategy())
            def conforms(case) -> None:
                case.call_and_validate(
                    base_url=base, session=session, headers=headers, checks=CHECKS
                )

            conforms()
