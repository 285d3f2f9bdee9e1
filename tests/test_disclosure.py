"""Disclosure control: small counts with complementary suppression, and the NCHS standard."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.errors import StikproveError
from stikprove.release.disclosure import (
    DisclosureError,
    check_threshold,
    complementary_suppression,
    disclose_comparison,
    disclose_counts,
    disclose_estimates,
    nchs_proportion_standard,
    primary_suppression,
)
from strategies import scaled

# Decision rules of the NCHS Data Presentation Standards for Proportions (Parker et al. 2017,
# Vital Health Stat 2(175), Figure 1 and the section "Standards"): suppress when the effective
# sample size is < 30, when the Korn-Graubard interval is >= 30 points wide, or when it is wider
# than 5 points and its relative width is > 130 %; present otherwise; flag for review when the
# complement's relative width is > 130 %, df < 8, or the estimate is 0 % or 100 %.
# Each case: (p, se, n, df, ci_low, ci_high, presented, codes)
NCHS_CASES = [
    # effective n = p(1-p)/se^2 = 0.25/0.01 = 25 < 30: suppressed although n = 100
    (0.5, 0.10, 100, 99, 0.30, 0.70, False, "nchs_n_eff"),
    # n = 20 < 30 (n_eff is capped at n): suppressed
    (0.5, 0.01, 20, 19, 0.45, 0.55, False, "nchs_n_eff"),
    # width 0.04 <= 0.05: presented whatever its relative width (0.04/0.02 = 200 %)
    (0.02, 0.005, 800, 700, 0.01, 0.05, True, ""),
    # width exactly 0.30: suppressed (">= 30 percentage points")
    (0.5, 0.05, 100, 99, 0.35, 0.65, False, "nchs_width"),
    # width 0.29, relative 0.29/0.5 = 58 %: presented
    (0.5, 0.05, 100, 99, 0.36, 0.65, True, ""),
    # width 0.12, relative 0.12/0.08 = 150 % > 130 %: suppressed
    (0.08, 0.02, 200, 150, 0.03, 0.15, False, "nchs_relative_width"),
    # width 0.12, relative 0.12/0.10 = 120 %: presented
    (0.10, 0.02, 225, 150, 0.05, 0.17, True, ""),
    # complement: p = 0.92, width 0.12, 0.12/0.08 = 150 % > 130 %: presented, flagged
    (0.92, 0.02, 200, 150, 0.85, 0.97, True, "nchs_complement"),
    # df = 5 < 8: presented, flagged for review
    (0.5, 0.05, 100, 5, 0.38, 0.62, True, "nchs_df"),
    # p = 0 with n_eff = n = 60 >= 30: presented, flagged (0 % or 100 %)
    (0.0, 0.0, 60, 59, 0.0, 0.06, True, "nchs_zero"),
    # p = 0 with n = 12: suppressed for the sample size
    (0.0, 0.0, 12, 11, 0.0, 0.26, False, "nchs_n_eff"),
]


@pytest.mark.parametrize(("p", "se", "n", "df", "low", "high", "presented", "codes"), NCHS_CASES)
def test_nchs_standard_follows_the_decision_rules(p, se, n, df, low, high, presented, codes):
    """Each decision rule of Parker et al. (2017) on a case at or near its boundary."""
    result = nchs_proportion_standard([p], [se], [n], [df], [low], [high]).iloc[0]
    assert bool(result["present"]) is presented
    assert result["nchs"] == codes


def test_nchs_effective_sample_size_is_capped_at_n():
    """n_eff = p(1-p)/se² is never above the actual sample size (Parker et al. 2017)."""
    result = nchs_proportion_standard([0.5], [0.001], [50], [49], [0.4], [0.6])
    assert result["n_eff_nchs"].iloc[0] == 50


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
                          "estimate": [estimate, 0.2, 0.5], "se": [0.0094, 0.02, 0.02],
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
    shown = disclose_estimates(table.assign(estimate=[0.025, 0.2, 0.5]), ["sex"], 5)
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


def test_nchs_standard_is_checked_on_the_korn_graubard_interval_given():
    """A table showing another method's narrow interval is judged on the Korn-Graubard limits
    passed as nchs_interval (Parker et al. 2017 define the standard on that interval); a
    wrong number of limits is refused."""
    table = pd.DataFrame({"g": ["a"], "n": [100], "estimate": [0.5], "se": [0.05], "df": [99],
                          "ci_low": [0.45], "ci_high": [0.55], "n_eff": [100.0],
                          "deff": [1.0]})  # fmt: skip
    assert disclose_estimates(table, ["g"])["disclosure"].iloc[0] == ""
    out = disclose_estimates(table, ["g"], nchs_interval=([0.34], [0.66]))
    assert out["disclosure"].iloc[0] == "nchs_width" and pd.isna(out["estimate"].iloc[0])
    with pytest.raises(DisclosureError, match="expected 1 lower and upper limits"):
        disclose_estimates(table, ["g"], nchs_interval=([0.3, 0.3], [0.7, 0.7]))
