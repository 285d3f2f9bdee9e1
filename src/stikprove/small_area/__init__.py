"""Small-area estimation: area-level Fay–Herriot models per kommune (docs/small_area.md).

Sits above estimation and below release and reports (docs/CONTRACTS.md).
"""

from stikprove.small_area.direct import (
    COVARIATE_SETS,
    DEFAULT_COVARIATES,
    area_covariates,
    smooth_variances,
)
from stikprove.small_area.model import (
    FH_METHODS,
    FayHerriotFit,
    SmallAreaError,
    ZeroRandomEffectWarning,
    fit_fay_herriot,
)

__all__ = [
    "COVARIATE_SETS",
    "DEFAULT_COVARIATES",
    "FH_METHODS",
    "FayHerriotFit",
    "SmallAreaError",
    "ZeroRandomEffectWarning",
    "area_covariates",
    "fit_fay_herriot",
    "smooth_variances",
]
