"""What the scaling study's rows say: the power law of loss on size, and the member to ship.

A row is one member's result (a ``runs/NAME/result.json``, a line of ``scaling.csv``); its latency
figures at each request rate are the columns named by :func:`latency_column`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

# ----- latency columns -----


def rps_label(rps: float) -> str:
    """Column-name form of a rate: ``20.0`` -> ``"20"``, ``0.5`` -> ``"0.5"``."""
    return f"{rps:g}"


def latency_column(key: str, label: str) -> str:
    """Column of latency figure ``key`` at the rate ``label`` (:func:`rps_label`).

    ``("p99_ms", "20")`` -> ``"p99_ms_20rps"``.
    """
    return f"{key}_{label}rps"


# ----- the power law -----


@dataclass(frozen=True)
class PowerLaw:
    """``L(N) = a * N^-alpha + c`` fitted by least squares, with its fit quality."""

    a: float
    alpha: float
    c: float
    r2: float
    rmse: float
    n_points: int

    def __call__(self, n: np.ndarray) -> np.ndarray:
        return self.a * np.power(np.asarray(n, dtype=np.float64), -self.alpha) + self.c


def fit_power_law(
    n_params: Sequence[float], loss: Sequence[float], min_points: int = 4
) -> PowerLaw:
    """Fit ``L(N) = a * N^-alpha + c`` (``a, alpha, c >= 0``, ``c`` at most the lowest loss).

    Three parameters need at least ``min_points`` distinct sizes to leave a residual to judge
    the fit by; fewer raise ``ValueError`` saying so.
    """
    from scipy.optimize import curve_fit

    n = np.asarray(n_params, dtype=np.float64)
    y = np.asarray(loss, dtype=np.float64)
    if len(n) != len(y):
        raise ValueError("n_params and loss differ in length")
    distinct = len(np.unique(n))
    if distinct < min_points:
        raise ValueError(
            f"too few points for a power-law fit: L(N) = a*N^-alpha + c has 3 parameters and "
            f"needs at least {min_points} models of different sizes, got {distinct}"
        )
    if np.any(n <= 0) or not np.all(np.isfinite(y)):
        raise ValueError("sizes must be positive and losses finite")
    # Fit in units of the geometric-mean size so that the optimiser sees a and c of one order.
    n0 = float(np.exp(np.log(n).mean()))
    x = n / n0

    def f(x: np.ndarray, a: float, alpha: float, c: float) -> np.ndarray:
        y: np.ndarray = a * np.power(x, -alpha) + c
        return y

    c_max = max(float(y.min()), 1e-9)
    bounds = ([0.0, 0.0, 0.0], [np.inf, 5.0, c_max])
    best: tuple[float, np.ndarray] | None = None
    for alpha0 in (0.1, 0.3, 1.0, 2.0):  # a few starts: the exponent is the hard parameter
        p0 = (max(float(y.max() - y.min()), 1e-3), alpha0, 0.5 * c_max)
        try:
            p, _ = curve_fit(f, x, y, p0=p0, bounds=bounds, maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        sse = float(((f(x, *p) - y) ** 2).sum())
        if best is None or sse < best[0]:
            best = (sse, p)
    if best is None:
        raise ValueError("the power-law fit did not converge")
    sse, (a_n, alpha, c) = best
    sst = float(((y - y.mean()) ** 2).sum())
    return PowerLaw(
        a=float(a_n * n0**alpha),  # back to raw parameter counts: a_n * (N / n0)^-alpha
        alpha=float(alpha),
        c=float(c),
        r2=1.0 - sse / sst if sst > 0 else 1.0,
        rmse=math.sqrt(sse / len(y)),
        n_points=len(y),
    )


def fit_series(rows: Sequence[dict[str, Any]], fit_on: str = "truncated") -> dict[str, Any]:
    """One power law of validation loss on non-embedding parameters per DAPT mode.

    ``fit_on="truncated"`` fits the pretrained truncations only: scratch members lack
    pretraining, and mixing the two would fit the value of pretraining rather than of size.
    """
    if fit_on not in ("truncated", "all"):
        raise ValueError(f"fit_on is 'truncated' or 'all', not {fit_on!r}")
    fits: dict[str, Any] = {}
    for dapt in sorted({bool(r["domain_adapt"]) for r in rows}):
        points = [
            r
            for r in rows
            if bool(r["domain_adapt"]) == dapt and (fit_on == "all" or r["family"] == "truncated")
        ]
        used = [
            {
                "name": r["name"],
                "params_non_embedding": r["params_non_embedding"],
                "val_loss": r["val_loss"],
            }
            for r in sorted(points, key=lambda r: r["params_non_embedding"])
        ]
        key = "domain_adapt_" + ("on" if dapt else "off")
        try:
            law = fit_power_law(
                [p["params_non_embedding"] for p in used], [p["val_loss"] for p in used]
            )
        except ValueError as exc:
            fits[key] = {"error": str(exc), "fit_on": fit_on, "points": used}
            continue
        for p in used:
            p["predicted"] = float(law(np.array([p["params_non_embedding"]]))[0])
        fits[key] = {
            **asdict(law),
            "formula": "L(N) = a * N^-alpha + c",
            "N": "non-embedding parameters",
            "fit_on": fit_on,
            "points": used,
        }
    return fits


# ----- recommendation -----


def recommend(
    results: Sequence[dict[str, Any]], budget_ms: float = 100.0, rps: float = 20.0
) -> dict[str, Any]:
    """The most accurate member whose p99 latency at ``rps`` is within ``budget_ms``, and why.

    Accuracy is validation top-1 (then top-5, then fewer parameters). A member whose queue did
    not clear (``saturated``) never qualifies. Returns ``choice`` (a name, or ``None``) and
    ``reason``.
    """
    label = rps_label(rps)
    p99, p50 = latency_column("p99_ms", label), latency_column("p50_ms", label)
    sat, n = latency_column("saturated", label), latency_column("requests", label)
    base = {"budget_ms": budget_ms, "rps": rps, "metric": "top1"}
    measured = [r for r in results if r.get(p99) is not None]
    if not measured:
        reason = f"no member has a latency measurement at {rps:g} requests/s"
        return {**base, "choice": None, "reason": reason}
    within = [r for r in measured if not r.get(sat) and r[p99] <= budget_ms]
    if not within:
        fastest = min(measured, key=lambda r: r[p99])
        reason = (
            f"no member keeps p99 within {budget_ms:g} ms at {rps:g} requests/s; the fastest, "
            f"{fastest['name']}, has p99 {fastest[p99]:.0f} ms"
        )
        return {**base, "choice": None, "reason": reason}
    best = max(within, key=lambda r: (r["top1"], r["top5"], -r["params_non_embedding"]))
    reason = (
        f"{best['name']} ({_describe(best)}) has the highest validation top-1 "
        f"({best['top1']:.1%}, top-5 {best['top5']:.1%}) of the {len(within)} of "
        f"{len(measured)} members whose p99 latency at {rps:g} requests/s is within "
        f"{budget_ms:g} ms (its p99 {best[p99]:.0f} ms, p50 {best[p50]:.0f} ms"
        + (f", from {best[n]} requests)" if best.get(n) is not None else ")")
    )
    better = sorted((r for r in measured if r["top1"] > best["top1"]), key=lambda r: -r["top1"])
    if better:
        reason += "; more accurate but over the budget: " + ", ".join(
            f"{r['name']} (top-1 {r['top1']:.1%}, p99 {r[p99]:.0f} ms"
            + (", queue did not clear)" if r.get(sat) else ")")
            for r in better
        )
    else:
        reason += "; no member is more accurate"
    return {
        **base,
        "choice": best["name"],
        "reason": reason,
        "top1": best["top1"],
        "top5": best["top5"],
        "p99_ms": best[p99],
    }


def _describe(row: dict[str, Any]) -> str:
    kind = {"truncated": "pretrained, truncated", "pretrained": "pretrained, whole"}.get(
        row["family"], "from scratch"
    )
    dapt = "with" if row["domain_adapt"] else "without"
    return (
        f"{row['layers']} layers, hidden {row['hidden']}, {kind}, {dapt} DAPT, "
        f"{row['params_non_embedding'] / 1e6:.2f}M non-embedding parameters"
    )
