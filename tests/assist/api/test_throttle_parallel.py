"""The REST rate limit holds under parallel requests: one atomic counter per agent and window
in the shared cache (Redis when REDIS_URL is set), not a history list read and written back."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIRequestFactory, force_authenticate

from assist.api.throttling import AgentRateThrottle
from assist.tokens import token_issue
from tests import factories


@pytest.mark.django_db
def test_parallel_checks_let_exactly_the_rate_through(settings):
    settings.API_RATE = "600/minute"
    cache.clear()
    agent = factories.agent(username="burst")
    request = APIRequestFactory().get("/api/conversations")
    force_authenticate(request, user=agent)
    from rest_framework.request import Request

    drf_request = Request(request)
    drf_request.user = agent

    def check(_: int) -> bool:
        return AgentRateThrottle().allow_request(drf_request, None)  # type: ignore[arg-type]

    with ThreadPoolExecutor(32) as pool:
        allowed = sum(pool.map(check, range(1000)))
    assert allowed == 600


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_requests_get_429_beyond_the_rate(settings):
    settings.API_RATE = "40/minute"
    cache.clear()
    agent = factories.agent(username="parallel")
    token = token_issue(user=agent)
    url = reverse("api-conversations")

    def get(_: int) -> int:
        try:
            return Client(HTTP_AUTHORIZATION=f"Token {token}").get(url).status_code
        finally:
            connection.close()

    # Fewer threads than the web process's database pool (DB_POOL_MAX_SIZE).
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(get, range(120)))
    assert statuses.count(200) == 40
    assert statuses.count(429) == 80
