"""The package's boundary: no module of ``ranker`` imports Django (STYLE.md: the ML package is
plain Python + torch + transformers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: the test process itself has Django loaded (pytest-django).
IMPORT_ALL = r"""
import importlib, json, pkgutil, runpy, sys
import ranker

names = sorted(m.name for m in pkgutil.walk_packages(ranker.__path__, "ranker."))
for name in names:
    if name != "ranker.__main__":  # runs the command line: below, with --help
        importlib.import_module(name)
for attr in ranker.__all__:  # the lazily imported public names as well
    getattr(ranker, attr)
sys.argv = ["ranker", "--help"]
try:
    runpy.run_module("ranker", run_name="__main__")
except SystemExit as exit:
    assert exit.code == 0, exit.code
django = sorted(m for m in sys.modules if m.split(".")[0] == "django")
print(json.dumps({"modules": names, "django": django}))
"""


def _module_files() -> set[str]:
    """Every module of the package on disk, as a dotted name."""
    names = set()
    for path in (ROOT / "ranker").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names - {"ranker"}


def test_no_ranker_module_imports_django() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result["modules"]) == _module_files()  # the walk saw every module
    assert {"ranker.metrics", "ranker.cli", "ranker.scaling.study"} <= set(result["modules"])
    assert result["django"] == []
