"""The area-level Fay–Herriot model: REML/ML fit, EBLUP, synthetic estimates and their MSE.

Model (Fay & Herriot 1979), for areas d = 1..m with a direct estimate y_d:

    y_d = θ_d + e_d,   e_d ~ N(0, ψ_d)        (sampling error; ψ_d the design variance, known)
    θ_d = x_d'β + u_d, u_d ~ N(0, σ²_u)       (linking model; x_d the area covariates)

Fitted by Fisher scoring for σ²_u, started at the median of ψ_d, exactly as R's sae
``eblupFH`` (Molina & Marhuenda 2015) iterates it: REML score
s = -½ tr(P) + ½ y'PPy with information ½ tr(PP), ML score s = -½ Σ 1/(σ²_u + ψ_d) + ½ y'PPy
with information ½ Σ 1/(σ²_u + ψ_d)², P = V⁻¹ - V⁻¹X(X'V⁻¹X)⁻¹X'V⁻¹; the estimate is
truncated at 0. Then β̂ = (X'V̂⁻¹X)⁻¹X'V̂⁻¹y, the shrinkage factor γ_d = σ̂²_u/(σ̂²_u + ψ_d),
the EBLUP θ̂_d = γ_d y_d + (1 - γ_d) x_d'β̂ and, for an area without a direct estimate, the
synthetic estimate x_d'β̂.

MSE as sae's ``mseFH``: g1 = γ_d ψ_d, g2 = (1 - γ_d)² x_d'(X'V̂⁻¹X)⁻¹x_d,
g3 = (1 - γ_d)² V̄/(σ̂²_u + ψ_d) with V̄ = 2/Σ(σ̂²_u + ψ_d)⁻², and
MSE = g1 + g2 + 2 g3 for REML (Prasad & Rao 1990; Datta & Lahiri 2000) and
MSE = g1 + g2 + 2 g3 - b (1 - γ_d)² for ML, b = -tr((X'V̂⁻¹X)⁻¹X'V̂⁻²X)/Σ(σ̂²_u + ψ_d)⁻² the
bias of the ML estimator (Datta & Lahiri 2000).

A third method, ``"AMRL"``, maximizes the adjusted residual likelihood L_R(σ²_u)·σ²_u (Li &
Lahiri 2010; emdi's ``method = "amrl"``), which is never 0: with few areas REML puts σ̂²_u at
or near 0 in a share of samples, and the EBLUP and its MSE then lean wholly on the synthetic
estimate. Its MSE here is the Prasad–Rao formula at the adjusted estimate (an approximation;
the arcsine model's bootstrap needs no formula). Not checked against an outside package.

An area without a direct estimate has MSE = σ̂²_u + x_d'(X'V̂⁻¹X)⁻¹x_d (Rao & Molina 2015,
section 6.2.3).

Written by hand: no maintained Python library gives the area-level model with these MSEs and
sae's exact iteration (samplics' ``EblupAreaModel`` is archived and unmaintained; its REML
agrees, benchmarks/README.md). Checked against sae 1.3 to 1e-6
(tests/reference/fay_herriot_sae.R).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from stikprove.errors import StikproveError

__all__ = [
    "ESTIMATE_COLUMNS",
    "FH_METHODS",
    "FayHerriotFit",
    "SmallAreaError",
    "ZeroRandomEffectWarning",
    "fit_arrays",
    "fit_fay_herriot",
]

FH_METHODS = ("REML", "ML", "AMRL")
"""Methods of fitting σ²_u: REML (MSE by Prasad–Rao), ML (MSE by Datta–Lahiri), and AMRL,
the adjusted residual likelihood of Li & Lahiri (2010), never 0 (the Prasad–Rao formula)."""

ESTIMATE_COLUMNS = (
    "in_sample", "direct", "variance", "synthetic", "gamma", "eblup", "g1", "g2", "g3",
    "mse", "rmse", "ci_low", "ci_high", "residual_std",
)  # fmt: skip
"""Columns of :meth:`FayHerriotFit.estimates` after the area column."""


class SmallAreaError(StikproveError):
    """A small-area model cannot be fitted to the data as given."""


class ZeroRandomEffectWarning(UserWarning):
    """σ²_u was estimated at zero: every EBLUP is the synthetic estimate (no area effect);
    the MSEs then rest on the covariates alone. Check the covariates and the variances."""


@dataclass(frozen=True)
class _Core:
    """The numbers of one fit on arrays (the fixed iteration, no labels)."""

    sigma2_u: float
    beta: np.ndarray
    information: float
    iterations: int
    converged: bool
    loglike: float


FISHER_STEPS_BEFORE_BRACKETING = 20
"""Fisher scoring steps before a slowly converging (oscillating) iteration is finished by
Brent's method on the score, between the last iterates of either sign."""


def _score_function(y: np.ndarray, X: np.ndarray, psi: np.ndarray, method: str):
    """The score of σ²_u and its Fisher information (REML or ML), as sae's eblupFH."""

    def score(a: float) -> tuple[float, float]:
        vi = 1.0 / (a + psi)
        xtvi = (vi[:, None] * X).T
        q = np.linalg.inv(xtvi @ X)
        p = np.diag(vi) - xtvi.T @ q @ xtvi
        py = p @ y
        if method == "REML":
            return -0.5 * np.trace(p) + 0.5 * (py @ py), 0.5 * np.sum(p * p)  # tr(PP)
        return -0.5 * vi.sum() + 0.5 * (py @ py), 0.5 * np.sum(vi**2)

    return score


def _fisher_scoring(y: np.ndarray, X: np.ndarray, psi: np.ndarray, method: str,
                    max_iter: int, tolerance: float) -> tuple[float, float, int, bool]:  # fmt: skip
    """σ²_u by Fisher scoring as sae's eblupFH: start at median(ψ), stop when the relative
    change is below ``tolerance``; truncated at 0 (an iterate below 0 is set to 0, and the
    iteration stops there when the score at 0 is negative: the boundary maximum). With few
    areas the iterates can oscillate around the root for many steps: after
    :data:`FISHER_STEPS_BEFORE_BRACKETING` steps the root of the score is found by Brent's
    method between the last iterates with a positive and a negative score (the same root)."""
    if method == "AMRL":
        return _adjusted_residual_likelihood(y, X, psi)
    score = _score_function(y, X, psi, method)
    a = float(np.median(psi))
    below, above = None, None  # iterates with a positive / negative score
    for k in range(1, max_iter + 1):
        s, information = score(a)
        if s > 0:
            below = a
        elif s < 0:
            above = a
        new = a + s / information
        if new < 0 and a == 0:
            return 0.0, float(information), k, True
        new = max(new, 0.0)
        diff = abs(new - a) / a if a > 0 else abs(new - a)
        a = new
        if diff <= tolerance:
            return a, float(score(a)[1]), k, True
        if k >= FISHER_STEPS_BEFORE_BRACKETING and below is not None and above is not None:
            root = optimize.brentq(lambda v: score(v)[0], below, above, xtol=1e-15,
                                   rtol=4 * np.finfo(float).eps)  # fmt: skip
            return float(root), float(score(root)[1]), k, True
    return a, float(score(a)[1]), max_iter, False


def _adjusted_residual_likelihood(y: np.ndarray, X: np.ndarray,
                                  psi: np.ndarray) -> tuple[float, float, int, bool]:  # fmt: skip
    """σ²_u maximizing the adjusted residual likelihood L_R(σ²_u)·σ²_u (Li & Lahiri 2010;
    emdi's method "amrl"): the root of the REML score + 1/σ²_u, by Brent's method. The
    adjustment makes the estimate strictly positive, so the EBLUP never collapses onto the
    synthetic estimate (the REML estimate is 0 in a share of small samples)."""
    score = _score_function(y, X, psi, "REML")

    def adjusted(a: float) -> float:
        return score(a)[0] + 1.0 / a

    low = 1e-10 * float(np.median(psi))
    high = float(np.median(psi))
    steps = 0
    while adjusted(high) > 0:
        high *= 2
        steps += 1
        if steps > 200:
            return high, float(score(high)[1]), steps, False
    root = optimize.brentq(adjusted, low, high, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    return float(root), float(score(root)[1]), steps + 1, True


def fit_arrays(y: np.ndarray, X: np.ndarray, psi: np.ndarray, method: str = "REML",
               max_iter: int = 100, tolerance: float = 1e-10) -> _Core:  # fmt: skip
    """The fit on arrays of the in-sample areas (no checks; for the bootstrap's refits)."""
    a, information, k, converged = _fisher_scoring(y, X, psi, method, max_iter, tolerance)
    vi = 1.0 / (a + psi)
    xtvi = (vi[:, None] * X).T
    beta = np.linalg.solve(xtvi @ X, xtvi @ y)
    resid = y - X @ beta
    loglike = -0.5 * float(np.sum(np.log(2 * np.pi * (a + psi)) + resid**2 * vi))
    return _Core(a, beta, float(information), k, converged, loglike)


@dataclass(frozen=True)
class FayHerriotFit:
    """A fitted Fay–Herriot model (frozen). Build it with :func:`fit_fay_herriot`.

    ``estimates()`` is the tidy table per area, ``coefficients()`` the regression
    coefficients; ``sigma2_u`` (σ̂²_u) with ``sigma2_u_se`` (from the Fisher information) and
    ``sigma2_u_interval()``.
    """

    method: str
    area: str
    covariates: tuple[str, ...]
    sigma2_u: float
    sigma2_u_se: float
    beta: tuple[float, ...]
    """Coefficients, the intercept first, then ``covariates`` in order."""
    beta_cov: np.ndarray = field(repr=False)
    iterations: int
    converged: bool
    loglike: float
    confidence_level: float
    table: pd.DataFrame = field(repr=False)

    def estimates(self) -> pd.DataFrame:
        """One row per area: the area column, then

        - ``in_sample``: the area has a direct estimate (False: synthetic only);
        - ``direct``, ``variance``: y_d and ψ_d as given (NaN out of sample);
        - ``synthetic``: x_d'β̂; ``gamma``: γ_d = σ̂²_u/(σ̂²_u + ψ_d) (0 out of sample);
        - ``eblup``: γ_d y_d + (1 - γ_d) x_d'β̂ (the synthetic estimate out of sample);
        - ``g1``, ``g2``, ``g3``: the MSE's terms (module docstring); ``mse``, ``rmse``;
        - ``ci_low``, ``ci_high``: eblup ∓ z·rmse at ``confidence_level`` (normal);
        - ``residual_std``: (y_d - x_d'β̂)/√(σ̂²_u + ψ_d), standard normal under the model.
        """
        return self.table.copy()

    def coefficients(self) -> pd.DataFrame:
        """term (``intercept`` and the covariates), estimate, se, z, p_value (normal, as sae)."""
        se = np.sqrt(np.diag(self.beta_cov))
        est = np.asarray(self.beta)
        z = est / se
        return pd.DataFrame({
            "term": ["intercept", *self.covariates], "estimate": est, "se": se, "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
        })  # fmt: skip

    def sigma2_u_interval(self, confidence_level: float | None = None) -> tuple[float, float]:
        """Wald interval for σ²_u from the Fisher information, truncated at 0."""
        level = self.confidence_level if confidence_level is None else confidence_level
        z = stats.norm.ppf(0.5 + level / 2)
        half = z * self.sigma2_u_se
        return (max(0.0, self.sigma2_u - half), self.sigma2_u + half)

    def diagnostics(self) -> dict[str, float]:
        """σ²_u with its interval, the log-likelihood, AIC, BIC (as sae's goodness), and the
        standardized residuals' mean, sd and Shapiro–Wilk p-value (normality check)."""
        low, high = self.sigma2_u_interval()
        r = self.table["residual_std"].dropna().to_numpy()
        p = len(self.beta) + 1
        m = len(r)
        shapiro = float(stats.shapiro(r).pvalue) if m >= 3 else math.nan
        return {
            "sigma2_u": self.sigma2_u, "sigma2_u_low": low, "sigma2_u_high": high,
            "loglike": self.loglike, "aic": -2 * self.loglike + 2 * p,
            "bic": -2 * self.loglike + p * math.log(m), "residual_mean": float(r.mean()),
            "residual_sd": float(r.std(ddof=1)) if m > 1 else math.nan,
            "shapiro_p": shapiro, "areas_in_sample": float(m),
        }  # fmt: skip

    def __repr__(self) -> str:
        m = int(self.table["in_sample"].sum())
        return (
            f"FayHerriotFit({self.method}, {m} areas in sample of {len(self.table)}, "
            f"sigma2_u={self.sigma2_u:.6g}, covariates={list(self.covariates)})"
        )


def _check_column(data: pd.DataFrame, column: str, what: str) -> None:
    if column not in data.columns:
        raise SmallAreaError(
            f"{what} column {column!r}: not in the table; its columns are "
            f"{', '.join(map(str, data.columns))}"
        )


def _numeric(data: pd.DataFrame, column: str, area: str) -> np.ndarray:
    values = pd.to_numeric(data[column], errors="coerce")
    bad = values.isna() & data[column].notna()
    if bad.any():
        row = data.loc[bad].iloc[0]
        raise SmallAreaError(
            f"column {column!r}, {area} {row[area]}: {row[column]!r} is not a number"
        )
    return values.to_numpy(dtype=float)


def _design_matrix(data: pd.DataFrame, covariates: Sequence[str], area: str) -> np.ndarray:
    columns = [np.ones(len(data))]
    for c in covariates:
        _check_column(data, c, "covariate")
        x = _numeric(data, c, area)
        if not np.isfinite(x).all():
            at = data.loc[~np.isfinite(x), area].iloc[0]
            raise SmallAreaError(
                f"covariate {c!r}, {area} {at}: missing or infinite; every area (with or "
                "without a sample) needs every covariate"
            )
        columns.append(x)
    return np.column_stack(columns)


def fit_fay_herriot(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    area: str = "kommune_code",
    direct: str = "direct",
    variance: str = "variance",
    method: str = "REML",
    confidence_level: float = 0.95,
    max_iter: int = 100,
    tolerance: float = 1e-10,
) -> FayHerriotFit:
    """Fit the Fay–Herriot model to one row per area (module docstring for the formulas).

    Parameters
    ----------
    data
        One row per area: ``area``, ``direct`` (the direct estimate; missing for an area
        without a sample, which gets the synthetic estimate), ``variance`` (ψ_d, its design
        variance, > 0 where ``direct`` is given: smooth zero or unstable ones first with
        :func:`stikprove.small_area.smooth_variances`) and the ``covariates`` (known for
        every area). An intercept is always included.
    method
        ``"REML"`` (MSE by Prasad–Rao), ``"ML"`` (MSE by Datta–Lahiri) or ``"AMRL"``
        (adjusted REML, never 0; Prasad–Rao formula).
    max_iter, tolerance
        Fisher scoring stops when the relative change of σ²_u is below ``tolerance`` (sae's
        PRECISION, whose default 1e-4 is coarser).

    Raises
    ------
    SmallAreaError
        A missing column, a value that is not a number, an area repeated, a variance not
        positive, fewer areas in sample than coefficients + 1, collinear covariates, or no
        convergence; each message names the area, column and value.

    Warns
    -----
    ZeroRandomEffectWarning
        σ²_u estimated at 0.
    """
    if method not in FH_METHODS:
        raise SmallAreaError(f"method {method!r}: expected one of {', '.join(FH_METHODS)}")
    if not 0 < confidence_level < 1:
        raise SmallAreaError(f"confidence_level {confidence_level!r}: expected a number in (0, 1)")
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise SmallAreaError("data: expected a DataFrame with one row per area")
    for column, what in ((area, "area"), (direct, "direct estimate"), (variance, "variance")):
        _check_column(data, column, what)
    data = data.reset_index(drop=True)
    if data[area].isna().any():
        raise SmallAreaError(f"area column {area!r}: a row has no area")
    repeated = data[area][data[area].duplicated()]
    if len(repeated):
        raise SmallAreaError(f"area column {area!r}: {repeated.iloc[0]} appears more than once")
    covariates = tuple(covariates)
    X_all = _design_matrix(data, covariates, area)
    y_all = _numeric(data, direct, area)
    psi_all = _numeric(data, variance, area)
    sampled = np.isfinite(y_all)
    bad = sampled & ~(np.isfinite(psi_all) & (psi_all > 0))
    if bad.any():
        row = data.loc[bad].iloc[0]
        raise SmallAreaError(
            f"variance {variance!r}, {area} {row[area]}: {row[variance]}, expected a number > 0 "
            "where there is a direct estimate (smooth zero variances with smooth_variances)"
        )
    m, p = int(sampled.sum()), X_all.shape[1]
    if m < p + 1:
        raise SmallAreaError(
            f"{m} areas with a direct estimate: expected at least {p + 1} for an intercept and "
            f"{len(covariates)} covariates"
        )
    X, y, psi = X_all[sampled], y_all[sampled], psi_all[sampled]
    if np.linalg.matrix_rank(X) < p:
        raise SmallAreaError(
            f"covariates {', '.join(covariates)}: collinear over the {m} areas with a direct "
            "estimate (a constant column, or shares that add up to 1 with the intercept); "
            "drop one"
        )
    core = fit_arrays(y, X, psi, method, max_iter, tolerance)
    if not core.converged:
        raise SmallAreaError(
            f"Fay–Herriot {method}: Fisher scoring did not converge in {max_iter} iterations "
            f"(last sigma2_u {core.sigma2_u:.6g}); raise max_iter or check the variances"
        )
    if core.sigma2_u == 0:
        warnings.warn(
            f"Fay–Herriot {method}: sigma2_u estimated at 0 over {m} areas: every estimate is "
            "the synthetic one (no area effect beyond the covariates)",
            ZeroRandomEffectWarning,
            stacklevel=2,
        )
    table = _estimates(data[area], sampled, y_all, psi_all, X_all, core, method, confidence_level)
    vi = 1.0 / (core.sigma2_u + psi)
    q = np.linalg.inv((vi[:, None] * X).T @ X)
    return FayHerriotFit(
        method=method, area=area, covariates=covariates, sigma2_u=core.sigma2_u,
        sigma2_u_se=math.sqrt(1.0 / core.information), beta=tuple(map(float, core.beta)),
        beta_cov=q, iterations=core.iterations, converged=core.converged,
        loglike=core.loglike, confidence_level=confidence_level, table=table,
    )  # fmt: skip


def mse_terms(psi: np.ndarray, X: np.ndarray, a: float, method: str,
              X_out: np.ndarray | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """g1, g2, g3 and mse of the in-sample areas (sae's mseFH) and, with ``X_out``, the MSE
    of the synthetic estimates of areas without a sample."""
    vi = 1.0 / (a + psi)
    b = psi * vi  # 1 - γ
    q = np.linalg.inv((vi[:, None] * X).T @ X)
    sum_vi2 = np.sum(vi**2)
    var_a = 2.0 / sum_vi2
    g1 = psi * (1 - b)
    g2 = b**2 * np.einsum("ij,jk,ik->i", X, q, X)
    g3 = b**2 * var_a * vi
    mse = g1 + g2 + 2 * g3
    if method == "ML":
        bias = -np.trace(q @ ((vi**2)[:, None] * X).T @ X) / sum_vi2
        mse = mse - bias * b**2
    out = {"g1": g1, "g2": g2, "g3": g3, "mse": mse}
    if X_out is not None:
        out["mse_out"] = a + np.einsum("ij,jk,ik->i", X_out, q, X_out)
        out["g2_out"] = np.einsum("ij,jk,ik->i", X_out, q, X_out)
    return out


def _estimates(areas: pd.Series, sampled: np.ndarray, y_all: np.ndarray, psi_all: np.ndarray,
               X_all: np.ndarray, core: _Core, method: str,
               confidence_level: float) -> pd.DataFrame:  # fmt: skip
    a = core.sigma2_u
    synthetic = X_all @ core.beta
    psi = np.where(sampled, psi_all, np.nan)
    y = np.where(sampled, y_all, np.nan)
    gamma = np.where(sampled, a / (a + np.where(sampled, psi, 1.0)), 0.0)
    eblup = np.where(sampled, gamma * np.nan_to_num(y) + (1 - gamma) * synthetic, synthetic)
    terms = mse_terms(psi_all[sampled], X_all[sampled], a, method, X_all[~sampled])
    g1, g2, g3, mse = (np.full(len(areas), np.nan) for _ in range(4))
    g1[sampled], g2[sampled], g3[sampled], mse[sampled] = (
        terms["g1"], terms["g2"], terms["g3"], terms["mse"])  # fmt: skip
    g1[~sampled], g2[~sampled], g3[~sampled] = a, terms["g2_out"], 0.0
    mse[~sampled] = terms["mse_out"]
    rmse = np.sqrt(mse)
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    residual = (y - synthetic) / np.sqrt(a + psi)
    return pd.DataFrame({
        areas.name: areas.to_numpy(), "in_sample": sampled, "direct": y, "variance": psi,
        "synthetic": synthetic, "gamma": gamma, "eblup": eblup, "g1": g1, "g2": g2, "g3": g3,
        "mse": mse, "rmse": rmse, "ci_low": eblup - z * rmse, "ci_high": eblup + z * rmse,
        "residual_std": residual,
    })  # fmt: skip
