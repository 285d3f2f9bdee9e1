"""Model-based estimates for every kommune of a study, end to end (docs/small_area.md).

:func:`small_area_estimates` takes the design object (:class:`stikprove.estimation.
StratifiedSample`) and the study population (the frame, or a study's ``units()``: every case
of the study population), and does the steps in turn:

1. the direct estimate and design variance per kommune (``sample.estimate(outcome,
   by=area)``, the package's default method) and the national direct estimate;
2. the variances smoothed by the GVF where unstable or zero (:func:`smooth_variances`), with
   each kommune's sampling fraction n_d / N̂_d (:func:`estimated_population`) for its finite
   population correction;
3. the covariates per kommune from the population (:func:`area_covariates`; constant ones
   dropped);
4. the model: ``"arcsin"`` (default for proportions: :func:`fit_arcsine_fay_herriot`, MSE and
   interval by the parametric bootstrap) or ``"linear"`` (:func:`fit_fay_herriot`, MSE by
   Prasad–Rao for REML, Datta–Lahiri for ML; interval eblup ∓ z·rmse clipped to [0, 1]);
   With ``mse="conditional"`` (linear model only) a sampled kommune's MSE is the larger of
   the model's and the area-specific one of Rivest & Belmonte (2000) (Rao & Molina 2015,
   ch. 6): mse_d + B_d² ((y_d - x_d'β̂)² - (σ̂²_u + ψ_d)), B_d = 1 - γ_d. The model's MSE
   is an average over kommune effects drawn from the model; the added term estimates, from the
   kommune's own residual, how far its effect (and so its EBLUP's bias B_d (x_d'β - θ_d)) is
   beyond that average, so a kommune whose direct estimate disagrees with its synthetic one
   more than the model expects gets a wider interval. Taking the larger keeps the interval
   never narrower than the model's (the area-specific estimate alone is unbiased given the
   kommune but can be negative);
5. optionally benchmarking to the national direct estimate (:func:`benchmark`): the estimate
   and its interval limits are adjusted alike; the MSE is kept.

Kommuner of the population without a sampled case with an outcome get the synthetic estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stikprove.small_area.arcsine import ArcsineFit, fit_arcsine_fay_herriot
from stikprove.small_area.benchmarking import benchmark as benchmark_estimates
from stikprove.small_area.direct import (
    DEFAULT_COVARIATES,
    DEFAULT_MIN_N,
    area_covariates,
    smooth_variances,
)
from stikprove.small_area.model import FayHerriotFit, SmallAreaError, fit_fay_herriot

__all__ = [
    "MODELS",
    "MSE_METHODS",
    "SMALL_AREA_COLUMNS",
    "SmallAreaEstimates",
    "estimated_population",
    "small_area_estimates",
]

MSE_METHODS = ("model", "conditional")
"""``mse`` of :func:`small_area_estimates`: the model's MSE, or with the kommune's own
residual (module docstring, step 4)."""

MODELS = ("arcsin", "linear")
"""The area-level models: arcsine-transformed (bootstrap MSE) or on the proportion scale."""

SMALL_AREA_COLUMNS = (
    "n", "direct", "direct_se", "variance_source", "population_size", "gamma", "synthetic",
    "estimate", "mse", "rmse", "ci_low", "ci_high",
)  # fmt: skip
"""Columns of :meth:`SmallAreaEstimates.table` after the area column."""


@dataclass(frozen=True)
class SmallAreaEstimates:
    """Model-based kommune estimates of one outcome (frozen); ``table`` is tidy:

    the area column, ``n`` (cases with an outcome; 0 without a sample), ``direct`` and
    ``direct_se`` (the design-based estimate), ``variance_source`` ("direct", "gvf" or ""
    without a sample), ``population_size`` (cases in the study population), ``gamma`` (the
    shrinkage factor: the direct estimate's weight, on the model's scale), ``synthetic``
    (the covariates' prediction), ``estimate`` (the model-based estimate: the EBLUP,
    benchmarked when asked), ``mse``, ``rmse`` and ``ci_low``, ``ci_high`` at
    ``confidence_level``.
    """

    outcome: str
    model: str
    method: str
    covariates: tuple[str, ...]
    dropped_covariates: tuple[str, ...]
    national_direct: float
    gvf: dict = field(repr=False)
    benchmark: str | None
    confidence_level: float
    fit: FayHerriotFit | ArcsineFit = field(repr=False)
    table: pd.DataFrame = field(repr=False)

    def describe(self) -> str:
        """One line naming the model, its fit and its options (for a caption)."""
        how = (f"arcsine-transformed Fay–Herriot, {self.method}, bootstrap MSE "
               f"(B={self.fit.bootstrap}, seed {self.fit.seed})"  # type: ignore[union-attr]
               if self.model == "arcsin" else
               f"Fay–Herriot, {self.method}, MSE by "
               f"{'Datta–Lahiri' if self.method == 'ML' else 'Prasad–Rao'}")  # fmt: skip
        bench = f"; benchmarked ({self.benchmark}) to the national direct estimate " \
            f"{self.national_direct:.4f}" if self.benchmark else ""  # fmt: skip
        return (
            f"{how}; sigma2_u {self.fit.sigma2_u:.3g}; covariates "
            f"{', '.join(self.covariates) or '(intercept only)'}{bench}"
        )

    def __repr__(self) -> str:
        return f"SmallAreaEstimates({self.outcome!r}, {len(self.table)} areas; {self.describe()})"


def _validate_options(model: str, method: str, benchmark: str | None, mse: str = "model") -> None:
    if model not in MODELS:
        raise SmallAreaError(f"model {model!r}: expected one of {', '.join(MODELS)}")
    if mse not in MSE_METHODS:
        raise SmallAreaError(f"mse {mse!r}: expected one of {', '.join(MSE_METHODS)}")
    if mse == "conditional" and model != "linear":
        raise SmallAreaError("mse 'conditional': only for model 'linear' (the arcsine "
                             "model's MSE is the parametric bootstrap's)")  # fmt: skip
    if benchmark is not None and benchmark not in ("ratio", "difference"):
        raise SmallAreaError(f"benchmark {benchmark!r}: expected ratio, difference or None")


def conditional_mse(estimates: pd.DataFrame, sigma2_u: float,
                    confidence_level: float = 0.95) -> pd.DataFrame:  # fmt: skip
    """The linear fit's table (:meth:`FayHerriotFit.estimates`) with ``mse``, ``rmse`` and
    the interval eblup ∓ z·rmse from the larger of the model's MSE and the area-specific one,
    mse_d + B_d² (r_d² - (σ̂²_u + ψ_d)), r_d = y_d - x_d'β̂, B_d = 1 - γ_d (module docstring,
    step 4); kommuner without a sample keep the model's."""
    from scipy import stats

    out = estimates.copy()
    sampled = out["in_sample"].to_numpy(dtype=bool)
    b = 1.0 - out["gamma"].to_numpy(dtype=float)
    r = out["direct"].to_numpy(dtype=float) - out["synthetic"].to_numpy(dtype=float)
    psi = out["variance"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        excess = np.where(sampled, np.maximum(r**2 - (sigma2_u + psi), 0.0), 0.0)
    mse = out["mse"].to_numpy(dtype=float) + b**2 * excess
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    out["mse"], out["rmse"] = mse, np.sqrt(mse)
    out["ci_low"] = out["eblup"] - z * out["rmse"]
    out["ci_high"] = out["eblup"] + z * out["rmse"]
    return out


def estimated_population(sample, outcome: str, area: str = "kommune_code") -> pd.Series:
    """N̂_d per area (indexed by the area's values as strings): the sum of the design weights
    N_h / n_h of the area's cases with an outcome, n_h the stratum's cases with an outcome
    (the weights of ``sample.estimate``, which drops a missing outcome within its stratum).
    For strata nested in the areas it is Σ N_h over the area's strata with such a case: the
    population whose finite population correction the direct variance carries."""
    data = sample.data
    for column in (outcome, area):
        if column not in data.columns:
            raise SmallAreaError(f"sample: column {column!r} missing")
    rows = data[data[outcome].notna()]
    strata = list(sample.strata)
    n_h = rows.groupby(strata, sort=False, observed=True, dropna=False)[outcome].transform("size")
    weights = pd.to_numeric(rows[sample.population_size], errors="coerce") / n_h
    return weights.groupby(rows[area].astype(str), sort=True).sum()


def small_area_estimates(
    sample,
    population: pd.DataFrame,
    outcome: str,
    *,
    area: str = "kommune_code",
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    model: str = "arcsin",
    method: str = "REML",
    min_n: int = DEFAULT_MIN_N,
    bootstrap: int = 200,
    seed: int = 1,
    benchmark: str | None = None,
    confidence_level: float = 0.95,
    mse: str = "model",
) -> SmallAreaEstimates:
    """Model-based estimates of ``outcome`` for every kommune of ``population`` (module
    docstring for the steps).

    ``sample``: the :class:`~stikprove.estimation.StratifiedSample` (e.g.
    ``StratifiedSample.from_study(study)``); ``population``: every case of the study
    population with the area and covariate columns (``study.units()``, or the eligible
    frame); ``covariates``: covariate set names (:data:`stikprove.small_area.COVARIATE_SETS`;
    a study's protocol chooses them in ``[small_area] covariates``).
    """
    _validate_options(model, method, benchmark, mse)
    direct = sample.estimate(outcome, by=area, confidence_level=confidence_level)
    overall = sample.estimate(outcome, confidence_level=confidence_level)
    national = float(overall["estimate"].iloc[0])
    size = estimated_population(sample, outcome, area)
    direct = direct.assign(population_estimate=direct[area].astype(str).map(size).to_numpy())
    inputs = smooth_variances(direct, min_n=min_n)
    cov = area_covariates(population, covariates, area=area)
    foreign = sorted(set(inputs[area].astype(str)) - set(cov[area].astype(str)))
    if foreign:
        raise SmallAreaError(
            f"{area} {', '.join(foreign)}: has sampled cases but no case in the population "
            "given for the covariates (expected the study's whole population)"
        )
    columns = [c for c in cov.columns if c not in (area, "population_size")]
    cov[area] = cov[area].astype(str)
    inputs[area] = inputs[area].astype(str)
    data = cov.merge(inputs, on=area, how="left", validate="one_to_one")
    if model == "arcsin":
        fit = fit_arcsine_fay_herriot(
            data, columns, area=area, method=method, bootstrap=bootstrap, seed=seed,
            confidence_level=confidence_level,
        )  # fmt: skip
        est = fit.estimates()
        low, high = est["ci_low"].to_numpy(), est["ci_high"].to_numpy()
    else:
        fit = fit_fay_herriot(data, columns, area=area, method=method,
                              confidence_level=confidence_level)  # fmt: skip
        est = fit.estimates()
        if mse == "conditional":
            est = conditional_mse(est, fit.sigma2_u, confidence_level)
        low = np.clip(est["ci_low"].to_numpy(), 0, 1)
        high = np.clip(est["ci_high"].to_numpy(), 0, 1)
    estimate = est["eblup"].to_numpy()
    synthetic = est["synthetic"].to_numpy()
    if model == "linear":
        estimate, synthetic = np.clip(estimate, 0, 1), np.clip(synthetic, 0, 1)
    if benchmark is not None:
        size = data["population_size"].to_numpy()
        adjusted = benchmark_estimates(estimate, size, national, benchmark)
        if benchmark == "ratio":
            factor = np.divide(adjusted, estimate, out=np.ones_like(estimate), where=estimate > 0)
            low, high = low * factor, high * factor
        else:
            low, high = low + (adjusted - estimate), high + (adjusted - estimate)
        low, high, estimate = np.clip(low, 0, 1), np.clip(high, 0, 1), adjusted
    table = pd.DataFrame({
        area: data[area], "n": data["n"].fillna(0).astype(int), "direct": data["direct"],
        "direct_se": data["se"], "variance_source": data["variance_source"].fillna(""),
        "population_size": data["population_size"].astype(int), "gamma": est["gamma"],
        "synthetic": synthetic, "estimate": estimate, "mse": est["mse"], "rmse": est["rmse"],
        "ci_low": low, "ci_high": high,
    })  # fmt: skip
    return SmallAreaEstimates(
        outcome=outcome, model=model, method=method, covariates=tuple(columns),
        dropped_covariates=tuple(cov.attrs.get("dropped", ())), national_direct=national,
        gvf=dict(inputs.attrs.get("gvf", {})), benchmark=benchmark,
        confidence_level=confidence_level, fit=fit, table=table,
    )  # fmt: skip
