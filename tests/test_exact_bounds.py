"""The exact bounds shared by design and estimation (stikprove.exact_bounds): what a plan
expects at the anticipated count is what estimation then reports for that count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.design import expected_half_width, sample_size
from stikprove.estimation import estimate_proportions, proportion_ci
from strategies import scaled


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
