"""The Fay–Herriot model (stikprove.small_area.model and .direct): R's sae, the formulas'
invariants, the GVF, the covariates and the errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.errors import StikproveError
from stikprove.estimation import StratifiedSample
from stikprove.small_area import (
    SmallAreaError,
    ZeroRandomEffectWarning,
    area_covariates,
    estimated_population,
    fit_arcsine_fay_herriot,
    fit_fay_herriot,
    smooth_variances,
)
from strategies import fay_herriot_areas, scaled

REFERENCE = Path(__file__).resolve().parent / "reference"
NATIONAL_COVARIATES = ["share_women", "share_origin_ikke_vestlig", "share_origin_vestlig",
                       "mean_age", "mean_years_on_benefit"]  # fmt: skip
MILK_COVARIATES = ["major_area_2", "major_area_3", "major_area_4"]


def _reference_inputs(dataset: str) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    if dataset == "milk":
        data = pd.read_csv(REFERENCE / "fay_herriot_milk_data.csv", dtype={"area": str})
        return data, MILK_COVARIATES, {"area": "area", "direct": "yi", "variance": "vardir"}
    data = pd.read_csv(REFERENCE / "fay_herriot_national_data.csv", dtype={"kommune_code": str})
    return data, NATIONAL_COVARIATES, {}


@pytest.mark.parametrize("dataset", ["milk", "national"])
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_equals_r_sae(dataset, method):
    """EBLUP, MSE (Prasad–Rao for REML, Datta–Lahiri for ML), σ²_u and β equal R sae 1.3's
    eblupFH/mseFH (tests/reference/fay_herriot_sae.R); tolerance 1e-6 absolute."""
    ref = pd.read_csv(REFERENCE / "fay_herriot_sae_R.csv", dtype={"area": str})
    ref = ref[(ref["dataset"] == dataset) & (ref["method"] == method)]
    coef = pd.read_csv(REFERENCE / "fay_herriot_sae_coef_R.csv")
    coef = coef[(coef["dataset"] == dataset) & (coef["method"] == method)]
    data, covariates, columns = _reference_inputs(dataset)
    fit = fit_fay_herriot(data, covariates, method=method, **columns)
    got = fit.estimates()
    assert list(got[columns.get("area", "kommune_code")]) == list(ref["area"])
    np.testing.assert_allclose(got["eblup"], ref["eblup"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["mse"], ref["mse"], rtol=0, atol=1e-6)
    assert fit.sigma2_u == pytest.approx(ref["sigma2_u"].iloc[0], abs=1e-6)
    np.testing.assert_allclose(fit.beta, coef["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.coefficients()["se"], coef["std_error"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_arcsine_fit_equals_r_sae_on_the_arcsine_scale(method):
    """The arcsine model's fit (y = asin(√p), ψ = 1/(4 n_eff)) equals sae's eblupFH/mseFH on
    the transformed national data (dataset national_arcsin, fay_herriot_sae.R), and its
    estimate is sae's EBLUP back-transformed by sin²; tolerance 1e-6 absolute."""
    ref = pd.read_csv(REFERENCE / "fay_herriot_sae_R.csv", dtype={"area": str})
    ref = ref[(ref["dataset"] == "national_arcsin") & (ref["method"] == method)]
    data, covariates, _ = _reference_inputs("national")
    fit = fit_arcsine_fay_herriot(data, covariates, method=method, bootstrap=10)
    t = fit.transformed.estimates()
    np.testing.assert_allclose(t["eblup"], ref["eblup"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(t["mse"], ref["mse"], rtol=0, atol=1e-6)
    assert fit.sigma2_u == pytest.approx(ref["sigma2_u"].iloc[0], abs=1e-6)
    np.testing.assert_allclose(fit.estimates()["eblup"], np.sin(ref["eblup"]) ** 2, atol=1e-6)


def test_milk_sigma2_u_is_the_published_value():
    """sae's milk example (Molina & Marhuenda 2015): REML σ²_u = 0.01855 (4 decimals)."""
    data, covariates, columns = _reference_inputs("milk")
    assert fit_fay_herriot(data, covariates, **columns).sigma2_u == pytest.approx(0.01855, abs=5e-6)


@settings(max_examples=scaled(30))
@given(fay_herriot_areas())
def test_invariants(data):
    """γ in [0, 1]; the EBLUP lies between the direct and the synthetic estimate; the MSE
    is positive and, in sample, below the direct variance plus g2 + 2 g3 (shrinkage helps);
    out of sample the EBLUP is the synthetic estimate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ZeroRandomEffectWarning)
        fit = fit_fay_herriot(data, ["x"], area="area")
    e = fit.estimates()
    assert ((e["gamma"] >= 0) & (e["gamma"] <= 1)).all()
    ins = e[e["in_sample"]]
    low = np.minimum(ins["direct"], ins["synthetic"]) - 1e-12
    high = np.maximum(ins["direct"], ins["synthetic"]) + 1e-12
    assert ((ins["eblup"] >= low) & (ins["eblup"] <= high)).all()
    assert (e["mse"] > 0).all()
    assert (ins["g1"] <= ins["variance"] + 1e-15).all()
    out = e[~e["in_sample"]]
    np.testing.assert_array_equal(out["eblup"], out["synthetic"])
    assert (out["gamma"] == 0).all()
    assert (e["ci_low"] < e["eblup"]).all() and (e["eblup"] < e["ci_high"]).all()


def test_an_area_without_a_sample_does_not_change_the_fit():
    """Adding an area without a direct estimate leaves σ²_u, β and the others' EBLUPs as
    they were, and gives it x'β̂ with MSE σ²_u + x'(X'V⁻¹X)⁻¹x."""
    data, covariates, _ = _reference_inputs("national")
    fit = fit_fay_herriot(data, covariates)
    extra = data.iloc[[0]].assign(kommune_code="999", direct=np.nan, variance=np.nan)
    both = fit_fay_herriot(pd.concat([data, extra], ignore_index=True), covariates)
    assert both.sigma2_u == pytest.approx(fit.sigma2_u, rel=1e-12)
    e = both.estimates()
    np.testing.assert_allclose(e["eblup"].iloc[:-1], fit.estimates()["eblup"], rtol=1e-12)
    row = e.iloc[-1]
    x = np.r_[1.0, data.loc[0, covariates].to_numpy(dtype=float)]
    assert row["eblup"] == pytest.approx(float(x @ np.array(fit.beta)), rel=1e-12)
    assert row["mse"] == pytest.approx(fit.sigma2_u + float(x @ fit.beta_cov @ x), rel=1e-10)
    assert not row["in_sample"] and np.isnan(row["residual_std"])


def test_zero_sigma2_u_warns_and_gives_the_synthetic_estimates():
    """Direct estimates exactly on the regression line: σ²_u = 0, a ZeroRandomEffectWarning,
    every EBLUP the synthetic estimate and every γ 0; the interval of σ²_u starts at 0."""
    x = np.linspace(0, 1, 12)
    data = pd.DataFrame({"area": [str(i) for i in range(12)], "direct": 0.2 + 0.1 * x,
                         "variance": 0.01, "x": x})  # fmt: skip
    with pytest.warns(ZeroRandomEffectWarning, match="sigma2_u estimated at 0"):
        fit = fit_fay_herriot(data, ["x"], area="area")
    e = fit.estimates()
    assert fit.sigma2_u == 0 and (e["gamma"] == 0).all()
    np.testing.assert_allclose(e["eblup"], e["synthetic"])
    assert fit.sigma2_u_interval()[0] == 0


def test_diagnostics_and_coefficients_are_tidy():
    """Diagnostics: σ²_u inside its interval, standardized residuals with sd near 1 on the
    milk data; coefficients: one row per term, intercept first."""
    data, covariates, columns = _reference_inputs("milk")
    fit = fit_fay_herriot(data, covariates, **columns)
    d = fit.diagnostics()
    assert d["sigma2_u_low"] < d["sigma2_u"] < d["sigma2_u_high"]
    assert 0.6 < d["residual_sd"] < 1.4 and d["areas_in_sample"] == 43
    assert list(fit.coefficients()["term"]) == ["intercept", *covariates]
    assert "REML, 43 areas in sample of 43" in repr(fit)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.drop(columns="x"), "covariate column 'x': not in the table"),
        (lambda d: d.assign(x=["a"] + [0.5] * 9), "column 'x', area 0: 'a' is not a number"),
        (lambda d: d.assign(variance=[0.0] + [0.01] * 9), "area 0: 0.0, expected a number > 0"),
        (lambda d: d.assign(area=["0"] * 10), "area column 'area': 0 appears more than once"),
        (lambda d: d.assign(x=1.0), "collinear"),
        (lambda d: d.assign(x=[np.nan] + [0.5] * 9), "covariate 'x', area 0: missing"),
        (lambda d: d.assign(direct=[0.1, 0.2] + [np.nan] * 8), "2 areas with a direct estimate"),
    ],
)
def test_bad_input_is_named(change, message):
    """Bad input raises a SmallAreaError (a StikproveError) naming the column, area, value."""
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"area": [str(i) for i in range(10)], "direct": rng.uniform(0.1, 0.5, 10),
                         "variance": 0.01, "x": rng.uniform(size=10)})  # fmt: skip
    with pytest.raises(SmallAreaError, match=message) as info:
        fit_fay_herriot(change(data), ["x"], area="area")
    assert isinstance(info.value, StikproveError)


def test_method_is_checked():
    with pytest.raises(SmallAreaError, match="method 'FH': expected one of REML, ML, AMRL"):
        fit_fay_herriot(pd.DataFrame({"kommune_code": ["1"], "direct": [0.1],
                                      "variance": [0.1]}), [], method="FH")  # fmt: skip


def test_gvf_replaces_zero_and_small_area_variances():
    """The GVF ψ = p̄(1 - p̄)·deff̄/n applies to an estimate of 0 (se 0) and to n < min_n;
    the others keep se²; p̄ and deff̄ are n-weighted and recorded in attrs."""
    table = pd.DataFrame({"kommune_code": ["1", "2", "3"], "n": [100, 10, 50],
                          "estimate": [0.3, 0.0, 0.2], "se": [0.05, 0.0, 0.06],
                          "deff": [1.2, np.nan, 0.8], "n_eff": [83.3, np.nan, 62.5]})  # fmt: skip
    out = smooth_variances(table, min_n=30)
    p_bar = (100 * 0.3 + 50 * 0.2) / 160
    deff = (100 * 1.2 + 50 * 0.8) / 150
    assert list(out["variance_source"]) == ["direct", "gvf", "direct"]
    assert out["variance"].iloc[1] == pytest.approx(p_bar * (1 - p_bar) * deff / 10)
    assert out["variance"].iloc[0] == pytest.approx(0.05**2)
    assert out["n_eff"].iloc[1] == pytest.approx(10 / deff)
    assert out.attrs["gvf"]["pooled_rate"] == pytest.approx(p_bar)
    assert smooth_variances(table, min_n=60)["variance_source"].iloc[2] == "gvf"
    with pytest.raises(SmallAreaError, match="column 'deff' missing"):
        smooth_variances(table.drop(columns="deff"))


def test_gvf_takes_each_kommunes_finite_population_correction():
    """With N̂_d given, ψ = p̄(1 - p̄)·deff̄*/n·(1 - f) where deff̄* pools deff_d/(1 - f_d);
    a kommune sampled completely (f = 1) gets ψ ≈ 0 = its own variance and γ ≈ 1 in the
    fitted model; the arcsine model's n_eff is p̄(1 - p̄)/ψ there and n/deff elsewhere."""
    table = pd.DataFrame({"kommune_code": ["1", "2", "3", "4"], "n": [100, 10, 50, 8],
                          "estimate": [0.3, 0.4, 0.2, 0.5], "se": [0.04, 0.1, 0.05, 0.0],
                          "deff": [0.96, 0.9, 0.75, 0.0], "n_eff": [100.0, 10.0, 50.0, 8.0],
                          "population_estimate": [500.0, 20.0, 200.0, 8.0]})  # fmt: skip
    out = smooth_variances(table, min_n=30)
    p_bar = (100 * 0.3 + 10 * 0.4 + 50 * 0.2 + 8 * 0.5) / 168
    deff = (100 * 0.96 / 0.8 + 10 * 0.9 / 0.5 + 50 * 0.75 / 0.75) / 160
    np.testing.assert_allclose(out["sampling_fraction"], [0.2, 0.5, 0.25, 1.0])
    assert list(out["variance_source"]) == ["direct", "gvf", "direct", "gvf"]
    assert out["variance"].iloc[1] == pytest.approx(p_bar * (1 - p_bar) * deff / 10 * 0.5)
    assert out.attrs["gvf"]["deff"] == pytest.approx(deff)
    assert 0 < out["variance"].iloc[3] < 1e-6 * p_bar * (1 - p_bar)
    assert out["n_eff"].iloc[0] == pytest.approx(100 / 0.96)
    assert out["n_eff"].iloc[1] == pytest.approx(p_bar * (1 - p_bar) / out["variance"].iloc[1])
    without = smooth_variances(table.drop(columns="population_estimate"), min_n=30)
    assert out["variance"].iloc[1] < without["variance"].iloc[1]
    data = out.assign(x=[0.1, 0.5, 0.2, 0.9])
    fit = fit_fay_herriot(data, ["x"], direct="direct", variance="variance")
    gamma = fit.estimates().set_index("kommune_code")["gamma"]
    assert gamma["4"] == pytest.approx(1, abs=1e-3)
    assert gamma["4"] > gamma["2"]
    with pytest.raises(SmallAreaError, match="'population_estimate', row 3: 4, expected"):
        smooth_variances(table.assign(population_estimate=[500.0, 20.0, 200.0, 4.0]))


_AREA = st.tuples(st.integers(1, 80), st.floats(0.05, 0.95), st.floats(0.3, 3.0),
                  st.floats(0.0, 0.9))  # fmt: skip
"""One area of the GVF property test: n, p, design effect without fpc, sampling fraction."""


@settings(max_examples=scaled(40))
@given(
    areas=st.lists(_AREA, min_size=2, max_size=8),
    fractions=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
)
def test_gvf_never_grows_with_the_sampling_fraction(areas, fractions):
    """ψ_d of the GVF is non-increasing in the kommune's own sampling fraction f_d (the
    others' fixed), though f_d also enters the pooled design effect deff̄*."""
    n, p, deff, f = (np.array(v, dtype=float) for v in zip(*areas, strict=True))
    low, high = sorted(fractions)

    def psi(f_first: float) -> float:
        fraction = np.concatenate([[f_first], f[1:]])
        table = pd.DataFrame({"n": n, "estimate": p, "se": np.sqrt(p * (1 - p) * deff / n),
                              "deff": deff * (1 - fraction), "n_eff": n,
                              "population_estimate": n / np.maximum(fraction, 1e-9)})
        return float(smooth_variances(table, min_n=100)["variance"].iloc[0])

    assert psi(high) <= psi(low) * (1 + 1e-9)


def test_estimated_population_sums_the_weights_of_cases_with_an_outcome():
    """N̂_d = Σ N_h/n_h over the area's cases with an outcome (n_h counting only those)."""
    data = pd.DataFrame({"stratum": ["a", "a", "a", "b", "b", "c"],
                         "kommune_code": ["1", "1", "1", "1", "1", "2"],
                         "population_size": [10, 10, 10, 4, 4, 7],
                         "y": [1, 0, None, 1, 1, 0]})  # fmt: skip
    sample = StratifiedSample(data, "stratum", "population_size")
    size = estimated_population(sample, "y")
    assert size.to_dict() == pytest.approx({"1": 14.0, "2": 7.0})
    with pytest.raises(SmallAreaError, match="column 'z' missing"):
        estimated_population(sample, "z")


def test_area_covariates_from_the_population():
    """Shares and means per kommune; the most common origin is the reference (no column);
    a constant column is dropped and named in attrs."""
    population = pd.DataFrame({
        "kommune_code": ["1", "1", "1", "2", "2"],
        "sex": ["kvinde", "mand", "kvinde", "mand", "mand"],
        "origin": ["dansk", "vestlig", "dansk", "dansk", "ikke_vestlig"],
        "age": [30, 40, 50, 20, 70],
        "years_on_benefit": [1.0, None, 3.0, 2.0, 4.0], "health_exempt": [True] * 5,
    })  # fmt: skip
    out = area_covariates(population)
    assert list(out.columns) == ["kommune_code", "population_size", "share_women",
                                 "share_origin_ikke_vestlig", "share_origin_vestlig",
                                 "mean_age", "mean_years_on_benefit"]  # fmt: skip
    assert out["share_women"].tolist() == pytest.approx([2 / 3, 0.0])
    assert out["mean_years_on_benefit"].tolist() == pytest.approx([2.0, 3.0])
    assert out.attrs["dropped"] == ["share_health_exempt"]
    with pytest.raises(SmallAreaError, match="expected names from women, origin"):
        area_covariates(population, ["sex"])
    with pytest.raises(SmallAreaError, match=r"column\(s\) age missing"):
        area_covariates(population.drop(columns="age"), ["age"])


def _restricted_loglik(a: float, y: np.ndarray, X: np.ndarray, psi: np.ndarray) -> float:
    """log L_R(σ²_u) up to a constant: -½ (Σ log V_d + log|X'V⁻¹X| + y'Py)."""
    v = a + psi
    xtvx = (X / v[:, None]).T @ X
    beta = np.linalg.solve(xtvx, (X / v[:, None]).T @ y)
    r = y - X @ beta
    return -0.5 * (np.log(v).sum() + np.linalg.slogdet(xtvx)[1] + (r**2 / v).sum())


@pytest.mark.parametrize("dataset", ["milk", "national"])
def test_amrl_maximizes_the_adjusted_residual_likelihood(dataset):
    """AMRL's σ²_u maximizes log L_R(σ²_u) + log σ²_u (Li & Lahiri 2010), computed here
    directly: it beats σ²_u·(1 ± 1e-3); and it lies above the REML estimate."""
    data, covariates, columns = _reference_inputs(dataset)
    fit = fit_fay_herriot(data, covariates, method="AMRL", **columns)
    y = data[columns.get("direct", "direct")].to_numpy(dtype=float)
    psi = data[columns.get("variance", "variance")].to_numpy(dtype=float)
    X = np.column_stack([np.ones(len(data)), data[covariates].to_numpy(dtype=float)])

    def adjusted(a):
        return _restricted_loglik(a, y, X, psi) + np.log(a)

    a = fit.sigma2_u
    assert adjusted(a) > adjusted(a * 1.001) and adjusted(a) > adjusted(a * 0.999)
    assert a > fit_fay_herriot(data, covariates, **columns).sigma2_u


def test_amrl_is_positive_where_reml_is_zero():
    """Direct estimates on the regression line: REML gives 0 (and warns), AMRL a positive
    σ²_u without a warning, so each kommune keeps some weight on its own estimate."""
    x = np.linspace(0, 1, 12)
    data = pd.DataFrame({"area": [str(i) for i in range(12)], "direct": 0.2 + 0.1 * x,
                         "variance": 0.01, "x": x})  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_fay_herriot(data, ["x"], area="area", method="AMRL")
    assert fit.sigma2_u > 0 and (fit.estimates()["gamma"] > 0).all()
