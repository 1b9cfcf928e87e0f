"""A real uvicorn under concurrent REST requests holds at most DB_POOL_MAX_SIZE connections
(config/settings/base.py), counted by PostgreSQL itself in pg_stat_activity."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.db import connection

from assist.tokens import token_issue
from devtools.processes import asgi_server, free_port, live_env
from tests import factories

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

POOL = 4
CLIENTS = 32
APP_NAME = "pool-bound-test"


def _server_connections() -> int:
    """Connections the server opened: it tags them through libpq's PGAPPNAME."""
    with psycopg.connect(**_dsn(), autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity where application_name = %s", [APP_NAME]
        ).fetchone()
        assert row is not None
        return int(row[0])


def _dsn() -> dict[str, object]:
    db = connection.settings_dict
    return {
        "dbname": db["NAME"],
        "user": db.get("USER") or "postgres",
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "password": db.get("PASSWORD") or None,
    }


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"
)
def test_concurrent_requests_never_hold_more_connections_than_the_pool(tmp_path):
    agent = factories.agent(username="pooled")
    for n in range(5):
        factories.ConversationFactory(assigned_agent=agent, external_id=f"pool-{n}")
    token = token_issue(user=agent)
    env = live_env(
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
        ranker_dir=tmp_path,
        DB_POOL_MAX_SIZE=str(POOL),
        # The setting a persistent-connection server leaked with: the pool must override it.
        DB_CONN_MAX_AGE="60",
        PGAPPNAME=APP_NAME,
        API_RATE="100000/minute",
    )
    peak, stop = [0], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _server_connections())
            time.sleep(0.02)

    with asgi_server(env, free_port(), log=tmp_path / "server.log") as base:
        session_headers = {"Authorization": f"Token {token}"}

        def burst(_: int) -> list[int]:
            with requests.Session() as session:
                return [
                    session.get(f"{base}/api/conversations", headers=session_headers).status_code
                    for _ in range(6)
                ]

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [code for codes in pool.map(burst, range(CLIENTS)) for code in codes]
        stop.set()
        watcher.join()
    assert statuses == [200] * (CLIENTS * 6), sorted(set(statuses))
    assert 0 < peak[0] <= POOL, peak[0]
