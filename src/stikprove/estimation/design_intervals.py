"""Design-based confidence intervals for a proportion from (estimate, se, df, n).

:func:`design_ci` is the one place the interval methods for survey estimates live; the domain
estimates (:mod:`stikprove.estimation.domains`), the coverage simulation
(:mod:`stikprove.estimation.coverage`) and the comparisons all call it on numpy arrays.
:func:`domain_interval` adds the edge rule that needs more than (estimate, se, df, n): census
strata and the hypergeometric bound for a domain sampled within one stratum.

Methods (:data:`DESIGN_METHODS`), matching R's ``survey::svyciprop`` (Lumley 2004, 2010) so that
results can be checked against it:

``wald``
    estimate ± t(df)·se, clipped to [0, 1] (svyciprop ``method="mean"``, which does not clip).
``logit``
    expit(logit(p) ± t(df)·se / (p(1-p))) (svyciprop ``method="logit"``: the Wald interval of the
    intercept of a quasi-binomial svyglm, whose standard error is se/(p(1-p)) exactly).
``korn-graubard``
    Korn & Graubard (1998): a Clopper–Pearson interval on the effective sample size
    n* = p(1-p)/se² · (t(n-1)/t(df))², i.e. the design effect adjusted by the ratio of the
    t-quantiles at n - 1 and at the design degrees of freedom, exactly as svyciprop
    ``method="beta"`` does it
    (``n.eff * (qt(alpha/2, nrow(design)-1) / qt(alpha/2, degf(design)))^2``;
    R uses the rows of the domain subset for ``nrow``). As in R, n* is not truncated at n.
``wilson``
    The Wilson score interval on the effective sample size p(1-p)/se² with the t(df) quantile in
    place of z (Kott & Carr 1997; Dean & Pagano 2015). Not in R's survey package.
``korn-graubard-deff1``
    Korn–Graubard with the design effect floored at 1: the effective sample size p(1-p)/se² is
    cut at n before the t-ratio adjustment, as the NCHS data presentation standard for
    proportions prescribes (Parker et al. 2017; SAS SURVEYFREQ's ``TRUNCATEDESIGNEFFECT``).
``jeffreys``
    The design-adjusted Jeffreys interval (Franco et al. 2019; Dean & Pagano 2015): the
    equal-tailed Beta(x* + 1/2, n* - x* + 1/2) quantiles at the Korn–Graubard effective sample
    size n* (with its t-ratio) and x* = p·n*.

The edges, where R returns NaN or a zero-width interval (written by hand, the rule is ours):

- ``df`` below 1 is taken as 1, and n - 1 below 1 as 1, in the quantiles (a single case or as many
  strata as cases leaves no degrees of freedom; t(1) is the widest honest choice).
- A fully enumerated domain (``enumerated``; every stratum a census) has no sampling error: the
  interval is [estimate, estimate].
- Otherwise, when se is 0 (at most 1e-10) or not finite, or the estimate is 0 or 1, there is
  no information about the variance. Every method then gives the Clopper–Pearson interval at
  the estimate with ``fallback_n`` trials (real-valued, through Beta quantiles; default n): the
  n-based rule of Korn & Graubard (1998) with design effect 1.

References
----------
Franco, C., Little, R. J. A., Louis, T. A. & Slud, E. V. (2019). Comparative study of confidence
intervals for proportions in complex sample surveys. Journal of Survey Statistics and
Methodology 7, 334-364.

Parker, J. D., Talih, M., Malec, D. J. et al. (2017). National Center for Health Statistics data
presentation standards for proportions. Vital and Health Statistics 2(175).

Dean, N. & Pagano, M. (2015). Evaluating confidence interval methods for binomial proportions in
clustered surveys. Journal of Survey Statistics and Methodology 3, 484-503.

Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. Survey Methodology 24, 193-201.

Kott, P. S. & Carr, D. A. (1997). Developing an estimation strategy for a pesticide data program.
Journal of Official Statistics 13, 367-383.

Lumley, T. (2004). Analysis of complex survey samples. Journal of Statistical Software 9(8).
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley. (R package survey 4.1.)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from stikprove.errors import EstimationError
from stikprove.estimation.intervals import ConfidenceInterval, check_confidence_level
from stikprove.exact_bounds import clopper_pearson_real, hypergeometric_bounds
from stikprove.methods import DEPRECATED_METHOD_NAMES, DESIGN_INTERVAL_METHODS, canonical_method
from stikprove.variance import NEGLIGIBLE_VARIANCE

__all__ = ["DESIGN_METHODS", "clopper_pearson_real", "design_ci", "domain_interval"]


_SE_ZERO = float(np.sqrt(NEGLIGIBLE_VARIANCE))
"""A standard error at or below this (1e-10) is treated as 0 (no variance information)."""


def _t(alpha: float, df: np.ndarray) -> np.ndarray:
    """Upper alpha/2 quantile of t with df (df floored at 1), computed once per distinct df."""
    df = np.maximum(np.asarray(df, dtype=float), 1.0)
    distinct, inverse = np.unique(df, return_inverse=True)
    return special.stdtrit(distinct, 1.0 - alpha / 2)[inverse].reshape(df.shape)


def _wald(p, se, df, n, alpha):
    """estimate ± t(df)·se (svyciprop method="mean"); clipped to [0, 1] by design_ci."""
    half = _t(alpha, df) * se
    return p - half, p + half


def _logit(p, se, df, n, alpha):
    """Wald interval on the logit scale with delta-method se/(p(1-p)) (svyciprop "logit")."""
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = special.logit(p)
        half = _t(alpha, df) * se / (p * (1 - p))
    return special.expit(centre - half), special.expit(centre + half)


def _korn_graubard(p, se, df, n, alpha):
    """Korn & Graubard (1998) as svyciprop method="beta" computes it (see module docstring)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = p * (1 - p) / se**2
        ratio = _t(alpha, np.maximum(n - 1, 1.0)) / _t(alpha, df)
    return clopper_pearson_real(p, n_eff * ratio**2, alpha)


def _korn_graubard_deff1(p, se, df, n, alpha):
    """Korn–Graubard with n_eff = min(p(1-p)/se², n): design effect floored at 1 (NCHS 2017)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.minimum(p * (1 - p) / se**2, n)
        ratio = _t(alpha, np.maximum(n - 1, 1.0)) / _t(alpha, df)
    return clopper_pearson_real(p, n_eff * ratio**2, alpha)


def _jeffreys(p, se, df, n, alpha):
    """Beta(x* + 1/2, n* - x* + 1/2) quantiles at the Korn–Graubard n* (Franco et al. 2019)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = p * (1 - p) / se**2 * (_t(alpha, np.maximum(n - 1, 1.0)) / _t(alpha, df)) ** 2
        x = p * n_eff
        low = special.betaincinv(x + 0.5, n_eff - x + 0.5, alpha / 2)
        high = special.betaincinv(x + 0.5, n_eff - x + 0.5, 1 - alpha / 2)
    return low, high


def _wilson(p, se, df, n, alpha):
    """Wilson score interval on n_eff = p(1-p)/se² with the t(df) quantile (Kott & Carr 1997)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = p * (1 - p) / se**2
        t = _t(alpha, df)
        t2 = t * t
        denom = 1 + t2 / n_eff
        centre = (p + t2 / (2 * n_eff)) / denom
        half = t * np.sqrt(p * (1 - p) / n_eff + t2 / (4 * n_eff**2)) / denom
    return centre - half, centre + half


DESIGN_METHODS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = dict(
    zip(
        DESIGN_INTERVAL_METHODS,
        (_wald, _logit, _korn_graubard, _wilson, _korn_graubard_deff1, _jeffreys),
        strict=True,
    )
)
"""Design-based interval methods: name -> function(p, se, df, n, alpha) -> (low, high)."""


def check_design_method(method: str, extra: tuple[str, ...] = ()) -> str:
    """``method`` under its current name, or EstimationError listing the known methods.

    A deprecated name (``exact`` for ``hypergeometric``, see :mod:`stikprove.methods`) is
    accepted where its new name is, with a DeprecationWarning.
    """
    known = (*DESIGN_METHODS, *extra)
    if DEPRECATED_METHOD_NAMES.get(method) in known:
        return canonical_method(method, stacklevel=4)
    if method not in known:
        names = ", ".join(map(repr, known))
        raise EstimationError(f"method must be one of {names}; got {method!r}")
    return method


def design_ci(
    estimate: np.ndarray | float,
    se: np.ndarray | float,
    df: np.ndarray | float,
    n: np.ndarray | float,
    confidence_level: float = 0.95,
    method: str = "korn-graubard",
    *,
    fallback_n: np.ndarray | float | None = None,
    enumerated: np.ndarray | bool | None = None,
) -> ConfidenceInterval:
    """Design-based confidence interval from an estimate, its standard error and df.

    Parameters
    ----------
    estimate, se, df, n
        Arrays (or scalars) that broadcast: the estimated proportion, its standard error, the
        design degrees of freedom (sampled cases minus strata in the domain), and n, the
        sampled cases in the domain (used by ``korn-graubard``).
    confidence_level
        In (0, 1).
    method
        ``korn-graubard`` (default), ``logit``, ``wald`` or ``wilson`` (module docstring).
    fallback_n
        Trials for the Clopper–Pearson fallback when se is 0 or the estimate is 0 or 1
        (default ``n``); :func:`domain_interval` passes the Kish effective sample size.
    enumerated
        True where the domain is fully enumerated (census strata only): interval [p, p].

    Returns
    -------
    ConfidenceInterval
        ``low``, ``high`` arrays (floats for scalar input) in [0, 1] with low <= estimate <= high.
        Never NaN for finite estimate in [0, 1] and n >= 1.
    """
    check_design_method(method)
    alpha = 1.0 - check_confidence_level(confidence_level)
    p, s, d, size = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (estimate, se, df, n))
    )
    fb = size if fallback_n is None else np.broadcast_to(np.asarray(fallback_n, float), p.shape)
    census = (
        np.zeros(p.shape, bool)
        if enumerated is None
        else np.broadcast_to(np.asarray(enumerated, bool), p.shape)
    )
    degenerate = ~np.isfinite(s) | (s <= _SE_ZERO) | (p <= 0) | (p >= 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # edge inputs (p in {0, 1}, se = 0) give inf/NaN here and are replaced just below
        low, high = DESIGN_METHODS[method](p, s, d, size, alpha)
    low, high = np.array(low, dtype=float), np.array(high, dtype=float)
    if np.any(degenerate):
        trials = np.maximum(fb[degenerate], 1.0)
        fb_low, fb_high = clopper_pearson_real(p[degenerate], trials, alpha)
        low[degenerate] = fb_low
        high[degenerate] = fb_high
    low = np.where(census, p, low)
    high = np.where(census, p, high)
    low = np.clip(np.minimum(low, p), 0.0, 1.0)
    high = np.clip(np.maximum(high, p), 0.0, 1.0)
    if low.ndim == 0:
        return ConfidenceInterval(float(low), float(high))
    return ConfidenceInterval(low, high)


def domain_interval(
    estimate: np.ndarray,
    se: np.ndarray,
    df: np.ndarray,
    n: np.ndarray,
    confidence_level: float,
    method: str,
    *,
    census_share: np.ndarray,
    census_estimate: np.ndarray,
    sampled_estimate: np.ndarray,
    sampled_kish_n: np.ndarray,
    sampled_strata: np.ndarray,
    sampled_x: np.ndarray,
    sampled_n: np.ndarray,
    sampled_population: np.ndarray,
    no_variance: np.ndarray | None = None,
) -> ConfidenceInterval:
    """Interval for domain estimates, with the edge rule for census and one-stratum domains.

    A domain's estimate is p = c·p_c + (1 - c)·p_s, where c = ``census_share`` is the share of the
    domain's (estimated) population in census strata, p_c their (exact) proportion and p_s the
    estimate from the sampled strata. All arrays are per domain.

    Regular domains (se > 0, 0 < p < 1) get :func:`design_ci`. Otherwise:

    - only census strata (``sampled_n`` = 0): [p, p], the exact value;
    - sampled part in one stratum (``sampled_strata`` = 1): the exact hypergeometric interval
      for ``sampled_x`` of ``sampled_n`` drawn from ``sampled_population`` (the domain's
      population in that stratum: N_h, or if the domain cuts the stratum its largest possible
      size n_d + N_h - n_h, since the domain size of the unsampled cases is unknown);
    - sampled part over several strata: Clopper–Pearson at p_s on the Kish effective sample size
      of the sampled part, (Σw)²/Σw²;

    and the sampled part's bounds [L_s, U_s] are mapped to c·p_c + (1 - c)·[L_s, U_s].
    ``no_variance`` marks more domains for this rule: those whose design-based variance (before
    any floor the caller adds to ``se``) is 0.
    """
    alpha = 1.0 - check_confidence_level(confidence_level)
    p = np.asarray(estimate, dtype=float)
    regular = design_ci(p, se, df, n, confidence_level, method)
    low, high = np.asarray(regular.low, float), np.asarray(regular.high, float)

    s = np.asarray(se, dtype=float)
    edge = ~np.isfinite(s) | (s <= _SE_ZERO) | (p <= 0) | (p >= 1)
    if no_variance is not None:
        edge = edge | np.broadcast_to(np.asarray(no_variance, bool), p.shape)
    if not np.any(edge):
        return regular

    idx = np.flatnonzero(edge)
    c = np.asarray(census_share, float)[idx]
    pc = np.nan_to_num(np.asarray(census_estimate, float)[idx])
    ps = np.asarray(sampled_estimate, float)[idx]
    n_s = np.asarray(sampled_n, float)[idx]
    one = np.asarray(sampled_strata)[idx] == 1
    kish = np.maximum(np.asarray(sampled_kish_n, float)[idx], 1.0)
    ls, us = clopper_pearson_real(ps, kish, alpha)
    if np.any(one):
        x1 = np.asarray(sampled_x, float)[idx][one]
        n1 = n_s[one]
        big1 = np.maximum(np.round(np.asarray(sampled_population, float)[idx][one]), n1)
        keys = np.stack([np.round(x1), n1, big1], axis=1).astype(np.int64)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        m_low, m_high = hypergeometric_bounds(uniq[:, 0], uniq[:, 1], uniq[:, 2], alpha)
        ls[one] = (m_low / uniq[:, 2])[inverse.ravel()]
        us[one] = (m_high / uniq[:, 2])[inverse.ravel()]
    sampled = n_s > 0
    edge_low = np.where(sampled, c * pc + (1 - c) * ls, p[idx])
    edge_high = np.where(sampled, c * pc + (1 - c) * us, p[idx])
    low[idx] = np.clip(np.minimum(edge_low, p[idx]), 0.0, 1.0)
    high[idx] = np.clip(np.maximum(edge_high, p[idx]), 0.0, 1.0)
    return ConfidenceInterval(low, high)
