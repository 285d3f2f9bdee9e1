"""The one stratified SRSWOR variance (stikprove.variance) and the zero-up-to-rounding edge."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.estimation import estimate_proportions
from stikprove.variance import (
    binary_element_variance,
    negligible_to_zero,
    stratified_variance,
    stratum_mean_variance,
)
from strategies import scaled


@st.composite
def strata(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N_h, n_h, p_h) for 1 to 6 strata, censuses included."""
    size = draw(st.integers(1, 6))
    big_n = np.array(draw(st.lists(st.integers(1, 500), min_size=size, max_size=size)))
    small_n = np.array([draw(st.integers(1, int(b))) for b in big_n])
    rates = np.array([draw(st.integers(0, int(n))) for n in small_n]) / small_n
    return big_n, small_n, rates


@given(design=strata())
@settings(max_examples=scaled(60), deadline=None)
def test_stratified_variance_is_cochrans_formula(design):
    """Σ W_h² (1 − n_h/N_h) s_h²/n_h, written out stratum by stratum (Cochran 1977, 5.6)."""
    big_n, small_n, rates = design
    expected = 0.0
    for big, small, p in zip(big_n, small_n, rates, strict=True):
        s2 = small / (small - 1) * p * (1 - p) if small > 1 else 0.0
        expected += (big / big_n.sum()) ** 2 * (1 - small / big) * s2 / small
    shares = (big_n / big_n.sum())[:, None]
    got = stratified_variance(big_n, small_n, binary_element_variance(rates, small_n), shares)
    np.testing.assert_allclose(got, [expected], rtol=1e-12, atol=1e-300)


def test_census_is_zero_and_an_unsampled_stratum_infinite():
    """n_h = N_h contributes 0; n_h = 0 makes its domains' variance infinite, others finite."""
    np.testing.assert_array_equal(stratum_mean_variance([10, 10], [10, 0], 0.25), [0.0, np.inf])
    shares = np.array([[1.0, 0.0], [0.0, 1.0]])
    got = stratified_variance([10, 10], [5, 0], [0.25, 0.25], shares)
    assert np.isfinite(got[0]) and got[1] == np.inf


def test_negligible_variance_is_zero():
    """1e-34 (se 1e-17) is 0; 1e-18 (se 1e-9) is kept."""
    np.testing.assert_array_equal(negligible_to_zero([1e-34, 0.0, 1e-18]), [0.0, 0.0, 1e-18])


@given(
    design=st.lists(
        st.tuples(st.integers(2, 12), st.integers(0, 400), st.booleans()), min_size=2, max_size=6
    ),
    by_stratum=st.booleans(),
)
@settings(max_examples=scaled(30), deadline=None)
def test_constant_strata_have_a_standard_error_of_exactly_zero(design, by_stratum):
    """Strata whose cases all agree (but differ between strata): the variance is zero up to
    rounding, and is reported as the exact zero; the effective n is then n (no sampling
    error, as the NCHS standard takes it), the design effect 0, or Kish's n Σw²/(Σw)² where
    the rate is 0 or 1."""
    frames = []
    for h, (n, extra, event) in enumerate(design):
        frames.append(
            pd.DataFrame({"stratum": f"s{h}", "N": n + extra, "y": float(event)}, index=range(n))
        )
    data = pd.concat(frames, ignore_index=True)
    by = "stratum" if by_stratum else None
    # R's variance (method korn-graubard); the default's pooled variance is not zero here
    table = estimate_proportions(data, "y", "stratum", "N", by=by, method="korn-graubard")
    assert (table["se"] == 0).all()
    weights = data["N"] / data.groupby("stratum")["y"].transform("size")
    groups = data["stratum"] if by_stratum else pd.Series(0, index=data.index)
    kish = (weights.groupby(groups).sum() ** 2 / (weights**2).groupby(groups).sum()).to_numpy()
    np.testing.assert_array_equal(table["n_eff"], table["n"])
    edge = table["estimate"].isin([0.0, 1.0]).to_numpy()
    np.testing.assert_allclose(table["deff"], np.where(edge, table["n"] / kish, 0.0), rtol=1e-12)
    assert (table["ci_low"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["ci_high"]).all()
