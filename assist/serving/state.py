"""What a process keeps between rankings, in one object with one lock and one reset.

The model versions it has loaded and the one it serves (model_cache.py), the active catalog it
last read (catalog.py), the retrieval encoders for templates newer than the model
(new_templates.py), and until when a worker heartbeat it has seen is trusted
(assist/live/heartbeat.py). Tests reset it between tests, since each test has its own
database (a rolled-back test's catalog version numbers come again in the next one).
"""

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assist.models import ModelVersion
    from ranker import Ranker
    from ranker.retriever import TemplateRetriever
    from templates_app.active_catalog import ActiveCatalog


class ServingState:
    def __init__(self) -> None:
        # Guards the fields below; held only for bookkeeping, never while a model loads, so that a
        # ranking with a loaded version never waits for a load.
        self.lock = threading.Lock()
        # Held while a model version or an encoder loads: a process loads each once.
        self.load_lock = threading.Lock()
        self.rankers: dict[int, Ranker] = {}  # loaded model versions, by primary key
        self.loading: set[int] = set()  # model versions loading in a background thread
        # Versions whose artifact could not be fetched: not tried again before this time
        # (time.monotonic()), by primary key.
        self.unavailable: dict[int, float] = {}
        self.serving: ModelVersion | None = None  # the active version this process served last
        self.catalog: ActiveCatalog | None = None
        self.retrievers: dict[str, TemplateRetriever] = {}  # by base model
        self.heartbeat_seen_until = 0.0  # time.monotonic()

    def reset(self) -> None:
        """Forget everything this process has loaded or seen."""
        with self.lock:
            self.rankers.clear()
            self.loading.clear()
            self.unavailable.clear()
            self.serving = None
            self.catalog = None
            self.retrievers.clear()
            self.heartbeat_seen_until = 0.0


STATE = ServingState()
