"""Ranker benchmark: accuracy, calibration, training time and latency, each next to a baseline
measured in the same run.

    python bench/ranker_bench.py            # full: Banking77, SGD (capped), latency (~60 min here)
    python bench/ranker_bench.py --quick    # small slices, a few minutes: checks the plumbing

Figures are printed as tables and, at the end, as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.baselines import embedding_lr, frozen_embeddings, tfidf_lr  # noqa: E402
from ranker.base_models import default_base_model  # noqa: E402
from ranker.data import iter_examples, read_catalog, read_conversations  # noqa: E402
from ranker.evaluate import EvalConfig, evaluate  # noqa: E402
from ranker.metrics import probability_metrics  # noqa: E402
from ranker.model import load_tokenizer  # noqa: E402
from ranker.train import TrainConfig, load_examples, train  # noqa: E402

DATA = Path(os.environ.get("ASSIST_DATASETS", ROOT.parent / "shared" / "datasets"))


@dataclass
class BenchConfig:
    """Benchmark options."""

    quick: bool = False
    work: str = ""  # where model directories go (default: a temporary folder)
    threads: int = 2  # training and latency threads (this machine has 2 cores)
    sgd_max_examples: int = 2000
    sgd_test_conversations: int = 400  # of dev.jsonl's 2,098, seeded; 0 = all
    latency_calls: int = 500
    latency_threads: str = "1,2"  # intra-op thread counts to measure, comma-separated
    skip: str = ""  # comma-separated sections to skip: banking77,sgd,latency
    reuse: bool = False  # reuse model directories already in --work


def _labelled(cfg: TrainConfig, path: str, tokenizer: Any) -> tuple[list[str], np.ndarray]:
    """Contexts and label indices of the turns of ``path`` whose template is in the catalog."""
    index = {c.key: i for i, c in enumerate(read_catalog(cfg.catalog))}
    examples = iter_examples(read_conversations(path), tokenizer, cfg.max_tokens, cfg.max_messages)
    pairs = [(e.context, index[e.label]) for e in examples if e.label in index]
    return [c for c, _ in pairs], np.array([y for _, y in pairs], dtype=np.int64)


def _sample_conversations(src: Path, dst: Path, bench: BenchConfig) -> Path:
    """A seeded sample of conversations (all of them if ``sgd_test_conversations`` is 0)."""
    lines = src.read_text("utf-8").splitlines()
    n = bench.sgd_test_conversations
    if n and n < len(lines):
        keep = sorted(np.random.default_rng(0).choice(len(lines), n, replace=False))
        lines = [lines[i] for i in keep]
    dst.write_text("\n".join(lines) + "\n", "utf-8")
    return dst


def _row(name: str, values: dict[str, Any], keys: list[str]) -> str:
    cells = []
    for k in keys:
        v = values.get(k)
        cells.append(
            f"{100 * v:7.2f}"
            if isinstance(v, float) and k.startswith("top")
            else (f"{v:7.4f}" if isinstance(v, float) else f"{v!s:>7}")
        )
    return f"  {name:<34}" + " ".join(cells)


def accuracy_section(
    title: str,
    cfg: TrainConfig,
    test: str,
    bench: BenchConfig,
    frozen: bool,
    targets: dict[str, float],
) -> dict[str, Any]:
    """Train (or reuse) the ranker, evaluate it on ``test`` and the baselines on the same data."""
    print(f"\n== {title} ==", flush=True)
    out = Path(cfg.out)
    if not (bench.reuse and (out / "ranker.json").exists()):
        train(cfg)
    meta = json.loads((out / "ranker.json").read_text())
    ranker = evaluate(EvalConfig(model=str(out), data=test, threads=bench.threads))

    tokenizer = load_tokenizer(cfg.base_model or default_base_model())
    _, train_ex, _ = load_examples(cfg, tokenizer)  # the ranker's own training examples
    index = {k: i for i, k in enumerate(meta["labels"])}
    train_texts = [e.context for e in train_ex if e.label in index]
    train_y = np.array([index[e.label] for e in train_ex if e.label in index], dtype=np.int64)
    test_texts, test_y = _labelled(cfg, test, tokenizer)
    n_labels = len(index)
    t0 = time.perf_counter()
    tfidf = probability_metrics(tfidf_lr(train_texts, train_y, test_texts, n_labels), test_y)
    tfidf["fit_seconds"] = round(time.perf_counter() - t0, 1)
    results: dict[str, Any] = {"ranker": ranker, "tfidf_lr": tfidf}
    if frozen:
        base = cfg.base_model or default_base_model()
        t0 = time.perf_counter()
        emb_train = frozen_embeddings(train_texts, base, cfg.max_tokens)
        emb_test = frozen_embeddings(test_texts, base, cfg.max_tokens)
        results["frozen_lr"] = probability_metrics(
            embedding_lr(emb_train, train_y, emb_test, n_labels), test_y
        )
        results["frozen_lr"]["fit_seconds"] = round(time.perf_counter() - t0, 1)

    m = meta["metrics"]
    results["train_seconds"] = m["train_seconds"]
    results["n_train"] = m["n_train"]
    results["dev_calibration_before"] = m["calibration_before"]
    results["dev_calibration_after"] = m["calibration_after"]
    results["temperature"] = m["temperature"]
    results["epochs_run"] = len(m["history"])
    keys = ["top1", "top3", "top5", "nll", "ece"]
    print(f"  {'':<34}" + " ".join(f"{k:>7}" for k in keys))
    print(_row("ranker (calibrated)", ranker, keys))
    print(_row("TF-IDF + LR (same contexts)", tfidf, keys))
    if "frozen_lr" in results:
        print(_row("LR on frozen MiniLM embeddings", results["frozen_lr"], keys))
    print(_row("target", {k: targets.get(k, "") for k in keys}, keys))
    cb, ca = m["calibration_before"], m["calibration_after"]
    print(
        f"  dev calibration  T={m['temperature']:.3f}  ECE {cb['ece']:.4f} -> {ca['ece']:.4f}  "
        f"MCE {cb['mce']:.4f} -> {ca['mce']:.4f}  Brier {cb['brier']:.4f} -> {ca['brier']:.4f}"
    )
    print(
        f"  test n={ranker['n']}  abstain_rate on free text={ranker['abstain_rate']}  "
        f"threshold={ranker['threshold']:.3f}  training examples={m['n_train']}"
    )
    print(
        f"  training wall time {m['train_seconds']:.0f} s  ({len(m['history'])} epochs, "
        f"{meta['train_args'].get('threads') or 'default'} training threads)",
        flush=True,
    )
    return results


def latency_section(model_dir: str, bench: BenchConfig) -> dict[str, Any]:
    """p50/p99 of ``rank`` for one 128-token context per backend and thread count, batched
    throughput, and the same figures for a plain transformers text-classification pipeline of
    the same encoder, all in one run.

    Both read the same number of tokens: ``rank`` cuts a context to the model's budget
    (``max_tokens``, 96 in the default recipe), so the pipeline's tokenizer truncates to that
    budget too. Timing the pipeline on all 128 tokens would credit the ranker with work it
    merely skips.

    The machine is shared, so the candidates are interleaved: each round runs a block of calls
    of every candidate in turn (blocks rather than single calls, so that one runtime's spinning
    worker threads do not land in another's timings), and the load average is printed.
    """
    import torch
    from transformers import AutoModelForSequenceClassification, pipeline

    from ranker.serving import BACKENDS, Ranker

    thread_counts = sorted({int(t) for t in bench.latency_threads.split(",")})
    probe = Ranker(model_dir, backend="fp32", threads=1)
    budget = min(128, probe.meta.max_tokens)
    print(
        f"\n== latency: rank() of one 128-token context ({budget} tokens read, the model's "
        f"budget, by the ranker and the pipeline alike), threads {thread_counts} ==",
        flush=True,
    )
    sample = (
        "customer: my card payment was declined twice at the shop and I still see a pending "
        "charge on the statement, can you check what happened? "
    ) * 6  # ~170 tokens, cut to 126 below
    ids = probe.tokenizer(sample, add_special_tokens=False)["input_ids"][:126]
    text = probe.tokenizer.decode(ids)  # 126 tokens + [CLS] and [SEP] = 128
    assert len(probe.tokenizer(text)["input_ids"]) == 128
    batch = [text] * 32

    enc_dir = str(Path(model_dir) / "encoder")
    clf = AutoModelForSequenceClassification.from_pretrained(enc_dir, num_labels=len(probe.labels))
    pipe = pipeline("text-classification", model=clf, tokenizer=probe.tokenizer, device="cpu")
    candidates: dict[str, tuple[int, Any]] = {}
    for t in thread_counts:

        def run_pipe(xs: list[str], t: int = t) -> Any:
            torch.set_num_threads(t)
            return pipe(xs, batch_size=len(xs), truncation=True, max_length=budget)

        candidates[f"pipeline_fp32/{t}"] = (t, run_pipe)
        for backend in BACKENDS:
            r = Ranker(model_dir, backend=backend, threads=t)
            candidates[f"{backend}/{t}"] = (t, lambda xs, r=r: r.rank(xs, k=5))

    calls, rounds = bench.latency_calls, 10
    block = max(1, calls // rounds)
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for _, fn in candidates.values():
        for _ in range(10):
            fn([text])
    load_before = os.getloadavg()
    for _ in range(rounds):
        for name, (_, fn) in candidates.items():
            for _ in range(block):
                t0 = time.perf_counter()
                fn([text])
                times[name].append(time.perf_counter() - t0)
    reps = 1 if bench.quick else 3
    per_sec: dict[str, float] = {}
    for name, (_, fn) in candidates.items():
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(batch)
        per_sec[name] = reps * len(batch) / (time.perf_counter() - t0)
    load_after = os.getloadavg()

    served = json.loads((Path(model_dir) / "ranker.json").read_text())["backend"]
    results: dict[str, Any] = {}
    for name, (t, _) in candidates.items():
        results[name] = {
            "threads": t,
            "calls": len(times[name]),
            "p50_ms": 1000 * float(np.percentile(times[name], 50)),
            "p99_ms": 1000 * float(np.percentile(times[name], 99)),
            "batch32_per_s": per_sec[name],
        }
    print(f"  {'':<24}{'threads':>8}{'p50 ms':>9}{'p99 ms':>9}{'batch32/s':>11}{'x pipeline':>12}")
    for name, r in results.items():
        base = results[f"pipeline_fp32/{r['threads']}"]["p50_ms"]
        r["speedup_vs_pipeline"] = base / r["p50_ms"]
        backend = name.split("/")[0]
        tag = backend + (" (served)" if backend == served else "")
        print(
            f"  {tag:<24}{r['threads']:>8}{r['p50_ms']:9.2f}{r['p99_ms']:9.2f}"
            f"{r['batch32_per_s']:11.1f}{r['speedup_vs_pipeline']:12.2f}"
        )
    print(
        f"  {len(times[name])} calls each, interleaved in {rounds} rounds; load average "
        f"(1/5/15 min) before {_load(load_before)}, after {_load(load_after)}, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"  target: one thread, served backend ({served}) >= 3x the pipeline at p50",
        flush=True,
    )
    results["served"], results["tokens"] = served, budget
    results["load_before"], results["load_after"] = load_before, load_after
    return results


def _load(avg: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in avg)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark sections; print tables and a final JSON line."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--work", default="")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sgd-max-examples", type=int, default=2000)
    p.add_argument("--sgd-test-conversations", type=int, default=400)
    p.add_argument("--latency-calls", type=int, default=500)
    p.add_argument("--latency-threads", default="1,2")
    p.add_argument("--skip", default="")
    p.add_argument("--reuse", action="store_true")
    bench = BenchConfig(**vars(p.parse_args(argv)))
    if bench.quick:
        bench.latency_calls = min(bench.latency_calls, 100)
        bench.latency_threads = bench.latency_threads.split(",")[0]  # plumbing: one count
        bench.sgd_max_examples = min(bench.sgd_max_examples, 600)
        bench.sgd_test_conversations = 100
    work = Path(bench.work or tempfile.mkdtemp(prefix="ranker-bench-"))
    skip = set(filter(None, bench.skip.split(",")))
    print(f"ranker benchmark ({'quick' if bench.quick else 'full'}), work dir {work}", flush=True)
    out: dict[str, Any] = {"quick": bench.quick}

    b77 = DATA / "banking77"
    b77_cfg = TrainConfig(
        data=str(b77 / "train.jsonl"),
        catalog=str(b77 / "catalog.csv"),
        out=str(work / "banking77"),
        threads=bench.threads,
    )
    if bench.quick:
        b77_cfg = replace(b77_cfg, max_examples=1500, epochs=1, backend="onnx-int8")
    if "banking77" not in skip:
        out["banking77"] = accuracy_section(
            "Banking77: train.jsonl -> test.jsonl",
            b77_cfg,
            str(b77 / "test.jsonl"),
            bench,
            frozen=True,
            targets={"top1": 0.937, "top5": 0.993, "ece": 0.02},
        )

    sgd = DATA / "sgd"
    if "sgd" not in skip:
        sgd_test = _sample_conversations(sgd / "dev.jsonl", work / "sgd-dev-sample.jsonl", bench)
        for name, max_messages in (("with context", None), ("last message only", 1)):
            cfg = TrainConfig(
                data=str(sgd / "train.jsonl"),
                catalog=str(sgd / "catalog.csv"),
                out=str(work / f"sgd-{'ctx' if max_messages is None else 'last'}"),
                max_examples=bench.sgd_max_examples,
                max_messages=max_messages,
                threads=bench.threads,
                backend="fp32",
            )
            if bench.quick:
                cfg = replace(cfg, epochs=1, max_dev_examples=500)
            out[f"sgd_{name}"] = accuracy_section(
                f"SGD {name}: train.jsonl (cap {bench.sgd_max_examples} examples) -> "
                f"dev.jsonl ({bench.sgd_test_conversations or 'all'} conversations)",
                cfg,
                str(sgd_test),
                bench,
                frozen=False,
                targets={},
            )

    if "latency" not in skip and (work / "banking77" / "ranker.json").exists():
        out["latency"] = latency_section(str(work / "banking77"), bench)
    print(json.dumps(out, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
