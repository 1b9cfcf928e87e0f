"""The scaling study: power-law fit, recommendation, the family's encoders, FLOPs, open-loop
latency, and a tiny end-to-end study that writes its report and resumes."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ranker.base_models import default_base_model
from ranker.cli import main, parse_command
from ranker.model import load_encoder
from ranker.scaling import ScalingConfig, run_study, study
from ranker.scaling.family import (
    TokenCounts,
    param_counts,
    plan_members,
    scratch_encoder,
    training_flops,
    truncated_encoder,
)
from ranker.scaling.fit import fit_power_law, fit_series, recommend
from ranker.scaling.latency import open_loop_latency
from ranker.scaling.report import csv_columns
from ranker.train import train as real_train

PLOTS = (
    "loss_vs_params.png",
    "accuracy_vs_params.png",
    "loss_vs_flops.png",
    "accuracy_vs_flops.png",
    "latency_vs_accuracy.png",
)

# ----- the power law -----


def test_power_law_fit_recovers_known_parameters() -> None:
    n = np.geomspace(2e5, 2e7, 6)
    law = fit_power_law(n, 80.0 * n**-0.3 + 1.5)
    assert law.alpha == pytest.approx(0.3, rel=1e-2)
    assert law.a == pytest.approx(80.0, rel=5e-2)
    assert law.c == pytest.approx(1.5, abs=1e-2)
    assert law.r2 > 0.9999
    assert law.rmse < 1e-3
    assert law.n_points == 6
    assert law(np.array([1e6]))[0] == pytest.approx(80.0 * 1e6**-0.3 + 1.5, rel=1e-3)


def test_power_law_fit_of_noisy_points_reports_its_quality() -> None:
    n = np.geomspace(1e5, 3e7, 8)
    clean = 40.0 * n**-0.25 + 2.0
    noisy = clean + np.random.default_rng(0).normal(0, 0.02, len(n))
    law = fit_power_law(n, noisy)
    assert 0.1 < law.alpha < 0.5
    assert 0.9 < law.r2 < 1.0
    assert 0.005 < law.rmse < 0.05


def test_power_law_fit_refuses_too_few_sizes() -> None:
    with pytest.raises(ValueError, match=r"too few points.*at least 4.*got 3"):
        fit_power_law([1e5, 1e6, 1e7], [3.0, 2.0, 1.5])
    # The same size twice is one point of the curve, not two.
    with pytest.raises(ValueError, match="got 2"):
        fit_power_law([1e5, 1e5, 1e6, 1e6], [3.0, 3.1, 2.0, 2.1])


def _row(
    name: str,
    top1: float,
    p99: float,
    *,
    n: float = 1e6,
    family: str = "truncated",
    dapt: bool = False,
    saturated: bool = False,
    loss: float = 2.0,
) -> dict[str, Any]:
    return {
        "name": name,
        "family": family,
        "layers": 2,
        "hidden": 384,
        "domain_adapt": dapt,
        "params_non_embedding": n,
        "val_loss": loss,
        "top1": top1,
        "top5": min(1.0, top1 + 0.2),
        "p50_ms_20rps": p99 / 2,
        "p99_ms_20rps": p99,
        "saturated_20rps": saturated,
    }


def test_fit_series_fits_truncations_per_dapt_mode_and_explains_a_missing_fit() -> None:
    sizes = [1.8e6, 3.6e6, 5.3e6, 7.1e6, 10.6e6]
    rows = [_row(f"L{i}", 0.3, 50, n=n, loss=30 * n**-0.2 + 1.0) for i, n in enumerate(sizes, 1)]
    rows.append(_row("scratch", 0.1, 10, n=4e5, family="scratch", loss=9.0))
    rows += [_row(f"L{i}-dapt", 0.3, 50, n=n, dapt=True) for i, n in enumerate(sizes[:2], 1)]
    fits = fit_series(rows)
    off = fits["domain_adapt_off"]
    assert off["alpha"] == pytest.approx(0.2, rel=2e-2)
    assert [p["name"] for p in off["points"]] == ["L1", "L2", "L3", "L4", "L5"]  # no scratch
    assert all(p["predicted"] == pytest.approx(p["val_loss"], rel=1e-3) for p in off["points"])
    assert "too few points" in fits["domain_adapt_on"]["error"]
    assert "scratch" in [p["name"] for p in fit_series(rows, "all")["domain_adapt_off"]["points"]]


# ----- the recommendation -----


def test_recommend_picks_the_most_accurate_member_within_budget_and_says_why() -> None:
    rows = [
        _row("L1", 0.30, 20),
        _row("L3", 0.40, 60),
        _row("L4", 0.45, 95),
        _row("L6", 0.50, 180),
        _row("scratch-128x2", 0.20, 10, family="scratch"),
    ]
    choice = recommend(rows, budget_ms=100)
    assert choice["choice"] == "L4"
    assert "highest validation top-1 (45.0%" in choice["reason"]
    assert "4 of 5 members" in choice["reason"]
    assert "p99 95 ms" in choice["reason"]
    assert "more accurate but over the budget: L6 (top-1 50.0%, p99 180 ms)" in choice["reason"]
    assert recommend(rows, budget_ms=70)["choice"] == "L3"
    assert "no member is more accurate" in recommend(rows, budget_ms=500)["reason"]


def test_recommend_skips_saturated_members_and_says_when_none_fits() -> None:
    rows = [_row("L6", 0.5, 90, saturated=True), _row("L1", 0.3, 40)]
    assert recommend(rows, budget_ms=100)["choice"] == "L1"
    nothing = recommend(rows, budget_ms=10)
    assert nothing["choice"] is None
    assert "no member keeps p99 within 10 ms" in nothing["reason"]
    assert "the fastest, L1, has p99 40 ms" in nothing["reason"]
    missing = recommend(rows, budget_ms=100, rps=5)
    assert missing["choice"] is None
    assert "no member has a latency measurement at 5 requests/s" in missing["reason"]


# ----- the family -----


def test_plan_members_names_orders_and_rejects_bad_specs(tmp_path: Path) -> None:
    cfg = ScalingConfig(data="d", catalog="c", out=str(tmp_path), layers="1,3", scratch="128x2")
    names = [m.name for m in plan_members(cfg)]
    assert names == ["L1", "L3", "scratch-128x2", "L1-dapt", "L3-dapt", "scratch-128x2-dapt"]
    cfg.domain_adapt = "on"
    assert [m.name for m in plan_members(cfg)] == ["L1-dapt", "L3-dapt", "scratch-128x2-dapt"]
    cfg.domain_adapt = "maybe"
    with pytest.raises(ValueError, match="domain-adapt"):
        plan_members(cfg)
    cfg.domain_adapt, cfg.scratch = "off", "128-2"
    with pytest.raises(ValueError, match="HIDDENxLAYERS"):
        plan_members(cfg)


def test_larger_pretrained_members_join_the_family_whole(
    monkeypatch: pytest.MonkeyPatch, tiny_base: Path, mpnet_dir: Path, tmp_path: Path
) -> None:
    from ranker.base_models import MPNET

    monkeypatch.setenv("RANKER_CACHE_DIR", str(mpnet_dir.parent))
    cfg = ScalingConfig(
        data="d", catalog="c", out=str(tmp_path), layers="2", scratch="", larger=MPNET
    )
    members = plan_members(cfg)
    assert [m.name for m in members] == ["L2", MPNET, "L2-dapt", f"{MPNET}-dapt"]
    mpnet = members[1]
    assert (mpnet.family, mpnet.layers) == ("pretrained", 12)
    assert Path(mpnet.source(str(tiny_base))) == mpnet_dir
    assert members[0].source(str(tiny_base)) == str(tiny_base)
    cfg.larger = str(tiny_base)  # a folder works as well
    assert [m.arch for m in plan_members(cfg)][1] == tiny_base.name


def test_study_refuses_a_truncation_deeper_than_the_base_before_training(
    tiny_base: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "study"
    args = _tiny_args(data_dir, tiny_base, out)
    args[args.index("--layers") + 1] = "1,3"
    with pytest.raises(ValueError, match="has 2 layers; cannot truncate to L3, L3-dapt"):
        run_study(_config(args))
    assert not out.exists()


def test_truncation_keeps_the_first_n_layers_with_fewer_parameters(
    tiny_base: Path, tmp_path: Path
) -> None:
    full: Any = load_encoder(str(tiny_base))
    one: Any = truncated_encoder(str(tiny_base), 1)
    assert len(one.encoder.layer) == 1
    assert one.config.num_hidden_layers == 1
    assert torch.equal(
        one.encoder.layer[0].attention.self.query.weight,
        full.encoder.layer[0].attention.self.query.weight,
    )
    c_full, c_one = param_counts(full, 5), param_counts(one, 5)
    assert c_one["params_non_embedding"] * 2 == c_full["params_non_embedding"]  # equal layers
    assert c_one["params_embedding"] == c_full["params_embedding"]
    assert c_one["params_total"] < c_full["params_total"]
    one.save_pretrained(tmp_path)
    assert len(getattr(load_encoder(str(tmp_path)), "encoder").layer) == 1  # noqa: B009
    with pytest.raises(ValueError, match="has 2 layers"):
        truncated_encoder(str(tiny_base), 3)


def test_minilm_truncated_to_two_layers_has_a_third_of_its_layer_parameters() -> None:
    full: Any = load_encoder(default_base_model())
    two: Any = truncated_encoder(default_base_model(), 2)
    assert len(full.encoder.layer) == 6
    assert len(two.encoder.layer) == 2
    assert (
        3 * param_counts(two, 10)["params_non_embedding"]
        == (param_counts(full, 10)["params_non_embedding"])
    )


def test_scratch_encoder_has_the_asked_shape_and_the_base_vocabulary(tiny_base: Path) -> None:
    enc: Any = scratch_encoder(str(tiny_base), 32, 1, seed=0)
    base: Any = load_encoder(str(tiny_base))
    assert enc.config.hidden_size == 32
    assert len(enc.encoder.layer) == 1
    assert enc.config.vocab_size == base.config.vocab_size
    assert (
        param_counts(enc, 5)["params_non_embedding"] < param_counts(base, 5)["params_non_embedding"]
    )


def test_training_flops_are_six_n_tokens_plus_the_mlm_stage() -> None:
    counts = {"params_non_embedding": 1000, "hidden": 10, "vocab_size": 50}
    tokens = TokenCounts(per_epoch=400, steps_per_epoch=4, dapt=30)
    off = training_flops(counts, tokens, steps=2, dapt=False)
    assert off["train_tokens"] == 200  # half an epoch
    assert off["train_flops"] == 6 * 1000 * 200
    assert off["dapt_flops"] == 0
    on = training_flops(counts, tokens, steps=2, dapt=True)
    assert on["dapt_flops"] == 6 * (1000 + 10 * (10 + 50)) * 30
    assert on["flops"] == on["train_flops"] + on["dapt_flops"]


# ----- latency -----


def test_open_loop_latency_includes_queueing_delay() -> None:
    service_s = 0.01

    def call(i: int) -> None:
        time.sleep(service_s)

    light = open_loop_latency(call, rps=5, seconds=1.0, seed=1)
    # 400 requests/s of 10 ms requests: four times what one server can do, so they queue.
    heavy = open_loop_latency(call, rps=400, seconds=0.25, seed=1)
    assert light["p50_ms"] >= 10
    assert not light["saturated"]
    assert 50 < heavy["requests"] < 150
    assert heavy["p50_ms"] > 100
    assert heavy["p99_ms"] > 5 * light["p50_ms"]
    assert heavy["utilisation"] > 0.8


def test_open_loop_latency_marks_a_queue_that_does_not_clear() -> None:
    def call(i: int) -> None:
        time.sleep(0.01)

    result = open_loop_latency(call, rps=400, seconds=0.1, max_wall_factor=2.0, seed=1)
    assert result["saturated"]
    assert result["p99_ms"] > 100


# ----- the study, end to end -----


def _tiny_args(data_dir: Path, tiny_base: Path, out: Path) -> list[str]:
    return [
        "scaling",
        "--data",
        str(data_dir / "train.jsonl"),
        "--catalog",
        str(data_dir / "catalog.csv"),
        "--out",
        str(out),
        "--base-model",
        str(tiny_base),
        "--layers",
        "1,2",
        "--scratch",
        "32x1",
        "--max-examples",
        "120",
        "--max-val-examples",
        "60",
        "--max-dev-examples",
        "40",
        "--max-tokens",
        "48",
        "--batch-size",
        "16",
        "--max-steps",
        "4",
        "--lr",
        "1e-3",
        "--dapt-max-texts",
        "64",
        "--rps",
        "5,20",
        "--latency-seconds",
        "0.3",
        "--threads",
        "1",
        "--no-progress",
    ]


@pytest.mark.slow
def test_tiny_study_writes_csv_plots_fit_and_recommendation_then_resumes(
    tmp_path: Path,
    tiny_base: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "study"
    args = _tiny_args(data_dir, tiny_base, out)
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    names = ["L1", "L2", "scratch-32x1", "L1-dapt", "L2-dapt", "scratch-32x1-dapt"]
    assert summary["members"] == names

    with open(out / "scaling.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == csv_columns([5.0, 20.0])
        rows = {r["name"]: r for r in reader}
    assert list(rows) == names
    assert int(rows["L1"]["params_non_embedding"]) < int(rows["L2"]["params_non_embedding"])
    assert int(rows["scratch-32x1"]["hidden"]) == 32
    for name, r in rows.items():
        assert 0.0 <= float(r["top1"]) <= float(r["top5"]) <= 1.0
        assert float(r["val_loss"]) > 0
        assert float(r["train_flops"]) > 0
        assert float(r["p99_ms_20rps"]) >= float(r["p50_ms_20rps"]) > 0
        assert (float(r["dapt_flops"]) > 0) == name.endswith("-dapt")
    # DAPT changes weights, not compute: the variant reuses its architecture's timing.
    assert rows["L2-dapt"]["latency_from"] == "L2"
    assert rows["L2-dapt"]["p99_ms_5rps"] == rows["L2"]["p99_ms_5rps"]
    assert float(rows["L2-dapt"]["flops"]) > float(rows["L2"]["flops"])

    for png in PLOTS:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    fits = json.loads((out / "power_law.json").read_text("utf-8"))
    # Two truncations per mode cannot pin down three parameters: said, not faked.
    assert "too few points" in fits["domain_adapt_off"]["error"]
    assert [p["name"] for p in fits["domain_adapt_off"]["points"]] == ["L1", "L2"]
    rec = json.loads((out / "recommendation.json").read_text("utf-8"))
    assert rec["rps"] == 20
    assert rec["choice"] in [*names, None]
    assert rec["reason"]

    # Resume: finished members are not trained again.
    results = {n: out / "runs" / n / "result.json" for n in names}
    mtimes = {n: p.stat().st_mtime_ns for n, p in results.items()}

    def no_training(cfg: Any) -> Any:
        raise AssertionError(f"trained {cfg.out} again")

    monkeypatch.setattr(study, "train", no_training)
    cfg = _config(args)
    assert run_study(cfg)["members"] == names
    assert {n: p.stat().st_mtime_ns for n, p in results.items()} == mtimes

    # An interrupted member (no result yet) is the only one trained on the next run.
    results["L2"].unlink()
    trained: list[str] = []

    def counting(cfg: Any) -> Any:
        trained.append(Path(cfg.out).parent.name)
        return real_train(cfg)

    monkeypatch.setattr(study, "train", counting)
    run_study(cfg)
    assert trained == ["L2"]
    assert results["L2"].exists()
    assert all(results[n].stat().st_mtime_ns == mtimes[n] for n in names if n != "L2")

    # Other settings in the same directory are refused rather than mixed in.
    cfg.max_tokens = 32
    with pytest.raises(ValueError, match="max_tokens: 48 -> 32"):
        run_study(cfg)


def _config(args: list[str]) -> ScalingConfig:
    """The ScalingConfig that the command line ``args`` parse into."""
    command, config = parse_command(args)
    assert command == "scaling" and isinstance(config, ScalingConfig)
    return config
