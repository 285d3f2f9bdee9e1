"""Design, allocation: a sample's total shared out to the strata (:func:`allocate`).

Methods proportional, equal, Neyman and precision (the smallest sizes meeting a half-width in
every stratum and every domain target); sizes are whole numbers adding exactly to the total
(largest remainder), each between min(minimum, N_h) and N_h.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stikprove.design.precision import (
    check_margin,
    check_method,
    clopper_pearson_half_width,
    expected_half_width,
    korn_graubard_half_width,
    normal_quantile,
    smallest_sizes,
)
from stikprove.errors import DesignError
from stikprove.methods import ALLOCATION_METHODS
from stikprove.variance import (
    NEGLIGIBLE_VARIANCE,
    POOLED_FEW,
    binary_element_variance,
    stratum_mean_variance,
)


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


def total_variance_terms(sizes: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """N_h² (1 − f_h) S_h² / n_h per stratum at the anticipated rates (S_h² the population's,
    N_h/(N_h − 1) p_h q_h): the stratum's term of the variance of a domain total, from the one
    stratified variance (:mod:`stikprove.variance`); 0 for a census, inf with no case."""
    N = np.asarray(sizes, dtype=float)
    return N * N * stratum_mean_variance(N, n, binary_element_variance(p, N))


def _expected_pooled_terms(
    sizes: np.ndarray, n: np.ndarray, p: np.ndarray, domain_rate: np.ndarray
) -> np.ndarray:
    """Each stratum's expected term of the default's pooled variance of a domain total, at the
    anticipated rates: N_h² (1 − f_h)/n_h · S_h², with S_h² at the domain's rate
    (``domain_rate``, per stratum) when the stratum shows at most :data:`POOLED_FEW` events or
    non-events, and at its own otherwise, weighted by the probability of each under the
    hypergeometric draw of n_h from N_h with round(p_h·N_h) events. A plug-in expectation (the
    variance estimation uses is the larger of this sum and R's in each sample; the plan takes
    the larger of the expected sums)."""
    from scipy import stats

    N, n, p = (np.asarray(a, dtype=float) for a in (sizes, n, p))
    sampled = (n > 0) & (n < N)
    events = np.round(p * N)
    low, high = POOLED_FEW, n - POOLED_FEW  # few: X <= low or X >= high
    with np.errstate(invalid="ignore", divide="ignore"):
        middle = np.where(
            high - 1 > low,
            stats.hypergeom.cdf(high - 1, N, events, n) - stats.hypergeom.cdf(low, N, events, n),
            0.0,
        )
    few = np.where(sampled, np.clip(1.0 - np.nan_to_num(middle), 0.0, 1.0), 0.0)
    own = total_variance_terms(N, n, p)
    borrowed = total_variance_terms(N, n, domain_rate)
    return few * borrowed + (1 - few) * own


def several_strata_method(method: str) -> str:
    """The interval a domain of several strata is planned with, for a planning ``method``:
    ``wald`` for ``wald``; ``korn-graubard-pooled`` (Korn–Graubard on the default's pooled
    variance in expectation) for ``hypergeometric``, the default's planning method; else
    ``korn-graubard`` (see :func:`domain_half_width`)."""
    if method == "wald":
        return "wald"
    return "korn-graubard-pooled" if method == "hypergeometric" else "korn-graubard"


def domain_half_width(
    population_sizes: Any,
    sample_sizes: Any,
    anticipated: Any = 0.5,
    confidence_level: float = 0.95,
    method: str = "wald",
) -> float:
    """Expected half-width of the interval of a domain made of whole strata.

    One stratum: :func:`expected_half_width` with ``method`` (so a one-stratum domain
    target is the same as :func:`sample_size`). Several strata, with the stratified variance
    ``se² = Σ W_h² (1 − f_h) S_h² / n_h`` at the anticipated rates (``W_h = N_h / N_d``,
    ``S_h² = N_h / (N_h − 1) p_h q_h``; :mod:`stikprove.variance`) and the domain's rate
    ``p = Σ W_h p_h``:

    - ``wald``: the normal approximation ``z · se`` (as before; estimation's Wald interval
      uses t(df) in place of z);
    - every other method: the half-width of the interval estimation reports for a domain of
      several strata, Korn–Graubard at the anticipated rates
      (:func:`stikprove.design.precision.korn_graubard_half_width` with df = Σ n_h − H and
      n = Σ n_h); for ``hypergeometric`` (the planning method of the default
      ``pooled-hypergeometric``) on the larger of se² and the default's pooled variance in
      expectation (:func:`_expected_pooled_terms`). This is what the default reports there,
      and for ``clopper-pearson`` (planning ``korn-graubard``) what R's interval reports.
      ``wilson`` (planning the design-based Wilson and Jeffreys intervals) gets R's variance
      too, as the nearest: those are narrower at the same variance but for Wilson at rare
      rates or few degrees of freedom (docs/design.md gives the figures);
      ``korn-graubard-deff1`` (planned as ``clopper-pearson``) floors the design effect at
      1 and reports wider than planned where the design effect at the anticipated rates is
      below 1.

    Edges, as estimation's (``domain_interval``): a census of every stratum gives 0; a domain
    whose variance is 0 or whose rate is 0 or 1 gets the Clopper–Pearson half-width at the
    sampled strata's rate and Kish effective sample size (at least 1), times their share of
    the domain (Wald gives 0 there); NaN when a stratum of the domain has no sampled case
    (and is not empty).
    """
    N = np.atleast_1d(np.asarray(population_sizes, dtype=float))
    n = np.atleast_1d(np.asarray(sample_sizes, dtype=float))
    p = np.broadcast_to(np.asarray(anticipated, dtype=float), N.shape)
    if len(N) == 1:
        return float(expected_half_width(n[0], p[0], confidence_level, N[0], method))
    codes = np.zeros(len(N), dtype=np.int64)
    return float(_several_strata_half_widths(codes, 1, N, n, p, confidence_level, method)[0])


def _several_strata_half_widths(
    codes: np.ndarray,
    groups: int,
    sizes: np.ndarray,
    n: np.ndarray,
    p: np.ndarray,
    confidence_level: float,
    method: str,
) -> np.ndarray:
    """The several-strata half-width of :func:`domain_half_width` for every domain of one
    grouping at once (``codes``: each stratum's domain, 0..groups − 1)."""
    N = np.asarray(sizes, dtype=float)
    n = np.asarray(n, dtype=float)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, values, minlength=groups)

    plan = several_strata_method(method)
    N_d = total(N)
    sampled = n < N
    with np.errstate(invalid="ignore", divide="ignore"):
        var = total(total_variance_terms(N, n, p)) / N_d**2
        if plan == "wald":
            z = normal_quantile(confidence_level)
            return np.where(np.isfinite(var), z * np.sqrt(var), np.nan)
        rate = total(N * p) / N_d
        if plan == "korn-graubard-pooled":
            # planning the default (or the exact method, the default's inside a stratum): its
            # pooled variance in expectation (_expected_pooled_terms), never below R's
            pooled = total(_expected_pooled_terms(N, n, p, rate[codes])) / N_d**2
            var = np.where(np.isfinite(var), np.maximum(var, pooled), var)
        sampled_pop = total(N * sampled)
        sampled_rate = total(N * p * sampled) / np.maximum(sampled_pop, 1e-300)
        kish = sampled_pop**2 / np.maximum(total(np.where(sampled, N * N / n, 0.0)), 1e-300)
    out = np.full(groups, np.nan)
    regular = np.isfinite(var) & (var > NEGLIGIBLE_VARIANCE) & (rate > 0) & (rate < 1)
    edge = np.isfinite(var) & ~regular & (sampled_pop > 0)
    out[np.isfinite(var) & (sampled_pop == 0)] = 0.0  # a census of every stratum
    if regular.any():
        n_d = total(n)
        df = n_d - np.bincount(codes, minlength=groups)
        out[regular] = korn_graubard_half_width(
            rate[regular], np.sqrt(var[regular]), df[regular], n_d[regular], confidence_level
        )
    if edge.any():
        out[edge] = (sampled_pop[edge] / N_d[edge]) * clopper_pearson_half_width(
            sampled_rate[edge], np.maximum(kish[edge], 1.0), confidence_level
        )
    return out


def _group_codes(target: DomainTarget, size: int) -> tuple[np.ndarray, list[str]]:
    groups = pd.Series(np.asarray(target.groups, dtype=object)).astype(str)
    if len(groups) != size:
        raise DesignError(
            f"target {target.domain!r}: groups must give one domain per stratum ({size}), "
            f"got {len(groups)}"
        )
    codes, names = pd.factorize(groups, sort=True)
    return codes.astype(np.int64), [str(x) for x in names]


def target_half_widths(
    codes: np.ndarray,
    groups: int,
    sizes: np.ndarray,
    n: np.ndarray,
    p: np.ndarray,
    confidence_level: float,
    method: str,
) -> np.ndarray:
    """:func:`domain_half_width` of every domain of one target at once: ``codes`` gives each
    stratum's domain (0 .. groups − 1); ``sizes``, ``n`` and ``p`` are the strata's N_h, n_h
    and anticipated rates."""
    count = np.bincount(codes, minlength=groups)
    out = _several_strata_half_widths(codes, groups, sizes, n, p, confidence_level, method)
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
    remainder rounding) has a half-width (:func:`domain_half_width` with ``method``: Wald for
    ``wald``, Korn–Graubard on the default's expected pooled variance for ``hypergeometric``,
    else on R's) of at most the margin.
    """
    n = n.copy()
    count = np.bincount(codes, minlength=groups)
    singles = np.flatnonzero(count[codes] == 1)
    if len(singles):
        req = smallest_sizes(margin, p[singles], sizes[singles], confidence_level, method)
        req = np.minimum(np.maximum(req, 1), sizes[singles]).astype(np.int64)
        n[singles] = np.maximum(n[singles], req)
    s = np.sqrt(np.where(sizes > 1, sizes / np.maximum(sizes - 1, 1), 0.0) * p * (1 - p))
    weights = sizes * s + 1e-12 * sizes / sizes.sum()
    hw = target_half_widths(codes, groups, sizes, n, p, confidence_level, method)
    for g in np.flatnonzero((count > 1) & ~(hw <= margin + 1e-12)):
        idx = np.flatnonzero(codes == g)
        N_d, low = sizes[idx], n[idx]

        def within(m: int, idx=idx, N_d=N_d, low=low) -> np.ndarray:
            x = _bounded_continuous(weights[idx], low.astype(float), N_d.astype(float), m)
            return _round_bounded(x, low, N_d, m)

        def meets(alloc: np.ndarray, idx=idx, N_d=N_d) -> bool:
            one = np.zeros(len(idx), dtype=np.int64)
            hw = _several_strata_half_widths(one, 1, N_d, alloc, p[idx], confidence_level, method)
            return bool(hw[0] <= margin + 1e-12)

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
    :func:`sample_size`); for a domain of several strata it is the normal approximation
    to the stratified estimator with the finite population correction for ``wald``, and the
    Korn–Graubard interval estimation reports there, at the anticipated rates, for the other
    methods (:func:`domain_half_width`). The precision allocation starts from the per-stratum sizes
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
    sizes, index = _checked_population_sizes(population_sizes)
    H = len(sizes)
    if method not in ALLOCATION_METHODS:
        raise DesignError(
            f"allocation method {method!r} must be one of "
            f"{', '.join(repr(m) for m in ALLOCATION_METHODS)}"
        )
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
    check_method(interval_method)
    if margin is not None:
        margin = check_margin("margin", margin)
    coded = [
        (
            target,
            *_group_codes(target, H),
            check_margin(f"target {target.domain!r} margin", target.margin),
        )
        for target in targets
    ]
    lower = np.minimum(minimum, sizes)
    notes: list[str] = []

    if method == "precision":
        required = _precision_sizes(
            sizes, p, lower, margin, coded, confidence_level, interval_method
        )
        if total is None or required.sum() <= total:
            n = required
            if total is not None and n.sum() < total:
                notes.append(
                    f"the precision target needs {int(n.sum())} reviews, within the budget of "
                    f"{int(total)}"
                )
        else:
            notes.append(
                f"the precision target needs {int(required.sum())} reviews, over the budget "
                f"of {int(total)}: sizes scaled down in proportion to the required sizes"
            )
            n = _spread(required.astype(float), int(total), sizes, lower, minimum, notes)
    else:
        weights = _method_weights(method, sizes, p, notes)
        n = _spread(weights, int(total), sizes, lower, minimum, notes)

    half = expected_half_width(n, p, confidence_level, sizes, interval_method)
    labels = [str(i) for i in index] if index is not None else [str(i) for i in range(H)]
    table = _stratum_table(labels, sizes, n, p, half, margin, notes)
    targets_table = _targets_table(
        labels, sizes, n, p, half, margin, coded, confidence_level, interval_method, notes
    )
    sample_sizes: pd.Series | np.ndarray
    if index is not None:
        sample_sizes = pd.Series(n.astype(np.int64), index=index, name="sample_size")
    else:
        sample_sizes = n.astype(np.int64)
    return Allocation(sample_sizes, table, method, int(n.sum()), tuple(notes), targets_table)


def _checked_population_sizes(
    population_sizes: Sequence[int] | pd.Series | np.ndarray,
) -> tuple[np.ndarray, pd.Index | None]:
    """The sizes as int64 (whole numbers >= 1, at least one) and the input's index if any."""
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
    return sizes.astype(np.int64), index


def _precision_sizes(
    sizes: np.ndarray,
    p: np.ndarray,
    lower: np.ndarray,
    margin: float | None,
    coded: list,
    confidence_level: float,
    interval_method: str,
) -> np.ndarray:
    """The smallest sizes meeting the per-stratum margin (as sample_size() for each stratum,
    all at once) and then every domain target, the finest first (see :func:`allocate`)."""
    H = len(sizes)
    if margin is not None:
        required = smallest_sizes(margin, p, sizes, confidence_level, interval_method)
    else:
        required = np.ones(H)
    required = np.minimum(np.maximum(required, 1), sizes).astype(np.int64)
    required = np.clip(required, lower, sizes)
    for _target, codes, names, target_margin in sorted(coded, key=lambda t: -len(t[2])):
        required = _meet_target(
            required, codes, len(names), target_margin, sizes, p, confidence_level,
            interval_method,
        )  # fmt: skip
    return required


def _method_weights(method: str, sizes: np.ndarray, p: np.ndarray, notes: list[str]) -> np.ndarray:
    """Weights of proportional (N_h), equal (1) or Neyman (N_h S_h) allocation."""
    if method == "proportional":
        return sizes.astype(float)
    if method == "equal":
        return np.ones(len(sizes))
    # S_h² = N_h/(N_h − 1) p q; a one-case stratum keeps p q (its S_h² is undefined)
    weights = sizes * np.sqrt(np.where(sizes > 1, binary_element_variance(p, sizes), p * (1 - p)))
    if not (weights > 0).any():
        notes.append("all anticipated rates are 0 or 1: neyman falls back to proportional")
        return sizes.astype(float)
    return weights


def _spread(
    weights: np.ndarray,
    total: int,
    sizes: np.ndarray,
    lower: np.ndarray,
    minimum: int,
    notes: list[str],
) -> np.ndarray:
    """Whole sizes in proportion to ``weights`` adding to ``total``, each between ``lower``
    and N_h (a census everywhere when total >= ΣN_h); notes say what was capped."""
    if total >= sizes.sum():
        if total > sizes.sum():
            notes.append(
                f"total {total} is larger than the population ({int(sizes.sum())}): "
                "census in every stratum"
            )
        return sizes.copy()
    if total < lower.sum():
        raise DesignError(
            f"budget of {total} reviews is smaller than the minimum per stratum: "
            f"{len(sizes)} strata × minimum {minimum} (or N_h when smaller) = {int(lower.sum())}"
        )
    # a tiny weight for zero-weight strata keeps the problem solvable
    w = weights + 1e-12 * sizes / sizes.sum()
    x = _bounded_continuous(w, lower.astype(float), sizes.astype(float), total)
    n = _round_bounded(x, lower, sizes, total)
    capped = int(((n == sizes) & (weights * total / weights.sum() > sizes)).sum())
    if capped:
        notes.append(
            f"{capped} strata capped at a census (n_h = N_h); the excess went to the others"
        )
    return n


def _stratum_table(
    labels: list[str],
    sizes: np.ndarray,
    n: np.ndarray,
    p: np.ndarray,
    half: np.ndarray,
    margin: float | None,
    notes: list[str],
) -> pd.DataFrame:
    """Allocation.table: one row per stratum (see :class:`Allocation`)."""
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
        table["target_met"] = pd.array([pd.NA] * len(sizes), dtype="boolean")
    else:
        met = np.where(np.isnan(half), False, half <= margin + 1e-12)
        table["target_met"] = pd.array(met, dtype="boolean")
        missed = int((~met).sum())
        if missed:
            notes.append(f"{missed} of {len(sizes)} strata miss the margin {margin:g}")
    return table


def _targets_table(
    labels: list[str],
    sizes: np.ndarray,
    n: np.ndarray,
    p: np.ndarray,
    half: np.ndarray,
    margin: float | None,
    coded: list,
    confidence_level: float,
    interval_method: str,
    notes: list[str],
) -> pd.DataFrame:
    """Allocation.targets: one row per domain of each target, the strata first."""
    target_rows = []
    if margin is not None:
        for h in range(len(sizes)):
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
        widths = target_half_widths(
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
    return targets_table
