"""Per-domain summaries of a coded design: estimate, variance, df and the edge rule's pieces.

:func:`summarise_domains` computes, for every domain of a
:class:`~stikprove.estimation.design_coding.CodedDesign` at once (numpy ``bincount`` on
(stratum, domain) codes, no loop over domains), the ratio estimate, R's linearization variance
and the variance of the chosen ``degenerate_strata`` (:data:`DEGENERATE_STRATA`; the formulas
and the simulation evidence for them are in the docstring of
:mod:`stikprove.estimation.domains`), the degrees of freedom and the quantities the edge rule of
:func:`~stikprove.estimation.design_intervals.domain_interval` needs.
:func:`exact_domain_bounds` is the exact hypergeometric interval of the domains that lie inside
one stratum (the default interval's, ``pooled-hypergeometric``, and ``hypergeometric``).

The summary is a dict of numpy arrays, one entry per domain:

- ``n`` (cases with an outcome), ``x`` (events), ``estimate`` (p̂_d), ``se`` (the square root
  of the chosen variance), ``r_variance`` (R's), ``df`` (cases minus strata), ``population``
  (N̂_d), ``strata`` (strata with cases), ``one_stratum`` (the stratum code where ``strata`` is
  1, else -1), ``kish_n`` (Kish's effective n);
- for the edge rule: ``census_share``, ``census_estimate`` (the census strata's part),
  ``sampled_estimate``, ``sampled_kish_n``, ``sampled_strata``, ``sampled_x``, ``sampled_n``
  and ``sampled_population`` (the sampled strata's part; the latter the most cases the domain
  can have there).

This module imports no other module of :mod:`stikprove.estimation` but the design's coding.
"""

from __future__ import annotations

import numpy as np

from stikprove.errors import EstimationError
from stikprove.estimation.design_coding import CodedDesign
from stikprove.exact_bounds import hypergeometric_interval
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD
from stikprove.variance import (
    borrows_domain_rate,
    element_variance,
    negligible_to_zero,
    stratum_mean_variance,
)

__all__ = [
    "DEGENERATE_STRATA",
    "check_degenerate_strata",
    "exact_domain_bounds",
    "summarise_domains",
]

DEGENERATE_STRATA = ("standard", "conservative", "pooled")
"""Variance choices for sampled strata without variance information (see the docstring of
:mod:`stikprove.estimation.domains`): ``standard`` (R's stratified linearization variance),
``conservative`` or ``pooled``."""


def check_degenerate_strata(
    value: str | None, method: str = "korn-graubard"
) -> str:
    """The variance choice for ``degenerate_strata=value`` under interval ``method``: ``value``
    itself when it is one of :data:`DEGENERATE_STRATA`, or, when None, the method's own
    (``pooled`` for the default ``pooled-hypergeometric``, else ``standard``). Anything else
    is refused (EstimationError).

    >>> check_degenerate_strata(None, "pooled-hypergeometric"), check_degenerate_strata(None)
    ('pooled', 'standard')
    """
    if value is None:
        return "pooled" if method == DEFAULT_DOMAIN_INTERVAL_METHOD else "standard"
    if value not in DEGENERATE_STRATA:
        raise EstimationError(
            f"degenerate_strata must be one of {DEGENERATE_STRATA!r}; got {value!r}"
        )
    return value


def summarise_domains(
    design: CodedDesign, degenerate_strata: str = "standard"
) -> dict[str, np.ndarray]:
    """Per-domain estimate, se, df and the pieces the edge rule needs (all numpy arrays)."""
    y, h, d = design.y, design.stratum, design.domain
    n_domains = len(design.keys)
    n_strata = len(design.population)
    big_n, small_n = design.population, design.sample
    w = np.zeros(n_strata)
    np.divide(big_n, small_n, out=w, where=small_n > 0)
    w_i = w[h]
    census_h = small_n >= big_n

    n_d = np.bincount(d, minlength=n_domains).astype(float)
    weight_d = np.bincount(d, weights=w_i, minlength=n_domains)
    total_d = np.bincount(d, weights=w_i * y, minlength=n_domains)
    p = np.divide(total_d, weight_d, out=np.zeros(n_domains), where=weight_d > 0)

    # Linearization of the ratio, summed per (stratum, domain) cell.
    z = w_i * (y - p[d]) / weight_d[d]
    cell, cell_index = np.unique(d * n_strata + h, return_inverse=True)
    cell_index = cell_index.ravel()
    cell_d = cell // n_strata
    cell_h = cell % n_strata
    nh = small_n[cell_h]
    # Σ_{i in h} (z_i - z̄_h)², z = 0 outside the domain, in two passes (no cancellation: a
    # constant z gives exactly 0): the spread of the cell's z around their mean m, plus the
    # n_hd cases' and the (n_h - n_hd) zeros' distances from z̄_h.
    n_hd = np.bincount(cell_index).astype(float)
    mean_cell = np.bincount(cell_index, weights=z) / n_hd
    spread = np.bincount(cell_index, weights=(z - mean_cell[cell_index]) ** 2)
    zbar = mean_cell * n_hd / nh
    squares = spread + n_hd * (mean_cell - zbar) ** 2 + (nh - n_hd) * zbar**2
    # The stratified SRSWOR variance of the domain total of z (stikprove.variance), summed
    # over the domain's cells: n_h² (1 − f_h) S²_z / n_h per cell.
    contribution = nh * nh * stratum_mean_variance(big_n[cell_h], nh, element_variance(squares, nh))
    r_variance = negligible_to_zero(np.bincount(cell_d, weights=contribution, minlength=n_domains))
    variance = r_variance
    if degenerate_strata == "conservative":
        # Strata whose uncertainty the linearization misses: a sampled stratum with one case,
        # or one wholly in the domain whose cases all agree (p̂_h in {0, 1}: zero variance,
        # though p_h is uncertain). They get the variance term of a stratified mean with the
        # element variance p̃(1 - p̃) at p̃ = (x + 1/2)/(n + 1), the rate shrunk off 0 and 1.
        y_cell = np.bincount(cell_index, weights=y)
        constant = ((y_cell == 0) | (y_cell == n_hd)) & (n_hd == nh)
        blind = ((nh < 2) | constant) & ~census_h[cell_h]
        shrunk = (y_cell + 0.5) / (n_hd + 1.0)
        share = w[cell_h] * n_hd / weight_d[cell_d]
        # (a blind cell holds its whole stratum: n_hd = n_h there)
        floor = share**2 * stratum_mean_variance(big_n[cell_h], n_hd, shrunk * (1 - shrunk))
        variance = r_variance + np.bincount(
            cell_d, weights=np.where(blind, floor, 0.0), minlength=n_domains
        )
    elif degenerate_strata == "pooled":
        # A sampled cell with few events (at most one event or one non-event among its domain
        # cases, or a stratum with one case) borrows the domain's rate: its term is that of a
        # stratified mean with the element variance c·p̂_d(1 - p̂_d), c = n/(n - 1) (1 for one
        # case); the domain's variance is the larger of that sum and R's.
        y_cell = np.bincount(cell_index, weights=y)
        few = borrows_domain_rate(y_cell, n_hd, nh) & ~census_h[cell_h]
        share = w[cell_h] * n_hd / weight_d[cell_d]
        c = np.where(n_hd > 1, n_hd / np.maximum(n_hd - 1, 1), 1.0)
        # (1 − n_h/N_h) S²/n_hd: the stratum's fpc, the cell's cases
        unit = stratum_mean_variance(big_n[cell_h], nh, c) * nh / n_hd
        pooled = share**2 * unit * p[cell_d] * (1 - p[cell_d])
        borrowed = np.bincount(
            cell_d, weights=np.where(few, pooled, contribution), minlength=n_domains
        )
        variance = np.maximum(r_variance, borrowed)
    strata_d = np.bincount(cell_d, minlength=n_domains).astype(float)

    sampled_i = ~census_h[h]
    census_w = np.bincount(d, weights=w_i * ~sampled_i, minlength=n_domains)
    census_t = np.bincount(d, weights=y * ~sampled_i, minlength=n_domains)
    samp_w = np.bincount(d, weights=w_i * sampled_i, minlength=n_domains)
    samp_w2 = np.bincount(d, weights=w_i * w_i * sampled_i, minlength=n_domains)
    samp_t = np.bincount(d, weights=w_i * y * sampled_i, minlength=n_domains)
    samp_x = np.bincount(d, weights=y * sampled_i, minlength=n_domains)
    samp_n = np.bincount(d, weights=sampled_i.astype(float), minlength=n_domains)
    samp_strata = np.bincount(cell_d, weights=~census_h[cell_h], minlength=n_domains)
    unsampled = np.where(census_h, 0.0, big_n - small_n)[cell_h]
    # The most cases the domain can have in its sampled strata: its sampled cases plus every
    # unsampled case (N_h - n_h); exactly N_h when the domain is the whole stratum.
    samp_pop = samp_n + np.bincount(cell_d, weights=unsampled, minlength=n_domains)
    all_w2 = np.bincount(d, weights=w_i * w_i, minlength=n_domains)
    one_stratum = np.full(n_domains, -1)
    one_stratum[cell_d] = cell_h  # meaningful where strata_d == 1

    return {
        "n": n_d,
        "estimate": p,
        "se": np.sqrt(variance),
        "r_variance": r_variance,
        "df": n_d - strata_d,
        "population": weight_d,
        "strata": strata_d,
        "one_stratum": one_stratum,
        "census_share": np.divide(census_w, weight_d, out=np.zeros(n_domains), where=weight_d > 0),
        "census_estimate": np.divide(
            census_t, census_w, out=np.zeros(n_domains), where=census_w > 0
        ),
        "sampled_estimate": np.divide(samp_t, samp_w, out=np.zeros(n_domains), where=samp_w > 0),
        "sampled_kish_n": np.divide(
            samp_w * samp_w, samp_w2, out=np.zeros(n_domains), where=samp_w2 > 0
        ),
        "sampled_strata": samp_strata,
        "sampled_x": samp_x,
        "sampled_n": samp_n,
        "sampled_population": samp_pop,
        "kish_n": np.divide(weight_d * weight_d, all_w2, out=n_d.copy(), where=all_w2 > 0),
        "x": np.bincount(d, weights=y, minlength=n_domains),
    }


def exact_domain_bounds(
    summary: dict[str, np.ndarray], mask: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """The hypergeometric interval of the domains in ``mask`` (each inside one stratum): x of
    n drawn from the domain's population there, or its largest possible size n_d + N_h - n_h
    when the domain cuts the stratum."""
    n = summary["n"][mask]
    big = summary["sampled_population"][mask] + n - summary["sampled_n"][mask]
    return hypergeometric_interval(np.round(summary["x"][mask]), n, big, alpha)

