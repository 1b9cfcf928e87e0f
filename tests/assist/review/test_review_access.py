"""Supervisor review over HTTP: supervisors and superusers read; everyone else gets 403."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from assist.models import Experiment
from tests import factories
from tests.conftest import client_for


@pytest.fixture
def urls(db):
    conversation = factories.ConversationFactory()
    experiment = Experiment.objects.create(name="exp")
    return [
        reverse("review:conversations"),
        reverse("review:conversations") + "?suggestion_used=no",
        reverse("review:export"),
        reverse("review:conversation", args=[conversation.pk]),
        reverse("review:dashboard"),
        reverse("review:experiments"),
        reverse("review:experiment", args=[experiment.pk]),
    ]


def superuser():
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


@pytest.mark.parametrize("make", [factories.supervisor, superuser])
def test_supervisors_and_superusers_read_every_page(urls, make):
    client = client_for(make())
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize("make", [factories.agent, factories.catalog_admin])
def test_agents_and_catalog_admins_get_403(urls, make):
    client = client_for(make())
    for url in urls:
        assert client.get(url).status_code == 403, url


def test_an_agent_gets_403_even_for_their_own_conversation(db):
    agent = factories.agent()
    conversation = factories.ConversationFactory(assigned_agent=agent)
    url = reverse("review:conversation", args=[conversation.pk])
    assert client_for(agent).get(url).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(urls):
    for url in urls:
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))


def test_review_is_read_only(urls):
    client = client_for(factories.supervisor())
    for url in urls:
        assert client.post(url).status_code == 405, url


def test_unknown_ids_are_404_for_supervisors_and_403_for_agents(db):
    missing = reverse("review:conversation", args=[999_999])
    assert client_for(factories.supervisor()).get(missing).status_code == 404
    assert client_for(factories.agent()).get(missing).status_code == 403
    missing_experiment = reverse("review:experiment", args=[999_999])
    assert client_for(factories.supervisor()).get(missing_experiment).status_code == 404


def test_supervisors_may_edit_experiments_in_the_admin(db):
    supervisor = factories.supervisor()
    assert client_for(supervisor).get(reverse("admin:assist_experiment_add")).status_code == 200
    agent = factories.agent()
    assert client_for(agent).get(reverse("admin:assist_experiment_add")).status_code == 302


def test_only_supervisors_see_the_review_link(db):
    link = reverse("review:conversations")
    assert link in client_for(factories.supervisor()).get("/").content.decode()
    assert link not in client_for(factories.agent()).get("/").content.decode()
