"""Tests for stikprove.estimation.agreement (Cohen's kappa between two reviewers)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stikprove.errors import EstimationError
from stikprove.estimation.agreement import ReviewerAgreement, reviewer_agreement

FIXTURES = Path(__file__).parent / "fixtures" / "r"

# The same tables as in fixtures/r/agreement.R (first reviewer in rows, second in columns).
TABLES = {
    "fleiss1969": [[106, 10, 4], [22, 28, 10], [2, 12, 6]],
    "cohen1960": [[88, 14, 18], [10, 40, 10], [2, 6, 12]],
    "binary": [[12, 5], [3, 40]],
}


def codes_from_table(table: list[list[int]], labels: list[str]) -> tuple[pd.Series, pd.Series]:
    """Expand a cross-table of counts into two aligned Series of codes (one row per case)."""
    first, second = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [labels[i]] * count
            second += [labels[j]] * count
    return pd.Series(first), pd.Series(second)


def r_reference() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "agreement_out.csv").set_index("table")


@pytest.mark.parametrize("name", sorted(TABLES))
def test_kappa_and_se_match_r_psych(name: str) -> None:
    """Kappa, its variance and the 95 % limits equal psych::cohen.kappa (R) to 1e-10."""
    ref = r_reference().loc[name]
    labels = ["a", "b", "c"][: len(TABLES[name])]
    first, second = codes_from_table(TABLES[name], labels)
    res = reviewer_agreement(first, second)
    assert res.kappa == pytest.approx(ref["kappa"], abs=1e-10)
    assert res.se**2 == pytest.approx(ref["var_kappa"], abs=1e-10)
    # psych uses qnorm(1 - alpha/2) like us; limits not cut at +-1 here.
    assert res.ci_low == pytest.approx(ref["lower"], abs=1e-10)
    assert res.ci_high == pytest.approx(ref["upper"], abs=1e-10)
    assert res.n_pairs == ref["n"]


def test_published_kappa_fleiss_cohen_everitt_1969() -> None:
    """Unweighted kappa of Fleiss, Cohen & Everitt's (1969) table is the published .429."""
    first, second = codes_from_table(TABLES["fleiss1969"], ["a", "b", "c"])
    res = reviewer_agreement(first, second)
    assert round(res.kappa, 3) == 0.429
    assert res.percent_agreement == pytest.approx(100 * 140 / 200)


def test_binary_hand_computed() -> None:
    """Binary kappa equals the hand computation (p_o - p_e)/(1 - p_e) on a 2x2 table."""
    first, second = codes_from_table([[12, 5], [3, 40]], ["ja", "nej"])
    res = reviewer_agreement(first, second)
    p_o = 52 / 60
    p_e = (17 * 15 + 43 * 45) / 60**2
    assert res.kappa == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-14)
    assert res.expected_agreement == pytest.approx(p_e, abs=1e-14)
    assert res.table.loc["ja", "nej"] == 5
    assert res.categories == ("ja", "nej")


def test_missing_pairs_dropped_and_counted() -> None:
    """Pairs with a missing code on either side are dropped and counted in n_dropped."""
    first = pd.Series(["ja", None, "nej", "ja", np.nan, "nej"])
    second = pd.Series(["ja", "ja", "nej", None, "nej", "ja"])
    res = reviewer_agreement(first, second)
    assert res.n_pairs == 3
    assert res.n_dropped == 3
    assert res.percent_agreement == pytest.approx(200 / 3)


def test_series_aligned_on_index() -> None:
    """Series are matched on their index labels, not their order."""
    first = pd.Series({"c1": "ja", "c2": "nej", "c3": "nej", "c4": "ja"})
    second = pd.Series({"c4": "ja", "c3": "nej", "c2": "nej", "c1": "ja"})
    assert reviewer_agreement(first, second).percent_agreement == 100.0


def test_declared_unused_category_keeps_kappa() -> None:
    """A declared category that nobody used appears in the table and leaves kappa unchanged."""
    first, second = codes_from_table(TABLES["binary"], ["ja", "nej"])
    plain = reviewer_agreement(first, second)
    wider = reviewer_agreement(first, second, categories=["nej", "ja", "ved_ikke"])
    assert wider.kappa == pytest.approx(plain.kappa, abs=1e-14)
    assert wider.se == pytest.approx(plain.se, abs=1e-14)
    assert list(wider.table.index) == ["nej", "ja", "ved_ikke"]


def test_confidence_level_changes_width_only() -> None:
    """A 90 % interval is narrower than the 95 % one around the same kappa."""
    first, second = codes_from_table(TABLES["cohen1960"], ["a", "b", "c"])
    r95 = reviewer_agreement(first, second)
    r90 = reviewer_agreement(first, second, confidence_level=0.90)
    assert r90.kappa == r95.kappa
    assert r95.ci_low < r90.ci_low < r90.kappa < r90.ci_high < r95.ci_high


def test_perfect_agreement_on_one_code_is_undefined_kappa() -> None:
    """Both reviewers always giving the same single code: 100 % agreement, kappa NaN."""
    res = reviewer_agreement(["ja"] * 5, ["ja"] * 5, categories=["ja", "nej"])
    assert res.percent_agreement == 100.0
    assert np.isnan(res.kappa)
    assert res.n_pairs == 5


def test_perfect_agreement_two_codes_is_kappa_one() -> None:
    """Full agreement using two codes gives kappa 1 with interval cut at 1 (not a point)."""
    res = reviewer_agreement(["ja", "nej", "ja"], ["ja", "nej", "ja"])
    assert res.kappa == pytest.approx(1.0)
    assert res.ci_low < res.ci_high == 1.0


def test_result_is_frozen_and_tidy() -> None:
    """The result cannot be changed, and to_frame gives one row with the documented columns."""
    res = reviewer_agreement(["ja", "nej", "nej"], ["ja", "nej", "ja"])
    assert isinstance(res, ReviewerAgreement)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.kappa = 0.0  # type: ignore[misc]
    frame = res.to_frame()
    assert len(frame) == 1
    assert {"kappa", "se", "ci_low", "ci_high", "percent_agreement", "n_pairs"} <= set(frame)
    assert "<table" in res._repr_html_()


@pytest.mark.parametrize(
    ("first", "second", "kwargs", "match"),
    [
        (["ja", "nej"], ["ja"], {}, "same length"),
        ("ja", ["ja"], {}, "first must be"),
        ([None, None], ["ja", None], {}, "no pair"),
        (["ja", "x"], ["ja", "nej"], {"categories": ["ja", "nej"]}, "not among categories"),
        (["ja", "nej"], ["ja", "nej"], {"categories": ["ja", "ja"]}, "must not repeat"),
        (["ja", "nej"], ["ja", "nej"], {"confidence_level": 1.5}, "confidence_level"),
        (["ja", "nej"], ["ja", "nej"], {"confidence_level": "95%"}, "confidence_level"),
    ],
)
def test_refusals_name_the_argument(first, second, kwargs, match) -> None:
    """Bad input raises EstimationError naming the argument and the value."""
    with pytest.raises(EstimationError, match=match):
        reviewer_agreement(first, second, **kwargs)


def test_series_with_different_cases_refused() -> None:
    """Series whose index labels differ are refused, naming the unmatched labels."""
    with pytest.raises(EstimationError, match="same cases"):
        reviewer_agreement(pd.Series(["ja"], index=["c1"]), pd.Series(["ja"], index=["c2"]))


# --- degenerate tables: Cohen's conditional interval with exact limits ---------------------------


def test_perfect_agreement_of_22_pairs_has_an_honest_lower_bound() -> None:
    """22 of 22 agree, 12 ja / 10 nej: p_e = (12² + 10²)/22²; the Clopper–Pearson lower limit
    for 22 of 22 is 0.025^(1/22); kappa_low = (l − p_e)/(1 − p_e) = 0.6887, not [1, 1]."""
    codes = ["ja"] * 12 + ["nej"] * 10
    res = reviewer_agreement(codes, codes)
    p_e = (12**2 + 10**2) / 22**2
    assert res.kappa == 1.0 and res.se == 0.0
    assert res.ci_low == pytest.approx((0.025 ** (1 / 22) - p_e) / (1 - p_e), rel=1e-12)
    assert res.ci_low == pytest.approx(0.6887, abs=1e-4)
    assert res.ci_high == 1.0
    assert res.interval_method == "cohen-conditional-exact"
    assert res.to_frame().loc[0, "interval_method"] == "cohen-conditional-exact"
    narrower = reviewer_agreement(codes, codes, confidence_level=0.90)
    assert res.ci_low < narrower.ci_low < 1.0


def test_regular_tables_keep_the_fleiss_cohen_everitt_interval() -> None:
    """Non-degenerate tables are unchanged (they agree with R psych, tested above)."""
    first, second = codes_from_table(TABLES["binary"], ["ja", "nej"])
    res = reviewer_agreement(first, second)
    assert res.interval_method == "fleiss-cohen-everitt"


@pytest.mark.parametrize(
    ("first", "second", "kappa"),
    [
        (["ja"] * 11 + ["nej"] * 11, ["nej"] * 11 + ["ja"] * 11, -1.0),  # complete disagreement
        (["ja"] * 22, ["ja"] * 20 + ["nej"] * 2, 0.0),  # first reviewer used one code only
        (["ja"] * 22, ["nej"] * 22, 0.0),  # each used one code, a different one
        (["a", "b", "c"] * 7, ["a", "b", "c"] * 7, 1.0),  # three codes, perfect agreement
    ],
)
def test_degenerate_tables_never_give_a_point_interval(first, second, kappa) -> None:
    """se = 0 tables: an interval of positive width around kappa in [−1, 1], no warnings."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = reviewer_agreement(first, second)
    assert res.kappa == pytest.approx(kappa, abs=1e-12)
    assert -1.0 <= res.ci_low <= res.kappa <= res.ci_high <= 1.0
    assert res.ci_high - res.ci_low > 0.1
    assert res.interval_method == "cohen-conditional-exact"


def test_undefined_kappa_says_so() -> None:
    """One code by both reviewers: kappa NaN, and interval_method says it is undefined."""
    res = reviewer_agreement(["ja"] * 5, ["ja"] * 5)
    assert np.isnan([res.kappa, res.ci_low, res.ci_high]).all()
    assert res.interval_method == "undefined"


def test_coverage_near_perfect_agreement() -> None:
    """True kappa .92 (2 × 2, p_e = .5), 22 pairs: perfect agreement in ~40 % of samples. The
    interval covers the true kappa in at least 95 % of 600 samples (the Wald interval alone,
    [1, 1] at perfect agreement, covers about 59 %)."""
    rng = np.random.default_rng(2026)
    probs = [0.48, 0.02, 0.02, 0.48]
    true_kappa = (0.96 - 0.5) / 0.5
    covered = 0
    cells = [("ja", "ja"), ("ja", "nej"), ("nej", "ja"), ("nej", "nej")]
    for _ in range(600):
        counts = rng.multinomial(22, probs)
        pairs = [cell for cell, k in zip(cells, counts, strict=True) for _ in range(k)]
        first, second = zip(*pairs, strict=True)
        res = reviewer_agreement(list(first), list(second), categories=["ja", "nej"])
        covered += res.ci_low <= true_kappa <= res.ci_high
    assert covered / 600 >= 0.95
