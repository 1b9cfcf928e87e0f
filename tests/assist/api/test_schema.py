import pytest
from django.urls import reverse

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_lists_the_api(agent_user):
    response = client_for(agent_user).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/conversations", "/api/conversations/{conversation_id}", "/api/templates"} <= set(
        paths
    )


def test_health_check(client):
    assert client.get(reverse("healthz")).json() == {"status": "ok"}
