"""Latency of a member under open-loop Poisson load, queueing included."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from ranker.scaling.config import ScalingConfig, csv_items
from ranker.scaling.fit import rps_label

if TYPE_CHECKING:
    from ranker.serving import Ranker


def parse_rps(text: str) -> list[float]:
    """``"1,5,20"`` -> ``[1.0, 5.0, 20.0]``."""
    rates = [float(x) for x in csv_items(text)]
    if any(r <= 0 for r in rates):
        raise ValueError(f"request rates must be positive: {text!r}")
    return rates


def open_loop_latency(
    call: Callable[[int], object],
    rps: float,
    seconds: float,
    seed: int = 0,
    max_wall_factor: float = 3.0,
) -> dict[str, Any]:
    """Latency of ``call`` under open-loop Poisson arrivals at ``rps`` for ``seconds``.

    Arrival times are drawn in advance and never wait for completions (open loop), and one server
    takes requests in arrival order, as a serving process does (``Ranker`` serialises its calls):
    each latency is completion time minus scheduled arrival, queueing delay included. If the
    backlog has not cleared ``max_wall_factor * seconds`` after the start, the requests not yet
    started count with the time they have waited (a lower bound) and ``saturated`` is true.
    """
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0 / rps, size=int(rps * seconds * 2) + 50)
    arrivals = np.cumsum(gaps)
    arrivals = arrivals[arrivals < seconds]
    latencies: list[float] = []
    busy = 0.0
    start = time.perf_counter()
    saturated = False
    for i, arrival in enumerate(arrivals):
        now = time.perf_counter() - start
        if now < arrival:
            time.sleep(arrival - now)
        elif now > max_wall_factor * seconds:
            saturated = True
            latencies += [now - a for a in arrivals[i:]]
            break
        t = time.perf_counter()
        call(i)
        done = time.perf_counter()
        busy += done - t
        latencies.append(done - start - arrival)
    elapsed = time.perf_counter() - start
    ms = 1000 * np.asarray(latencies)
    return {
        "rps": rps,
        "seconds": seconds,
        "requests": len(arrivals),
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else None,
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else None,
        "mean_ms": float(ms.mean()) if len(ms) else None,
        "utilisation": busy / elapsed if elapsed > 0 else 0.0,
        "saturated": saturated,
    }


def member_latency(
    cfg: ScalingConfig, ranker: Ranker, contexts: list[str], progress: bool = False
) -> dict[str, dict[str, Any]]:
    """``open_loop_latency`` of ``ranker.rank([context], k=5)`` at each of ``cfg.rps``.

    Contexts are validation contexts in a seeded random order, so request lengths follow the
    data's.
    """
    order = np.random.default_rng(cfg.seed).permutation(len(contexts))

    def call(i: int) -> object:
        return ranker.rank([contexts[order[i % len(order)]]], k=5)

    for i in range(3):  # warm-up: first calls pay for allocations and lazy initialisation
        call(i)
    rates = parse_rps(cfg.rps)
    out: dict[str, dict[str, Any]] = {}
    for rps in tqdm(rates, desc="latency", disable=not progress, leave=False):
        out[rps_label(rps)] = open_loop_latency(call, rps, cfg.latency_seconds, seed=cfg.seed)
    return out
