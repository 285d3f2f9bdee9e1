"""Many kommuner at once: tests against the national rate and funnel-plot limits.

Two tools for a national overview that shows 98 kommuner side by side:

- :func:`flag_differences` tests, for every domain (kommune) of an estimates table, whether its rate
  differs from the national rate, and adjusts the p-values for the number of kommuner tested with
  Benjamini & Hochberg's false discovery rate (through
  :func:`statsmodels.stats.multitest.multipletests`). Given the design
  (:func:`~stikprove.estimation.linearization.domain_linearization`), the test is of p̂_k − p̂_nation
  with the covariance of the two estimates: the kommune is part of the nation.
- :func:`funnel_limits` gives the control limits of a funnel plot (Spiegelhalter 2005) as a tidy
  frame, ready to draw beside each kommune's estimate plotted against its (effective) sample size.
- :func:`funnel_flags` is the test a funnel plot draws: each kommune's rate against the national
  rate on the funnel's own null variance, adjusted for the many kommuner (false discovery rate,
  Jones, Ohlssen & Spiegelhalter 2008), with the level of the one limit that separates the
  flagged kommuner from the others, so that a point drawn outside the limit is flagged and one
  inside is not.

Written by hand: the per-domain t test (a few lines on top of :mod:`scipy.stats`) and the exact
binomial funnel limits with Spiegelhalter's interpolation, which no library we depend on offers.

References
----------
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate: a practical and powerful
approach to multiple testing. *JRSS B* 57(1), 289-300.

Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
*Statistics in Medicine* 24(8), 1185-1202 (Appendix A.1.1: exact binomial limits, interpolated).

Jones, H. E., Ohlssen, D. I. & Spiegelhalter, D. J. (2008). Use of the false discovery rate when
comparing the performance of healthcare providers. *Quality and Safety in Health Care* 17(2),
112-118.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from stikprove.errors import EstimationError, NotEstimableError
from stikprove.estimation.linearization import DomainLinearization
from stikprove.variance import NEGLIGIBLE_VARIANCE

__all__ = [
    "ADJUSTMENT_METHODS",
    "FUNNEL_ADJUSTMENTS",
    "FUNNEL_METHODS",
    "REFERENCES",
    "FunnelFlags",
    "flag_differences",
    "funnel_flags",
    "funnel_limits",
]

ADJUSTMENT_METHODS = ("fdr_bh", "fdr_by", "holm", "bonferroni", "none")
"""p-value adjustments accepted by :func:`flag_differences` (statsmodels' names; "none" = raw)."""

REFERENCES = ("auto", "design", "fixed")
"""How :func:`flag_differences` treats the national rate: estimated from the same design
(``design``), a fixed number (``fixed``), or ``auto`` (design when it is given)."""

FUNNEL_METHODS = ("exact", "normal")
"""Ways :func:`funnel_limits` computes the control limits."""

_ALTERNATIVES = ("two-sided", "greater", "less")

FUNNEL_ADJUSTMENTS = ("fdr_bh", "bonferroni", "none")
"""Adjustments :func:`funnel_flags` accepts: each has one p-value threshold that separates the
flagged domains from the others, so it can be drawn as one funnel limit."""


def _check_rate(name: str, value: object) -> float:
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EstimationError(f"{name} must be a proportion in [0, 1], got {value!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise EstimationError(f"{name} must be a proportion in [0, 1], got {value!r}")
    return rate


def flag_differences(
    estimates: pd.DataFrame,
    national_rate: float | None = None,
    *,
    design: DomainLinearization | None = None,
    reference: str = "auto",
    alpha: float = 0.05,
    adjust: str = "fdr_bh",
    alternative: str = "two-sided",
    estimate: str = "estimate",
    se: str = "se",
    df: str = "df",
) -> pd.DataFrame:
    """Test each domain's rate against the national rate, adjusting for the many domains tested.

    Two tests, chosen by ``reference``:

    - ``"design"`` (the default when ``design`` is given): the national rate is the design's
      own whole-population estimate p̂ and the kommune is part of it, so the test is of the
      contrast p̂_d − p̂ with var = v_d + v − 2·cov(p̂_d, p̂), all three from the one
      linearization (:meth:`~stikprove.estimation.linearization.DomainLinearization.covariance`
      with :meth:`~stikprove.estimation.linearization.DomainLinearization.overall`; as R's
      ``svycontrast``
      on ``svytotal`` of the indicator variables, tests/fixtures/r/flag_national.R), and
      t = (p̂_d − p̂)/se on the design's degrees of freedom (cases − strata of the whole
      sample, R's ``degf``; the contrast involves every stratum). ``estimate``, ``se`` and
      ``df`` of ``estimates`` are not used: the rows are matched to the design's domains by
      its ``by`` columns.
    - ``"fixed"`` (the default without ``design``): for domain *d* with estimate p̂_d, standard
      error se_d and design degrees of freedom df_d (the columns of
      :func:`stikprove.estimation.domains.estimate_proportions`), t_d = (p̂_d − p₀) / se_d on
      df_d degrees of freedom (the standard normal where df_d is infinite). The national rate
      p₀ is a fixed number: its own standard error is ignored and so is the kommune's share in
      it (fine for a rate from another source, a register or last year's study).

    The p-values of the domains tested are then adjusted together, by default with Benjamini &
    Hochberg's (1995) step-up procedure (``adjust="fdr_bh"``, statsmodels'
    ``multipletests``), so that among the domains flagged at level ``alpha`` the expected share
    of false discoveries is at most ``alpha``.

    A domain is *not tested* (p_value and p_adjusted missing, ``tested`` False, and it takes no
    part in the adjustment) when its se is missing or zero or its df is missing or below 1 (with
    ``design``: its own linearization variance is 0 or its df below 1, or the contrast's
    variance is 0): a census domain or one with no events or only events has no usable sampling
    distribution for a t test, and a zero se would otherwise give a spurious p-value of 0.

    Parameters
    ----------
    estimates
        One row per domain, with at least the columns named by ``estimate``, ``se`` and ``df``.
    national_rate
        The reference rate p₀ in [0, 1], for ``reference="fixed"``; leave it None with
        ``reference="design"`` (the design's own estimate is used).
    design
        :func:`~stikprove.estimation.linearization.domain_linearization` of the sample, with ``by``
        the columns that identify the rows of ``estimates`` (e.g. ``"kommune_code"``).
    reference
        One of :data:`REFERENCES`.
    alpha
        Level at which ``flagged`` is set (on the adjusted p-value), in (0, 1).
    adjust
        One of :data:`ADJUSTMENT_METHODS`.
    alternative
        "two-sided" (differs), "greater" (domain rate above p₀) or "less".
    estimate, se, df
        Column names in ``estimates``.

    Returns
    -------
    pandas.DataFrame
        A copy of ``estimates`` (same index and order) with columns added:
        ``national_rate`` (p₀, or the design's p̂), ``difference`` (p̂_d − p₀),
        ``se_difference`` (se_d, or the contrast's se), ``df_difference`` (df_d, or the
        design's df), ``statistic`` (t_d), ``p_value`` (unadjusted), ``p_adjusted``,
        ``tested`` (bool) and ``flagged`` (bool: tested and p_adjusted ≤ alpha). The same
        columns for both references.

    Examples
    --------
    >>> est = pd.DataFrame({"kommune_code": ["101", "461"], "estimate": [0.10, 0.30],
    ...                     "se": [0.02, 0.05], "df": [200, 80]})
    >>> out = flag_differences(est, national_rate=0.12)
    >>> out["flagged"].tolist()
    [False, True]
    """
    if not isinstance(estimates, pd.DataFrame):
        raise EstimationError(
            f"estimates must be a pandas DataFrame, got {type(estimates).__name__}"
        )
    if reference not in REFERENCES:
        raise EstimationError(f"reference must be one of {REFERENCES}, got {reference!r}")
    if design is not None and not isinstance(design, DomainLinearization):
        raise EstimationError(
            "design must be the result of domain_linearization(data, outcome, strata, "
            f"population_size, by=...), got {type(design).__name__}"
        )
    chosen = reference if reference != "auto" else ("design" if design is not None else "fixed")
    if chosen == "design" and design is None:
        raise EstimationError(
            "reference='design' needs design=domain_linearization(...); got design=None"
        )
    if chosen == "design" and national_rate is not None:
        raise EstimationError(
            f"national_rate must be None with reference='design' (the design's own estimate of "
            f"the whole population is used), got {national_rate!r}; pass reference='fixed' to "
            "test against a fixed rate"
        )
    if chosen == "fixed" and national_rate is None:
        raise EstimationError(
            "national_rate is needed for reference='fixed' (no design given), got None"
        )
    if not (isinstance(alpha, int | float) and 0.0 < float(alpha) < 1.0):
        raise EstimationError(f"alpha must be a number in (0, 1), got {alpha!r}")
    if adjust not in ADJUSTMENT_METHODS:
        raise EstimationError(f"adjust must be one of {ADJUSTMENT_METHODS}, got {adjust!r}")
    if alternative not in _ALTERNATIVES:
        raise EstimationError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")

    if chosen == "design":
        p0, difference, s, dof, testable = _design_contrasts(estimates, design)
    else:
        p0 = _check_rate("national_rate", national_rate)
        p_hat, s, dof = _fixed_columns(estimates, estimate, se, df)
        difference = p_hat - p0
        testable = np.isfinite(p_hat) & np.isfinite(s) & (s > 0) & ~np.isnan(dof) & (dof >= 1)

    tested = testable
    statistic = np.full(len(difference), np.nan)
    statistic[tested] = difference[tested] / s[tested]
    p_value = np.full(len(difference), np.nan)
    t = statistic[tested]
    dist = stats.t(dof[tested])  # df = inf gives the standard normal
    if alternative == "two-sided":
        p_value[tested] = 2.0 * dist.sf(np.abs(t))
    elif alternative == "greater":
        p_value[tested] = dist.sf(t)
    else:
        p_value[tested] = dist.cdf(t)
    p_value = np.minimum(p_value, 1.0)

    p_adjusted = np.full(len(difference), np.nan)
    if tested.any():
        if adjust == "none":
            p_adjusted[tested] = p_value[tested]
        else:
            p_adjusted[tested] = multipletests(p_value[tested], alpha=alpha, method=adjust)[1]

    out = estimates.copy()
    out["national_rate"] = p0
    out["difference"] = difference
    out["se_difference"] = s
    out["df_difference"] = dof
    out["statistic"] = statistic
    out["p_value"] = p_value
    out["p_adjusted"] = p_adjusted
    out["tested"] = tested
    out["flagged"] = tested & (np.nan_to_num(p_adjusted, nan=1.0) <= alpha)
    return out


def _fixed_columns(
    estimates: pd.DataFrame, estimate: str, se: str, df: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The estimate, se and df columns as float arrays, checked."""
    missing = [c for c in (estimate, se, df) if c not in estimates.columns]
    if missing:
        raise EstimationError(
            f"estimates lacks column(s) {missing}; expected columns {estimate!r}, {se!r}, {df!r} "
            f"(got {list(estimates.columns)})"
        )
    values = {}
    for column in (estimate, se, df):
        try:
            values[column] = pd.to_numeric(estimates[column]).to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise EstimationError(
                f"column {column!r} of estimates must be numeric, got dtype "
                f"{estimates[column].dtype}"
            ) from None
    p_hat, s, dof = values[estimate], values[se], values[df]
    bad = np.isfinite(p_hat) & ((p_hat < 0) | (p_hat > 1))
    if bad.any():
        raise EstimationError(
            f"column {estimate!r} must hold proportions in [0, 1], got {p_hat[bad][0]!r}"
        )
    if (np.isfinite(s) & (s < 0)).any():
        raise EstimationError(f"column {se!r} must be non-negative, got {s[s < 0][0]!r}")
    return p_hat, s, dof


def _plain_keys(keys: dict) -> str:
    """{'kommune_code': '461'} as kommune_code 461."""
    return ", ".join(f"{column} {value}" for column, value in keys.items())


def _design_contrasts(
    estimates: pd.DataFrame, design: DomainLinearization
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """p̂, and per row of estimates: p̂_d − p̂, its se, the design df, and whether testable."""
    keys = list(design.keys.columns)
    if not keys:
        raise EstimationError(
            "design must be a linearization by domain (domain_linearization(..., by=...)); "
            "got one for the whole population only"
        )
    if len(design.keys) == 1:
        only = design.keys.iloc[0].to_dict()
        raise NotEstimableError(
            f"the design has a single domain ({_plain_keys(only)}), so the nation it would be "
            "tested against is that domain itself (difference 0 by construction): flagging "
            "needs a sample with at least two domains, or reference='fixed' with a national "
            "rate from elsewhere"
        )
    absent = [c for c in keys if c not in estimates.columns]
    if absent:
        raise EstimationError(
            f"estimates lacks the design's by column(s) {absent}; got {list(estimates.columns)}"
        )
    index = pd.MultiIndex.from_frame(design.keys.astype(object))
    wanted = pd.MultiIndex.from_frame(estimates[keys].astype(object))
    position = index.get_indexer(wanted)
    if (position < 0).any():
        row = int(np.flatnonzero(position < 0)[0])
        raise EstimationError(
            f"domain {dict(zip(keys, wanted[row], strict=True))!r} of estimates (row {row + 1}) "
            "has no case with an outcome in the design"
        )
    nation = design.overall()
    p0 = float(nation.estimate[0])
    covariance = design.covariance(nation)[:, 0]
    variance = design.variance + nation.variance[0] - 2.0 * covariance
    variance = np.maximum(variance, 0.0)[position]
    difference = design.estimate[position] - p0
    dof = np.full(len(position), float(design.design_df))
    testable = (
        (design.variance[position] > NEGLIGIBLE_VARIANCE)  # se > 1e-10, as the intervals
        & (design.df[position] >= 1)
        & (variance > NEGLIGIBLE_VARIANCE)
    )
    return p0, difference, np.sqrt(variance), dof, testable


def _exact_limit(n: np.ndarray, rate: float, prob: float) -> np.ndarray:
    """Spiegelhalter's (2005, A.1.1) interpolated binomial quantile, as a proportion of n.

    r_p is the smallest r with P(R ≤ r) ≥ p for R ~ Binomial(n, rate); the limit is
    (r_p − α)/n with α = (P(R ≤ r_p) − p) / (P(R ≤ r_p) − P(R ≤ r_p − 1)), which makes the
    limits a smooth function of n instead of a staircase.

    At rate 0 or 1 every kommune shows exactly that rate (R is n·rate with certainty): both
    limits are the rate. (The formula would give 0 at rate 0 but (n − (1 − p))/n below 1 at
    rate 1, flagging every kommune at 100 % as above the upper limit.)
    """
    if rate <= 0.0 or rate >= 1.0:
        return np.full(np.shape(n), float(rate))
    r = stats.binom.ppf(prob, n, rate)
    f_r = stats.binom.cdf(r, n, rate)
    f_below = stats.binom.cdf(r - 1, n, rate)
    step = f_r - f_below
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(step > 0, (f_r - prob) / step, 0.0)
    return np.clip((r - a) / n, 0.0, 1.0)


def funnel_limits(
    national_rate: float,
    sample_sizes: Iterable[float] | float,
    levels: Sequence[float] = (0.95, 0.998),
    method: str = "exact",
) -> pd.DataFrame:
    """Funnel-plot control limits around the national rate (Spiegelhalter 2005).

    For each sample size n and each level (e.g. 0.95 and 0.998, Spiegelhalter's "2 and 3 standard
    deviations"), the limits are the p_low = (1 − level)/2 and p_high = (1 + level)/2 quantiles of
    the proportion of events among n cases when every kommune had the national rate θ:

    - ``method="exact"`` (default): the binomial quantiles with Spiegelhalter's interpolation
      (2005, Appendix A.1.1): with r_p the smallest r such that P(R ≤ r) ≥ p,
      the limit is (r_p − α)/n, α = (P(R ≤ r_p) − p)/(P(R ≤ r_p) − P(R ≤ r_p − 1)).
      The sample sizes must be whole numbers.
    - ``method="normal"``: θ ± z_p √(θ(1 − θ)/n), clipped to [0, 1]; any positive n (for
      instance effective sample sizes).

    To place a design-based estimate on the plot, use its effective sample size (``n_eff`` of
    the estimates table) as n; the limits then describe what a simple random sample of that size
    would show.

    Parameters
    ----------
    national_rate
        θ in [0, 1].
    sample_sizes
        One or more positive sample sizes (the x axis of the funnel).
    levels
        Coverage levels of the limits, each in (0, 1).
    method
        One of :data:`FUNNEL_METHODS`.

    Returns
    -------
    pandas.DataFrame
        One row per (sample size, level), sorted by n then level, with columns
        ``n``, ``level``, ``national_rate``, ``lower``, ``upper``.

    Examples
    --------
    >>> funnel_limits(0.5, [10], levels=[0.95]).round(6)[["n", "lower", "upper"]]
          n     lower     upper
    0  10.0  0.132444  0.767556
    """
    theta = _check_rate("national_rate", national_rate)
    if method not in FUNNEL_METHODS:
        raise EstimationError(f"method must be one of {FUNNEL_METHODS}, got {method!r}")
    try:
        n = np.atleast_1d(np.asarray(sample_sizes, dtype=float))
    except (TypeError, ValueError):
        raise EstimationError(
            f"sample_sizes must be positive numbers, got {sample_sizes!r}"
        ) from None
    if n.ndim != 1 or n.size == 0:
        raise EstimationError(f"sample_sizes must be one or more numbers, got {sample_sizes!r}")
    bad = ~np.isfinite(n) | (n <= 0)
    if bad.any():
        raise EstimationError(f"sample_sizes must be positive and finite, got {n[bad][0]!r}")
    if method == "exact" and not np.all(n == np.round(n)):
        odd = n[n != np.round(n)][0]
        raise EstimationError(
            f"sample_sizes must be whole numbers for method='exact', got {odd!r} "
            "(round them, or use method='normal' for effective sample sizes)"
        )
    try:
        lv = np.atleast_1d(np.asarray(levels, dtype=float))
    except (TypeError, ValueError):
        raise EstimationError(f"levels must be numbers in (0, 1), got {levels!r}") from None
    if lv.ndim != 1 or lv.size == 0 or not np.all((lv > 0) & (lv < 1)):
        raise EstimationError(f"levels must be one or more numbers in (0, 1), got {levels!r}")

    grids = np.meshgrid(np.unique(n), np.unique(lv), indexing="ij")
    n_grid, level_grid = grids[0].ravel(), grids[1].ravel()
    p_low = (1.0 - level_grid) / 2.0
    p_high = (1.0 + level_grid) / 2.0
    if method == "exact":
        lower = _exact_limit(n_grid, theta, p_low)
        upper = _exact_limit(n_grid, theta, p_high)
    else:
        half = stats.norm.ppf(p_high) * np.sqrt(theta * (1.0 - theta) / n_grid)
        lower = np.clip(theta - half, 0.0, 1.0)
        upper = np.clip(theta + half, 0.0, 1.0)
    return pd.DataFrame(
        {
            "n": n_grid,
            "level": level_grid,
            "national_rate": theta,
            "lower": lower,
            "upper": upper,
        }
    )


@dataclass(frozen=True)
class FunnelFlags:
    """The funnel plot's test (:func:`funnel_flags`), one value per domain in each array."""

    z: np.ndarray
    """(p̂_d − θ)/√(θ(1 − θ)/n_eff,d); NaN where not tested."""
    p_value: np.ndarray
    """Two-sided normal p-value of z."""
    p_adjusted: np.ndarray
    """The adjusted p-value (statsmodels' ``multipletests``)."""
    flagged: np.ndarray
    """Tested and p_value ≤ the threshold: outside the limit at ``limit_level``."""
    limit_level: float
    """1 − the p-value threshold: draw :func:`funnel_limits` at this level
    (``method="normal"``) and exactly the flagged domains lie outside."""


def funnel_flags(
    estimate: Sequence[float] | np.ndarray | pd.Series,
    n_eff: Sequence[float] | np.ndarray | pd.Series,
    national_rate: float,
    *,
    alpha: float = 0.05,
    adjust: str = "fdr_bh",
) -> FunnelFlags:
    """The test a funnel plot draws (Spiegelhalter 2005), adjusted for the many domains.

    Each domain's rate p̂_d is compared with the national rate θ on the funnel's null
    variance θ(1 − θ)/n_eff,d (the variance of a domain with the national rate and the domain's
    effective sample size: :func:`funnel_limits` with ``method="normal"`` draws its limits):
    z_d = (p̂_d − θ)/√(θ(1 − θ)/n_eff,d), two-sided normal p-value. The p-values are adjusted
    together; with ``adjust="fdr_bh"`` (default) as Jones, Ohlssen & Spiegelhalter (2008)
    propose for funnel plots of many providers: Benjamini & Hochberg's step-up rejects the k*
    smallest p-values, k* = max{k: p_(k) ≤ α k/m}, i.e. every p-value ≤ α·k*/m. That threshold
    (α/m when nothing is rejected: no domain is then beyond it) is one funnel limit, at level
    1 − α·max(k*, 1)/m: a domain is flagged exactly when it lies outside. ``bonferroni``: the
    threshold α/m; ``none``: α.

    θ is treated as known (the domain's own share in it is ignored, which makes the test
    conservative for a large domain: p̂_d − θ = (1 − w_d)(p̂_d − θ_others)). A domain without an
    estimate or with n_eff ≤ 0, or every domain when θ is 0 or 1 (no null variance), is not
    tested (NaN, not flagged) and takes no part in the adjustment.

    Written by hand on scipy's normal distribution and statsmodels' ``multipletests``: no
    library gives the threshold of the adjustment as a funnel limit.

    >>> f = funnel_flags([0.30, 0.12, 0.50], [200, 150, 100], 0.3)
    >>> f.flagged.tolist(), round(f.limit_level, 4)
    ([False, True, True], 0.9667)
    """
    theta = _check_rate("national_rate", national_rate)
    if not (isinstance(alpha, int | float) and 0.0 < float(alpha) < 1.0):
        raise EstimationError(f"alpha must be a number in (0, 1), got {alpha!r}")
    if adjust not in FUNNEL_ADJUSTMENTS:
        raise EstimationError(f"adjust must be one of {FUNNEL_ADJUSTMENTS}, got {adjust!r}")
    p_hat = pd.to_numeric(pd.Series(np.asarray(estimate, dtype=object)), errors="coerce")
    size = pd.to_numeric(pd.Series(np.asarray(n_eff, dtype=object)), errors="coerce")
    if len(p_hat) != len(size):
        raise EstimationError(
            f"estimate and n_eff must have one value per domain; got {len(p_hat)} and {len(size)}"
        )
    p_hat, size = p_hat.to_numpy(dtype=float), size.to_numpy(dtype=float)
    tested = np.isfinite(p_hat) & np.isfinite(size) & (size > 0) & (0.0 < theta < 1.0)
    z = np.full(len(p_hat), np.nan)
    z[tested] = (p_hat[tested] - theta) / np.sqrt(theta * (1 - theta) / size[tested])
    p_value = np.full(len(p_hat), np.nan)
    p_value[tested] = 2.0 * stats.norm.sf(np.abs(z[tested]))
    p_adjusted = np.full(len(p_hat), np.nan)
    m = int(tested.sum())
    threshold = float(alpha)
    if m:
        if adjust == "none":
            p_adjusted[tested] = p_value[tested]
        else:
            p_adjusted[tested] = multipletests(p_value[tested], alpha=alpha, method=adjust)[1]
        if adjust == "bonferroni":
            threshold = alpha / m
        elif adjust == "fdr_bh":
            ranked = np.sort(p_value[tested])
            passing = np.flatnonzero(ranked <= alpha * np.arange(1, m + 1) / m)
            threshold = alpha * (passing[-1] + 1 if passing.size else 1) / m
    flagged = tested & (np.nan_to_num(p_value, nan=1.0) <= threshold)
    return FunnelFlags(z, p_value, p_adjusted, flagged, float(1.0 - threshold))
