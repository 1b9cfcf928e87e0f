"""The significance tests and intervals behind the experiment page, with math and numpy only.

Welch's t-test and the mean's interval need only counts, means and variances, which the
database aggregates; Mann-Whitney U needs the values themselves. All tests are two-sided.
tests/assist/review/test_stats.py checks every function against scipy.stats on the same numbers.
"""

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile


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


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _betacf(a: float, b: float, x: float) -> float:
    # The continued fraction of the incomplete beta function (Lentz's method), as in
    # Numerical Recipes, 6.4.
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` (possibly fractional) degrees of freedom."""
    tail = 0.5 * regularized_beta(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_quantile(q: float, df: float) -> float:
    """The q-quantile of Student's t (0.5 < q < 1), by bisection on t_sf."""
    low, high = 0.0, 1.0
    while t_sf(high, df) > 1.0 - q:
        high *= 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_sf(mid, df) > 1.0 - q:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def welch_t_test(
    *, mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int
) -> TestResult:
    """Welch's unequal-variances t-test from summary statistics (sample variances, ddof=1)."""
    se1, se2 = var1 / n1, var2 / n2
    se = math.sqrt(se1 + se2)
    if se == 0:
        return TestResult("Welch's t-test", 0.0 if mean1 == mean2 else math.inf, 1.0)
    t = (mean1 - mean2) / se
    df = (se1 + se2) ** 2 / (se1**2 / (n1 - 1) + se2**2 / (n2 - 1))
    return TestResult("Welch's t-test", t, min(1.0, 2.0 * t_sf(abs(t), df)))


def mean_interval(*, mean: float, var: float, n: int) -> Interval:
    """The mean with its 95% confidence interval (Student's t, n - 1 degrees of freedom)."""
    if n < 2:
        return Interval(mean, math.nan, math.nan)
    half = t_quantile(0.975, n - 1) * math.sqrt(var / n)
    return Interval(mean, mean - half, mean + half)


def _average_ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1-based ranks with ties averaged, and the sizes of the tie groups."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, len(values)])
    # Within a tie group of size c starting at (0-based) s, every value gets s + (c + 1) / 2.
    group_rank = starts + (counts + 1) / 2.0
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(group_rank, counts)
    return ranks, counts


def mann_whitney_u(x: ArrayLike, y: ArrayLike) -> TestResult:
    """Mann-Whitney U, two-sided, by the normal approximation with tie and continuity
    corrections (scipy's `method="asymptotic"`): sound for the large samples an experiment
    collects (both n over about 20), not for a handful of values.
    """
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n1, n2 = len(a), len(b)
    ranks, ties = _average_ranks(np.concatenate([a, b]))
    u1 = float(ranks[:n1].sum()) - n1 * (n1 + 1) / 2.0
    u = max(u1, n1 * n2 - u1)
    n = n1 + n2
    tie_term = float((ties**3 - ties).sum()) / (n * (n - 1))
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sigma == 0:
        return TestResult("Mann-Whitney U", u1, 1.0)
    z = (u - n1 * n2 / 2.0 - 0.5) / sigma
    return TestResult("Mann-Whitney U", u1, min(1.0, 2.0 * normal_sf(z)))


def two_proportion_z_test(*, x1: int, n1: int, x2: int, n2: int) -> TestResult:
    """The pooled two-proportion z-test (the same p-value as a 2x2 chi-squared test
    without Yates's correction)."""
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return TestResult("two-proportion z-test", 0.0, 1.0)
    z = (x1 / n1 - x2 / n2) / se
    return TestResult("two-proportion z-test", z, min(1.0, 2.0 * normal_sf(abs(z))))


def wilson_interval(successes: int, n: int, z: float = Z_95) -> Interval:
    """A proportion with its Wilson score interval (95% by default)."""
    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))
