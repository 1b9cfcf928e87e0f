"""A pick never waits for a worker: queued for one that does not take it (it died after its
last heartbeat, which still reads as alive, or it is busy), the pick is stored by the web
process after PICK_WORKER_GRACE_S and acknowledged, once."""

import json
import time

import pytest
from asgiref.sync import sync_to_async

from assist.live import picks
from assist.models import Pick
from tests import factories
from tests.assist.api.test_pick_contract import _pick, _suggestion_for
from tests.security.test_malformed_input import _agent_socket

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.asyncio,
]


async def test_a_pick_queued_for_a_worker_that_never_takes_it_is_stored_here(monkeypatch):
    queued = []
    # The heartbeat still says alive, and the broker accepts the task: no worker consumes it.
    monkeypatch.setattr(picks, "inference_available", lambda: True)
    monkeypatch.setattr(picks.dispatch, "enqueue", lambda name, **kwargs: queued.append(kwargs))
    monkeypatch.setattr(picks, "PICK_WORKER_GRACE_S", 0.5)
    agent = await sync_to_async(factories.agent)(username="fallback")
    suggestion = await sync_to_async(_suggestion_for)(agent)
    communicator = await _agent_socket(agent)
    started = time.monotonic()
    await communicator.send_to(text_data=json.dumps({"type": "pick", **_pick(suggestion)}))
    ack = json.loads(await communicator.receive_from(timeout=10))
    assert (ack["type"], ack["client_id"]) == ("ack", "p-1")
    assert time.monotonic() - started < 5
    assert len(queued) == 1
    assert await sync_to_async(Pick.objects.count)() == 1
    # The worker takes the task after all: stored once, acknowledged again.
    stored, created = await sync_to_async(picks.pick_record)(request=picks.PickRequest(**queued[0]))
    assert (stored.pk, created) == (ack["id"], False)
    assert await sync_to_async(Pick.objects.count)() == 1
    await communicator.disconnect()


async def test_a_pick_a_worker_stored_in_time_is_not_stored_again(monkeypatch):
    monkeypatch.setattr(picks, "inference_available", lambda: True)
    monkeypatch.setattr(picks, "PICK_WORKER_GRACE_S", 0.3)

    def worker(name, **kwargs):  # a worker that takes it at once
        picks.pick_record(request=picks.PickRequest(**kwargs))

    monkeypatch.setattr(picks.dispatch, "enqueue", worker)
    agent = await sync_to_async(factories.agent)(username="prompt")
    suggestion = await sync_to_async(_suggestion_for)(agent)
    communicator = await _agent_socket(agent)
    await communicator.send_to(text_data=json.dumps({"type": "pick", **_pick(suggestion)}))
    ack = json.loads(await communicator.receive_from(timeout=10))
    assert ack["type"] == "ack"
    assert await communicator.receive_nothing(timeout=1.0)  # no second ack from the fallback
    assert await sync_to_async(Pick.objects.count)() == 1
    await communicator.disconnect()
