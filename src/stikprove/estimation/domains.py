"""Design-based estimates of proportions per domain from a stratified simple random sample.

The design is stratified simple random sampling without replacement (STSRS): stratum h has N_h
cases in the frame and n_h sampled, each sampled case carries the weight N_h/n_h. Everything here
follows R's survey package (Lumley 2004, 2010), so results can be checked against
``svyby(~y, ~domain, svydesign(ids=~1, strata=~stratum, fpc=~N, data=d), svyciprop, ...)``
(tests/fixtures/r/domains.R):

- Missing outcomes (NaN/None: not assessable, not yet reviewed) are dropped before the design is
  built, so n_h counts the cases with an outcome and the finite population correction is
  1 - n_h/N_h with that reduced n_h (missing at random within strata; see :func:`outcome_bounds`).
- A domain estimate is the ratio p̂_d = Σ_d w y / Σ_d w. Its variance is the linearization
  variance of the ratio over ALL strata, the linearized values z = w (y - p̂_d)/N̂_d being zero
  outside the domain (Lumley 2010; Cochran 1977):
  V = Σ_h (1 - n_h/N_h) n_h/(n_h - 1) Σ_{i in h} (z_i - z̄_h)².
- df = (cases in the domain) - (strata with cases in the domain), as ``degf`` of the domain
  subset gives it and as svyciprop uses it.

Written by hand rather than calling a Python survey library: we need R-identical domain
variances, degrees of freedom and Korn–Graubard intervals, vectorised over a thousand domains,
and the edge rule below is ours. All domains are computed at once with numpy ``bincount`` on
(stratum, domain) codes: no Python loop over domains.

The edge rule (where R returns NaN or zero width) is in
:func:`stikprove.estimation.design_intervals.domain_interval`: census-only domains get the exact
value; a domain with p̂ in {0, 1} or se = 0 gets the exact hypergeometric interval when its
sampled part lies in one stratum (with the domain's largest
possible population there, n_d + N_h - n_h, when the domain cuts the stratum), else
Clopper–Pearson on the Kish effective sample size of its sampled part; census strata in a domain
enter as known quantities. df below 1 is taken as 1 in the quantiles.

By default (``degenerate_strata="standard"``) the variance is exactly R's for every domain. A
sampled stratum with one case (R: "has only one PSU"; it contributes 0, as R's
``options(survey.lonely.psu = "certainty")``), or a sampled stratum wholly in the domain whose
cases all agree (p̂_h in {0, 1}), contributes nothing to that variance although its rate is
uncertain. ``degenerate_strata="conservative"`` gives such a stratum the variance term of a
stratified mean, (N̂_hd/N̂_d)² (1 - n_h/N_h) p̃(1 - p̃)/n_hd, with its rate shrunk off the
boundary, p̃ = (x_hd + 1/2)/(n_hd + 1). Simulation evidence (tests/test_coverage.py; 20,000
replications): with strata N = 117, 509, 9, 35, n = 4, 40, 3, 6 and rates .03, .97, .34, .06
(a stratum with 76 % of the weight that usually shows 40 of 40 events), the national
Korn–Graubard interval covered 79 % for a nominal 95 % with the standard variance and ≥ 95 %
with the conservative one. ``degenerate_strata="pooled"`` borrows the domain's rate instead: a
sampled cell (h, d) whose stratum has one case, or whose cases in the domain show at most one
event or at most one non-event (:data:`stikprove.variance.POOLED_FEW`), gets the term
(N̂_hd/N̂_d)² (1 - f_h) c p̂_d(1 - p̂_d)/n_hd, c = n_hd/(n_hd - 1) (1 for one case), in place
of R's; the other cells keep R's term; and the domain's variance is the larger of this sum and
R's variance (so it is never below R's, and equals it when every sampled cell shows at least
two events and two non-events). A rate estimated from 0 or 1 events says little about the
stratum's variance: 0 events give none, 1 event gives 1/n_hd, usually far above a rare
domain's rate. It is the variance of the default method ``pooled-hypergeometric`` (exact
hypergeometric interval for a domain inside one stratum, Korn–Graubard on this variance
otherwise), chosen by the simulation study of docs/intervals.md
(:mod:`stikprove.estimation.interval_study`). Where R's variance is 0 the edge rule above
applies under every choice.

:func:`domain_linearization` exposes the linearized (influence) values themselves, so that
covariances between domain estimates (:mod:`stikprove.estimation.comparison`,
:mod:`stikprove.estimation.multiplicity`) come from the same computation.

References
----------
Cochran, W. G. (1977). Sampling Techniques, 3rd ed. Wiley (ratio estimation, domains).

Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. Survey Methodology 24, 193-201.

Lumley, T. (2004). Analysis of complex survey samples. Journal of Statistical Software 9(8).
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley. (R package survey 4.1.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError
from stikprove.estimation.design_intervals import (
    check_design_method,
    design_effect,
    domain_interval,
    nchs_effective_n,
)
from stikprove.estimation.intervals import check_confidence_level
from stikprove.exact_bounds import hypergeometric_interval
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD, DOMAIN_INTERVAL_METHODS
from stikprove.variance import (
    borrows_domain_rate,
    element_variance,
    negligible_to_zero,
    stratum_mean_variance,
)

__all__ = [
    "DEGENERATE_STRATA",
    "ESTIMATE_COLUMNS",
    "DomainLinearization",
    "domain_linearization",
    "estimate_categories",
    "estimate_proportions",
    "outcome_bounds",
]

ESTIMATE_COLUMNS = ("n", "estimate", "se", "df", "ci_low", "ci_high", "n_eff", "deff")
"""Columns of :func:`estimate_proportions` after the ``by`` columns."""

DOMAIN_METHODS = DOMAIN_INTERVAL_METHODS

DEFAULT_METHOD = DEFAULT_DOMAIN_INTERVAL_METHOD
"""The default interval method, chosen by the simulation study of docs/intervals.md."""

_NOT_FROM_SE = ("hypergeometric", DEFAULT_METHOD)
"""Domain methods beyond design_ci's: they need more than (estimate, se, df, n)."""

DEGENERATE_STRATA = ("standard", "conservative", "pooled")
"""Variance choices for sampled strata without variance information (see the module docstring):
``standard`` (R's stratified linearization variance), ``conservative`` or ``pooled``."""


def _check_degenerate(value: str | None, method: str = "korn-graubard") -> str:
    """The variance choice: ``value``, or when None the method's own (``pooled`` for
    ``pooled-hypergeometric``, else ``standard``)."""
    if value is None:
        return "pooled" if method == DEFAULT_METHOD else "standard"
    if value not in DEGENERATE_STRATA:
        raise EstimationError(
            f"degenerate_strata must be one of {DEGENERATE_STRATA!r}; got {value!r}"
        )
    return value


def _as_list(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def _check_columns(data: pd.DataFrame, role: str, columns: list[str]) -> None:
    for column in columns:
        if column not in data.columns:
            from stikprove.errors import did_you_mean

            hint = did_you_mean(column, [str(c) for c in data.columns])
            raise EstimationError(
                f"{role} column {column!r} is not in the data{hint}; columns are "
                f"{list(data.columns)}"
            )


def _row_label(data: pd.DataFrame, position: int) -> str:
    return f"row {position + 1} (index {_plain(data.index[position])!r})"


def _plain(value: object) -> object:
    """A numpy scalar as the Python value (10.5, not np.float64(10.5)) for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _binary_outcome(data: pd.DataFrame, outcome: str) -> np.ndarray:
    """The outcome as float 0/1 with NaN for missing; refuse anything else."""
    column = data[outcome]
    missing = column.isna().to_numpy()
    values = column.to_numpy(dtype=object)
    y = np.full(len(column), np.nan)
    for position in np.flatnonzero(~missing):
        value = values[position]
        if isinstance(value, (bool, np.bool_)):
            y[position] = float(value)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = np.nan
        if number not in (0.0, 1.0):
            raise EstimationError(
                f"outcome column {outcome!r} must hold 0/1 (or missing), got {_plain(value)!r} at "
                f"{_row_label(data, position)}"
            )
        y[position] = number
    return y


def _fast_binary_outcome(data: pd.DataFrame, outcome: str) -> np.ndarray:
    column = data[outcome]
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        y = column.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isnan(y) | (y == 0.0) | (y == 1.0)
        if ok.all():
            return y
    return _binary_outcome(data, outcome)


@dataclass(frozen=True)
class _Design:
    """The validated sample: one entry per case with an outcome."""

    y: np.ndarray  # 0/1 float
    stratum: np.ndarray  # int codes 0..H-1
    population: np.ndarray  # N_h per stratum (float, length H)
    sample: np.ndarray  # n_h per stratum (float, length H), cases with an outcome
    domain: np.ndarray  # int codes 0..D-1 (sorted by the by columns)
    keys: pd.DataFrame  # one row per domain: the by columns
    rows: np.ndarray  # positions in the caller's data of the cases kept (with an outcome)


def _validate(
    data: pd.DataFrame,
    outcome: str | None,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    strata_cols = _as_list(strata)
    by_cols = _as_list(by)
    if not strata_cols:
        raise EstimationError("strata must name at least one column, got none")
    if outcome is not None:
        _check_columns(data, "outcome", [outcome])
    _check_columns(data, "strata", strata_cols)
    _check_columns(data, "population_size", [population_size])
    _check_columns(data, "by", by_cols)
    if len(data) == 0:
        raise EstimationError("data has no rows")
    for role, columns in (("strata", strata_cols), ("by", by_cols)):
        for column in columns:
            missing = data[column].isna().to_numpy()
            if missing.any():
                position = int(np.flatnonzero(missing)[0])
                raise EstimationError(
                    f"{role} column {column!r} has a missing value at {_row_label(data, position)}"
                    f" ({int(missing.sum())} missing in all)"
                )
    return strata_cols, by_cols


def _build(
    data: pd.DataFrame,
    y_all: np.ndarray,
    strata_cols: list[str],
    population_size: str,
    by_cols: list[str],
) -> _Design:
    """Validate N_h, drop missing outcomes and code strata and domains."""
    stratum_all = data.groupby(strata_cols, sort=True, observed=True, dropna=False).ngroup()
    stratum_all = stratum_all.to_numpy(dtype=np.int64)
    n_strata = int(stratum_all.max()) + 1

    sizes = pd.to_numeric(data[population_size], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(sizes) | (sizes < 1) | (sizes != np.round(sizes))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"population_size column {population_size!r} must hold whole numbers >= 1, got "
            f"{_plain(data[population_size].iloc[position])!r} at {_row_label(data, position)}"
        )
    low = np.full(n_strata, np.inf)
    high = np.full(n_strata, -np.inf)
    np.minimum.at(low, stratum_all, sizes)
    np.maximum.at(high, stratum_all, sizes)
    stratum_names = (
        data.groupby(strata_cols, sort=True, observed=True, dropna=False).size().index.tolist()
    )
    varying = np.flatnonzero(low != high)
    if varying.size:
        h = int(varying[0])
        raise EstimationError(
            f"population_size column {population_size!r} varies within stratum "
            f"{stratum_names[h]!r}: values from {low[h]:g} to {high[h]:g}; it must be the "
            "stratum's N_h on every row"
        )
    drawn = np.bincount(stratum_all, minlength=n_strata).astype(float)
    too_small = np.flatnonzero(low < drawn)
    if too_small.size:
        h = int(too_small[0])
        raise EstimationError(
            f"population_size column {population_size!r} is {low[h]:g} in stratum "
            f"{stratum_names[h]!r}, smaller than its {int(drawn[h])} sampled rows"
        )

    keep = ~np.isnan(y_all)
    y = y_all[keep]
    stratum = stratum_all[keep]
    sample = np.bincount(stratum, minlength=n_strata).astype(float)
    if by_cols:
        grouped = data.groupby(by_cols, sort=True, observed=True, dropna=False)
        domain_all = grouped.ngroup().to_numpy(dtype=np.int64)
        keys = grouped.size().index.to_frame(index=False)
        for column in by_cols:  # keep the caller's dtypes (e.g. zero-padded strings)
            keys[column] = keys[column].astype(data[column].dtype)
        domain = domain_all[keep]
        present = np.bincount(domain, minlength=len(keys)) > 0
        remap = np.cumsum(present) - 1
        domain = remap[domain]
        keys = keys.loc[present].reset_index(drop=True)
    else:
        domain = np.zeros(len(y), dtype=np.int64)
        keys = pd.DataFrame(index=range(1 if len(y) else 0))
    return _Design(y, stratum, low, sample, domain, keys, np.flatnonzero(keep))


def _summarise(design: _Design, degenerate_strata: str = "standard") -> dict[str, np.ndarray]:
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


def _exact_bounds(
    summary: dict[str, np.ndarray], mask: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """The hypergeometric interval of the domains in ``mask`` (each inside one stratum): x of
    n drawn from the domain's population there, or its largest possible size n_d + N_h - n_h
    when the domain cuts the stratum."""
    n = summary["n"][mask]
    big = summary["sampled_population"][mask] + n - summary["sampled_n"][mask]
    return hypergeometric_interval(np.round(summary["x"][mask]), n, big, alpha)


def _table(
    design: _Design, summary: dict[str, np.ndarray], confidence_level: float, method: str
) -> pd.DataFrame:
    alpha = 1.0 - confidence_level
    p, se, n = summary["estimate"], summary["se"], summary["n"]
    if method == "hypergeometric":
        spread = np.flatnonzero(summary["strata"] != 1)
        if spread.size:
            example = design.keys.iloc[int(spread[0])].to_dict() if len(design.keys.columns) else {}
            raise EstimationError(
                "method 'hypergeometric' needs every domain inside one stratum; domain "
                f"{example or '(whole population)'} spans {int(summary['strata'][spread[0]])} "
                f"strata ({spread.size} such domain(s)); use 'pooled-hypergeometric' instead"
            )
        low, high = _exact_bounds(summary, np.ones(len(p), bool), alpha)
    else:
        low, high = domain_interval(
            p,
            se,
            summary["df"],
            n,
            confidence_level,
            "korn-graubard" if method == DEFAULT_METHOD else method,
            census_share=summary["census_share"],
            census_estimate=summary["census_estimate"],
            sampled_estimate=summary["sampled_estimate"],
            sampled_kish_n=summary["sampled_kish_n"],
            sampled_strata=summary["sampled_strata"],
            sampled_x=summary["sampled_x"],
            sampled_n=summary["sampled_n"],
            sampled_population=summary["sampled_population"],
            no_variance=summary["r_variance"] == 0,  # negligible_to_zero made it exact
        )
        low, high = np.array(low, dtype=float), np.array(high, dtype=float)
        if method == DEFAULT_METHOD:
            one = summary["strata"] == 1
            low[one], high[one] = _exact_bounds(summary, one, alpha)
    # One effective n and design effect per domain, whatever the interval method: those of
    # R's linearization variance (r_variance, also under the pooled variance of the default),
    # the effective n as the NCHS presentation standard judges it (surveytable).
    edge = (p <= 0) | (p >= 1)
    deff = np.where(edge, n / summary["kish_n"], design_effect(p, summary["r_variance"], n))
    n_eff = nchs_effective_n(p, deff, summary["df"], n, confidence_level)
    table = design.keys.copy()
    table["n"] = n.astype(np.int64)
    table["estimate"] = p
    table["se"] = se
    table["df"] = summary["df"].astype(np.int64)
    table["ci_low"] = np.asarray(low, dtype=float)
    table["ci_high"] = np.asarray(high, dtype=float)
    table["n_eff"] = n_eff
    table["deff"] = deff
    return table


def estimate_proportions(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """Estimated proportion per domain with its standard error and confidence interval.

    Parameters
    ----------
    data
        One row per sampled case.
    outcome
        Column of 0/1 (bool, int or float); missing (NaN/None) means not assessable and the case
        is dropped within its stratum before the design is built.
    strata
        Column name(s) whose combination is the stratum.
    population_size
        Column holding N_h, the stratum's frame count, the same on every row of the stratum.
    by
        Column name(s) defining the domains (they may cut across strata); None for the whole
        population.
    confidence_level
        In (0, 1).
    method
        ``pooled-hypergeometric`` (default, chosen by the simulation study of
        docs/intervals.md): the ``hypergeometric`` interval for a domain inside one stratum,
        else ``korn-graubard`` on the ``pooled`` variance. ``korn-graubard`` (R svyciprop
        ``method="beta"``), ``korn-graubard-deff1`` (design effect floored at 1, NCHS),
        ``logit`` (``"logit"``), ``wald`` (``"mean"``), ``wilson`` and ``jeffreys``
        (design-adjusted via n_eff), or ``hypergeometric`` (the exact interval, only for
        domains inside one stratum; ``exact`` is its deprecated name; for a domain covering
        part of a stratum the domain's population is unknown, and the largest possible one,
        n_d + N_h - n_h, is used: conservative).
    degenerate_strata
        None (default): ``"pooled"`` for ``pooled-hypergeometric``, ``"standard"`` for every other
        method. ``"standard"``: R's stratified linearization variance for every domain, so
        every domain with 0 < p̂ < 1 and se > 0 agrees with R's svyciprop.
        ``"conservative"``: a sampled stratum with one case, or wholly in the domain with all
        its cases agreeing, adds the stratified-mean variance term at p̃ = (x + 1/2)/(n + 1).
        ``"pooled"``: a sampled cell (stratum × domain) with one case in its stratum or at
        most one event or non-event among its domain cases gets the stratified-mean term at
        the domain's rate; the variance is at least R's (module docstring). In the
        simulation of the module docstring the standard Korn–Graubard interval covered 79 %
        (nominal 95 %), the other two ≥ 95 %.

    Returns
    -------
    pandas.DataFrame
        One row per domain with at least one case with an outcome, sorted by the ``by`` columns:
        the ``by`` columns, then

        - ``n``: cases with a non-missing outcome in the domain (int);
        - ``estimate``: the weighted proportion Σ w y / Σ w;
        - ``se``: its linearization standard error with the finite population correction (as R
          computes it; with ``degenerate_strata="conservative"`` plus the term for strata
          without variance information, see the module docstring);
        - ``df``: n minus the number of strata with cases in the domain (int; may be 0);
        - ``ci_low``, ``ci_high``: the interval, in [0, 1], ci_low <= estimate <= ci_high;
        - ``n_eff``: the effective sample size the NCHS presentation standard judges, as
          CDC's surveytable computes it (:func:`~stikprove.estimation.design_intervals.
          nchs_effective_n`): min(n, n/deff · (t_{n-1}/t_df)²) at ``confidence_level``; n
          where p is 0 or 1 or R's variance is 0; 0 where df is 0. The same under every
          ``method`` and ``degenerate_strata`` (docs/estimation.md, "Effective sample size");
        - ``deff``: the design effect n·v/(p(1-p)) of R's linearization variance v (the
          same under every ``method``; 0 where v is 0; where p is 0 or 1 the Kish design
          effect n·Σw²/(Σw)²).

    Raises
    ------
    EstimationError
        A missing column, an outcome value other than 0/1/missing, a missing stratum or domain
        value, N_h not a whole number, varying within a stratum or smaller than the stratum's
        sampled rows, confidence_level outside (0, 1), an unknown method or degenerate_strata,
        or ``hypergeometric`` for a domain that spans strata.

    Examples
    --------
    >>> d = pd.DataFrame({"stratum": ["a"] * 4 + ["b"] * 4, "N": [10] * 4 + [20] * 4,
    ...                   "y": [1, 0, 0, 0, 1, 1, 0, None]})
    >>> estimate_proportions(d, "y", "stratum", "N")[["n", "estimate", "df"]]  # (10/4 + 20·2/3)/30
       n  estimate  df
    0  7  0.527778   5
    """
    return _sample(data, strata, population_size).estimate(
        outcome, by, confidence_level, method, degenerate_strata=degenerate_strata
    )


def _estimate_proportions(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """The computation behind :func:`estimate_proportions` (arguments checked by the caller)."""
    method = check_design_method(method, extra=_NOT_FROM_SE)
    level = check_confidence_level(confidence_level)
    variance = _check_degenerate(degenerate_strata, method)
    design = _design(data, outcome, strata, population_size, by)
    return _table(design, _summarise(design, variance), level, method)


def _sample(data: pd.DataFrame, strata: str | Sequence[str], population_size: str):
    """The design object the public functions wrap (imported here: it builds on this module);
    unchecked, as the computation behind each method checks the data itself."""
    from stikprove.estimation.stratified_sample import StratifiedSample

    return StratifiedSample._unchecked(data, strata, population_size)


def _design(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None,
) -> _Design:
    strata_cols, by_cols = _validate(data, outcome, strata, population_size, by)
    y_all = _fast_binary_outcome(data, outcome)
    if np.isnan(y_all).all():
        raise EstimationError(f"outcome column {outcome!r} has no non-missing values")
    return _build(data, y_all, strata_cols, population_size, by_cols)


@dataclass(frozen=True)
class DomainLinearization:
    """Linearized (influence) values of domain proportions: the one source of covariances.

    Built by :func:`domain_linearization`. Arrays of length K hold one entry per case with an
    outcome (in the caller's row order), arrays of length D one per domain, of length H one per
    stratum.

    Attributes
    ----------
    keys
        One row per domain: the ``by`` columns (no columns for the whole population).
    estimate, variance, df, n
        Per domain: p̂_d, R's linearization variance (``degenerate_strata="standard"``),
        cases minus strata in the domain, cases.
    rows
        Positions (0-based, ``iloc``) in the caller's data of the K cases with an outcome.
    stratum, domain, weight, y, influence
        Per case: stratum code, domain code, weight N_h/n_h, outcome, and the linearized value
        z_i = w_i (y_i - p̂_d)/N̂_d for the case's own domain (it is 0 for the other domains).
    population_size, sample_size
        Per stratum: N_h and n_h (cases with an outcome).
    """

    keys: pd.DataFrame
    estimate: np.ndarray
    variance: np.ndarray
    df: np.ndarray
    n: np.ndarray
    rows: np.ndarray
    stratum: np.ndarray
    domain: np.ndarray
    weight: np.ndarray
    y: np.ndarray
    influence: np.ndarray
    population_size: np.ndarray
    sample_size: np.ndarray

    @property
    def stratum_factor(self) -> np.ndarray:
        """c_h = (1 - n_h/N_h) n_h/(n_h - 1) per stratum (0 for n_h < 2 or a census)."""
        small, big = self.sample_size, self.population_size
        scale = np.divide(small, small - 1.0, out=np.zeros_like(small), where=small > 1)
        return (1.0 - small / big) * scale

    @property
    def design_df(self) -> int:
        """Degrees of freedom of the whole design: cases minus strata with cases (R's degf)."""
        return int(len(self.y) - np.count_nonzero(self.sample_size))

    def stratified_covariance(self, z: np.ndarray) -> np.ndarray:
        """Σ_h c_h Σ_{i in h} (z_i - z̄_h)(z_i - z̄_h)ᵀ for per-case values z (K × k).

        The with-replacement-then-fpc variance estimator of stratified totals (Cochran 1977,
        5A; R survey's ``svyrecvar`` for one-stage stratified designs), for any linearized
        values aligned with the cases.
        """
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        h = self.stratum
        sums = np.zeros((len(self.sample_size), z.shape[1]))
        np.add.at(sums, h, z)
        centred = z - (sums / np.maximum(self.sample_size, 1.0)[:, None])[h]
        factor = self.stratum_factor[h]
        return (centred * factor[:, None]).T @ centred

    def covariance(self, other: DomainLinearization | None = None) -> np.ndarray:
        """Design-based covariance matrix of the domain estimates (D × D), or with the domains
        of ``other`` (D × E), a linearization of the same cases with another grouping (e.g.
        :meth:`overall`). As R's ``svyby(..., covmat=TRUE)``; the diagonal of the D × D matrix
        is :attr:`variance` exactly.

        cov(p̂_d, p̂_e) = Σ_h c_h [Σ_{i in h} z_i^(d) z_i^(e) - n_h z̄_h^(d) z̄_h^(e)], computed
        from sparse per-(stratum, domain) sums: no K × D matrix is formed.
        """
        from scipy import sparse

        right = self if other is None else other
        if right is not self and (
            len(right.y) != len(self.y)
            or not np.array_equal(right.rows, self.rows)
            or not np.array_equal(right.stratum, self.stratum)
        ):
            raise EstimationError(
                "other must be a linearization of the same cases (same data, outcome and "
                "strata); got one with a different set of cases"
            )
        n_dom, n_other = len(self.estimate), len(right.estimate)
        n_strata = len(self.sample_size)
        factor = self.stratum_factor
        h = self.stratum
        products = sparse.coo_matrix(
            (factor[h] * self.influence * right.influence, (self.domain, right.domain)),
            shape=(n_dom, n_other),
        ).toarray()
        left_sums = sparse.csr_matrix((self.influence, (h, self.domain)), shape=(n_strata, n_dom))
        right_sums = sparse.csr_matrix(
            (right.influence, (h, right.domain)), shape=(n_strata, n_other)
        )
        scale = sparse.diags(
            np.divide(factor, self.sample_size, out=np.zeros(n_strata), where=self.sample_size > 0)
        )
        cov = products - (left_sums.T @ scale @ right_sums).toarray()
        if other is None:
            np.fill_diagonal(cov, self.variance)
        return cov

    def overall(self) -> DomainLinearization:
        """The same cases linearized for the whole population (one domain)."""
        w, y = self.weight, self.y
        total = w.sum()
        p = float((w * y).sum() / total)
        domain = np.zeros(len(y), dtype=np.int64)
        design = _Design(
            y, self.stratum, self.population_size, self.sample_size, domain,
            pd.DataFrame(index=range(1)), self.rows,
        )  # fmt: skip
        summary = _summarise(design)
        return DomainLinearization(
            keys=design.keys,
            estimate=np.array([p]),
            variance=summary["r_variance"],
            df=summary["df"],
            n=summary["n"],
            rows=self.rows,
            stratum=self.stratum,
            domain=domain,
            weight=w,
            y=y,
            influence=w * (y - p) / total,
            population_size=self.population_size,
            sample_size=self.sample_size,
        )


def domain_linearization(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
) -> DomainLinearization:
    """Linearized values of the domain proportions, for covariances between domain estimates.

    Same arguments and validation as :func:`estimate_proportions` (missing outcomes dropped
    before the design is built). The estimates, variances and df equal those of
    ``estimate_proportions`` with ``degenerate_strata="standard"`` (R's). Use
    :meth:`DomainLinearization.covariance` for the covariance matrix of the domain estimates
    (R's ``vcov(svyby(~y, ~by, design, svymean, covmat=TRUE))``), with :meth:`overall` for the
    covariance of each domain with the whole population, and
    :meth:`DomainLinearization.stratified_covariance` for any other linearized values.

    Examples
    --------
    >>> d = pd.DataFrame({"stratum": ["a"] * 4 + ["b"] * 4, "N": [10] * 4 + [20] * 4,
    ...                   "y": [1, 0, 0, 1, 1, 1, 0, 0], "sex": ["k", "m"] * 4})
    >>> lin = domain_linearization(d, "y", "stratum", "N", by="sex")
    >>> lin.covariance().shape, lin.covariance(lin.overall()).shape
    ((2, 2), (2, 1))
    """
    return _sample(data, strata, population_size).linearization(outcome, by)


def _domain_linearization(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
) -> DomainLinearization:
    """The computation behind :func:`domain_linearization` (arguments checked by the caller)."""
    return _linearize(_design(data, outcome, strata, population_size, by))


def _linearize(
    design: _Design, summary: dict[str, np.ndarray] | None = None
) -> DomainLinearization:
    """The linearization of a built design; ``summary`` its standard _summarise if at hand."""
    if summary is None:
        summary = _summarise(design)
    big_n, small_n = design.population, design.sample
    w = np.divide(big_n, small_n, out=np.zeros_like(big_n), where=small_n > 0)[design.stratum]
    p = summary["estimate"]
    size = summary["population"]
    d = design.domain
    return DomainLinearization(
        keys=design.keys,
        estimate=p,
        variance=summary["r_variance"],
        df=summary["df"],
        n=summary["n"],
        rows=design.rows,
        stratum=design.stratum,
        domain=d,
        weight=w,
        y=design.y,
        influence=w * (design.y - p[d]) / size[d],
        population_size=big_n,
        sample_size=small_n,
    )


def outcome_bounds(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    in_scope: str | Sequence[bool] | np.ndarray | pd.Series | None = None,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """Worst- and best-case estimates per domain when missing outcomes are not at random.

    Three analyses of the same sample: the usual one (missing dropped within strata, missing at
    random), one with every missing outcome counted as 0, and one with every missing outcome
    counted as 1 (the bounds of Horowitz & Manski 2000 for the domain proportion, each with its
    sampling interval).

    ``in_scope`` says which cases belong to the indicator's population: a boolean column of
    ``data`` or one boolean per row (``stikprove.codebook.Codebook.indicator_scope``: eligible,
    and health-exempt for ``misclassified``; a case not yet reviewed is in scope). A case
    outside it (found ineligible and replaced by a reserve) has no outcome by definition, not a
    missing one: it is left out of all three analyses instead of being counted as 0 or 1.
    None (default): every case is in scope, and every missing outcome is a missing outcome.

    Returns
    -------
    pandas.DataFrame
        One row per domain with a case in scope (sorted by the ``by`` columns): the ``by``
        columns, then

        - ``n``: cases with an outcome; ``n_missing``: cases in scope without one (not
          assessable or not yet reviewed);
        - ``estimate``, ``ci_low``, ``ci_high``: missing at random (as
          :func:`estimate_proportions`; NaN if the domain has no outcome at all);
        - ``estimate_missing_as_0``, ``estimate_missing_as_1``: the point bounds;
        - ``ci_low_missing_as_0``: lower confidence limit with missing as 0, and
          ``ci_high_missing_as_1``: upper confidence limit with missing as 1; together an
          interval that allows for both sampling error and any pattern of missingness.
    """
    return _sample(data, strata, population_size).bounds(
        outcome, by, confidence_level, method, in_scope=in_scope,
        degenerate_strata=degenerate_strata,
    )  # fmt: skip


def _outcome_bounds(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    in_scope: str | Sequence[bool] | np.ndarray | pd.Series | None = None,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """The computation behind :func:`outcome_bounds` (arguments checked by the caller)."""
    method = check_design_method(method, extra=_NOT_FROM_SE)
    check_confidence_level(confidence_level)
    _check_degenerate(degenerate_strata)
    strata_cols, by_cols = _validate(data, outcome, strata, population_size, by)
    scope = _scope(data, in_scope)
    if not scope.any():
        raise EstimationError(
            f"in_scope: no case of the {len(data)} is in the indicator's population; the "
            "bounds need at least one"
        )
    data = data[scope]
    y = _fast_binary_outcome(data, outcome)
    missing = np.isnan(y)
    frame = data.copy()
    frame["__y0"] = np.where(missing, 0.0, y)
    frame["__y1"] = np.where(missing, 1.0, y)
    frame["__missing"] = missing.astype(float)
    args = {"strata": strata_cols, "population_size": population_size, "by": by or None}
    common = {
        "confidence_level": confidence_level,
        "method": method,
        "degenerate_strata": degenerate_strata,
    }
    low = _estimate_proportions(frame, "__y0", **args, **common)
    high = _estimate_proportions(frame, "__y1", **args, **common)
    result = low[by_cols].copy()
    result["n"] = low["n"]
    if by_cols:
        counts = frame.groupby(by_cols, sort=True, observed=True)["__missing"].sum()
        result["n_missing"] = counts.to_numpy().astype(np.int64)
    else:
        result["n_missing"] = np.int64(missing.sum())
    result["n"] = result["n"] - result["n_missing"]
    if (~missing).any():
        mar = _estimate_proportions(frame, outcome, **args, **common)
        merged = result[by_cols].merge(mar, how="left", on=by_cols) if by_cols else mar
        result["estimate"] = merged["estimate"].to_numpy()
        result["ci_low"] = merged["ci_low"].to_numpy()
        result["ci_high"] = merged["ci_high"].to_numpy()
    else:
        result["estimate"] = result["ci_low"] = result["ci_high"] = np.nan
    result["estimate_missing_as_0"] = low["estimate"].to_numpy()
    result["estimate_missing_as_1"] = high["estimate"].to_numpy()
    result["ci_low_missing_as_0"] = low["ci_low"].to_numpy()
    result["ci_high_missing_as_1"] = high["ci_high"].to_numpy()
    return result.reset_index(drop=True)


def _scope(data: pd.DataFrame, in_scope: object) -> np.ndarray:
    """``in_scope`` of :func:`outcome_bounds` as one bool per row of ``data``, checked."""
    if in_scope is None:
        return np.ones(len(data), dtype=bool)
    if isinstance(in_scope, str):
        _check_columns(data, "in_scope", [in_scope])
        values, name = data[in_scope], f"column {in_scope!r}"
    else:
        values, name = pd.Series(np.asarray(in_scope, dtype=object)), "in_scope"
        if len(values) != len(data):
            raise EstimationError(
                f"in_scope must have one value per row of data ({len(data)}); got {len(values)}"
            )
    plain = values.astype(object).to_numpy()
    bad = np.array([not isinstance(v, bool | np.bool_) for v in plain])
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"{name} must hold True or False for every case; got {plain[position]!r} at "
            f"{_row_label(data, position)}"
        )
    return plain.astype(bool)


def estimate_categories(
    data: pd.DataFrame,
    variable: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    categories: Sequence[object] | None = None,
    missing_values: Sequence[object] = (),
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """The proportion of every category of ``variable``, per domain, in one long tidy frame.

    Each category c is estimated as the 0/1 outcome ``variable == c`` by
    :func:`estimate_proportions`, among the cases whose value is neither missing (NaN/None) nor
    in ``missing_values`` (e.g. ``("kan_ikke_vurderes",)``).

    Parameters
    ----------
    categories
        The categories to report, in this order (default: the observed values, sorted). A listed
        category that is never observed gets estimate 0 with its one-sided interval. A value
        observed but not listed is an error (it would silently change the denominator).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``category``, then the columns of :func:`estimate_proportions`;
        sorted by the ``by`` columns, then by category in the order of ``categories``.
    """
    return _sample(data, strata, population_size).categories(
        variable,
        by,
        confidence_level,
        method,
        categories,
        missing_values,
        degenerate_strata=degenerate_strata,
    )


def _estimate_categories(
    data: pd.DataFrame,
    variable: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    categories: Sequence[object] | None = None,
    missing_values: Sequence[object] = (),
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """The computation behind :func:`estimate_categories` (arguments checked by the caller)."""
    method = check_design_method(method, extra=_NOT_FROM_SE)
    check_confidence_level(confidence_level)
    _check_degenerate(degenerate_strata)
    strata_cols, by_cols = _validate(data, variable, strata, population_size, by)
    values = data[variable]
    missing = values.isna() | values.isin(list(missing_values))
    observed = pd.unique(values[~missing])
    if categories is None:
        try:
            categories = sorted(observed)
        except TypeError:
            categories = sorted(observed, key=str)
    else:
        categories = list(categories)
        both = [c for c in categories if c in list(missing_values)]
        if both:
            raise EstimationError(
                f"category {both[0]!r} is also in missing_values {list(missing_values)!r}; a "
                "value is either a category or missing, not both"
            )
        unknown = [v for v in observed if v not in categories]
        if unknown:
            raise EstimationError(
                f"column {variable!r} has value {unknown[0]!r} not among categories "
                f"{categories!r}; list it, or pass it in missing_values"
            )
    if not categories:
        raise EstimationError(f"column {variable!r} has no non-missing values")
    frames = []
    for order, category in enumerate(categories):
        frame = data.copy()
        frame["__y"] = np.where(missing, np.nan, (values == category).astype(float))
        table = _estimate_proportions(
            frame,
            "__y",
            strata_cols,
            population_size,
            by=by or None,
            confidence_level=confidence_level,
            method=method,
            degenerate_strata=degenerate_strata,
        )
        table.insert(len(by_cols), "category", [category] * len(table))
        table["__order"] = order
        frames.append(table)
    result = pd.concat(frames, ignore_index=True)
    result = result.sort_values([*by_cols, "__order"], kind="stable").drop(columns="__order")
    return result.reset_index(drop=True)
