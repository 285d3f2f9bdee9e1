"""The variance of stratified simple random sampling without replacement, in one place.

Every step that needs the variance of a stratified estimator calls these: the design step
plans with the anticipated rates (:mod:`stikprove.design`), estimation estimates with the
sample's own spread (:mod:`stikprove.estimation.domains`, ``coverage``). The formula is the
textbook one (Cochran 1977, eq. 5.6; R's ``survey::svydesign(strata=, fpc=)``):

    Var(ȳ_st) = Σ_h W_h² (1 − n_h/N_h) S_h² / n_h

with W_h the stratum's share of the domain, S_h² its element variance, a census stratum
(n_h = N_h) contributing 0 and an unsampled one (n_h = 0) infinity. Written by hand: numpy has
no survey variance and statsmodels' survey tools do not take a finite population correction
per stratum. This module sits below every step and imports none.

References
----------
Cochran, W. G. (1977). Sampling Techniques, 3rd ed. Wiley.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NEGLIGIBLE_VARIANCE",
    "POOLED_FEW",
    "binary_element_variance",
    "borrows_domain_rate",
    "element_variance",
    "negligible_to_zero",
    "stratified_variance",
    "stratum_mean_variance",
]

NEGLIGIBLE_VARIANCE = 1e-20
"""A variance at or below this (a standard error of 1e-10 on a proportion) is zero up to
rounding: a domain whose cases all agree gives 1e-34 rather than 0 through the linearization."""


POOLED_FEW = 1
"""The default interval's pooled variance (``degenerate_strata="pooled"``) borrows the domain's
rate for a sampled cell (stratum × domain) with at most this many events or non-events among its
domain cases: the choice of the simulation study (docs/intervals.md: pooling cells with up to
two left a design below 94.5 %). Estimation applies it to each sample, the design step to each
stratum's expected sample."""


def borrows_domain_rate(
    events: np.ndarray, cases: np.ndarray, stratum_cases: np.ndarray, few: float = POOLED_FEW
) -> np.ndarray:
    """Whether a cell's variance term takes the domain's rate in place of its own, elementwise:
    at most ``few`` (:data:`POOLED_FEW`) events or non-events among the cell's ``cases``, or a
    stratum with fewer than two sampled cases (no spread can be seen)."""
    events, cases, stratum_cases = (
        np.asarray(a, dtype=float) for a in (events, cases, stratum_cases)
    )
    return (stratum_cases < 2) | (events <= few) | (events >= cases - few)


def stratum_mean_variance(
    population_size: np.ndarray, sample_size: np.ndarray, element_variance: np.ndarray
) -> np.ndarray:
    """(1 − n_h/N_h) S_h² / n_h elementwise: the variance of a stratum's sample mean.

    0 for a census stratum (n_h >= N_h), infinity for an unsampled one (n_h = 0).
    """
    big_n, small_n, s2 = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (population_size, sample_size, element_variance))
    )
    out = np.full(small_n.shape, np.inf)
    sampled = small_n > 0
    np.divide((1.0 - small_n / big_n) * s2, small_n, out=out, where=sampled)
    return np.where(small_n >= big_n, 0.0, out)


def stratified_variance(
    population_size: np.ndarray,
    sample_size: np.ndarray,
    element_variance: np.ndarray,
    shares: np.ndarray,
) -> np.ndarray:
    """Σ_h W_h² (1 − f_h) S_h² / n_h for each domain (the module's formula).

    ``population_size``, ``sample_size`` and ``element_variance`` are (..., H): per stratum,
    with any leading axes (e.g. simulated samples); ``shares`` is (H, D): stratum h's share W_h
    of domain d (0 outside it). Returns (..., D), through one matrix product. A stratum outside
    a domain adds nothing even when unsampled.
    """
    per_stratum = stratum_mean_variance(population_size, sample_size, element_variance)
    shares = np.asarray(shares, dtype=float)
    squared = shares * shares
    unsampled = ~np.isfinite(per_stratum)
    if not unsampled.any():
        return per_stratum @ squared
    variance = np.where(unsampled, 0.0, per_stratum) @ squared
    return np.where(unsampled.astype(float) @ (squared > 0) > 0, np.inf, variance)


def element_variance(sum_of_squares: np.ndarray, sample_size: np.ndarray) -> np.ndarray:
    """S² = Σ (y − ȳ)² / (n − 1), elementwise; 0 where n < 2 (no spread can be seen)."""
    squares, n = np.broadcast_arrays(
        np.asarray(sum_of_squares, dtype=float), np.asarray(sample_size, dtype=float)
    )
    return np.divide(squares, n - 1.0, out=np.zeros(n.shape), where=n > 1)


def binary_element_variance(rate: np.ndarray, size: np.ndarray) -> np.ndarray:
    """S² of a 0/1 variable with mean ``rate`` over ``size`` values: size/(size − 1)·p(1 − p)
    (0 where size < 2). With a sample's n it estimates S_h²; with the stratum's N_h and the
    anticipated rate it is the population S_h² a plan expects."""
    rate, size = np.broadcast_arrays(np.asarray(rate, dtype=float), np.asarray(size, dtype=float))
    return element_variance(size * rate * (1.0 - rate), size)


def negligible_to_zero(variance: np.ndarray) -> np.ndarray:
    """``variance`` with values at or below :data:`NEGLIGIBLE_VARIANCE` set to exactly 0, so
    a standard error that is zero up to rounding is reported (and treated) as the exact zero."""
    variance = np.asarray(variance, dtype=float)
    return np.where(variance <= NEGLIGIBLE_VARIANCE, 0.0, variance)
