"""Which machine a benchmark ran on (one line for every figure it prints), and a process's memory.

Machines of the same kind differ (AVX-512 with VNNI or BF16 on some, AVX2 only on others, and
speeds 1.5x apart), so a figure without its CPU flags and load cannot be compared.
"""

import os
import platform
from pathlib import Path

# The instruction sets that change which serving backend is fastest.
SIMD = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni")


def cpu_flags() -> list[str]:
    """The SIMD flags of /proc/cpuinfo that matter to the ranker (empty off Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return []
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return [flag for flag in SIMD if flag in flags]
    return []


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe_machine() -> str:
    """E.g. 'Intel Xeon @ 2.80GHz, 2 CPUs, avx2 avx512f avx512_vnni, load 1.3'."""
    return (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {' '.join(cpu_flags()) or 'no AVX2'}, "
        f"load {os.getloadavg()[0]:.1f}"
    )


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (a Celery pool), in MB, from /proc."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass  # a pool child that just exited
    return total
