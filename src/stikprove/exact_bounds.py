"""Exact confidence bounds for a proportion: hypergeometric and Clopper–Pearson.

The one home of the exact bounds every step uses: the design step plans with them
(:mod:`stikprove.design`), estimation reports them (:mod:`stikprove.estimation`), so a plan's
half-width at the anticipated count is the half-width estimation then reports for that count.
This module sits below every step and imports none.

- :func:`hypergeometric_bounds` / :func:`hypergeometric_interval`: the exact interval for the
  number of events M in a finite population of N, from x events in a simple random sample
  without replacement of n. Neither scipy nor statsmodels inverts the hypergeometric tail tests,
  so it is written here (Konijn 1973; Buonaccorsi 1987; Wright 1991) as a vectorised integer
  bisection on ``scipy.stats.hypergeom`` tail probabilities.
- :func:`clopper_pearson_interval`: statsmodels' ``proportion_confint(method="beta")``
  (Clopper & Pearson 1934), equal to R's ``binom.test``.
- :func:`clopper_pearson_real`: the Clopper–Pearson bounds at a real-valued number of trials
  (an effective sample size), through scipy's inverse incomplete Beta function; statsmodels
  rounds nothing but also guards nothing at x = 0 or x = m, which the Korn–Graubard interval
  needs, so the two edges are written out here.

References
----------
Buonaccorsi, J. P. (1987). A note on confidence intervals for proportions in finite populations.
The American Statistician 41, 215-218.

Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in
the case of the binomial. Biometrika 26, 404-413.

Konijn, H. S. (1973). Statistical Theory of Sample Survey Design and Analysis. North-Holland.

Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. Survey Methodology 24, 193-201.

Wright, T. (1991). Exact Confidence Bounds when Sampling from Small Finite Universes. Lecture
Notes in Statistics 66, Springer.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

__all__ = [
    "clopper_pearson_interval",
    "clopper_pearson_real",
    "hypergeometric_bounds",
    "hypergeometric_interval",
]


def hypergeometric_bounds(
    x: np.ndarray, n: np.ndarray, population_size: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact bounds (M_low, M_high) on the number of successes M in a finite population.

    x successes in a simple random sample without replacement of n from N = ``population_size``.
    The confidence set inverts the two one-sided hypergeometric tail tests, each at alpha/2
    (Konijn 1973; Buonaccorsi 1987; Wright 1991):

        M_high = max{M : P(X <= x | M) > alpha/2},   M_low = min{M : P(X >= x | M) > alpha/2},

    over the M compatible with the sample, x <= M <= N - (n - x). P(X <= x | M) falls and
    P(X >= x | M) rises with M, so each bound is found by integer bisection, all inputs at once
    (about log2(N) vectorised ``scipy.stats.hypergeom`` calls). Every M outside [M_low, M_high]
    is rejected by a test of size at most alpha/2, so the coverage is at least 1 - alpha for every
    M. A census (n = N) leaves only M = x: the interval is the exact value. When cases are
    unsampled (n < N) but the inversion leaves a single M (few unsampled cases: x = 0 of 49 from
    50 rejects M = 1 at P = 1/50), the neighbouring M with the larger tail probability is added,
    so that only a census gives zero width; this only widens the set, keeping the coverage.
    """
    x, n, big_n = (np.asarray(a, dtype=np.int64) for a in (x, n, population_size))
    x, n, big_n = np.broadcast_arrays(x, n, big_n)
    shape = x.shape
    # Each distinct (x, n, N) once: simulations and tables repeat them a lot.
    keys, inverse = np.unique(
        np.stack([x.ravel(), n.ravel(), big_n.ravel()], axis=1), axis=0, return_inverse=True
    )
    inverse = inverse.ravel()
    x, n, big_n = keys[:, 0], keys[:, 1], keys[:, 2]
    half = alpha / 2
    top = big_n - n + x

    # Upper bound: largest M in [x, N - n + x] with cdf(x; M) > alpha/2 (true at M = x).
    m_high = _bisect(
        x, top, lambda i, m: stats.hypergeom.cdf(x[i], big_n[i], m, n[i]) > half, up=True
    )
    # Lower bound: smallest M in [x, N - n + x] with sf(x - 1; M) > alpha/2 (true at the top).
    m_low = _bisect(
        x, top, lambda i, m: stats.hypergeom.sf(x[i] - 1, big_n[i], m, n[i]) > half, up=False
    )

    # With few unsampled cases the inversion can leave a single M although N > n (x = 0 of 49
    # from 50: P(X = 0 | M = 1) = 1/50 < 0.025, so M = 1 is rejected and the interval is
    # [0, 0]). Only a census may give zero width, so add the neighbouring M with the larger
    # tail probability: the interval only widens and the coverage stays >= 1 - alpha.
    single = (m_low == m_high) & (n < big_n)
    if np.any(single):
        xs, ns, bs, ms = x[single], n[single], big_n[single], m_low[single]
        up_ok = ms + 1 <= bs - ns + xs
        down_ok = ms - 1 >= xs
        p_up = np.where(up_ok, stats.hypergeom.cdf(xs, bs, np.minimum(ms + 1, bs), ns), -1.0)
        p_down = np.where(down_ok, stats.hypergeom.sf(xs - 1, bs, np.maximum(ms - 1, 0), ns), -1.0)
        go_up = up_ok & (p_up >= p_down)
        m_high[single] = np.where(go_up, ms + 1, ms)
        m_low[single] = np.where(~go_up & down_ok, ms - 1, ms)
    return m_low[inverse].reshape(shape), m_high[inverse].reshape(shape)


def _bisect(low: np.ndarray, high: np.ndarray, accept, *, up: bool) -> np.ndarray:
    """Integer bisection on [low, high] elementwise for the boundary of a monotone ``accept``.

    ``up``: the largest M with accept(M) (accept true at ``low``, false above the boundary);
    else the smallest M with accept(M) (true at ``high``). ``accept(i, m)`` takes the indices
    of the searches still open and their midpoints: each tail probability is computed only
    where a search is open (a domain of a few cases closes in a step or two while a large
    stratum takes about log2(N) steps), and each search sees the same midpoints as it would
    alone, so the bounds do not depend on which others are searched with it.
    """
    lo, hi = low.copy(), high.copy()
    open_ = np.flatnonzero(lo < hi)
    while open_.size:
        a, b = lo[open_], hi[open_]
        if up:
            mid = (a + b + 1) // 2
            ok = accept(open_, mid)
            lo[open_] = np.where(ok, mid, a)
            hi[open_] = np.where(ok, b, mid - 1)
        else:
            mid = (a + b) // 2
            ok = accept(open_, mid)
            hi[open_] = np.where(ok, mid, b)
            lo[open_] = np.where(ok, a, mid + 1)
        open_ = open_[lo[open_] < hi[open_]]
    return lo


def hypergeometric_interval(
    x: np.ndarray, n: np.ndarray, population_size: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """The exact interval for the proportion M/N: :func:`hypergeometric_bounds` divided by N,
    widened where needed to hold x/n (which can fall just outside [M_low/N, M_high/N] when n
    is close to N). What the plain-count, domain and planning steps all report."""
    x, n, big_n = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (x, n, population_size))
    )
    m_low, m_high = hypergeometric_bounds(x, n, big_n, alpha)
    estimate = x / n
    return np.minimum(m_low / big_n, estimate), np.maximum(m_high / big_n, estimate)


def clopper_pearson_interval(
    x: np.ndarray, n: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Clopper & Pearson (1934) 'exact' interval from Beta quantiles (Newcombe 1998, method 5).

    Computed by statsmodels ``proportion_confint(method="beta")``; equals R's ``binom.test``.
    x may be real-valued (statsmodels' Beta quantiles are continuous in x).
    """
    low, high = proportion_confint(x, n, alpha=alpha, method="beta")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def clopper_pearson_real(p: np.ndarray, m: np.ndarray, alpha: float):
    """Clopper–Pearson bounds at proportion p with a real-valued number of trials m.

    x = p·m; low = Beta(alpha/2; x, m - x + 1) (0 if x = 0), high = Beta(1 - alpha/2; x + 1, m - x)
    (1 if x = m): the form Korn & Graubard (1998) use for an effective sample size.
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    m = np.maximum(np.asarray(m, dtype=float), 1e-12)
    x = p * m
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, special.betaincinv(np.maximum(x, 1e-300), m - x + 1, alpha / 2), 0.0)
        high = np.where(
            x < m,
            special.betaincinv(x + 1, np.maximum(m - x, 1e-300), 1 - alpha / 2),
            1.0,
        )
    return low, high
