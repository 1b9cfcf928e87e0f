"""The significance tests and intervals behind the experiment page, from scipy.stats.

Welch's t-test and the mean's interval need only counts, means and variances, which the
database aggregates; Mann-Whitney U needs the values themselves. All tests are two-sided.
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


def two_proportion_z_test(*, x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """The pooled two-proportion z-test (the same p-value as a 2x2 chi-squared test
    without Yates's correction)."""
    # scipy has no two-proportion z-test (statsmodels' proportions_ztest, which we do not depend
    # on); chi2_contingency gives z squared but loses its sign, which the page reports.
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        # Every trial a success, or none: the two arms cannot differ.
        return TestResult("two-proportion z-test", 0.0, 1.0)
    z = (x1 / n1 - x2 / n2) / se
    return TestResult("two-proportion z-test", z, float(2.0 * stats.norm.sf(abs(z))))


def wilson_interval(successes: int, n: int, confidence_level: float = 0.95) -> Interval:
    """A proportion with its Wilson score interval (no continuity correction)."""
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    ci = stats.binomtest(successes, n).proportion_ci(
        confidence_level=confidence_level, method="wilson"
    )
    return Interval(successes / n, float(ci.low), float(ci.high))
