"""The ranker as the service sees it: which model directory serves, loaded once per process.

The active ModelVersion decides; with none, `RANKER_DIR` (the default model that `make run`
trains) is registered as the first version. `ranker` is imported lazily so that web processes
that never rank never load torch.
"""

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assist.models import ModelVersion

if TYPE_CHECKING:
    from ranker import Ranker

logger = logging.getLogger(__name__)
_lock = threading.Lock()


class NoModel(RuntimeError):
    """No trained ranker is available; suggestions are unavailable, search still works."""


def active_model_version() -> ModelVersion:
    version = ModelVersion.objects.filter(is_active=True).first()
    if version is not None:
        return version
    default = Path(settings.RANKER_DIR)
    if not (default / "ranker.json").is_file():
        raise NoModel(f"no active model version and no model in {default}")
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                name=f"default-{default.stat().st_mtime_ns}",
                path=str(default),
                is_active=True,
                activated_at=timezone.now(),
            )
    except IntegrityError:
        # Another process registered it first.
        return ModelVersion.objects.get(is_active=True)


def load_ranker(version: ModelVersion) -> "Ranker":
    from ranker import Ranker

    with _lock:
        return Ranker.load(version.path, threads=settings.RANKER_THREADS)
