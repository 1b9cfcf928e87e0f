"""Where the shared data sets are: `../shared/datasets` beside the checkout, or $ASSIST_DATASETS.

They are read in place, never copied into the project. Tests that need them skip, saying why,
on a machine that does not have them.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("ASSIST_DATASETS", ROOT.parent / "shared" / "datasets"))

needs_datasets = pytest.mark.skipif(
    not DATASETS.is_dir(), reason=f"the shared data sets are not at {DATASETS}"
)
