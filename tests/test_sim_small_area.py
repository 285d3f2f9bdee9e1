"""Tests for the small-area simulation harness (benchmarks/sim_small_area.py): its draw is
the study's draw, its truth the codebook's, and its bookkeeping of bias, RMSE and coverage."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stikprove.sampling import draw
from stikprove.synth import synthesize_frame

ROOT = Path(__file__).resolve().parents[1]
KOMMUNER = ("825", "563", "741", "155")
"""Læsø, Fanø, Samsø and Dragør: the four smallest synthetic kommuner (about 140 cases)."""


def _load_harness():
    path = ROOT / "benchmarks" / "sim_small_area.py"
    spec = importlib.util.spec_from_file_location("sim_small_area", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("sim_small_area", module)
    spec.loader.exec_module(module)
    return module


sim = _load_harness()


@pytest.fixture(scope="module")
def tiny():
    synthetic = synthesize_frame(7, kommuner=KOMMUNER)
    population = sim.build_population(synthetic.frame, synthetic.truth, max_reviews=40)
    return synthetic, population


def test_replicate_sample_is_the_study_draw_of_that_round(tiny):
    synthetic, population = tiny
    for replicate in (1, 3):
        drawn = draw(population.protocol, synthetic.frame, round=replicate).units
        expected = drawn.loc[drawn["role"] == "sample", ["case_id", "stratum", "draw_order"]]
        table = sim.draw_replicate(population, replicate)
        got = table.loc[table["role"] == "sample", ["case_id", "stratum", "draw_order"]]
        pd.testing.assert_frame_equal(got.sort_values("case_id").reset_index(drop=True),
                                      expected.sort_values("case_id").reset_index(drop=True),
                                      check_dtype=False)  # fmt: skip
        reserves = table.loc[table["role"] == "reserve"].merge(drawn, on="case_id")
        assert (reserves["draw_order_x"] == reserves["draw_order_y"]).all()
        assert (reserves["role_y"] == "reserve").all()


def test_reserves_replace_exactly_the_ineligible_sampled_cases(tiny):
    synthetic, population = tiny
    eligible = synthetic.truth.set_index("case_id")["eligible"].eq("ja")
    table = sim.draw_replicate(population, 2)
    table["eligible"] = eligible.loc[table["case_id"]].to_numpy()
    assert not table["eligible"].all(), "the tiny population should hold an ineligible case"
    for stratum, rows in table.groupby("stratum"):
        rows = rows.sort_values("draw_order")
        n_h = int(rows["sample_size"].iloc[0])
        N_h = int(rows["population_size"].iloc[0])
        assert rows["draw_order"].tolist() == list(range(1, len(rows) + 1)), stratum
        assert rows["eligible"].sum() == min(n_h, rows["eligible"].sum() + N_h - len(rows))
        if len(rows) > n_h:  # reserves were opened: the last one opened is eligible
            assert rows["eligible"].iloc[-1]
            assert (~rows["eligible"]).sum() == len(rows) - n_h
        assert rows.loc[~rows["eligible"], ["too_ill", "no_effort"]].isna().all().all()


def test_true_rates_are_the_population_rates_among_assessable_eligible_cases(tiny):
    synthetic, population = tiny
    cases = synthetic.frame.merge(synthetic.truth, on="case_id")
    study = cases[cases["health_exempt"] & (cases["category"] == "aktivitetsparat")]
    assessable = study[
        (study["eligible"] == "ja") & (study["health_assessment"] != "kan_ikke_vurderes")
    ]
    expected = assessable.groupby("kommune_code")["health_assessment"].apply(
        lambda s: (s == "for_syg").mean()
    )
    got = population.kommuner.set_index("kommune_code")["true_too_ill"]
    pd.testing.assert_series_equal(got, expected, check_names=False)
    assert population.kommuner["sample_size"].sum() == 40


def _known(replicate):
    """Known errors: truth + 0.1 in odd replicates, truth - 0.1 in even ones, the interval
    [estimate - 0.05, estimate + 0.15] (so it holds the truth in even replicates only); Læsø
    estimated in even replicates only."""
    truth = replicate.population.kommuner
    sign = 1.0 if replicate.number % 2 else -1.0
    out = pd.DataFrame({"estimator": "known", "kommune_code": truth["kommune_code"],
                        "estimate": truth["true_too_ill"] + sign * 0.1})  # fmt: skip
    out["ci_low"] = out["estimate"] - 0.05
    out["ci_high"] = out["estimate"] + 0.15
    if sign > 0:
        out = out[out["kommune_code"] != "825"]
    return out


def test_bookkeeping_of_a_known_estimator(tiny):
    _, population = tiny
    estimators = {"direct": sim.direct_estimator, "known": _known}
    results = sim.run_simulation(population, 6, "too_ill", estimators)
    summary = sim.summarise(population, results, "too_ill").set_index(["estimator", "kommune_code"])
    known = summary.loc["known"]
    assert (known.loc[["563", "741", "155"], "estimated"] == 6).all()
    assert known.loc["825", "estimated"] == 3
    np.testing.assert_allclose(known.loc[["563", "741", "155"], "bias"], 0.0, atol=1e-12)
    np.testing.assert_allclose(known.loc["825", "bias"], -0.1, atol=1e-12)
    np.testing.assert_allclose(known["rmse"], 0.1, atol=1e-12)
    np.testing.assert_allclose(known.loc[["563", "741", "155"], "coverage"], 0.5)
    assert known.loc["825", "coverage"] == 1.0
    np.testing.assert_allclose(known["mean_width"], 0.2, atol=1e-12)
    np.testing.assert_allclose(known.loc["563", "coverage_mc_se"], np.sqrt(0.25 / 6))
    direct = summary.loc["direct"]
    np.testing.assert_allclose(known["rmse_ratio"], 0.1 / direct["rmse"])
    census = direct["rmse"] == 0  # a kommune sampled whole (Læsø here) has no sampling error
    assert census.loc["825"]
    np.testing.assert_allclose(direct.loc[~census, "rmse_ratio"], 1.0)
    # the direct estimator's figures from the replicates' own estimates
    truth = population.kommuner.set_index("kommune_code")["true_too_ill"]
    errors = []
    for r in range(1, 7):
        estimates = sim.direct_estimates(sim.draw_replicate(population, r), "too_ill")
        errors.append(estimates.set_index("kommune_code")["estimate"] - truth)
    errors = pd.concat(errors, axis=1)
    np.testing.assert_allclose(direct.loc[truth.index, "bias"], errors.mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(direct.loc[truth.index, "rmse"],
                               np.sqrt((errors**2).mean(axis=1)), atol=1e-12)  # fmt: skip

    top = sim.headline(summary.reset_index(), results).set_index("estimator")
    # known: 4 of 4 kommuner covered in even replicates, 0 of 3 in odd ones -> 12 / 21
    assert top.loc["known", "coverage"] == pytest.approx(12 / 21)
    per_replicate = np.array([0.0, 1.0] * 3)
    assert top.loc["known", "coverage_mc_se"] == pytest.approx(
        per_replicate.std(ddof=1) / np.sqrt(6)
    )
    assert top.loc["known", "lowest_coverage"] == 0.5
    assert top.loc["known", "kommuner_under_85"] == 3
    assert top.loc["known", "small_kommuner"] == 4  # every kommune has < 40 sampled cases
    ratio = known.loc[~census, "rmse_ratio"].mean()
    assert top.loc["known", "small_rmse_reduction"] == pytest.approx(1 - ratio)
    assert not top.loc["known", "coverage_target_met"]


def test_replicates_do_not_depend_on_which_others_run(tiny):
    _, population = tiny
    both = sim.run_simulation(population, [2, 5], "too_ill")
    alone = sim.run_simulation(population, [5], "too_ill")
    np.testing.assert_array_equal(both.estimate[:, 1], alone.estimate[:, 0])
    # four kommuner are too few for the models' covariates: every fit fails, none is kept
    assert both.estimators == ("direct",)
    assert (both.diagnostics.filter(like="_failed") == 1).all().all()
    with pytest.raises(ValueError, match="outcome"):
        sim.run_simulation(population, 2, "not_an_indicator")


def test_page_headline_is_the_summary_csv():
    summary = pd.read_csv(ROOT / "docs" / "small_area_simulation_summary.csv")
    page = (ROOT / "docs" / "small_area_simulation.md").read_text(encoding="utf-8")
    block = page.split(sim.HEADLINE_START, 1)[1].split(sim.HEADLINE_END, 1)[0]
    assert block.strip() == sim.headline_markdown(summary)
    fits = pd.read_csv(ROOT / "docs" / "small_area_simulation_fits.csv")
    block = page.split(sim.FITS_START, 1)[1].split(sim.FITS_END, 1)[0]
    assert block.strip() == sim.fits_markdown(fits)
    other = pd.read_csv(ROOT / "docs" / "small_area_simulation_summary_no_effort.csv")
    start, end = sim.outcome_markers("no_effort")
    assert page.split(start, 1)[1].split(end, 1)[0].strip() == sim.headline_markdown(other)
    table = pd.read_csv(ROOT / "docs" / "small_area_simulation.csv", dtype={"kommune_code": str})
    assert set(summary["estimator"]) == set(table["estimator"])
    assert (table["replicates"] == sim.REPLICATES).all()


@pytest.mark.slow
def test_committed_rows_are_reproduced():
    """tests/fixtures/small_area_head.csv, written by the full run: three kommuners' rows of
    the table over its first 20 replicates, every estimator (the arcsine bootstrap too),
    reproduced by a fresh run of those replicates."""
    committed = pd.read_csv(sim.HEAD_FIXTURE, dtype={"kommune_code": str})
    population = sim.national_population()
    results = sim.run_simulation(population, sim.HEAD_REPLICATES, sim.OUTCOME)
    fresh = sim.summarise(population, results, sim.OUTCOME)
    keys = ["estimator", "kommune_code"]
    fresh = fresh[fresh["kommune_code"].isin(sim.HEAD_KOMMUNER)].set_index(keys).sort_index()
    expected = committed.set_index(keys).sort_index()
    assert fresh.index.equals(expected.index)
    assert {"direct", "eblup_reml", "eblup_ml", "synthetic", "arcsine_reml"} <= set(
        fresh.index.get_level_values("estimator")
    )
    numbers = [c for c in fresh.columns if c != "outcome"]
    # the fixture holds 10 significant digits
    np.testing.assert_allclose(fresh[numbers].to_numpy(float), expected[numbers].to_numpy(float),
                               rtol=1e-9, atol=1e-12)  # fmt: skip
