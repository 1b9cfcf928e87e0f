"""Replay held-out SGD conversations as a simulated agent into a control arm and two models.

Trains two small rankers with `python -m ranker train` on SGD's train.jsonl (a head over the
frozen encoder, on `--sizes` examples each: the same recipe, more or less data), registers them,
and runs `manage.py replay` over a seeded sample of SGD's dev.jsonl (conversations neither model
saw) in a throwaway database: the customer's messages, the rankings (a Celery worker on Redis
when REDIS_URL is set, in-process otherwise), the simulated agent's picks and replies. Prints
per-arm selection time with 95% intervals over conversations, the time saved against the control
arm, and the difference between the two models, as the experiment page shows them. The agent's
time is a model (assist/review/replay.py, AgentTimeModel), not a measurement.

    python bench/replay_bench.py [--conversations 300] [--sizes 300,1500] [--work var/replay]

Trained models are kept in `--work` and reused by later runs.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from checkout import ROOT, setup_django

# Not the test settings: they run tasks in-process whatever REDIS_URL says.
setup_django("config.settings.local", HF_HUB_OFFLINE="1")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

SGD = Path(os.environ.get("ASSIST_DATASETS", ROOT.parent / "shared" / "datasets")) / "sgd"
# Flags that say which vector instructions the ranker's kernels could use.
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def train_model(examples: int, work: Path, seed: int) -> Path:
    """`python -m ranker train` on `examples` SGD training turns, unless trained already."""
    out = (work / f"sgd-{examples}").resolve()
    if (out / "ranker.json").is_file():
        print(f"model sgd-{examples}: reusing {out}", flush=True)
        return out
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "ranker", "train", "--data", str(SGD / "train.jsonl"),
         "--catalog", str(SGD / "catalog.csv"), "--out", str(out),
         "--max-examples", str(examples), "--freeze-encoder", "--max-tokens", "128",
         "--max-dev-examples", "500", "--backend", "fp32", "--threads", "1",
         "--seed", str(seed), "--no-progress"],
        cwd=ROOT, check=True,
    )  # fmt: skip
    print(f"model sgd-{examples}: trained in {time.monotonic() - started:.0f} s", flush=True)
    return out


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor())  # fmt: skip
    flags_line = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    flags = [flag for flag in CPU_FLAGS if f" {flag}" in flags_line]
    return (
        f"{os.cpu_count()} CPUs, {model}, flags: {' '.join(flags) or 'none of ' + str(CPU_FLAGS)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--sizes", default="300,1500", help="training examples of each model")
    parser.add_argument("--work", type=Path, default=ROOT / "var" / "replay")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if not (SGD / "dev.jsonl").is_file():
        sys.exit(f"the SGD data set is not at {SGD}")
    sizes = [int(size) for size in args.sizes.split(",")]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"replay bench: commit {commit}, {machine()}, load average {os.getloadavg()}")
    models = {f"sgd-{size}": train_model(size, args.work, args.seed) for size in sizes}

    from assist.lifecycle.registry import model_version_register
    from devtools.processes import celery_worker, live_env

    redis_url = os.environ.get("REDIS_URL", "")
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("import_catalog", str(SGD / "catalog.csv"), verbosity=0)
        for name, path in models.items():
            model_version_register(name=name, path=path, notes=f"replay bench: {path.name}")
        with ExitStack() as stack:
            if redis_url:
                env = live_env(redis_url=redis_url, ranker_dir=next(iter(models.values())))
                stack.enter_context(celery_worker(env, name="replay"))
                print("rankings: one Celery worker on Redis (PostgreSQL)", flush=True)
            else:
                print("rankings: in-process (embedded mode)", flush=True)
            started = time.monotonic()
            call_command(
                "replay", str(SGD / "dev.jsonl"), "--models", ",".join(models),
                "--limit", str(args.conversations), "--seed", str(args.seed),
                "--experiment", f"replay-sgd-{args.seed}", "--planned", "100",
            )  # fmt: skip
            elapsed = time.monotonic() - started
        figures = {"conversations": args.conversations, "sizes": sizes}
        figures |= {"replay_s": round(elapsed), "load_average": os.getloadavg()}
        print(json.dumps(figures))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
