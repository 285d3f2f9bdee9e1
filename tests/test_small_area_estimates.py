"""The arcsine model and its bootstrap, benchmarking, the end-to-end kommune estimates
(stikprove.small_area) and `stikprove estimate --small-area`."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from report_fixtures import make_report_study
from stikprove.cli import main
from stikprove.estimation import StratifiedSample
from stikprove.protocol.model import SMALL_AREA_COVARIATES
from stikprove.small_area import (
    COVARIATE_SETS,
    SmallAreaError,
    ZeroRandomEffectWarning,
    benchmark,
    conditional_mse,
    fit_arcsine_fay_herriot,
    fit_fay_herriot,
    small_area_estimates,
)
from stikprove.store import open_study
from strategies import fay_herriot_areas, scaled

REFERENCE = Path(__file__).resolve().parent / "reference"
COVARIATES = ["share_women", "share_origin_ikke_vestlig", "share_origin_vestlig", "mean_age",
              "mean_years_on_benefit"]  # fmt: skip
KOMMUNER = ("101", "147", "151", "153", "155", "157", "159", "161", "163", "165", "167", "169")


@pytest.fixture(scope="module")
def national_inputs() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "fay_herriot_national_data.csv", dtype={"kommune_code": str})


@pytest.fixture(scope="module")
def small_study(tmp_path_factory) -> Path:
    """A fully reviewed national-template study in twelve kommuner (about 700 reviews)."""
    path, _ = make_report_study(tmp_path_factory.mktemp("small_area"), kommuner=KOMMUNER,
                                max_reviews=700)  # fmt: skip
    return path


def test_arcsine_bootstrap_is_seeded(national_inputs):
    """The same seed gives the same MSEs and intervals; another seed other ones."""
    one = fit_arcsine_fay_herriot(national_inputs, COVARIATES, bootstrap=20, seed=5).estimates()
    again = fit_arcsine_fay_herriot(national_inputs, COVARIATES, bootstrap=20, seed=5).estimates()
    other = fit_arcsine_fay_herriot(national_inputs, COVARIATES, bootstrap=20, seed=6).estimates()
    pd.testing.assert_frame_equal(one, again)
    assert not np.allclose(one["mse"], other["mse"])
    np.testing.assert_array_equal(one["eblup"], other["eblup"])


def test_arcsine_estimates_are_proportions_with_their_interval(national_inputs):
    """Back-transformed EBLUPs and limits lie in [0, 1] with low <= eblup <= high; the EBLUP
    is sin² of the transformed fit's; ψ = 1/(4 n_eff); the bootstrap MSE is below the direct
    variance for the smallest kommuner (the point of the model)."""
    fit = fit_arcsine_fay_herriot(national_inputs, COVARIATES, bootstrap=50, seed=1)
    e = fit.estimates()
    assert ((e["ci_low"] >= 0) & (e["ci_low"] <= e["eblup"]) & (e["eblup"] <= e["ci_high"])
            & (e["ci_high"] <= 1)).all()  # fmt: skip
    t = fit.transformed.estimates()
    np.testing.assert_allclose(e["eblup"], np.sin(t["eblup"]) ** 2)
    np.testing.assert_allclose(e["variance"], 1 / (4 * national_inputs["n_eff"]))
    small = national_inputs["n"] < 20
    assert (e.loc[small, "mse"] < national_inputs.loc[small, "variance"]).all()
    assert "bootstrap B=50, seed=1" in repr(fit)


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda d: d.assign(direct=[1.2, *d["direct"][1:]]), {},
         "column 'direct', kommune_code 101: 1.2, expected a proportion"),
        (lambda d: d.assign(n_eff=[0.0, *d["n_eff"][1:]]), {},
         "column 'n_eff', kommune_code 101: 0.0, expected an effective sample size > 0"),
        (lambda d: d, {"bootstrap": 5}, "bootstrap 5: expected a whole number >= 10"),
        (lambda d: d, {"seed": -1}, "seed -1: expected a whole number >= 0"),
        (lambda d: d.drop(columns="n_eff"), {}, "column 'n_eff': not in the table"),
    ],
)  # fmt: skip
def test_arcsine_bad_input_is_named(national_inputs, change, kwargs, message):
    with pytest.raises(SmallAreaError, match=message):
        fit_arcsine_fay_herriot(change(national_inputs), COVARIATES, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize(("method", "coverage"), [("REML", 0.90), ("AMRL", 0.92)])
def test_arcsine_bootstrap_mse_and_interval_by_simulation(method, coverage):
    """A simulation check of the bootstrap (no outside reference has the arcsine bootstrap
    with our interval): data drawn from the arcsine model itself (30 areas, known θ), 100
    replicates, B = 100: the mean bootstrap MSE is within 25 % of the empirical MSE of the
    back-transformed EBLUP, and the 95 % intervals cover at least 90 % overall with REML
    (measured 90.3 %: the bootstrap draws too few area effects where σ̂²_u is near 0) and
    92 % with AMRL (measured 94.1 %)."""
    rng = np.random.default_rng(20261207)
    m = 30
    x = rng.uniform(0, 1, m)
    n_eff = rng.integers(5, 120, m).astype(float)
    X = np.column_stack([np.ones(m), x])
    beta, sigma2_u = np.array([0.45, 0.35]), 0.004
    errors, mses, covered = [], [], []
    for r in range(100):
        theta = X @ beta + rng.normal(0, np.sqrt(sigma2_u), m)
        y = theta + rng.normal(0, np.sqrt(1 / (4 * n_eff)))
        direct = np.sin(np.clip(y, 0, np.pi / 2)) ** 2
        data = pd.DataFrame({"area": np.arange(m).astype(str), "direct": direct,
                             "n_eff": n_eff, "x": x})  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ZeroRandomEffectWarning)
            e = fit_arcsine_fay_herriot(data, ["x"], area="area", bootstrap=100, seed=r,
                                        method=method).estimates()
        truth = np.sin(theta) ** 2
        errors.append((e["eblup"] - truth) ** 2)
        mses.append(e["mse"])
        covered.append((e["ci_low"] <= truth) & (truth <= e["ci_high"]))
    ratio = np.mean(mses) / np.mean(errors)
    assert 0.75 < ratio < 1.25, ratio
    assert np.mean(covered) >= coverage, np.mean(covered)


@settings(max_examples=scaled(40))
@given(fay_herriot_areas(), st.sampled_from(["ratio", "difference"]),
       st.floats(0.05, 0.6))  # fmt: skip
def test_benchmarking_adds_up_to_the_national_estimate(data, method, target):
    """After benchmarking, the population-weighted mean of the estimates is the target (or
    benchmarking refuses, naming the method, when an estimate would leave [0, 1])."""
    estimates = data["direct"].fillna(0.3).to_numpy()
    size = data["population_size"].to_numpy()
    try:
        out = benchmark(estimates, size, target, method)
    except SmallAreaError as error:
        assert f"benchmark {method!r}: an estimate leaves [0, 1]" in str(error)
        return
    assert float(size @ out / size.sum()) == pytest.approx(target, abs=1e-12)
    assert ((out >= 0) & (out <= 1)).all()
    if method == "ratio":
        np.testing.assert_allclose(out / estimates, out[0] / estimates[0])


def test_benchmark_refuses_bad_input():
    with pytest.raises(SmallAreaError, match="benchmark 'sum': expected one of ratio, difference"):
        benchmark(np.array([0.1]), np.array([1]), 0.1, "sum")
    with pytest.raises(SmallAreaError, match=r"target 1\.5: expected a proportion"):
        benchmark(np.array([0.1]), np.array([1]), 1.5)


def test_conditional_mse_widens_where_the_residual_exceeds_the_model(national_inputs):
    """mse="conditional": mse_d + B_d²·max(0, r_d² - (σ̂²_u + ψ_d)), B_d = 1 - γ_d, r_d the
    direct minus the synthetic estimate; never below the model's MSE, equal to it where the
    residual is within the model's expectation and for a kommune without a sample; the
    interval is eblup ∓ z·rmse. Only for the linear model."""
    data = national_inputs.copy()
    data.loc[data.index[0], "direct"] = np.nan  # a kommune without a sample
    fit = fit_fay_herriot(data, COVARIATES)
    model = fit.estimates()
    cond = conditional_mse(model, fit.sigma2_u, 0.9)
    b, r = 1 - model["gamma"], model["direct"] - model["synthetic"]
    excess = (r**2 - fit.sigma2_u - model["variance"]).clip(lower=0).fillna(0)
    np.testing.assert_allclose(cond["mse"], model["mse"] + b**2 * excess, rtol=1e-12)
    assert (cond["mse"] >= model["mse"]).all()
    assert cond["mse"].iloc[0] == model["mse"].iloc[0]
    assert ((excess > 0).sum() > 0) and ((excess == 0).sum() > 1)
    np.testing.assert_allclose(cond["ci_high"] - cond["eblup"], 1.6448536 * np.sqrt(cond["mse"]),
                               rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(cond["eblup"], model["eblup"])
    with pytest.raises(SmallAreaError, match="mse 'conditional': only for model 'linear'"):
        small_area_estimates(None, pd.DataFrame(), "too_ill", mse="conditional")
    with pytest.raises(SmallAreaError, match="mse 'exact': expected one of model, conditional"):
        small_area_estimates(None, pd.DataFrame(), "too_ill", model="linear", mse="exact")


def test_covariate_names_are_the_protocols():
    """The covariate sets small_area documents are exactly those a protocol may name."""
    assert tuple(COVARIATE_SETS) == SMALL_AREA_COVARIATES


def test_every_kommune_of_the_population_gets_an_estimate(small_study):
    """End to end: one row per kommune of the study population; a kommune whose cases are
    left out of the sample gets the synthetic estimate (n 0, gamma 0, no direct); the
    benchmarked estimates add up (population-weighted) to the national direct estimate."""
    study = open_study(small_study)
    data = study.export()
    sample = StratifiedSample(data[data["kommune_code"] != "155"], "stratum")
    result = small_area_estimates(sample, study.units(), "too_ill", model="linear")
    table = result.table.set_index("kommune_code")
    assert sorted(table.index) == list(KOMMUNER)
    row = table.loc["155"]
    assert row["n"] == 0 and row["gamma"] == 0 and np.isnan(row["direct"])
    assert row["estimate"] == pytest.approx(row["synthetic"])
    assert (table["ci_low"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["ci_high"]).all()
    assert result.dropped_covariates == ("share_health_exempt",)
    full = small_area_estimates(StratifiedSample(data, "stratum"), study.units(), "too_ill",
                                benchmark="ratio", bootstrap=20)  # fmt: skip
    t = full.table
    weighted = float((t["population_size"] * t["estimate"]).sum() / t["population_size"].sum())
    assert weighted == pytest.approx(full.national_direct, abs=1e-12)
    assert "benchmarked (ratio)" in full.describe()
    with pytest.raises(SmallAreaError, match="model 'logit': expected one of arcsin, linear"):
        small_area_estimates(sample, study.units(), "too_ill", model="logit")


def test_cli_small_area_table(small_study, capsys, tmp_path):
    """`estimate STUDY --outcome too_ill --by kommune_code --small-area` prints every kommune
    with an MSE-based interval under a NOT FOR PUBLICATION header; CSV carries the mark as a
    column; the same seed gives the same file."""
    argv = ["estimate", str(small_study), "--outcome", "too_ill", "--by", "kommune_code",
            "--small-area", "--bootstrap", "20"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("NOT FOR PUBLICATION")
    assert "model-based (small-area) estimates as the model gives them, before the release" in out
    assert "bootstrap MSE (B=20" in out
    for code in KOMMUNER:
        assert f"\n{code:>12} " in out
    files = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in files:
        assert main([*argv, "--format", "csv", "--out", str(path)]) == 0
    table = pd.read_csv(files[0], dtype={"kommune_code": str})
    assert len(table) == len(KOMMUNER) and table["publication"].str.startswith("NOT FOR").all()
    assert (table["ci_low"] < table["ci_high"]).all() and table["rmse"].gt(0).all()
    assert files[0].read_bytes() == files[1].read_bytes()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "origin"], "--small-area: --by origin: the model estimates per kommune"),
        (["--by", "kommune_code", "--bounds"], "--small-area: --bounds does not apply"),
    ],
)
def test_cli_small_area_refuses(small_study, capsys, extra, message):
    assert main(["estimate", str(small_study), "--outcome", "too_ill", "--small-area",
                 *extra]) == 2  # fmt: skip
    assert message in capsys.readouterr().err


def test_cli_small_area_needs_a_study_store(tmp_path, capsys):
    table = tmp_path / "analysis.csv"
    table.write_text("stratum,population_size,too_ill\na,10,1\n", encoding="utf-8")
    assert main(["estimate", str(table), "--outcome", "too_ill", "--by", "kommune_code",
                 "--small-area"]) == 2  # fmt: skip
    assert "is not a study store" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_small_area_gives_all_98_kommuner_an_estimate(tmp_path):
    """The issue's 'done when': a national-template study in all 98 kommuner (6,000
    reviews): every kommune has a model-based estimate with an MSE-based interval, as the
    study's release publishes it (the release's rule may publish the synthetic estimate or a
    rounded one: docs/release.md)."""
    from stikprove.kommuner import kommune_codes

    path, _ = make_report_study(tmp_path, kommuner=tuple(kommune_codes()), max_reviews=6000)
    out = tmp_path / "small_area.csv"
    assert main(["estimate", str(path), "--outcome", "too_ill", "--by", "kommune_code",
                 "--small-area", "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_csv(out, dtype={"kommune_code": str})
    assert sorted(table["kommune_code"]) == sorted(kommune_codes())
    assert table[["estimate", "ci_low", "ci_high"]].notna().all().all()
    assert table["basis"].isin(["eblup", "eblup_1pp", "synthetic"]).all()
    assert ((table["ci_low"] <= table["estimate"]) & (table["estimate"] <= table["ci_high"])).all()


def test_cli_small_area_names_a_zero_random_effect(small_study, capsys, monkeypatch):
    """A σ²_u estimated at 0 is said in the table's notes, with the option to try."""
    import stikprove.small_area as small_area

    real = small_area.small_area_estimates

    def zero(*args, **kwargs):
        warnings.warn("sigma2_u estimated at 0", ZeroRandomEffectWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(small_area, "small_area_estimates", zero)
    assert main(["estimate", str(small_study), "--outcome", "too_ill", "--by", "kommune_code",
                 "--small-area", "--model", "linear"]) == 0  # fmt: skip
    assert "WARNING: sigma2_u estimated at 0 (try --fit AMRL)" in capsys.readouterr().out


def test_cli_small_area_conditional_mse(small_study, capsys, tmp_path):
    """`--mse conditional` (linear model) gives every kommune the larger of the model's MSE
    and the one conditional on the kommune: never a smaller RMSE, the same estimates; with
    the arcsine model it is refused, naming what it needs."""
    base = ["estimate", str(small_study), "--outcome", "too_ill", "--by", "kommune_code",
            "--small-area", "--model", "linear", "--format", "csv"]  # fmt: skip
    paths = {mse: tmp_path / f"{mse}.csv" for mse in ("model", "conditional")}
    for mse, path in paths.items():
        assert main([*base, "--mse", mse, "--out", str(path)]) == 0
    model, conditional = (pd.read_csv(paths[m], dtype={"kommune_code": str}) for m in paths)
    assert (model["kommune_code"] == conditional["kommune_code"]).all()
    assert np.allclose(model["estimate"], conditional["estimate"])
    assert (conditional["rmse"] >= model["rmse"] - 1e-15).all()
    assert main(["estimate", str(small_study), "--outcome", "too_ill", "--by", "kommune_code",
                 "--small-area", "--mse", "conditional"]) == 2  # fmt: skip
    assert "only for model 'linear'" in capsys.readouterr().err
