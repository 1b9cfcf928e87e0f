"""Scaling study: validation loss, accuracy and latency against model size and training compute.

The analysis of Wyatte et al. (2024) on the team's own data (``python -m ranker scaling``). A
*family* of encoders is trained with the ordinary recipe (:func:`ranker.train.train`), with and
without domain-adaptive MLM:

- the base model (all-MiniLM-L6-v2 by default) truncated to its first N transformer layers
  (``--layers 1,2,3,4,6``): pretrained, same width;
- narrower BERT configurations initialised from scratch (``--scratch 128x2,256x4``: hidden size x
  layers) with the base model's vocabulary and tokenizer.

Each member is validated on held-out conversations (validation loss = NLL of the uncalibrated
logits, the training objective; top-1, top-5), and timed under open-loop Poisson load against
``Ranker.rank`` at each rate of ``--rps``. Output directory::

    OUT/study.json            the configuration (a resumed run must match it)
    OUT/data/                 the train/validation split (when no --dev is given)
    OUT/runs/NAME/            base/ (the member's initial encoder), model/ (its model directory),
                              result.json (written last, atomically; a member with one is skipped)
    OUT/latency/ARCH.json     latency of an architecture (DAPT on and off share it: same compute)
    OUT/scaling.csv           one row per member
    OUT/power_law.json        L(N) = a * N^-alpha + c per DAPT mode, with R^2, RMSE and the points
    OUT/recommendation.json   the most accurate member within the latency budget, and why
    OUT/*.png                 loss/accuracy vs parameters and FLOPs; latency vs accuracy

Modules: :mod:`~ranker.scaling.config` (the settings), :mod:`~ranker.scaling.family` (which
members, their encoders, parameters and FLOPs), :mod:`~ranker.scaling.latency` (open-loop
timing), :mod:`~ranker.scaling.study` (training, validating and timing the members, resuming),
:mod:`~ranker.scaling.fit` (the power law and the recommendation) and
:mod:`~ranker.scaling.report` (the CSV, JSON and plots). The sub-package builds on the rest of
``ranker`` (training, serving, metrics), which never imports it back.
"""

from ranker.scaling.config import ScalingConfig
from ranker.scaling.study import load_study_config, run_study

__all__ = ["ScalingConfig", "load_study_config", "run_study"]
