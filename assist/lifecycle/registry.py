"""The model registry: register a trained ranker, promote it, roll back.

Exactly one version is active (a partial unique constraint guarantees at most one); workers
read the active version for every ranking, so a promotion reaches them without a restart
(see `assist.serving.model_cache`).
"""

import logging
import shutil
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from assist.models import ModelVersion

logger = logging.getLogger(__name__)


def model_dir_install(*, source: Path, target: Path) -> None:
    """Copy a trained model directory to `target`, which appears complete or not at all: a
    worker that loads it never sees half a model, and a crash leaves only a `.partial` folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial)
    partial.rename(target)


class NothingToRollBackTo(RuntimeError):
    """No version was active before the current one."""


def model_version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the active one (the previous active one stays registered)."""
    with transaction.atomic():
        # Lock the current active row so that two promotions cannot interleave.
        list(ModelVersion.objects.select_for_update().filter(is_active=True))
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        version.is_active = True
        version.activated_at = timezone.now()
        version.save(update_fields=["is_active", "activated_at"])
    logger.info("model version %s is active", version.name)
    return version


def model_version_rollback() -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    current = ModelVersion.objects.filter(is_active=True).first()
    previous = (
        ModelVersion.objects.filter(activated_at__isnull=False, is_active=False)
        # pk=None (no active version) excludes nothing; the stubs allow no None here.
        .exclude(pk=getattr(current, "pk", None))  # type: ignore[misc]
        .order_by("-activated_at")
        .first()
    )
    if previous is None:
        raise NothingToRollBackTo("no earlier active version to roll back to")
    return model_version_activate(version=previous)
