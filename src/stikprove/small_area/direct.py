"""The Fay–Herriot model's inputs: direct estimates with smoothed variances, and area covariates.

:func:`smooth_variances` replaces a kommune's design variance where it is unstable or zero by
a generalised variance function (GVF) of the kind statistical offices use for proportions
(Wolter 2007, ch. 7; Rao & Molina 2015, section 6.4.1), with the finite population correction
of a stratified sample without replacement:

    ψ_d = p̄ (1 - p̄) · deff̄* / n_d · (1 - f_d)

with p̄ the pooled rate (the national direct estimate when given, else the n-weighted mean
of the direct estimates), n_d the area's cases with an outcome, f_d = n_d / N̂_d its sampling
fraction (N̂_d the ``population_estimate`` column: the sum of the design weights of those
cases, the area's population as the direct estimator's variance sees it; f_d = 0, the
with-replacement GVF, when the column is absent), and deff̄* the n-weighted mean of the
areas' design effects with their own finite population correction taken out,
deff_d / (1 - f_d), over the areas with a usable one (deff_d > 0, f_d < 1). The direct
variance (and so deff_d) carries each area's fpc; the GVF puts it back per area, so a
kommune sampled at a high fraction (the small kommuner, with at least 3 cases per stratum)
is not given the variance of a with-replacement sample. ψ_d is floored at
:data:`GVF_FLOOR` · p̄ (1 - p̄) / n_d (the model needs ψ_d > 0): a kommune sampled
completely has a direct estimate without sampling error and gets γ_d ≈ 1.
It applies where the area's own variance is missing or zero (an estimate of 0 or 1, a single
case) or the area has fewer than ``min_n`` cases with an outcome (default 30, where the direct
variance is itself too noisy to be taken as known); elsewhere the design variance ψ_d = se² is
kept. ``variance_source`` says which.

The arcsine model (:func:`~stikprove.small_area.fit_arcsine_fay_herriot`) takes ψ_d =
1/(4 n_eff,d) on its scale; :func:`smooth_variances` gives it the same variance by the delta
method (Var asin√p̂ ≈ Var p̂ / (4 p (1 - p))): n_eff,d = n_d / deff_d (= p̂(1 - p̂)/se²,
fpc included) where the design variance is kept, n_d / (deff̄* (1 - f_d)) where the GVF
applies.

:func:`area_covariates` aggregates the frame (or a study's units: every case of the study
population) per kommune: the covariate names it can give are in :data:`COVARIATE_SETS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stikprove.protocol.model import SMALL_AREA_COVARIATES
from stikprove.small_area.model import SmallAreaError

__all__ = [
    "COVARIATE_SETS",
    "DEFAULT_COVARIATES",
    "DEFAULT_MIN_N",
    "GVF_FLOOR",
    "area_covariates",
    "smooth_variances",
]

DEFAULT_MIN_N = 30
"""Areas with fewer cases with an outcome take the GVF variance."""

GVF_FLOOR = 1e-6
"""The GVF's smallest ψ_d, as a share of the with-replacement variance p̄(1 - p̄)/n_d: only
keeps ψ_d > 0 for a kommune sampled completely (f_d = 1)."""

COVARIATE_SETS = {
    "women": "share_women: share of cases with sex 'kvinde'",
    "origin": "share_origin_<group>: share of each origin value but the most common one "
    "(the reference)",
    "age": "mean_age: mean age",
    "years_on_benefit": "mean_years_on_benefit: mean years on benefit (missing values ignored)",
    "health_exempt": "share_health_exempt: share of health-exempt cases",
}
"""Covariate set name (as the protocol's ``[small_area] covariates`` lists them; the names
are :data:`stikprove.protocol.model.SMALL_AREA_COVARIATES`) -> the column(s) it adds per
kommune."""

DEFAULT_COVARIATES = SMALL_AREA_COVARIATES
"""All five sets; a set whose columns are constant over the kommuner (e.g. health_exempt
when only health-exempt cases are eligible) is dropped by :func:`area_covariates`."""

_NEEDS = {"women": "sex", "origin": "origin", "age": "age",
          "years_on_benefit": "years_on_benefit", "health_exempt": "health_exempt"}  # fmt: skip


def smooth_variances(
    estimates: pd.DataFrame,
    *,
    min_n: int = DEFAULT_MIN_N,
    pooled_rate: float | None = None,
) -> pd.DataFrame:
    """Direct estimates per area with the variance the model takes (module docstring).

    ``estimates`` is the table of :func:`stikprove.estimation.estimate_proportions` (or
    ``StratifiedSample.estimate``) by area: columns n, estimate, se, deff, n_eff, and
    optionally ``population_estimate`` (N̂_d, the sum of the design weights of the area's
    cases with an outcome, for the finite population correction; see
    :func:`stikprove.small_area.kommuner.estimated_population`). Returns it with ``direct``
    (= estimate), ``sampling_fraction`` (f_d; 0 without ``population_estimate``),
    ``variance`` (ψ_d), ``variance_source`` ("direct" or "gvf") and ``n_eff`` as the arcsine
    model takes it (module docstring).
    """
    for column in ("n", "estimate", "se", "deff", "n_eff"):
        if column not in estimates.columns:
            raise SmallAreaError(
                f"direct estimates: column {column!r} missing; expected the table of "
                "estimate_proportions by area (n, estimate, se, deff, n_eff)"
            )
    if min_n < 1:
        raise SmallAreaError(f"min_n {min_n!r}: expected a whole number >= 1")
    out = estimates.copy()
    n = out["n"].to_numpy(dtype=float)
    p = out["estimate"].to_numpy(dtype=float)
    se = out["se"].to_numpy(dtype=float)
    deff = out["deff"].to_numpy(dtype=float)
    has = n > 0
    if not has.any():
        raise SmallAreaError("direct estimates: no area has a case with an outcome")
    fraction = _sampling_fraction(out, n, has)
    p_bar = float(np.average(p[has], weights=n[has])) if pooled_rate is None else pooled_rate
    if not 0 < p_bar < 1:
        raise SmallAreaError(
            f"pooled rate {p_bar!r}: expected a number strictly between 0 and 1 (no variance "
            "can be modelled when every case has the same outcome)"
        )
    usable = has & np.isfinite(deff) & (deff > 0) & (fraction < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        deff_wr = deff / (1 - fraction)  # the area's design effect without its fpc
        deff_bar = float(np.average(deff_wr[usable], weights=n[usable])) if usable.any() else 1.0
        floor = GVF_FLOOR * p_bar * (1 - p_bar) / n
        gvf = np.maximum(p_bar * (1 - p_bar) * deff_bar / n * (1 - fraction), floor)
        own = se**2
        own_n_eff = n / deff
    use_gvf = has & (~np.isfinite(own) | (own <= 0) | (n < min_n))
    out["direct"] = np.where(has, p, np.nan)
    out["sampling_fraction"] = np.where(has, fraction, np.nan)
    out["variance"] = np.where(use_gvf, gvf, np.where(has, own, np.nan))
    out["variance_source"] = np.where(use_gvf, "gvf", np.where(has, "direct", ""))
    with np.errstate(divide="ignore", invalid="ignore"):
        gvf_n_eff = p_bar * (1 - p_bar) / gvf
    n_eff = out["n_eff"].to_numpy(dtype=float)
    own_ok = np.isfinite(own_n_eff) & (own_n_eff > 0)
    fallback = np.where(np.isfinite(n_eff) & (n_eff > 0), n_eff, gvf_n_eff)
    out["n_eff"] = np.where(~has, n_eff, np.where(use_gvf, gvf_n_eff,
                                                   np.where(own_ok, own_n_eff, fallback)))
    out.attrs["gvf"] = {"pooled_rate": p_bar, "deff": deff_bar, "min_n": min_n,
                        "fpc": "population_estimate" in out.columns}  # fmt: skip
    return out


def _sampling_fraction(out: pd.DataFrame, n: np.ndarray, has: np.ndarray) -> np.ndarray:
    """f_d = n_d / N̂_d from the ``population_estimate`` column (0 without it)."""
    if "population_estimate" not in out.columns:
        return np.zeros_like(n)
    size = pd.to_numeric(out["population_estimate"], errors="coerce").to_numpy(dtype=float)
    bad = has & ~(np.isfinite(size) & (size >= n))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SmallAreaError(
            f"direct estimates: column 'population_estimate', row {i}: {size[i]:g}, expected "
            f"the area's estimated population, a number >= its {int(n[i])} cases with an outcome"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(has, np.clip(n / size, 0.0, 1.0), 0.0)


def area_covariates(
    population: pd.DataFrame,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    *,
    area: str = "kommune_code",
) -> pd.DataFrame:
    """Covariates per area from every case of the population (a frame, or a study's units).

    Returns one row per area: ``area``, ``population_size`` (cases), then the columns of
    each named set (:data:`COVARIATE_SETS`), in that order. Columns constant over the areas
    are dropped (they are collinear with the intercept); ``.attrs["dropped"]`` names them.
    """
    unknown = [c for c in covariates if c not in COVARIATE_SETS]
    if unknown:
        raise SmallAreaError(
            f"covariates {unknown}: expected names from {', '.join(COVARIATE_SETS)}"
        )
    needed = [area, *(_NEEDS[c] for c in covariates)]
    missing = [c for c in needed if c not in population.columns]
    if missing:
        raise SmallAreaError(
            f"population: column(s) {', '.join(missing)} missing for the covariates "
            f"{', '.join(covariates)}"
        )
    if population.empty:
        raise SmallAreaError("population: no cases")
    grouped = population.groupby(area, sort=True, observed=True)
    out = pd.DataFrame({"population_size": grouped.size()})
    for name in covariates:
        if name == "women":
            out["share_women"] = grouped["sex"].agg(lambda s: float((s == "kvinde").mean()))
        elif name == "origin":
            counts = pd.crosstab(population[area], population["origin"])
            shares = counts.div(counts.sum(axis=1), axis=0)
            reference = counts.sum().idxmax()
            for group in sorted(c for c in shares.columns if c != reference):
                out[f"share_origin_{group}"] = shares[group]
        elif name in ("age", "years_on_benefit"):
            values = pd.to_numeric(population[_NEEDS[name]], errors="coerce")
            out[f"mean_{name}"] = values.groupby(population[area]).mean()
        else:
            exempt = population["health_exempt"].astype(str).str.lower().isin(("true", "1"))
            out["share_health_exempt"] = exempt.groupby(population[area]).mean()
    columns = [c for c in out.columns if c != "population_size"]
    dropped = [c for c in columns if (out[c] == out[c].iloc[0]).all()]
    out = out.drop(columns=dropped).reset_index()
    out.attrs["dropped"] = dropped
    return out
