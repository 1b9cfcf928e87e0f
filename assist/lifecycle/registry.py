"""The model registry: register a trained ranker, promote it, roll back to any earlier one.

A registered version is an artifact in shared storage with its checksum
(assist/lifecycle/artifacts.py), so that a worker on any host can load it. Exactly one version
is active (a partial unique constraint guarantees at most one); workers read the active version
for every ranking, so a promotion reaches them without a restart (see
`assist.serving.model_cache`).
"""

import json
import logging
import shutil
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from assist.lifecycle.artifacts import artifact_publish, artifact_storage
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
    """No version was active before the current one, or the chosen one never was active."""


def model_version_activate(
    *,
    version: ModelVersion,
    by: AbstractBaseUser | None = None,
    how: str = ModelVersion.Activation.PROMOTED,
) -> ModelVersion:
    """Make `version` the active one (the previous active one stays registered), recording who
    (None: the system) activated it, how, and which version it replaced."""
    with transaction.atomic():
        # Lock the current active row so that two promotions cannot interleave.
        replaced = list(ModelVersion.objects.select_for_update().filter(is_active=True))
        ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
        version.refresh_from_db(fields=["activations"])
        now = timezone.now()
        version.is_active = True
        version.activated_at = now
        version.activated_by = by  # type: ignore[assignment]  # a user model instance or None
        version.activated_how = how
        version.activations = [
            *version.activations,
            {
                "at": now.isoformat(),
                "by": by.get_username() if by is not None else None,
                "how": how,
                "replaced": replaced[0].name if replaced else None,
            },
        ]
        version.save(
            update_fields=[
                "is_active",
                "activated_at",
                "activated_by",
                "activated_how",
                "activations",
            ]
        )
    logger.info("model version %s is active (%s by %s)", version.name, how, by or "the system")
    return version


def model_version_rollback(
    *, to: ModelVersion | None = None, by: AbstractBaseUser | None = None
) -> ModelVersion:
    """Re-activate `to`, any version that was active before, or by default the one active just
    before the current one."""
    current = ModelVersion.objects.filter(is_active=True).first()
    if to is not None:
        if to.activated_at is None:
            raise NothingToRollBackTo(
                f"{to.name} has never been active: promote it instead of rolling back to it"
            )
        if current is not None and to.pk == current.pk:
            raise NothingToRollBackTo(f"{to.name} is the active version already")
        return model_version_activate(version=to, by=by, how=ModelVersion.Activation.ROLLED_BACK)
    previous = (
        ModelVersion.objects.filter(activated_at__isnull=False, is_active=False)
        # pk=None (no active version) excludes nothing; the stubs allow no None here.
        .exclude(pk=getattr(current, "pk", None))  # type: ignore[misc]
        .order_by("-activated_at")
        .first()
    )
    if previous is None:
        raise NothingToRollBackTo("no earlier active version to roll back to")
    return model_version_activate(version=previous, by=by, how=ModelVersion.Activation.ROLLED_BACK)


def model_version_register(
    *, name: str, path: Path, notes: str = "", metrics: dict[str, Any] | None = None
) -> ModelVersion:
    """Publish the trained model directory `path` as an artifact and register it as version
    `name` (not active), with its base model and, unless `metrics` are given, the training
    metrics from its `ranker.json`. Registering the same name and directory again returns the
    version registered; a name taken by another model is refused (ValueError)."""
    config = json.loads((path / "ranker.json").read_text())
    artifact = artifact_publish(source=path, name=name)
    version, created = ModelVersion.objects.get_or_create(
        name=name,
        defaults={
            "artifact": artifact.name,
            "sha256": artifact.sha256,
            "base_model": config.get("base_model", ""),
            "metrics": metrics if metrics is not None else {"training": config.get("metrics", {})},
            "notes": notes,
        },
    )
    if not created:
        # Not this archive's version: no archive that nothing names.
        artifact_storage().delete(artifact.name)
        if version.sha256 != artifact.sha256:
            raise ValueError(f"model version {name!r} is registered for another model")
        return version
    logger.info("registered model version %s (artifact %s)", name, artifact.name)
    return version
