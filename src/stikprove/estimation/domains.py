"""Design-based estimates of proportions per domain from a stratified simple random sample.

The design is stratified simple random sampling without replacement (STSRS): stratum h has N_h
cases in the frame and n_h sampled, each sampled case carries the weight N_h/n_h. Everything here
follows R's survey package (Lumley 2004, 2010), so results can be checked against
``svyby(~y, ~domain, svydesign(ids=~1, strata=~stratum, fpc=~N, data=d), svyciprop, ...)``
(tests/fixtures/r/domains.R):

- Missing outcomes (NaN/None: not assessable, not yet reviewed) are dropped before the design is
  built, so n_h counts the cases with an outcome and the finite population correction is
  1 - n_h/N_h with that reduced n_h (missing at random within strata; see :func:`outcome_bounds`).
- A domain estimate is the ratio p̂_d = Σ_d w y / Σ_d w. Its variance is the linearization
  variance of the ratio over ALL strata, the linearized values z = w (y - p̂_d)/N̂_d being zero
  outside the domain (Lumley 2010; Cochran 1977):
  V = Σ_h (1 - n_h/N_h) n_h/(n_h - 1) Σ_{i in h} (z_i - z̄_h)².
- df = (cases in the domain) - (strata with cases in the domain), as ``degf`` of the domain
  subset gives it and as svyciprop uses it.

Written by hand rather than calling a Python survey library: we need R-identical domain
variances, degrees of freedom and Korn–Graubard intervals, vectorised over a thousand domains,
and the edge rule below is ours. All domains are computed at once with numpy ``bincount`` on
(stratum, domain) codes: no Python loop over domains.

The edge rule (where R returns NaN or zero width) is in
:func:`stikprove.estimation.design_intervals.domain_interval`: census-only domains get the exact
value; a domain with p̂ in {0, 1} or se = 0 gets the exact hypergeometric interval when its
sampled part lies in one stratum (with the domain's largest
possible population there, n_d + N_h - n_h, when the domain cuts the stratum), else
Clopper–Pearson on the Kish effective sample size of its sampled part; census strata in a domain
enter as known quantities. df below 1 is taken as 1 in the quantiles.

By default (``degenerate_strata="standard"``) the variance is exactly R's for every domain. A
sampled stratum with one case (R: "has only one PSU"; it contributes 0, as R's
``options(survey.lonely.psu = "certainty")``), or a sampled stratum wholly in the domain whose
cases all agree (p̂_h in {0, 1}), contributes nothing to that variance although its rate is
uncertain. ``degenerate_strata="conservative"`` gives such a stratum the variance term of a
stratified mean, (N̂_hd/N̂_d)² (1 - n_h/N_h) p̃(1 - p̃)/n_hd, with its rate shrunk off the
boundary, p̃ = (x_hd + 1/2)/(n_hd + 1). Simulation evidence (tests/test_coverage.py; 20,000
replications): with strata N = 117, 509, 9, 35, n = 4, 40, 3, 6 and rates .03, .97, .34, .06
(a stratum with 76 % of the weight that usually shows 40 of 40 events), the national
Korn–Graubard interval covered 79 % for a nominal 95 % with the standard variance and ≥ 95 %
with the conservative one. ``degenerate_strata="pooled"`` borrows the domain's rate instead: a
sampled cell (h, d) whose stratum has one case, or whose cases in the domain show at most one
event or at most one non-event (:data:`stikprove.variance.POOLED_FEW`), gets the term
(N̂_hd/N̂_d)² (1 - f_h) c p̂_d(1 - p̂_d)/n_hd, c = n_hd/(n_hd - 1) (1 for one case), in place
of R's; the other cells keep R's term; and the domain's variance is the larger of this sum and
R's variance (so it is never below R's, and equals it when every sampled cell shows at least
two events and two non-events). A rate estimated from 0 or 1 events says little about the
stratum's variance: 0 events give none, 1 event gives 1/n_hd, usually far above a rare
domain's rate. It is the variance of the default method ``pooled-hypergeometric`` (exact
hypergeometric interval for a domain inside one stratum, Korn–Graubard on this variance
otherwise), chosen by the simulation study of docs/intervals.md
(research/interval_study.py of the repository). Where R's variance is 0 the edge rule above
applies under every choice.


The computations are split by seam: :mod:`~stikprove.estimation.design_coding` checks and codes
the sample, :mod:`~stikprove.estimation.domain_summary` summarises every domain (the variance
choices above), this module makes the tables, and :mod:`~stikprove.estimation.linearization`
exposes the linearized (influence) values themselves (:func:`domain_linearization`, re-exported
here), so that covariances between domain estimates (:mod:`stikprove.estimation.comparison`,
:mod:`stikprove.estimation.multiplicity`) come from the same computation. Each module function
here has a twin that takes strata already coded (:func:`proportions_table`,
:func:`bounds_table`, :func:`categories_table`): the design object
(:class:`~stikprove.estimation.StratifiedSample`) calls those, so it checks and codes its strata
once.

References
----------
Cochran, W. G. (1977). Sampling Techniques, 3rd ed. Wiley (ratio estimation, domains).

Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
number of positive counts estimated from survey data. Survey Methodology 24, 193-201.

Lumley, T. (2004). Analysis of complex survey samples. Journal of Statistical Software 9(8).
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley. (R package survey 4.1.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError, NotEstimableError
from stikprove.estimation.design_coding import (
    CodedDesign,
    CodedStrata,
    as_columns,
    binary_outcome,
    check_design_columns,
    code_design,
    code_domains,
    code_sample,
    code_strata,
    in_scope_mask,
    require_columns,
)
from stikprove.estimation.design_intervals import (
    check_design_method,
    design_effect,
    domain_interval,
    nchs_effective_n,
)
from stikprove.estimation.domain_summary import (
    DEGENERATE_STRATA,
    check_degenerate_strata,
    exact_domain_bounds,
    summarise_domains,
)
from stikprove.estimation.intervals import check_confidence_level
from stikprove.estimation.linearization import DomainLinearization, domain_linearization
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD, DOMAIN_INTERVAL_METHODS

__all__ = [
    "DEGENERATE_STRATA",
    "ESTIMATE_COLUMNS",
    "DomainLinearization",
    "bounds_table",
    "categories_table",
    "check_domain_method",
    "domain_linearization",
    "domain_table",
    "estimate_categories",
    "estimate_proportions",
    "outcome_bounds",
    "proportions_table",
]

ESTIMATE_COLUMNS = ("n", "estimate", "se", "df", "ci_low", "ci_high", "n_eff", "deff")
"""Columns of :func:`estimate_proportions` after the ``by`` columns."""

DOMAIN_METHODS = DOMAIN_INTERVAL_METHODS

DEFAULT_METHOD = DEFAULT_DOMAIN_INTERVAL_METHOD
"""The default interval method, chosen by the simulation study of docs/intervals.md."""

_NOT_FROM_SE = ("hypergeometric", DEFAULT_METHOD)
"""Domain methods beyond design_ci's: they need more than (estimate, se, df, n)."""


def check_domain_method(method: str) -> str:
    """``method`` as a domain interval method (:data:`~stikprove.methods.
    DOMAIN_INTERVAL_METHODS`) under its current name (a deprecated name warns); anything else
    is refused (EstimationError).

    >>> check_domain_method("pooled-hypergeometric"), check_domain_method("korn-graubard")
    ('pooled-hypergeometric', 'korn-graubard')
    """
    return check_design_method(method, extra=_NOT_FROM_SE)


def domain_table(
    design: CodedDesign, summary: dict[str, np.ndarray], confidence_level: float, method: str
) -> pd.DataFrame:
    """The table of :func:`estimate_proportions` (columns: the ``by`` columns, then
    :data:`ESTIMATE_COLUMNS`) from a coded design and its
    :func:`~stikprove.estimation.domain_summary.summarise_domains`, with ``method``'s
    intervals (checked by :func:`check_domain_method`) at ``confidence_level``. Raises
    EstimationError for ``hypergeometric`` when a domain spans strata."""
    alpha = 1.0 - confidence_level
    p, se, n = summary["estimate"], summary["se"], summary["n"]
    if method == "hypergeometric":
        spread = np.flatnonzero(summary["strata"] != 1)
        if spread.size:
            example = design.keys.iloc[int(spread[0])].to_dict() if len(design.keys.columns) else {}
            raise EstimationError(
                "method 'hypergeometric' needs every domain inside one stratum; domain "
                f"{example or '(whole population)'} spans {int(summary['strata'][spread[0]])} "
                f"strata ({spread.size} such domain(s)); use 'pooled-hypergeometric' instead"
            )
        low, high = exact_domain_bounds(summary, np.ones(len(p), bool), alpha)
    else:
        low, high = domain_interval(
            p,
            se,
            summary["df"],
            n,
            confidence_level,
            "korn-graubard" if method == DEFAULT_METHOD else method,
            census_share=summary["census_share"],
            census_estimate=summary["census_estimate"],
            sampled_estimate=summary["sampled_estimate"],
            sampled_kish_n=summary["sampled_kish_n"],
            sampled_strata=summary["sampled_strata"],
            sampled_x=summary["sampled_x"],
            sampled_n=summary["sampled_n"],
            sampled_population=summary["sampled_population"],
            no_variance=summary["r_variance"] == 0,  # negligible_to_zero made it exact
        )
        low, high = np.array(low, dtype=float), np.array(high, dtype=float)
        if method == DEFAULT_METHOD:
            one = summary["strata"] == 1
            low[one], high[one] = exact_domain_bounds(summary, one, alpha)
    # One effective n and design effect per domain, whatever the interval method: those of
    # R's linearization variance (r_variance, also under the pooled variance of the default),
    # the effective n as the NCHS presentation standard judges it (surveytable).
    edge = (p <= 0) | (p >= 1)
    deff = np.where(edge, n / summary["kish_n"], design_effect(p, summary["r_variance"], n))
    n_eff = nchs_effective_n(p, deff, summary["df"], n, confidence_level)
    table = design.keys.copy()
    table["n"] = n.astype(np.int64)
    table["estimate"] = p
    table["se"] = se
    table["df"] = summary["df"].astype(np.int64)
    table["ci_low"] = np.asarray(low, dtype=float)
    table["ci_high"] = np.asarray(high, dtype=float)
    table["n_eff"] = n_eff
    table["deff"] = deff
    return table



def estimate_proportions(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """Estimated proportion per domain with its standard error and confidence interval.

    Parameters
    ----------
    data
        One row per sampled case.
    outcome
        Column of 0/1 (bool, int or float); missing (NaN/None) means not assessable and the case
        is dropped within its stratum before the design is built.
    strata
        Column name(s) whose combination is the stratum.
    population_size
        Column holding N_h, the stratum's frame count, the same on every row of the stratum.
    by
        Column name(s) defining the domains (they may cut across strata); None for the whole
        population.
    confidence_level
        In (0, 1).
    method
        ``pooled-hypergeometric`` (default, chosen by the simulation study of
        docs/intervals.md): the ``hypergeometric`` interval for a domain inside one stratum,
        else ``korn-graubard`` on the ``pooled`` variance. ``korn-graubard`` (R svyciprop
        ``method="beta"``), ``korn-graubard-deff1`` (design effect floored at 1, NCHS),
        ``logit`` (``"logit"``), ``wald`` (``"mean"``), ``wilson`` and ``jeffreys``
        (design-adjusted via n_eff), or ``hypergeometric`` (the exact interval, only for
        domains inside one stratum; ``exact`` is its deprecated name; for a domain covering
        part of a stratum the domain's population is unknown, and the largest possible one,
        n_d + N_h - n_h, is used: conservative).
    degenerate_strata
        None (default): ``"pooled"`` for ``pooled-hypergeometric``, ``"standard"`` for every other
        method. ``"standard"``: R's stratified linearization variance for every domain, so
        every domain with 0 < p̂ < 1 and se > 0 agrees with R's svyciprop.
        ``"conservative"``: a sampled stratum with one case, or wholly in the domain with all
        its cases agreeing, adds the stratified-mean variance term at p̃ = (x + 1/2)/(n + 1).
        ``"pooled"``: a sampled cell (stratum × domain) with one case in its stratum or at
        most one event or non-event among its domain cases gets the stratified-mean term at
        the domain's rate; the variance is at least R's (module docstring). In the
        simulation of the module docstring the standard Korn–Graubard interval covered 79 %
        (nominal 95 %), the other two ≥ 95 %.

    Returns
    -------
    pandas.DataFrame
        One row per domain with at least one case with an outcome, sorted by the ``by`` columns:
        the ``by`` columns, then

        - ``n``: cases with a non-missing outcome in the domain (int);
        - ``estimate``: the weighted proportion Σ w y / Σ w;
        - ``se``: its linearization standard error with the finite population correction (as R
          computes it; with ``degenerate_strata="conservative"`` plus the term for strata
          without variance information, see the module docstring);
        - ``df``: n minus the number of strata with cases in the domain (int; may be 0);
        - ``ci_low``, ``ci_high``: the interval, in [0, 1], ci_low <= estimate <= ci_high;
        - ``n_eff``: the effective sample size the NCHS presentation standard judges, as
          CDC's surveytable computes it (:func:`~stikprove.estimation.design_intervals.
          nchs_effective_n`): min(n, n/deff · (t_{n-1}/t_df)²) at ``confidence_level``; n
          where p is 0 or 1 or R's variance is 0; 0 where df is 0. The same under every
          ``method`` and ``degenerate_strata`` (docs/estimation.md, "Effective sample size");
        - ``deff``: the design effect n·v/(p(1-p)) of R's linearization variance v (the
          same under every ``method``; 0 where v is 0; where p is 0 or 1 the Kish design
          effect n·Σw²/(Σw)²).

    Raises
    ------
    EstimationError
        A missing column, an outcome value other than 0/1/missing, a missing stratum or domain
        value, N_h not a whole number, varying within a stratum or smaller than the stratum's
        sampled rows, confidence_level outside (0, 1), an unknown method or degenerate_strata,
        or ``hypergeometric`` for a domain that spans strata.

    Examples
    --------
    >>> d = pd.DataFrame({"stratum": ["a"] * 4 + ["b"] * 4, "N": [10] * 4 + [20] * 4,
    ...                   "y": [1, 0, 0, 0, 1, 1, 0, None]})
    >>> estimate_proportions(d, "y", "stratum", "N")[["n", "estimate", "df"]]  # (10/4 + 20·2/3)/30
       n  estimate  df
    0  7  0.527778   5
    """
    method = check_domain_method(method)
    level = check_confidence_level(confidence_level)
    variance = check_degenerate_strata(degenerate_strata, method)
    design = code_sample(data, outcome, strata, population_size, by)
    return domain_table(design, summarise_domains(design, variance), level, method)


def proportions_table(
    data: pd.DataFrame,
    strata: CodedStrata,
    outcome: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """:func:`estimate_proportions` on strata already coded
    (:func:`~stikprove.estimation.design_coding.code_strata` of ``data``): the same table, the
    same checks of ``outcome``, ``by`` and the arguments, without checking the strata again."""
    method = check_domain_method(method)
    level = check_confidence_level(confidence_level)
    variance = check_degenerate_strata(degenerate_strata, method)
    design = code_design(data, strata, outcome, by)
    return domain_table(design, summarise_domains(design, variance), level, method)


def outcome_bounds(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    in_scope: str | Sequence[bool] | np.ndarray | pd.Series | None = None,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """Worst- and best-case estimates per domain when missing outcomes are not at random.

    Three analyses of the same sample: the usual one (missing dropped within strata, missing at
    random), one with every missing outcome counted as 0, and one with every missing outcome
    counted as 1 (the bounds of Horowitz & Manski 2000 for the domain proportion, each with its
    sampling interval).

    ``in_scope`` says which cases belong to the indicator's population: a boolean column of
    ``data`` or one boolean per row (``stikprove.codebook.Codebook.indicator_scope``: eligible,
    and health-exempt for ``misclassified``; a case not yet reviewed is in scope). A case
    outside it (found ineligible and replaced by a reserve) has no outcome by definition, not a
    missing one: it is left out of all three analyses instead of being counted as 0 or 1.
    None (default): every case is in scope, and every missing outcome is a missing outcome.

    Returns
    -------
    pandas.DataFrame
        One row per domain with a case in scope (sorted by the ``by`` columns): the ``by``
        columns, then

        - ``n``: cases with an outcome; ``n_missing``: cases in scope without one (not
          assessable or not yet reviewed);
        - ``estimate``, ``ci_low``, ``ci_high``: missing at random (as
          :func:`estimate_proportions`; NaN if the domain has no outcome at all);
        - ``estimate_missing_as_0``, ``estimate_missing_as_1``: the point bounds;
        - ``ci_low_missing_as_0``: lower confidence limit with missing as 0, and
          ``ci_high_missing_as_1``: upper confidence limit with missing as 1; together an
          interval that allows for both sampling error and any pattern of missingness.
    """
    check_design_columns(data, outcome, strata, population_size, by)
    return bounds_table(
        data, code_strata(data, strata, population_size), outcome, by, confidence_level,
        method, in_scope=in_scope, degenerate_strata=degenerate_strata,
    )  # fmt: skip


def bounds_table(
    data: pd.DataFrame,
    strata: CodedStrata,
    outcome: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    *,
    in_scope: str | Sequence[bool] | np.ndarray | pd.Series | None = None,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """:func:`outcome_bounds` on strata already coded (:func:`~stikprove.estimation.
    design_coding.code_strata` of ``data``): the same table and checks, the strata not checked
    again. Raises NotEstimableError when no case is in scope."""
    method = check_domain_method(method)
    level = check_confidence_level(confidence_level)
    variance = check_degenerate_strata(degenerate_strata, method)
    require_columns(data, "outcome", [outcome])
    by_cols = as_columns(by)
    require_columns(data, "by", by_cols)
    scope = in_scope_mask(data, in_scope)
    if not scope.any():
        raise NotEstimableError(
            f"in_scope: no case of the {len(data)} is in the indicator's population; the "
            "bounds need at least one"
        )
    # Only the cases in scope are read (a case outside has no outcome by definition).
    y = binary_outcome(data[scope], outcome)
    missing = np.isnan(y)

    def design_of(values: np.ndarray) -> CodedDesign:
        y_all = np.full(len(data), np.nan)
        y_all[scope] = values
        return code_domains(data, strata, y_all, by_cols)

    def table_of(design: CodedDesign) -> pd.DataFrame:
        return domain_table(design, summarise_domains(design, variance), level, method)

    design_low = design_of(np.where(missing, 0.0, y))
    low = table_of(design_low)
    high = table_of(design_of(np.where(missing, 1.0, y)))
    result = low[by_cols].copy()
    missing_all = np.zeros(len(data))
    missing_all[scope] = missing
    n_missing = np.bincount(
        design_low.domain, weights=missing_all[design_low.rows], minlength=len(low)
    )
    result["n_missing"] = np.round(n_missing).astype(np.int64)
    result["n"] = low["n"] - result["n_missing"]
    result = result[[*by_cols, "n", "n_missing"]]
    if (~missing).any():
        mar = table_of(design_of(y))
        merged = result[by_cols].merge(mar, how="left", on=by_cols) if by_cols else mar
        result["estimate"] = merged["estimate"].to_numpy()
        result["ci_low"] = merged["ci_low"].to_numpy()
        result["ci_high"] = merged["ci_high"].to_numpy()
    else:
        result["estimate"] = result["ci_low"] = result["ci_high"] = np.nan
    result["estimate_missing_as_0"] = low["estimate"].to_numpy()
    result["estimate_missing_as_1"] = high["estimate"].to_numpy()
    result["ci_low_missing_as_0"] = low["ci_low"].to_numpy()
    result["ci_high_missing_as_1"] = high["ci_high"].to_numpy()
    return result.reset_index(drop=True)


def estimate_categories(
    data: pd.DataFrame,
    variable: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    categories: Sequence[object] | None = None,
    missing_values: Sequence[object] = (),
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """The proportion of every category of ``variable``, per domain, in one long tidy frame.

    Each category c is estimated as the 0/1 outcome ``variable == c`` by
    :func:`estimate_proportions`, among the cases whose value is neither missing (NaN/None) nor
    in ``missing_values`` (e.g. ``("kan_ikke_vurderes",)``).

    Parameters
    ----------
    categories
        The categories to report, in this order (default: the observed values, sorted). A listed
        category that is never observed gets estimate 0 with its one-sided interval. A value
        observed but not listed is an error (it would silently change the denominator).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``category``, then the columns of :func:`estimate_proportions`;
        sorted by the ``by`` columns, then by category in the order of ``categories``.
    """
    check_design_columns(data, variable, strata, population_size, by)
    return categories_table(
        data, code_strata(data, strata, population_size), variable, by, confidence_level,
        method, categories, missing_values, degenerate_strata=degenerate_strata,
    )  # fmt: skip


def categories_table(
    data: pd.DataFrame,
    strata: CodedStrata,
    variable: str,
    by: str | Sequence[str] | None = None,
    confidence_level: float = 0.95,
    method: str = DEFAULT_METHOD,
    categories: Sequence[object] | None = None,
    missing_values: Sequence[object] = (),
    *,
    degenerate_strata: str | None = None,
) -> pd.DataFrame:
    """:func:`estimate_categories` on strata already coded (:func:`~stikprove.estimation.
    design_coding.code_strata` of ``data``): the same table and checks, the strata not
    checked again. Raises NotEstimableError when ``variable`` has no non-missing value."""
    method = check_domain_method(method)
    level = check_confidence_level(confidence_level)
    variance = check_degenerate_strata(degenerate_strata, method)
    require_columns(data, "outcome", [variable])
    by_cols = as_columns(by)
    require_columns(data, "by", by_cols)
    values = data[variable]
    missing = values.isna() | values.isin(list(missing_values))
    observed = pd.unique(values[~missing])
    if categories is None:
        try:
            categories = sorted(observed)
        except TypeError:
            categories = sorted(observed, key=str)
    else:
        categories = list(categories)
        both = [c for c in categories if c in list(missing_values)]
        if both:
            raise EstimationError(
                f"category {both[0]!r} is also in missing_values {list(missing_values)!r}; a "
                "value is either a category or missing, not both"
            )
        unknown = [v for v in observed if v not in categories]
        if unknown:
            raise EstimationError(
                f"column {variable!r} has value {unknown[0]!r} not among categories "
                f"{categories!r}; list it, or pass it in missing_values"
            )
    if not categories or missing.all():
        raise NotEstimableError(f"column {variable!r} has no non-missing values")
    frames = []
    for order, category in enumerate(categories):
        y = np.where(missing, np.nan, (values == category).astype(float))
        design = code_domains(data, strata, y, by_cols)
        table = domain_table(design, summarise_domains(design, variance), level, method)
        table.insert(len(by_cols), "category", [category] * len(table))
        table["__order"] = order
        frames.append(table)
    result = pd.concat(frames, ignore_index=True)
    result = result.sort_values([*by_cols, "__order"], kind="stable").drop(columns="__order")
    return result.reset_index(drop=True)
