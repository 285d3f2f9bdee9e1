"""The exact bounds shared by design and estimation (stikprove.exact_bounds): what a plan
expects at the anticipated count is what estimation then reports for that count."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.design import expected_half_width, sample_size
from stikprove.estimation import estimate_proportions, proportion_ci
from stikprove.exact_bounds import hypergeometric_bounds
from strategies import finite_counts, scaled, stratified_samples


def _half_width(ci) -> float:
    return (ci.high - ci.low) / 2


@st.composite
def samples_from_a_stratum(draw: st.DrawFn) -> tuple[int, int, int]:
    """(x, n, N): x events among n cases drawn from a stratum of N."""
    big_n = draw(st.integers(1, 300))
    n = draw(st.integers(1, big_n))
    return draw(st.integers(0, n)), n, big_n


def test_planning_mismatch_of_issue_8_is_gone():
    """0 events anticipated in 50 cases, half-width 0.005: 49 cases report [0, 0.02], so the
    plan is the census, which reports [0, 0]."""
    assert _half_width(proportion_ci(0, 49, population_size=50, method="hypergeometric")) > 0.005
    n = sample_size(0.005, anticipated=0, population_size=50, method="hypergeometric")
    assert n == 50
    assert tuple(proportion_ci(0, n, population_size=50, method="hypergeometric")) == (0.0, 0.0)


@given(sample=samples_from_a_stratum(), level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
@settings(max_examples=scaled(30), deadline=None)
def test_planned_half_width_is_the_reported_one(sample, level):
    """At the anticipated count x, the design's half-width equals proportion_ci's and the
    one-stratum domain estimate's, for the hypergeometric interval (exactly) and for
    Clopper–Pearson and Wilson without a finite population (to rounding)."""
    x, n, big_n = sample
    planned = expected_half_width(n, x / n, level, big_n, "hypergeometric")
    reported = _half_width(proportion_ci(x, n, level, "hypergeometric", population_size=big_n))
    assert planned == reported
    data = pd.DataFrame({"stratum": "s", "N": big_n, "y": [1.0] * x + [0.0] * (n - x)})
    row = estimate_proportions(
        data, "y", "stratum", "N", confidence_level=level, method="hypergeometric"
    ).iloc[0]
    assert (row["ci_high"] - row["ci_low"]) / 2 == pytest.approx(reported, abs=1e-15)
    for method in ("clopper-pearson", "wilson"):
        planned = expected_half_width(n, x / n, level, None, method)
        reported = _half_width(proportion_ci(x, n, level, method))
        assert planned == pytest.approx(reported, rel=1e-9, abs=1e-12), method


@given(
    margin=st.floats(0.01, 0.3),
    anticipated=st.floats(0, 1),
    big_n=st.integers(1, 400),
    level=st.sampled_from([0.9, 0.95]),
)
@settings(max_examples=scaled(20), deadline=None)
def test_a_hypergeometric_plan_meets_its_margin_when_estimated(margin, anticipated, big_n, level):
    """sample_size's n reports a half-width at most the margin at both whole counts next to
    the anticipated p·n, and the larger is the half-width the plan expected."""
    n = sample_size(margin, anticipated, level, big_n, "hypergeometric")
    counts = np.unique([np.floor(anticipated * n + 1e-9), np.ceil(anticipated * n - 1e-9)])
    reported = [
        _half_width(proportion_ci(x, n, level, "hypergeometric", population_size=big_n))
        for x in counts
    ]
    assert max(reported) <= margin
    assert max(reported) == expected_half_width(n, anticipated, level, big_n, "hypergeometric")


# ---- the bulk computation equals a per-domain reference (issue 21, item 4) ------------------


def _reference_bounds(x: int, n: int, big_n: int, alpha: float) -> tuple[int, int]:
    """The previous implementation of hypergeometric_bounds for one (x, n, N), by plain
    bisection on scipy's tail probabilities: the bulk path must give exactly this."""
    from scipy import stats

    half, top = alpha / 2, big_n - n + x
    lo, hi = x, top
    while lo < hi:  # largest M with P(X <= x | M) > alpha/2
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if stats.hypergeom.cdf(x, big_n, mid, n) > half else (lo, mid - 1)
    m_high = lo
    lo, hi = x, top
    while lo < hi:  # smallest M with P(X >= x | M) > alpha/2
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if stats.hypergeom.sf(x - 1, big_n, mid, n) > half else (mid + 1, hi)
    m_low = hi
    if m_low == m_high and n < big_n:  # only a census gives zero width
        up_ok, down_ok = m_low + 1 <= top, m_low - 1 >= x
        p_up = stats.hypergeom.cdf(x, big_n, m_low + 1, n) if up_ok else -1.0
        p_down = stats.hypergeom.sf(x - 1, big_n, m_low - 1, n) if down_ok else -1.0
        if up_ok and p_up >= p_down:
            m_high = m_low + 1
        elif down_ok:
            m_low = m_low - 1
    return m_low, m_high


def _reference_bulk(x, n, big_n, alpha):
    """The reference applied to each element on its own (the shape of the input)."""
    x, n, big_n = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in (x, n, big_n)))
    pairs = [_reference_bounds(int(a), int(b), int(c), alpha) for a, b, c in
             zip(x.ravel(), n.ravel(), big_n.ravel(), strict=True)]  # fmt: skip
    low = np.array([p[0] for p in pairs], dtype=np.int64).reshape(x.shape)
    high = np.array([p[1] for p in pairs], dtype=np.int64).reshape(x.shape)
    return low, high


@given(
    triples=st.lists(finite_counts(max_population=3000), min_size=1, max_size=40),
    repeats=st.integers(1, 3),
    alpha=st.sampled_from([0.01, 0.05, 0.1, 0.2]),
)
@settings(max_examples=scaled(40), deadline=None)
def test_bulk_bounds_equal_the_per_domain_reference(triples, repeats, alpha):
    """Many triples at once (repeated ones included, as domains share (x, n, N)) give exactly
    the bounds each gets alone from the plain bisection, whichever others share the call."""
    x, n, big_n = (np.array(column * repeats) for column in zip(*triples, strict=True))
    low, high = hypergeometric_bounds(x, n, big_n, alpha)
    ref_low, ref_high = _reference_bulk(x, n, big_n, alpha)
    np.testing.assert_array_equal(low, ref_low)
    np.testing.assert_array_equal(high, ref_high)
    assert low.dtype == high.dtype == np.int64


def test_bulk_bounds_keep_the_shape_and_a_census_is_exact():
    """A 2-d input keeps its shape; a census (n = N) gives the exact count."""
    x = np.array([[0, 3], [5, 5]])
    low, high = hypergeometric_bounds(x, np.array([[10, 10], [5, 20]]), 20, 0.05)
    assert low.shape == high.shape == (2, 2)
    assert (low[1, 0], high[1, 0]) == _reference_bounds(5, 5, 20, 0.05)
    low, high = hypergeometric_bounds([7], [30], [30], 0.05)
    assert (int(low[0]), int(high[0])) == (7, 7)


@given(
    data=stratified_samples(max_strata=6),
    by=st.sampled_from(["stratum", "dom", None]),
    level=st.sampled_from([0.9, 0.95]),
)
@settings(max_examples=scaled(30), deadline=None)
def test_default_table_equals_the_per_domain_reference(data, by, level):
    """estimate_proportions with the default method (pooled-hypergeometric: exact bounds for
    every domain inside one stratum, the edge rule's exact bounds elsewhere) gives exactly the
    table it gives with the per-domain reference bisection in place of the bulk one."""
    fast = estimate_proportions(data, "y", "stratum", "N", by=by, confidence_level=level)
    with pytest.MonkeyPatch.context() as patch:
        for module in list(sys.modules.values()):
            if getattr(module, "hypergeometric_bounds", None) is hypergeometric_bounds:
                patch.setattr(module, "hypergeometric_bounds", _reference_bulk)
        reference = estimate_proportions(data, "y", "stratum", "N", by=by, confidence_level=level)
    pd.testing.assert_frame_equal(fast, reference, check_exact=True)
