"""The significance tests and intervals behind the experiment page, from scipy.stats.

The experiment page feeds them one value per conversation (the unit of randomisation), never
one per reply: replies of one conversation share its agent, customer and topic, so they are not
independent, and a test that treats them as independent finds differences that are not there
(docs/review-metrics.md, tests/assist/review/test_experiment_false_positives.py). All tests
are two-sided.
This module only picks scipy's options and fixes what the page shows where a test is
undefined (an empty sample, no variance at all); tests/assist/review/test_stats.py checks
both against textbook values.
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats


@dataclass(frozen=True)
class TestResult:
    name: str
    statistic: float
    p_value: float

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def welch_t_test(
    *, mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int
) -> TestResult:
    """Welch's unequal-variances t-test from summary statistics (sample variances, ddof=1)."""
    if n1 < 2 or n2 < 2:
        # A sample variance needs two values; scipy would go on with one degree of freedom.
        raise ValueError(f"Welch's t-test needs at least two values per sample, not {n1}, {n2}")
    if var1 / n1 + var2 / n2 == 0:
        # No variance in either arm: t is undefined (scipy gives ±inf, p = 0, or NaN). The page
        # has always shown this as "cannot tell the arms apart" rather than as a sure difference.
        return TestResult("Welch's t-test", 0.0 if mean1 == mean2 else math.inf, 1.0)
    result = stats.ttest_ind_from_stats(
        mean1, math.sqrt(var1), n1, mean2, math.sqrt(var2), n2, equal_var=False
    )
    return TestResult("Welch's t-test", float(result.statistic), float(result.pvalue))


def welch_t_test_values(x: ArrayLike, y: ArrayLike) -> TestResult:
    """Welch's t-test of two samples of values (one per independent unit)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(
            f"Welch's t-test needs at least two values per sample, not {len(a)}, {len(b)}"
        )
    return welch_t_test(
        mean1=float(a.mean()),
        var1=float(a.var(ddof=1)),
        n1=len(a),
        mean2=float(b.mean()),
        var2=float(b.var(ddof=1)),
        n2=len(b),
    )


def mean_interval_values(values: ArrayLike) -> Interval:
    """The mean of `values` (one per independent unit) with its 95% interval (Student's t)."""
    a = np.asarray(values, dtype=float)
    if len(a) == 0:
        return Interval(math.nan, math.nan, math.nan)
    return mean_interval(
        mean=float(a.mean()), var=float(a.var(ddof=1)) if len(a) > 1 else 0.0, n=len(a)
    )


def mean_interval(*, mean: float, var: float, n: int) -> Interval:
    """The mean with its 95% confidence interval (Student's t, n - 1 degrees of freedom)."""
    if n < 2:
        return Interval(mean, math.nan, math.nan)
    # t.ppf times the standard error rather than t.interval(scale=...): scipy rejects a zero
    # scale, and identical values should give the point interval [mean, mean].
    half = float(stats.t.ppf(0.975, n - 1)) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half)


def mann_whitney_u(x: ArrayLike, y: ArrayLike) -> TestResult:
    """Mann-Whitney U of `x` (scipy's U1), two-sided, by the normal approximation with tie and
    continuity corrections: sound for the large samples an experiment collects (both n over
    about 20), not for a handful of values.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(a) == 0 or len(b) == 0:
        # scipy returns NaN for an empty sample; there is nothing to tell apart.
        return TestResult("Mann-Whitney U", 0.0, 1.0)
    # method="asymptotic" always: scipy's default ("auto") switches to the exact distribution
    # for small samples without ties, so the p-value's method would depend on the data.
    result = stats.mannwhitneyu(
        a, b, use_continuity=True, alternative="two-sided", method="asymptotic"
    )
    return TestResult("Mann-Whitney U", float(result.statistic), float(result.pvalue))
