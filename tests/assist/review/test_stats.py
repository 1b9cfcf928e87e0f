"""assist.review.stats: our use of scipy.stats, against published values and hand-worked
examples, and what the experiment page shows where a test is undefined."""

import math

import numpy as np
import pytest
from scipy import stats as sp

from assist.review import stats

# An edge case handed to scipy shows up as a warning (SmallSampleWarning, division by zero)
# before it shows up as a NaN on the page.
pytestmark = pytest.mark.filterwarnings("error")

RNG = np.random.default_rng(20261121)


# Welch's t-test


def test_welch_textbook_example():
    # Wikipedia, "Welch's t-test", example 1: t = -2.46, df = 24.9885, p = 0.021.
    a1 = np.array(
        [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    )
    a2 = np.array(
        [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    )
    result = stats.welch_t_test(
        mean1=a1.mean(), var1=a1.var(ddof=1), n1=15, mean2=a2.mean(), var2=a2.var(ddof=1), n2=15
    )
    assert result.name == "Welch's t-test"
    assert result.statistic == pytest.approx(-2.46, abs=0.005)
    assert result.p_value == pytest.approx(0.021, abs=0.0005)
    assert result.significant()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (RNG.lognormal(2.9, 0.5, 400), RNG.lognormal(2.6, 0.6, 300)),
        (RNG.normal(10, 1, 12), RNG.normal(10.5, 3, 7)),
        (np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0, 10.0])),
    ],
)
def test_welch_from_summaries_is_welch_on_the_values(a, b):
    # The database gives means and sample variances (ddof=1): the same test as on the values.
    ours = stats.welch_t_test(
        mean1=a.mean(), var1=a.var(ddof=1), n1=len(a), mean2=b.mean(), var2=b.var(ddof=1), n2=len(b)
    )
    theirs = sp.ttest_ind(a, b, equal_var=False)
    assert type(ours.statistic) is float and type(ours.p_value) is float
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-15)


def test_welch_with_one_arm_without_variance():
    # [3, 3, 3, 3, 3] against [1, 2, 3, 4, 6] (mean 3.2, variance 3.7): all the variance is the
    # second arm's, so Welch-Satterthwaite gives exactly its n - 1 = 4 degrees of freedom.
    result = stats.welch_t_test(mean1=3.0, var1=0.0, n1=5, mean2=3.2, var2=3.7, n2=5)
    t = -0.2 / math.sqrt(3.7 / 5)
    assert result.statistic == pytest.approx(t, rel=1e-12)
    assert result.p_value == pytest.approx(2 * sp.t.sf(-t, 4), rel=1e-9)


def test_welch_without_any_variance_cannot_tell_arms_apart():
    same = stats.welch_t_test(mean1=2.0, var1=0.0, n1=4, mean2=2.0, var2=0.0, n2=6)
    assert (same.statistic, same.p_value) == (0.0, 1.0)
    different = stats.welch_t_test(mean1=2.0, var1=0.0, n1=4, mean2=3.0, var2=0.0, n2=6)
    assert (different.statistic, different.p_value) == (math.inf, 1.0)
    assert not different.significant()


@pytest.mark.parametrize(("n1", "n2"), [(1, 5), (5, 1), (0, 5)])
def test_welch_needs_two_values_per_arm(n1, n2):
    with pytest.raises(ValueError, match="at least two"):
        stats.welch_t_test(mean1=1.0, var1=1.0, n1=n1, mean2=2.0, var2=1.0, n2=n2)


# The mean's t interval


@pytest.mark.parametrize(
    ("n", "t_975"),
    # Student's t table, 97.5% quantiles for 4 and 29 degrees of freedom, and the normal's.
    [(5, 2.7764451052), (30, 2.0452296421), (10**7, 1.9599640)],
)
def test_mean_interval_uses_the_t_quantile(n, t_975):
    interval = stats.mean_interval(mean=10.0, var=4.0, n=n)
    half = t_975 * math.sqrt(4.0 / n)
    assert interval.estimate == 10.0
    assert interval.low == pytest.approx(10.0 - half, rel=1e-9)
    assert interval.high == pytest.approx(10.0 + half, rel=1e-9)


@pytest.mark.parametrize("n", [2, 5, 30, 5000])
def test_mean_interval_from_summaries_is_the_interval_on_the_values(n):
    values = RNG.lognormal(2.5, 0.7, n)
    ours = stats.mean_interval(mean=values.mean(), var=values.var(ddof=1), n=n)
    low, high = sp.t.interval(0.95, n - 1, loc=values.mean(), scale=sp.sem(values))
    assert ours.low == pytest.approx(low, rel=1e-9)
    assert ours.high == pytest.approx(high, rel=1e-9)


@pytest.mark.parametrize("n", [0, 1])
def test_mean_interval_of_fewer_than_two_values_has_no_bounds(n):
    interval = stats.mean_interval(mean=7.0, var=0.0, n=n)
    assert interval.estimate == 7.0
    assert math.isnan(interval.low) and math.isnan(interval.high)


def test_mean_interval_of_identical_values_is_the_point():
    assert stats.mean_interval(mean=7.0, var=0.0, n=12) == stats.Interval(7.0, 7.0, 7.0)


# Mann-Whitney U


X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
Y = [1.15, 0.88, 0.90, 0.74, 1.21]


def test_mann_whitney_textbook_example():
    # R's ?wilcox.test example (Hollander & Wolfe): W = 35. Normal approximation, continuity
    # corrected, no ties: z = (35 - 10 * 5 / 2 - 0.5) / sqrt(10 * 5 * 16 / 12).
    result = stats.mann_whitney_u(X, Y)
    assert result.name == "Mann-Whitney U"
    assert result.statistic == 35.0
    z = (35 - 25 - 0.5) / math.sqrt(10 * 5 * 16 / 12)
    assert result.p_value == pytest.approx(2 * (1 - 0.5 * math.erfc(-z / math.sqrt(2))), rel=1e-12)
    assert result.p_value == pytest.approx(0.2446, abs=1e-4)


def test_mann_whitney_reports_u_of_the_first_sample():
    forward, backward = stats.mann_whitney_u(X, Y), stats.mann_whitney_u(Y, X)
    assert backward.statistic == 10 * 5 - forward.statistic
    assert backward.p_value == pytest.approx(forward.p_value, rel=1e-12)


def test_mann_whitney_ties_get_average_ranks_and_the_tie_corrected_variance():
    # Pooled: 1 | 2 2 2 | 3 3 | 4 4, ranks 1 | 3 3 3 | 5.5 5.5 | 7.5 7.5, so R1 = 12.5 and
    # U1 = 12.5 - 4 * 5 / 2 = 2.5. Tie groups of 1, 3, 2, 2: sum(t^3 - t) = 36, N = 8;
    # sigma^2 = 4 * 4 / 12 * (9 - 36 / 56); z = (13.5 - 8 - 0.5) / sigma.
    result = stats.mann_whitney_u([1, 2, 2, 3], [2, 3, 4, 4])
    assert result.statistic == 2.5
    z = 5 / math.sqrt(16 / 12 * (9 - 36 / 56))
    assert result.p_value == pytest.approx(2 * 0.5 * math.erfc(z / math.sqrt(2)), rel=1e-12)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (RNG.lognormal(2.9, 0.5, 500), RNG.lognormal(2.8, 0.5, 450)),
        # Many ties: whole seconds.
        (np.round(RNG.exponential(15, 300)), np.round(RNG.exponential(11, 280))),
    ],
)
def test_mann_whitney_is_the_asymptotic_test_on_large_samples(a, b):
    ours = stats.mann_whitney_u(a, b)
    theirs = sp.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-12, abs=1e-300)


def test_mann_whitney_stays_asymptotic_on_small_samples():
    # scipy's default would switch to the exact distribution here (p = 0.333...).
    result = stats.mann_whitney_u([1.0, 2.0], [3.0, 4.0])
    z = (4 - 2 - 0.5) / math.sqrt(2 * 2 * 5 / 12)
    assert result.p_value == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)


def test_mann_whitney_all_ties():
    result = stats.mann_whitney_u([5.0] * 30, [5.0] * 20)
    assert (result.statistic, result.p_value) == (300.0, 1.0)


@pytest.mark.parametrize(("a", "b"), [([], [1.0, 2.0, 3.0]), ([1.0, 2.0], []), ([], [])])
def test_mann_whitney_empty_sample(a, b):
    result = stats.mann_whitney_u(a, b)
    assert (result.statistic, result.p_value) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("a", "b", "u"), [([1.0], [2.0], 0.0), ([2.0], [1.0], 1.0), ([1.0], [1.0], 0.5)]
)
def test_mann_whitney_one_value_each(a, b, u):
    result = stats.mann_whitney_u(a, b)
    assert (result.statistic, result.p_value) == (u, 1.0)


# On values, one per conversation


def test_welch_on_values_is_scipys_welch():
    a, b = RNG.lognormal(2.9, 0.5, 40), RNG.lognormal(2.7, 0.6, 55)
    ours, theirs = stats.welch_t_test_values(a, b), sp.ttest_ind(a, b, equal_var=False)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)


def test_welch_on_values_needs_two_per_arm():
    with pytest.raises(ValueError, match="at least two"):
        stats.welch_t_test_values([1.0], [1.0, 2.0])


def test_mean_interval_on_values():
    values = RNG.normal(5, 2, 25)
    ours = stats.mean_interval_values(values)
    low, high = sp.t.interval(0.95, 24, loc=values.mean(), scale=sp.sem(values))
    assert (ours.low, ours.high) == (pytest.approx(low, rel=1e-9), pytest.approx(high, rel=1e-9))
    single, empty = stats.mean_interval_values([3.0]), stats.mean_interval_values([])
    assert single.estimate == 3.0 and math.isnan(single.low)
    assert math.isnan(empty.estimate)
