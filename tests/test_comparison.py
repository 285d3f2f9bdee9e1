"""Tests for stikprove.estimation.comparison (two-group comparisons, Rao–Scott tests).

Reference values come from R 4 with survey 4.1.1 (tests/fixtures/r/comparison.R, which writes
comparison_data.csv and comparison_r.csv), from Newcombe (1998b, Table II) and from statsmodels.
Tolerance against R: 1e-9 relative (the R output is printed with 17 significant digits; the two
computations differ only in floating-point summation order, observed differences ~1e-15). The
Rao–Scott tests with single-case strata (comparison_lonely_data.csv, R run with
survey.lonely.psu = "certainty") are held to the same 1e-9 relative.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from stikprove.cli import main
from stikprove.errors import EstimationError
from stikprove.estimation.comparison import (
    GroupComparison,
    RaoScottTest,
    _newcombe_hybrid,
    mover_ratio,
    rao_scott_test,
)
from stikprove.estimation.comparison import compare_proportions as _compare_proportions
from stikprove.estimation.domains import estimate_proportions as _estimate_proportions
from stikprove.estimation.intervals import proportion_ci
from stikprove.estimation.linearization import domain_linearization
from strategies import scaled, stratified_samples

FIXTURES = Path(__file__).parent / "fixtures" / "r"
RTOL = 1e-9

# R survey's Korn-Graubard, against which these tests check (the default is pooled-hypergeometric,
# for the groups of a comparison as for estimate_proportions; see test_defaults_are_those_of_...).
estimate_proportions = partial(_estimate_proportions, method="korn-graubard")
compare_proportions = partial(_compare_proportions, interval_method="korn-graubard")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "comparison_data.csv")


@pytest.fixture(scope="module")
def lonely_data() -> pd.DataFrame:
    """comparison_data.csv with k1|c1 and k3|c2 cut to their first case with an outcome."""
    return pd.read_csv(FIXTURES / "comparison_lonely_data.csv")


@pytest.fixture(scope="module")
def r() -> dict[str, float]:
    ref = pd.read_csv(FIXTURES / "comparison_r.csv")
    return dict(zip(ref["quantity"], ref["value"], strict=True))


# ------------------------------------------------------------------------------ Rao–Scott


@pytest.mark.parametrize("group", ["origin", "kommune"])
def test_rao_scott_f_matches_r_svychisq(data, r, group) -> None:
    """Second-order F statistic, its df and p-value equal R's svychisq(~y+group) default."""
    res = rao_scott_test(data, "y", "stratum", "N", group)
    assert res.statistic == pytest.approx(r[f"rs_{group}_F"], rel=RTOL)
    assert res.df == pytest.approx(r[f"rs_{group}_ndf"], rel=RTOL)
    assert res.df_denominator == pytest.approx(r[f"rs_{group}_ddf"], rel=RTOL)
    assert res.p_value == pytest.approx(r[f"rs_{group}_p_F"], rel=RTOL)
    assert res.pearson == pytest.approx(r[f"rs_{group}_pearson"], rel=RTOL)


@pytest.mark.parametrize("group", ["origin", "kommune"])
def test_rao_scott_chisq_matches_r_svychisq(data, r, group) -> None:
    """First-order: p-value and df equal svychisq(statistic='Chisq'); X² is R's statistic."""
    res = rao_scott_test(data, "y", "stratum", "N", group, statistic="Chisq")
    assert res.p_value == pytest.approx(r[f"rs_{group}_p_chisq"], rel=RTOL)
    assert res.df == r[f"rs_{group}_df_chisq"]
    assert res.pearson == pytest.approx(r[f"rs_{group}_pearson"], rel=RTOL)
    assert res.statistic == pytest.approx(res.pearson / res.mean_design_effect)
    assert res.df_denominator == np.inf


def test_rao_scott_ignores_row_order_and_group_labels(data) -> None:
    """Shuffling rows and renaming groups leaves the test unchanged."""
    base = rao_scott_test(data, "y", "stratum", "N", "origin")
    shuffled = data.sample(frac=1.0, random_state=3).assign(
        origin=lambda d: d["origin"].map({"dansk": "z", "vestlig": "a", "ikke_vestlig": "m"})
    )
    other = rao_scott_test(shuffled, "y", "stratum", "N", "origin")
    assert other.statistic == pytest.approx(base.statistic, rel=1e-12)
    assert other.p_value == pytest.approx(base.p_value, rel=1e-12)


def test_rao_scott_result_is_frozen_and_tidy(data) -> None:
    """The result is frozen and to_frame gives one row."""
    res = rao_scott_test(data, "y", "stratum", "N", "origin")
    assert isinstance(res, RaoScottTest)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p_value = 1.0  # type: ignore[misc]
    assert len(res.to_frame()) == 1
    assert res.groups == ("dansk", "ikke_vestlig", "vestlig")
    assert "<table" in res._repr_html_()


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        (None, {"statistic": "Wald"}, "statistic must be"),
        (None, {"by": "region"}, "by must name"),
        (lambda d: d.assign(origin="dansk"), {}, "at least two groups"),
        (lambda d: d.assign(y=d["y"].where(d["y"].isna(), 0.0)), {}, "single value"),
        (lambda d: d.assign(y=d["y"].replace(1.0, 2.0)), {}, "0/1"),
        (lambda d: d.assign(origin=d["origin"].where(d.index != 5)), {}, "missing"),
        (lambda d: d.assign(N=d["N"] + d.index % 2), {}, "varies"),
    ],
)
def test_rao_scott_refusals(data, change, kwargs, match) -> None:
    """Bad input raises EstimationError naming the argument, value and what was expected."""
    frame = data if change is None else change(data)
    args = {"by": "origin", **kwargs}
    with pytest.raises(EstimationError, match=match):
        rao_scott_test(frame, "y", strata="stratum", population_size="N", **args)


def keep_one_case(data: pd.DataFrame, stratum: str) -> pd.DataFrame:
    """The data with only the first case with an outcome left in ``stratum``."""
    inside = data[(data["stratum"] == stratum) & data["y"].notna()].head(1)
    return pd.concat([data[data["stratum"] != stratum], inside])


def test_lonely_fixture_is_the_sample_with_two_single_case_strata(data, lonely_data) -> None:
    """The R fixture with single-case strata is keep_one_case applied to the main sample."""
    expected = keep_one_case(keep_one_case(data, "k1|c1"), "k3|c2")
    key = ["stratum", "origin", "y"]
    assert sorted(map(str, lonely_data[key].to_numpy().tolist())) == sorted(
        map(str, expected[key].to_numpy().tolist())
    )
    n_h = lonely_data[lonely_data["y"].notna()].groupby("stratum").size()
    assert n_h[n_h == 1].index.tolist() == ["k1|c1", "k3|c2"]


@pytest.mark.parametrize("group", ["origin", "kommune"])
def test_rao_scott_with_single_case_strata_matches_r_certainty(lonely_data, r, group) -> None:
    """Single-case sampled strata contribute 0 to the variance by default, as R's svychisq with
    options(survey.lonely.psu = "certainty"): F, both df, p, X² and the Chisq p within 1e-9."""
    res = rao_scott_test(lonely_data, "y", "stratum", "N", group)
    explicit = rao_scott_test(lonely_data, "y", "stratum", "N", group, degenerate_strata="standard")
    assert res == explicit
    assert res.statistic == pytest.approx(r[f"lonely_rs_{group}_F"], rel=RTOL)
    assert res.df == pytest.approx(r[f"lonely_rs_{group}_ndf"], rel=RTOL)
    assert res.df_denominator == pytest.approx(r[f"lonely_rs_{group}_ddf"], rel=RTOL)
    assert res.p_value == pytest.approx(r[f"lonely_rs_{group}_p_F"], rel=RTOL)
    assert res.pearson == pytest.approx(r[f"lonely_rs_{group}_pearson"], rel=RTOL)
    chisq = rao_scott_test(lonely_data, "y", "stratum", "N", group, statistic="Chisq")
    assert chisq.p_value == pytest.approx(r[f"lonely_rs_{group}_p_chisq"], rel=RTOL)
    assert chisq.df == r[f"lonely_rs_{group}_df_chisq"]
    assert chisq.pearson == pytest.approx(r[f"lonely_rs_{group}_pearson"], rel=RTOL)


def test_single_case_stratum_adds_no_variance(lonely_data) -> None:
    """Certainty: the single case's outcome moves p̂ and X², but the variance of the table only
    through p̂ (the stratum's own term is 0), and ν still counts the stratum (cases − strata)."""
    res = rao_scott_test(lonely_data, "y", "stratum", "N", "origin")
    kept = lonely_data[lonely_data["y"].notna()]
    assert res.n == len(kept)
    assert res.df_denominator == pytest.approx(res.df * (len(kept) - kept["stratum"].nunique()))
    lin = domain_linearization(lonely_data, "y", "stratum", "N", by="origin")
    assert lin.stratum_factor[lin.sample_size == 1].tolist() == [0.0, 0.0]


def test_rao_scott_conservative_is_refused_naming_strata_as_text(lonely_data) -> None:
    """degenerate_strata mirrors estimate_proportions' values; 'conservative' has no Rao–Scott
    form and is refused, naming the single-case strata as plain strings (not tuples)."""
    with pytest.raises(EstimationError, match="no 'conservative' variant") as exc:
        rao_scott_test(lonely_data, "y", "stratum", "N", "origin", degenerate_strata="conservative")
    assert "'k1|c1', 'k3|c2'" in str(exc.value) and "('" not in str(exc.value)
    split = lonely_data.assign(
        kommune=lonely_data["stratum"].str[:2], cell=lonely_data["stratum"].str[3:]
    )
    with pytest.raises(EstimationError, match="'k1\\|c1', 'k3\\|c2'"):
        rao_scott_test(split, "y", ["kommune", "cell"], "N", "origin",
                       degenerate_strata="conservative")  # fmt: skip
    with pytest.raises(EstimationError, match="degenerate_strata must be one of"):
        rao_scott_test(lonely_data, "y", "stratum", "N", "origin", degenerate_strata="certainty")


def test_rao_scott_all_single_case_strata_is_refused_naming_them() -> None:
    """Every sampled stratum with one case: no variance at all; the message says why, with the
    strata as plain strings."""
    frame = pd.DataFrame(
        {"stratum": ["201|mand|ikke_vestlig", "202|kvinde|dansk", "203|mand|dansk"],
         "N": [5, 7, 9], "y": [1, 0, 0], "g": ["a", "b", "a"]}
    )  # fmt: skip
    with pytest.raises(EstimationError, match="single case") as exc:
        rao_scott_test(frame, "y", "stratum", "N", "g")
    assert "'201|mand|ikke_vestlig'" in str(exc.value) and "('" not in str(exc.value)


def test_cli_compare_test_accepts_single_case_strata(lonely_data, capsys) -> None:
    """`stikprove compare --test` on a table with single-case strata runs (it used to stop with
    "... has a single case ... collapse it") and prints the certainty p-value."""
    argv = ["compare", str(FIXTURES / "comparison_lonely_data.csv"), "--outcome", "y",
            "--by", "origin", "--test", "--population-size", "N"]  # fmt: skip
    assert main(argv) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    result = rao_scott_test(lonely_data, "y", "stratum", "N", "origin")
    assert float(lines["p_value"]) == pytest.approx(result.p_value, abs=5e-5)


def test_rao_scott_refuses_non_frame() -> None:
    """data must be a DataFrame."""
    with pytest.raises(EstimationError, match="DataFrame"):
        rao_scott_test([1, 0], "y", "s", "N", "g")  # type: ignore[arg-type]


# --------------------------------------------------------------- two groups: linearization


def test_linearization_difference_matches_r_svycontrast(data, r) -> None:
    """Overlapping strata: estimates, covariance, difference, se, t interval and p equal R."""
    res = compare_proportions(data, "y", "stratum", "N", "origin", groups=("ikke_vestlig", "dansk"))
    assert res.method == "linearization"
    assert res.estimate_first == pytest.approx(r["origin_est_ikke_vestlig"], rel=RTOL)
    assert res.estimate_second == pytest.approx(r["origin_est_dansk"], rel=RTOL)
    assert res.se_first**2 == pytest.approx(r["origin_var_ikke_vestlig"], rel=RTOL)
    assert res.se_second**2 == pytest.approx(r["origin_var_dansk"], rel=RTOL)
    assert res.covariance == pytest.approx(r["origin_cov"], rel=RTOL)
    assert res.difference == pytest.approx(r["origin_diff"], rel=RTOL)
    assert res.se_difference == pytest.approx(r["origin_diff_se"], rel=RTOL)
    assert res.df == r["origin_df"]
    assert res.ci_low_difference == pytest.approx(r["origin_diff_low"], rel=RTOL)
    assert res.ci_high_difference == pytest.approx(r["origin_diff_high"], rel=RTOL)
    assert res.p_value == pytest.approx(r["origin_p_value"], rel=RTOL)


def test_shared_strata_ratio_is_mover_with_r_correlation(data, r) -> None:
    """Shared strata: the ratio equals R's svycontrast(quote(a/b)); its interval is MOVER-R on
    the design-adjusted Wilson limits with R's correlation cov/(se1·se2) (svyby covmat=TRUE)."""
    res = compare_proportions(data, "y", "stratum", "N", "origin", groups=("ikke_vestlig", "dansk"))
    assert res.ratio == pytest.approx(r["origin_ratio"], rel=RTOL)
    rho = r["origin_cov"] / np.sqrt(r["origin_var_ikke_vestlig"] * r["origin_var_dansk"])
    w = estimate_proportions(data, "y", "stratum", "N", by="origin", method="wilson")
    w = w.set_index("origin")
    low, high = mover_ratio(
        r["origin_est_ikke_vestlig"], w.loc["ikke_vestlig", "ci_low"],
        w.loc["ikke_vestlig", "ci_high"], r["origin_est_dansk"], w.loc["dansk", "ci_low"],
        w.loc["dansk", "ci_high"], rho,
    )  # fmt: skip
    assert (res.ci_low_ratio, res.ci_high_ratio) == pytest.approx((low, high), rel=RTOL)
    # close to R's log-scale delta-method interval where that is defined (a sanity check)
    assert res.ci_low_ratio == pytest.approx(r["origin_ratio_low"], rel=0.1)
    assert res.ci_high_ratio == pytest.approx(r["origin_ratio_high"], rel=0.1)


def _mover_reference() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "ratio_mover_r.csv")


@pytest.mark.parametrize("row", _mover_reference().to_dict("records"))
def test_mover_ratio_matches_r_transcription(row) -> None:
    """MOVER-R on plain Wilson limits equals tests/fixtures/r/ratio_mover.R (Zou & Donner 2008;
    Donner & Zou 2012, with R's prop.test Wilson limits) to 1e-10; Inf where x2 = 0."""
    x1, n1, x2, n2 = int(row["x1"]), int(row["n1"]), int(row["x2"]), int(row["n2"])
    lo1, hi1 = proportion_ci(x1, n1, method="wilson")
    lo2, hi2 = proportion_ci(x2, n2, method="wilson")
    low, high = mover_ratio(x1 / n1, lo1, hi1, x2 / n2, lo2, hi2, row["r"])
    assert low == pytest.approx(row["low"], rel=1e-10, abs=1e-12)
    if np.isinf(row["high"]):
        assert high == np.inf
    else:
        assert high == pytest.approx(row["high"], rel=1e-10)


def test_mover_ratio_is_reciprocal_when_groups_swap() -> None:
    """L(b/a) = 1/U(a/b) and U(b/a) = 1/L(a/b), also with a correlation."""
    low, high = mover_ratio(0.3, 0.2, 0.42, 0.1, 0.05, 0.19, 0.25)
    back_low, back_high = mover_ratio(0.1, 0.05, 0.19, 0.3, 0.2, 0.42, 0.25)
    assert back_low == pytest.approx(1 / high) and back_high == pytest.approx(1 / low)


def test_ratio_with_no_events_in_one_group_is_never_nan() -> None:
    """0 events in the second group: ratio +inf, interval [L > 0, +inf]; in the first: [0, U]."""
    frame = pd.DataFrame(
        {"stratum": ["a"] * 8 + ["b"] * 8, "N": [40] * 8 + [60] * 8,
         "g": ["x"] * 8 + ["y"] * 8, "y": [1.0, 0, 1, 0, 0, 1, 0, 0] + [0.0] * 8}
    )  # fmt: skip
    xy = compare_proportions(frame, "y", "stratum", "N", "g")
    assert xy.ratio == np.inf and xy.ci_high_ratio == np.inf and 0 < xy.ci_low_ratio < np.inf
    yx = compare_proportions(frame, "y", "stratum", "N", "g", groups=("y", "x"))
    assert yx.ratio == 0 and yx.ci_low_ratio == 0 and 0 < yx.ci_high_ratio < np.inf
    assert yx.ci_high_ratio == pytest.approx(1 / xy.ci_low_ratio)


def test_swapping_groups_negates_difference(data) -> None:
    """(b, a) gives minus the difference, the reciprocal ratio and the same p-value."""
    ab = compare_proportions(data, "y", "stratum", "N", "origin", groups=("vestlig", "dansk"))
    ba = compare_proportions(data, "y", "stratum", "N", "origin", groups=("dansk", "vestlig"))
    assert ba.difference == pytest.approx(-ab.difference)
    assert ba.ci_low_difference == pytest.approx(-ab.ci_high_difference)
    assert ba.ratio == pytest.approx(1 / ab.ratio)
    assert ba.ci_low_ratio == pytest.approx(1 / ab.ci_high_ratio)
    assert ba.p_value == pytest.approx(ab.p_value)


def test_linearization_can_be_forced_for_disjoint_strata(data, r) -> None:
    """method='linearization' on independent domains gives covariance 0 and R's variances."""
    res = compare_proportions(
        data, "y", "stratum", "N", "kommune", groups=("k1", "k3"), method="linearization"
    )
    assert res.method == "linearization"
    assert res.covariance == 0.0
    assert res.se_difference**2 == pytest.approx(
        r["kommune_var_k1"] + r["kommune_var_k3"], rel=RTOL
    )
    t = stats.t.isf(0.025, res.df)
    assert res.ci_low_difference == pytest.approx(res.difference - t * res.se_difference)


def test_domain_variances_are_those_of_estimate_proportions(data, r) -> None:
    """v1, v2 are estimate_proportions' variances: R's by default, also for k2, which holds a
    stratum with no events; degenerate_strata="conservative" adds its documented term."""
    args = {"groups": ("k1", "k2"), "method": "linearization"}
    res = compare_proportions(data, "y", "stratum", "N", "kommune", **args)
    table = estimate_proportions(data, "y", "stratum", "N", by="kommune").set_index("kommune")
    assert res.se_second == table.loc["k2", "se"]
    assert res.se_second**2 == pytest.approx(r["kommune_var_k2"], rel=RTOL)
    assert res.se_difference**2 == pytest.approx(
        r["kommune_var_k1"] + r["kommune_var_k2"], rel=RTOL
    )
    wide = compare_proportions(
        data, "y", "stratum", "N", "kommune", degenerate_strata="conservative", **args
    )
    assert wide.se_second**2 > r["kommune_var_k2"]


def test_domain_linearization_covariance_matrix_matches_r(data, r) -> None:
    """domain_linearization(...).covariance() is R's vcov(svyby(~y, ~g, svymean, covmat=TRUE))."""
    lin = domain_linearization(data, "y", "stratum", "N", by="origin")
    cov = pd.DataFrame(lin.covariance(), index=lin.keys["origin"], columns=lin.keys["origin"])
    assert cov.loc["ikke_vestlig", "dansk"] == pytest.approx(r["origin_cov"], rel=RTOL)
    assert cov.loc["dansk", "ikke_vestlig"] == pytest.approx(r["origin_cov"], rel=RTOL)
    assert cov.loc["dansk", "dansk"] == pytest.approx(r["origin_var_dansk"], rel=RTOL)
    by_k = domain_linearization(data, "y", "stratum", "N", by="kommune")
    k_cov = by_k.covariance()
    np.testing.assert_allclose(
        np.diag(k_cov), [r[f"kommune_var_{k}"] for k in ("k1", "k2", "k3", "k4")], rtol=RTOL
    )
    assert k_cov[0, 2] == 0.0  # disjoint strata
    z = np.zeros((len(by_k.y), 4))
    z[np.arange(len(by_k.y)), by_k.domain] = by_k.influence
    np.testing.assert_allclose(k_cov, by_k.stratified_covariance(z), rtol=1e-9, atol=1e-18)


# -------------------------------------------------------------------- two groups: Newcombe


# Newcombe (1998b), Table II, method 10 (hybrid score), 95 % limits for the difference, for his
# examples (a), (b), (e)-(h); statsmodels' confint_proportions_2indep(method="newcomb") agrees.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_hybrid_reproduces_table_ii(counts, published) -> None:
    """With plain Wilson limits the hybrid interval equals Newcombe's Table II (4 decimals)."""
    x1, n1, x2, n2 = counts
    lo1, hi1 = proportion_ci(x1, n1, method="wilson")
    lo2, hi2 = proportion_ci(x2, n2, method="wilson")
    low, high = _newcombe_hybrid(x1 / n1, lo1, hi1, x2 / n2, lo2, hi2)
    assert low == pytest.approx(published[0], abs=5e-5)
    assert high == pytest.approx(published[1], abs=5e-5)


@pytest.mark.parametrize(
    "counts", [(56, 70, 48, 80), (6, 7, 2, 7), (5, 56, 0, 29), (7, 34, 1, 34), (3, 40, 11, 45)]
)
def test_newcombe_hybrid_matches_statsmodels(counts) -> None:
    """With plain Wilson limits the hybrid interval equals statsmodels' 'newcomb' to 1e-10."""
    x1, n1, x2, n2 = counts
    lo1, hi1 = proportion_ci(x1, n1, method="wilson")
    lo2, hi2 = proportion_ci(x2, n2, method="wilson")
    low, high = _newcombe_hybrid(x1 / n1, lo1, hi1, x2 / n2, lo2, hi2)
    expected = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb")
    assert (low, high) == pytest.approx(tuple(expected), abs=1e-10)


def test_disjoint_strata_use_newcombe_on_design_wilson(data, r) -> None:
    """Disjoint strata: auto picks Newcombe built on the design-adjusted Wilson limits."""
    res = compare_proportions(data, "y", "stratum", "N", "kommune", groups=("k1", "k3"))
    assert res.method == "newcombe"
    assert res.covariance == 0.0
    assert res.estimate_first == pytest.approx(r["kommune_est_k1"], rel=RTOL)
    assert res.estimate_second == pytest.approx(r["kommune_est_k3"], rel=RTOL)
    # the reported single-domain intervals are Korn-Graubard, as R's svyciprop(method="beta")
    assert res.ci_low_first == pytest.approx(r["kommune_kg_low_k1"], rel=RTOL)
    assert res.ci_high_first == pytest.approx(r["kommune_kg_high_k1"], rel=RTOL)
    assert res.ci_low_second == pytest.approx(r["kommune_kg_low_k3"], rel=RTOL)
    assert res.ci_high_second == pytest.approx(r["kommune_kg_high_k3"], rel=RTOL)
    assert res.se_difference**2 == pytest.approx(
        r["kommune_var_k1"] + r["kommune_var_k3"], rel=RTOL
    )
    wilson = estimate_proportions(data, "y", "stratum", "N", by="kommune", method="wilson")
    w = wilson.set_index("kommune")
    low, high = _newcombe_hybrid(
        res.estimate_first, w.loc["k1", "ci_low"], w.loc["k1", "ci_high"],
        res.estimate_second, w.loc["k3", "ci_low"], w.loc["k3", "ci_high"],
    )  # fmt: skip
    assert (res.ci_low_difference, res.ci_high_difference) == pytest.approx((low, high), abs=1e-14)
    assert res.ci_low_difference < res.difference < res.ci_high_difference


def test_newcombe_refused_for_overlapping_strata(data) -> None:
    """method='newcombe' on domains sharing strata is refused (they are not independent)."""
    with pytest.raises(EstimationError, match="disjoint strata"):
        compare_proportions(
            data, "y", "stratum", "N", "origin", groups=("dansk", "vestlig"), method="newcombe"
        )


def test_zero_events_in_both_groups_stays_honest() -> None:
    """No events in either group: difference 0 with a non-degenerate interval; the ratio is
    0/0 (NaN) but its interval is [0, +inf], never NaN."""
    frame = pd.DataFrame(
        {
            "stratum": ["a"] * 6 + ["b"] * 6,
            "N": [40] * 6 + [60] * 6,
            "g": ["x", "y"] * 6,
            "y": [0.0] * 12,
        }
    )
    res = compare_proportions(frame, "y", "stratum", "N", "g")
    assert res.difference == 0.0
    assert res.method.startswith("newcombe")
    assert res.ci_low_difference < 0.0 < res.ci_high_difference
    assert np.isnan(res.ratio) and np.isnan(res.p_value)
    assert res.ci_low_ratio == 0.0 and res.ci_high_ratio == np.inf


def test_census_groups_have_exact_difference() -> None:
    """Two fully enumerated groups: the difference is known, interval of width zero, p 0."""
    frame = pd.DataFrame(
        {"stratum": ["a"] * 4 + ["b"] * 4, "N": [4] * 4 + [4] * 4,
         "g": ["x"] * 4 + ["y"] * 4, "y": [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]}
    )  # fmt: skip
    res = compare_proportions(frame, "y", "stratum", "N", "g")
    assert res.difference == pytest.approx(-0.25)
    assert res.ci_low_difference == res.ci_high_difference == pytest.approx(-0.25)
    assert res.p_value == 0.0


def test_index_and_outcome_type_do_not_matter(data) -> None:
    """A duplicated index and a True/False/None outcome give the same results as 0/1/NaN."""
    base = compare_proportions(data, "y", "stratum", "N", "origin", groups=("vestlig", "dansk"))
    odd = data.copy()
    odd.index = [7] * len(odd)
    odd["y"] = [None if pd.isna(v) else bool(v) for v in odd["y"]]
    res = compare_proportions(odd, "y", "stratum", "N", "origin", groups=("vestlig", "dansk"))
    assert res.difference == pytest.approx(base.difference, abs=1e-15)
    assert res.se_difference == pytest.approx(base.se_difference, abs=1e-15)
    rs = rao_scott_test(odd, "y", "stratum", "N", "origin")
    assert rs.statistic == pytest.approx(
        rao_scott_test(data, "y", "stratum", "N", "origin").statistic, rel=1e-12
    )


def test_strata_as_several_columns(data) -> None:
    """Strata given as two columns (kommune, cell) give the same results as the combined key."""
    split = data.assign(cell=data["stratum"].str.split("|").str[1])
    one = compare_proportions(data, "y", "stratum", "N", "origin", groups=("vestlig", "dansk"))
    two = compare_proportions(
        split, "y", ["kommune", "cell"], "N", "origin", groups=("vestlig", "dansk")
    )
    assert two.se_difference == pytest.approx(one.se_difference, rel=1e-12)
    assert two.covariance == pytest.approx(one.covariance, rel=1e-12)
    rs = rao_scott_test(split, "y", ["kommune", "cell"], "N", "origin")
    assert rs.p_value == pytest.approx(
        rao_scott_test(data, "y", "stratum", "N", "origin").p_value, rel=1e-12
    )


def test_two_level_domain_needs_no_groups(data) -> None:
    """A domain column with exactly two values is compared in sorted order without groups=."""
    two = data[data["origin"] != "vestlig"]
    res = compare_proportions(two, "y", "stratum", "N", "origin")
    assert (res.first, res.second) == ("dansk", "ikke_vestlig")


def test_result_is_frozen_and_tidy(data) -> None:
    """The result is frozen; to_frame gives one row with every field."""
    res = compare_proportions(data, "y", "stratum", "N", "kommune", groups=("k1", "k3"))
    assert isinstance(res, GroupComparison)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.difference = 0.0  # type: ignore[misc]
    frame = res.to_frame()
    assert len(frame) == 1
    assert {"difference", "ci_low_difference", "ratio", "p_value", "method"} <= set(frame)
    assert "<table" in res._repr_html_()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "region"}, "by must name"),
        ({"groups": None}, r"groups=\(a, b\) in Python, --groups A,B on the command line"),
        ({"groups": ("dansk",)}, "pair"),
        ({"groups": "dansk"}, "pair"),
        ({"groups": ("dansk", "dansk")}, "two different"),
        ({"groups": ("dansk", "svensk")}, "'svensk'"),
        ({"method": "wald"}, "method must be"),
        ({"confidence_level": 95}, "confidence_level"),
        ({"interval_method": "bootstrap"}, "method must be"),
        ({"outcome": "nope"}, "nope"),
    ],
)
def test_compare_refusals(data, kwargs, match) -> None:
    """Bad input raises EstimationError naming the argument, value and what was expected."""
    args = {"outcome": "y", "by": "origin", "groups": ("dansk", "vestlig"), **kwargs}
    with pytest.raises(EstimationError, match=match):
        compare_proportions(data, strata="stratum", population_size="N", **args)


def test_compare_accepts_lonely_stratum(data) -> None:
    """A one-case sampled stratum is left to estimate_proportions' variance rule: finite result."""
    lonely = keep_one_case(data, "k2|c2")
    res = compare_proportions(lonely, "y", "stratum", "N", "origin", groups=("dansk", "vestlig"))
    assert np.isfinite([res.se_difference, res.ci_low_difference, res.ci_high_difference]).all()
    assert res.ci_low_difference < res.difference < res.ci_high_difference


def test_compare_refuses_non_frame() -> None:
    """data must be a DataFrame."""
    with pytest.raises(EstimationError, match="DataFrame"):
        compare_proportions({}, "y", "s", "N", "g")  # type: ignore[arg-type]


# ------------------------------------------------------------------------- properties


@settings(max_examples=scaled(60), deadline=None)
@given(data=stratified_samples())
def test_difference_interval_contains_difference(data: pd.DataFrame) -> None:
    """Any sample: -1 <= low <= difference <= high <= 1, never NaN; ratio limits bracket ratio."""
    present = set(data.loc[data["y"].notna(), "dom"])
    assume({"a", "b"} <= present)
    res = compare_proportions(data, "y", "stratum", "N", "dom", groups=("a", "b"))
    assert np.isfinite([res.difference, res.ci_low_difference, res.ci_high_difference]).all()
    assert -1.0 <= res.ci_low_difference <= res.difference + 1e-12
    assert res.difference - 1e-12 <= res.ci_high_difference <= 1.0
    assert np.isnan(res.p_value) or 0.0 <= res.p_value <= 1.0
    assert not np.isnan([res.ci_low_ratio, res.ci_high_ratio]).any()
    assert 0.0 <= res.ci_low_ratio <= res.ci_high_ratio
    if np.isfinite(res.ratio):
        assert res.ci_low_ratio <= res.ratio * (1 + 1e-12)
        assert res.ratio * (1 - 1e-12) <= res.ci_high_ratio


@settings(max_examples=scaled(50), deadline=None)
@given(data=stratified_samples())
def test_rao_scott_p_value_is_a_probability(data: pd.DataFrame) -> None:
    """Any sample the test accepts gives a p-value in [0, 1]; a table without variance (Δ with
    no trace) is refused, not a NaN."""
    kept = data[data["y"].notna()]
    assume(kept["dom"].nunique() >= 2 and kept["y"].nunique() == 2)
    try:
        res = rao_scott_test(data, "y", "stratum", "N", "dom")
    except EstimationError as exc:  # only variance-free tables are refused
        assert "no sampling error" in str(exc) or "no variance" in str(exc)
        return
    assert 0.0 <= res.p_value <= 1.0


# ------------------------------------------------------------------------- review fixes


def _shared_strata_no_events_in_first() -> pd.DataFrame:
    """Women (A) 0 of 8, men (B) 4 of 8, in two shared sampled strata."""
    return pd.DataFrame(
        {"stratum": ["a"] * 8 + ["b"] * 8, "N": [30] * 8 + [40] * 8, "g": ["A", "B"] * 8,
         "y": [0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]}
    )  # fmt: skip


def test_a_group_without_variance_in_shared_strata_gets_newcombe() -> None:
    """0 of 8 in A: its variance and covariance are 0, so d ± t·se would take no uncertainty
    from A. The Newcombe interval on both groups' design-adjusted Wilson limits is used."""
    frame = _shared_strata_no_events_in_first()
    res = compare_proportions(frame, "y", "stratum", "N", "g")
    assert res.se_first == 0.0 and res.covariance == 0.0
    assert res.method == "newcombe (se of a group is 0)"
    wil = estimate_proportions(frame, "y", "stratum", "N", by="g", method="wilson").set_index("g")
    low, high = _newcombe_hybrid(
        0.0, wil.loc["A", "ci_low"], wil.loc["A", "ci_high"],
        0.5, wil.loc["B", "ci_low"], wil.loc["B", "ci_high"],
    )  # fmt: skip
    assert (res.ci_low_difference, res.ci_high_difference) == pytest.approx((low, high), abs=1e-14)
    # wider on the side A's uncertainty reaches than the Wald interval on B's se alone
    wald_high = res.difference + stats.t.isf(0.025, res.df) * res.se_difference
    assert res.ci_high_difference > wald_high
    assert res.ci_low_ratio == 0.0 and str(res.ci_low_ratio) == "0.0"  # not -0.0


@pytest.mark.parametrize("groups", [{"A", "B"}, "AB", ("A", "B", "C"), ("A",)])
def test_groups_must_be_an_ordered_pair(groups) -> None:
    """A set has no first and second; a string or a triple is not a pair."""
    with pytest.raises(EstimationError, match="ordered pair"):
        compare_proportions(_shared_strata_no_events_in_first(), "y", "stratum", "N", "g",
                            groups=groups)  # fmt: skip


def test_groups_as_a_list_or_array_are_accepted() -> None:
    """Any ordered pair works, in its order."""
    frame = _shared_strata_no_events_in_first()
    for groups in (["B", "A"], np.array(["B", "A"], dtype=object)):
        res = compare_proportions(frame, "y", "stratum", "N", "g", groups=groups)
        assert (res.first, res.second) == ("B", "A")


def test_rao_scott_refuses_a_census_instead_of_nan() -> None:
    """Every stratum a census: no sampling error, so a clear error rather than F = NaN."""
    frame = _shared_strata_no_events_in_first().assign(N=8)
    for statistic in ("F", "Chisq"):
        with pytest.raises(EstimationError, match="every stratum is a census"):
            rao_scott_test(frame, "y", "stratum", "N", "g", statistic=statistic)


def test_rao_scott_with_a_group_without_events_matches_r() -> None:
    """Group C has no events (zero cells): R svychisq gives F = 5.7851 on 2, 28 df,
    p = 0.00789; Chisq p = 0.003073 (survey 4.1.1, computed for this review)."""
    frame = _shared_strata_no_events_in_first().assign(g=["A", "B", "C", "C"] * 4)
    frame["y"] = np.where(frame["g"] == "C", 0, frame["y"])
    f = rao_scott_test(frame, "y", "stratum", "N", "g")
    assert (f.statistic, f.p_value) == (pytest.approx(5.7851, abs=5e-5),
                                        pytest.approx(0.00789, abs=5e-6))  # fmt: skip
    assert (f.df, f.df_denominator) == (pytest.approx(2, abs=1e-4), pytest.approx(28, abs=1e-3))
    chisq = rao_scott_test(frame, "y", "stratum", "N", "g", statistic="Chisq")
    assert chisq.pearson == pytest.approx(10.435, abs=5e-4)
    assert chisq.p_value == pytest.approx(0.003073, abs=5e-7)


def test_old_argument_names_domain_and_group_still_work_with_a_warning(data) -> None:
    """compare_proportions(domain=) and rao_scott_test(group=) are deprecated names of by=."""
    new = compare_proportions(data, "y", "stratum", "N", by="origin", groups=("dansk", "vestlig"))
    with pytest.warns(DeprecationWarning, match="'domain' is deprecated; use 'by'"):
        old = compare_proportions(
            data, "y", "stratum", "N", domain="origin", groups=("dansk", "vestlig")
        )
    assert old == new
    with pytest.warns(DeprecationWarning, match="'group' is deprecated; use 'by'"):
        old_test = rao_scott_test(data, "y", group="origin", strata="stratum", population_size="N")
    assert old_test == rao_scott_test(data, "y", "stratum", "N", "origin")
    with pytest.raises(TypeError, match="not both"):
        rao_scott_test(data, "y", "stratum", "N", "origin", group="origin")


def test_compare_builds_the_design_once(data, monkeypatch) -> None:
    """compare_proportions codes and checks the data once (it built it three times)."""
    from stikprove.estimation import design_coding

    calls = []
    original = design_coding.code_domains
    monkeypatch.setattr(
        design_coding, "code_domains", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    compare_proportions(data, "y", "stratum", "N", by="origin", groups=("dansk", "vestlig"))
    assert len(calls) == 1


def test_comparison_bounds_are_named_as_in_every_table(data) -> None:
    """ci_low_<what>/ci_high_<what>; the old names still read, with a DeprecationWarning."""
    res = compare_proportions(data, "y", "stratum", "N", by="origin", groups=("dansk", "vestlig"))
    frame = res.to_frame()
    assert {"ci_low_difference", "ci_high_difference", "ci_low_ratio", "ci_high_ratio"} <= set(
        frame
    )
    assert not [c for c in frame if c.endswith(("_low", "_high"))]
    for old, new in [("difference_low", "ci_low_difference"), ("ratio_high", "ci_high_ratio")]:
        with pytest.warns(DeprecationWarning, match=f"GroupComparison.{old} is deprecated"):
            assert getattr(res, old) == getattr(res, new)
