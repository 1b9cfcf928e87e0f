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


@pytest.fixture(autouse=True)
def _model_artifacts(settings, tmp_path_factory):
    """Model artifacts and this host's model cache in the test session's temporary folder, not
    in the checkout's var/ (assist/lifecycle/artifacts.py)."""
    root = tmp_path_factory.getbasetemp()
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root / "model-artifacts")},
        },
    }
    settings.MODEL_CACHE_DIR = root / "model-cache"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Forget the WebSocket's per-agent frame counts (assist/ratelimit.py) before each test: a
    rolled-back test's user ids come again, in this process's memory or in Redis."""
    from django.core.cache import cache

    backend = cache._cache  # LocMemCache's dict, or RedisCache's client
    if isinstance(backend, dict):
        with cache._lock:
            for key in [k for k in backend if ":ratelimit:" in k]:
                cache._delete(key)
    else:
        client = backend.get_client(write=True)
        keys = list(client.scan_iter(match="*:ratelimit:*", count=1000))
        if keys:
            client.delete(*keys)


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
