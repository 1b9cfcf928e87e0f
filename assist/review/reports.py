"""The experiment page's numbers, analysed at the unit of randomisation: the conversation.

Arms are assigned per conversation (assist/review/experiments.py), so each conversation gives
one value per metric: its mean selection time, its top-1 and top-K hit rates, its acceptance
rate. An arm's figure is the mean over its conversations, with a Student's t interval; arms are
compared by Welch's t-test over those values (and by Mann-Whitney U for selection time). Replies
of one conversation share its agent, customer and topic: counted as independent, they give
p-values far too small (tests/assist/review/test_experiment_false_positives.py measures how
much). Below `MIN_CONVERSATIONS` per arm there is no verdict at all; before the experiment's
planned size a verdict is an interim look and says so.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from assist.models import Experiment
from assist.review import metrics, stats

ALPHA = 0.05
# Welch's t over conversation means leans on the central limit theorem; with skewed selection
# times and fewer than about 30 conversations an arm its p-values are not to be trusted.
MIN_CONVERSATIONS = 30

TOO_FEW, INTERIM, FINAL = "too few", "interim", "final"


@dataclass(frozen=True)
class ArmOutcomes:
    """One value per conversation of an arm, for each metric (conversations without the
    metric's denominator, e.g. no list shown, have no value for it)."""

    selection_s: np.ndarray  # the conversation's mean selection time, seconds
    top1: np.ndarray  # share of its replies with a list whose template was ranked 1st
    topk: np.ndarray  # ... was anywhere in the list
    acceptance: np.ndarray  # share of its lists the agent used
    conversations: int
    replies: int

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> "ArmOutcomes":
        """From per-conversation counts (metrics.arm_conversation_outcomes' rows)."""
        selection, top1, topk, acceptance = [], [], [], []
        conversations = replies = 0
        for row in rows:
            conversations += 1
            replies += row["replies"]
            if row["n_selection"]:
                selection.append(row["selection_sum"] / row["n_selection"] / 1000)
            if row["with_list"]:
                top1.append(row["top1"] / row["with_list"])
                topk.append(row["topk"] / row["with_list"])
            if row["lists"]:
                acceptance.append(row["picked_lists"] / row["lists"])
        return cls(
            selection_s=np.array(selection, dtype=float),
            top1=np.array(top1, dtype=float),
            topk=np.array(topk, dtype=float),
            acceptance=np.array(acceptance, dtype=float),
            conversations=conversations,
            replies=replies,
        )


# (label, ArmOutcomes field, unit): "s" for seconds, "" for a rate.
SELECTION = ("Mean selection time", "selection_s", "s")
RATES = (
    ("Top-1 hit rate", "top1", ""),
    ("Top-K hit rate", "topk", ""),
    ("Acceptance rate", "acceptance", ""),
)


@dataclass(frozen=True)
class Comparison:
    metric: str
    arm: str
    reference: str
    difference: float
    unit: str
    test: stats.TestResult
    n_arm: int  # conversations with a value, in each arm
    n_reference: int
    planned: int | None  # the experiment's planned conversations per arm

    @property
    def stage(self) -> str:
        """TOO_FEW (no verdict), INTERIM (before the planned size, or none planned), FINAL."""
        smaller = min(self.n_arm, self.n_reference)
        if smaller < MIN_CONVERSATIONS:
            return TOO_FEW
        if self.planned is None or smaller < self.planned:
            return INTERIM
        return FINAL

    @property
    def significant(self) -> bool:
        return self.stage != TOO_FEW and self.test.significant(ALPHA)

    @property
    def p_text(self) -> str:
        if self.stage == TOO_FEW:
            return "—"  # a p-value with no verdict invites one
        # Below 1e-4 the exact value means nothing more (and large samples underflow to 0).
        p = self.test.p_value
        return "p < 0.0001" if p < 1e-4 else f"p = {p:.3g}"

    @property
    def sentence(self) -> str:
        if self.unit == "s":
            size = f"{abs(self.difference):.2f} s {'longer' if self.difference > 0 else 'shorter'}"
        else:
            points = abs(self.difference) * 100
            size = f"{points:.1f} points {'higher' if self.difference > 0 else 'lower'}"
        counts = f"{self.n_arm} and {self.n_reference} conversations"
        if self.stage == TOO_FEW:
            return (
                f"{self.metric} in {self.arm} is {size} than in {self.reference} over {counts}; "
                f"no verdict below {MIN_CONVERSATIONS} conversations per arm."
            )
        verdict = (
            f"the difference is statistically significant ({self.p_text}, below {ALPHA})"
            if self.test.significant(ALPHA)
            else f"the difference is not statistically significant ({self.p_text}, not below "
            f"{ALPHA}): these data cannot tell the arms apart"
        )
        sentence = (
            f"{self.metric} in {self.arm} is {size} than in {self.reference} over {counts}; "
            f"{verdict} ({self.test.name} over conversations)."
        )
        if self.stage == INTERIM:
            plan = f"{self.planned} planned per arm" if self.planned else "no planned size was set"
            sentence += f" Interim look ({plan}): not a final verdict."
        return sentence


def compare_arms(
    *,
    arm: str,
    outcomes: ArmOutcomes,
    reference: str,
    reference_outcomes: ArmOutcomes,
    selection: bool,
    rates: bool,
    planned: int | None,
) -> list[Comparison]:
    """`arm` against `reference`, one value per conversation: selection time by Welch's t-test
    and Mann-Whitney U, the rates by Welch's t-test."""
    chosen = ([SELECTION] if selection else []) + (list(RATES) if rates else [])
    comparisons = []
    for label, field, unit in chosen:
        x, y = getattr(outcomes, field), getattr(reference_outcomes, field)
        if len(x) < 2 or len(y) < 2:
            continue
        tests = [(label, stats.welch_t_test_values(x, y))]
        if field == "selection_s":
            # A rank test too: selection times are skewed, and it needs no normal means.
            tests.append(("Selection time", stats.mann_whitney_u(x, y)))
        difference = float(x.mean() - y.mean())
        for name, test in tests:
            comparisons.append(
                Comparison(name, arm, reference, difference, unit, test, len(x), len(y), planned)
            )
    return comparisons


def experiment_report(experiment: Experiment, period: metrics.Period) -> dict[str, Any]:
    """Per arm: conversations, replies, each metric's mean over conversations with its 95%
    interval; each arm compared with the reference arm (control if there is one, else the
    first) on selection time, and model arms with the first model arm on the rates and on
    selection time."""
    by_arm: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in metrics.arm_conversation_outcomes(experiment, period):
        by_arm[row["arm_id"]].append(row)
    planned = experiment.planned_conversations_per_arm
    arms: list[dict[str, Any]] = []
    for arm in experiment.arms.select_related("model_version").order_by("pk"):
        outcomes = ArmOutcomes.from_rows(by_arm.get(arm.pk, []))
        arms.append(
            {
                "arm": arm,
                "outcomes": outcomes,
                "conversations": outcomes.conversations,
                "replies": outcomes.replies,
                "n_selection": len(outcomes.selection_s),
                "selection_s": stats.mean_interval_values(outcomes.selection_s),
                "rate_cis": [
                    stats.mean_interval_values(values)
                    for values in (outcomes.top1, outcomes.topk, outcomes.acceptance)
                ],
                "short_of_plan": planned is None or outcomes.conversations < planned,
            }
        )
    comparisons: list[Comparison] = []
    report: dict[str, Any] = {
        "arms": arms,
        "comparisons": comparisons,
        "planned": planned,
        "min_conversations": MIN_CONVERSATIONS,
        "interim": any(row["short_of_plan"] for row in arms),
    }
    if not arms:
        return report
    reference = next((row for row in arms if row["arm"].is_control), arms[0])
    rate_reference = next((row for row in arms if not row["arm"].is_control), None)
    for row in arms:
        # Selection time against the reference (the control arm when there is one); model
        # arms also against the first model arm, on the suggestion rates (which a control arm
        # has none of) and on selection time: the difference between two models.
        against = [(reference, True, False)] if row is not reference else []
        if rate_reference is not None and row is not rate_reference and not row["arm"].is_control:
            against.append((rate_reference, rate_reference is not reference, True))
        for other, selection, rates in against:
            comparisons += compare_arms(
                arm=row["arm"].name,
                outcomes=row["outcomes"],
                reference=other["arm"].name,
                reference_outcomes=other["outcomes"],
                selection=selection,
                rates=rates,
                planned=planned,
            )
    report["reference"] = reference["arm"]
    return report
