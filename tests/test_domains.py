"""Tests for stikprove.estimation.domains: design-based domain estimates."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.errors import EstimationError
from stikprove.estimation import (
    ESTIMATE_COLUMNS,
    proportion_ci,
)
from stikprove.estimation import estimate_categories as _estimate_categories
from stikprove.estimation import estimate_proportions as _estimate_proportions
from stikprove.estimation import outcome_bounds as _outcome_bounds
from strategies import scaled, stratified_samples

# These tests check R survey's Korn-Graubard (and the other named methods); the default
# method, pooled-hypergeometric, has its own tests in tests/test_interval_study.py.
estimate_proportions = partial(_estimate_proportions, method="korn-graubard")
estimate_categories = partial(_estimate_categories, method="korn-graubard")
outcome_bounds = partial(_outcome_bounds, method="korn-graubard")

R_DIR = Path(__file__).parent / "fixtures" / "r"
DESIGN_METHODS = ["wald", "logit", "korn-graubard", "wilson"]


def _stratum(name: str, big_n: int, y: list[float], **extra) -> pd.DataFrame:
    return pd.DataFrame({"stratum": name, "N": big_n, "y": y, **extra})


# --- agreement with R survey -----------------------------------------------------------------


def _r_results() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = pd.read_csv(R_DIR / "domains_data.csv")
    ref = pd.read_csv(R_DIR / "domains_r.csv", dtype={"by": str, "domain": str})
    ref[["by", "domain"]] = ref[["by", "domain"]].fillna("")  # "" = the whole population
    return data, ref


@pytest.mark.parametrize("method", ["wald", "logit", "korn-graubard"])
@pytest.mark.parametrize("by", ["dom", "sdom", "stratum", ""])
def test_agrees_with_r_survey_svyciprop(method, by):
    """estimate, se, df, ci_low, ci_high equal R svyby(..., svyciprop) to 1e-6.

    Reference: tests/fixtures/r/domains.R (R 4, survey 4.1.1; methods "mean", "logit", "beta";
    by = "" is svyciprop on the whole design). Compared for every domain with 0 < p < 1 and
    se > 0. R's "mean" interval is not clipped to [0, 1]; ours is, so R's is clipped here.
    Tolerance 1e-6 (R's logit goes through svyglm's iterations; observed agreement ~2e-9).
    """
    data, ref = _r_results()
    ref = ref[(ref["by"] == by) & (ref["method"] == method)]
    ref = ref[(ref["estimate"] > 0) & (ref["estimate"] < 1) & (ref["se"] > 0)]
    assert len(ref) > 0
    ours = estimate_proportions(data, "y", "stratum", "N", by=by or None, method=method)
    if by:
        ours = ours.set_index(by).loc[ref["domain"]]
    np.testing.assert_array_equal(ours["n"], ref["n"])
    np.testing.assert_array_equal(ours["df"], ref["df"])
    for column in ("estimate", "se"):
        np.testing.assert_allclose(ours[column], ref[column], rtol=0, atol=1e-6)
    for column in ("ci_low", "ci_high"):
        np.testing.assert_allclose(ours[column], ref[column].clip(0, 1), rtol=0, atol=1e-6)


def test_r_fixture_checks_regular_domains_that_hold_degenerate_strata():
    """The R comparison covers domains with strata that add nothing to R's variance.

    s9 (40 of 40), s10 (0 of 4) and s11 (one outcome left: a lonely PSU) lie wholly in the
    domains a, b and c and in the whole population; those domains have 0 < p < 1 and se > 0 in
    R, so the test above holds the default to R there. The conservative option departs from R
    exactly there.
    """
    data, ref = _r_results()
    regular = ref[(ref["estimate"] > 0) & (ref["estimate"] < 1) & (ref["se"] > 0)]
    held = regular[regular["by"].isin(["dom", ""])]
    assert set(zip(held["by"], held["domain"], strict=True)) == {
        ("dom", "a"),
        ("dom", "b"),
        ("dom", "c"),
        ("", ""),
    }
    observed = data.dropna(subset=["y"]).groupby("stratum")["y"].agg(["size", "mean"])
    assert observed.loc["s9"].tolist() == [40, 1.0] and observed.loc["s10"].tolist() == [4, 0.0]
    assert observed.loc["s11", "size"] == 1
    for by in ("dom", None):
        standard = estimate_proportions(data, "y", "stratum", "N", by=by)
        conservative = estimate_proportions(
            data, "y", "stratum", "N", by=by, degenerate_strata="conservative"
        )
        assert (conservative["se"] > standard["se"] + 1e-4).all()
        np.testing.assert_array_equal(conservative["estimate"], standard["estimate"])


def test_r_fixture_has_domains_across_and_within_strata_and_missing_outcomes():
    """The reference data exercise what the brief asks: missing y, census, cross-cutting."""
    data, ref = _r_results()
    assert data["y"].isna().sum() > 5
    sizes = data.groupby("stratum").agg(N=("N", "first"), n=("y", "size"))
    assert (sizes["N"] == sizes["n"]).any()  # a census stratum
    assert data.groupby("dom")["stratum"].nunique().min() > 1
    assert set(ref["by"]) == {"dom", "sdom", "stratum", ""}


@pytest.mark.parametrize("by", ["stratum", "single"])
def test_where_r_fails_we_give_a_finite_interval(by):
    """R's svyciprop at the edges (tests/fixtures/r/domains_edges_r.csv): NaN, [0, 0], [1, 1] or
    even [0.5, 0.5] for 40 of 40. Ours: same estimate, finite, positive width, contains it."""
    data = pd.read_csv(R_DIR / "domains_edges_data.csv")
    ref = pd.read_csv(R_DIR / "domains_edges_r.csv")
    ref = ref[ref["by"] == by]
    failed = ref[ref["ci_low"].isna() | (ref["ci_high"] - ref["ci_low"] <= 1e-9)]
    assert len(failed) >= 3
    for method, rows in failed.groupby("method"):
        ours = estimate_proportions(data, "y", "stratum", "N", by=by, method=method)
        ours = ours.set_index(by).loc[rows["domain"]]
        np.testing.assert_allclose(ours["estimate"], rows["estimate"], atol=1e-6)
        assert np.isfinite(ours[["ci_low", "ci_high"]].to_numpy()).all()
        assert (ours["ci_high"] - ours["ci_low"] > 0.05).all()
        assert (ours["ci_low"] <= ours["estimate"]).all()
        assert (ours["estimate"] <= ours["ci_high"]).all()


# --- frozen semantics ------------------------------------------------------------------------


def test_columns_and_order_are_fixed():
    """by columns then the documented columns; rows sorted by the by columns."""
    data = pd.concat(
        [
            _stratum("s1", 50, [1, 0, 0, 1, 0], kommune=["851", "101", "461", "101", "851"]),
            _stratum("s2", 80, [0, 0, 1, 1], kommune=["461", "101", "851", "851"]),
        ]
    )
    table = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    assert list(table.columns) == ["kommune", *ESTIMATE_COLUMNS]
    assert list(table["kommune"]) == ["101", "461", "851"]
    assert table["n"].dtype == np.int64 and table["df"].dtype == np.int64
    whole = estimate_proportions(data, "y", ["stratum"], "N")
    assert list(whole.columns) == list(ESTIMATE_COLUMNS) and len(whole) == 1
    two = estimate_proportions(data, "y", "stratum", "N", by=["kommune", "stratum"])
    assert list(two.columns[:2]) == ["kommune", "stratum"]
    assert two[["kommune", "stratum"]].equals(
        two[["kommune", "stratum"]].sort_values(["kommune", "stratum"])
    )


def test_missing_outcomes_are_dropped_within_their_stratum():
    """Hand-checkable: N = 10 and 20, y = (1,0,0,0) and (1,1,0,missing): p = (2.5 + 40/3)/30."""
    data = pd.concat([_stratum("a", 10, [1, 0, 0, 0]), _stratum("b", 20, [1, 1, 0, None])])
    row = estimate_proportions(data, "y", "stratum", "N").iloc[0]
    assert row["n"] == 7 and row["df"] == 5
    assert row["estimate"] == pytest.approx((10 * 1 / 4 + 20 * 2 / 3) / 30)


def test_boolean_and_string_numbers_are_accepted_as_binary():
    """True/False and 1.0/0.0 are the same outcome."""
    data = pd.concat([_stratum("a", 10, [1, 0, 0, 0]), _stratum("b", 20, [1, 1, 0, 0])])
    as_bool = data.assign(y=data["y"].astype(bool))
    pd.testing.assert_frame_equal(
        estimate_proportions(data, "y", "stratum", "N"),
        estimate_proportions(as_bool, "y", "stratum", "N"),
    )


# --- the edges -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", DESIGN_METHODS)
def test_zero_events_in_a_small_stratum_is_not_certainty(method):
    """0 of 4 sampled from N = 117: the upper bound is about 0.5-0.6, never 0 or NaN."""
    data = pd.concat(
        [_stratum("small", 117, [0, 0, 0, 0]), _stratum("big", 900, [1, 0, 1, 0, 0, 1, 0, 0])]
    )
    row = estimate_proportions(data, "y", "stratum", "N", by="stratum", method=method).iloc[1]
    assert row["stratum"] == "small" and row["estimate"] == 0
    assert row["ci_low"] == 0 and 0.5 < row["ci_high"] < 0.61


@pytest.mark.parametrize("method", DESIGN_METHODS)
def test_all_events_has_a_lower_bound_below_one(method):
    """40 of 40 sampled from N = 509: the lower bound is about 0.9."""
    data = pd.concat([_stratum("s", 509, [1] * 40), _stratum("t", 300, [0, 1] * 10)])
    row = estimate_proportions(data, "y", "stratum", "N", by="stratum", method=method).iloc[0]
    assert row["estimate"] == 1 and row["ci_high"] == 1
    assert 0.88 < row["ci_low"] < 0.95


def test_all_events_across_several_strata_uses_the_kish_effective_n():
    """p = 1 over two sampled strata: Clopper-Pearson on (Σw)²/Σw², not zero width; the
    published effective n is n (as the NCHS standard takes it at 0 % or 100 %), the design
    effect Kish's n Σw²/(Σw)²."""
    data = pd.concat([_stratum("s", 100, [1] * 10), _stratum("t", 400, [1] * 10)])
    row = estimate_proportions(data, "y", "stratum", "N").iloc[0]
    weights = np.r_[[10.0] * 10, [40.0] * 10]
    kish = weights.sum() ** 2 / (weights**2).sum()
    assert row["ci_low"] == pytest.approx(0.025 ** (1 / kish))  # Clopper-Pearson at x = n
    assert row["n_eff"] == 20
    assert row["deff"] == pytest.approx(20 / kish)


@pytest.mark.parametrize("method", DESIGN_METHODS)
def test_one_sampled_case_in_a_domain(method):
    """A domain with one case (df = 0) gets a wide interval, not NaN."""
    data = _stratum("s", 200, [1, 0, 0, 1, 0, 1, 0, 0, 1, 0], dom=["x"] + ["y"] * 9)
    row = estimate_proportions(data, "y", "stratum", "N", by="dom", method=method).iloc[0]
    assert row["n"] == 1 and row["df"] == 0 and row["estimate"] == 1
    assert row["ci_high"] == 1 and 0 < row["ci_low"] < 0.5


@pytest.mark.parametrize("method", DESIGN_METHODS)
def test_df_zero_with_events_uses_one_degree_of_freedom(method):
    """Two cases from two strata (df = 0), one event: finite, wide, contains the estimate."""
    data = pd.concat(
        [
            _stratum("s", 100, [1, 0, 0, 1], dom=["x", "y", "y", "y"]),
            _stratum("t", 100, [0, 1, 1, 0], dom=["x", "y", "y", "y"]),
        ]
    )
    row = estimate_proportions(data, "y", "stratum", "N", by="dom", method=method).iloc[0]
    assert row["df"] == 0 and row["estimate"] == 0.5
    assert np.isfinite([row["ci_low"], row["ci_high"]]).all()
    assert row["ci_low"] < 0.2 and row["ci_high"] > 0.8


@pytest.mark.parametrize("method", [*DESIGN_METHODS, "hypergeometric"])
def test_census_stratum_gives_the_exact_value(method):
    """n_h = N_h: no sampling error, ci_low = ci_high = estimate, se = 0."""
    data = pd.concat([_stratum("census", 5, [1, 0, 0, 1, 0]), _stratum("s", 50, [1, 0, 0, 1])])
    row = estimate_proportions(data, "y", "stratum", "N", by="stratum", method=method).iloc[0]
    assert row["stratum"] == "census" and row["se"] == 0
    assert row["ci_low"] == row["estimate"] == row["ci_high"] == 0.4


def test_census_and_sampled_strata_mix_takes_uncertainty_from_the_sampled_part():
    """Census stratum (2 of 5) plus a sampled stratum with 0 of 6 from N = 45.

    p = 2/50. The census part is known, so the lower bound is exactly 2/50; the upper bound is
    the census total plus the hypergeometric upper bound for the sampled stratum, weighted.
    """
    data = pd.concat([_stratum("census", 5, [1, 0, 0, 1, 0]), _stratum("s", 45, [0] * 6)])
    row = estimate_proportions(data, "y", "stratum", "N").iloc[0]
    assert row["estimate"] == pytest.approx(2 / 50)
    hyper = proportion_ci(0, 6, method="hypergeometric", population_size=45)
    assert row["ci_low"] == pytest.approx(2 / 50)
    assert row["ci_high"] == pytest.approx((2 + 45 * hyper.high) / 50)


def test_census_and_sampled_mix_with_variance_is_the_regular_interval():
    """Census strata contribute no variance; a mixed domain with se > 0 is not an edge."""
    data = pd.concat([_stratum("census", 5, [1, 0, 0, 1, 0]), _stratum("s", 45, [0, 1, 0, 0])])
    row = estimate_proportions(data, "y", "stratum", "N").iloc[0]
    assert row["se"] > 0 and row["ci_low"] < row["estimate"] < row["ci_high"]


def test_lonely_stratum_after_missing_outcomes_is_handled():
    """A sampled stratum left with one outcome (R: 'has only one PSU') gives an interval."""
    data = pd.concat([_stratum("s", 60, [1, None, None]), _stratum("t", 80, [0, 1, 0, 0])])
    table = estimate_proportions(data, "y", "stratum", "N")
    row = table.iloc[0]
    assert np.isfinite(row[["estimate", "se", "ci_low", "ci_high", "n_eff"]].astype(float)).all()
    assert row["ci_low"] < row["estimate"] < row["ci_high"]


def test_exact_method_for_domains_inside_one_stratum():
    """hypergeometric = hypergeometric proportion_ci on the stratum."""
    data = pd.concat([_stratum("s", 30, [1, 0, 0, 0, 0, 1]), _stratum("t", 117, [0, 0, 0, 0])])
    table = estimate_proportions(data, "y", "stratum", "N", by="stratum", method="hypergeometric")
    expected = proportion_ci([2, 0], [6, 4], method="hypergeometric", population_size=[30, 117])
    np.testing.assert_allclose(table["ci_low"], expected.low)
    np.testing.assert_allclose(table["ci_high"], expected.high)


def test_exact_method_refuses_a_domain_across_strata():
    """The error names the domain and suggests korn-graubard."""
    data = pd.concat(
        [_stratum("s", 30, [1, 0, 1], dom=["x", "y", "y"]), _stratum("t", 40, [0, 1], dom="y")]
    )
    with pytest.raises(EstimationError, match=r"'dom': 'y'.*spans 2 strata"):
        estimate_proportions(data, "y", "stratum", "N", by="dom", method="hypergeometric")


# --- properties ------------------------------------------------------------------------------


@given(data=stratified_samples(), method=st.sampled_from(DESIGN_METHODS), seed=st.integers(0, 9))
@settings(max_examples=scaled(60), deadline=None)
def test_intervals_are_honest_for_any_sample(data, method, seed):
    """No NaN; 0 <= low <= estimate <= high <= 1; zero width only if fully enumerated;
    invariant under row order."""
    table = estimate_proportions(data, "y", "stratum", "N", by="dom", method=method)
    values = table[["estimate", "se", "ci_low", "ci_high", "n_eff", "deff"]].to_numpy(float)
    assert not np.isnan(values).any()
    assert (table["ci_low"] >= 0).all() and (table["ci_high"] <= 1).all()
    assert (table["ci_low"] <= table["estimate"] + 1e-12).all()
    assert (table["estimate"] <= table["ci_high"] + 1e-12).all()
    observed = data.dropna(subset=["y"])
    counts = observed.groupby("stratum").agg(N=("N", "first"), n=("y", "size"))
    census = set(counts.index[counts["N"] == counts["n"]])
    enumerated = observed.groupby("dom")["stratum"].agg(lambda s: set(s) <= census)
    zero_width = table.set_index("dom")["ci_high"] - table.set_index("dom")["ci_low"] <= 0
    assert (~zero_width | enumerated.loc[zero_width.index]).all()
    shuffled = data.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    again = estimate_proportions(shuffled, "y", "stratum", "N", by="dom", method=method)
    pd.testing.assert_frame_equal(table, again, check_exact=False, atol=1e-12, rtol=1e-9)


# --- missing outcomes: bounds ------------------------------------------------------------------


def test_outcome_bounds_count_missing_as_zero_and_as_one():
    """One stratum, y = (1, 0, ?, ?): MAR 1/2, worst 1/4, best 3/4."""
    data = pd.concat([_stratum("s", 10, [1, 0, None, None], dom="x"), _stratum("t", 9, [1, 0])])
    data["dom"] = data["dom"].fillna("z")
    table = outcome_bounds(data, "y", "stratum", "N", by="dom")
    row = table.iloc[0]
    assert list(table.columns) == [
        "dom", "n", "n_missing", "estimate", "ci_low", "ci_high", "estimate_missing_as_0",
        "estimate_missing_as_1", "ci_low_missing_as_0", "ci_high_missing_as_1",
    ]  # fmt: skip
    assert (row["n"], row["n_missing"]) == (2, 2)
    assert row["estimate"] == pytest.approx(0.5)
    assert row["estimate_missing_as_0"] == pytest.approx(0.25)
    assert row["estimate_missing_as_1"] == pytest.approx(0.75)
    assert row["ci_low_missing_as_0"] <= row["estimate_missing_as_0"]
    assert row["estimate_missing_as_1"] <= row["ci_high_missing_as_1"]


def test_outcome_bounds_for_a_domain_without_any_outcome():
    """A domain with only missing outcomes: MAR columns NaN, bounds still given."""
    data = _stratum("s", 40, [1, 0, None, None], dom=["a", "a", "b", "b"])
    table = outcome_bounds(data, "y", "stratum", "N", by="dom")
    b = table.set_index("dom").loc["b"]
    assert np.isnan(b["estimate"]) and b["n"] == 0 and b["n_missing"] == 2
    assert b["estimate_missing_as_0"] == 0 and b["estimate_missing_as_1"] == 1
    whole = outcome_bounds(data, "y", "stratum", "N")
    assert len(whole) == 1 and whole["n_missing"].iloc[0] == 2


# --- multi-category outcomes -------------------------------------------------------------------


def test_categories_in_one_long_frame_sum_to_one():
    """Every category's proportion per domain; they add to 1; 'kan_ikke_vurderes' is missing."""
    values = ["for_syg", "kan_med_skaanehensyn", "ingen_vaesentlig_barriere", "kan_ikke_vurderes"]
    rng = np.random.default_rng(3)
    data = pd.DataFrame(
        {
            "stratum": np.repeat(["s1", "s2", "s3"], 20),
            "N": np.repeat([100, 60, 20], 20),
            "health": rng.choice(values, 60),
            "sex": rng.choice(["kvinde", "mand"], 60),
        }
    )
    table = estimate_categories(
        data, "health", "stratum", "N", by="sex", categories=values[:3],
        missing_values=["kan_ikke_vurderes"],
    )  # fmt: skip
    assert list(table.columns) == ["sex", "category", *ESTIMATE_COLUMNS]
    assert list(table["category"][:3]) == values[:3]
    np.testing.assert_allclose(table.groupby("sex")["estimate"].sum(), 1.0)
    indicator = data.assign(
        y=np.where(data["health"] == values[3], np.nan, (data["health"] == values[0]) * 1.0)
    )
    direct = estimate_proportions(indicator, "y", "stratum", "N", by="sex")
    mine = table[table["category"] == values[0]].drop(columns="category").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, direct)


def test_categories_refuse_an_unlisted_value():
    """A value not in categories (and not declared missing) is an error naming it."""
    data = _stratum("s", 10, [0, 0, 0]).assign(v=["a", "b", "c"])
    with pytest.raises(EstimationError, match="'c' not among categories"):
        estimate_categories(data, "v", "stratum", "N", categories=["a", "b"])


# --- refusals ----------------------------------------------------------------------------------


def _good() -> pd.DataFrame:
    return pd.concat([_stratum("s", 10, [1, 0, 0]), _stratum("t", 20, [0, 1, 1])]).reset_index(
        drop=True
    )


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.assign(y=[1, 0, 2, 0, 1, 1]), r"outcome column 'y'.*0/1.*got 2.*row 3"),
        (lambda d: d.assign(y=["ja", 0, 1, 0, 1, 1]), r"got 'ja'"),
        (lambda d: d.assign(N=[2, 2, 2, 20, 20, 20]), r"'N' is 2 in stratum 's'.*3 sampled"),
        (lambda d: d.assign(N=[10, 11, 10, 20, 20, 20]), r"varies within stratum 's'"),
        (lambda d: d.assign(N=[10, None, 10, 20, 20, 20]), r"'N' must hold whole numbers"),
        (lambda d: d.assign(stratum=["s", None, "s", "t", "t", "t"]), r"strata column.*row 2"),
        (lambda d: d.drop(columns="N"), r"population_size column 'N' is not in the data"),
        (lambda d: d.assign(y=np.nan), r"no non-missing values"),
    ],
)
def test_bad_input_is_refused_with_the_column_and_value(change, match):
    """Each refusal names the column and the offending value."""
    with pytest.raises(EstimationError, match=match):
        estimate_proportions(change(_good()), "y", "stratum", "N")


def test_missing_by_and_strata_columns_are_named():
    """Absent columns are named with their role."""
    with pytest.raises(EstimationError, match="by column 'kommune'"):
        estimate_proportions(_good(), "y", "stratum", "N", by="kommune")
    with pytest.raises(EstimationError, match="strata column 'sex'"):
        estimate_proportions(_good(), "y", ["stratum", "sex"], "N")
    with pytest.raises(EstimationError, match="outcome column 'too_ill'"):
        estimate_proportions(_good(), "too_ill", "stratum", "N")


@pytest.mark.parametrize("level", [0.0, 1.0, 95])
def test_confidence_level_outside_unit_interval_is_refused(level):
    """confidence_level must be in (0, 1)."""
    with pytest.raises(EstimationError, match="confidence_level"):
        estimate_proportions(_good(), "y", "stratum", "N", confidence_level=level)


def test_unknown_method_lists_the_methods():
    """The message lists every method, 'hypergeometric' and the default included."""
    known = r"'korn-graubard'.*'hypergeometric', 'pooled-hypergeometric'; got 'beta'"
    with pytest.raises(EstimationError, match=known):
        estimate_proportions(_good(), "y", "stratum", "N", method="beta")


def test_stratum_without_variance_information_standard_and_conservative():
    """40 of 40 in a stratum with 76 % of the weight: by default R's (textbook stratified)
    variance, to which that stratum adds nothing; degenerate_strata="conservative" adds
    (N_h/N)²(1 - f_h) p̃(1 - p̃)/n_h with p̃ = 40.5/41."""
    data = pd.concat([_stratum("big", 509, [1.0] * 40), _stratum("small", 160, [1, 0, 0, 1, 0])])
    total = 509 + 160
    p_small, n_small = 2 / 5, 5
    textbook = (160 / total) ** 2 * (1 - n_small / 160) * p_small * (1 - p_small) / (n_small - 1)
    shrunk = 40.5 / 41
    floor = (509 / total) ** 2 * (1 - 40 / 509) * shrunk * (1 - shrunk) / 40
    standard = estimate_proportions(data, "y", "stratum", "N").iloc[0]
    assert standard["se"] ** 2 == pytest.approx(textbook, rel=1e-12)
    row = estimate_proportions(data, "y", "stratum", "N", degenerate_strata="conservative")
    assert row["se"].iloc[0] ** 2 == pytest.approx(textbook + floor, rel=1e-12)
    assert row["ci_low"].iloc[0] < standard["ci_low"]


def test_lonely_stratum_adds_nothing_by_default_and_a_term_if_conservative():
    """One outcome left in a sampled stratum: 0 to the variance (R's lonely.psu "certainty");
    conservative adds (N_h/N)²(1 - 1/N_h) p̃(1 - p̃) with p̃ = 1.5/2."""
    data = pd.concat([_stratum("s", 60, [1, None, None]), _stratum("t", 80, [0, 1, 0, 0])])
    textbook = (80 / 140) ** 2 * (1 - 4 / 80) * 0.25 * 0.75 / 3
    standard = estimate_proportions(data, "y", "stratum", "N")["se"].iloc[0]
    assert standard**2 == pytest.approx(textbook, rel=1e-12)
    conservative = estimate_proportions(data, "y", "stratum", "N", degenerate_strata="conservative")
    floor = (60 / 140) ** 2 * (1 - 1 / 60) * 0.75 * 0.25
    assert conservative["se"].iloc[0] ** 2 == pytest.approx(textbook + floor, rel=1e-12)


def test_degenerate_strata_choice_is_checked_everywhere():
    """An unknown degenerate_strata is refused by all three estimating functions."""
    for fn in (estimate_proportions, outcome_bounds):
        with pytest.raises(EstimationError, match=r"degenerate_strata.*got 'r'"):
            fn(_good(), "y", "stratum", "N", degenerate_strata="r")
    with pytest.raises(EstimationError, match="degenerate_strata"):
        estimate_categories(_good(), "y", "stratum", "N", degenerate_strata="r")


@given(data=stratified_samples(max_strata=3))
@settings(max_examples=scaled(60), deadline=None)
def test_exact_method_is_honest_for_strata(data):
    """hypergeometric per stratum: in [0, 1], holds the estimate, zero width only for a census."""
    table = estimate_proportions(data, "y", "stratum", "N", by="stratum", method="hypergeometric")
    assert (table["ci_low"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["ci_high"]).all()
    assert table["ci_low"].between(0, 1).all() and table["ci_high"].between(0, 1).all()
    sizes = data.groupby("stratum")["N"].first().loc[table["stratum"]].to_numpy()
    census = table["n"].to_numpy() == sizes
    assert ((table["ci_high"] > table["ci_low"]).to_numpy() | census).all()


# --- review fixes ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [*DESIGN_METHODS, "hypergeometric"])
def test_one_unsampled_case_and_no_events_is_not_certainty(method):
    """N = 50, 49 outcomes, none an event: [0, 0.02], not [0, 0] (only a census is exact)."""
    data = _stratum("s", 50, [0] * 49)
    row = estimate_proportions(data, "y", "stratum", "N", method=method).iloc[0]
    assert (row["ci_low"], row["ci_high"]) == (0.0, pytest.approx(0.02))


def test_nullable_dtypes_from_exports_give_the_plain_result():
    """Int64 / boolean / Float64 outcomes with pd.NA and a float or Int64 N: the same table as
    float with NaN and int N."""
    plain = pd.concat(
        [_stratum("s", 10, [1, 0, np.nan, 1], g=list("kmkm")),
         _stratum("t", 20, [0, 1, 1, np.nan], g=list("kmkm"))],
        ignore_index=True,
    )  # fmt: skip
    expected = estimate_proportions(plain, "y", "stratum", "N", by="g")
    for dtype in ("Int64", "boolean", "Float64"):
        data = plain.assign(y=plain["y"].astype(dtype))
        assert data["y"].isna().sum() == 2
        pd.testing.assert_frame_equal(estimate_proportions(data, "y", "stratum", "N", by="g"),
                                      expected)  # fmt: skip
    for sizes in (plain["N"].astype(float), plain["N"].astype("Int64")):
        got = estimate_proportions(plain.assign(N=sizes), "y", "stratum", "N", by="g")
        pd.testing.assert_frame_equal(got, expected)


def test_population_size_message_shows_the_plain_value():
    """A fractional N is quoted as 10.5, not np.float64(10.5)."""
    data = _good().assign(N=[10.5] * 3 + [20.0] * 3)
    with pytest.raises(EstimationError, match=r"got 10\.5 at row 1 \(index 0\)$"):
        estimate_proportions(data, "y", "stratum", "N")


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
def test_missing_by_value_is_refused_not_grouped(missing):
    """A case of unknown domain is refused with its row (documented: recode it to keep it)."""
    data = _good().astype({"y": float}).assign(g=["a", "b", "a", "b", "a", "b"])
    data["g"] = data["g"].astype(object)
    data.loc[4, "g"] = missing
    with pytest.raises(EstimationError, match=r"by column 'g' has a missing value at row 5"):
        estimate_proportions(data, "y", "stratum", "N", by="g")


def test_strata_given_as_several_columns_equal_one_combined_column():
    """strata=["a", "b"] is the stratum a × b."""
    data = pd.DataFrame(
        {"a": ["x"] * 4 + ["y"] * 4, "b": ["u", "u", "v", "v"] * 2,
         "N": [10, 10, 12, 12, 20, 20, 30, 30], "y": [1, 0, 0, 1, 1, 1, 0, 0]}
    )  # fmt: skip
    two = estimate_proportions(data, "y", ["a", "b"], "N")
    one = estimate_proportions(data.assign(ab=data["a"] + data["b"]), "y", "ab", "N")
    pd.testing.assert_frame_equal(two, one)
    assert two.loc[0, "df"] == 8 - 4


def test_stratum_without_any_outcome_drops_out_and_bounds_count_it():
    """Stratum s (N = 10) has no outcome: MAR describes stratum t alone (0.4); the bounds put
    s's 10 cases at 0 and at 1: (0 + 0.4·40)/50 = 0.32 and (10 + 16)/50 = 0.52."""
    data = pd.concat(
        [_stratum("s", 10, [None] * 3, g="x"), _stratum("t", 40, [0, 1, 0, 0, 1], g="x")],
        ignore_index=True,
    )
    table = estimate_proportions(data, "y", "stratum", "N", by="g")
    assert table.loc[0, "estimate"] == pytest.approx(0.4) and table.loc[0, "n"] == 5
    bounds = outcome_bounds(data, "y", "stratum", "N", by="g").iloc[0]
    assert bounds["estimate_missing_as_0"] == pytest.approx(0.32)
    assert bounds["estimate_missing_as_1"] == pytest.approx(0.52)
    assert (bounds["n"], bounds["n_missing"]) == (5, 3)


def test_outcome_bounds_by_hand_with_two_strata():
    """Domain m: a (N 10): ?, 1; b (N 20): 1, 0. MAR: a has 3 outcomes (w 10/3), b 4 (w 5):
    (10/3 + 5)/(10/3 + 10) = 0.625; missing as 0: a has 4 (w 2.5): (2.5 + 5)/15 = 0.5;
    as 1: (2.5 + 2.5 + 5)/15 = 2/3."""
    data = pd.concat(
        [_stratum("a", 10, [1, None, 0, 1], g=list("kmkm")),
         _stratum("b", 20, [1, 1, 0, 0], g=list("kmkm"))],
        ignore_index=True,
    )  # fmt: skip
    m = outcome_bounds(data, "y", "stratum", "N", by="g").set_index("g").loc["m"]
    assert (m["n"], m["n_missing"]) == (3, 1)
    assert m["estimate"] == pytest.approx(0.625)
    assert m["estimate_missing_as_0"] == pytest.approx(0.5)
    assert m["estimate_missing_as_1"] == pytest.approx(2 / 3)
    assert m["ci_low_missing_as_0"] <= 0.5 and m["ci_high_missing_as_1"] >= 2 / 3


def test_category_also_declared_missing_is_refused():
    """Listing 'kan' as a category and as missing would report it as 0 silently."""
    data = _good().assign(v=["x", "y", "kan", "x", "x", "y"])
    with pytest.raises(EstimationError, match=r"category 'kan' is also in missing_values"):
        estimate_categories(data, "v", "stratum", "N", categories=["x", "y", "kan"],
                            missing_values=["kan"])  # fmt: skip


def test_exact_is_a_deprecated_name_of_hypergeometric():
    """method="exact" still works, warns, and gives the hypergeometric interval."""
    data = pd.concat([_stratum("s", 30, [1, 0, 0, 0, 0, 1]), _stratum("t", 117, [0, 0, 0, 0])])
    with pytest.warns(DeprecationWarning, match="'exact' is deprecated; use 'hypergeometric'"):
        old = estimate_proportions(data, "y", "stratum", "N", by="stratum", method="exact")
    new = estimate_proportions(data, "y", "stratum", "N", by="stratum", method="hypergeometric")
    pd.testing.assert_frame_equal(old, new)


ALL_METHODS = ["pooled-hypergeometric", "korn-graubard", "korn-graubard-deff1", "jeffreys",
               "logit", "wald", "wilson"]  # fmt: skip


@given(data=stratified_samples(), level=st.sampled_from([0.9, 0.95]))
@settings(max_examples=scaled(40), deadline=None)
def test_effective_n_and_design_effect_do_not_depend_on_the_method(data, level):
    """One n_eff and one deff per domain and level, whatever the interval method (issue 17:
    Odense's total showed 328.1 under the default and 338.4 under Korn-Graubard); n_eff is
    never above n."""
    tables = [_estimate_proportions(data, "y", "stratum", "N", by="dom", confidence_level=level,
                                    method=m) for m in ALL_METHODS]  # fmt: skip
    for table in tables[1:]:
        np.testing.assert_array_equal(table["n_eff"], tables[0]["n_eff"])
        np.testing.assert_array_equal(table["deff"], tables[0]["deff"])
    assert (tables[0]["n_eff"] <= tables[0]["n"]).all()


def test_effective_n_is_the_nchs_one_by_hand():
    """Two strata (N = 1000, n = 20; N = 50, n = 20) with 4 and 10 events: R's variance gives
    deff = n v/(p(1-p)) = 1.78; n_eff = min(n, n/deff (t(39)/t(38))^2) = 22.4 at 95 %."""
    from scipy import stats

    data = pd.concat([_stratum("a", 1000, [1] * 4 + [0] * 16),
                      _stratum("b", 50, [1] * 10 + [0] * 10)])
    row = _estimate_proportions(data, "y", "stratum", "N").iloc[0]
    p = (1000 * 0.2 + 50 * 0.5) / 1050
    v = sum((big / 1050) ** 2 * (1 - 20 / big) * ph * (1 - ph) * 20 / 19 / 20
            for big, ph in ((1000, 0.2), (50, 0.5)))  # fmt: skip
    deff = 40 * v / (p * (1 - p))
    ratio = stats.t.ppf(0.975, 39) / stats.t.ppf(0.975, 38)
    assert row["deff"] == pytest.approx(deff, rel=1e-12)
    assert row["n_eff"] == pytest.approx(min(40, 40 / deff * ratio**2), rel=1e-12)
    assert 22.3 < row["n_eff"] < 22.5


def test_outcome_bounds_leave_cases_outside_the_indicator_out():
    """Stratum a (N 10): 1, ? (not assessable), 0, ineligible; b (N 20): 1, ineligible, 0, 0.
    In scope: a has 3 cases (w 10/3), b 3 (w 20/3). n_missing = 1, not 3; missing as 0:
    (10/3 + 20/3)/30 = 1/3, as 1: (20/3 + 20/3)/30 = 4/9: the bounds of the sample without
    the ineligible cases, which are neither 0 nor 1 (before issue 17 they were counted as
    missing and imputed)."""
    data = pd.concat(
        [_stratum("a", 10, [1, None, 0, None], eligible=[True, True, True, False]),
         _stratum("b", 20, [1, None, 0, 0], eligible=[True, False, True, True])],
        ignore_index=True,
    )  # fmt: skip
    row = outcome_bounds(data, "y", "stratum", "N", in_scope="eligible").iloc[0]
    assert (row["n"], row["n_missing"]) == (5, 1)
    assert row["estimate_missing_as_0"] == pytest.approx(1 / 3)
    assert row["estimate_missing_as_1"] == pytest.approx(4 / 9)
    without = outcome_bounds(data[data["eligible"]], "y", "stratum", "N").iloc[0]
    pd.testing.assert_series_equal(row, without)
    as_array = outcome_bounds(data, "y", "stratum", "N", in_scope=data["eligible"].to_numpy())
    pd.testing.assert_series_equal(as_array.iloc[0], row)
    everything = outcome_bounds(data, "y", "stratum", "N").iloc[0]
    assert everything["n_missing"] == 3


@pytest.mark.parametrize(
    ("in_scope", "message"),
    [
        ("in_pop", r"in_scope column 'in_pop' is not in the data"),
        ([True, None, True, True], r"in_scope must hold True or False.*None at row 2"),
        ("label", r"column 'label' must hold True or False.*'x' at row 1"),
        ([True, True], r"one value per row of data \(4\); got 2"),
        ([False] * 4, r"no case of the 4 is in the indicator's population"),
    ],
)  # fmt: skip
def test_outcome_bounds_refuse_a_bad_scope(in_scope, message):
    """in_scope: a missing column, a value that is not True/False (named with its row), the
    wrong length, or no case in scope are refused."""
    data = _stratum("a", 10, [1, None, 0, 1], label=["x"] * 4)
    with pytest.raises(EstimationError, match=message):
        outcome_bounds(data, "y", "stratum", "N", in_scope=in_scope)
