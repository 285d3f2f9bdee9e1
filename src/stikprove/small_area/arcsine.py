"""The arcsine-transformed Fay–Herriot model for proportions, with a parametric bootstrap MSE.

As emdi's ``fh(transformation = "arcsin", backtransformation = "naive", MSE = TRUE,
mse_type = "boot")`` (Kreutzmann et al. 2019; Schmid et al. 2017): the direct proportion is
transformed, y_d = arcsin(√p̂_d), whose sampling variance is ψ_d = 1/(4 n_eff,d) (n_eff the
Kish effective sample size, n_d/deff_d), the Fay–Herriot model is fitted on that scale
(:func:`~stikprove.small_area.fit_fay_herriot`, REML or ML), and the EBLUP is
back-transformed by p̃_d = sin²(θ̂_d), θ̂_d clipped to [0, π/2].

The MSE on the proportion scale has no closed form; it comes from the parametric bootstrap
of González-Manteiga et al. (2008), as emdi does it. For b = 1..B: u*_d ~ N(0, σ̂²_u),
θ*_d = x_d'β̂ + u*_d, the true proportion μ*_d = sin²(θ*_d) (clipped), e*_d ~ N(0, ψ_d) and
y*_d = θ*_d + e*_d for the areas in sample; the model is refitted to y* (the same method) and
p̃*_d back-transformed. MSE_d = mean_b (p̃*_d - μ*_d)². The interval is the parametric
bootstrap prediction interval on the transformed scale (Chatterjee, Lahiri & Li 2008,
without studentizing): with q_lo, q_hi the α/2 and 1 - α/2 quantiles of θ̂*_d - θ*_d,
[sin²(θ̂_d - q_hi), sin²(θ̂_d - q_lo)], which stays in [0, 1]. Randomness comes only from
``seed`` (numpy's default generator): the same seed gives the same MSEs and intervals.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stikprove.small_area.model import (
    FayHerriotFit,
    SmallAreaError,
    ZeroRandomEffectWarning,
    fit_arrays,
    fit_fay_herriot,
)

__all__ = ["ARCSINE_COLUMNS", "ArcsineFit", "fit_arcsine_fay_herriot"]

ARCSINE_COLUMNS = (
    "in_sample", "direct", "n_eff", "variance", "synthetic", "gamma", "eblup", "mse", "rmse",
    "ci_low", "ci_high", "residual_std",
)  # fmt: skip
"""Columns of :meth:`ArcsineFit.estimates` after the area column."""


def back_transform(theta: np.ndarray) -> np.ndarray:
    """sin²(θ) with θ clipped to [0, π/2]: the proportion of an arcsine-scale value."""
    return np.sin(np.clip(theta, 0.0, math.pi / 2)) ** 2


@dataclass(frozen=True)
class ArcsineFit:
    """The arcsine model's fit (frozen): ``transformed`` is the Fay–Herriot fit on the
    arcsine scale; ``estimates()`` the back-transformed table with the bootstrap MSE."""

    transformed: FayHerriotFit
    bootstrap: int
    seed: int
    failed_refits: int
    """Bootstrap samples whose refit did not converge (drawn again, as sae does)."""
    confidence_level: float
    table: pd.DataFrame = field(repr=False)

    @property
    def sigma2_u(self) -> float:
        """σ̂²_u on the arcsine scale."""
        return self.transformed.sigma2_u

    def estimates(self) -> pd.DataFrame:
        """One row per area: the area column, then

        - ``in_sample``, ``direct`` (p̂_d), ``n_eff`` (n_d/deff_d), ``variance`` (ψ_d =
          1/(4 n_eff), arcsine scale);
        - ``synthetic``: sin²(x_d'β̂); ``gamma``: the shrinkage factor on the arcsine scale;
        - ``eblup``: sin²(θ̂_d), the model-based proportion;
        - ``mse``, ``rmse``: the parametric bootstrap MSE of ``eblup`` (proportion scale);
        - ``ci_low``, ``ci_high``: the bootstrap prediction interval (module docstring);
        - ``residual_std``: the standardized residual on the arcsine scale.
        """
        return self.table.copy()

    def __repr__(self) -> str:
        return (
            f"ArcsineFit({self.transformed.method}, {int(self.table['in_sample'].sum())} areas "
            f"in sample of {len(self.table)}, sigma2_u={self.sigma2_u:.6g} (arcsine scale), "
            f"bootstrap B={self.bootstrap}, seed={self.seed})"
        )


def fit_arcsine_fay_herriot(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    area: str = "kommune_code",
    direct: str = "direct",
    n_eff: str = "n_eff",
    method: str = "REML",
    bootstrap: int = 200,
    seed: int = 1,
    confidence_level: float = 0.95,
) -> ArcsineFit:
    """Fit the arcsine-transformed Fay–Herriot model and its bootstrap MSE (module docstring).

    ``data``: one row per area with ``area``, ``direct`` (a proportion in [0, 1], missing
    for an area without a sample), ``n_eff`` (the effective sample size, > 0 where there is
    a direct estimate) and the ``covariates``. ``bootstrap``: B, at least 10 (200 is
    emdi's advice for the MSE; more for the interval's tails). Raises SmallAreaError naming
    the area, column and value; warns ZeroRandomEffectWarning when σ²_u is 0.
    """
    if not isinstance(bootstrap, int) or bootstrap < 10:
        raise SmallAreaError(f"bootstrap {bootstrap!r}: expected a whole number >= 10")
    if not isinstance(seed, int) or seed < 0:
        raise SmallAreaError(f"seed {seed!r}: expected a whole number >= 0")
    for column in (direct, n_eff, area):
        if not isinstance(data, pd.DataFrame) or column not in data.columns:
            raise SmallAreaError(f"column {column!r}: not in the table")
    data = data.reset_index(drop=True)
    p = pd.to_numeric(data[direct], errors="coerce").to_numpy(dtype=float)
    ne = pd.to_numeric(data[n_eff], errors="coerce").to_numpy(dtype=float)
    sampled = np.isfinite(p)
    for bad, what in (((p < 0) | (p > 1)) & sampled, "a proportion in [0, 1]"), (
        sampled & ~(np.isfinite(ne) & (ne > 0)), "an effective sample size > 0"
    ):
        if bad.any():
            row = data.loc[bad].iloc[0]
            column = direct if what.startswith("a proportion") else n_eff
            raise SmallAreaError(
                f"column {column!r}, {area} {row[area]}: {row[column]}, expected {what}"
            )
    work = data[[area, *covariates]].copy()
    work["_y"] = np.where(sampled, np.arcsin(np.sqrt(np.where(sampled, p, 0.0))), np.nan)
    with np.errstate(divide="ignore"):
        work["_psi"] = np.where(sampled, 1.0 / (4.0 * ne), np.nan)
    fit = fit_fay_herriot(
        work, covariates, area=area, direct="_y", variance="_psi", method=method,
        confidence_level=confidence_level,
    )  # fmt: skip
    t = fit.estimates()
    X = np.column_stack([np.ones(len(work)), work[list(covariates)].to_numpy(dtype=float)])
    mse, low, high, failed = _bootstrap(
        X, sampled, work["_psi"].to_numpy(), fit, t["eblup"].to_numpy(), bootstrap, seed,
        confidence_level,
    )  # fmt: skip
    table = pd.DataFrame({
        area: t[area], "in_sample": sampled, "direct": np.where(sampled, p, np.nan),
        "n_eff": np.where(sampled, ne, np.nan), "variance": t["variance"],
        "synthetic": back_transform(t["synthetic"].to_numpy()), "gamma": t["gamma"],
        "eblup": back_transform(t["eblup"].to_numpy()), "mse": mse, "rmse": np.sqrt(mse),
        "ci_low": low, "ci_high": high, "residual_std": t["residual_std"],
    })  # fmt: skip
    return ArcsineFit(fit, bootstrap, seed, failed, confidence_level, table)


def _bootstrap(X: np.ndarray, sampled: np.ndarray, psi: np.ndarray, fit: FayHerriotFit,
               theta_hat: np.ndarray, B: int, seed: int,
               confidence_level: float) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The parametric bootstrap: MSE on the proportion scale and the interval limits."""
    rng = np.random.default_rng(seed)
    beta = np.asarray(fit.beta)
    sd_u = math.sqrt(fit.sigma2_u)
    sd_e = np.sqrt(psi[sampled])
    X_s = X[sampled]
    mean = X @ beta
    m_all, m = len(X), int(sampled.sum())
    squared = np.zeros(m_all)
    pivots = np.empty((B, m_all))
    done = failed = 0
    while done < B:
        theta_star = mean + sd_u * rng.standard_normal(m_all)
        y_star = theta_star[sampled] + sd_e * rng.standard_normal(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ZeroRandomEffectWarning)
            core = fit_arrays(y_star, X_s, psi[sampled], fit.method)
        if not core.converged:
            failed += 1
            if failed > B:
                raise SmallAreaError(
                    f"arcsine bootstrap: {failed} refits did not converge (of {done + failed})"
                )
            continue
        est = X @ core.beta
        gamma = core.sigma2_u / (core.sigma2_u + psi[sampled])
        est[sampled] = gamma * y_star + (1 - gamma) * est[sampled]
        squared += (back_transform(est) - back_transform(theta_star)) ** 2
        pivots[done] = est - theta_star
        done += 1
    alpha = 1 - confidence_level
    q_lo, q_hi = np.quantile(pivots, [alpha / 2, 1 - alpha / 2], axis=0)
    return squared / B, back_transform(theta_hat - q_hi), back_transform(theta_hat - q_lo), failed
