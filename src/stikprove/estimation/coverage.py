"""Coverage of the interval methods under a stratified design, by simulation.

:func:`simulate_coverage` draws the design many times from a known population and reports how
often each method's interval covers the true domain proportion, and how wide it is. It answers
the question a researcher asks before drawing: "with these strata and sample sizes, does the
95 % interval I will report really cover 95 % of the time, also in the small kommuner?"

How (all numpy, no loop over replications or domains):

- Stratum h has N_h cases, M_h = round(p_h·N_h) of them with the outcome. One replication draws
  the events of every stratum at once, X_h ~ Hypergeometric(M_h, N_h - M_h, n_h), with
  ``numpy.random.Generator.hypergeometric`` for many replications in one call (chunks of
  :data:`_DRAW_CHUNK` stratum-draws, so memory stays bounded for a national design).
- A domain is a union of strata, so its population N_d = Σ N_h is known and the estimate is the
  stratified mean p̂_d = Σ (N_h/N_d) X_h/n_h, with variance
  Σ (N_h/N_d)² (1 - n_h/N_h) s_h²/n_h, s_h² = n_h/(n_h - 1) p̂_h(1 - p̂_h), and
  df = Σ n_h - (number of strata): exactly what :func:`~stikprove.estimation.estimate_proportions`
  computes for such a domain (the ratio's linearization variance reduces to this when N̂_d = N_d;
  with ``degenerate_strata="conservative"`` its added term too).
- The intervals come from :func:`~stikprove.estimation.design_intervals.domain_interval` (the
  same code and edge rule the estimates use) and, for ``hypergeometric``, the exact interval on
  domains that are one stratum.
- One-stratum domains (the usual case: every stratum of a national design) are computed once per
  distinct (stratum, x), counted over all replications with one ``bincount`` and weighted by
  how often each was drawn. Domains of several strata are computed for all replications and
  domains together by matrix products with the (strata × domains) membership matrix, in blocks
  of :data:`_BLOCK` (replication, domain) pairs. A national design (≈ 1,000 strata, 1,000
  replications) runs at 2.5-4.4 million domain-intervals per second on two cores; the former
  loop over domains managed 0.14-0.33 million (benchmarks/bench_estimation.py).

The Monte Carlo standard error of a coverage c from R replications is sqrt(c(1 - c)/R).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError
from stikprove.estimation.design_intervals import (
    check_design_method,
    domain_interval,
)
from stikprove.estimation.domain_summary import check_degenerate_strata
from stikprove.estimation.intervals import check_confidence_level
from stikprove.exact_bounds import hypergeometric_interval
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD, DOMAIN_INTERVAL_METHODS
from stikprove.variance import (
    POOLED_FEW,
    binary_element_variance,
    borrows_domain_rate,
    negligible_to_zero,
    stratified_variance,
    stratum_mean_variance,
)

__all__ = ["COVERAGE_COLUMNS", "domain_intervals", "simulate_coverage"]

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

_COVERAGE_METHODS = DOMAIN_INTERVAL_METHODS

_DRAW_CHUNK = 4_000_000
"""Strata × replications drawn at once (about 32 MB of int64 draws)."""

_BLOCK = 250_000
"""Replications × multi-stratum domains whose intervals are computed at once."""


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


def _domain_quantities(
    counts: np.ndarray,
    big_n: np.ndarray,
    small_n: np.ndarray,
    member: np.ndarray,
    degenerate_strata: str,
) -> dict[str, np.ndarray]:
    """Per (row, domain) estimate, se, df and the edge-rule pieces, all as (k, D) arrays.

    ``counts`` is (k, H): events per stratum in k samples; ``member`` is (H, D) 0/1: the strata
    of each domain. Matrix products over the strata, no loop over domains or samples; the same
    quantities :func:`~stikprove.estimation.estimate_proportions` computes for a domain that is
    a union of strata (the ratio's linearization variance reduces to the stratified one there).
    """
    member = member.astype(float)
    size_d = big_n @ member
    share = big_n[:, None] * member / size_d
    rate = counts / small_n
    census = small_n >= big_n
    sampled = ~census
    s2 = binary_element_variance(rate, small_n)
    r_variance = negligible_to_zero(stratified_variance(big_n, small_n, s2, share))
    variance = r_variance
    if degenerate_strata == "conservative":
        blind = ((rate <= 0) | (rate >= 1) | (small_n < 2)) & sampled
        shrunk = (counts + 0.5) / (small_n + 1.0)
        s2 = np.where(blind, shrunk * (1 - shrunk), s2)
        variance = stratified_variance(big_n, small_n, s2, share)
    elif degenerate_strata == "pooled":
        variance = np.maximum(r_variance, _pooled_variance(counts, big_n, small_n, sampled, share))
    census_pop = (big_n * census) @ member
    sampled_pop = (big_n * sampled) @ member
    kish_den = (big_n**2 / small_n * sampled) @ member
    with np.errstate(invalid="ignore", divide="ignore"):
        census_estimate = np.where(
            census_pop > 0, (counts * census) @ member / np.maximum(census_pop, 1e-300), 0.0
        )
        sampled_estimate = np.where(
            sampled_pop > 0,
            (rate * (big_n * sampled)) @ member / np.maximum(sampled_pop, 1e-300),
            0.0,
        )
        kish = np.where(kish_den > 0, sampled_pop**2 / np.maximum(kish_den, 1e-300), 0.0)
    n_d = small_n @ member
    return {
        "estimate": rate @ share,
        "se": np.sqrt(variance),
        "no_variance": r_variance == 0,  # zero up to rounding is zero (negligible_to_zero)
        "df": (n_d - member.sum(axis=0))[None, :],
        "n": n_d[None, :],
        "census_share": (census_pop / size_d)[None, :],
        "census_estimate": census_estimate,
        "sampled_estimate": sampled_estimate,
        "sampled_kish_n": kish[None, :],
        "sampled_strata": (sampled @ member)[None, :],
        "sampled_x": (counts * sampled) @ member,
        "sampled_n": ((small_n * sampled) @ member)[None, :],
        "sampled_population": sampled_pop[None, :],
    }


def _pooled_variance(counts, big_n, small_n, sampled, share, few=POOLED_FEW) -> np.ndarray:
    """The sum ``degenerate_strata="pooled"`` compares with R's variance, (k, D), for domains
    made of whole strata.

    A sampled stratum with at most ``few`` events or non-events (or one case) gets the element
    variance c_h·p̂_d(1 - p̂_d), c_h = n_h/(n_h - 1) (1 for n_h = 1): the domain's rate in place
    of its own; the others keep R's, c_h·p̂_h(1 - p̂_h) (see :mod:`stikprove.estimation.domains`).
    Through the one stratified variance (:func:`stikprove.variance.stratified_variance`).
    """
    estimate = (counts / small_n) @ share
    rate = counts / small_n
    borrow = borrows_domain_rate(counts, small_n, small_n, few) & sampled
    c = np.where(small_n > 1, small_n / np.maximum(small_n - 1, 1), 1.0)
    own = stratified_variance(big_n, small_n, np.where(borrow, 0.0, c * rate * (1 - rate)), share)
    unit = stratified_variance(big_n, small_n, np.where(borrow, c, 0.0), share)
    return own + estimate * (1 - estimate) * unit


def _form(method: str) -> str:
    """The design_ci form of a method: the default is Korn–Graubard beyond one stratum."""
    return "korn-graubard" if method == DEFAULT_DOMAIN_INTERVAL_METHOD else method


def _intervals(quantities: dict[str, np.ndarray], level: float, method: str):
    """domain_interval on the (k, D) quantities, flattened; returns (low, high) as (k, D)."""
    shape = np.broadcast_shapes(*(v.shape for v in quantities.values()))
    flat = {key: np.broadcast_to(value, shape).ravel() for key, value in quantities.items()}
    low, high = domain_interval(
        flat.pop("estimate"),
        flat.pop("se"),
        flat.pop("df"),
        flat.pop("n"),
        level,
        method,
        **flat,
    )
    return np.asarray(low).reshape(shape), np.asarray(high).reshape(shape)


def _exact_intervals(x, small_n, big_n, level):
    """Hypergeometric interval for one-stratum domains (as estimate_proportions reports it)."""
    return hypergeometric_interval(x, small_n, big_n, 1.0 - level)


def _domain_intervals(
    counts: np.ndarray,
    big_n: np.ndarray,
    small_n: np.ndarray,
    level: float,
    method: str,
    degenerate_strata: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates and intervals for one domain made of the given strata; counts is (k, H_d).

    As :func:`~stikprove.estimation.estimate_proportions` computes them for such a domain
    (``degenerate_strata`` None: the method's own variance).
    """
    counts = np.asarray(counts, dtype=float)
    one_stratum_exact = method == DEFAULT_DOMAIN_INTERVAL_METHOD and len(big_n) == 1
    if method == "hypergeometric" or one_stratum_exact:
        if len(big_n) != 1:
            raise AssertionError("exact is only simulated for one-stratum domains")
        low, high = _exact_intervals(counts[:, 0], small_n[0], big_n[0], level)
        return counts[:, 0] / small_n[0], low, high
    member = np.ones((len(big_n), 1))
    variance = check_degenerate_strata(degenerate_strata, method)
    quantities = _domain_quantities(counts, big_n, small_n, member, variance)
    low, high = _intervals(quantities, level, _form(method))
    return quantities["estimate"][:, 0], low[:, 0], high[:, 0]


def domain_intervals(
    counts: np.ndarray,
    population_sizes: np.ndarray,
    sample_sizes: np.ndarray,
    confidence_level: float = 0.95,
    method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
    *,
    degenerate_strata: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate and interval of one domain made of whole strata, for many samples at once.

    ``counts`` is (k, H): the events x_h among the n_h (``sample_sizes``) cases sampled from
    N_h (``population_sizes``) in each of the domain's H strata, one row per sample. Returns
    (estimate, ci_low, ci_high), each of length k: what
    :func:`~stikprove.estimation.estimate_proportions` reports for such a domain with the same
    ``method`` and ``degenerate_strata`` (its estimate, variance, df and edge rule), computed
    for all rows together without a data frame per sample. ``hypergeometric`` (exact) takes a
    domain of one stratum only. Meant for simulation studies of one's own
    (:func:`simulate_coverage` draws the samples itself; research/interval_study.py draws its
    own and calls this).
    """
    level = check_confidence_level(confidence_level)
    method = check_design_method(method, extra=("hypergeometric", DEFAULT_DOMAIN_INTERVAL_METHOD))
    check_degenerate_strata(degenerate_strata, method)
    x = np.asarray(counts, dtype=float)
    big_n = np.asarray(population_sizes, dtype=float)
    small_n = np.asarray(sample_sizes, dtype=float)
    shapes = (x.ndim, big_n.ndim, small_n.shape, x.shape[1:])
    if shapes != (2, 1, big_n.shape, big_n.shape):
        raise EstimationError(
            f"counts must be (samples, strata) with one population and sample size per stratum; "
            f"got counts of shape {x.shape}, population_sizes {big_n.shape}, "
            f"sample_sizes {small_n.shape}"
        )
    whole = (small_n >= 1) & (small_n <= big_n) & (small_n == np.round(small_n))
    if not len(big_n) or not whole.all():
        raise EstimationError(
            f"need whole numbers 1 <= n_h <= N_h in every stratum, got sample_sizes "
            f"{small_n.tolist()!r}, population_sizes {big_n.tolist()!r}"
        )
    bad = ~((x >= 0) & (x <= small_n) & (x == np.round(x)))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise EstimationError(
            f"counts must be whole numbers within 0..n_h; row {row}, stratum {col}: "
            f"{x[row, col]:g} of n_h = {small_n[col]:g}"
        )
    if method == "hypergeometric" and len(big_n) != 1:
        raise EstimationError(
            f"method 'hypergeometric' is exact for a domain of one stratum only; got {len(big_n)}"
        )
    return _domain_intervals(x, big_n, small_n, level, method, degenerate_strata)


def _stratum_quantities(
    x: np.ndarray, big_n: np.ndarray, small_n: np.ndarray, degenerate_strata: str
) -> dict[str, np.ndarray]:
    """:func:`_domain_quantities` for one-stratum domains, one row per (stratum, x): the
    same formulas with a single stratum, elementwise over rows of different strata."""
    rate = x / small_n
    census = small_n >= big_n
    sampled = (~census).astype(float)
    s2 = binary_element_variance(rate, small_n)
    r_variance = negligible_to_zero(stratum_mean_variance(big_n, small_n, s2))
    variance = r_variance
    if degenerate_strata == "conservative":
        blind = ((rate <= 0) | (rate >= 1) | (small_n < 2)) & ~census
        shrunk = (x + 0.5) / (small_n + 1.0)
        variance = stratum_mean_variance(big_n, small_n, np.where(blind, shrunk * (1 - shrunk), s2))
    return {
        "estimate": rate,
        "se": np.sqrt(variance),
        "no_variance": r_variance == 0,
        "df": small_n - 1.0,
        "n": small_n,
        "census_share": census.astype(float),
        "census_estimate": np.where(census, x / big_n, 0.0),
        "sampled_estimate": rate * sampled,
        "sampled_kish_n": small_n * sampled,
        "sampled_strata": sampled,
        "sampled_x": x * sampled,
        "sampled_n": small_n * sampled,
        "sampled_population": big_n * sampled,
    }


def simulate_coverage(
    population_sizes: Sequence[int] | Mapping[str, int],
    sample_sizes: Sequence[int] | Mapping[str, int],
    true_rates: Sequence[float] | Mapping[str, float],
    domains: Mapping[str, Sequence[str]] | None = None,
    methods: Sequence[str] = (
        DEFAULT_DOMAIN_INTERVAL_METHOD, "korn-graubard", "logit", "wald", "wilson", "hypergeometric"
    ),
    confidence_level: float = 0.95,
    replications: int = 2000,
    seed: int | np.random.Generator | None = None,
    *,
    degenerate_strata: str | None = None,
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
        Any of ``pooled-hypergeometric`` (the default of estimate_proportions),
        ``korn-graubard``, ``korn-graubard-deff1``, ``logit``, ``wald``, ``wilson``,
        ``jeffreys`` and ``hypergeometric`` (``exact`` is its deprecated name), which is
        reported only for domains of one stratum.
    confidence_level
        In (0, 1).
    replications
        Number of simulated samples (>= 1).
    seed
        An int or a ``numpy.random.Generator``; the same seed gives the same table.
    degenerate_strata
        None (default: each method's own, ``pooled`` for ``pooled-hypergeometric`` and ``standard``
        for the others), ``"standard"``, ``"conservative"`` or ``"pooled"``: the variance of
        :func:`~stikprove.estimation.estimate_proportions` with the same option, so the
        simulation tells you what the estimates you will report do.

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
    extra = ("hypergeometric", DEFAULT_DOMAIN_INTERVAL_METHOD)
    methods = [check_design_method(method, extra=extra) for method in methods]
    variance_of = {m: check_degenerate_strata(degenerate_strata, m) for m in methods}
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)):
        raise EstimationError(f"replications must be a whole number >= 1, got {replications!r}")
    if replications < 1:
        raise EstimationError(f"replications must be >= 1, got {replications!r}")
    members = _domain_members(domains, strata)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    n_strata = len(big_n)
    events = np.round(rates * big_n).astype(np.int64)
    big_int = big_n.astype(np.int64)
    small_int = small_n.astype(np.int64)
    names = list(members)
    single = np.unique([members[name][0] for name in names if len(members[name]) == 1])
    single = single.astype(np.int64)
    multi = [name for name in names if len(members[name]) > 1]
    member = np.zeros((n_strata, len(multi)))
    for j, name in enumerate(multi):
        member[members[name], j] = 1.0
    truth_multi = (events @ member) / (big_n @ member)
    offsets = np.concatenate([[0], np.cumsum(small_int[single] + 1)])
    frequency = np.zeros(offsets[-1], dtype=np.int64)
    design_methods = [m for m in methods if m != "hypergeometric"]
    # below, above, summed width per multi-stratum domain and method
    totals = {m: np.zeros((3, len(multi))) for m in design_methods}
    tolerance = 1e-12

    rows_per_draw = max(1, _DRAW_CHUNK // n_strata)
    rows_per_block = max(1, _BLOCK // max(len(multi), 1))
    done = 0
    while done < replications:
        k = min(rows_per_draw, replications - done)
        draws = rng.hypergeometric(events, big_int - events, small_int, size=(k, n_strata))
        done += k
        if single.size:
            keys = draws[:, single] + offsets[:-1]
            frequency += np.bincount(keys.ravel(), minlength=offsets[-1])
        for start in range(0, k if multi else 0, rows_per_block):
            counts = draws[start : start + rows_per_block].astype(float)
            quantities = {
                v: _domain_quantities(counts, big_n, small_n, member, v)
                for v in {variance_of[m] for m in design_methods}
            }
            for method in design_methods:
                low, high = _intervals(quantities[variance_of[method]], level, _form(method))
                totals[method][0] += (truth_multi < low - tolerance).sum(axis=0)
                totals[method][1] += (truth_multi > high + tolerance).sum(axis=0)
                totals[method][2] += (high - low).sum(axis=0)

    # One-stratum domains: every distinct (stratum, x) once, weighted by how often it was drawn.
    by_stratum: dict[str, np.ndarray] = {}
    if single.size:
        position = np.repeat(np.arange(single.size), small_int[single] + 1)
        x = np.arange(offsets[-1]) - offsets[:-1][position]
        seen = frequency > 0
        position, x = position[seen], x[seen].astype(float)
        weight = frequency[seen] / replications
        h = single[position]
        truth = events[h] / big_n[h]
        for method in methods:
            if method in ("hypergeometric", DEFAULT_DOMAIN_INTERVAL_METHOD):
                low, high = _exact_intervals(x, small_n[h], big_n[h], level)
            else:
                quantities = _stratum_quantities(x, big_n[h], small_n[h], variance_of[method])
                low, high = _intervals(quantities, level, method)
            by_stratum[method] = np.stack(
                [
                    np.bincount(position, weight * (truth < low - tolerance), single.size),
                    np.bincount(position, weight * (truth > high + tolerance), single.size),
                    np.bincount(position, weight * (high - low), single.size),
                ]
            )
    single_index = {int(s): i for i, s in enumerate(single)}
    multi_index = {name: j for j, name in enumerate(multi)}

    rows = []
    for name, idx in members.items():
        truth = events[idx].sum() / big_n[idx].sum()
        for method in methods:
            if len(idx) == 1:
                below, above, width = by_stratum[method][:, single_index[int(idx[0])]]
            elif method == "hypergeometric":
                continue
            else:
                below, above, width = totals[method][:, multi_index[name]] / replications
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
                    "mc_se": float(np.sqrt(max(coverage * (1 - coverage), 0.0) / replications)),
                    "below": below,
                    "above": above,
                    "mean_width": float(width),
                }
            )
    return pd.DataFrame(rows, columns=list(COVERAGE_COLUMNS))
