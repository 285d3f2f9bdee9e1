"""Design: sample sizes for a precision target and their allocation to strata.

The design step sits below estimation in the flow (frame → protocol → design → sampling →
store → estimation), so it does not import :mod:`stikprove.estimation`. The interval
half-widths it needs come from the exact bounds estimation also reports
(:mod:`stikprove.exact_bounds`: Clopper–Pearson, hypergeometric), statsmodels' Wilson interval,
and the stratified variance of :mod:`stikprove.variance`.

>>> sample_size(0.05)
385
>>> sample_size(0.05, population_size=1000)
278
>>> allocate([100, 300, 600], total=100).sample_sizes.tolist()
[10, 30, 60]

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

Sample size
    :func:`sample_size` is the smallest n whose half-width is at most the margin. Wald has a
    closed form; the others are found by bisection on n (the Wald, Wilson and
    Clopper–Pearson half-widths decrease in n). The hypergeometric half-width is a step
    function of n (x is whole), so after the bisection every smaller n is checked too: the
    answer is the true smallest n, and so it is monotone in the margin for every method.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from stikprove.errors import DesignError, ProtocolError
from stikprove.exact_bounds import clopper_pearson_interval, hypergeometric_interval
from stikprove.methods import (
    ALLOCATION_METHODS,
    MARGIN_LIMIT,
    PLANNING_METHOD_OF,
    SAMPLE_SIZE_METHODS,
)
from stikprove.protocol import (
    DOMAIN_STRATUM,
    Protocol,
    anticipated_rates,
    joined_values,
    study_population,
)
from stikprove.variance import binary_element_variance, stratum_mean_variance

DESIGN_METHOD_OF = PLANNING_METHOD_OF
"""The sample-size method that plans each domain interval method (see :mod:`stikprove.methods`)."""


def _z(confidence_level: float) -> float:
    return float(stats.norm.ppf(1 - (1 - confidence_level) / 2))


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


def _check_margin(name: str, value: Any) -> float:
    """A target half-width in (0, 0.5); 0.5 or more is met by [0, 1] and plans nothing."""
    value = _check_unit_interval(name, value)
    if value >= MARGIN_LIMIT:
        raise DesignError(
            f"{name} must be below 0.5, got {value!r}: a half-width of 0.5 or more is met by "
            "the interval [0, 1] whatever the sample (a margin of 5 percentage points is 0.05)"
        )
    return value


def _check_method(method: str) -> None:
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
    _check_method(method)
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
            out[live] = _z(confidence_level) * np.sqrt(pp * (1 - pp) / nn * fpc)
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


def _smallest_sizes(
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
    z = _z(confidence_level)
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
    margin = _check_margin("margin", margin)
    p = _check_unit_interval("anticipated", anticipated, closed=True)
    confidence_level = _check_unit_interval("confidence_level", confidence_level)
    _check_method(method)
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
    n0 = int(_smallest_sizes(margin, p, np.inf if N is None else N, confidence_level, method))
    n = math.ceil(max(n0, 1) * design_effect / response_rate - 1e-9)
    if N is not None:
        n = min(n, N)
    return max(n, 1)


# ---------------------------------------------------------------------------------------------
# Allocation


@dataclass(frozen=True)
class Allocation:
    """An allocation of a sample to strata.

    ``sample_sizes`` is aligned to the input (a Series with the input's index when a Series
    was given, else a numpy int array). ``table`` has one row per stratum with columns
    ``stratum`` (str), ``population_size``, ``sample_size``, ``sampling_fraction``,
    ``anticipated``, ``expected_half_width`` (at the anticipated rate, 0.5 when none was
    given) and
    ``target_met`` (bool; NA when no margin was given). ``notes`` says what was changed:
    census, redistribution, missed targets.
    """

    sample_sizes: pd.Series | np.ndarray
    table: pd.DataFrame
    method: str
    total: int
    notes: tuple[str, ...] = field(default=())
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    """One row per domain of each target (the per-stratum margin included): domain_type,
    domain, strata, population_size, sample_size, margin, expected_half_width, target_met."""

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return self.table._repr_html_()


def _bounded_continuous(weights: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: float):
    """x_h = clip(c w_h, l_h, u_h) with sum x_h = total (exact water-filling over c)."""
    w = weights.astype(float)
    if total <= lower.sum():
        return lower.astype(float)
    if total >= upper.sum():
        return upper.astype(float)
    # breakpoints of the piecewise-linear g(c) = sum clip(c w, l, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        points = np.concatenate([lower / w, upper / w])
    points = np.unique(points[np.isfinite(points) & (points >= 0)])

    def g(c: float) -> float:
        return float(np.clip(c * w, lower, upper).sum())

    # smallest breakpoint where g reaches the total (g is non-decreasing in c)
    lo_i, hi_i = -1, len(points) - 1
    while hi_i - lo_i > 1:
        mid_i = (lo_i + hi_i) // 2
        if g(points[mid_i]) >= total:
            hi_i = mid_i
        else:
            lo_i = mid_i
    i = hi_i
    c_hi = points[min(i, len(points) - 1)]
    c_lo = points[i - 1] if i > 0 else 0.0
    # between the two breakpoints g is linear: fixed strata plus c * (weights of free strata)
    mid = (c_lo + c_hi) / 2
    free = (mid * w > lower) & (mid * w < upper)
    fixed = np.clip(mid * w, lower, upper)
    fixed_sum = float(fixed[~free].sum())
    wsum = float(w[free].sum())
    c = (total - fixed_sum) / wsum if wsum > 0 else c_hi
    return np.where(free, c * w, fixed)


def _round_bounded(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, total: int) -> np.ndarray:
    """Largest-remainder rounding of x to integers in [lower, upper] summing to total.

    Ties are broken by position (the first stratum in input order wins).
    """
    n = np.clip(np.floor(x + 1e-9).astype(np.int64), lower, upper)
    # remainders rounded to 1e-9 so that shares equal in exact arithmetic tie (and the tie
    # goes to the earlier stratum) whatever the floating-point noise
    remainder = np.round(x - n, 9)
    deficit = int(total - n.sum())
    order = np.arange(len(x))
    if deficit > 0:
        can = np.flatnonzero(n < upper)
        ranked = can[np.lexsort((order[can], -remainder[can]))]
        while deficit > 0:
            take = ranked[n[ranked] < upper[ranked]][:deficit]
            if len(take) == 0:  # pragma: no cover - guarded by total <= sum(upper)
                break
            n[take] += 1
            deficit -= len(take)
    elif deficit < 0:
        can = np.flatnonzero(n > lower)
        ranked = can[np.lexsort((order[can], remainder[can]))]
        while deficit < 0:
            take = ranked[n[ranked] > lower[ranked]][:-deficit]
            if len(take) == 0:  # pragma: no cover - guarded by total >= sum(lower)
                break
            n[take] -= 1
            deficit += len(take)
    return n


@dataclass(frozen=True)
class DomainTarget:
    """A precision target for a kind of domain (see :func:`allocate`).

    ``domain`` names the kind (e.g. "kommune_code", "kommune_code × sex", "all");
    ``groups`` gives, for each stratum (in the order of the population sizes), the domain
    it belongs to (e.g. its kommune code); ``margin`` is the largest acceptable expected
    half-width of every such domain's interval at the anticipated rates.
    """

    domain: str
    groups: Sequence[Any] | np.ndarray | pd.Series
    margin: float


def _unit_variances(sizes: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """N_h² (1 − f_h) S_h² / n_h per stratum at the anticipated rates (S_h² the population's,
    N_h/(N_h − 1) p_h q_h): the stratum's term of the variance of a domain total, from the one
    stratified variance (:mod:`stikprove.variance`); 0 for a census, inf with no case."""
    N = np.asarray(sizes, dtype=float)
    return N * N * stratum_mean_variance(N, n, binary_element_variance(p, N))


def domain_half_width(
    population_sizes: Any,
    sample_sizes: Any,
    anticipated: Any = 0.5,
    confidence_level: float = 0.95,
    method: str = "wald",
) -> float:
    """Expected half-width of the interval of a domain made of whole strata.

    One stratum: :func:`expected_half_width` with ``method`` (so a one-stratum domain
    target is the same as :func:`sample_size`). Several strata: the normal (Wald)
    approximation to the stratified estimator with the finite population correction,
    ``z sqrt(Σ W_h² (1 − f_h) S_h² / n_h)`` with ``W_h = N_h / N_d`` and
    ``S_h² = N_h / (N_h − 1) p_h q_h`` at the anticipated rates; NaN when a stratum of the
    domain has no sampled case (and is not empty).
    """
    N = np.atleast_1d(np.asarray(population_sizes, dtype=float))
    n = np.atleast_1d(np.asarray(sample_sizes, dtype=float))
    p = np.broadcast_to(np.asarray(anticipated, dtype=float), N.shape)
    if len(N) == 1:
        return float(expected_half_width(n[0], p[0], confidence_level, N[0], method))
    var = float(_unit_variances(N, n, p).sum()) / N.sum() ** 2
    return _z(confidence_level) * math.sqrt(var) if math.isfinite(var) else math.nan


def _group_codes(target: DomainTarget, size: int) -> tuple[np.ndarray, list[str]]:
    groups = pd.Series(np.asarray(target.groups, dtype=object)).astype(str)
    if len(groups) != size:
        raise DesignError(
            f"target {target.domain!r}: groups must give one domain per stratum ({size}), "
            f"got {len(groups)}"
        )
    codes, names = pd.factorize(groups, sort=True)
    return codes.astype(np.int64), [str(x) for x in names]


def _target_half_widths(
    codes: np.ndarray,
    groups: int,
    sizes: np.ndarray,
    n: np.ndarray,
    p: np.ndarray,
    confidence_level: float,
    method: str,
) -> np.ndarray:
    """domain_half_width of every domain of one target at once."""
    count = np.bincount(codes, minlength=groups)
    with np.errstate(invalid="ignore"):
        var = np.bincount(codes, _unit_variances(sizes, n, p), minlength=groups) / (
            np.bincount(codes, sizes.astype(float), minlength=groups) ** 2
        )
    out = np.where(np.isfinite(var), _z(confidence_level) * np.sqrt(var), np.nan)
    single = np.flatnonzero(count == 1)
    if len(single):
        h = np.full(groups, -1, dtype=np.int64)
        h[codes] = np.arange(len(codes))  # the stratum of a one-stratum domain
        hs = h[single]
        out[single] = expected_half_width(n[hs], p[hs], confidence_level, sizes[hs], method)
    return out


def _meet_target(
    n: np.ndarray,
    codes: np.ndarray,
    groups: int,
    margin: float,
    sizes: np.ndarray,
    p: np.ndarray,
    confidence_level: float,
    method: str,
) -> np.ndarray:
    """Raise n (never lower it) until every domain of a target meets its margin.

    A one-stratum domain gets the :func:`sample_size` of the stratum. A domain of several
    strata gets the smallest domain total m (bisection over m) whose Neyman allocation
    within the domain (n_h ∝ N_h S_h, each n_h between its current size and N_h; largest
    remainder rounding) has a Wald half-width of at most the margin.
    """
    n = n.copy()
    count = np.bincount(codes, minlength=groups)
    singles = np.flatnonzero(count[codes] == 1)
    if len(singles):
        req = _smallest_sizes(margin, p[singles], sizes[singles], confidence_level, method)
        req = np.minimum(np.maximum(req, 1), sizes[singles]).astype(np.int64)
        n[singles] = np.maximum(n[singles], req)
    z = _z(confidence_level)
    s = np.sqrt(np.where(sizes > 1, sizes / np.maximum(sizes - 1, 1), 0.0) * p * (1 - p))
    weights = sizes * s + 1e-12 * sizes / sizes.sum()
    hw = _target_half_widths(codes, groups, sizes, n, p, confidence_level, method)
    for g in np.flatnonzero((count > 1) & ~(hw <= margin + 1e-12)):
        idx = np.flatnonzero(codes == g)
        N_d, low = sizes[idx], n[idx]
        total_N = float(N_d.sum())

        def within(m: int, idx=idx, N_d=N_d, low=low) -> np.ndarray:
            x = _bounded_continuous(weights[idx], low.astype(float), N_d.astype(float), m)
            return _round_bounded(x, low, N_d, m)

        def meets(alloc: np.ndarray, idx=idx, N_d=N_d, total_N=total_N) -> bool:
            var = float(_unit_variances(N_d, alloc, p[idx]).sum()) / total_N**2
            return math.isfinite(var) and z * math.sqrt(var) <= margin + 1e-12

        lo, hi = int(low.sum()), int(N_d.sum())  # lo does not meet; a census (hi) does
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if meets(within(mid)):
                hi = mid
            else:
                lo = mid
        n[idx] = within(hi)
    return n


def _as_array(name: str, value: Any, size: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(size, float(arr))
    if arr.shape != (size,):
        raise DesignError(f"{name} must be a number or one per stratum ({size}), got {arr.shape}")
    return arr


def allocate(
    population_sizes: Sequence[int] | pd.Series | np.ndarray,
    total: int | None = None,
    method: str = "proportional",
    anticipated: Any = None,
    minimum: int = 0,
    margin: float | None = None,
    confidence_level: float = 0.95,
    interval_method: str = "wald",
    targets: Sequence[DomainTarget] = (),
) -> Allocation:
    """Allocate ``total`` reviews to strata of the given sizes.

    Methods: ``proportional`` (n_h ∝ N_h), ``equal``, ``neyman`` (n_h ∝ N_h S_h with
    S_h = sqrt(N_h / (N_h − 1) p_h q_h); needs ``anticipated``), and ``precision`` (the
    smallest n_h whose ``interval_method`` half-width at ``anticipated`` is at most
    ``margin`` in every stratum, and which meets every domain target in ``targets``;
    ``total`` is then a cap: if the sizes add to more, they are scaled down proportionally
    to the required sizes and ``table.target_met`` / ``targets`` show what is missed).

    ``targets`` are :class:`DomainTarget` s: domains made of whole strata, each with a
    margin. For a domain of one stratum the half-width is the ``interval_method``'s (as
    :func:`sample_size`); for a domain of several strata it is the Wald (normal)
    approximation to the stratified estimator with the finite population correction
    (:func:`domain_half_width`). The precision allocation starts from the per-stratum sizes
    (at least 1 and ``minimum``) and, target by target (the finest first), raises the
    strata of every domain that misses its margin: a one-stratum domain to its
    :func:`sample_size`, a larger one to the smallest domain total whose Neyman allocation
    within the domain (on top of the sizes already required) meets the margin. Sizes only
    grow, so every target met stays met. Every method reports each domain's expected
    half-width in ``Allocation.targets``.

    The sizes are integers that add to exactly ``total`` (largest remainder, ties to the
    earlier stratum), each between min(minimum, N_h) and N_h; what a capped (census)
    stratum cannot take is redistributed to the others. A total at or above ΣN_h gives a
    census everywhere (stated in ``notes``); a total below Σ min(minimum, N_h) raises
    DesignError.
    """
    if method not in ALLOCATION_METHODS:
        raise DesignError(
            f"allocation method {method!r} must be one of "
            f"{', '.join(repr(m) for m in ALLOCATION_METHODS)}"
        )
    index = population_sizes.index if isinstance(population_sizes, pd.Series) else None
    sizes = np.asarray(population_sizes)
    if sizes.ndim != 1 or len(sizes) == 0:
        raise DesignError(f"population_sizes must be a non-empty list, got {population_sizes!r}")
    try:
        sizes = sizes.astype(float)
    except (TypeError, ValueError):
        raise DesignError(f"population_sizes must be numbers, got {population_sizes!r}") from None
    bad = np.flatnonzero(~(np.mod(sizes, 1) == 0) | ~(sizes >= 1))
    if len(bad):
        labels = list(index) if index is not None else list(range(len(sizes)))
        shown = ", ".join(f"{labels[i]!r}: {sizes[i]:g}" for i in bad[:5])
        raise DesignError(
            f"population_sizes must be whole numbers >= 1: {len(bad)} stratum(s) are not "
            f"({shown}{', ...' if len(bad) > 5 else ''}); drop empty strata before allocating"
        )
    sizes = sizes.astype(np.int64)
    H = len(sizes)
    if int(minimum) != minimum or minimum < 0:
        raise DesignError(f"minimum must be a whole number >= 0, got {minimum!r}")
    minimum = int(minimum)
    if total is not None and (int(total) != total or total < 0):
        raise DesignError(f"total must be a whole number >= 0 or None, got {total!r}")
    if method == "neyman" and anticipated is None:
        raise DesignError("allocation 'neyman' needs anticipated rates (one or one per stratum)")
    if method == "precision" and margin is None and not targets:
        raise DesignError(
            "allocation 'precision' needs margin (the target half-width) or domain targets"
        )
    if method != "precision" and total is None:
        raise DesignError(f"allocation {method!r} needs total (the number of reviews)")
    p = _as_array("anticipated", 0.5 if anticipated is None else anticipated, H)
    if ((p < 0) | (p > 1) | np.isnan(p)).any():
        raise DesignError(f"anticipated rates must be in [0, 1], got {p.tolist()}")
    _check_method(interval_method)

    lower = np.minimum(minimum, sizes)
    upper = sizes
    notes: list[str] = []
    required = None
    if margin is not None:
        margin = _check_margin("margin", margin)
    coded = []
    for target in targets:
        codes, names = _group_codes(target, H)
        coded.append(
            (target, codes, names, _check_margin(f"target {target.domain!r} margin", target.margin))
        )
    if method == "precision":
        # as sample_size() for each stratum, all strata at once
        if margin is not None:
            required = _smallest_sizes(margin, p, sizes, confidence_level, interval_method)
        else:
            required = np.ones(H)
        required = np.minimum(np.maximum(required, 1), sizes).astype(np.int64)
        required = np.clip(required, lower, upper)
        # the domain targets, finest first (stable: in the order given otherwise)
        for _target, codes, names, target_margin in sorted(coded, key=lambda t: -len(t[2])):
            required = _meet_target(
                required,
                codes,
                len(names),
                target_margin,
                sizes,
                p,
                confidence_level,
                interval_method,
            )
        if total is None or required.sum() <= total:
            n = required
            total_used = int(n.sum())
            if total is not None and total_used < total:
                notes.append(
                    f"the precision target needs {total_used} reviews, within the budget of "
                    f"{int(total)}"
                )
        else:
            total_used = int(total)
            notes.append(
                f"the precision target needs {int(required.sum())} reviews, over the budget "
                f"of {total_used}: sizes scaled down in proportion to the required sizes"
            )
            n = None
        weights = required.astype(float)
    else:
        total_used = int(total)
        n = None
        if method == "proportional":
            weights = sizes.astype(float)
        elif method == "equal":
            weights = np.ones(H)
        else:
            s = np.sqrt(np.where(sizes > 1, sizes / np.maximum(sizes - 1, 1), 1.0) * p * (1 - p))
            weights = sizes * s
            if not (weights > 0).any():
                notes.append("all anticipated rates are 0 or 1: neyman falls back to proportional")
                weights = sizes.astype(float)

    if n is None:
        if total_used >= sizes.sum():
            if total_used > sizes.sum():
                notes.append(
                    f"total {total_used} is larger than the population ({int(sizes.sum())}): "
                    "census in every stratum"
                )
            n = sizes.copy()
        else:
            if total_used < lower.sum():
                raise DesignError(
                    f"budget of {total_used} reviews is smaller than the minimum per stratum: "
                    f"{H} strata × minimum {minimum} (or N_h when smaller) = {int(lower.sum())}"
                )
            # a tiny weight for zero-weight strata keeps the problem solvable
            w = weights + 1e-12 * sizes / sizes.sum()
            x = _bounded_continuous(w, lower.astype(float), upper.astype(float), total_used)
            n = _round_bounded(x, lower, upper, total_used)
            capped = int(((n == sizes) & (weights * total_used / weights.sum() > sizes)).sum())
            if capped:
                notes.append(
                    f"{capped} strata capped at a census (n_h = N_h); the excess went to the others"
                )
    half = expected_half_width(n, p, confidence_level, sizes, interval_method)
    labels = [str(i) for i in index] if index is not None else [str(i) for i in range(H)]
    table = pd.DataFrame(
        {
            "stratum": pd.Series(labels, dtype=object),
            "population_size": sizes,
            "sample_size": n.astype(np.int64),
            "sampling_fraction": n / sizes,
            "anticipated": p,
            "expected_half_width": half,
        }
    )
    if margin is None:
        table["target_met"] = pd.array([pd.NA] * H, dtype="boolean")
    else:
        met = np.where(np.isnan(half), False, half <= margin + 1e-12)
        table["target_met"] = pd.array(met, dtype="boolean")
        missed = int((~met).sum())
        if missed:
            notes.append(f"{missed} of {H} strata miss the margin {margin:g}")
    target_rows = []
    if margin is not None:
        for h in range(H):
            target_rows.append(
                {
                    "domain_type": "stratum",
                    "domain": labels[h],
                    "strata": 1,
                    "population_size": int(sizes[h]),
                    "sample_size": int(n[h]),
                    "margin": float(margin),
                    "expected_half_width": float(half[h]),
                }
            )
    for target, codes, names, target_margin in coded:
        widths = _target_half_widths(
            codes, len(names), sizes, n, p, confidence_level, interval_method
        )
        count = np.bincount(codes, minlength=len(names))
        pop = np.bincount(codes, sizes, minlength=len(names))
        got = np.bincount(codes, n, minlength=len(names))
        missed_names = []
        for g, name in enumerate(names):
            target_rows.append(
                {
                    "domain_type": target.domain,
                    "domain": name,
                    "strata": int(count[g]),
                    "population_size": int(pop[g]),
                    "sample_size": int(got[g]),
                    "margin": target_margin,
                    "expected_half_width": float(widths[g]),
                }
            )
            if not widths[g] <= target_margin + 1e-12:
                missed_names.append(f"{name} ({widths[g]:.3f})")
        if missed_names:
            shown = ", ".join(missed_names[:5]) + (", ..." if len(missed_names) > 5 else "")
            notes.append(
                f"{len(missed_names)} of {len(names)} {target.domain} domains miss the "
                f"half-width {target_margin:g}: {shown}"
            )
    targets_table = pd.DataFrame(
        target_rows,
        columns=[
            "domain_type",
            "domain",
            "strata",
            "population_size",
            "sample_size",
            "margin",
            "expected_half_width",
        ],
    )
    hw = targets_table["expected_half_width"].to_numpy(dtype=float)
    targets_table["target_met"] = pd.array(
        ~np.isnan(hw) & (hw <= targets_table["margin"].to_numpy(dtype=float) + 1e-12),
        dtype="boolean",
    )
    sample_sizes: pd.Series | np.ndarray
    if index is not None:
        sample_sizes = pd.Series(n.astype(np.int64), index=index, name="sample_size")
    else:
        sample_sizes = n.astype(np.int64)
    return Allocation(sample_sizes, table, method, int(n.sum()), tuple(notes), targets_table)


# ---------------------------------------------------------------------------------------------
# The design table of a protocol


@dataclass(frozen=True)
class DesignTable:
    """The design of a study on a frame: what :func:`design_table` returns.

    ``strata``: one row per stratum (sorted by key) with columns ``stratum``, the strata
    columns, ``population_size``, ``sample_size``, ``sampling_fraction``,
    ``expected_half_width`` (the protocol's interval method at the anticipated rate, with the
    finite population correction) and ``target_met``.

    ``domains``: one row per kommune (when kommune is a strata column or there is only one
    kommune) and one for the whole study population (``domain_type`` "kommune" / "all"), with
    ``domain_type``, ``domain``, ``strata``, ``population_size``, ``sample_size``,
    ``expected_se`` (normal approximation to the stratified estimator's standard error at
    the anticipated rates: Σ W_h² (1 − f_h) S_h² / n_h with S_h² = N_h / (N_h − 1) p_h q_h;
    NaN when a stratum of the domain has no sampled case), ``expected_half_width``
    (:func:`domain_half_width`: z × se, or the stratum's interval method for a one-stratum
    domain), and ``margin`` / ``target_met`` when the protocol has a target for kommuner
    (``kommune_code``) or the whole study (``all``).

    ``summary``: totals (reviews, double reviews, review minutes, physician hours) and the
    settings used. ``allocation`` is the :class:`Allocation` behind ``strata``.

    ``targets``: one row per domain of each precision target of the protocol (the
    per-stratum ``margin`` included, as domain_type "stratum"): ``domain_type`` (e.g.
    "kommune_code × sex"), ``domain`` (e.g. "461|kvinde"), ``strata``, ``population_size``,
    ``sample_size``, ``margin``, ``expected_half_width`` (:func:`domain_half_width`) and
    ``target_met``.
    """

    strata: pd.DataFrame
    domains: pd.DataFrame
    summary: dict[str, Any]
    allocation: Allocation
    notes: tuple[str, ...] = ()
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_text(self) -> str:
        """The design as plain-text tables for the command line."""
        s = self.summary
        rate = f"{s['anticipated']:g}"
        if s.get("anticipated_by"):
            rates = list(s["anticipated_values"].values())
            span = f"{min(rates):g}" + (f"–{max(rates):g}" if max(rates) > min(rates) else "")
            rate = f"by {' × '.join(s['anticipated_by'])} ({span}; otherwise {s['anticipated']:g})"
        domains = self.domains
        if "margin" in domains.columns and domains["margin"].isna().all():
            domains = domains.drop(columns=["margin", "target_met"])
        lines = [
            f"Design of study {s['study_id']}: {s['strata']} strata, "
            f"{s['population_size']} eligible cases, allocation {s['allocation']}, "
            f"intervals {s['interval_method']} (planned as {s['design_method']}) at "
            f"{s['confidence_level']:g}, anticipated {s['indicator']} rate {rate}",
            "",
            self.strata.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            "",
            domains.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            "",
        ]
        targets = self.targets
        if len(targets):
            for kind, group in targets.groupby("domain_type", sort=False):
                met = int(group["target_met"].sum())
                lines.append(
                    f"target half-width {group['margin'].iloc[0]:g} per {kind}: "
                    f"{met} of {len(group)} domains met"
                )
            shown = targets.loc[targets["domain_type"] != DOMAIN_STRATUM]
            if len(shown):
                lines += [
                    "",
                    shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
                ]
            lines.append("")
        lines += [
            f"reviews {s['reviews']} + double reviews {s['double_reviews']} "
            f"= {s['reviews'] + s['double_reviews']}; "
            f"{s['minutes_per_review']:g} min each: {s['physician_hours']:.1f} physician hours"
            + (f" (budget {s['max_reviews']} reviews)" if s["max_reviews"] is not None else ""),
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return self.strata._repr_html_() + self.domains._repr_html_()


def protocol_targets(protocol: Protocol, strata: pd.DataFrame) -> list[DomainTarget]:
    """The protocol's domain targets (all but the per-stratum margin) over a table of strata
    with the strata columns: each stratum's domain is its values of the target's columns
    joined by '|' ("all" for the whole study)."""
    out = []
    for target in protocol.targets:
        if target.domain == DOMAIN_STRATUM:
            continue
        groups = joined_values(strata, target.columns)
        out.append(DomainTarget(target.domain, groups.to_numpy(dtype=object), target.margin))
    return out


def protocol_allocation(
    protocol: Protocol, population_sizes: pd.Series, strata: pd.DataFrame | None = None
) -> Allocation:
    """The allocation a protocol asks for, over strata sizes indexed by stratum key.

    ``strata`` (one row per stratum, aligned with ``population_sizes``, with the strata
    columns) is needed for anticipated rates by group and for domain targets; without it
    the protocol's default rate is used and only the per-stratum margin applies."""
    if strata is not None:
        rates: Any = anticipated_rates(protocol, strata)
        targets = protocol_targets(protocol, strata)
    else:
        rates, targets = protocol.anticipated, []
    return allocate(
        population_sizes,
        total=protocol.max_reviews,
        method=protocol.allocation,
        anticipated=rates,
        minimum=protocol.minimum_per_stratum,
        margin=protocol.margin,
        confidence_level=protocol.confidence_level,
        interval_method=DESIGN_METHOD_OF[protocol.interval_method],
        targets=targets,
    )


def double_review_count(sample_size: int, fraction: float) -> int:
    """Number of sampled cases reviewed twice: fraction × n rounded half up."""
    return math.floor(sample_size * fraction + 0.5)


def design_from_population(protocol: Protocol, population: pd.DataFrame) -> DesignTable:
    """:func:`design_table` for a population already passed through ``study_population``."""
    if len(population) == 0:
        raise ProtocolError(
            f"no eligible cases: the frame has no case meeting protocol {protocol.study_id!r}'s "
            f"eligibility ({dict(protocol.eligibility)}) and kommuner "
            f"({'all' if protocol.kommuner is None else list(protocol.kommuner)})"
        )
    columns = list(protocol.strata)
    first = population.groupby("stratum", sort=True)[columns].first()
    sizes = population.groupby("stratum", sort=True).size().rename("population_size")
    alloc = protocol_allocation(protocol, sizes, first)
    strata = alloc.table.copy()
    for column in reversed(columns):
        strata.insert(1, column, first[column].to_numpy())
    n = strata["sample_size"].to_numpy()
    N = strata["population_size"].to_numpy()
    p = strata["anticipated"].to_numpy(dtype=float)
    z = _z(protocol.confidence_level)
    design_method = DESIGN_METHOD_OF[protocol.interval_method]
    unit_var = _unit_variances(N, n, p)
    notes = list(alloc.notes)
    targets = alloc.targets
    target_of = {t.columns: t for t in protocol.targets}

    def domain_row(kind: str, name: str, mask: np.ndarray) -> dict[str, Any]:
        Nd = N[mask].sum()
        var = float(unit_var[mask].sum()) / Nd**2
        se = math.sqrt(var) if math.isfinite(var) else math.nan
        # one stratum: the stratum's interval method, as for the stratum itself
        half = (
            domain_half_width(N[mask], n[mask], p[mask], protocol.confidence_level, design_method)
            if mask.sum() == 1
            else z * se
        )
        target = target_of.get(("kommune_code",) if kind == "kommune" else ())
        if kind == "kommune" and "kommune_code" not in columns:
            target = target_of.get(())  # one kommune: the whole study
        return {
            "domain_type": kind,
            "domain": name,
            "strata": int(mask.sum()),
            "population_size": int(Nd),
            "sample_size": int(n[mask].sum()),
            "expected_se": se,
            "expected_half_width": half,
            "margin": math.nan if target is None else target.margin,
            "target_met": pd.NA
            if target is None
            else bool(math.isfinite(half) and half <= target.margin + 1e-12),
        }

    rows = []
    kommune_of = (
        strata["kommune_code"].to_numpy()
        if "kommune_code" in columns
        else np.full(len(strata), population["kommune_code"].iloc[0])
    )
    if "kommune_code" in columns or len(set(population["kommune_code"])) == 1:
        for code in sorted(set(kommune_of)):
            rows.append(domain_row("kommune", str(code), kommune_of == code))
    else:
        notes.append("expected precision per kommune needs kommune_code among the strata columns")
    rows.append(domain_row("all", "all", np.ones(len(strata), dtype=bool)))
    domains = pd.DataFrame(rows)
    domains["target_met"] = domains["target_met"].astype("boolean")
    if (n == 0).any():
        notes.append(
            f"{int((n == 0).sum())} strata get no sampled case: their domains have no "
            "expected precision (raise minimum per stratum)"
        )
    reviews = int(n.sum())
    doubles = double_review_count(reviews, protocol.double_review_fraction)
    minutes = protocol.minutes_per_review * (reviews + doubles)
    summary = {
        "study_id": protocol.study_id,
        "strata": len(strata),
        "population_size": int(N.sum()),
        "reviews": reviews,
        "double_reviews": doubles,
        "review_minutes": minutes,
        "physician_hours": minutes / 60,
        "minutes_per_review": protocol.minutes_per_review,
        "max_reviews": protocol.max_reviews,
        "allocation": protocol.allocation,
        "minimum_per_stratum": protocol.minimum_per_stratum,
        "indicator": protocol.indicator,
        "anticipated": protocol.anticipated,
        "anticipated_by": list(protocol.anticipated_by),
        "anticipated_values": dict(protocol.anticipated_values),
        "margin": protocol.margin,
        "targets": [{"domain": t.domain, "margin": t.margin} for t in protocol.targets],
        "targets_missed": int((~targets["target_met"]).sum()) if len(targets) else 0,
        "confidence_level": protocol.confidence_level,
        "interval_method": protocol.interval_method,
        "design_method": DESIGN_METHOD_OF[protocol.interval_method],
    }
    return DesignTable(strata, domains, summary, alloc, tuple(notes), targets)


def design_table(protocol: Protocol, frame: pd.DataFrame) -> DesignTable:
    """The design of ``protocol`` on ``frame``: per stratum N_h, n_h, sampling fraction and
    expected half-width; expected precision per kommune and overall; reviews and physician
    hours (see :class:`DesignTable`)."""
    return design_from_population(protocol, study_population(protocol, frame))
