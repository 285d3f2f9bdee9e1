"""Confidence sequences for a stratum's rate while its cases are reviewed one by one.

An ordinary interval recomputed after every reviewed case and acted on when it "looks clear"
no longer covers at its stated level. A *confidence sequence* is a list of intervals
C_1, C_2, ..., C_n, one after each reviewed case, with

    P(the rate lies in C_t for every t at once) >= confidence_level,

so it may be looked at as often as anyone likes and the review may stop whenever it is
precise enough (Waudby-Smith & Ramdas 2020; Howard et al. 2021).

:func:`confidence_sequence` gives it for one stratum, whose cases are reviewed in the random
order of the draw (sampling without replacement from a finite population of N cases with M
positives). :func:`combine_strata` combines the strata of a domain (the product of their
martingales, or α split over them with :func:`split_level` and :func:`combine_sequences`).

The method (``ppr``, the only one in :data:`SEQUENCE_METHODS`)
---------------------------------------------------------------
The prior–posterior-ratio martingale of Waudby-Smith & Ramdas (2020, section 3, Theorem 1).
Put a prior π_0 on the count M; after t cases with S_t positives the posterior is π_t. For
the true M the ratio R_t(M) = π_0(M) / π_t(M) is a nonnegative martingale with R_0 = 1, so
by Ville's inequality R_t(M) stays below 1/α at every t with probability at least 1 − α, and

    C_t = {m : π_0(m) / π_t(m) < 1/α}

is a confidence sequence for M. With the beta-binomial prior M ~ BetaBin(N, a, b) the
posterior is M − S_t ~ BetaBin(N − t, a + S_t, b + t − S_t), and the ratio reduces to

    log R_t(m) = log C(N, m) − log C(N − t, m − S_t) + log B(a + S_t, b + t − S_t) − log B(a, b)

for S_t <= m <= S_t + N − t (outside that range the posterior is 0: such counts are
impossible). The first two terms are convex in m, so C_t is a run of whole counts and its
ends are found exactly on the count scale, all t at once, by integer bisection on one table
of log-factorials
(written by hand: no library computes this; confseq's betting module, the method papers'
own package, builds its sequences on a grid of 1,000 rates with a Python loop per grid
point, which is coarser and far slower; tests/test_sequential.py compares the two). At
t = N the posterior is a point mass on the true count, so C_N is the exact value. The
running intersection of C_1, ..., C_t is reported (also valid, and it only narrows).

The prior. Validity holds for any prior: it only moves where the sequence is narrow. A
prior that puts little mass near the true count makes the sequence wider there (the
posterior has to overcome it before the ratio grows), a prior concentrated near the truth
makes it narrower. The default a = b = 1 is the uniform prior on the counts 0, 1, ..., N:
it favours no rate over another, so a stratum whose rate turns out to be 0 %, 50 % or
100 % is treated alike, and it does not lean on the protocol's anticipated rate (which
the design needed, and which may be wrong).

References
----------
Waudby-Smith, I. & Ramdas, A. (2020). Confidence sequences for sampling without
replacement. Advances in Neural Information Processing Systems 33 (NeurIPS 2020),
20204-20214. arXiv:2006.04347.

Waudby-Smith, I. & Ramdas, A. (2024). Estimating means of bounded random variables by
betting. Journal of the Royal Statistical Society, Series B 86(1), 1-27.

Howard, S. R., Ramdas, A., McAuliffe, J. & Sekhon, J. (2021). Time-uniform, nonparametric,
nonasymptotic confidence sequences. Annals of Statistics 49(2), 1055-1080.

Ville, J. (1939). Étude critique de la notion de collectif. Gauthier-Villars.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln

from stikprove.errors import EstimationError
from stikprove.estimation.intervals import check_confidence_level

__all__ = [
    "COMBINATION_METHODS",
    "SEQUENCE_COLUMNS",
    "SEQUENCE_METHODS",
    "ConfidenceSequence",
    "combine_sequences",
    "combine_strata",
    "confidence_sequence",
    "log_ratio",
    "split_level",
]

SEQUENCE_COLUMNS = ("t", "successes", "estimate", "count_low", "count_high", "low", "high")
"""Columns of :meth:`ConfidenceSequence.to_frame`."""

@dataclass(frozen=True)
class ConfidenceSequence:
    """A confidence sequence for one stratum's rate: one interval per reviewed case.

    Arrays have one entry per t = 1, ..., n (the cases analysed so far, in review order):
    ``successes`` (S_t, positives among the first t), ``count_low`` and ``count_high``
    (whole-number bounds on M, the number of positives in the stratum), ``low`` and ``high``
    (the same on the rate scale, M / N). Valid simultaneously over all t: the chance that
    some interval misses the rate is at most 1 − ``confidence_level``.
    """

    population_size: int
    confidence_level: float
    method: str
    prior: tuple[float, float]
    successes: np.ndarray
    count_low: np.ndarray
    count_high: np.ndarray

    @property
    def n(self) -> int:
        """Cases analysed (the length of the sequence)."""
        return len(self.successes)

    @property
    def t(self) -> np.ndarray:
        """1, 2, ..., n."""
        return np.arange(1, self.n + 1)

    @property
    def low(self) -> np.ndarray:
        return self.count_low / self.population_size

    @property
    def high(self) -> np.ndarray:
        return self.count_high / self.population_size

    @property
    def estimate(self) -> np.ndarray:
        """S_t / t: the share of positives among the cases analysed so far."""
        return self.successes / self.t

    def to_frame(self) -> pd.DataFrame:
        """One row per t; columns :data:`SEQUENCE_COLUMNS`."""
        return pd.DataFrame(
            {"t": self.t, "successes": self.successes, "estimate": self.estimate,
             "count_low": self.count_low, "count_high": self.count_high,
             "low": self.low, "high": self.high}
        )  # fmt: skip

    def _repr_html_(self) -> str:
        last = (
            f"after {self.n} case(s): [{self.low[-1]:.3f}, {self.high[-1]:.3f}]"
            if self.n
            else "no case analysed yet: [0, 1]"
        )
        return (
            f"<p>Confidence sequence ({self.method}, {self.confidence_level:.0%}, "
            f"N = {self.population_size}): {last}</p>"
        )


def _check_outcomes(outcomes: object, population_size: object) -> tuple[np.ndarray, int]:
    try:
        big_n = int(population_size)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        big_n = -1
    if big_n < 1 or big_n != population_size:
        raise EstimationError(
            f"population_size must be a whole number >= 1, got {population_size!r}"
        )
    try:
        x = None if isinstance(outcomes, str) else np.asarray(outcomes, dtype=float).ravel()
    except (TypeError, ValueError):
        x = None
    if x is None:
        raise EstimationError(f"outcomes_in_review_order must be 0/1 values, got {outcomes!r}")
    bad = np.flatnonzero(~np.isin(x, (0.0, 1.0)))
    if bad.size:
        raise EstimationError(
            f"outcomes_in_review_order[{bad[0]}] is {float(x[bad[0]])!r}: expected 0 or 1 (drop "
            "missing outcomes first: the sequence uses the analysed cases in review order)"
        )
    if len(x) > big_n:
        raise EstimationError(
            f"outcomes_in_review_order has {len(x)} cases, more than population_size "
            f"{big_n}: a stratum cannot give more cases than it has"
        )
    return x.astype(np.int64), big_n


def _check_prior(prior: object) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in prior)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        a = b = float("nan")
    if not (np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0):
        raise EstimationError(
            f"prior must be two positive numbers (a, b) of a beta-binomial prior, got {prior!r}"
        )
    return a, b


def _ppr_bounds(
    successes: np.ndarray, big_n: int, alpha: float, prior: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Ends of the prior–posterior-ratio sets C_t (Waudby-Smith & Ramdas 2020, Theorem 1;
    the formula in the module docstring), before the running intersection.

    f_t(m) = log C(N, m) − log C(N − t, m − S_t) has increments
    log[(N − m)(m − S_t + 1)] − log[(m + 1)(N − t − m + S_t)], which grow with m and change
    sign at m = S_t (N + 1)/t − 1: f_t is convex with its minimum there, and
    C_t = {m : f_t(m) < threshold_t} is the run of counts around it. Its ends are found by
    integer bisection on each side, all t at once (about 2 log2 N steps on arrays of length
    n, instead of an n × N table).
    """
    a, b = prior
    s = successes.astype(np.int64)
    t = np.arange(1, len(s) + 1)
    log_factorial = gammaln(np.arange(big_n + 1, dtype=float) + 1)  # log k!, k = 0..N
    rest = big_n - t  # cases not yet seen
    # the m-free part of log R_t, moved to the threshold side
    threshold = np.log(1 / alpha) - (betaln(a + s, b + t - s) - betaln(a, b))

    def inside(m: np.ndarray) -> np.ndarray:
        k = m - s  # positives among the unseen, if M = m
        f = (log_factorial[big_n] - log_factorial[m] - log_factorial[big_n - m]
             - log_factorial[rest] + log_factorial[k] + log_factorial[rest - k])  # fmt: skip
        return f < threshold

    first, last = s, s + rest  # the counts still possible
    centre = np.clip(np.ceil(s * (big_n + 1) / t - 1).astype(np.int64), first, last)
    found = inside(centre)
    # never empty: π_0 and π_t both sum to 1, so π_t(m) >= π_0(m), R_t(m) <= 1 < 1/α at some
    # m, and the minimum of f_t is there; the feasible range guards against rounding only
    steps = int(np.ceil(np.log2(big_n + 2))) + 1
    low = _bisect(inside, centre, first, steps)
    high = _bisect(inside, centre, last, steps)
    return np.where(found, low, first), np.where(found, high, last)


def _bisect(
    inside: Callable[[np.ndarray], np.ndarray], good: np.ndarray, out: np.ndarray, steps: int
) -> np.ndarray:
    """The end of the run of counts where ``inside`` holds, from ``good`` (inside) towards
    ``out`` (the first or last possible count): the count nearest ``out`` still inside."""
    good, out = good.copy(), out.copy()
    good = np.where(inside(out), out, good)
    for _ in range(steps):
        gap = np.abs(good - out) > 1
        if not gap.any():
            break
        mid = (good + out) // 2
        ok = inside(mid)
        good = np.where(gap & ok, mid, good)
        out = np.where(gap & ~ok, mid, out)
    return good


SEQUENCE_METHODS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "ppr": _ppr_bounds,
}
"""Confidence-sequence methods by name: (successes S_t, N, alpha, prior) -> count bounds."""


def _running_intersection(low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The intersection of C_1, ..., C_t for each t. Where it would be empty (possible only
    when some C_s already missed the count) C_t itself is kept, so low <= high always."""
    run_low = np.maximum.accumulate(low)
    run_high = np.minimum.accumulate(high)
    crossed = run_low > run_high
    return np.where(crossed, low, run_low), np.where(crossed, high, run_high)


def confidence_sequence(
    outcomes_in_review_order: Sequence[float] | np.ndarray,
    population_size: int,
    confidence_level: float = 0.95,
    method: str = "ppr",
    prior: tuple[float, float] = (1.0, 1.0),
    running_intersection: bool = True,
) -> ConfidenceSequence:
    """Confidence sequence for the rate of a stratum reviewed one case at a time.

    ``outcomes_in_review_order``: the 0/1 outcomes of the cases analysed so far, in the
    stratum's random review order (the draw order: :func:`stikprove.estimation.interim.
    interim_results` takes the unbroken run of reviewed cases from the top of the list).
    ``population_size``: N, the cases in the stratum. ``method``: one of
    :data:`SEQUENCE_METHODS`; ``ppr`` is the prior–posterior-ratio martingale of
    Waudby-Smith & Ramdas (2020), exact on the count scale (see the module docstring).
    ``prior``: (a, b) of the beta-binomial prior on the count of positives; the default
    (1, 1) is uniform on 0..N: it leans towards no rate (see the module docstring).
    ``running_intersection``: report C_1 ∩ ... ∩ C_t (default), which only narrows.

    Returns a :class:`ConfidenceSequence`: ``.low`` and ``.high`` (length n), the counts
    ``.count_low`` and ``.count_high``, and ``.successes``. Valid simultaneously over all
    t: P(some interval misses the rate) <= 1 − confidence_level. At t = N it is the exact
    rate.

    >>> cs = confidence_sequence([0, 1, 0, 0, 0, 0, 0, 0, 0, 0], population_size=10)
    >>> int(cs.count_low[-1]), int(cs.count_high[-1])
    (1, 1)
    >>> round(float(cs.low[0]), 2), round(float(cs.high[0]), 2)
    (0.0, 0.9)
    """
    level = check_confidence_level(confidence_level)
    if method not in SEQUENCE_METHODS:
        raise EstimationError(
            f"method must be one of {tuple(SEQUENCE_METHODS)!r}; got {method!r}"
        )
    x, big_n = _check_outcomes(outcomes_in_review_order, population_size)
    a_b = _check_prior(prior)
    successes = np.cumsum(x)
    if len(x) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return ConfidenceSequence(big_n, level, method, a_b, empty, empty, empty.copy())
    low, high = SEQUENCE_METHODS[method](successes, big_n, 1 - level, a_b)
    if running_intersection:
        low, high = _running_intersection(low, high)
    return ConfidenceSequence(big_n, level, method, a_b, successes, low, high)


def split_level(confidence_level: float, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Each stratum's confidence level when a domain's error rate α = 1 − level is split
    over its strata in proportion to ``weights`` (Bonferroni: the α_h add up to α).

    >>> [round(float(v), 3) for v in split_level(0.9, [3, 1])]
    [0.925, 0.975]
    """
    level = check_confidence_level(confidence_level)
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or len(w) == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise EstimationError(
            f"weights must be nonnegative numbers, not all 0, got {list(np.atleast_1d(w))!r}"
        )
    share = w / w.sum()
    # a stratum of weight 0 adds nothing to the domain; give it a tiny share all the same
    share = np.where(share > 0, share, 1e-12)
    return 1 - (1 - level) * share / share.sum()


def combine_sequences(
    population_sizes: Sequence[int] | np.ndarray,
    low: Sequence[float] | np.ndarray,
    high: Sequence[float] | np.ndarray,
) -> tuple[float, float]:
    """The domain interval from its strata's current intervals on the rate scale.

    The domain's rate is Σ W_h p_h with W_h = N_h / Σ N_h (the stratified estimator's
    target). If every stratum's interval holds, the domain's rate lies in
    [Σ W_h low_h, Σ W_h high_h] (the count intervals added, on the rate scale). With each
    stratum's sequence at the level from :func:`split_level` (α split in proportion to
    N_h), all hold at every moment with probability at least 1 − α (Bonferroni), so the
    domain interval is a confidence sequence too, whatever order the strata are reviewed
    in and whenever each stops. It is conservative: the intervals' widths add instead of
    adding in quadrature; tests/test_sequential.py and benchmarks/bench_sequential.py
    measure the cost against the fixed-time interval. A stratum with no case analysed
    enters as [0, 1].

    >>> combine_sequences([1, 3], [0.0, 0.5], [1.0, 0.5])
    (0.375, 0.625)
    """
    big_n = np.asarray(population_sizes, dtype=float)
    lo = np.asarray(low, dtype=float)
    hi = np.asarray(high, dtype=float)
    if not (big_n.shape == lo.shape == hi.shape) or big_n.ndim != 1 or len(big_n) == 0:
        raise EstimationError(
            "population_sizes, low and high must be equally long lists with one entry per "
            f"stratum; got lengths {big_n.size}, {lo.size}, {hi.size}"
        )
    if np.any(~np.isfinite(big_n)) or np.any(big_n < 1):
        raise EstimationError(f"population_sizes must be >= 1, got {list(big_n)!r}")
    w = big_n / big_n.sum()
    lo = np.where(np.isnan(lo), 0.0, lo)
    hi = np.where(np.isnan(hi), 1.0, hi)
    return float(np.clip(w @ lo, 0, 1)), float(np.clip(w @ hi, 0, 1))


# ---- domains: the product of the strata's martingales ------------------------------------

COMBINATION_METHODS = ("product", "bonferroni")
"""How :func:`combine_strata` combines a domain's strata (see there)."""


def log_ratio(
    successes: int, n: int, population_size: int, prior: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """log R_n(m) = log π_0(m) − log π_n(m) for m = 0..N after ``n`` cases with ``successes``
    positives (the formula in the module docstring); +inf for impossible counts; all 0 when
    n = 0 (the posterior is the prior).

    >>> [round(float(v), 2) for v in log_ratio(1, 2, 4)]
    [inf, -0.41, -0.69, -0.41, inf]
    """
    log_factorial = gammaln(np.arange(population_size + 1, dtype=float) + 1)
    return _log_ratio(successes, n, population_size, prior, log_factorial)


def _log_ratio(
    successes: int,
    n: int,
    population_size: int,
    prior: tuple[float, float],
    log_factorial: np.ndarray,
) -> np.ndarray:
    """:func:`log_ratio` with a table of log k! for k = 0..at least N."""
    if n == 0:
        return np.zeros(population_size + 1)
    a, b = prior
    big_n = population_size
    m = np.arange(big_n + 1)
    rest = big_n - n
    k = m - successes
    feasible = (k >= 0) & (k <= rest)
    kk = np.clip(k, 0, rest)
    value = (log_factorial[big_n] - log_factorial[m] - log_factorial[big_n - m]
             - log_factorial[rest] + log_factorial[kk] + log_factorial[rest - kk]
             + betaln(a + successes, b + n - successes) - betaln(a, b))  # fmt: skip
    return np.where(feasible, value, np.inf)


def _golden_max(
    evaluate: Callable[[np.ndarray], np.ndarray], domains: int, steps: int = 60
) -> np.ndarray:
    """The largest value of each domain's unimodal function of u = log μ found by
    golden-section search on [-25, 25], all domains at once (every value is a valid bound,
    so stopping early only makes it more conservative)."""
    ratio = (np.sqrt(5) - 1) / 2
    lo, hi = np.full(domains, -25.0), np.full(domains, 25.0)
    x1, x2 = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    f1, f2 = evaluate(x1), evaluate(x2)
    best = np.maximum(f1, f2)
    for _ in range(steps):
        left = f1 >= f2  # the maximum is in [lo, x2]
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        new = np.where(left, hi - ratio * (hi - lo), lo + ratio * (hi - lo))
        fnew = evaluate(new)
        x1, x2, f1, f2 = (np.where(left, new, x2), np.where(left, x1, new),
                          np.where(left, fnew, f2), np.where(left, f1, fnew))  # fmt: skip
        x1, x2 = np.minimum(x1, x2), np.maximum(x1, x2)
        f1, f2 = np.where(x1 == new, fnew, f1), np.where(x2 == new, fnew, f2)
        best = np.maximum(best, fnew)
    return best


def _product_bounds(
    outcomes: Sequence[np.ndarray],
    sizes: np.ndarray,
    weights: np.ndarray,
    domain: np.ndarray,
    alpha: float,
    prior: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Ends of {θ : some counts (m_h) with Σ c_h m_h = θ have Σ log R_h(m_h) < log(1/α)}
    per domain, c_h = W_h / N_h: a linear objective under a separable convex constraint,
    bounded by Lagrangian duality (for any μ > 0, Σ_h min_m [c_h m + μ log R_h(m)] −
    μ log(1/α) is below the smallest such θ; the best μ is searched)."""
    log_factorial = gammaln(np.arange(int(sizes.max()) + 1, dtype=float) + 1)
    ratios = [_log_ratio(int(x.sum()), len(x), int(big_n), prior, log_factorial)
              for x, big_n in zip(outcomes, sizes, strict=True)]  # fmt: skip
    g = np.concatenate(ratios)
    lengths = np.array([len(r) for r in ratios])
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    m = np.concatenate([np.arange(n) for n in lengths]).astype(float)
    c = np.repeat(weights / sizes, lengths)
    stratum_domain = domain
    element_domain = np.repeat(domain, lengths)
    domains = int(domain.max()) + 1
    threshold = np.log(1 / alpha)

    def dual(sign: float) -> Callable[[np.ndarray], np.ndarray]:
        def evaluate(u: np.ndarray) -> np.ndarray:
            mu = np.exp(u)
            values = sign * c * m + mu[element_domain] * g
            per_stratum = np.minimum.reduceat(values, starts)
            return np.bincount(stratum_domain, weights=per_stratum, minlength=domains) - (
                mu * threshold
            )

        return evaluate

    low = _golden_max(dual(1.0), domains)
    high = -_golden_max(dual(-1.0), domains)
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


def combine_strata(
    outcomes_by_stratum: Sequence[Sequence[float] | np.ndarray],
    population_sizes: Sequence[int] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    domains: Sequence[int] | np.ndarray | None = None,
    confidence_level: float = 0.95,
    method: str = "product",
    prior: tuple[float, float] = (1.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Current interval of each domain's rate Σ_h W_h p_h from its strata's analysed outcomes.

    ``outcomes_by_stratum``: per stratum the 0/1 outcomes in review order (possibly none);
    ``population_sizes``: each stratum's N_h (the population the outcomes are drawn from);
    ``weights``: each stratum's weight in its domain before normalising (default: the
    population sizes); ``domains``: each stratum's domain as 0, 1, 2, ... (default: one
    domain). Returns arrays ``low`` and ``high``, one entry per domain.

    ``method``:

    - ``product`` (default): the strata's prior–posterior ratios multiply into one
      martingale for the vector of counts (the strata are independent samples), so
      {θ : some counts with Σ W_h m_h / N_h = θ have Π_h R_h(m_h) < 1/α} holds at every
      moment with probability at least 1 − α, by Ville's inequality as for one stratum.
      Its ends are bounded from outside by Lagrangian duality (the constraint is convex
      in the counts). It assumes that the order in which the strata's runs grow does not
      depend on outcomes outside the runs (a predictable interleaving, as when the
      physicians' pace does not depend on what they found in cases still waiting);
      tests/test_sequential.py checks its coverage by simulation.
    - ``bonferroni``: each stratum's own sequence (:func:`confidence_sequence`) at the level
      :func:`split_level` gives it (α split in proportion to the weights), added with
      :func:`combine_sequences`. Valid whatever the interleaving, but its width grows with
      the number of strata (widths add, not in quadrature): benchmarks/bench_sequential.py
      measures both against the fixed-time interval.

    >>> low, high = combine_strata([[1, 0, 0, 1, 0, 1, 1, 0], [0, 0, 0]], [10, 10])
    >>> round(float(low[0]), 3), round(float(high[0]), 3)
    (0.2, 0.65)
    """
    level = check_confidence_level(confidence_level)
    if method not in COMBINATION_METHODS:
        raise EstimationError(f"method must be one of {COMBINATION_METHODS!r}; got {method!r}")
    a_b = _check_prior(prior)
    sizes = np.asarray(population_sizes)
    k = len(outcomes_by_stratum)
    w = np.asarray(sizes if weights is None else weights, dtype=float)
    code = np.zeros(k, dtype=np.int64) if domains is None else np.asarray(domains)
    if not (k == len(sizes) == len(w) == len(code)) or k == 0:
        raise EstimationError(
            "outcomes_by_stratum, population_sizes, weights and domains must have one entry "
            f"per stratum; got lengths {k}, {len(sizes)}, {len(w)}, {len(code)}"
        )
    outcomes = [_check_outcomes(x, big_n)[0]
                for x, big_n in zip(outcomes_by_stratum, sizes, strict=True)]  # fmt: skip
    if code.dtype.kind not in "iu" or code.min() < 0 or np.any(np.bincount(code) == 0):
        raise EstimationError(f"domains must be the whole numbers 0, 1, 2, ...; got {code!r}")
    if np.any(~np.isfinite(w)) or np.any(w < 0) or np.any(np.bincount(code, weights=w) <= 0):
        raise EstimationError(
            f"weights must be nonnegative and not all 0 in a domain; got {list(w)!r}"
        )
    share = w / np.bincount(code, weights=w)[code]
    if method == "product":
        return _product_bounds(outcomes, sizes.astype(float), share, code, 1 - level, a_b)
    levels = np.empty(k)
    for d in range(int(code.max()) + 1):
        levels[code == d] = split_level(level, w[code == d])
    low, high = np.zeros(k), np.ones(k)
    for h, x in enumerate(outcomes):
        if len(x):
            cs = confidence_sequence(x, int(sizes[h]), float(levels[h]), prior=a_b)
            low[h], high[h] = cs.low[-1], cs.high[-1]
    lows = np.clip(np.bincount(code, weights=share * low), 0, 1)
    highs = np.clip(np.bincount(code, weights=share * high), 0, 1)
    return lows, highs
