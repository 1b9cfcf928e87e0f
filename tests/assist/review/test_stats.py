"""assist.review.stats agrees with scipy.stats on the same numbers."""

import numpy as np
import pytest
from scipy import stats as sp

from assist.review import stats

RNG = np.random.default_rng(20261121)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (RNG.lognormal(2.9, 0.5, 400), RNG.lognormal(2.6, 0.6, 300)),
        (RNG.normal(10, 1, 12), RNG.normal(10.5, 3, 7)),
        (np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0, 10.0])),
    ],
)
def test_welch_matches_scipy(a, b):
    ours = stats.welch_t_test(
        mean1=a.mean(), var1=a.var(ddof=1), n1=len(a), mean2=b.mean(), var2=b.var(ddof=1), n2=len(b)
    )
    theirs = sp.ttest_ind(a, b, equal_var=False)
    assert ours.statistic == pytest.approx(theirs.statistic, rel=1e-9)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-7, abs=1e-14)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (RNG.lognormal(2.9, 0.5, 500), RNG.lognormal(2.8, 0.5, 450)),
        # Many ties: whole seconds.
        (np.round(RNG.exponential(15, 300)), np.round(RNG.exponential(11, 280))),
        (RNG.integers(0, 5, 60).astype(float), RNG.integers(0, 5, 40).astype(float)),
    ],
)
def test_mann_whitney_matches_scipy_asymptotic(a, b):
    ours = stats.mann_whitney_u(a, b)
    theirs = sp.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
    assert ours.statistic == pytest.approx(theirs.statistic)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"), [(620, 1000, 580, 1000), (45, 80, 20, 90), (3, 3000, 9, 3100)]
)
def test_two_proportion_z_matches_chi_squared(x1, n1, x2, n2):
    ours = stats.two_proportion_z_test(x1=x1, n1=n1, x2=x2, n2=n2)
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    chi2, p_value, _, _ = sp.chi2_contingency(table, correction=False)
    assert ours.statistic**2 == pytest.approx(chi2, rel=1e-9)
    assert ours.p_value == pytest.approx(p_value, rel=1e-9)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (7, 10), (10, 10), (412, 1000), (1, 250000)])
def test_wilson_matches_scipy(k, n):
    ours = stats.wilson_interval(k, n)
    theirs = sp.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert ours.estimate == pytest.approx(k / n)
    assert ours.low == pytest.approx(theirs.low, abs=1e-12)
    assert ours.high == pytest.approx(theirs.high, abs=1e-12)


@pytest.mark.parametrize("n", [2, 5, 30, 5000])
def test_mean_interval_matches_scipy(n):
    values = RNG.lognormal(2.5, 0.7, n)
    ours = stats.mean_interval(mean=values.mean(), var=values.var(ddof=1), n=n)
    low, high = sp.t.interval(0.95, n - 1, loc=values.mean(), scale=sp.sem(values))
    assert ours.low == pytest.approx(low, rel=1e-8)
    assert ours.high == pytest.approx(high, rel=1e-8)


def test_t_sf_matches_scipy_in_both_tails():
    for df in (1.5, 4, 37.2, 1e4):
        for t in (-3.0, -0.2, 0.0, 1.1, 6.5):
            assert stats.t_sf(t, df) == pytest.approx(sp.t.sf(t, df), rel=1e-9, abs=1e-15)
