"""The design object (stikprove.estimation.stratified_sample): checked once, frozen, and the
same numbers as the module functions it stands behind."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import stikprove
from stikprove.errors import EstimationError
from stikprove.estimation import StratifiedSample, estimate_categories, outcome_bounds
from stikprove.estimation.comparison import compare_proportions, rao_scott_test
from stikprove.estimation.domains import estimate_proportions
from stikprove.estimation.linearization import domain_linearization
from stikprove.estimation.multiplicity import flag_differences, funnel_limits
from stikprove.recording import import_assessments
from store_fixtures import entry, make_study, write_entries_csv

COMPARISON = Path(__file__).parent / "fixtures" / "r" / "comparison_data.csv"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(COMPARISON)


@pytest.fixture(scope="module")
def sample(data) -> StratifiedSample:
    return StratifiedSample(data, strata="stratum", population_size="N")


def test_methods_give_the_module_functions_numbers(data, sample):
    """estimate, categories, bounds, linearization, compare, rao_scott equal the functions
    (which the R fixtures check), so the object keeps every reference."""
    pd.testing.assert_frame_equal(
        sample.estimate("y", by="origin", method="wilson"),
        estimate_proportions(data, "y", "stratum", "N", by="origin", method="wilson"),
    )
    pd.testing.assert_frame_equal(
        sample.categories("origin", by="kommune"),
        estimate_categories(data, "origin", "stratum", "N", by="kommune"),
    )
    pd.testing.assert_frame_equal(
        sample.bounds("y", by="kommune"), outcome_bounds(data, "y", "stratum", "N", by="kommune")
    )
    lin, expected = (
        sample.linearization("y", "kommune"),
        domain_linearization(data, "y", "stratum", "N", by="kommune"),
    )
    np.testing.assert_array_equal(lin.covariance(), expected.covariance())
    assert sample.compare("y", "kommune", groups=("k1", "k3")) == compare_proportions(
        data, "y", "stratum", "N", "kommune", groups=("k1", "k3")
    )
    assert sample.rao_scott("y", "origin") == rao_scott_test(data, "y", "stratum", "N", "origin")


def test_flag_and_funnel_against_the_nation(data, sample):
    """flag = flag_differences with the design-based contrast; funnel = funnel_limits at each
    domain's n around the whole sample's rate."""
    estimates = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    expected = flag_differences(
        estimates, design=domain_linearization(data, "y", "stratum", "N", by="kommune")
    )
    pd.testing.assert_frame_equal(sample.flag("y", by="kommune"), expected)
    funnel = sample.funnel("y", by="kommune", levels=(0.95,))
    nation = estimate_proportions(data, "y", "stratum", "N")["estimate"].iloc[0]
    assert len(funnel) == len(estimates)
    for row in funnel.itertuples(index=False):
        limits = funnel_limits(nation, [row.n], levels=[0.95]).iloc[0]
        assert (row.lower, row.upper) == pytest.approx((limits["lower"], limits["upper"]), 1e-12)
        assert row.outside == (not row.lower <= row.estimate <= row.upper)


def test_flag_refuses_a_one_kommune_sample(data):
    """One kommune is the whole nation: the object refuses to compare it with itself."""
    one = StratifiedSample(data[data["kommune"] == "k1"], "stratum", "N")
    with pytest.raises(EstimationError, match=r"single domain \(kommune k1\)"):
        one.flag("y", by="kommune")


def test_is_frozen_and_keeps_its_own_copy(data):
    """Attributes cannot be set, and changing the caller's frame changes nothing."""
    frame = data.copy()
    sample = StratifiedSample(frame, "stratum", "N")
    before = sample.estimate("y")
    frame["y"] = 1.0
    pd.testing.assert_frame_equal(sample.estimate("y"), before)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.population_size = "M"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.assign(N=d["N"] + d.index % 2), r"'N' varies within stratum"),
        (lambda d: d.assign(N=d["N"].where(d.index != 3, 2.5)), r"got 2\.5 at row 4 \(index 3\)"),
        (lambda d: d.assign(stratum=d["stratum"].where(d.index != 2)), r"missing value at row 3"),
        (lambda d: d.drop(columns="N"), r"population_size.*'N'"),
        (lambda d: d.iloc[0:0], "no rows"),
    ],
)
def test_refuses_a_bad_design_when_made(data, change, match):
    """The strata and N_h are checked once, when the sample is made, naming row and value."""
    with pytest.raises(EstimationError, match=match):
        StratifiedSample(change(data), "stratum", "N")


def test_looks_right_in_a_notebook(sample):
    """repr names cases, strata and population; _repr_html_ is a small table."""
    assert repr(sample).startswith("StratifiedSample(")
    html = sample._repr_html_()
    assert html.startswith("<table>") and "strata" in html


def test_every_construction_path_gives_a_working_repr(data, sample):
    """Made, copied, deep-copied or pickled: repr and _repr_html_ read the kept strata (the
    object made without its design, whose repr raised KeyError, is gone)."""
    import copy
    import pickle

    expected = (
        f"StratifiedSample({len(data)} cases in {data['stratum'].nunique()} strata of "
        f"{int(data.groupby('stratum')['N'].first().sum())}; strata=['stratum'], "
        "population_size='N')"
    )
    made = [sample, StratifiedSample(data, ["stratum"], "N"), copy.copy(sample),
            copy.deepcopy(sample), pickle.loads(pickle.dumps(sample))]  # fmt: skip
    for other in made:
        assert repr(other) == expected
        assert other._repr_html_() == sample._repr_html_()
    assert not hasattr(StratifiedSample, "_unchecked")


def test_the_design_is_coded_once_and_reused(data, monkeypatch):
    """code_strata runs once, when the sample is made; a second estimate (and every other
    method) codes only its outcome and domains."""
    from stikprove.estimation import design_coding, stratified_sample

    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return design_coding.code_strata.__wrapped__(*args, **kwargs)

    counted.__wrapped__ = design_coding.code_strata  # type: ignore[attr-defined]
    for module in (design_coding, stratified_sample):
        monkeypatch.setattr(module, "code_strata", counted)
    sample = StratifiedSample(data, "stratum", "N")
    assert len(calls) == 1
    first = sample.estimate("y", by="kommune")
    second = sample.estimate("y", by="kommune")
    pd.testing.assert_frame_equal(first, second)
    sample.bounds("y", by="kommune")
    sample.categories("origin")
    sample.linearization("y", "kommune")
    sample.compare("y", "kommune", groups=("k1", "k3"))
    sample.rao_scott("y", "origin")
    sample.flag("y", by="kommune")
    sample.funnel("y", by="kommune")
    assert len(calls) == 1
    assert sample.coded_strata.population.sum() == data.groupby("stratum")["N"].first().sum()


def test_from_study_takes_the_study_export(tmp_path):
    """from_study uses the store's analysis table: strata 'stratum', N_h 'population_size'."""
    study = make_study(tmp_path)
    mine = study.open_cases("anna")["case_id"].tolist()
    path = write_entries_csv(tmp_path / "in.csv", [entry(c) for c in mine])
    import_assessments(study, path, "anna")
    sample = stikprove.StratifiedSample.from_study(study)
    export = study.export()
    pd.testing.assert_frame_equal(sample.data, export)
    pd.testing.assert_frame_equal(
        sample.estimate("too_ill", by="kommune_code"),
        estimate_proportions(export, "too_ill", "stratum", "population_size", by="kommune_code"),
    )
    with pytest.raises(EstimationError, match="open study store"):
        StratifiedSample.from_study("study.sqlite")


def test_study_sample_is_the_bound_design(tmp_path):
    """study.sample() is StratifiedSample.from_study(study): same data, same estimates."""
    study = make_study(tmp_path)
    mine = study.open_cases("anna")["case_id"].tolist()
    path = write_entries_csv(tmp_path / "in.csv", [entry(c) for c in mine])
    import_assessments(study, path, "anna")
    sample = study.sample()
    assert isinstance(sample, StratifiedSample)
    pd.testing.assert_frame_equal(sample.data, study.export())
    pd.testing.assert_frame_equal(
        sample.estimate("too_ill", by="origin"),
        StratifiedSample.from_study(study).estimate("too_ill", by="origin"),
    )
