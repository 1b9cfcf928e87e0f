"""The experiment page's numbers: per arm, intervals; per comparison, a test and a sentence."""

import math
from dataclasses import dataclass
from typing import Any

from assist.models import Experiment, ExperimentArm
from assist.review import metrics, stats

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    metric: str
    arm: ExperimentArm
    reference: ExperimentArm
    difference: float
    unit: str
    test: stats.TestResult

    @property
    def significant(self) -> bool:
        return self.test.significant(ALPHA)

    @property
    def p_text(self) -> str:
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
        verdict = (
            f"the difference is statistically significant ({self.p_text}, below {ALPHA})"
            if self.significant
            else f"the difference is not statistically significant ({self.p_text}, not below "
            f"{ALPHA}): these data cannot tell the arms apart"
        )
        return (
            f"{self.metric} in {self.arm.name} is {size} than in {self.reference.name}; "
            f"{verdict} ({self.test.name})."
        )


def _selection_interval(row: dict[str, Any]) -> stats.Interval | None:
    if not row["n_selection"] or row["selection_var"] is None:
        return None
    to_s = 1 / 1000
    interval = stats.mean_interval(
        mean=row["selection_mean_ms"], var=row["selection_var"], n=row["n_selection"]
    )
    return stats.Interval(interval.estimate * to_s, interval.low * to_s, interval.high * to_s)


def experiment_report(
    experiment: Experiment, period: metrics.Period, *, rank_test: bool = True
) -> dict[str, Any]:
    """Arms with 95% intervals, and each arm compared with the reference arm (control if
    there is one, else the first): selection time by Welch's t-test (and Mann-Whitney U when
    `rank_test`, which reads the times themselves), rates by the two-proportion z-test."""
    arms = metrics.arm_summaries(experiment, period)
    for row in arms:
        row["selection_s"] = _selection_interval(row)
        row["top1_ci"] = stats.wilson_interval(row["top1"], row["with_list"])
        row["topk_ci"] = stats.wilson_interval(row["topk"], row["with_list"])
        row["acceptance_ci"] = stats.wilson_interval(row["picked_lists"], row["lists"])
        row["rate_cis"] = [row["top1_ci"], row["topk_ci"], row["acceptance_ci"]]
    comparisons: list[Comparison] = []
    if not arms:
        return {"arms": arms, "comparisons": comparisons}
    reference = next((row for row in arms if row["arm"].is_control), arms[0])
    rate_reference = next((row for row in arms if not row["arm"].is_control), None)
    for row in arms:
        if row is not reference and row["n_selection"] > 1 and reference["n_selection"] > 1:
            difference = (row["selection_mean_ms"] - reference["selection_mean_ms"]) / 1000
            welch = stats.welch_t_test(
                mean1=row["selection_mean_ms"],
                var1=row["selection_var"],
                n1=row["n_selection"],
                mean2=reference["selection_mean_ms"],
                var2=reference["selection_var"],
                n2=reference["n_selection"],
            )
            comparisons.append(
                Comparison(
                    "Mean selection time", row["arm"], reference["arm"], difference, "s", welch
                )
            )
            if rank_test:
                mann_whitney = stats.mann_whitney_u(
                    metrics.arm_selection_times(row["arm"], period),
                    metrics.arm_selection_times(reference["arm"], period),
                )
                comparisons.append(
                    Comparison(
                        "Selection time",
                        row["arm"],
                        reference["arm"],
                        difference,
                        "s",
                        mann_whitney,
                    )
                )
        if rate_reference is None or row is rate_reference or row["arm"].is_control:
            continue
        for metric, count, total in (
            ("Top-1 hit rate", "top1", "with_list"),
            ("Top-K hit rate", "topk", "with_list"),
            ("Acceptance rate", "picked_lists", "lists"),
        ):
            if row[total] and rate_reference[total]:
                test = stats.two_proportion_z_test(
                    x1=row[count], n1=row[total], x2=rate_reference[count], n2=rate_reference[total]
                )
                difference = row[count] / row[total] - rate_reference[count] / rate_reference[total]
                if not math.isnan(test.p_value):
                    comparisons.append(
                        Comparison(metric, row["arm"], rate_reference["arm"], difference, "", test)
                    )
    return {"arms": arms, "comparisons": comparisons, "reference": reference["arm"]}
