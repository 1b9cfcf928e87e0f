"""Model versions as artifacts any host can load: one tar of the model directory in shared
storage, with its SHA-256.

Publishing (registration, retraining) writes the archive through Django's storage API, the
`models` alias of `STORAGES`: a shared directory by default, S3-compatible object storage
through django-storages as an option (docs/configuration.md). A worker fetches a version it has
not got into its own cache directory, checks the checksum before it unpacks anything, and
unpacks into a temporary folder that it renames into place, so a cached model is complete or
absent (assist/serving/model_cache.py). Nothing here knows which storage backend it talks to.
"""

import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, storages

logger = logging.getLogger(__name__)

# The STORAGES alias (config/settings/base.py).
STORAGE_ALIAS = "models"
CHUNK = 1 << 20


class ArtifactUnavailable(RuntimeError):
    """A version's artifact could not be fetched, or its bytes are not the ones published."""


@dataclass(frozen=True)
class Artifact:
    name: str  # in the `models` storage
    sha256: str
    size: int


def artifact_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def artifact_publish(*, source: Path, name: str) -> Artifact:
    """Pack the model directory `source` into one tar and store it as `<name>.tar`.

    The archive is hashed as it is written to a local temporary file, so the checksum is that
    of the bytes stored, and a worker that fetches them checks exactly those.
    """
    if not (source / "ranker.json").is_file():
        raise ValueError(f"{source} is not a model directory (no ranker.json)")
    with tempfile.TemporaryFile() as archive:
        with tarfile.open(fileobj=archive, mode="w") as tar:
            # Sorted, so that the same directory packs to the same bytes.
            for path in sorted(source.rglob("*")):
                tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
        size = archive.tell()
        archive.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: archive.read(CHUNK), b""):
            digest.update(chunk)
        archive.seek(0)
        stored = artifact_storage().save(f"{name}.tar", File(archive))
    logger.info(
        "published model artifact %s (%d bytes, sha256 %s)", stored, size, digest.hexdigest()
    )
    return Artifact(name=stored, sha256=digest.hexdigest(), size=size)


def artifact_fetch(*, name: str, sha256: str, cache_dir: Path) -> Path:
    """The model directory of the artifact `name`, fetched into `cache_dir` if not there yet.

    Cached by checksum: `cache_dir/<sha256>` exists only once its archive has been verified and
    unpacked whole (unpacked beside it, then renamed). Two processes fetching the same version
    at once both verify it, and the second rename loses harmlessly.
    """
    target = cache_dir / sha256
    if (target / "ranker.json").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=f".{sha256[:12]}-") as folder:
        work = Path(folder)
        archive = work / "artifact.tar"
        digest = hashlib.sha256()
        try:
            with artifact_storage().open(name, "rb") as src, archive.open("wb") as dst:
                for chunk in iter(lambda: src.read(CHUNK), b""):
                    digest.update(chunk)
                    dst.write(chunk)
        except Exception as error:  # whatever the backend raises: missing file, network, auth
            raise ArtifactUnavailable(
                f"cannot fetch {name}: {type(error).__name__}: {error}"
            ) from error
        if digest.hexdigest() != sha256:
            raise ArtifactUnavailable(
                f"{name} fails its checksum: sha256 {digest.hexdigest()}, registered {sha256}"
            )
        unpacked = work / "model"
        try:
            with tarfile.open(archive) as tar:
                # "data": no absolute paths, links out of the folder or device files.
                tar.extractall(unpacked, filter="data")
        except (tarfile.TarError, OSError) as error:
            raise ArtifactUnavailable(f"cannot unpack {name}: {error}") from error
        try:
            os.rename(unpacked, target)
        except OSError:
            if not (target / "ranker.json").is_file():
                raise
            # Another process put the same verified bytes there first.
            shutil.rmtree(unpacked, ignore_errors=True)
    logger.info("fetched model artifact %s into %s", name, target)
    return target
