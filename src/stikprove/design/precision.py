"""Design, precision: interval half-widths and the sample size for a precision target.

The design step sits below estimation in the flow (frame → protocol → design → sampling →
store → estimation), so it does not import :mod:`stikprove.estimation`. The interval
half-widths it needs come from the exact bounds estimation also reports
(:mod:`stikprove.exact_bounds`: Clopper–Pearson, hypergeometric), statsmodels' Wilson interval,
and the stratified variance of :mod:`stikprove.variance`.

>>> sample_size(0.05)
385
>>> sample_size(0.05, population_size=1000)
278

Half-width
    Every method's *half-width* is half the interval's width, ``(high - low) / 2``, at the
    anticipated rate ``p``: for an asymmetric interval this is the usual "margin of error".

    - ``wald``: ``z * sqrt(p q / n * (N - n) / (N - 1))`` (with the finite population
      correction when ``population_size`` N is given; PracTools' ``nPropMoe``).
    - ``wilson`` and ``clopper-pearson``: the interval at ``x = p * n_eff`` successes out of
      ``n_eff`` (a non-integer x is allowed; both intervals are continuous in x), where
      ``n_eff = n (N - 1) / (N - n)`` is the effective sample size of an SRSWOR of n from N
      (as the Korn–Graubard interval uses it); ``n_eff = n`` without N, and a census (n = N)
      has half-width 0.
    - ``hypergeometric``: the exact interval for the population count K given x events in n
      draws from N, divided by N, exactly as :func:`stikprove.proportion_ci` reports it
      (:func:`stikprove.exact_bounds.hypergeometric_interval`); x is an integer, so the
      half-width is the larger of those at ``x = floor(p n)`` and ``x = ceil(p n)``. It needs N.

Domains of several strata
    :func:`korn_graubard_half_width` is the Korn–Graubard half-width at a rate, a standard
    error, df and n (mirroring estimation's formula); :mod:`stikprove.design.allocation` plans a
    domain of several strata with it at the stratified variance of the anticipated rates.

Sample size
    :func:`sample_size` is the smallest n whose half-width is at most the margin. Wald has a
    closed form; the others are found by bisection on n (the Wald, Wilson and
    Clopper–Pearson half-widths decrease in n). The hypergeometric half-width is a step
    function of n (x is whole), so after the bisection every smaller n is checked too: the
    answer is the true smallest n, and so it is monotone in the margin for every method.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

from stikprove.errors import DesignError
from stikprove.exact_bounds import (
    clopper_pearson_interval,
    clopper_pearson_real,
    hypergeometric_interval,
)
from stikprove.methods import MARGIN_LIMIT, PLANNING_METHOD_OF, SAMPLE_SIZE_METHODS

DESIGN_METHOD_OF = PLANNING_METHOD_OF
"""The sample-size method that plans each domain interval method (see :mod:`stikprove.methods`)."""


def normal_quantile(confidence_level: float) -> float:
    """The two-sided standard normal quantile z of ``confidence_level`` (1.96 at 0.95)."""
    return float(stats.norm.ppf(1 - (1 - confidence_level) / 2))


def _t(confidence_level: float, df: Any) -> np.ndarray:
    """Upper (1 − confidence_level)/2 quantile of t with ``df`` degrees of freedom, df floored
    at 1 (as estimation's quantiles: no degrees of freedom is taken as one)."""
    df = np.maximum(np.asarray(df, dtype=float), 1.0)
    return special.stdtrit(df, 1 - (1 - confidence_level) / 2)


def korn_graubard_half_width(
    anticipated: Any, se: Any, df: Any, n: Any, confidence_level: float = 0.95
) -> np.ndarray:
    """Half-width of the Korn–Graubard interval at rate p with standard error se (vectorised).

    ``(high − low) / 2`` of the Clopper–Pearson interval at x = p·n* of n* trials
    (:func:`stikprove.exact_bounds.clopper_pearson_real`), with the effective sample size

        n* = p (1 − p) / se² · (t(n − 1) / t(df))²,

    t the upper quantile at ``confidence_level``, n − 1 and df floored at 1 (Korn & Graubard
    1998). This mirrors estimation's ``_korn_graubard``
    (src/stikprove/estimation/design_intervals.py), which the design step may not import (it
    is a higher step); a test asserts the two agree. The plan calls it with se² the stratified
    variance at the anticipated rates (:mod:`stikprove.variance`), df = n − H and n = Σ n_h
    of the domain's H strata, as estimation does; 0 < p < 1 and se > 0 (the edges are the
    caller's: :func:`stikprove.design.allocation.domain_half_width`).
    """
    p, se, df, n = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (anticipated, se, df, n))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = p * (1 - p) / se**2
        ratio = _t(confidence_level, n - 1) / _t(confidence_level, df)
        low, high = clopper_pearson_real(p, n_eff * ratio**2, 1 - confidence_level)
    return (np.asarray(high) - np.asarray(low)) / 2


def clopper_pearson_half_width(anticipated: Any, trials: Any, confidence_level: float = 0.95):
    """``(high − low) / 2`` of the Clopper–Pearson interval at rate p of a real number of
    trials (:func:`stikprove.exact_bounds.clopper_pearson_real`), vectorised."""
    low, high = clopper_pearson_real(anticipated, trials, 1 - confidence_level)
    return (np.asarray(high) - np.asarray(low)) / 2


def _check_unit_interval(name: str, value: float, *, closed: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DesignError(f"{name} must be a number, got {value!r}") from None
    ok = 0 <= value <= 1 if closed else 0 < value < 1
    if not ok or math.isnan(value):
        form = "[0, 1]" if closed else "(0, 1)"
        raise DesignError(f"{name} must be in {form}, got {value!r}")
    return value


def check_margin(name: str, value: Any) -> float:
    """``value`` as a target half-width in (0, 0.5), or DesignError naming ``name``: 0.5 or
    more is met by [0, 1] and plans nothing."""
    value = _check_unit_interval(name, value)
    if value >= MARGIN_LIMIT:
        raise DesignError(
            f"{name} must be below 0.5, got {value!r}: a half-width of 0.5 or more is met by "
            "the interval [0, 1] whatever the sample (a margin of 5 percentage points is 0.05)"
        )
    return value


def check_method(method: str) -> None:
    """Refuse a planning method not in :data:`SAMPLE_SIZE_METHODS` (DesignError naming them)."""
    if method not in SAMPLE_SIZE_METHODS:
        raise DesignError(
            f"method {method!r} must be one of {', '.join(repr(m) for m in SAMPLE_SIZE_METHODS)}"
        )


def expected_half_width(
    n: Any,
    anticipated: Any = 0.5,
    confidence_level: float = 0.95,
    population_size: Any = None,
    method: str = "wald",
) -> np.ndarray | float:
    """Half-width of the ``method`` interval for n cases at the anticipated rate (see module).

    Vectorised over ``n``, ``anticipated`` and ``population_size`` (broadcast). n = 0 gives
    NaN; a census (n >= N) gives 0.
    """
    check_method(method)
    scalar = np.ndim(n) == 0 and np.ndim(anticipated) == 0 and np.ndim(population_size) == 0
    n_arr = np.asarray(n, dtype=float)
    p = np.asarray(anticipated, dtype=float)
    N = np.asarray(np.inf if population_size is None else population_size, dtype=float)
    n_arr, p, N = np.broadcast_arrays(n_arr, p, N)
    out = np.full(n_arr.shape, np.nan)
    census = np.isfinite(N) & (n_arr >= N) & (n_arr > 0)
    live = (n_arr > 0) & ~census
    out[census] = 0.0
    if live.any():
        nn, pp, NN = n_arr[live], p[live], N[live]
        if method == "wald":
            fpc = np.where(np.isfinite(NN), (NN - nn) / np.maximum(NN - 1, 1), 1.0)
            out[live] = normal_quantile(confidence_level) * np.sqrt(pp * (1 - pp) / nn * fpc)
        elif method in ("wilson", "clopper-pearson"):
            finite = np.isfinite(NN)
            n_eff = nn.copy()
            n_eff[finite] = nn[finite] * (NN[finite] - 1) / (NN[finite] - nn[finite])
            if method == "wilson":
                low, high = proportion_confint(pp * n_eff, n_eff, 1 - confidence_level, "wilson")
            else:
                low, high = clopper_pearson_interval(pp * n_eff, n_eff, 1 - confidence_level)
            out[live] = (np.asarray(high) - np.asarray(low)) / 2
        else:
            if not np.isfinite(NN).all():
                raise DesignError(
                    "method 'hypergeometric' needs population_size (the stratum's N_h), got None"
                )
            # The interval estimation reports for x of n (exact_bounds), at the whole counts
            # either side of the anticipated p n: the plan's half-width is the larger.
            widths = np.zeros(len(nn))
            for x in (np.floor(pp * nn + 1e-9), np.ceil(pp * nn - 1e-9)):
                low, high = hypergeometric_interval(x, nn, NN, 1 - confidence_level)
                widths = np.maximum(widths, (high - low) / 2)
            out[live] = widths
    return float(out) if scalar else out


def smallest_sizes(
    margin: float, anticipated: Any, population_size: Any, confidence_level: float, method: str
) -> np.ndarray:
    """The smallest n with half-width <= margin, elementwise (N may be inf for none).

    Wald: the closed form rounded up. Others: bisection on n over all elements at once,
    keeping hw(hi) <= margin < hw(lo) (n = 0 never meets; a census always does; without N
    the upper end doubles until it meets).
    """
    p, N = np.broadcast_arrays(
        np.asarray(anticipated, dtype=float), np.asarray(population_size, dtype=float)
    )
    z = normal_quantile(confidence_level)
    pq = p * (1 - p)
    if method == "wald":
        with np.errstate(divide="ignore", invalid="ignore"):
            n0 = np.where(
                np.isfinite(N),
                N * z * z * pq / ((N - 1) * margin**2 + z * z * pq),
                z * z * pq / margin**2,
            )
        return np.ceil(np.where(pq > 0, n0, 0.0) - 1e-9)
    hi = np.where(np.isfinite(N), N, np.maximum(2.0, np.ceil(z * z * pq / margin**2) * 2))
    while True:
        short = ~np.isfinite(N) & (expected_half_width(hi, p, confidence_level, N, method) > margin)
        if not short.any():
            break
        hi = np.where(short, hi * 2, hi)
    lo = np.zeros_like(hi)
    while (hi - lo > 1).any():
        active = hi - lo > 1
        mid = np.floor((lo + hi) / 2)
        meets = expected_half_width(mid, p, confidence_level, N, method) <= margin
        hi = np.where(active & meets, mid, hi)
        lo = np.where(active & ~meets, mid, lo)
    if method == "hypergeometric":
        # The half-width is a step function of n here (x is whole), so bisection may stop
        # above the smallest n that meets the margin: look at every n up to its answer.
        counts = hi.astype(np.int64).ravel()
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        owner = np.repeat(np.arange(len(counts)), counts)
        ns = np.arange(counts.sum()) - starts[owner] + 1
        widths = expected_half_width(
            ns, p.ravel()[owner], confidence_level, N.ravel()[owner], method
        )
        candidates = np.where(widths <= margin, ns, np.iinfo(np.int64).max)
        hi = np.minimum.reduceat(candidates, starts).astype(float).reshape(hi.shape)
    return hi


def sample_size(
    margin: float,
    anticipated: float = 0.5,
    confidence_level: float = 0.95,
    population_size: int | None = None,
    method: str = "wald",
    design_effect: float = 1.0,
    response_rate: float = 1.0,
) -> int:
    """The smallest n whose interval half-width at ``anticipated`` is at most ``margin``.

    For ``wald`` with N: ``n = N z² p q / ((N − 1) e² + z² p q)`` rounded up (PracTools'
    ``nPropMoe``; 278 for e = 0.05, p = 0.5, N = 1000, and 385 without N). For ``wilson``,
    ``clopper-pearson`` and ``hypergeometric`` see the module docstring. The size is then
    multiplied by ``design_effect / response_rate``, rounded up, and never exceeds N; it is
    at least 1. ``margin`` must be below 0.5 (the interval [0, 1] has half-width 0.5), and
    ``wald`` refuses ``anticipated`` 0 or 1 (its half-width there is 0 for any n).
    """
    margin = check_margin("margin", margin)
    p = _check_unit_interval("anticipated", anticipated, closed=True)
    confidence_level = _check_unit_interval("confidence_level", confidence_level)
    check_method(method)
    if method == "wald" and p in (0.0, 1.0):
        raise DesignError(
            f"anticipated {p:g} with method 'wald': the Wald half-width at a rate of 0 or 1 is "
            "0 for any n, so it plans nothing: expected a rate in (0, 1), or method 'wilson', "
            "'clopper-pearson' or 'hypergeometric', whose intervals at 0 or 1 have a width"
        )
    N = None
    if population_size is not None:
        if int(population_size) != population_size or population_size < 1:
            raise DesignError(
                f"population_size must be a whole number >= 1 or None, got {population_size!r}"
            )
        N = int(population_size)
    try:
        design_effect, response_rate = float(design_effect), float(response_rate)
    except (TypeError, ValueError):
        raise DesignError(
            f"design_effect and response_rate must be numbers, got {design_effect!r} and "
            f"{response_rate!r}"
        ) from None
    if not design_effect > 0 or not math.isfinite(design_effect):
        raise DesignError(f"design_effect must be a number > 0, got {design_effect!r}")
    if not 0 < response_rate <= 1:
        raise DesignError(f"response_rate must be in (0, 1], got {response_rate!r}")
    if method == "hypergeometric" and N is None:
        raise DesignError(
            "method 'hypergeometric' needs population_size (the stratum's N_h), got None"
        )
    n0 = int(smallest_sizes(margin, p, np.inf if N is None else N, confidence_level, method))
    n = math.ceil(max(n0, 1) * design_effect / response_rate - 1e-9)
    if N is not None:
        n = min(n, N)
    return max(n, 1)


# ---- will the planned precision be publishable? (the NCHS presentation standard) ----------


def expected_presentation(
    population_sizes: Any,
    sample_sizes: Any,
    anticipated: Any = 0.5,
    groups: Any = None,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """Whether each domain's estimate, as planned, will pass the NCHS presentation standard
    (:mod:`stikprove.nchs`), i.e. whether the reports will be allowed to publish it.

    ``population_sizes``, ``sample_sizes`` and ``anticipated`` give each stratum's N_h, n_h
    and anticipated rate; ``groups`` each stratum's domain (None: all strata form one). The
    standard is judged as the release judges an estimate, at the anticipated rates:

    - the domain's rate p = Σ W_h p_h and the stratified variance se² =
      Σ W_h² (1 − f_h) S_h² / n_h with S_h² = N_h / (N_h − 1) p_h q_h (:mod:`stikprove.variance`);
    - the effective sample size n_eff = p q / se² · (t(n − 1)/t(df))², df = n − H for H
      strata, capped at n = Σ n_h (the design effect floored at 1, as CDC's surveytable
      applies the standard, and as the release judges an estimate:
      :func:`stikprove.release.disclosure.nchs_presentation`); n_eff = n when se is 0 or p
      is 0 or 1; 0 when a stratum of the domain has no sampled case or df ≤ 0;
    - the width of the Korn–Graubard interval on it (Clopper–Pearson at n_eff trials); 0 for
      a census of every stratum (no sampling error).

    For a domain of one sampled stratum this is the Clopper–Pearson interval of n_h trials
    (the finite population correction does not narrow it: the floor caps n_eff at n_h).

    Returns one row per domain (sorted by domain) with ``domain``, ``strata`` (H),
    ``population_size``, ``sample_size``, ``anticipated`` (p), ``nchs_n_eff``,
    ``nchs_width``, ``nchs_relative_width``, ``publishable`` (bool) and ``nchs`` (the first
    failing step: ``nchs_n_eff``, ``nchs_width`` or ``nchs_relative_width``; "" when
    publishable).

    >>> plan = expected_presentation([585, 37], [30, 37], 0.2, groups=["big", "small"])
    >>> plan[["domain", "nchs_width", "publishable", "nchs"]].round(3).to_dict("records")
    [{'domain': 'big', 'nchs_width': 0.309, 'publishable': False, 'nchs': 'nchs_width'}, {'domain': 'small', 'nchs_width': 0.0, 'publishable': True, 'nchs': ''}]
    """  # noqa: E501
    confidence_level = _check_unit_interval("confidence_level", confidence_level)
    N = np.atleast_1d(np.asarray(population_sizes, dtype=float))
    n = np.broadcast_to(np.asarray(sample_sizes, dtype=float), N.shape)
    p = np.broadcast_to(np.asarray(anticipated, dtype=float), N.shape)
    labels = pd.Series(["all"] * len(N) if groups is None else list(groups), dtype=object)
    if len(labels) != len(N):
        raise DesignError(f"groups must give one domain per stratum ({len(N)}), got {len(labels)}")
    codes, names = pd.factorize(labels.astype(str), sort=True)
    out = _presentation(N, n, p, codes.astype(np.int64), len(names), confidence_level)
    out.insert(0, "domain", [str(x) for x in names])
    return out


def _presentation(
    N: np.ndarray, n: np.ndarray, p: np.ndarray, codes: np.ndarray, size: int, level: float
) -> pd.DataFrame:
    """:func:`expected_presentation` of the domains ``codes`` (0 .. size − 1), unlabelled."""
    from stikprove import nchs
    from stikprove.variance import NEGLIGIBLE_VARIANCE, binary_element_variance
    from stikprove.variance import stratum_mean_variance as mean_variance

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, np.asarray(values, dtype=float), minlength=size)

    N_d, n_d, H = total(N), total(n), np.bincount(codes, minlength=size).astype(float)
    rate = total(N * p) / N_d
    with np.errstate(invalid="ignore", divide="ignore"):
        var = total(N * N * mean_variance(N, n, binary_element_variance(p, N))) / N_d**2
        edge = (rate <= 0) | (rate >= 1)
        quiet = var <= NEGLIGIBLE_VARIANCE
        ratio = _t(level, n_d - 1) / _t(level, n_d - H)
        n_eff = np.minimum(rate * (1 - rate) / var * ratio**2, n_d)
        n_eff = np.where(edge | quiet, n_d, n_eff)
        n_eff = np.where(np.isfinite(var) & (n_d - H > 0), n_eff, 0.0)  # unsampled, or no df
        low, high = clopper_pearson_real(rate, np.maximum(n_eff, 1e-9), 1 - level)
    width = np.where(edge, 0.0, np.asarray(high) - np.asarray(low))
    census = total(n < N) == 0
    width = np.where(census, 0.0, width)
    verdict = nchs.presentation(rate, n_eff, width)
    return pd.DataFrame(
        {
            "strata": H.astype(np.int64),
            "population_size": N_d.astype(np.int64),
            "sample_size": n_d.astype(np.int64),
            "anticipated": rate,
            "nchs_n_eff": n_eff,
            "nchs_width": width,
            "nchs_relative_width": verdict["relative_width"].to_numpy(),
            "publishable": verdict["present"].to_numpy(dtype=bool),
            "nchs": verdict["nchs"].to_numpy(dtype=object),
        }
    )


def publishable_sample_size(
    population_size: Any, anticipated: Any = 0.5, confidence_level: float = 0.95
) -> np.ndarray:
    """The smallest sample of one stratum whose estimate the NCHS standard lets the reports
    publish (:func:`expected_presentation` of the stratum alone), elementwise; NaN where no
    sample can (a stratum of fewer than 30 cases: even a census has an effective sample
    size under 30).

    The Clopper–Pearson width at n trials falls as n grows and a census has width 0, so the
    answer is the smallest n from 30 whose width passes, or N itself.

    >>> publishable_sample_size([585, 37, 20], 0.2).tolist()
    [42.0, 37.0, nan]
    """
    confidence_level = _check_unit_interval("confidence_level", confidence_level)
    N, p = np.broadcast_arrays(
        np.atleast_1d(np.asarray(population_size, dtype=float)),
        np.atleast_1d(np.asarray(anticipated, dtype=float)),
    )
    sizes, rates = N.ravel(), p.ravel()
    everyone = np.arange(len(sizes))

    def publishable(m: np.ndarray) -> np.ndarray:
        plan = _presentation(sizes, m, rates, everyone, len(sizes), confidence_level)
        return plan["publishable"].to_numpy()

    # below N the verdict only improves with n (n_eff = n grows, the width shrinks): bisect
    # with lo never publishable and hi publishable (the census N, when N >= 30)
    lo, hi = np.full(len(sizes), 29.0), np.floor(sizes)
    while (live := hi - lo > 1).any():
        mid = np.where(live, np.floor((lo + hi) / 2), hi)
        ok = publishable(mid)
        hi = np.where(live & ok, mid, hi)
        lo = np.where(live & ~ok, mid, lo)
    return np.where(sizes >= 30, hi, np.nan).reshape(N.shape)
