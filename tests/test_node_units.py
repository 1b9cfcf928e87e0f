"""The JavaScript unit tests (the panel's protocol, state reducer and key map; extension adapters)
under node's runner."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
@pytest.mark.parametrize("folder", ["tests/js/", "tests/extension/"])
def test_node_unit_tests(folder):
    result = subprocess.run(
        ["node", "--test", folder], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
