"""Tests for stikprove.estimation.intervals: proportion_ci for plain counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from scipy import stats

from stikprove.errors import EstimationError
from stikprove.estimation import PROPORTION_METHODS, ConfidenceInterval, proportion_ci
from stikprove.exact_bounds import hypergeometric_bounds
from strategies import confidence_levels, counts, finite_counts, scaled

R_DIR = Path(__file__).parent / "fixtures" / "r"

# Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion: comparison
# of seven methods. Statistics in Medicine 17, 857-872, Table II (95 % intervals, 4 decimals).
# Methods 1 (Wald, "<0.0000" printed where it overshoots: we clip to 0), 3 (Wilson score),
# 4 (score with continuity correction) and 5 (Clopper-Pearson "exact"). Transcribed from the
# table; each also agrees with R's binom.test / prop.test (tests/fixtures/r/proportions.R).
NEWCOMBE_TABLE_II = [
    # x, n, method, low, high
    (81, 263, "wald", 0.2522, 0.3638),
    (81, 263, "wilson", 0.2553, 0.3662),
    (81, 263, "wilson-cc", 0.2535, 0.3682),
    (81, 263, "clopper-pearson", 0.2527, 0.3676),
    (15, 148, "wald", 0.0527, 0.1500),
    (15, 148, "wilson", 0.0624, 0.1605),
    (15, 148, "wilson-cc", 0.0598, 0.1644),
    (15, 148, "clopper-pearson", 0.0578, 0.1617),
    (0, 20, "wald", 0.0000, 0.0000),
    (0, 20, "wilson", 0.0000, 0.1611),
    (0, 20, "wilson-cc", 0.0000, 0.2005),
    (0, 20, "clopper-pearson", 0.0000, 0.1684),
    (1, 29, "wald", 0.0000, 0.1009),
    (1, 29, "wilson", 0.0061, 0.1718),
    (1, 29, "wilson-cc", 0.0018, 0.1963),
    (1, 29, "clopper-pearson", 0.0009, 0.1776),
    (29, 29, "wald", 1.0000, 1.0000),
    (29, 29, "wilson", 0.8830, 1.0000),
    (29, 29, "clopper-pearson", 0.8806, 1.0000),
]


@pytest.mark.parametrize(("x", "n", "method", "low", "high"), NEWCOMBE_TABLE_II)
def test_newcombe_table_ii(x, n, method, low, high):
    """Published 95 % intervals of Newcombe (1998) Table II, to 4 decimals."""
    ci = proportion_ci(x, n, 0.95, method)
    assert (round(ci.low, 4), round(ci.high, 4)) == (low, high)


def _r_reference() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "proportions_r.csv")


@pytest.mark.parametrize("method", ["clopper-pearson", "wilson", "wilson-cc"])
def test_agrees_with_r_binom_test_and_prop_test(method):
    """R binom.test (clopper-pearson) and prop.test (wilson, wilson-cc) to 1e-10.

    Expected values from tests/fixtures/r/proportions.R. R's prop.test shrinks the continuity
    correction to |x - n/2| (its null p = 0.5), so it has none at x = n/2: those rows are left
    out for wilson-cc, which follows Newcombe's method 4.
    """
    ref = _r_reference()
    ref = ref[ref["method"] == method]
    if method == "wilson-cc":
        ref = ref[2 * ref["x"] != ref["n"]]
    for level, rows in ref.groupby("conf_level"):
        ci = proportion_ci(rows["x"].to_numpy(), rows["n"].to_numpy(), level, method)
        np.testing.assert_allclose(ci.low, rows["low"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(ci.high, rows["high"], rtol=0, atol=1e-10)


def test_returns_floats_for_scalars_and_arrays_that_broadcast():
    """Scalars give floats; arrays broadcast (x against a scalar n)."""
    ci = proportion_ci(3, 40)
    assert isinstance(ci, ConfidenceInterval)
    assert isinstance(ci.low, float)
    low, high = ci
    assert low < 3 / 40 < high
    many = proportion_ci(np.arange(5), 10, method="jeffreys")
    assert many.low.shape == (5,) and many.high.shape == (5,)


def test_interval_is_frozen():
    """ConfidenceInterval cannot be changed after creation."""
    ci = proportion_ci(1, 2)
    with pytest.raises(AttributeError):
        ci.low = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("method", sorted(PROPORTION_METHODS))
@given(xn=counts(), level=confidence_levels)
@settings(max_examples=scaled(40), deadline=None)
def test_bounds_contain_estimate_and_lie_in_unit_interval(method, xn, level):
    """0 <= low <= x/n <= high <= 1 for every method, never NaN."""
    x, n = xn
    ci = proportion_ci(x, n, level, method, population_size=n + 7)
    assert not np.isnan([ci.low, ci.high]).any()
    if method == "wald" and x in (0, n):
        assert ci.low == ci.high == x / n  # the known Wald degeneracy
    assert 0.0 <= ci.low <= x / n <= ci.high <= 1.0


def test_jeffreys_boundary_modification():
    """Brown, Cai & DasGupta (2001) 4.1.2: lower 0 at x = 0, upper 1 at x = n."""
    assert proportion_ci(0, 10, method="jeffreys").low == 0.0
    assert proportion_ci(10, 10, method="jeffreys").high == 1.0
    inner = proportion_ci(3, 10, method="jeffreys")
    assert inner.low == pytest.approx(stats.beta.ppf(0.025, 3.5, 7.5))


# --- hypergeometric ------------------------------------------------------------------------


def test_hypergeometric_census_gives_the_exact_value():
    """n = N: no sampling error, the interval is x/N."""
    ci = proportion_ci([0, 3, 40], 40, method="hypergeometric", population_size=40)
    np.testing.assert_array_equal(ci.low, [0, 3 / 40, 1])
    np.testing.assert_array_equal(ci.high, [0, 3 / 40, 1])


@pytest.mark.parametrize(("n", "big_n"), [(1, 10), (4, 117), (5, 20), (10, 30), (20, 50), (9, 9)])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_hypergeometric_coverage_is_at_least_nominal_for_every_m(n, big_n, level):
    """Exact enumeration: for every M in 0..N, P(M/N in interval) >= confidence level."""
    x = np.arange(n + 1)
    ci = proportion_ci(x, n, level, "hypergeometric", population_size=big_n)
    for m in range(big_n + 1):
        prob = stats.hypergeom.pmf(x, big_n, m, n)
        covered = (ci.low <= m / big_n + 1e-12) & (m / big_n - 1e-12 <= ci.high)
        assert prob[covered].sum() >= level - 1e-12, (m, prob[covered].sum())


@given(xnn=finite_counts(), level=confidence_levels)
@settings(max_examples=scaled(60), deadline=None)
def test_hypergeometric_bounds_are_monotone_in_x(xnn, level):
    """One more success never lowers either bound; the bounds on M are whole numbers."""
    _, n, big_n = xnn
    ci = proportion_ci(np.arange(n + 1), n, level, "hypergeometric", population_size=big_n)
    assert np.all(np.diff(ci.low) >= 0) and np.all(np.diff(ci.high) >= 0)
    m_low, m_high = hypergeometric_bounds(np.arange(n + 1), n, big_n, 1 - level)
    assert np.all(np.diff(m_low) >= 0) and np.all(np.diff(m_high) >= 0)
    assert np.all(m_low <= m_high) and np.all(m_high <= big_n)


def test_hypergeometric_small_stratum_examples():
    """0 of 4 from N = 117 is not 'zero': upper bound near Clopper-Pearson's 0.60."""
    ci = proportion_ci(0, 4, method="hypergeometric", population_size=117)
    assert ci.low == 0.0 and 0.5 < ci.high < 0.61
    ci = proportion_ci(40, 40, method="hypergeometric", population_size=509)
    assert 0.9 < ci.low < 0.93 and ci.high == 1.0


def test_hypergeometric_is_narrower_than_binomial_with_large_sampling_fraction():
    """Sampling 30 of 40 leaves little uncertainty; Clopper-Pearson ignores that."""
    hyper = proportion_ci(10, 30, method="hypergeometric", population_size=40)
    exact = proportion_ci(10, 30, method="clopper-pearson")
    assert hyper.high - hyper.low < exact.high - exact.low


# --- refusals --------------------------------------------------------------------------------


def test_unknown_method_lists_the_methods():
    """The message names the bad method and every valid one."""
    with pytest.raises(EstimationError, match=r"'agresti-coull'.*got 'score'"):
        proportion_ci(1, 10, method="score")


@pytest.mark.parametrize("level", [0, 1, 95, -0.5, "high"])
def test_confidence_level_outside_unit_interval_is_refused(level):
    """confidence_level must be in (0, 1); the message repeats the value."""
    with pytest.raises(EstimationError, match="confidence_level"):
        proportion_ci(1, 10, confidence_level=level)


@pytest.mark.parametrize(
    ("x", "n", "match"),
    [
        (11, 10, "successes=11"),
        (-1, 10, "successes.*-1"),
        (1, 0, "n must be >= 1"),
        (1.5, 10, "successes.*1.5"),
        (1, np.nan, "n must be whole"),
    ],
)
def test_impossible_counts_are_refused(x, n, match):
    """Counts out of range name the offending value."""
    with pytest.raises(EstimationError, match=match):
        proportion_ci(x, n)


def test_hypergeometric_needs_a_population_at_least_n():
    """population_size is required, and must not be smaller than n."""
    with pytest.raises(EstimationError, match="population_size"):
        proportion_ci(1, 10, method="hypergeometric")
    with pytest.raises(EstimationError, match="population_size=8"):
        proportion_ci(1, 10, method="hypergeometric", population_size=8)


# --- review fixes: only a census has zero width; clear errors for bad shapes ----------------------


def test_hypergeometric_with_one_unsampled_case_is_not_a_point():
    """0 of 49 from N = 50 rejects M = 1 (P = 1/50 < 0.025): the inversion alone gives [0, 0].
    The neighbouring M is added, so only a census gives zero width."""
    assert tuple(proportion_ci(0, 49, population_size=50, method="hypergeometric")) == (0.0, 0.02)
    assert tuple(proportion_ci(49, 49, population_size=50, method="hypergeometric")) == (0.98, 1.0)
    assert tuple(proportion_ci(3, 199, population_size=200, method="hypergeometric")) == (
        0.015,
        0.02,
    )


def test_hypergeometric_zero_width_exactly_for_a_census():
    """Every x, n <= N <= 45 at three levels: width 0 if and only if n = N."""
    for big_n in range(1, 46):
        # every (x, n) of this N at once: the bounds broadcast over arrays
        n = np.concatenate([np.full(k + 1, k) for k in range(1, big_n + 1)])
        x = np.concatenate([np.arange(k + 1) for k in range(1, big_n + 1)])
        for alpha in (0.5, 0.05, 0.01):
            low, high = hypergeometric_bounds(x, n, big_n, alpha)
            expected = np.where(n < big_n, high > low, high == low)
            assert expected.all(), (big_n, n[~expected], x[~expected], alpha)


@pytest.mark.parametrize(
    ("x", "n", "kwargs", "match"),
    [
        ([1, 2], [3, 4, 5], {}, r"must broadcast.*\(2,\), \(3,\)"),
        ([1, 2], [3, 4], {"population_size": [5, 6, 7]}, r"population_size must broadcast"),
        ("a", 4, {}, r"successes must be whole numbers >= 0, got 'a'"),
        (1, [4, "b"], {}, r"n must be whole numbers"),
    ],
)
def test_bad_shapes_and_non_numbers_raise_estimation_error(x, n, kwargs, match):
    """Not numpy's ValueError: an EstimationError naming the argument."""
    with pytest.raises(EstimationError, match=match):
        proportion_ci(x, n, method="hypergeometric", **kwargs) if kwargs else proportion_ci(x, n)


@pytest.mark.parametrize("method", sorted(PROPORTION_METHODS))
def test_mixed_shapes_broadcast_without_warnings(method):
    """A column of x against a row of n (and N) gives the 2-D grid, with no FutureWarning from
    read-only broadcast views."""
    import warnings

    x = np.array([[0], [1], [2]])
    n = np.array([2, 3, 4, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = proportion_ci(x, n, method=method, population_size=np.array([[10], [20], [30]]))
    assert ci.low.shape == ci.high.shape == (3, 4)
    expected = proportion_ci(2, 5, method=method, population_size=30)
    assert (ci.low[2, 3], ci.high[2, 3]) == pytest.approx(tuple(expected))
