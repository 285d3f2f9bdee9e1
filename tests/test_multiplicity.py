"""Tests for stikprove.estimation.multiplicity (tests against the national rate, funnel limits)."""

from __future__ import annotations

from fractions import Fraction
from functools import partial
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from stikprove.errors import EstimationError
from stikprove.estimation.domains import domain_linearization
from stikprove.estimation.domains import estimate_proportions as _estimate_proportions
from stikprove.estimation.multiplicity import flag_differences, funnel_flags, funnel_limits
from strategies import scaled

# Benjamini & Hochberg (1995), section 4: the 15 p-values of their example; at q = 0.05 the
# step-up procedure rejects the four smallest. Adjusted values from R 4:
#   > p.adjust(p, "BH")
#    [1] 0.0015000000000000 0.0030000000000000 0.0095000000000000 0.0356250000000000
#    [5] 0.0603000000000000 0.0638571428571429 0.0638571428571429 0.0645000000000000
#    [9] 0.0765000000000000 0.4860000000000000 0.5811818181818181 0.7148749999999999
#   [13] 0.7532307692307693 0.8132142857142857 1.0000000000000000
BH_P = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
        0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]  # fmt: skip
BH_R = [0.0015, 0.0030, 0.0095, 0.035625, 0.0603, 0.0638571428571429, 0.0638571428571429,
        0.0645, 0.0765, 0.486, 0.5811818181818181, 0.7148749999999999, 0.7532307692307693,
        0.8132142857142857, 1.0]  # fmt: skip

# R survey's Korn-Graubard, against which these tests check (the default is pooled-hypergeometric).
estimate_proportions = partial(_estimate_proportions, method="korn-graubard")


def frame_with_p_values(p: list[float]) -> pd.DataFrame:
    """Estimates whose two-sided z-test p-values against 0.5 are exactly p (df infinite)."""
    from scipy import stats

    z = stats.norm.isf(np.asarray(p) / 2)
    return pd.DataFrame({"estimate": 0.5 + 0.01 * z, "se": 0.01, "df": np.inf})


def test_bh_example_matches_r_p_adjust() -> None:
    """Benjamini-Hochberg adjusted p-values of the 1995 paper's example equal R's p.adjust."""
    out = flag_differences(frame_with_p_values(BH_P), 0.5)
    np.testing.assert_allclose(out["p_value"], BH_P, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["p_adjusted"], BH_R, rtol=1e-9)
    assert out["flagged"].tolist() == [True] * 4 + [False] * 11


def test_t_test_p_values_match_r_pt() -> None:
    """Per-domain p-values equal R's 2*pt(-|t|, df) and BH equals p.adjust (R 4 output below)."""
    # > est<-c(0.10,0.30,0.05,0.12); se<-c(0.02,0.05,0.03,0.01); df<-c(200,8,15,Inf)
    # > t<-(est-0.12)/se; 2*pt(-abs(t),df)
    # [1] 0.31851884790974738 0.00698229823803436 0.03395981960815658 1.00000000000000000
    # > p.adjust(2*pt(-abs(t),df),"BH")
    # [1] 0.4246917972129965 0.0279291929521374 0.0679196392163132 1.0000000000000000
    est = pd.DataFrame(
        {
            "kommune_code": ["101", "461", "751", "851"],
            "estimate": [0.10, 0.30, 0.05, 0.12],
            "se": [0.02, 0.05, 0.03, 0.01],
            "df": [200, 8, 15, np.inf],
        }
    )
    out = flag_differences(est, 0.12)
    np.testing.assert_allclose(
        out["p_value"],
        [0.31851884790974738, 0.00698229823803436, 0.03395981960815658, 1.0],
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        out["p_adjusted"],
        [0.4246917972129965, 0.0279291929521374, 0.0679196392163132, 1.0],
        rtol=1e-10,
    )
    assert out["flagged"].tolist() == [False, True, False, False]
    assert out["kommune_code"].tolist() == est["kommune_code"].tolist()


@pytest.mark.parametrize("adjust", ["fdr_bh", "fdr_by", "holm", "bonferroni"])
def test_adjustment_equals_statsmodels(adjust: str) -> None:
    """Each adjustment equals statsmodels' multipletests on the same raw p-values."""
    out = flag_differences(frame_with_p_values(BH_P), 0.5, adjust=adjust)
    expected = multipletests(out["p_value"], alpha=0.05, method=adjust)[1]
    np.testing.assert_allclose(out["p_adjusted"], expected, rtol=1e-12)


def test_one_sided_alternatives() -> None:
    """'greater' and 'less' give the two one-sided tails, which add up to one."""
    est = pd.DataFrame({"estimate": [0.2, 0.05], "se": [0.04, 0.02], "df": [30, 30]})
    up = flag_differences(est, 0.1, alternative="greater", adjust="none")
    down = flag_differences(est, 0.1, alternative="less", adjust="none")
    np.testing.assert_allclose(up["p_value"] + down["p_value"], 1.0)
    assert up["p_value"].iloc[0] < 0.05 < down["p_value"].iloc[0]


def test_untestable_domains_left_out_of_adjustment() -> None:
    """Domains with se 0, missing se or df < 1 are not tested and do not count in the BH step."""
    est = pd.DataFrame(
        {
            "estimate": [0.30, 0.0, 0.4, 0.25, 0.30],
            "se": [0.05, 0.0, np.nan, 0.05, 0.05],
            "df": [40, 40, 40, 0, 40],
        }
    )
    out = flag_differences(est, 0.12)
    assert out["tested"].tolist() == [True, False, False, False, True]
    assert out["p_value"].isna().tolist() == [False, True, True, True, False]
    assert not out["flagged"].iloc[1:4].any()
    raw = out.loc[out["tested"], "p_value"]
    np.testing.assert_allclose(
        out.loc[out["tested"], "p_adjusted"], multipletests(raw, method="fdr_bh")[1]
    )


def test_custom_column_names() -> None:
    """Other column names for estimate, se and df are honoured."""
    est = pd.DataFrame({"p": [0.3], "s": [0.05], "d": [20]})
    out = flag_differences(est, 0.1, estimate="p", se="s", df="d")
    assert out["difference"].iloc[0] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"national_rate": 1.2}, "national_rate"),
        ({"national_rate": "tolv"}, "national_rate"),
        ({"alpha": 0}, "alpha"),
        ({"adjust": "BH"}, "adjust"),
        ({"alternative": "two.sided"}, "alternative"),
        ({"se": "std_error"}, "lacks column"),
    ],
)
def test_flag_differences_refusals(kwargs: dict, match: str) -> None:
    """Bad arguments raise EstimationError naming the argument and the value."""
    est = pd.DataFrame({"estimate": [0.2], "se": [0.05], "df": [20]})
    args = {"national_rate": 0.1, **kwargs}
    with pytest.raises(EstimationError, match=match):
        flag_differences(est, **args)


def test_flag_differences_refuses_bad_frames() -> None:
    """A non-frame, a proportion outside [0, 1] or a negative se are refused."""
    with pytest.raises(EstimationError, match="DataFrame"):
        flag_differences([0.1], 0.1)  # type: ignore[arg-type]
    with pytest.raises(EstimationError, match="proportions"):
        flag_differences(pd.DataFrame({"estimate": [1.5], "se": [0.1], "df": [3]}), 0.1)
    with pytest.raises(EstimationError, match="non-negative"):
        flag_differences(pd.DataFrame({"estimate": [0.5], "se": [-0.1], "df": [3]}), 0.1)
    with pytest.raises(EstimationError, match="numeric"):
        flag_differences(pd.DataFrame({"estimate": ["x"], "se": [0.1], "df": [3]}), 0.1)


def spiegelhalter_by_hand(n: int, theta: Fraction, p: Fraction) -> float:
    """Spiegelhalter (2005) A.1.1 in exact rational arithmetic from binomial coefficients."""
    cdf = Fraction(0)
    below = Fraction(0)
    for r in range(n + 1):
        below = cdf
        cdf += comb(n, r) * theta**r * (1 - theta) ** (n - r)
        if cdf >= p:
            alpha = (cdf - p) / (cdf - below)
            return float((r - alpha) / n)
    raise AssertionError("unreachable")


def test_exact_funnel_hand_value() -> None:
    """n = 10, theta = 1/2, 95 %: r_p = 2 and 8, limits (2 - 0.67556)/10 and (8 - 0.32444)/10."""
    # By hand: F(1) = 11/1024, F(2) = 56/1024; alpha = (56/1024 - 0.025)/(45/1024) = 0.675556
    #          F(7) = 968/1024, F(8) = 1013/1024; alpha = (1013/1024 - 0.975)/(45/1024) = 0.324444
    out = funnel_limits(0.5, [10], levels=[0.95])
    assert out["lower"].iloc[0] == pytest.approx((2 - (56 / 1024 - 0.025) / (45 / 1024)) / 10)
    assert out["upper"].iloc[0] == pytest.approx((8 - (1013 / 1024 - 0.975) / (45 / 1024)) / 10)
    assert out["lower"].iloc[0] == pytest.approx(0.1324444, abs=1e-7)


@pytest.mark.parametrize("n", [1, 7, 20, 53, 200])
@pytest.mark.parametrize("theta", [Fraction(1, 10), Fraction(23, 100)])
def test_exact_funnel_matches_rational_arithmetic(n: int, theta: Fraction) -> None:
    """Exact limits equal Spiegelhalter's formula evaluated in exact fractions (1e-12)."""
    out = funnel_limits(float(theta), [n], levels=(0.95, 0.998))
    for row in out.itertuples():
        level = Fraction(str(row.level))
        low = spiegelhalter_by_hand(n, theta, (1 - level) / 2)
        high = spiegelhalter_by_hand(n, theta, (1 + level) / 2)
        assert row.lower == pytest.approx(max(low, 0.0), abs=1e-12)
        assert row.upper == pytest.approx(min(high, 1.0), abs=1e-12)


def test_normal_funnel_hand_value() -> None:
    """Normal limits are theta +- z sqrt(theta(1-theta)/n): 0.2 +- 1.959964 * 0.04 at n = 100."""
    out = funnel_limits(0.2, [100, 6.5], levels=[0.95], method="normal").set_index("n")
    assert out.loc[100.0, "lower"] == pytest.approx(0.2 - 1.959963985 * 0.04, abs=1e-9)
    assert out.loc[100.0, "upper"] == pytest.approx(0.2 + 1.959963985 * 0.04, abs=1e-9)
    assert out.loc[6.5, "lower"] == 0.0  # clipped at 0


def test_funnel_frame_is_tidy_and_sorted() -> None:
    """One row per (n, level), sorted by n then level, with the documented columns."""
    out = funnel_limits(0.15, [50, 10, 50], levels=(0.998, 0.95))
    assert list(out.columns) == ["n", "level", "national_rate", "lower", "upper"]
    assert out["n"].tolist() == [10.0, 10.0, 50.0, 50.0]
    assert out["level"].tolist() == [0.95, 0.998, 0.95, 0.998]


@settings(max_examples=scaled(60), deadline=None)
@given(
    theta=st.floats(0.0, 1.0),
    n=st.integers(1, 2000),
    method=st.sampled_from(["exact", "normal"]),
)
def test_funnel_limits_nest_and_stay_in_unit_interval(theta: float, n: int, method: str) -> None:
    """0 <= lower(99.8) <= lower(95) <= upper(95) <= upper(99.8) <= 1."""
    out = funnel_limits(theta, [n], levels=(0.95, 0.998), method=method)
    lo95, lo998 = out["lower"]
    hi95, hi998 = out["upper"]
    assert 0.0 <= lo998 <= lo95 <= hi95 <= hi998 <= 1.0


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((-0.1, [10]), {}, "national_rate"),
        ((0.1, [0]), {}, "positive"),
        ((0.1, []), {}, "one or more"),
        ((0.1, ["ti"]), {}, "sample_sizes"),
        ((0.1, [10.5]), {}, "whole numbers"),
        ((0.1, [10]), {"levels": (0.95, 1.0)}, "levels"),
        ((0.1, [10]), {"method": "poisson"}, "method"),
    ],
)
def test_funnel_refusals(args: tuple, kwargs: dict, match: str) -> None:
    """Bad arguments raise EstimationError naming the argument and the value."""
    with pytest.raises(EstimationError, match=match):
        funnel_limits(*args, **kwargs)


# ------------------------------------------------------- the kommune is part of the nation

R_DIR = Path(__file__).parent / "fixtures" / "r"


def _comparison_data() -> pd.DataFrame:
    return pd.read_csv(R_DIR / "comparison_data.csv")


def test_design_based_test_against_the_nation_matches_r_svycontrast() -> None:
    """p_k - p_nation with their covariance equals R's svycontrast on svytotal of indicators
    (tests/fixtures/r/flag_national.R, survey 4.1.1): difference, se, t, df, p and BH p to
    1e-9 relative."""
    data = _comparison_data()
    ref = pd.read_csv(R_DIR / "flag_national_r.csv")
    table = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    design = domain_linearization(data, "y", "stratum", "N", by="kommune")
    out = flag_differences(table, design=design).set_index("kommune").loc[ref["kommune"]]
    assert out["tested"].all()
    for column in ("national_rate", "difference", "se_difference", "statistic", "p_value",
                   "p_adjusted"):  # fmt: skip
        np.testing.assert_allclose(out[column], ref[column], rtol=1e-9)
    np.testing.assert_array_equal(out["df_difference"], ref["df"])


def test_design_based_test_is_not_the_fixed_rate_test() -> None:
    """The kommune's share in the nation shrinks the contrast's variance: a large kommune's
    se is smaller than its own se (the fixed-rate test would ignore that)."""
    data = _comparison_data()
    table = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    design = domain_linearization(data, "y", "stratum", "N", by="kommune")
    joint = flag_differences(table, design=design)
    fixed = flag_differences(table, joint["national_rate"].iloc[0])
    np.testing.assert_allclose(joint["difference"], fixed["difference"], rtol=1e-12)
    largest = int(np.argmax(np.bincount(design.domain)))
    assert joint["se_difference"].iloc[largest] < fixed["se_difference"].iloc[largest]
    assert list(joint.columns) == list(fixed.columns)


def test_design_based_test_leaves_out_domains_without_variance() -> None:
    """A kommune with no events (own se 0) is not tested, though the contrast's se is > 0."""
    data = _comparison_data()
    data.loc[data["kommune"] == "k3", "y"] = data.loc[data["kommune"] == "k3", "y"] * 0
    table = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    design = domain_linearization(data, "y", "stratum", "N", by="kommune")
    out = flag_differences(table, design=design).set_index("kommune")
    assert not out.loc["k3", "tested"] and np.isnan(out.loc["k3", "p_value"])
    assert out.loc[["k1", "k2", "k4"], "tested"].all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reference": "design"}, "needs design"),
        ({"reference": "both"}, "reference must be"),
        ({"national_rate": 0.2, "design": "lin"}, "national_rate must be None"),
        ({"design": "lin", "reference": "fixed"}, "national_rate is needed"),
        ({"design": 5}, "design must be the result of domain_linearization"),
    ],
)
def test_design_reference_refusals(kwargs: dict, match: str) -> None:
    """Contradictory or missing design arguments are refused with what was expected."""
    data = _comparison_data()
    table = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    lin = domain_linearization(data, "y", "stratum", "N", by="kommune")
    if kwargs.get("design") == "lin":
        kwargs = {**kwargs, "design": lin}
    with pytest.raises(EstimationError, match=match):
        flag_differences(table, **kwargs)


def test_design_rows_must_be_domains_of_the_design() -> None:
    """A row of estimates whose domain has no case in the design is named."""
    data = _comparison_data()
    table = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    lin = domain_linearization(data[data["kommune"] != "k4"], "y", "stratum", "N", by="kommune")
    with pytest.raises(EstimationError, match="'k4'"):
        flag_differences(table, design=lin)


@pytest.mark.parametrize("method", ["exact", "normal"])
@pytest.mark.parametrize("theta", [0.0, 1.0])
def test_funnel_at_a_rate_of_zero_or_one_is_the_rate(method: str, theta: float) -> None:
    """R = n·θ with certainty: both limits are θ (the interpolation gave 0.805–0.995 at θ = 1,
    n = 5, flagging every kommune at 100 %), the same for both methods and both ends."""
    out = funnel_limits(theta, [5, 10, 400], levels=(0.95, 0.998), method=method)
    assert (out["lower"] == theta).all() and (out["upper"] == theta).all()


def test_flag_differences_refuses_a_design_with_one_domain() -> None:
    """A one-kommune design tested against its own nation would give difference 0 by
    construction: refused with the domain named."""
    data = pd.DataFrame(
        {"stratum": ["a"] * 3 + ["b"] * 3, "N": [10] * 3 + [20] * 3,
         "y": [1, 0, 0, 1, 1, 0], "kommune_code": "461"}
    )  # fmt: skip
    estimates = estimate_proportions(data, "y", "stratum", "N", by="kommune_code")
    design = domain_linearization(data, "y", "stratum", "N", by="kommune_code")
    with pytest.raises(EstimationError, match=r"single domain \(kommune_code 461\).*itself"):
        flag_differences(estimates, design=design)


# --- the funnel plot's own test -------------------------------------------------------------


def test_funnel_flags_by_hand():
    """θ = 0.3; rates 0.30, 0.12, 0.50 at n_eff 200, 150, 100: z = 0, -4.81, 4.36 (se
    √(0.21/n)), p = 1, 1.5e-6, 1.3e-5. BH at 5 %: both small ones are rejected (k* = 2), the
    limit is at level 1 - 0.05·2/3 = 0.9667."""
    f = funnel_flags([0.30, 0.12, 0.50], [200, 150, 100], 0.3)
    np.testing.assert_allclose(f.z, [0.0, -0.18 / np.sqrt(0.21 / 150), 0.2 / np.sqrt(0.21 / 100)])
    assert f.flagged.tolist() == [False, True, True]
    assert f.limit_level == pytest.approx(1 - 0.05 * 2 / 3)
    none = funnel_flags([0.30, 0.31], [200, 150], 0.3)
    assert not none.flagged.any() and none.limit_level == pytest.approx(1 - 0.05 / 2)


@given(
    rates=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40),
    theta=st.floats(0.02, 0.98),
    adjust=st.sampled_from(["fdr_bh", "bonferroni", "none"]),
    data=st.data(),
)
@settings(max_examples=scaled(80), deadline=None)
def test_funnel_flags_are_the_points_outside_the_drawn_limit(rates, theta, adjust, data):
    """For any kommuner: flagged is exactly 'outside funnel_limits at limit_level' (normal
    limits on n_eff), and the same set statsmodels' multipletests rejects."""
    sizes = data.draw(st.lists(st.floats(1.0, 5000.0), min_size=len(rates), max_size=len(rates)))
    f = funnel_flags(rates, sizes, theta, adjust=adjust)
    limits = funnel_limits(theta, sizes, levels=(f.limit_level,), method="normal").set_index("n")
    lower = np.array([limits.loc[s, "lower"] for s in sizes])
    upper = np.array([limits.loc[s, "upper"] for s in sizes])
    outside = (np.array(rates) < lower - 1e-12) | (np.array(rates) > upper + 1e-12)
    near = np.minimum(np.abs(np.array(rates) - lower), np.abs(np.array(rates) - upper)) < 1e-9
    assert (f.flagged == outside)[~near].all()
    reject = multipletests(f.p_value, alpha=0.05, method=adjust)[0] if adjust != "none" else (
        f.p_value <= 0.05)  # fmt: skip
    assert f.flagged.tolist() == list(reject)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 1.5}, r"alpha must be a number in \(0, 1\), got 1.5"),
        ({"adjust": "holm"}, r"adjust must be one of .*got 'holm'"),
        ({"national_rate": 1.2}, r"national_rate must be a proportion in \[0, 1\], got 1.2"),
        ({"n_eff": [100]}, r"one value per domain; got 2 and 1"),
    ],
)  # fmt: skip
def test_funnel_flags_refuse_bad_arguments(kwargs, message):
    """A bad alpha, adjustment, national rate or mismatched lengths are refused by name."""
    args = {"estimate": [0.2, 0.3], "n_eff": [100, 200], "national_rate": 0.25, **kwargs}
    with pytest.raises(EstimationError, match=message):
        funnel_flags(**args)


def test_funnel_flags_leave_untestable_domains_out():
    """A missing estimate or n_eff is not tested (NaN, not flagged) and not counted in m; at a
    national rate of 0 nothing is tested."""
    f = funnel_flags([0.2, np.nan, 0.9], [100, 50, np.nan], 0.25)
    assert np.isnan(f.p_value[1:]).all() and not f.flagged[1:].any()
    assert f.limit_level == pytest.approx(0.95)  # m = 1
    assert not funnel_flags([0.0, 0.1], [10, 10], 0.0).flagged.any()
