import pytest
from django.test import Client

from tests import factories
from tests.stub_chat import stub  # noqa: F401  (a fixture: a stub chat endpoint)


@pytest.fixture(autouse=True)
def _fresh_serving_state():
    """Each test has its own database, so no model version or catalog may carry over from
    another test (a rolled-back test's catalog version numbers come again in the next one)."""
    from assist.serving.state import STATE

    STATE.reset()
    yield
    STATE.reset()


@pytest.fixture
def agent_user(db):
    return factories.agent(username="agent_ann")


@pytest.fixture
def other_agent(db):
    return factories.agent(username="agent_otto")


@pytest.fixture
def supervisor_user(db):
    return factories.supervisor(username="super_sue")


@pytest.fixture
def catalog_admin_user(db):
    return factories.catalog_admin(username="admin_cat")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def demo_ranker_dir(tmp_path_factory):
    """A trained tiny ranker directory over the demo catalog, built once per test session."""
    from tests.tiny_models import train_demo_ranker

    return train_demo_ranker(tmp_path_factory.mktemp("demo_ranker"))
