"""Comparing groups: the difference and ratio of two domain rates, and a test of equal rates.

:func:`compare_proportions` compares two domains (two kommuner, women and men, two origin
groups) of a stratified simple random sample without replacement; :func:`rao_scott_test` tests
whether several groups share one rate, with the Rao–Scott correction of Pearson's chi-square
for the sampling design (it lives in :mod:`stikprove.estimation.rao_scott` and is re-exported
here). Both follow R's survey package (Lumley 2010), so that they can be checked against it
(tests/fixtures/r/comparison.R).

The two domain estimates, their standard errors and their intervals come from
:func:`stikprove.estimation.domains.estimate_proportions`, their covariance from
:func:`stikprove.estimation.linearization.domain_linearization` (the same linearization). Written by
hand here, because no library we depend on has them for a stratified design: Newcombe's hybrid
score interval and the MOVER-R ratio interval built on design-adjusted Wilson limits, and the
Rao–Scott design-effect matrix.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (R package survey 4.1:
``svyby(..., covmat=TRUE)``, ``svycontrast``, ``svychisq``.)

Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
comparison of eleven methods. *Statistics in Medicine* 17, 873-890 (method 10, the hybrid score
interval).

Donner, A. & Zou, G. Y. (2012). Closed-form confidence intervals for functions of the normal
mean and standard deviation. *Statistical Methods in Medical Research* 21, 347-359 (MOVER-R).

Zou, G. Y. & Donner, A. (2008). Construction of confidence limits about effect measures: a
general approach. *Statistics in Medicine* 27, 1693-1702 (MOVER, with correlated estimates).

Rao, J. N. K. & Scott, A. J. (1981). The analysis of categorical data from complex sample
surveys: chi-squared tests for goodness of fit and independence in two-way tables. *JASA* 76,
221-230.

Rao, J. N. K. & Scott, A. J. (1984). On chi-squared tests for multiway contingency tables with
cell proportions estimated from survey data. *Annals of Statistics* 12, 46-60.

Thomas, D. R. & Rao, J. N. K. (1987). Small-sample comparisons of level and power for simple
goodness-of-fit statistics under cluster sampling. *JASA* 82, 630-636 (the F form of the
second-order correction).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from stikprove.errors import EstimationError, NotEstimableError
from stikprove.estimation.design_coding import CodedDesign, CodedStrata, code_design, code_sample
from stikprove.estimation.domain_summary import check_degenerate_strata, summarise_domains
from stikprove.estimation.domains import check_domain_method, domain_table
from stikprove.estimation.intervals import check_confidence_level
from stikprove.estimation.linearization import linearize
from stikprove.estimation.rao_scott import (
    RAO_SCOTT_STATISTICS,
    RaoScottTest,
    rao_scott_coded,
    rao_scott_test,
)
from stikprove.methods import (
    DEFAULT_DOMAIN_INTERVAL_METHOD,
    old_positional_order,
    renamed_argument,
)

__all__ = [
    "COMPARISON_METHODS",
    "RAO_SCOTT_STATISTICS",
    "GroupComparison",
    "RaoScottTest",
    "compare_coded",
    "compare_proportions",
    "mover_ratio",
    "rao_scott_coded",
    "rao_scott_test",
]

COMPARISON_METHODS = ("auto", "newcombe", "linearization")
"""Methods of :func:`compare_proportions` (``auto``: newcombe for domains in disjoint strata)."""


# --------------------------------------------------------------------------------------------
# Two groups
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupComparison:
    """Two domain rates compared (see :func:`compare_proportions`). first − second, first/second.

    Interval bounds are named as in every stikprove table, ``ci_low_<what>`` and
    ``ci_high_<what>`` (``difference_low`` and the like are deprecated aliases).
    """

    first: object
    second: object
    n_first: int
    n_second: int
    estimate_first: float
    estimate_second: float
    se_first: float
    se_second: float
    ci_low_first: float
    ci_high_first: float
    ci_low_second: float
    ci_high_second: float
    difference: float
    se_difference: float
    ci_low_difference: float
    ci_high_difference: float
    ratio: float
    ci_low_ratio: float
    ci_high_ratio: float
    p_value: float
    df: int
    covariance: float
    method: str
    confidence_level: float
    interval_method: str

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy frame with the fields as columns."""
        return pd.DataFrame([asdict(self)])

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")

    def _renamed(self, old: str, new: str) -> float:
        warnings.warn(
            f"GroupComparison.{old} is deprecated; use {new}", DeprecationWarning, stacklevel=3
        )
        return getattr(self, new)

    @property
    def difference_low(self) -> float:
        """Deprecated name of :attr:`ci_low_difference`."""
        return self._renamed("difference_low", "ci_low_difference")

    @property
    def difference_high(self) -> float:
        """Deprecated name of :attr:`ci_high_difference`."""
        return self._renamed("difference_high", "ci_high_difference")

    @property
    def ratio_low(self) -> float:
        """Deprecated name of :attr:`ci_low_ratio`."""
        return self._renamed("ratio_low", "ci_low_ratio")

    @property
    def ratio_high(self) -> float:
        """Deprecated name of :attr:`ci_high_ratio`."""
        return self._renamed("ratio_high", "ci_high_ratio")


def _newcombe_hybrid(
    p1: float, low1: float, high1: float, p2: float, low2: float, high2: float
) -> tuple[float, float]:
    """Newcombe's (1998, method 10) hybrid score interval for p1 − p2 from single-group limits.

    L = d − √((p1 − l1)² + (u2 − p2)²), U = d + √((u1 − p1)² + (p2 − l2)²), d = p1 − p2.
    With Wilson limits for plain counts this is Newcombe's method 10 exactly.
    """
    d = p1 - p2
    low = d - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = d + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return float(max(low, -1.0)), float(min(high, 1.0))


def mover_ratio(
    p1: float,
    low1: float,
    high1: float,
    p2: float,
    low2: float,
    high2: float,
    correlation: float = 0.0,
) -> tuple[float, float]:
    """MOVER-R interval for the ratio p1/p2 from each estimate's own confidence limits.

    The method of variance estimates recovery for a ratio (Zou & Donner 2008; Donner & Zou
    2012; Newcombe 2016): the variances of p̂1 and p̂2 are recovered from their limits, each on
    the side the ratio's limit needs, and Fieller's equation is solved with them. With
    r = ``correlation`` (0 for independent estimates)::

        L = [A - √(A² - l1(2p1 - l1)·u2(2p2 - u2))] / [u2(2p2 - u2)],
            A = p1p2 - r(p1 - l1)(u2 - p2)
        U = [B + √(B² - u1(2p1 - u1)·l2(2p2 - l2))] / [l2(2p2 - l2)],
            B = p1p2 - r(u1 - p1)(p2 - l2)

    Never NaN: with p2 = 0 (so l2 = 0) the upper limit is +inf; a negative discriminant
    (the denominator's interval reaches 0 in effect) gives L = 0 or U = +inf. The limits are
    kept around the point ratio (0 ≤ L ≤ p1/p2 ≤ U). Swapping the groups gives the reciprocal
    interval exactly.
    """
    r = float(np.clip(correlation, -1.0, 1.0))
    c_low, c_high = low1 * (2 * p1 - low1), high1 * (2 * p1 - high1)
    a_low, a_high = high2 * (2 * p2 - high2), low2 * (2 * p2 - low2)
    big_a = p1 * p2 - r * (p1 - low1) * (high2 - p2)
    big_b = p1 * p2 - r * (high1 - p1) * (p2 - low2)
    disc_low = big_a * big_a - c_low * a_low
    disc_high = big_b * big_b - c_high * a_high
    # Where there is no finite root the limit is uninformative: 0 below, +inf above.
    low = (big_a - np.sqrt(disc_low)) / a_low if a_low != 0 and disc_low >= 0 else 0.0
    high = (big_b + np.sqrt(disc_high)) / a_high if a_high > 0 and disc_high >= 0 else np.inf
    low, high = max(float(low), 0.0) + 0.0, float(high) if high >= 0 else np.inf  # no -0.0
    point = _ratio(p1, p2)
    if np.isfinite(point):
        return min(low, point), max(high, point)
    return low, (np.inf if point == np.inf else high)


def _ratio(p1: float, p2: float) -> float:
    """p1/p2; +inf for p1 > 0 = p2, NaN for 0/0."""
    if p2 > 0:
        return float(p1 / p2)
    return float("inf") if p1 > 0 else float("nan")


def _is_level(value: object) -> bool:
    """A confidence level where one is expected positionally (else an old-order ``groups``)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


_OLD_COMPARE_ORDER = (
    "data", "outcome", "strata", "population_size", "by", "groups", "confidence_level",
    "method", "interval_method",
)  # fmt: skip
"""compare_proportions' positional order before 0.2.0: groups before confidence_level."""


def _compare_in_old_order(args: tuple, kwargs: dict) -> bool:
    return len(args) > 6 or (len(args) == 6 and not _is_level(args[5]))


@old_positional_order(_OLD_COMPARE_ORDER, _compare_in_old_order)
def compare_proportions(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | None = None,
    confidence_level: float = 0.95,
    *,
    groups: tuple[object, object] | None = None,
    method: str = "auto",
    interval_method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
    degenerate_strata: str | None = None,
    domain: str | None = None,
) -> GroupComparison:
    """Difference and ratio of the rates of two domains, with intervals and a p-value.

    The arguments come in the order of :func:`~stikprove.estimation.domains.
    estimate_proportions` (data, outcome, strata, population_size, by, confidence_level), the
    others by name. The old order (``groups`` after ``by``, then ``confidence_level``,
    ``method``, ``interval_method``) still works, with a DeprecationWarning.

    Parameters
    ----------
    data, outcome, strata, population_size
        As for :func:`stikprove.estimation.domains.estimate_proportions`: one row per sampled
        case, a 0/1 outcome (missing values are dropped before the design is built), the strata
        column(s) and the column holding each stratum's N_h.
    by
        Column whose values define the groups (``domain`` is its deprecated name).
    groups
        The two values of ``by`` to compare, (first, second): the difference is
        first − second and the ratio first/second. Default: the column must have exactly two
        values (among cases with an outcome), taken in sorted order.
    confidence_level
        In (0, 1).
    method
        - ``"newcombe"``: Newcombe's (1998) hybrid score interval (method 10) for the difference,
          built on each domain's design-adjusted Wilson limits (Wilson on the effective sample
          size n_eff = p(1 − p)/se², t(df) quantile; ``estimate_proportions(method="wilson")``,
          with its edge rules for 0 or all events and census strata). Valid only when no stratum
          holds cases of both domains, so the two estimates are independent.
        - ``"linearization"``: the design-based Wald interval d ± t(df)·se with
          var(p̂1 − p̂2) = v1 + v2 − 2·cov: v1, v2 the squared standard errors of
          ``estimate_proportions`` and cov from the two domains' linearized values within the
          shared strata (as R's ``svyby(..., covmat=TRUE)`` + ``svycontrast``), both from
          :func:`~stikprove.estimation.linearization.domain_linearization`.
        - ``"auto"`` (default): newcombe for domains in disjoint strata, else linearization.
    interval_method
        Method of the two single-domain intervals reported (``ci_low_first``, ...); any method of
        ``estimate_proportions``, and its default (``pooled-hypergeometric``). It does not
        affect the difference.
    degenerate_strata
        As for ``estimate_proportions``, and with its default: None follows
        ``interval_method`` (``"pooled"`` for ``pooled-hypergeometric``, else ``"standard"``),
        so the two groups' estimates, standard errors and intervals are those of
        ``estimate_proportions`` with the same method. ``"standard"`` gives R's variances (with
        ``interval_method="korn-graubard"`` the linearization results equal R's);
        ``"conservative"`` or ``"pooled"`` add to a group's variance where a stratum gives it
        none, and so to the difference's.

    Raises
    ------
    EstimationError
        Bad input: a missing column, a value that is not 0/1, an unknown method, groups that
        are not a pair of different values, ``"newcombe"`` for groups sharing strata.
    NotEstimableError
        Nothing to compare: a group with no case with an outcome, or fewer than two groups.

    Returns
    -------
    GroupComparison
        Frozen; ``to_frame()`` gives one tidy row. Fields: the two groups, their n, estimate,
        se and interval; ``difference`` with ``se_difference``, ``ci_low_difference`` and
        ``ci_high_difference``; ``ratio`` with ``ci_low_ratio`` and ``ci_high_ratio``;
        ``p_value``; ``df``; ``covariance`` of the two estimates; ``method`` used.

    Notes
    -----
    - Ratio: :func:`mover_ratio` (MOVER-R; Zou & Donner 2008, Donner & Zou 2012) on the two
      domains' design-adjusted Wilson limits (``estimate_proportions(method="wilson")``, with
      its edge rules for 0 or all events and census strata), with the correlation
      cov/(se1·se2) of the two estimates from the linearization: 0 for domains in disjoint
      strata (independent), the design-based correlation where they share strata (the MOVER
      with correlation). Never NaN: an estimate of 0 in the second group gives the upper
      limit +inf (and ``ratio`` +inf, or NaN when both estimates are 0: 0/0); 0 in the first
      group gives the lower limit 0.
    - p-value: two-sided t test of p1 = p2, t = d/se(d) with df degrees of freedom, for both
      methods (it may disagree with the Newcombe interval at the margin). NaN when se(d) = 0
      and a sampled stratum is involved; with census strata only, 0 or 1 (no sampling error).
    - df = cases in either domain − strata holding them (R's ``degf`` of the union subset).
    - If the linearization se is 0 although strata were sampled (e.g. 0 events in both groups),
      the Wald interval would have width 0; the Newcombe interval is given instead (with the
      covariance ignored) and ``method`` says so. Likewise when one group has sampled strata but
      variance 0 (0 or all events, as in 0 of 8 women): the Wald interval would take no
      uncertainty from that group, so the Newcombe interval is given (``method``
      ``"newcombe (se of a group is 0)"``; the linearization covariance is 0 then anyway).
    - A sampled stratum with a single case (after dropping missing outcomes) adds nothing to the
      covariance (only one of the domains has a case there) nor to R's variances (see
      ``degenerate_strata``).
    """
    by = renamed_argument("by", by, "domain", domain)
    level, interval_method, variance = _check_comparison(
        data, by, confidence_level, method, interval_method, degenerate_strata
    )
    # Validates everything else (columns, 0/1 outcome, N_h) with the same messages as elsewhere.
    design = code_sample(data, outcome, strata, population_size, by)
    return _compare_design(design, by, groups, level, method, interval_method, variance)


def compare_coded(
    data: pd.DataFrame,
    strata: CodedStrata,
    outcome: str,
    by: str,
    confidence_level: float = 0.95,
    *,
    groups: tuple[object, object] | None = None,
    method: str = "auto",
    interval_method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
    degenerate_strata: str | None = None,
) -> GroupComparison:
    """:func:`compare_proportions` on strata already coded (:func:`~stikprove.estimation.
    design_coding.code_strata` of ``data``): the same result and checks, the strata not
    checked again (what the design object calls)."""
    level, interval_method, variance = _check_comparison(
        data, by, confidence_level, method, interval_method, degenerate_strata
    )
    design = code_design(data, strata, outcome, by)
    return _compare_design(design, by, groups, level, method, interval_method, variance)


def _check_comparison(
    data: pd.DataFrame,
    by: object,
    confidence_level: float,
    method: str,
    interval_method: str,
    degenerate_strata: str | None,
) -> tuple[float, str, str]:
    """(level, interval method, variance choice) of a comparison, checked."""
    level = check_confidence_level(confidence_level)
    if method not in COMPARISON_METHODS:
        raise EstimationError(f"method must be one of {COMPARISON_METHODS}, got {method!r}")
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(by, str) or by not in data.columns:
        raise EstimationError(
            f"by must name a column of data, got {by!r}; columns are {list(data.columns)}"
        )
    interval_method = check_domain_method(interval_method)
    return level, interval_method, check_degenerate_strata(degenerate_strata, interval_method)


def _compare_design(
    design: CodedDesign,
    domain: str,
    groups: tuple[object, object] | None,
    level: float,
    method: str,
    interval_method: str,
    degenerate_strata: str,
) -> GroupComparison:
    """The computation behind :func:`compare_proportions` on a design coded by ``domain``:
    summarised once; the intervals, the Wilson limits and the covariance all come from it."""
    summary = summarise_domains(design, degenerate_strata)
    table = domain_table(design, summary, level, interval_method)
    present = table[domain].tolist()
    if groups is None:
        if len(present) != 2:
            error = NotEstimableError if len(present) < 2 else EstimationError
            raise error(
                f"domain column {domain!r} has {len(present)} values with an outcome "
                f"({present[:10]!r}); give the two groups to compare (groups=(a, b) in "
                "Python, --groups A,B on the command line)"
            )
        first, second = present
    else:
        ordered = isinstance(groups, Sequence | np.ndarray) and not isinstance(groups, str)
        if not ordered or len(groups) != 2:
            raise EstimationError(
                f"groups must be an ordered pair (first, second), e.g. a tuple; got {groups!r}"
            )
        first, second = groups
        if first == second:
            raise EstimationError(f"groups must be two different values, got {groups!r}")
        for g in (first, second):
            if g not in present:
                raise NotEstimableError(
                    f"group {g!r} has no case with an outcome in domain column {domain!r}; "
                    f"values with an outcome are {present[:10]!r}"
                )
    row1 = table.loc[table[domain] == first].iloc[0]
    row2 = table.loc[table[domain] == second].iloc[0]

    lin = linearize(design, summary if degenerate_strata == "standard" else None)
    labels = lin.keys[domain].tolist()
    i1, i2 = labels.index(first), labels.index(second)
    in_1 = np.unique(lin.stratum[lin.domain == i1])
    in_2 = np.unique(lin.stratum[lin.domain == i2])
    disjoint = np.intersect1d(in_1, in_2).size == 0
    union = np.union1d(in_1, in_2)
    df = int(lin.n[i1] + lin.n[i2] - union.size)
    sampled_union = bool(np.any(lin.sample_size[union] < lin.population_size[union]))
    sampled_1 = bool(np.any(lin.sample_size[in_1] < lin.population_size[in_1]))
    sampled_2 = bool(np.any(lin.sample_size[in_2] < lin.population_size[in_2]))

    if method == "newcombe" and not disjoint:
        raise EstimationError(
            f"method 'newcombe' needs the groups {first!r} and {second!r} in disjoint strata "
            "(independent samples), but some strata hold cases of both; use 'linearization'"
        )
    chosen = method if method != "auto" else ("newcombe" if disjoint else "linearization")

    p = lin.estimate[[i1, i2]]
    # The domains' own variances are estimate_proportions' (R's by default); the covariance
    # comes from the same linearization (zero for disjoint strata).
    v1, v2 = float(row1["se"]) ** 2, float(row2["se"]) ** 2
    c12 = 0.0 if disjoint else float(lin.covariance()[i1, i2])
    d = float(p[0] - p[1])
    var_d = max(v1 + v2 - 2.0 * c12, 0.0)
    se_d = float(np.sqrt(var_d))
    t = float(stats.t.isf((1.0 - level) / 2.0, max(df, 1)))

    wil = domain_table(design, summary, level, "wilson")
    w1 = wil.loc[wil[domain] == first].iloc[0]
    w2 = wil.loc[wil[domain] == second].iloc[0]
    if chosen == "linearization" and se_d == 0.0 and sampled_union:
        chosen = "newcombe (linearization se is 0)"
    elif chosen == "linearization" and ((v1 == 0.0 and sampled_1) or (v2 == 0.0 and sampled_2)):
        # A sampled group with 0 or all events has variance 0 (and covariance 0: its linearized
        # values are constant within every stratum); the Wald interval would take no
        # uncertainty from it. Newcombe's interval takes it from the group's own limits.
        chosen = "newcombe (se of a group is 0)"
    if chosen.startswith("newcombe"):
        d_low, d_high = _newcombe_hybrid(
            p[0], w1["ci_low"], w1["ci_high"], p[1], w2["ci_low"], w2["ci_high"]
        )
    else:
        d_low, d_high = max(d - t * se_d, -1.0), min(d + t * se_d, 1.0)

    if se_d > 0:
        p_value = float(2.0 * stats.t.sf(abs(d) / se_d, max(df, 1)))
    elif not sampled_union:
        p_value = 0.0 if d != 0 else 1.0
    else:
        p_value = float("nan")

    correlation = c12 / np.sqrt(v1 * v2) if v1 > 0 and v2 > 0 else 0.0
    r_low, r_high = mover_ratio(
        p[0], w1["ci_low"], w1["ci_high"], p[1], w2["ci_low"], w2["ci_high"], correlation
    )
    ratio = _ratio(float(p[0]), float(p[1]))

    return GroupComparison(
        first=first,
        second=second,
        n_first=int(row1["n"]),
        n_second=int(row2["n"]),
        estimate_first=float(row1["estimate"]),
        estimate_second=float(row2["estimate"]),
        se_first=float(row1["se"]),
        se_second=float(row2["se"]),
        ci_low_first=float(row1["ci_low"]),
        ci_high_first=float(row1["ci_high"]),
        ci_low_second=float(row2["ci_low"]),
        ci_high_second=float(row2["ci_high"]),
        difference=d,
        se_difference=se_d,
        ci_low_difference=float(d_low),
        ci_high_difference=float(d_high),
        ratio=ratio,
        ci_low_ratio=float(r_low),
        ci_high_ratio=float(r_high),
        p_value=p_value,
        df=df,
        covariance=float(c12),
        method=chosen,
        confidence_level=level,
        interval_method=interval_method,
    )
