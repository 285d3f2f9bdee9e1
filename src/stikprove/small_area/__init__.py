"""Small-area estimation: area-level Fay–Herriot models per kommune (docs/small_area.md).

Sits above estimation (whose public API it calls) and below release and reports
(docs/CONTRACTS.md); it never imports release, reports, web or commands.

API summary
-----------
End to end, from a study::

    from stikprove.estimation import StratifiedSample
    from stikprove.small_area import small_area_estimates
    sample = StratifiedSample.from_study(study)
    result = small_area_estimates(sample, study.units(), "too_ill")   # SmallAreaEstimates
    result.table      # kommune_code, n, direct, direct_se, variance_source, population_size,
                      # gamma, synthetic, estimate, mse, rmse, ci_low, ci_high
    result.fit        # the ArcsineFit (model="arcsin", default) or FayHerriotFit ("linear")

The pieces (each a small function with a frozen result or a tidy DataFrame):

- :func:`smooth_variances` (direct.py): the direct estimates by kommune with the variance the
  model takes, ψ_d = se² or the GVF p̄(1 - p̄)·deff̄*/n_d·(1 - f_d) where unstable or zero
  (f_d the kommune's sampling fraction; :mod:`stikprove.small_area.direct`).
- :func:`area_covariates` (direct.py): covariates per kommune from the population;
  :data:`COVARIATE_SETS`, :data:`DEFAULT_COVARIATES`.
- :func:`fit_fay_herriot` -> :class:`FayHerriotFit` (model.py): REML/ML by Fisher scoring as
  R sae's eblupFH; EBLUP, synthetic estimate, γ_d; MSE by Prasad–Rao (REML) or Datta–Lahiri
  (ML) as sae's mseFH; diagnostics; :class:`ZeroRandomEffectWarning` when σ²_u = 0.
- :func:`fit_arcsine_fay_herriot` -> :class:`ArcsineFit` (arcsine.py): the model on
  arcsin(√p), back-transformed, parametric bootstrap MSE and intervals (B, seed).
- :func:`benchmark` (benchmarking.py): estimates whose population-weighted mean is the national
  direct estimate ("ratio" or "difference").
- :func:`small_area_estimates` -> :class:`SmallAreaEstimates` (kommuner.py): all of it.

Bad input raises :class:`SmallAreaError` (a :class:`stikprove.errors.StikproveError`).
"""

from stikprove.small_area.arcsine import ARCSINE_COLUMNS, ArcsineFit, fit_arcsine_fay_herriot
from stikprove.small_area.benchmarking import BENCHMARK_METHODS, benchmark
from stikprove.small_area.direct import (
    COVARIATE_SETS,
    DEFAULT_COVARIATES,
    DEFAULT_MIN_N,
    area_covariates,
    smooth_variances,
)
from stikprove.small_area.kommuner import (
    MODELS,
    MSE_METHODS,
    SMALL_AREA_COLUMNS,
    SmallAreaEstimates,
    conditional_mse,
    estimated_population,
    small_area_estimates,
)
from stikprove.small_area.model import (
    ESTIMATE_COLUMNS,
    FH_METHODS,
    FayHerriotFit,
    SmallAreaError,
    ZeroRandomEffectWarning,
    fit_fay_herriot,
)

__all__ = [
    "ARCSINE_COLUMNS",
    "BENCHMARK_METHODS",
    "COVARIATE_SETS",
    "DEFAULT_COVARIATES",
    "DEFAULT_MIN_N",
    "ESTIMATE_COLUMNS",
    "FH_METHODS",
    "MODELS",
    "MSE_METHODS",
    "SMALL_AREA_COLUMNS",
    "ArcsineFit",
    "FayHerriotFit",
    "SmallAreaError",
    "SmallAreaEstimates",
    "ZeroRandomEffectWarning",
    "area_covariates",
    "benchmark",
    "conditional_mse",
    "estimated_population",
    "fit_arcsine_fay_herriot",
    "fit_fay_herriot",
    "small_area_estimates",
    "smooth_variances",
]
