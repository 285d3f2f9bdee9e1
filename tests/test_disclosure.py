"""Disclosure control: small counts with complementary suppression, and the NCHS standard."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.errors import StikproveError
from stikprove.estimation import estimate_proportions
from stikprove.release.disclosure import (
    DisclosureError,
    check_threshold,
    complementary_suppression,
    disclose_comparison,
    disclose_counts,
    disclose_estimates,
    nchs_presentation,
    primary_suppression,
)
from strategies import scaled

REFERENCE = Path(__file__).parent / "reference"

# Decision rules of the NCHS Data Presentation Standards for Proportions (Parker et al. 2017)
# as surveytable's .lpe_percents applies them (R/z_lpe.R), on the Korn-Graubard interval with
# the design effect floored at 1 (svyciprop_adjusted(adj = "nchs")). Values derived by hand:
# n_eff = min(n, n/deff * (t_{n-1}/t_df)^2) at the 97.5 % t quantiles, the interval
# Beta(.025; x, n_eff - x + 1) .. Beta(.975; x + 1, n_eff - x) at x = p * n_eff.
# Each case: (p, n, df, deff, n_eff, presented, codes)
NCHS_CASES = [
    # deff 4 with n = df + 1: n_eff = 100/4 = 25 < 30: suppressed although n = 100
    (0.5, 100, 99, 4.0, 25.0, False, "nchs_n_eff"),
    # n = 20 < 30 (n_eff capped at n although deff = 0.1 gives 200): suppressed
    (0.5, 20, 19, 0.1, 20.0, False, "nchs_n_eff"),
    # n_eff = 5000, interval 1.6-2.4 %: width <= 0.05, presented
    (0.02, 5000, 4999, 1.0, 5000.0, True, ""),
    # n_eff = 40 at p = 0.5: interval 33.8-66.2 %, width 0.32 >= 0.30: suppressed
    (0.5, 40, 39, 1.0, 40.0, False, "nchs_width"),
    # n_eff = 300 at p = 0.1: 6.9-14.0 %, width 0.071, relative 0.71: presented
    (0.1, 300, 299, 1.0, 300.0, True, ""),
    # n_eff = 40 at p = 0.15 (N = 60, n = 40, 6 events, issue 17): width 0.241,
    # relative 1.61 > 1.30: suppressed
    (0.15, 40, 39, 40 / 117, 40.0, False, "nchs_relative_width"),
    # p = 0.9 with n_eff = 60: 79.5-96.2 %, width 0.167 (relative 0.19; complement 1.67):
    # presented, flagged for the complement
    (0.9, 60, 59, 1.0, 60.0, True, "nchs_complement"),
    # df = 5 < 8: n0 = 400/0.2 = 2000, (t(399)/t(5))^2 = 0.5848, n_eff = min(400, 1169.6):
    # presented, flagged for review
    (0.5, 400, 5, 0.2, 400.0, True, "nchs_df"),
    # p = 0 with n_eff = n = 60 >= 30: presented, flagged (0 % or 100 %)
    (0.0, 60, 59, np.nan, 60.0, True, "nchs_zero"),
    # p = 1 the same
    (1.0, 60, 59, np.nan, 60.0, True, "nchs_zero"),
    # p = 0 with n = 12: suppressed for the sample size
    (0.0, 12, 11, np.nan, 12.0, False, "nchs_n_eff"),
    # df = 0 (as many strata as cases): rat.squ = 0, n_eff = 0, interval [0, 1]
    (0.5, 5, 0, 1.0, 0.0, False, "nchs_n_eff"),
    # no sampling error (deff 0, census): n_eff = n = 45, interval [p, p]: presented
    (0.2, 45, 44, 0.0, 45.0, True, ""),
]


@pytest.mark.parametrize(("p", "n", "df", "deff", "n_eff", "presented", "codes"), NCHS_CASES)
def test_nchs_standard_follows_the_decision_rules(p, n, df, deff, n_eff, presented, codes):
    """Each decision rule of the standard, as surveytable applies it, on a case derived by
    hand (values in the comments above)."""
    result = nchs_presentation([p], [np.nan], [n], [df], deff=[deff]).iloc[0]
    assert result["n_eff"] == pytest.approx(n_eff, rel=1e-4)
    assert bool(result["present"]) is presented
    assert result["nchs"] == codes


def test_nchs_effective_sample_size_is_capped_at_n_after_the_df_factor():
    """surveytable caps n_eff at n after multiplying by (t_{n-1}/t_df)^2: with deff 0.01 and
    df = 27 of n = 30 the effective n is 30, not 30 * (t(29)/t(27))^2 = 29.87 (SAS's order)."""
    result = nchs_presentation([0.4], [np.nan], [30], [27], deff=[0.01])
    assert result["n_eff"].iloc[0] == 30


def test_nchs_effective_n_comes_from_se_without_deff():
    """Without deff the design effect is n se^2/(p(1-p)), surveytable's p(1-p)/SE^2."""
    se = np.sqrt((1 - 40 / 60) * 0.15 * 0.85 / 39)
    from_se = nchs_presentation([0.15], [se], [40], [39])
    from_deff = nchs_presentation([0.15], [0.5], [40], [39], deff=[40 / 117])
    pd.testing.assert_frame_equal(from_se, from_deff)


def test_nchs_inputs_of_different_lengths_are_refused():
    """One value per domain in every argument, or a DisclosureError naming the lengths."""
    with pytest.raises(DisclosureError, match=r"one value per domain.*\[1, 2\]"):
        nchs_presentation([0.1, 0.2], [0.01, 0.01], [100, 100], [99])


def _surveytable_flags(codes: str) -> str:
    """Our codes as surveytable's footnote flags (Px for any of the suppressing reasons)."""
    names = set(filter(None, codes.split(",")))
    flags = ["Px"] if names & {"nchs_n_eff", "nchs_width", "nchs_relative_width"} else []
    flags += [f for code, f in (("nchs_complement", "Pc"), ("nchs_df", "Pdf"),
                                ("nchs_zero", "P0")) if code in names]  # fmt: skip
    return " ".join(flags)


def test_nchs_verdict_matches_surveytable():
    """Against CDC's surveytable 0.10.0 (its own R code: svyciprop_adjusted(adj = "nchs"),
    tab() and .lpe_percents, tests/reference/nchs_surveytable.R; R 4.2.2, survey 4.1.1):
    every domain's effective n and limits within 1e-9, and the same flags. The estimates and
    design effects come from estimate_proportions (R-identical variance)."""
    data = pd.read_csv(REFERENCE / "nchs_surveytable_data.csv")
    expected = pd.read_csv(REFERENCE / "nchs_surveytable_R.csv", keep_default_na=False)
    for level, rows in expected.groupby("confidence_level"):
        parts = []
        for column in ("dom", "sdom"):
            table = estimate_proportions(data, "y", "stratum", "N", by=column,
                                         confidence_level=level,
                                         method="korn-graubard")  # fmt: skip
            base = table[column].isin(data.loc[data["stratum"].str.match(r"s\d"), column])
            table["domain"] = np.where(base, column + ":" + table[column].astype(str),
                                       table[column].astype(str))  # fmt: skip
            parts.append(table.drop(columns=column))
        ours = pd.concat(parts).drop_duplicates("domain").set_index("domain").loc[rows["domain"]]
        verdict = nchs_presentation(ours["estimate"], ours["se"], ours["n"], ours["df"],
                                    confidence_level=level)  # fmt: skip
        np.testing.assert_allclose(verdict["n_eff"], rows["n_eff"], rtol=1e-9)
        inside = ((rows["estimate"] > 1e-9) & (rows["estimate"] < 1 - 1e-9)).to_numpy()
        np.testing.assert_allclose(verdict["nchs_low"][inside], rows["ll"][inside], atol=1e-9)
        np.testing.assert_allclose(verdict["nchs_high"][inside], rows["ul"][inside], atol=1e-9)
        assert [_surveytable_flags(c) for c in verdict["nchs"]] == [
            " ".join(f.split()) for f in rows["flags"]]  # fmt: skip


def test_the_issue_stratum_is_judged_on_the_floored_interval():
    """Issue 17: a stratum with N = 60, n = 40 and 6 events. R's Korn-Graubard interval
    (unfloored, n_eff 117) has relative width 0.91; the standard's (n_eff capped at 40)
    1.61, so the percentage is suppressed, under every interval method of the table."""
    data = pd.DataFrame({"stratum": "h", "N": 60, "y": [1] * 6 + [0] * 34})
    table = estimate_proportions(data, "y", "stratum", "N", method="korn-graubard")
    unfloored = (table["ci_high"] - table["ci_low"]).iloc[0] / 0.15
    assert unfloored == pytest.approx(0.9139, abs=1e-4)
    verdict = nchs_presentation(table["estimate"], table["se"], table["n"], table["df"]).iloc[0]
    assert verdict["relative_width"] == pytest.approx(1.6083, abs=1e-4)
    assert verdict["nchs"] == "nchs_relative_width" and not verdict["present"]


def test_primary_suppression_hides_one_to_threshold_minus_one_not_zero():
    """Counts 1..4 are suppressed at threshold 5; 0 and 5 are shown."""
    assert primary_suppression(np.arange(7), 5).tolist() == [False, True, True, True, True,
                                                            False, False]  # fmt: skip


def test_complementary_suppression_hides_the_smallest_other_nonzero_cell():
    """One hidden cell in a group with a published total: the smallest non-zero other cell
    is hidden too (zeros are never chosen), so the hidden count cannot be subtracted out."""
    hidden = complementary_suppression(np.array([2, 0, 30, 9]), np.array([1, 0, 0, 0], bool),
                                       [[0, 1, 2, 3]])  # fmt: skip
    assert hidden.tolist() == [True, False, False, True]


@st.composite
def cross_tables(draw):
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 4))
    cells = draw(st.lists(st.integers(0, 40), min_size=rows * cols, max_size=rows * cols))
    threshold = draw(st.integers(2, 10))
    table = pd.DataFrame({"sex": np.repeat([f"s{i}" for i in range(rows)], cols),
                          "origin": [f"o{j}" for j in range(cols)] * rows, "n": cells})  # fmt: skip
    return table, threshold


@settings(max_examples=scaled(60), deadline=None)
@given(cross_tables())
def test_no_small_count_can_be_recovered_from_the_margins(case):
    """After disclose_counts on a cross-table: no count from 1 to threshold - 1 is shown, and
    no row or column (whose total is published) has exactly one hidden cell unless its
    other cells are all zero."""
    table, threshold = case
    out = disclose_counts(table, ["n"], ["sex", "origin"], threshold)
    shown = out["n"].dropna().astype(int)
    assert not shown.between(1, threshold - 1).any()
    hidden = out["n"].isna()
    for column in ("sex", "origin"):
        for _, group in out.assign(hidden=hidden, raw=table["n"]).groupby(column):
            if group["hidden"].sum() == 1:
                others = group.loc[~group["hidden"], "raw"]
                assert (others == 0).all()


def test_disclose_estimates_hides_small_groups_with_their_percentages():
    """A group with n = 3 loses its n, estimate and interval; its complement in the margin
    is hidden too; the others keep their numbers."""
    table = pd.DataFrame({"sex": ["kvinde", "mand", "x"], "n": [3, 40, 60],
                          "estimate": [0.3, 0.2, 0.5], "se": [0.1, 0.02, 0.02],
                          "df": [2, 39, 59], "ci_low": [0.0, 0.17, 0.46],
                          "ci_high": [0.9, 0.24, 0.54], "n_eff": [3.0, 400.0, 600.0],
                          "deff": [1.0, 0.1, 0.1]})  # fmt: skip
    out = disclose_estimates(table, ["sex"], 5)
    assert out["disclosure"].tolist() == ["small", "complementary", ""]
    assert out.loc[:1, ["n", "estimate", "ci_low", "ci_high"]].isna().all().all()
    assert out.loc[2, "estimate"] == 0.5


@pytest.mark.parametrize("estimate", [0.02, 0.98])
def test_disclose_estimates_hides_a_percentage_that_implies_a_small_count(estimate):
    """2 % (or 98 %) of n = 200 in one stratum is 4 cases with (or without) the outcome: the
    NCHS standard presents it (interval under 5 points wide), but the count it implies is
    under the threshold, so the row is suppressed like a small n, with its complement."""
    table = pd.DataFrame({"sex": ["kvinde", "mand", "x"], "n": [200, 40, 60],
                          "estimate": [estimate, 0.75, 0.5], "se": [0.0094, 0.02, 0.02],
                          "df": [199, 39, 59], "ci_low": [0.006, 0.17, 0.46],
                          "ci_high": [0.048, 0.24, 0.54], "n_eff": [221.0, 400.0, 600.0],
                          "deff": [0.9, 0.1, 0.1]})  # fmt: skip
    if estimate > 0.5:
        table.loc[0, ["ci_low", "ci_high"]] = [0.952, 0.994]
    out = disclose_estimates(table, ["sex"], 5)
    assert out["disclosure"].tolist() == ["small", "complementary", ""]
    assert out.loc[0, ["n", "estimate", "ci_low", "ci_high"]].isna().all()
    assert out.loc[2, "estimate"] == 0.5
    assert list(out.columns) == [*table.columns, "disclosure"]
    # 5 cases (2.5 % of 200) is at the threshold: shown
    shown = disclose_estimates(table.assign(estimate=[0.025, 0.75, 0.5]), ["sex"], 5)
    assert shown["disclosure"].tolist() == ["", "", ""]
    # a percentage the NCHS rule hides anyway discloses no count: its n stays
    unreliable = table.copy()
    unreliable.loc[0, ["n", "estimate", "se", "ci_low", "ci_high"]] = [11, 0.14, 0.156, 0.0, 0.72]
    kept = disclose_estimates(unreliable, ["sex"], 5)
    assert kept["disclosure"].tolist() == ["nchs_n_eff", "", ""]
    assert kept.loc[0, "n"] == 11 and pd.isna(kept.loc[0, "estimate"])


def test_disclose_comparison_hides_a_comparison_of_a_small_group():
    """A difference between groups of 4 and 50 cases is not shown."""
    row = pd.DataFrame([{"first": "a", "second": "b", "n_first": 4, "n_second": 50,
                         "difference": 0.2, "p_value": 0.01, "method": "newcombe"}])  # fmt: skip
    out = disclose_comparison(row, 5).iloc[0]
    assert pd.isna(out["difference"]) and pd.isna(out["n_first"]) and out["first"] == "a"
    assert out["disclosure"] == "small"


@pytest.mark.parametrize(("estimate_first", "hidden"), [(0.05, True), (0.95, True), (0.3, False)])
def test_disclose_comparison_hides_a_group_whose_percentage_implies_a_small_count(
    estimate_first, hidden
):
    """5 % (or 95 %) of 40 cases shows 2 cases with (without) the outcome: the comparison
    is hidden as an estimates table hides that row; 30 % of 40 (12 and 28) is shown."""
    row = pd.DataFrame([{"first": "a", "second": "b", "n_first": 40, "n_second": 50,
                         "estimate_first": estimate_first, "estimate_second": 0.5,
                         "difference": estimate_first - 0.5, "method": "newcombe"}])  # fmt: skip
    out = disclose_comparison(row, 5).iloc[0]
    assert pd.isna(out["difference"]) is hidden and pd.isna(out["estimate_first"]) is hidden
    assert out["disclosure"] == ("small" if hidden else "")


@pytest.mark.parametrize("threshold", [0, -1, 2.5, True, "5"])
def test_threshold_must_be_a_whole_number_of_at_least_one(threshold):
    """A threshold that is not a whole number ≥ 1 is refused, naming the value."""
    with pytest.raises(DisclosureError, match="whole number") as error:
        check_threshold(threshold)
    assert isinstance(error.value, StikproveError)


def test_missing_columns_are_refused_with_the_columns_listed():
    """disclose_counts names the missing column and lists the table's columns."""
    with pytest.raises(DisclosureError, match=r"\['size'\].*columns are \['n'\]"):
        disclose_counts(pd.DataFrame({"n": [3]}), ["size"])
    with pytest.raises(DisclosureError, match="needs the column 'n'"):
        disclose_estimates(pd.DataFrame({"count": [3]}))


def test_nchs_verdict_does_not_depend_on_the_interval_shown():
    """The verdict is the standard's on its own interval (from estimate, deff, n and df): a
    table showing a narrow interval and one showing a wide one get the same verdict, and the
    table's n_eff becomes the one judged."""
    table = pd.DataFrame({"g": ["a"], "n": [40], "estimate": [0.5], "se": [0.08], "df": [39],
                          "ci_low": [0.45], "ci_high": [0.55], "n_eff": [40.0],
                          "deff": [1.0]})  # fmt: skip
    narrow = disclose_estimates(table, ["g"])
    wide = disclose_estimates(table.assign(ci_low=0.2, ci_high=0.8), ["g"])
    assert narrow["disclosure"].iloc[0] == wide["disclosure"].iloc[0] == "nchs_width"
    lower_deff = disclose_estimates(table.assign(deff=0.2, n=400, df=399), ["g"])
    assert lower_deff["disclosure"].iloc[0] == ""
    assert lower_deff["n_eff"].iloc[0] == 400


