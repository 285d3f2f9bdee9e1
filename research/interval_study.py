"""The simulation study that chose the default interval method (docs/intervals.md).

Research code beside the product, not part of the installed package (research/README.md):
it imports only public names of stikprove; ``python research/run_interval_study.py`` runs it
and writes the docs' tables.

A grid of small-kommune designs (:func:`study_grid`), each with its true population fixed
(M_h = round(p_h·N_h) events among N_h cases), is sampled many times as the package samples
(a simple random sample of n_h without replacement in every stratum, so the events drawn are
X_h ~ Hypergeometric(M_h, N_h - M_h, n_h)). Every candidate method (:data:`CANDIDATES`) gives
an interval for every domain of every sample; :func:`run_study` reports per (design, domain,
method) the coverage with its Monte Carlo error, the mean and median width, and the lower and
upper non-coverage separately. :func:`choose_default` applies the stated rule.

Vectorised: a domain's interval depends only on the events of its strata, so each distinct
row of events is computed once and weighted by how often it was drawn (``numpy.unique`` over
the replications); the estimates, variances, intervals and edge rule come from
:func:`stikprove.estimation.coverage.domain_intervals`: what
:func:`~stikprove.estimation.estimate_proportions` computes for a domain that is a union of
strata (tests/test_coverage.py checks that sample by sample).

Domains that cut strata (a kommune's women when the strata are kommune × origin) come from
:func:`cut_grid` (:class:`CutDesign`, also through ``study_grid(cut_designs=...)``): each
stratum's population is split into the domain's members and others, each with its own rate,
and the four cells (members with and without the event, others with and without it) are drawn
jointly, as a simple random sample of n_h draws them (multivariate hypergeometric). Their
intervals are those of the public
:func:`~stikprove.estimation.estimate_proportions` itself: the distinct samples of a domain
(members sampled and their events per stratum) are stacked into one frame with strata
(sample, h) and ``by`` = (sample, member), one call per candidate, each sample weighted by how
often it was drawn (:func:`stacked_samples`; exact, as a domain's estimate, variance and df
use its own cells only: tests/test_interval_study.py checks it against one call per sample).

The finite-population Bayesian candidates (``beta-binomial``, ``beta-binomial-uniform``,
``beta-binomial-pooled``, ``beta-binomial-pooled-2``, ``beta-binomial-pooled-half``) are
written here by hand: no library gives the posterior of a stratified finite-population
proportion. Each stratum's rate has a Beta prior; given x_h of n_h, the unsampled events
follow a beta-binomial (Ericson 1969), and the domain proportion P = Σ (x_h + U_h)/N_d has the
exact posterior of their convolution (:func:`fpb_posterior`); the interval is its equal-tailed
interval (:func:`fpb_interval`, where the convention for the discrete tails is stated). The
candidates differ only in the prior (:data:`CANDIDATES`).

Around the default, :func:`_pooled_family` gives the study-only variants that chose its pooling
rule and show what a narrower default would cost (``pooled-blind``, ``-few2``, ``-all``,
``-0.25``/``-0.5``/``-0.75``, ``pooled-jeffreys``); :func:`twin_designs` builds, for each cell
where the default is much wider than R's interval, the twin design in which R's interval's
narrowness would be unsafe; :func:`summarise_study` counts issue 13's width target per method.

References
----------
Ericson, W. A. (1969). Subjective Bayesian models in sampling finite populations. JRSS B 31,
195-233.

Franco, C., Little, R. J. A., Louis, T. A. & Slud, E. V. (2019). Comparative study of confidence
intervals for proportions in complex sample surveys. Journal of Survey Statistics and
Methodology 7, 334-364.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy import stats

from stikprove.errors import EstimationError
from stikprove.estimation import estimate_proportions
from stikprove.estimation.coverage import COVERAGE_COLUMNS, domain_intervals
from stikprove.estimation.design_intervals import domain_interval
from stikprove.estimation.intervals import check_confidence_level
from stikprove.exact_bounds import hypergeometric_interval
from stikprove.variance import (
    POOLED_FEW,
    binary_element_variance,
    borrows_domain_rate,
    negligible_to_zero,
    stratified_variance,
)

__all__ = [
    "CANDIDATES",
    "STUDY_COLUMNS",
    "CutDesign",
    "StudyChoice",
    "StudyDesign",
    "choose_default",
    "cut_grid",
    "fpb_interval",
    "fpb_posterior",
    "pooled_half_prior",
    "pooled_prior",
    "run_study",
    "stacked_samples",
    "study_grid",
    "summarise_study",
    "twin_designs",
]

STUDY_COLUMNS = (
    "design", "kind", "strata", "domain_strata", "cuts_strata", *COVERAGE_COLUMNS, "median_width"
)  # fmt: skip
"""Columns of :func:`run_study`."""

_TOLERANCE = 1e-12
"""A true value within this of a bound counts as covered (as in simulate_coverage)."""


@dataclass(frozen=True)
class StudyDesign:
    """One design of the grid: per stratum N_h, n_h and the true rate p_h; the domains.

    ``domains`` pairs a domain name with the positions (0-based) of its strata. ``kind`` says
    how the design was made (``equal``/``unequal`` rates, or ``issue`` for the designs quoted
    in issue 13).
    """

    name: str
    kind: str
    population_sizes: tuple[int, ...]
    sample_sizes: tuple[int, ...]
    rates: tuple[float, ...]
    domains: tuple[tuple[str, tuple[int, ...]], ...]


def _fixed_designs() -> list[StudyDesign]:
    """The designs of issue 13, where R's Korn–Graubard was seen to undercover."""
    four = ((120, 80, 40, 300), (12, 10, 8, 15), (0.05, 0.08, 0.10, 0.03))
    five = ((20, 30, 40, 50, 60), (10,) * 5, (0.10,) * 5)
    designs = []
    for name, (big, small, rates) in (("issue-4-strata", four), ("issue-5-strata", five)):
        domains = [(f"s{h + 1}", (h,)) for h in range(len(big))]
        domains.append(("all", tuple(range(len(big)))))
        designs.append(StudyDesign(name, "issue", big, small, rates, tuple(domains)))
    return designs


def _random_design(name: str, rng: np.random.Generator) -> StudyDesign:
    """A random small-kommune design (ranges in :func:`study_grid`)."""
    n_strata = int(rng.choice([1, 2, 3, 4, 5, 6, 8, 10]))
    small = np.round(np.exp(rng.uniform(np.log(3), np.log(40), n_strata))).astype(int)
    census = rng.random(n_strata) < 0.1
    fraction = np.where(census, 1.0, np.exp(rng.uniform(np.log(0.02), 0.0, n_strata)))
    big = np.clip(np.round(small / fraction), np.maximum(small, 5), 1000).astype(int)
    small = np.minimum(small, big)
    # dense at the rare end: log-uniform from 0.5 % to 50 %, and now and then 0
    zero = rng.random() < 0.04
    base = 0.0 if zero else float(np.exp(rng.uniform(np.log(0.005), np.log(0.5))))
    equal = n_strata == 1 or rng.random() < 0.5
    if equal:
        rates = np.full(n_strata, base)
    else:
        rates = np.clip(base * np.exp(rng.uniform(np.log(1 / 3), np.log(3), n_strata)), 0, 0.5)
    domains = [(f"s{h + 1}", (h,)) for h in range(n_strata)]
    if n_strata > 1:
        domains.append(("all", tuple(range(n_strata))))
    if n_strata >= 3:
        part = tuple(sorted(rng.choice(n_strata, size=n_strata // 2 + 1, replace=False).tolist()))
        domains.append(("part", part))
    return StudyDesign(
        name,
        "equal" if equal else "unequal",
        tuple(big.tolist()),
        tuple(small.tolist()),
        tuple(float(round(r, 4)) for r in rates),
        tuple(domains),
    )


def study_grid(
    random_designs: int = 300, seed: int = 13, cut_designs: int = 0
) -> list[StudyDesign | CutDesign]:
    """The designs of the study: issue 13's two, ``random_designs`` drawn at random, then
    ``cut_designs`` whose domains cut strata (:func:`cut_grid`; their own random stream, so
    the others do not depend on how many there are).

    Each random design has 1, 2, 3, 4, 5, 6, 8 or 10 strata (equally likely); n_h log-uniform on
    3–40; the sampling fraction log-uniform on 2 %–100 %, and a census stratum with
    probability 0.1, so N_h = n_h/fraction, kept in [max(n_h, 5), 1000]; a base rate of 0 with
    probability 0.04, else log-uniform on 0.5 %–50 % (dense at the rare end); the same rate in
    every stratum in half of the designs, else the base rate times a log-uniform factor in
    [1/3, 3] per stratum (at most 50 %). Domains: every stratum on its own, ``all`` strata
    (two or more), and ``part``, a random half or more of the strata (three or more).
    """
    rng = np.random.default_rng(seed)
    designs = _fixed_designs()
    width = len(str(random_designs))
    for i in range(random_designs):
        designs.append(_random_design(f"d{i + 1:0{width}d}", rng))
    return designs + cut_grid(cut_designs, seed)


# --- the candidates: (events (u, H), N_h, n_h, confidence level) -> (low, high) ------------


def _design_based(
    counts: np.ndarray,
    big_n: np.ndarray,
    small_n: np.ndarray,
    level: float,
    *,
    variance: str | None,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The interval ``estimate_proportions(method=method, degenerate_strata=variance)`` gives
    a domain made of these strata (:func:`stikprove.estimation.coverage.domain_intervals`)."""
    _, low, high = domain_intervals(
        counts, big_n, small_n, level, method, degenerate_strata=variance
    )
    return low, high


PriorRule = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""A prior that depends on the sample: (counts (u, H), n_h) -> (a, b), each (u, H)."""


def _pooled_rate(counts: np.ndarray, small_n: np.ndarray) -> np.ndarray:
    """p̃ = (Σ_h x_h + ½)/(Σ_h n_h + 1) per row of counts (u, H), as (u, 1): the domain's
    pooled sample rate (unweighted, census strata included), shrunk off 0 and 1."""
    x = np.asarray(counts, dtype=float)
    return (x.sum(axis=1, keepdims=True) + 0.5) / (np.sum(small_n) + 1.0)


def pooled_prior(
    counts: np.ndarray, small_n: np.ndarray, *, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """An empirical-Bayes prior that borrows across the domain's strata: in every stratum
    Beta(m·p̃, m·(1 − p̃)), p̃ the domain's pooled sample rate (:func:`_pooled_rate`) and
    m = ``strength`` the prior's sample size.

    ``counts`` is (u, H); returns a and b, each (u, H) (the same prior in every stratum of a
    sample row). With a rare outcome a = m·p̃ is far below 1, so the prior puts almost all
    its mass near 0 (the density grows as p^(a − 1)).
    """
    pooled = _pooled_rate(counts, small_n)
    shape = np.shape(counts)
    return (
        np.broadcast_to(strength * pooled, shape),
        np.broadcast_to(strength * (1.0 - pooled), shape),
    )


def pooled_half_prior(counts: np.ndarray, small_n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Beta prior with mean p̃, the domain's pooled sample rate (:func:`_pooled_rate`), whose
    smaller parameter is ½ (as Jeffreys' at the rare end): Beta(m·p̃, m·(1 − p̃)) with
    m = 1/(2·min(p̃, 1 − p̃)), in every stratum; at p̃ = ½ it is Jeffreys' Beta(½, ½). The prior
    sample size m grows as the outcome gets rarer (p̃ = 1 %: m = 50), so strata borrow more.

    ``counts`` is (u, H); returns a and b, each (u, H).
    """
    pooled = _pooled_rate(counts, small_n)
    strength = 0.5 / np.minimum(pooled, 1.0 - pooled)
    return pooled_prior(counts, small_n, strength=strength)


_CHUNK = 2**17
"""Rows × FFT length per block of :func:`_convolved_pmfs`: 2 MB of complex numbers, so that
the blocks reuse memory (fresh large arrays cost more in page faults than the arithmetic)."""


def _convolved_pmfs(
    rest: np.ndarray, a: np.ndarray, b: np.ndarray
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The pmf of T = Σ_h U_h on 0..Σ rest_h, U_h ~ BetaBinomial(rest_h, a_h, b_h) independent,
    for every row of a, b (u, H), over sampled strata (rest_h >= 1).

    Yields blocks (rows, pmf, which): input row ``rows[i]`` has the pmf ``pmf[which[i]]`` (rows
    with equal posteriors share one). A pmf may carry round-off of about 1e-16, also below 0.

    Each stratum's pmfs come from scipy.stats.betabinom, once per distinct (a_h, b_h). Their
    convolution is by FFT (scipy.fft), written here because no library convolves many rows of
    distributions at once: per block of rows the product of the strata's spectra, built
    stratum by stratum over the distinct prefixes (strata with the fewest distinct posteriors
    first, rows sorted so that rows sharing their first strata share those products), then
    transformed back.
    """
    total = int(rest.sum())
    rows, strata = a.shape
    spectra, index = [], []
    length = sp_fft.next_fast_len(total + 1, real=True)
    for h in range(strata):
        keys, inverse = np.unique(np.stack([a[:, h], b[:, h]], axis=1), axis=0,
                                  return_inverse=True)  # fmt: skip
        support = np.arange(int(rest[h]) + 1)
        pmf = stats.betabinom.pmf(support, int(rest[h]), keys[:, :1], keys[:, 1:])
        if strata == 1:  # nothing to convolve
            yield np.arange(rows), pmf, inverse.ravel()
            return
        spectra.append(sp_fft.rfft(pmf, n=length, axis=1))
        index.append(inverse.ravel())
    fewest_first = np.argsort([len(spectrum) for spectrum in spectra], kind="stable")
    spectra = [spectra[h] for h in fewest_first]
    index = [index[h] for h in fewest_first]
    order = np.lexsort(index[::-1])
    block = max(1, _CHUNK // length)
    for start in range(0, rows, block):
        chosen = order[start : start + block]
        prefix = index[0][chosen]
        product = spectra[0]
        for spectrum, position in zip(spectra[1:], index[1:], strict=True):
            width = len(spectrum)
            combined, prefix = np.unique(prefix * width + position[chosen], return_inverse=True)
            product = product[combined // width] * spectrum[combined % width]
        yield chosen, sp_fft.irfft(product, n=length, axis=1)[:, : total + 1], prefix


def _discrete_bounds(pmf: np.ndarray, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a pmf on 0..K (round-off below 0 is set to 0, the CDF taken relative to the
    row's total): the smallest t with CDF(t) >= ``tail`` and the largest t with survival
    P(T >= t) = 1 − CDF(t − 1) >= ``tail``."""
    cdf = np.cumsum(np.maximum(pmf, 0.0), axis=1)
    mass = cdf[:, -1:]
    low = (cdf < tail * mass).sum(axis=1)
    high = (cdf[:, :-1] <= (1.0 - tail) * mass).sum(axis=1)
    return low, high


def _posterior_parameters(
    counts: np.ndarray, big_n: np.ndarray, small_n: np.ndarray, prior: float | PriorRule
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Checked inputs -> (Σ x_h per row, rest_h, a_h + x_h, b_h + n_h − x_h, N_d), the last
    three over the sampled strata (n_h < N_h) only."""
    x = np.asarray(counts, dtype=float)
    big_n = np.asarray(big_n, dtype=float)
    small_n = np.asarray(small_n, dtype=float)
    if x.ndim != 2 or big_n.shape != small_n.shape or x.shape[1:] != big_n.shape:
        raise EstimationError(
            f"counts must be (samples, strata) with one N_h and n_h per stratum; got counts of "
            f"shape {x.shape}, big_n {big_n.shape}, small_n {small_n.shape}"
        )
    if not ((small_n >= 1).all() and (small_n <= big_n).all()):
        raise EstimationError(f"need 1 <= n_h <= N_h, got n_h {small_n!r}, N_h {big_n!r}")
    bad = ~((x >= 0) & (x <= small_n) & (x == np.round(x)))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise EstimationError(
            f"counts must be whole numbers within 0..n_h; row {row}, stratum {col}: "
            f"{x[row, col]:g} of n_h = {small_n[col]:g}"
        )
    if callable(prior):
        a, b = (np.broadcast_to(np.asarray(v, dtype=float), x.shape) for v in prior(x, small_n))
    else:
        if isinstance(prior, bool) or not isinstance(prior, (int, float, np.number)):
            raise EstimationError(
                "prior must be a positive number a (Beta(a, a) in every stratum) or a function "
                f"(counts, small_n) -> (a, b); got {prior!r}"
            )
        a = b = np.full(x.shape, float(prior))
    if not (np.isfinite(a).all() and np.isfinite(b).all() and (a > 0).all() and (b > 0).all()):
        raise EstimationError(f"prior parameters must be positive and finite; got prior {prior!r}")
    sampled = big_n > small_n
    xs = x[:, sampled]
    return (
        x.sum(axis=1),
        (big_n - small_n)[sampled],
        xs + a[:, sampled],
        small_n[sampled] - xs + b[:, sampled],
        float(big_n.sum()),
    )


def fpb_posterior(
    counts: np.ndarray,
    big_n: np.ndarray,
    small_n: np.ndarray,
    *,
    prior: float | PriorRule = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """The exact posterior of the domain proportion P of :func:`fpb_interval` (same
    arguments): (values, pmf), each (u, K + 1) with K = Σ_h (N_h − n_h); P takes
    ``values[i, t]`` = (Σ_h x_h + t)/N_d with probability ``pmf[i, t]``. Holds every row's
    full pmf in memory: meant for checking and for small domains."""
    observed, rest, a, b, total = _posterior_parameters(counts, big_n, small_n, prior)
    support = np.arange(int(rest.sum()) + 1)
    values = (observed[:, None] + support) / total
    if not len(rest):
        return values, np.ones_like(values)
    pmf = np.empty(values.shape)
    for rows, distinct, which in _convolved_pmfs(rest, a, b):
        pmf[rows] = np.maximum(distinct[which], 0.0)
    return values, pmf / pmf.sum(axis=1, keepdims=True)


def fpb_interval(
    counts: np.ndarray,
    big_n: np.ndarray,
    small_n: np.ndarray,
    level: float,
    *,
    prior: float | PriorRule = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact finite-population Bayesian interval for a domain made of whole strata.

    ``counts`` (u, H): events x_h of n_h (``small_n``) sampled from N_h (``big_n``) in each of
    the domain's H strata, one row per sample. Each stratum's rate has a Beta(a_h, b_h) prior:
    ``prior`` a number a gives Beta(a, a) in every stratum (0.5: Jeffreys, 1: uniform), a
    function (counts, small_n) -> (a, b) a prior per row and stratum (:func:`pooled_prior`).
    Given x_h, the unsampled events U_h of stratum h are BetaBinomial(N_h − n_h, x_h + a_h,
    n_h − x_h + b_h) (Ericson 1969), independent across strata, so the domain proportion
    P = Σ_h (x_h + U_h)/N_d, N_d = Σ_h N_h, has the distribution of their convolution, computed
    exactly up to floating-point round-off (:func:`fpb_posterior` gives it; a census stratum,
    n_h = N_h, adds nothing unknown).

    Equal-tailed at ``level``, α = 1 − level, on the discrete posterior of T = Σ_h U_h: the
    lower bound is (Σ x_h + t)/N_d with t the smallest value whose posterior CDF is at least
    α/2, the upper bound (Σ x_h + t)/N_d with t the largest value whose posterior survival
    P(T >= t) is at least α/2; so each tail left out holds less than α/2, and the interval's
    posterior probability is at least ``level``. Returns (low, high), each (u,).
    """
    level = check_confidence_level(level)
    observed, rest, a, b, total = _posterior_parameters(counts, big_n, small_n, prior)
    low = np.zeros(len(observed), dtype=np.int64)
    high = np.zeros(len(observed), dtype=np.int64)
    if len(rest):
        for rows, distinct, which in _convolved_pmfs(rest, a, b):
            low_now, high_now = _discrete_bounds(distinct, (1.0 - level) / 2)
            low[rows], high[rows] = low_now[which], high_now[which]
    return (observed + low) / total, (observed + high) / total


def _r_quantities(counts: np.ndarray, big_n: np.ndarray, small_n: np.ndarray) -> dict:
    """Per sample (rows of ``counts``, (k, H)) the estimate, R's standard error, df and the
    edge rule's pieces of :func:`~stikprove.estimation.design_intervals.domain_interval` for
    one domain made of all H strata, each (k, 1) or (1, 1).

    The package computes these inside stikprove.estimation.coverage (the intervals that
    :func:`~stikprove.estimation.coverage.domain_intervals` returns); a copy of its formulas
    with ``degenerate_strata="standard"``, for :func:`_pooled_family`, which changes the
    variance before the interval. tests/test_interval_study.py holds the copy to the package:
    the family's end points are the package's ``korn-graubard`` and ``pooled-hypergeometric``.
    """
    member = np.ones((len(big_n), 1))
    size_d = big_n @ member
    share = big_n[:, None] * member / size_d
    rate = counts / small_n
    census = small_n >= big_n
    sampled = ~census
    s2 = binary_element_variance(rate, small_n)
    r_variance = negligible_to_zero(stratified_variance(big_n, small_n, s2, share))
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
        "se": np.sqrt(r_variance),
        "no_variance": r_variance == 0,
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


def _pooled_variance_few(
    counts: np.ndarray, big_n: np.ndarray, small_n: np.ndarray, few: float
) -> np.ndarray:
    """The pooled sum of ``degenerate_strata="pooled"`` for the domain of all strata, (k, 1),
    with ``few`` in place of the package's :data:`~stikprove.variance.POOLED_FEW`: a sampled
    stratum with at most ``few`` events or non-events (or one case) gets the element variance
    c_h·p̂_d(1 − p̂_d), c_h = n_h/(n_h − 1) (1 for n_h = 1), at the domain's rate; the others
    keep R's c_h·p̂_h(1 − p̂_h). The package's formula (stikprove.estimation.coverage), through
    the public :func:`~stikprove.variance.borrows_domain_rate` and
    :func:`~stikprove.variance.stratified_variance`."""
    share = big_n[:, None] / big_n.sum()
    sampled = small_n < big_n
    rate = counts / small_n
    estimate = rate @ share
    borrow = borrows_domain_rate(counts, small_n, small_n, few) & sampled
    c = np.where(small_n > 1, small_n / np.maximum(small_n - 1, 1), 1.0)
    own = stratified_variance(big_n, small_n, np.where(borrow, 0.0, c * rate * (1 - rate)), share)
    unit = stratified_variance(big_n, small_n, np.where(borrow, c, 0.0), share)
    return own + estimate * (1 - estimate) * unit


def _pooled_family(
    counts: np.ndarray,
    big_n: np.ndarray,
    small_n: np.ndarray,
    level: float,
    *,
    few: float = POOLED_FEW,
    weight: float = 1.0,
    form: str = "korn-graubard",
) -> tuple[np.ndarray, np.ndarray]:
    """Variants of the default around it: how the study chose its pooling rule, and what a
    narrower default would cost in coverage.

    Inside one stratum every variant is the default's exact hypergeometric interval. Across
    strata the variance is R's V_R raised towards the pooled one,
    V = V_R + weight·(max(V_R, V_few) − V_R), where V_few gives every sampled stratum with at
    most ``few`` events or non-events the element variance c_h·p̂_d(1 − p̂_d) at the domain's
    rate and the others R's (:func:`_pooled_variance_few`): ``few`` 1 and weight 1 is the
    default's variance; ``few`` 0 pools only strata that show one outcome (the default until
    the pooling rule was chosen by this study); ``few`` infinite pools every stratum (the
    stratified variance at the domain's rate as a floor for R's); weight below 1 moves the
    default towards R's interval. The interval is ``form`` of
    :func:`~stikprove.estimation.design_intervals.design_ci` (``korn-graubard``, or ``jeffreys``
    for the design-adjusted Jeffreys interval), with the package's edge rule
    (:func:`~stikprove.estimation.design_intervals.domain_interval`). Written for the study
    only: these are not methods of ``estimate_proportions`` (docs/intervals.md).
    """
    counts = np.asarray(counts, dtype=float)
    big_n = np.asarray(big_n, dtype=float)
    small_n = np.asarray(small_n, dtype=float)
    if len(big_n) == 1:
        return hypergeometric_interval(counts[:, 0], small_n[0], big_n[0], 1.0 - level)
    quantities = _r_quantities(counts, big_n, small_n)
    r_variance = quantities["se"] ** 2
    pooled = np.maximum(r_variance, _pooled_variance_few(counts, big_n, small_n, few))
    quantities["se"] = np.sqrt(r_variance + weight * (pooled - r_variance))
    shape = np.broadcast_shapes(*(v.shape for v in quantities.values()))
    flat = {key: np.broadcast_to(value, shape).ravel() for key, value in quantities.items()}
    low, high = domain_interval(
        flat.pop("estimate"), flat.pop("se"), flat.pop("df"), flat.pop("n"), level, form, **flat
    )
    return np.asarray(low).reshape(shape)[:, 0], np.asarray(high).reshape(shape)[:, 0]


Candidate = Callable[[np.ndarray, np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]

CANDIDATES: dict[str, Candidate] = {
    "korn-graubard": partial(_design_based, variance="standard", method="korn-graubard"),
    "korn-graubard-deff1": partial(
        _design_based, variance="standard", method="korn-graubard-deff1"
    ),
    "korn-graubard-conservative": partial(
        _design_based, variance="conservative", method="korn-graubard"
    ),
    "logit": partial(_design_based, variance="standard", method="logit"),
    "wilson": partial(_design_based, variance="standard", method="wilson"),
    "jeffreys": partial(_design_based, variance="standard", method="jeffreys"),
    "korn-graubard-pooled": partial(_design_based, variance="pooled", method="korn-graubard"),
    "beta-binomial": partial(fpb_interval, prior=0.5),
    "beta-binomial-uniform": partial(fpb_interval, prior=1.0),
    "beta-binomial-pooled": partial(fpb_interval, prior=partial(pooled_prior, strength=1.0)),
    "beta-binomial-pooled-2": partial(fpb_interval, prior=partial(pooled_prior, strength=2.0)),
    "beta-binomial-pooled-half": partial(fpb_interval, prior=pooled_half_prior),
    "pooled-hypergeometric": partial(_design_based, variance=None, method="pooled-hypergeometric"),
    "pooled-blind": partial(_pooled_family, few=0),
    "pooled-few2": partial(_pooled_family, few=2),
    "pooled-all": partial(_pooled_family, few=np.inf),
    "pooled-0.25": partial(_pooled_family, weight=0.25),
    "pooled-0.5": partial(_pooled_family, weight=0.5),
    "pooled-0.75": partial(_pooled_family, weight=0.75),
    "pooled-jeffreys": partial(_pooled_family, form="jeffreys"),
}
"""The candidate methods of the study: name -> function(events, N_h, n_h, level).

``korn-graubard`` is R's (svyciprop ``method="beta"``), ``-deff1`` the NCHS variant, the
``-conservative`` and ``-pooled`` ones Korn–Graubard on the ``degenerate_strata`` variances of
:func:`~stikprove.estimation.estimate_proportions`; ``logit``, ``wilson`` and ``jeffreys`` the
design-based forms of :mod:`~stikprove.estimation.design_intervals`. The ``beta-binomial``
ones are the exact finite-population Bayesian interval (:func:`fpb_interval`), equal-tailed,
with a prior per stratum of: Beta(½, ½) (Jeffreys) for ``beta-binomial``; Beta(1, 1) (uniform)
for ``beta-binomial-uniform``; the empirical-Bayes Beta(m·p̃, m·(1 − p̃)) of
:func:`pooled_prior`, p̃ = (Σ_h x_h + ½)/(Σ_h n_h + 1) the domain's pooled sample rate, with
m = 1 for ``beta-binomial-pooled`` and m = 2 for ``beta-binomial-pooled-2``; the Beta prior
with mean p̃ and its smaller parameter ½ (:func:`pooled_half_prior`) for
``beta-binomial-pooled-half``. ``pooled-hypergeometric`` is the default. Around it
(:func:`_pooled_family`): ``pooled-blind``, ``pooled-few2`` and ``pooled-all`` pool strata with
no, up to two, or any number of events rather than up to one; ``pooled-0.25``/``-0.5``/``-0.75``
and ``pooled-jeffreys`` lie between the default and R's interval: the study's evidence for the
pooling rule and for what a narrower default would cost in coverage.
"""


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _coverage(
    truth: float, low: np.ndarray, high: np.ndarray, weight: np.ndarray, replications: int
) -> dict:
    """The coverage columns of a study row from the distinct samples' intervals and their
    shares of the ``replications`` samples (``weight``, summing to 1)."""
    below = float(weight @ (truth < low - _TOLERANCE))
    above = float(weight @ (truth > high + _TOLERANCE))
    width = high - low
    covered = (truth >= low - _TOLERANCE) & (truth <= high + _TOLERANCE)
    coverage = float(weight @ covered)  # not 1 - below - above: that can round below 0
    return {
        "replications": replications,
        "coverage": coverage,
        "mc_se": float(np.sqrt(max(coverage * (1 - coverage), 0.0) / replications)),
        "below": below,
        "above": above,
        "mean_width": float(weight @ width),
        "median_width": _weighted_median(width, weight),
    }


def _row(design, domain: str, domain_strata: int, cuts: bool, cell: tuple, method: str,
         coverage: dict) -> dict:  # fmt: skip
    """One row of :func:`run_study`: ``cell`` is (population_size, sample_size,
    true_proportion) of the domain, ``coverage`` the columns of :func:`_coverage`."""
    population, sample, truth = cell
    return {
        "design": design.name,
        "kind": design.kind,
        "strata": len(design.population_sizes),
        "domain": domain,
        "domain_strata": domain_strata,
        "cuts_strata": cuts,
        "population_size": population,
        "sample_size": sample,
        "true_proportion": truth,
        "method": method,
        **coverage,
    }


def _design_rows(
    design: StudyDesign,
    methods: Sequence[str],
    level: float,
    replications: int,
    rng: np.random.Generator,
) -> list[dict]:
    big_n = np.asarray(design.population_sizes, dtype=np.int64)
    small_n = np.asarray(design.sample_sizes, dtype=np.int64)
    events = np.round(np.asarray(design.rates) * big_n).astype(np.int64)
    draws = rng.hypergeometric(events, big_n - events, small_n, size=(replications, len(big_n)))
    rows = []
    for domain, strata in design.domains:
        idx = np.asarray(strata)
        distinct, frequency = np.unique(draws[:, idx], axis=0, return_counts=True)
        weight = frequency / replications
        truth = events[idx].sum() / big_n[idx].sum()
        for method in methods:
            low, high = CANDIDATES[method](
                distinct.astype(float), big_n[idx].astype(float), small_n[idx].astype(float), level
            )
            cell = (int(big_n[idx].sum()), int(small_n[idx].sum()), float(truth))
            coverage = _coverage(truth, low, high, weight, replications)
            rows.append(_row(design, domain, len(idx), False, cell, method, coverage))
    return rows


# --- domains that cut strata ---------------------------------------------------------------


@dataclass(frozen=True)
class CutDesign:
    """A design whose domains cut strata: per stratum N_h, n_h, the domain's N_hd members
    with the true rate p_hd, and the others (N_h - N_hd) with their rate.

    ``domains`` pairs a domain name with the positions (0-based) of the strata whose members it
    takes (``cut-s1``: the members in stratum 1; ``cut-all``: in every stratum; ``cut-part``:
    in some). The true population is fixed: round(p_hd·N_hd) events among the members and
    round(q_h·(N_h - N_hd)) among the others of stratum h.
    """

    name: str
    kind: str
    population_sizes: tuple[int, ...]
    sample_sizes: tuple[int, ...]
    domain_sizes: tuple[int, ...]
    rates: tuple[float, ...]
    other_rates: tuple[float, ...]
    domains: tuple[tuple[str, tuple[int, ...]], ...]

    def cells(self) -> np.ndarray:
        """The population's four cells per stratum, shape (H, 4): members with and without the
        event, others with and without it."""
        big = np.asarray(self.population_sizes, dtype=np.int64)
        members = np.asarray(self.domain_sizes, dtype=np.int64)
        events = np.round(np.asarray(self.rates) * members).astype(np.int64)
        others = big - members
        other_events = np.round(np.asarray(self.other_rates) * others).astype(np.int64)
        return np.column_stack([events, members - events, other_events, others - other_events])

    def true_proportion(self, strata: Sequence[int]) -> float:
        """The domain's true rate over ``strata``: Σ round(p_hd·N_hd) / Σ N_hd."""
        cells = self.cells()[list(strata)]
        return float(cells[:, 0].sum() / cells[:, :2].sum())


def _random_cut_design(name: str, rng: np.random.Generator) -> CutDesign:
    """A random design with domains that cut strata: strata, N_h, n_h and the domain's rates as
    in a random whole-strata design (:func:`_random_design`), then per stratum the domain's
    share of N_h, uniform on 0.1–0.9 (at least one member and one other), and the others'
    rate, the domain's times a log-uniform factor in [1/3, 3] (at most 50 %)."""
    base = _random_design(name, rng)
    big = np.asarray(base.population_sizes)
    share = rng.uniform(0.1, 0.9, len(big))
    members = np.clip(np.round(share * big), 1, big - 1).astype(int)
    factor = np.exp(rng.uniform(np.log(1 / 3), np.log(3), len(big)))
    other = np.clip(np.asarray(base.rates) * factor, 0, 0.5)
    domains = tuple(("cut-" + domain, strata) for domain, strata in base.domains)
    return CutDesign(
        name,
        base.kind,
        base.population_sizes,
        base.sample_sizes,
        tuple(members.tolist()),
        base.rates,
        tuple(float(round(r, 4)) for r in other),
        domains,
    )


def cut_grid(designs: int = 60, seed: int = 13) -> list[CutDesign]:
    """``designs`` random designs whose domains cut strata, named ``c001``, ``c002``, ...

    Drawn from their own stream (``numpy.random.default_rng([seed, 1])``), so the whole-strata
    designs of :func:`study_grid` stay as they were.
    """
    rng = np.random.default_rng([seed, 1])
    width = max(len(str(designs)), 3)
    return [_random_cut_design(f"c{i + 1:0{width}d}", rng) for i in range(designs)]


def _estimate_arguments(method: str) -> tuple[str, str | None] | None:
    """(method, degenerate_strata) of ``estimate_proportions`` behind a candidate, or None for a
    candidate that is not the package's design-based interval (it gets no cut-domain rows)."""
    candidate = CANDIDATES[method]
    if isinstance(candidate, partial) and candidate.func is _design_based:
        return candidate.keywords["method"], candidate.keywords["variance"]
    return None


def stacked_samples(
    outcomes: np.ndarray, population_sizes: np.ndarray, sample_sizes: np.ndarray
) -> pd.DataFrame:
    """Distinct samples of a cut domain's strata stacked into one frame, one row per case.

    ``outcomes`` is (u, H, 2): per sample and stratum the domain members sampled and the events
    among them. Columns: ``stratum`` (sample × stratum, so each sample keeps its own strata),
    ``population_size`` (N_h), ``y`` (0/1) and ``domain`` (2·sample + 1 for the members,
    2·sample for the others). The others' outcomes are 0: a domain's estimate, variance,
    df and interval do not depend on them (tests/test_interval_study.py checks this against
    samples with the others' events drawn).
    """
    u, h = outcomes.shape[:2]
    members, events = outcomes[..., 0], outcomes[..., 1]
    counts = np.stack([events, members - events, sample_sizes - members], axis=-1).ravel()
    sample = np.repeat(np.arange(u), h * 3)
    stratum = np.tile(np.repeat(np.arange(h), 3), u)
    member = np.tile([1, 1, 0], u * h)
    return pd.DataFrame(
        {
            "stratum": np.repeat(sample * h + stratum, counts),
            "population_size": np.repeat(np.asarray(population_sizes)[stratum], counts),
            "y": np.repeat(np.tile([1.0, 0.0, 0.0], u * h), counts),
            "domain": np.repeat(2 * sample + member, counts),
        }
    )


def _cut_design_rows(
    design: CutDesign,
    methods: Sequence[str],
    level: float,
    replications: int,
    rng: np.random.Generator,
) -> list[dict]:
    """The rows of :func:`run_study` for a design whose domains cut strata (see there)."""
    cells = design.cells()
    big_n = np.asarray(design.population_sizes, dtype=np.int64)
    small_n = np.asarray(design.sample_sizes, dtype=np.int64)
    draws = np.stack(
        [rng.multivariate_hypergeometric(cells[h], small_n[h], size=replications)
         for h in range(len(big_n))],
        axis=1,
    )  # fmt: skip
    # per sample and stratum: members sampled, events among them
    outcomes = np.stack([draws[..., 0] + draws[..., 1], draws[..., 0]], axis=-1)
    members = np.asarray(design.domain_sizes)
    rows = []
    for domain, strata in design.domains:
        idx = np.asarray(strata)
        distinct, frequency = np.unique(
            outcomes[:, idx].reshape(replications, -1), axis=0, return_counts=True
        )
        distinct = distinct.reshape(len(distinct), len(idx), 2)
        seen = distinct[..., 0].sum(axis=1) > 0  # samples with the domain in them
        distinct, frequency = distinct[seen], frequency[seen]
        sampled = int(frequency.sum())
        if sampled == 0:
            continue
        weight = frequency / sampled
        truth = design.true_proportion(idx)
        frame = stacked_samples(distinct, big_n[idx], small_n[idx])
        for method in methods:
            arguments = _estimate_arguments(method)
            if arguments is None:
                continue
            table = estimate_proportions(
                frame, "y", "stratum", "population_size", by="domain", confidence_level=level,
                method=arguments[0], degenerate_strata=arguments[1],
            )  # fmt: skip
            members_of = table[table["domain"] % 2 == 1]  # each sample's domain members
            order = np.argsort(members_of["domain"].to_numpy() // 2)
            low = members_of["ci_low"].to_numpy()[order]
            high = members_of["ci_high"].to_numpy()[order]
            expected_sample = int(np.round((small_n * members / big_n)[idx].sum()))
            cell = (int(members[idx].sum()), expected_sample, truth)
            coverage = _coverage(truth, low, high, weight, sampled)
            rows.append(_row(design, domain, len(idx), True, cell, method, coverage))
    return rows


def run_study(
    designs: Sequence[StudyDesign | CutDesign],
    methods: Sequence[str] | None = None,
    confidence_level: float = 0.95,
    replications: int = 20_000,
    seed: int | np.random.Generator | None = 2026,
) -> pd.DataFrame:
    """Coverage and width of every candidate for every domain of every design.

    Returns
    -------
    pandas.DataFrame
        One row per (design, domain, method) with the columns :data:`STUDY_COLUMNS`:
        ``design``, ``kind``, ``strata`` (of the design), ``domain_strata`` (of the domain),
        then those of :func:`~stikprove.estimation.simulate_coverage`: ``domain``, ``method``,
        ``population_size`` (Σ N_h), ``sample_size`` (Σ n_h), ``true_proportion``,
        ``replications``; ``coverage`` and its Monte Carlo standard error
        ``mc_se`` = sqrt(c(1 - c)/replications); ``below``/``above``: shares of samples whose
        interval lies wholly above/below the true proportion; ``mean_width``,
        ``median_width``.

        ``cuts_strata`` is True for the domains of a :class:`CutDesign`. There the sample is
        drawn jointly per stratum (members with and without the event, others with and
        without it: ``numpy.random.Generator.multivariate_hypergeometric``), the intervals
        are those of :func:`~stikprove.estimation.estimate_proportions` on the sample (with
        each candidate's ``method`` and ``degenerate_strata``), ``population_size`` is the
        domain's Σ N_hd, ``sample_size`` its expected sampled members Σ n_h·N_hd/N_h
        (rounded), and a sample in which the domain has no sampled member gives no interval
        and is left out: ``replications`` counts the samples with one, and coverage and
        widths are over those. Candidates that are not an ``estimate_proportions`` method
        (the ``beta-binomial`` ones and the ``pooled-*`` trade-offs, :func:`fpb_interval` and
        :func:`_pooled_family`, written for whole strata) get no rows there, and are then not
        eligible in :func:`choose_default`.
        Cut designs draw from their own stream (spawned from ``seed``), so the whole-strata
        designs give the same rows with or without them.
    """
    level = check_confidence_level(confidence_level)
    methods = list(CANDIDATES) if methods is None else list(methods)
    unknown = [m for m in methods if m not in CANDIDATES]
    if unknown or not methods:
        raise EstimationError(
            f"methods must be among {', '.join(map(repr, CANDIDATES))}; got {methods!r}"
        )
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)):
        raise EstimationError(f"replications must be a whole number >= 1, got {replications!r}")
    if replications < 1:
        raise EstimationError(f"replications must be >= 1, got {replications!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    cut_rng = rng.spawn(1)[0]
    rows: list[dict] = []
    for design in designs:
        if isinstance(design, CutDesign):
            rows += _cut_design_rows(design, methods, level, int(replications), cut_rng)
        else:
            rows += _design_rows(design, methods, level, int(replications), rng)
    return pd.DataFrame(rows, columns=list(STUDY_COLUMNS))


@dataclass(frozen=True)
class StudyChoice:
    """The outcome of :func:`choose_default`.

    ``method``: the chosen method (None if no candidate meets even the relaxed threshold);
    ``threshold``: the coverage every domain of every design had to reach (nominal - 0.005, or
    nominal - 0.01 when no candidate reached the first: then ``relaxed`` is True);
    ``summary``: one row per method (see :func:`summarise_study`).
    """

    method: str | None
    threshold: float
    relaxed: bool
    summary: pd.DataFrame

    def _repr_html_(self) -> str:
        head = f"<p>chosen: <b>{self.method}</b> (threshold {self.threshold:.3f})</p>"
        return head + self.summary.to_html(index=False)


def summarise_study(table: pd.DataFrame, reference: str = "korn-graubard") -> pd.DataFrame:
    """One row per method, sorted by mean width.

    Columns: ``method``; ``cells`` (design × domain); ``min_coverage`` and where it occurred
    (``worst_design``, ``worst_domain``, its ``worst_mc_se``); ``below_945``, ``below_940``:
    cells under 94.5 % and 94 %; ``mean_coverage``; ``mean_width`` and ``median_width``
    (averaged over cells); ``width_ratio_median``, ``width_ratio_max``: the method's mean
    width over ``reference``'s, over the cells where ``reference`` covers at least 94.5 %;
    ``wider_15pct``: how many of those cells the method is more than 15 % wider in;
    ``width_ratio_overall``: the method's mean width summed over those cells, over
    ``reference``'s (issue 13's width target read for the grid as a whole).
    """
    ref = table[table["method"] == reference].set_index(["design", "domain"])
    rows = []
    for method, group in table.groupby("method", sort=False):
        cells = group.set_index(["design", "domain"])
        worst = cells["coverage"].idxmin()
        covers = ref.index[ref["coverage"] >= 0.945].intersection(cells.index)
        ratio = cells.loc[covers, "mean_width"] / ref.loc[covers, "mean_width"]
        width, reference_width = (t.loc[covers, "mean_width"].sum() for t in (cells, ref))
        overall = width / reference_width if reference_width > 0 else np.nan
        ratio = ratio[np.isfinite(ratio)]
        rows.append(
            {
                "method": method,
                "cells": len(cells),
                "min_coverage": float(cells["coverage"].min()),
                "worst_design": worst[0],
                "worst_domain": worst[1],
                "worst_mc_se": float(cells.loc[worst, "mc_se"]),
                "below_945": int((cells["coverage"] < 0.945).sum()),
                "below_940": int((cells["coverage"] < 0.94).sum()),
                "mean_coverage": float(cells["coverage"].mean()),
                "mean_width": float(cells["mean_width"].mean()),
                "median_width": float(cells["median_width"].mean()),
                "width_ratio_median": float(ratio.median()) if len(ratio) else np.nan,
                "width_ratio_max": float(ratio.max()) if len(ratio) else np.nan,
                "wider_15pct": int((ratio > 1.15).sum()),
                "width_ratio_overall": float(overall),
            }
        )
    return pd.DataFrame(rows).sort_values("mean_width", kind="stable").reset_index(drop=True)


def choose_default(
    table: pd.DataFrame,
    confidence_level: float = 0.95,
    eligible: Sequence[str] | Mapping[str, object] | None = None,
) -> StudyChoice:
    """The rule of issue 13: the narrowest method (smallest mean width over all cells) among
    those whose coverage is at least nominal - 0.5 points in every cell (design × domain) of
    the grid; if none, at least nominal - 1 point (``relaxed``); if none, ``method`` None.

    ``eligible`` limits the candidates (default: every method in ``table``). A method without
    a row for some cell (``beta-binomial*``, ``pooled-*``: none for domains that cut strata) is
    not eligible.
    """
    level = check_confidence_level(confidence_level)
    summary = summarise_study(table)
    names = summary["method"] if eligible is None else summary["method"].isin(list(eligible))
    pool = summary[names] if eligible is not None else summary
    pool = pool[pool["cells"] == table.groupby(["design", "domain"]).ngroups]
    for threshold, relaxed in ((level - 0.005, False), (level - 0.01, True)):
        passing = pool[pool["min_coverage"] >= threshold - 1e-12]
        if len(passing):
            return StudyChoice(str(passing.iloc[0]["method"]), threshold, relaxed, summary)
    return StudyChoice(None, level - 0.01, True, summary)


# --- twins: is a narrower interval in a cell safe, or lucky? ------------------------------


def twin_designs(
    table: pd.DataFrame,
    designs: Sequence[StudyDesign],
    method: str,
    reference: str = "korn-graubard",
    wider: float = 1.15,
) -> list[StudyDesign]:
    """For every cell where ``reference`` covers (at least 94.5 %) and ``method`` is more than
    ``wider`` times as wide, the cell's *twin*: the same strata, sample sizes and domain, with
    the rate of the domain's stratum that carries the largest variance term,
    W_h²(1 − f_h)/n_h, raised to nine times the lowest rate of the other strata (at most 50 %):
    the widest spread of rates the grid's own unequal designs allow (a base rate times factors
    in [1/3, 3]). A cell is skipped when that does not raise the rate (or another stratum's
    rate is 0).

    An interval computed from the data alone cannot tell the two apart where their samples
    look alike (the raised stratum usually shows no event in both), so a ``reference`` that is
    narrow in the cell and misses the twin's rate was narrow by luck of the true rates, not
    safely. Each twin is named ``<design>-twin`` with kind ``twin`` and the one domain.
    """
    ref = table[table["method"] == reference].set_index(["design", "domain"])
    mine = table[table["method"] == method].set_index(["design", "domain"])
    ratio = mine["mean_width"] / ref["mean_width"]
    cells = ratio[(ref["coverage"] >= 0.945) & (ratio > wider)].index
    by_name = {design.name: design for design in designs}
    twins = []
    for name, domain in cells:
        design = by_name[name]
        strata = dict(design.domains)[domain]
        big = np.asarray(design.population_sizes, dtype=float)
        small = np.asarray(design.sample_sizes, dtype=float)
        rates = np.asarray(design.rates, dtype=float)
        term = np.zeros(len(big))
        inside = np.asarray(strata)
        sampled = small[inside] < big[inside]
        term[inside] = np.where(sampled, (1 - small[inside] / big[inside]) * big[inside] ** 2
                                / np.maximum(small[inside], 1), 0.0)  # fmt: skip
        j = int(np.argmax(np.where(np.isin(np.arange(len(big)), inside), term, -1.0)))
        others = np.delete(rates, j)
        if len(others) == 0 or others.min() <= 0 or min(0.5, 9 * others.min()) <= rates[j]:
            continue
        raised = rates.copy()
        raised[j] = min(0.5, 9 * others.min())
        twins.append(
            StudyDesign(
                f"{name}-twin",
                "twin",
                design.population_sizes,
                design.sample_sizes,
                tuple(float(round(r, 4)) for r in raised),
                ((domain, tuple(strata)),),
            )
        )
    return twins
