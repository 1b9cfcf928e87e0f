"""Drill: the live loop across three hosts. A web server on one, a Celery worker on each of two
others, each host with its own network stack, hostname and model cache; Redis and PostgreSQL
reachable over the bridge (tests/faults/hosts.py). Every worker fetches the active version
from the artifact storage (no host has a model directory of its own), a promoted version
reaches every worker with no ranking lost, and when one worker host dies the other takes its
queue.
"""

import json
import os
import shutil
import signal
import subprocess
from contextlib import ExitStack
from pathlib import Path

import pytest
from django.db import connection

from assist.lifecycle.registry import model_version_activate, model_version_register
from assist.models import Message, Suggestion
from tests.faults.conftest import Panel, PrivateRedis, TcpProxy, deliveries, worker_log
from tests.faults.hosts import can_make_hosts, hosts
from tests.live import (
    asgi_server,
    celery_worker,
    database_url,
    free_port,
    live_env,
    post_customer_message,
    wait_for,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not can_make_hosts(), reason="needs root and iproute2 (network namespaces)"),
]

LINES = [
    "my card still hasn't arrived",
    "I was charged twice for one coffee",
    "how do I change my PIN?",
    "my card was stolen last night",
]


def pool_processes(worker: subprocess.Popen) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def a_second_model(source: Path, target: Path) -> Path:
    """The same weights under another version stamp: another artifact, another checksum."""
    shutil.copytree(source, target)
    meta = json.loads((target / "ranker.json").read_text())
    meta["version"] = f"{meta.get('version', '')}-promoted"
    (target / "ranker.json").write_text(json.dumps(meta))
    return target


def test_three_hosts_promotion_reaches_every_worker_and_a_dead_host_loses_nothing(
    drill_agent, demo_ranker_dir, tmp_path, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    _, conversation, token = drill_agent
    first = model_version_register(name="drill-first", path=demo_ranker_dir)
    model_version_activate(version=first)
    storage = settings.STORAGES["models"]["OPTIONS"]["location"]

    with ExitStack() as stack:
        gateway, machines = stack.enter_context(hosts("web", "h1", "h2"))
        redis = PrivateRedis(tmp_path, bind=("127.0.0.1", gateway), password="drill-only")
        redis.start()
        stack.callback(redis.kill)
        db = connection.settings_dict
        proxy = TcpProxy((db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432)), host=gateway)
        proxy.start()
        stack.callback(proxy.cut)
        remote_db = database_url().replace(
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/", f"@{gateway}:{proxy.port}/"
        )

        def env_on(host: str) -> dict[str, str]:
            return live_env(
                redis_url=redis.url_at(gateway),
                # No host has a model directory: the model comes from the artifact storage.
                ranker_dir=tmp_path / "no-local-model",
                DATABASE_URL=remote_db,
                ALLOWED_HOSTS=machines["web"].address,
                LIVE_LOG_DIR=str(tmp_path),
                MODEL_ARTIFACTS_ROOT=storage,
                MODEL_CACHE_DIR=str(tmp_path / host / "model-cache"),
            )

        port = free_port()
        web = machines["web"]
        base = stack.enter_context(
            asgi_server(
                env_on("web"),
                port,
                host=web.address,
                on_host=web.command(),
                log=tmp_path / "web.log",
            )
        )
        h1 = stack.enter_context(
            celery_worker(env_on("h1"), name="h1", on_host=machines["h1"].command())
        )
        stack.enter_context(
            celery_worker(env_on("h2"), name="h2", on_host=machines["h2"].command())
        )
        panel = Panel(f"ws://{web.address}:{port}/ws/assist/", base, token, conversation.pk)
        stack.callback(panel.close)
        panel.connect(timeout=30)

        def ranked(text: str) -> Suggestion:
            message_id = post_customer_message(base, token, conversation.pk, text)
            frame = panel.next("suggestions", timeout=120)
            assert frame["message"] == message_id
            return Suggestion.objects.get(message_id=message_id)

        # Both workers fetched the active version into their own caches at start.
        assert {ranked(line).model_version_id for line in LINES} == {first.pk}
        for host in ("h1", "h2"):
            assert (tmp_path / host / "model-cache" / first.sha256 / "ranker.json").is_file()

        # Promote a second version: every worker fetches and loads it, and every message
        # posted meanwhile is ranked (by whichever version the worker had at the time).
        second = model_version_register(
            name="drill-second", path=a_second_model(demo_ranker_dir, tmp_path / "second")
        )
        model_version_activate(version=second)
        shutil.rmtree(tmp_path / "second")  # only the artifact is left
        seen: list[int] = []

        def both_workers_serve_the_second() -> bool:
            seen.append(ranked(LINES[len(seen) % len(LINES)]).model_version_id)
            loaded = all(
                "model version drill-second loaded" in worker_log(tmp_path, h) for h in ("h1", "h2")
            )
            return loaded and seen[-2:] == [second.pk, second.pk]

        wait_for(both_workers_serve_the_second, timeout=240, what="the promoted version")
        for host in ("h1", "h2"):
            assert (tmp_path / host / "model-cache" / second.sha256 / "ranker.json").is_file()
        second.refresh_from_db()
        assert second.artifact_errors == {}

        # Host h1 dies (every process of its worker, at once): h2 ranks everything after.
        for pid in [*pool_processes(h1), h1.pid]:
            os.kill(pid, signal.SIGKILL)
        h1.wait(timeout=10)
        before = deliveries(worker_log(tmp_path, "h2"), "rank")
        after = [ranked(line) for line in LINES]
        assert {s.model_version_id for s in after} == {second.pk}
        assert deliveries(worker_log(tmp_path, "h2"), "rank") == before + len(LINES)

    # No ranking lost: every customer message has exactly one list.
    customer = Message.objects.filter(conversation=conversation, role=Message.Role.CUSTOMER)
    assert customer.count() == 2 * len(LINES) + len(seen)
    for message in customer:
        assert Suggestion.objects.filter(message=message).count() == 1
