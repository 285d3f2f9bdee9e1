"""A partly reviewed study said plainly (estimation/partial.py, docs/interim.md): what an
estimate covers, in the design object, in `stikprove estimate` and in the report's lead."""

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stikprove import EstimationError, StratifiedSample, partial_coverage
from stikprove.cli import main
from stikprove.recording import import_entries
from stikprove.reports.text import open_review_lead
from store_fixtures import entry, make_study

#: Reads today's date through the review entries: run again a year ahead by `make test`.
pytestmark = pytest.mark.clock

WOMEN = "461|kvinde|indvandrer_ikke_vestlig"  # N = 20, n = 6 (store_fixtures.STRATA)


def _table(rows):
    return pd.DataFrame(rows, columns=["stratum", "population_size", "sex", "too_ill"])


def test_every_stratum_covered_gives_share_one():
    """A domain whose every stratum has a case with an outcome is covered whole."""
    d = _table([("a", 10, "k", 1), ("a", 10, "k", None), ("b", 30, "m", 0)])
    row = partial_coverage(d, "too_ill", "stratum", "population_size").iloc[0]
    assert (row["strata"], row["strata_without_outcome"]) == (2, 0)
    assert row["population_share_covered"] == 1.0 and row["strata_not_covered"] == ""


def test_a_stratum_without_outcome_is_named_and_its_share_left_out():
    """Stratum b (N = 30 of 40) has no outcome: the overall estimate covers a quarter, and
    the domain m made of b alone covers nothing."""
    d = _table([("a", 10, "k", 1), ("a", 10, "k", 0), ("b", 30, "m", None)])
    overall = partial_coverage(d, "too_ill", "stratum", "population_size").iloc[0]
    assert overall["population_share_covered"] == pytest.approx(0.25)
    assert overall["strata_not_covered"] == "b"
    by_sex = partial_coverage(d, "too_ill", "stratum", "population_size", by="sex")
    assert by_sex.set_index("sex")["population_share_covered"].to_dict() == {"k": 1.0, "m": 0.0}


def test_a_domain_across_strata_counts_its_share_of_each_stratum():
    """A domain that is not a union of strata: its population in a stratum is N_h · n_hd/n_h
    (half of stratum a's 10 and half of b's 30), and a cell without outcome drops out."""
    d = _table([("a", 10, "k", 1), ("a", 10, "m", 0), ("b", 30, "k", None), ("b", 30, "m", 1)])
    table = partial_coverage(d, "too_ill", "stratum", "population_size", by="sex")
    shares = table.set_index("sex")["population_share_covered"]
    assert shares["k"] == pytest.approx(5 / 20) and shares["m"] == 1.0


@given(st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("km"), st.booleans()),
                min_size=1, max_size=30))  # fmt: skip
def test_coverage_is_a_share_and_counts_add_up(cases):
    """The share covered lies in [0, 1], is 1 exactly when no stratum lacks an outcome, and
    the strata named are the strata counted."""
    sizes = {"a": 40, "b": 50, "c": 60, "d": 70}
    d = pd.DataFrame({"stratum": [c[0] for c in cases], "sex": [c[1] for c in cases],
                      "too_ill": [1.0 if c[2] else np.nan for c in cases]})  # fmt: skip
    d["population_size"] = d["stratum"].map(sizes)
    for by in (None, "sex"):
        table = partial_coverage(d, "too_ill", "stratum", "population_size", by=by)
        share = table["population_share_covered"]
        assert ((share >= 0) & (share <= 1 + 1e-12)).all()
        assert ((share >= 1 - 1e-12) == (table["strata_without_outcome"] == 0)).all()
        named = table["strata_not_covered"].map(lambda t: len(t.split(", ")) if t else 0)
        assert (named == table["strata_without_outcome"]).all()


def test_the_design_object_gives_the_same_table():
    """StratifiedSample.coverage is partial_coverage on the sample's own columns."""
    d = _table([("a", 10, "k", 1), ("a", 10, "k", 0), ("b", 30, "m", None)])
    sample = StratifiedSample(d, strata="stratum")
    pd.testing.assert_frame_equal(sample.coverage("too_ill", by="sex"),
                                  partial_coverage(d, "too_ill", "stratum", "population_size",
                                                   by="sex"))  # fmt: skip


def test_an_unknown_column_is_named_with_the_closest():
    """A mistyped outcome is refused, with the column meant."""
    d = _table([("a", 10, "k", 1)])
    with pytest.raises(EstimationError, match=r"outcome column 'too_il' .*did you mean 'too_ill'"):
        partial_coverage(d, "too_il", "stratum", "population_size")


def _women_reviewed(tmp_path):
    """The test study with only Odense's non-Western women reviewed."""
    study = make_study(tmp_path)
    first = study.assignments().query("review_slot == 1")
    for reviewer, group in first[first["stratum"] == WOMEN].groupby("reviewer"):
        import_entries(study, [entry(c, review_date="2026-11-20") for c in group["case_id"]],
                       reviewer)  # fmt: skip
    return study


def test_estimate_of_a_partial_study_is_labelled(tmp_path, capsys):
    """Only the women's stratum reviewed: estimate says PARTIAL, names the strata without an
    outcome and the domain with none (the men), points at status --interim, and labels each
    row with the share of the domain it covers beside the bounds."""
    study = _women_reviewed(tmp_path)
    argv = ["estimate", str(study.path), "--outcome", "too_ill", "--by", "sex", "--raw"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "PARTIAL: 2 stratum/strata have no case with an outcome yet" in out
    assert "461|mand|dansk_oprindelse" in out and "825|kvinde|dansk_oprindelse" in out
    assert "no estimate at all for: sex=mand" in out
    assert f"stikprove status {study.path} --interim" in out
    assert main([*argv, "--format", "csv"]) == 0
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out)).set_index("sex")
    assert table.loc["kvinde", "population_share_covered"] == pytest.approx(20 / 23)
    assert {"estimate_missing_as_0", "estimate_missing_as_1"} <= set(table.columns)
    assert "PARTIAL" in captured.err


def test_estimate_of_a_complete_study_has_no_label(tmp_path, capsys):
    """Every stratum with an outcome: no note, no coverage column."""
    study = make_study(tmp_path)
    first = study.assignments().query("review_slot == 1")
    for reviewer, group in first.groupby("reviewer"):
        import_entries(study, [entry(c, review_date="2026-11-20") for c in group["case_id"]],
                       reviewer)  # fmt: skip
    assert main(["estimate", str(study.path), "--outcome", "too_ill", "--raw"]) == 0
    out = capsys.readouterr().out
    assert "PARTIAL" not in out and "population_share_covered" not in out


def test_estimate_before_any_review_names_the_next_command(tmp_path, capsys):
    """No case reviewed: refused (exit 2) saying so and naming worklist, import and status;
    no class name."""
    study = make_study(tmp_path)
    assert main(["estimate", str(study.path), "--outcome", "too_ill"]) == 2
    err = capsys.readouterr().err
    assert "no case is reviewed yet" in err and "stikprove worklist" in err
    assert "stikprove import" in err and "stikprove status" in err
    assert "Error" not in err


@pytest.mark.parametrize(
    ("language", "reviewed", "expected"),
    [("da", 0.38, "Genvurderingen i Odense er i gang: 38 % af de udtrukne sager er vurderet"),
     ("en", 0.38, "The review in Odense is under way: 38% of the sampled cases"),
     ("da", None, "færre end 5 af de udtrukne sager")],
)  # fmt: skip
def test_the_lead_of_an_open_review_gives_the_share_reviewed(language, reviewed, expected):
    """An open review's report leads with the share reviewed and what its figures cover,
    never with a figure among all cases."""
    lead = open_review_lead(reviewed, 0.51, "Odense", language)
    assert expected in lead and ("51 %" in lead or "51%" in lead)
    assert "alle sager" not in lead and "all cases" not in lead
