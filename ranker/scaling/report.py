"""The scaling study's report: ``scaling.csv``, ``power_law.json``, ``recommendation.json`` and
the plots, written from the members' results (see :mod:`ranker.scaling` for the directory)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ranker.scaling.fit import PowerLaw, fit_series, latency_column, recommend, rps_label
from ranker.utils import write_json_atomic, write_text_atomic

CSV_COLUMNS = (
    "name",
    "family",
    "layers",
    "hidden",
    "domain_adapt",
    "params_total",
    "params_embedding",
    "params_non_embedding",
    "train_steps",
    "n_train",
    "train_tokens",
    "dapt_tokens",
    "train_flops",
    "dapt_flops",
    "flops",
    "val_loss",
    "val_nll_calibrated",
    "top1",
    "top5",
    "n_val",
    "temperature",
    "train_seconds",
)
LATENCY_KEYS = ("p50_ms", "p99_ms", "requests", "saturated")  # CSV columns KEY_<rate>rps


def csv_columns(rates: Sequence[float]) -> list[str]:
    """Columns of ``scaling.csv``: the member's figures, then ``KEY_<rate>rps`` per rate."""
    latency = [latency_column(k, rps_label(r)) for r in rates for k in LATENCY_KEYS]
    return [*CSV_COLUMNS, *latency, "latency_from"]


def write_csv(rows: Sequence[dict[str, Any]], rates: Sequence[float], path: Path) -> None:
    """One row per member (extra keys of the results are left out)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_columns(rates), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buf.getvalue())


_COLORS = {False: "tab:blue", True: "tab:orange"}
_MARKERS = {"truncated": "o", "scratch": "^", "pretrained": "s"}


def _scatter(
    ax: Any,
    rows: Sequence[dict[str, Any]],
    x: str,
    y: str,
    *,
    hollow: bool = False,
    suffix: str = "",
    names: bool = True,
    line: bool = True,
) -> None:
    """Members as points, coloured by DAPT mode, shaped by family; truncations joined (``line``)."""
    for dapt, color in _COLORS.items():
        series = [
            r
            for r in rows
            if bool(r["domain_adapt"]) == dapt and r.get(x) is not None and r.get(y) is not None
        ]
        for family, marker in _MARKERS.items():
            pts = [r for r in series if r["family"] == family]
            if not pts:
                continue
            ax.scatter(
                [r[x] for r in pts],
                [r[y] for r in pts],
                marker=marker,
                s=36,
                facecolors="none" if hollow else color,
                edgecolors=color,
                label=f"DAPT {'on' if dapt else 'off'}, {family}{suffix}",
                zorder=3,
            )
            if names:
                for r in pts:
                    ax.annotate(
                        r["name"],
                        (r[x], r[y]),
                        fontsize=7,
                        xytext=(3, 3),
                        textcoords="offset points",
                    )
        truncations = sorted((r for r in series if r["family"] == "truncated"), key=lambda r: r[x])
        if line and len(truncations) > 1:
            ax.plot(
                [r[x] for r in truncations],
                [r[y] for r in truncations],
                color=color,
                alpha=0.35,
                linestyle=":" if hollow else "-",
            )


def write_plots(
    rows: Sequence[dict[str, Any]],
    fits: dict[str, Any],
    rates: Sequence[float],
    budget_ms: float,
    out: Path,
) -> list[Path]:
    """The five PNGs of the study; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    written: list[Path] = []

    def log_scale(ax: Any, which: str) -> None:
        # Matplotlib labels the minor ticks of a short log axis, and those labels run together.
        getattr(ax, f"set_{which}scale")("log")
        getattr(ax, f"{which}axis").set_minor_formatter(NullFormatter())

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)

    xlabels = {
        "params_non_embedding": "non-embedding parameters N",
        "flops": "training FLOPs (6·N·tokens, DAPT included)",
    }
    for x, stem in (("params_non_embedding", "params"), ("flops", "flops")):
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        _scatter(ax, rows, x, "val_loss")
        if x == "params_non_embedding":
            for key, fit in fits.items():
                if "error" in fit:
                    continue
                ns = [p["params_non_embedding"] for p in fit["points"]]
                grid = np.geomspace(min(ns) / 1.5, max(ns) * 1.5, 100)
                law = PowerLaw(fit["a"], fit["alpha"], fit["c"], fit["r2"], fit["rmse"], 0)
                ax.plot(
                    grid,
                    law(grid),
                    "--",
                    color=_COLORS[key.endswith("_on")],
                    label=f"fit {key.removeprefix('domain_adapt_')}: "
                    f"{fit['a']:.3g}·N^-{fit['alpha']:.3f} + {fit['c']:.3f} "
                    f"(R² {fit['r2']:.3f})",
                )
        log_scale(ax, "x")
        ax.set_xlabel(xlabels[x])
        ax.set_ylabel("validation loss (NLL)")
        ax.set_title(f"Validation loss vs {xlabels[x].split(' (')[0]}")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
        save(fig, f"loss_vs_{stem}.png")

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharex=True)
        for ax, metric in zip(axes, ("top1", "top5"), strict=True):
            _scatter(ax, rows, x, metric)
            log_scale(ax, "x")
            ax.set_xlabel(xlabels[x])
            ax.set_ylabel(f"validation {metric} accuracy")
            ax.set_title(f"{metric} vs {stem}")
            ax.grid(alpha=0.3, which="both")
        axes[0].legend(fontsize=7)
        save(fig, f"accuracy_vs_{stem}.png")

    fig, axes = plt.subplots(1, len(rates), figsize=(4.6 * len(rates), 4.4), squeeze=False)
    for ax, rps in zip(axes[0], rates, strict=True):
        label = rps_label(rps)
        _scatter(ax, rows, "top1", latency_column("p50_ms", label), suffix=", p50", line=False)
        _scatter(
            ax,
            rows,
            "top1",
            latency_column("p99_ms", label),
            hollow=True,
            suffix=", p99",
            names=False,
            line=False,
        )
        ax.axhline(budget_ms, color="tab:red", linewidth=0.8, label=f"{budget_ms:g} ms budget")
        log_scale(ax, "y")
        ax.set_xlabel("validation top-1 accuracy")
        ax.set_ylabel("latency (ms), queueing included")
        ax.set_title(f"{label} requests/s (Poisson, open loop)")
        ax.grid(alpha=0.3, which="both")
    # The legend goes where there is something to explain (a slow rate may have no requests).
    fullest = max(axes[0], key=lambda ax: len(ax.get_legend_handles_labels()[0]))
    fullest.legend(fontsize=6)
    save(fig, "latency_vs_accuracy.png")
    return written


def write_report(
    rows: Sequence[dict[str, Any]],
    out: Path,
    *,
    rates: Sequence[float],
    budget_ms: float,
    fit_on: str,
) -> dict[str, Any]:
    """``scaling.csv``, ``power_law.json``, the plots and ``recommendation.json``.

    The recommendation holds p99 within ``budget_ms`` at the highest of ``rates``; ``fit_on`` is
    :func:`ranker.scaling.fit.fit_series`'s.
    """
    write_csv(rows, rates, out / "scaling.csv")
    fits = fit_series(rows, fit_on)
    write_json_atomic(out / "power_law.json", fits)
    for key, fit in fits.items():
        if "error" in fit:
            tqdm.write(f"power law ({key}): {fit['error']}", file=sys.stderr)
    plots = write_plots(rows, fits, rates, budget_ms, out)
    choice = recommend(rows, budget_ms, max(rates))
    write_json_atomic(out / "recommendation.json", choice)
    return {
        "members": [r["name"] for r in rows],
        "csv": str(out / "scaling.csv"),
        "plots": [str(p) for p in plots],
        "power_law": {k: {m: v for m, v in f.items() if m != "points"} for k, f in fits.items()},
        "recommendation": choice,
    }
