"""Coverage of the interval methods under a stratified design, by simulation.

:func:`simulate_coverage` draws the design many times from a known population and reports how
often each method's interval covers the true domain proportion, and how wide it is. It answers
the question a researcher asks before drawing: "with these strata and sample sizes, does the
95 % interval I will report really cover 95 % of the time, also in the small kommuner?"

How (all numpy, no loop over replications):

- Stratum h has N_h cases, M_h = round(p_h·N_h) of them with the outcome. One replication draws
  the events of every stratum at once, X_h ~ Hypergeometric(M_h, N_h - M_h, n_h), with
  ``numpy.random.Generator.hypergeometric`` for all replications in one call.
- A domain is a union of strata, so its population N_d = Σ N_h is known and the estimate is the
  stratified mean p̂_d = Σ (N_h/N_d) X_h/n_h, with variance
  Σ (N_h/N_d)² (1 - n_h/N_h) s_h²/n_h, s_h² = n_h/(n_h - 1) p̂_h(1 - p̂_h), and
  df = Σ n_h - (number of strata): exactly what :func:`~stikprove.estimation.estimate_proportions`
  computes for such a domain (the ratio's linearization variance reduces to this when N̂_d = N_d).
- The intervals come from :func:`~stikprove.estimation.design_intervals.domain_interval` (the
  same code and edge rule the estimates use) and, for ``exact``, the hypergeometric interval on
  domains that are one stratum. Each distinct sample outcome of a domain (the tuple of its X_h)
  is computed once and weighted by how often it was drawn, which makes small strata very fast.

The Monte Carlo standard error of a coverage c from R replications is sqrt(c(1 - c)/R).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError
from stikprove.estimation.design_intervals import (
    DESIGN_METHODS,
    check_design_method,
    domain_interval,
)
from stikprove.estimation.intervals import check_confidence_level, hypergeometric_bounds

__all__ = ["COVERAGE_COLUMNS", "simulate_coverage"]

COVERAGE_COLUMNS = (
    "domain",
    "method",
    "population_size",
    "sample_size",
    "true_proportion",
    "replications",
    "coverage",
    "mc_se",
    "below",
    "above",
    "mean_width",
)
"""Columns of :func:`simulate_coverage`."""

_COVERAGE_METHODS = (*DESIGN_METHODS, "exact")


def _per_stratum(values: Sequence[float] | Mapping[str, float], name: str) -> pd.Series:
    if isinstance(values, pd.Series):
        series = values.copy()
    elif isinstance(values, Mapping):
        series = pd.Series(dict(values))
    else:
        array = np.atleast_1d(np.asarray(values, dtype=float))
        series = pd.Series(array, index=[f"s{i + 1}" for i in range(len(array))])
    try:
        series = series.astype(float)
    except (TypeError, ValueError):
        raise EstimationError(f"{name} must be numbers, got {list(series)!r}") from None
    if len(series) == 0:
        raise EstimationError(f"{name} must give at least one stratum, got none")
    series.index = series.index.map(str)
    return series


def _check_design(
    population_sizes, sample_sizes, true_rates
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    big_n = _per_stratum(population_sizes, "population_sizes")
    small_n = _per_stratum(sample_sizes, "sample_sizes")
    rates = _per_stratum(true_rates, "true_rates")
    for name, series in (("sample_sizes", small_n), ("true_rates", rates)):
        if len(series) != len(big_n) or (
            not series.index.equals(big_n.index) and set(series.index) != set(big_n.index)
        ):
            raise EstimationError(
                f"{name} must give the same strata as population_sizes: got "
                f"{list(series.index)}, expected {list(big_n.index)}"
            )
    small_n = small_n.loc[big_n.index]
    rates = rates.loc[big_n.index]
    for name, series, minimum in (("population_sizes", big_n, 1), ("sample_sizes", small_n, 1)):
        bad = ~np.isfinite(series) | (series < minimum) | (series != np.round(series))
        if bad.any():
            stratum = series.index[np.flatnonzero(bad.to_numpy())[0]]
            raise EstimationError(
                f"{name} must be whole numbers >= {minimum}, got {series[stratum]:g} for "
                f"stratum {stratum!r}"
            )
    over = small_n > big_n
    if over.any():
        stratum = small_n.index[np.flatnonzero(over.to_numpy())[0]]
        raise EstimationError(
            f"sample_sizes must not exceed population_sizes: stratum {stratum!r} has n = "
            f"{small_n[stratum]:g} > N = {big_n[stratum]:g}"
        )
    bad = ~np.isfinite(rates) | (rates < 0) | (rates > 1)
    if bad.any():
        stratum = rates.index[np.flatnonzero(bad.to_numpy())[0]]
        raise EstimationError(
            f"true_rates must be in [0, 1], got {rates[stratum]:g} for stratum {stratum!r}"
        )
    return big_n.index, big_n.to_numpy(), small_n.to_numpy(), rates.to_numpy()


def _domain_members(
    domains: Mapping[str, Sequence[str]] | None, strata: pd.Index
) -> dict[str, np.ndarray]:
    if domains is None:
        members = {name: np.array([i]) for i, name in enumerate(strata)}
        if len(strata) > 1:
            members["all"] = np.arange(len(strata))
        return members
    if not isinstance(domains, Mapping) or not domains:
        raise EstimationError(f"domains must map a domain name to its strata, got {domains!r}")
    position = {name: i for i, name in enumerate(strata)}
    members = {}
    for name, listed in domains.items():
        listed = [listed] if isinstance(listed, str) else list(listed)
        unknown = [s for s in map(str, listed) if s not in position]
        if unknown or not listed:
            raise EstimationError(
                f"domain {name!r} lists stratum {unknown[0] if unknown else None!r}, "
                f"expected strata among {list(strata)}"
            )
        members[str(name)] = np.array(sorted({position[str(s)] for s in listed}))
    return members


def _domain_intervals(
    counts: np.ndarray,
    big_n: np.ndarray,
    small_n: np.ndarray,
    level: float,
    method: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates and intervals for a domain made of the given strata; counts is (k, H_d)."""
    alpha = 1.0 - level
    n_total = big_n.sum()
    share = big_n / n_total
    rate = counts / small_n
    census = small_n >= big_n
    estimate = rate @ share
    if method == "exact":
        if len(big_n) != 1:
            raise AssertionError("exact is only simulated for one-stratum domains")
        m_low, m_high = hypergeometric_bounds(counts[:, 0], small_n[0], big_n[0], alpha)
        # as estimate_proportions: the interval always contains x/n
        low = np.minimum(m_low / big_n[0], estimate)
        return estimate, low, np.maximum(m_high / big_n[0], estimate)
    with np.errstate(invalid="ignore", divide="ignore"):
        s2 = np.where(small_n > 1, small_n / (small_n - 1), 0.0) * rate * (1 - rate)
    fpc = 1.0 - small_n / big_n
    sampled = ~census
    r_variance = (s2 * fpc / small_n) @ (share**2)
    # Strata with no variance information (p̂_h in {0, 1}, or one case) get the floor term at
    # p̃ = (x + 1/2)/(n + 1), as estimate_proportions does.
    blind = ((rate <= 0) | (rate >= 1) | (small_n < 2)) & sampled
    shrunk = (counts + 0.5) / (small_n + 1.0)
    s2 = np.where(blind, shrunk * (1 - shrunk), s2)
    variance = (s2 * fpc / small_n) @ (share**2)
    n_d = small_n.sum()
    sampled_pop = big_n[sampled].sum()
    c = big_n[census].sum() / n_total
    census_estimate = (
        counts[:, census].sum(axis=1) / big_n[census].sum()
        if census.any()
        else np.zeros(len(counts))
    )
    sampled_estimate = (
        (rate[:, sampled] @ big_n[sampled]) / sampled_pop
        if sampled.any()
        else np.zeros(len(counts))
    )
    kish = sampled_pop**2 / np.sum(big_n[sampled] ** 2 / small_n[sampled]) if sampled.any() else 0
    rows = len(counts)
    low, high = domain_interval(
        estimate,
        np.sqrt(variance),
        np.full(rows, n_d - len(big_n)),
        np.full(rows, n_d),
        level,
        method,
        census_share=np.full(rows, c),
        census_estimate=census_estimate,
        sampled_estimate=sampled_estimate,
        sampled_kish_n=np.full(rows, kish),
        sampled_strata=np.full(rows, sampled.sum()),
        sampled_x=counts[:, sampled].sum(axis=1),
        sampled_n=np.full(rows, small_n[sampled].sum()),
        sampled_population=np.full(rows, sampled_pop),
        no_variance=r_variance <= 1e-20,  # se <= 1e-10, as design_ci
    )
    return estimate, np.asarray(low), np.asarray(high)


def simulate_coverage(
    population_sizes: Sequence[int] | Mapping[str, int],
    sample_sizes: Sequence[int] | Mapping[str, int],
    true_rates: Sequence[float] | Mapping[str, float],
    domains: Mapping[str, Sequence[str]] | None = None,
    methods: Sequence[str] = ("korn-graubard", "logit", "wald", "wilson", "exact"),
    confidence_level: float = 0.95,
    replications: int = 2000,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulated coverage and mean width of each interval method for each domain.

    Parameters
    ----------
    population_sizes, sample_sizes, true_rates
        Per stratum: N_h, n_h (1 <= n_h <= N_h) and the true proportion p_h (the population has
        M_h = round(p_h·N_h) cases with the outcome). Sequences (strata named s1, s2, ...) or
        mappings stratum -> value with the same keys.
    domains
        Mapping domain name -> its strata. Default: every stratum on its own, plus ``all``.
    methods
        Any of ``korn-graubard``, ``logit``, ``wald``, ``wilson`` and ``exact``. ``exact``
        (hypergeometric) is reported only for domains of one stratum.
    confidence_level
        In (0, 1).
    replications
        Number of simulated samples (>= 1).
    seed
        An int or a ``numpy.random.Generator``; the same seed gives the same table.

    Returns
    -------
    pandas.DataFrame
        One row per (domain, method), in the order of ``domains`` then ``methods``:

        - ``domain``, ``method``;
        - ``population_size`` (Σ N_h), ``sample_size`` (Σ n_h), ``true_proportion`` (Σ M_h/N_d);
        - ``replications``;
        - ``coverage``: share of replications whose interval contains the true proportion;
        - ``mc_se``: its Monte Carlo standard error sqrt(coverage(1 - coverage)/replications);
        - ``below``, ``above``: shares where the true value lies below / above the interval;
        - ``mean_width``: mean of ci_high - ci_low.

    Examples
    --------
    >>> table = simulate_coverage([117, 509], [4, 40], [0.02, 0.95], replications=200, seed=1)
    >>> list(table["domain"].unique())
    ['s1', 's2', 'all']
    """
    strata, big_n, small_n, rates = _check_design(population_sizes, sample_sizes, true_rates)
    level = check_confidence_level(confidence_level)
    methods = [methods] if isinstance(methods, str) else list(methods)
    if not methods:
        raise EstimationError("methods must name at least one method, got none")
    for method in methods:
        check_design_method(method, extra=("exact",))
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)):
        raise EstimationError(f"replications must be a whole number >= 1, got {replications!r}")
    if replications < 1:
        raise EstimationError(f"replications must be >= 1, got {replications!r}")
    members = _domain_members(domains, strata)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    events = np.round(rates * big_n).astype(np.int64)
    big_int = big_n.astype(np.int64)
    small_int = small_n.astype(np.int64)
    draws = rng.hypergeometric(events, big_int - events, small_int, size=(replications, len(big_n)))

    rows = []
    for name, idx in members.items():
        truth = events[idx].sum() / big_n[idx].sum()
        outcomes, weights = np.unique(draws[:, idx], axis=0, return_counts=True)
        weights = weights / replications
        for method in methods:
            if method == "exact" and len(idx) != 1:
                continue
            _, low, high = _domain_intervals(
                outcomes.astype(float), big_n[idx], small_n[idx], level, method
            )
            tolerance = 1e-12
            below = weights[truth < low - tolerance].sum()
            above = weights[truth > high + tolerance].sum()
            coverage = 1.0 - below - above
            rows.append(
                {
                    "domain": name,
                    "method": method,
                    "population_size": int(big_n[idx].sum()),
                    "sample_size": int(small_n[idx].sum()),
                    "true_proportion": truth,
                    "replications": int(replications),
                    "coverage": coverage,
                    "mc_se": float(np.sqrt(coverage * (1 - coverage) / replications)),
                    "below": below,
                    "above": above,
                    "mean_width": float(weights @ (high - low)),
                }
            )
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))
