"""Template ranker: a calibrated discriminative top-K classifier over a response catalog.

Plain Python, torch and transformers; it never imports Django. Heavy modules load lazily, so
``import ranker`` stays cheap. Public API (see docs/ranker.md)::

    from ranker import Ranker, build_context
    r = Ranker.load(model_dir)              # once per process; RANKER_THREADS threads
    ctx = r.build_context([("customer", "my card has not arrived")])
    r.rank([ctx], k=5, allowed={...})       # [[(template_key, calibrated_probability), ...]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ranker.data import (
    CONTEXT_FORMAT,
    Example,
    build_context,
    format_message,
    read_catalog,
    read_conversations,
)

if TYPE_CHECKING:
    from ranker.calibration import invert_softmax
    from ranker.evaluate import EvalConfig, evaluate
    from ranker.model import ModelMeta
    from ranker.serving import Ranker
    from ranker.train import TrainConfig, train

_LAZY = {
    "Ranker": "ranker.serving",
    "ModelMeta": "ranker.model",
    "invert_softmax": "ranker.calibration",
    "TrainConfig": "ranker.train",
    "train": "ranker.train",
    "EvalConfig": "ranker.evaluate",
    "evaluate": "ranker.evaluate",
}

__all__ = [
    "CONTEXT_FORMAT",
    "EvalConfig",
    "Example",
    "ModelMeta",
    "Ranker",
    "TrainConfig",
    "build_context",
    "evaluate",
    "format_message",
    "invert_softmax",
    "read_catalog",
    "read_conversations",
    "train",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ranker' has no attribute {name!r}")
