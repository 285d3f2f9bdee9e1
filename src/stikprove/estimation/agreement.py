"""Agreement between two reviewers of the same cases: Cohen's kappa and percent agreement.

A share of the sampled cases is reviewed twice (``double_review`` in the drawn sample). For those
cases :func:`reviewer_agreement` cross-tabulates the two codes and reports how often the
reviewers agree and how much better than chance that is (Cohen's kappa), with a confidence
interval. The computation of kappa and its variance is statsmodels'
:func:`statsmodels.stats.inter_rater.cohens_kappa`; only the input handling, the confidence
interval for a chosen level and the result object are written here.

Variance. statsmodels' ``var_kappa`` for unweighted kappa is the large-sample (non-null) variance
of Fleiss, Cohen & Everitt (1969), eq. (13) (also Fleiss, Levin & Paik 2003, eq. 18.13), the one
psych::cohen.kappa uses in R; the interval is kappa ± z·se, cut to [−1, 1]. The p-value tests
kappa = 0 with the variance under that null (``std_kappa0``, Fleiss et al. 1969, eq. 14).

Degenerate tables. That variance is 0 when the reviewers agree on every pair (kappa = 1), when
they never agree in a 2 × 2 table with balanced margins (kappa = −1), and when one reviewer used
a single code (kappa = 0 whatever the other did): the Wald interval would be the single point
[kappa, kappa], for 22 pairs as for 22,000. (A bootstrap over pairs does not help: every
resample of a perfectly agreeing sample agrees perfectly.) There the interval is Cohen's (1960)
conditional one, which holds the chance agreement p_e at its observed value so that
kappa = (p_o − p_e)/(1 − p_e) is an increasing function of the observed agreement p_o alone,
with the exact Clopper & Pearson (1934) interval (l, u) for p_o (x agreeing pairs of n) in place
of Cohen's normal approximation: [(l − p_e)/(1 − p_e), (u − p_e)/(1 − p_e)], cut to [−1, 1].
For 22 of 22 pairs agreeing with p_e = .50 the 95 % interval is [0.69, 1]. In simulations of
2 × 2 tables with true kappa .80–.96 and 22 or 50 pairs (4,000 replications each) the Wald
interval alone covered 36–89 %, with this rule at the degenerate tables 99.3–100 %.
``interval_method`` says which interval was given.

References
----------
Cohen, J. (1960). A coefficient of agreement for nominal scales. *Educational and Psychological
Measurement* 20, 37-46.

Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in
the case of the binomial. *Biometrika* 26, 404-413.

Fleiss, J. L., Cohen, J. & Everitt, B. S. (1969). Large sample standard errors of kappa and
weighted kappa. *Psychological Bulletin* 72(5), 323-327.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.inter_rater import cohens_kappa

from stikprove.errors import EstimationError
from stikprove.exact_bounds import clopper_pearson_interval

__all__ = ["ReviewerAgreement", "reviewer_agreement"]


@dataclass(frozen=True)
class ReviewerAgreement:
    """Agreement between two reviewers on the same cases (see :func:`reviewer_agreement`)."""

    kappa: float
    """Cohen's kappa: (p_o − p_e)/(1 − p_e); NaN when p_e = 1 (both reviewers used one code)."""
    se: float
    """Large-sample standard error of kappa (Fleiss, Cohen & Everitt 1969)."""
    ci_low: float
    ci_high: float
    confidence_level: float
    p_value: float
    """Two-sided test of kappa = 0, with the variance under that null hypothesis."""
    percent_agreement: float
    """100 × share of pairs with the same code (p_o)."""
    expected_agreement: float
    """Share of pairs agreeing by chance given the two reviewers' margins (p_e), as a proportion."""
    n_pairs: int
    """Pairs used: both codes present."""
    n_dropped: int
    """Pairs dropped because one or both codes were missing."""
    categories: tuple
    """Categories in the order of the rows and columns of ``table``."""
    table: pd.DataFrame
    """Cross-table of counts: first reviewer in rows, second in columns."""
    interval_method: str = "fleiss-cohen-everitt"
    """``"fleiss-cohen-everitt"``: kappa ± z·se; ``"cohen-conditional-exact"``: the table is
    degenerate (se = 0) and the interval is Cohen's conditional one with Clopper–Pearson limits
    for the observed agreement; ``"undefined"``: both reviewers used one and the same code, kappa
    and its interval are NaN."""

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy frame of the scalar results (no table)."""
        return pd.DataFrame(
            [
                {
                    "n_pairs": self.n_pairs,
                    "n_dropped": self.n_dropped,
                    "percent_agreement": self.percent_agreement,
                    "expected_agreement": self.expected_agreement,
                    "kappa": self.kappa,
                    "se": self.se,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                    "confidence_level": self.confidence_level,
                    "p_value": self.p_value,
                    "interval_method": self.interval_method,
                }
            ]
        )

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.3f}")


def reviewer_agreement(
    first: pd.Series | Sequence,
    second: pd.Series | Sequence,
    categories: Sequence | None = None,
    confidence_level: float = 0.95,
) -> ReviewerAgreement:
    """Cohen's kappa, its standard error and confidence interval, and percent agreement.

    Parameters
    ----------
    first, second
        The two reviewers' codes for the same cases, aligned: pandas Series are matched on their
        index (which must then be the same set of labels), other sequences by position. Binary
        (0/1, ja/nej) or multi-category codes. Pairs where either code is missing are dropped and
        counted in ``n_dropped``.
    categories
        All codes that could be used, in the order wanted in the table. A category nobody used
        still counts (it changes nothing in kappa but shows in the table). A code outside
        ``categories`` is refused. Default: the codes seen, sorted.
    confidence_level
        Of the interval, in (0, 1).

    Returns
    -------
    ReviewerAgreement
        Frozen result; ``to_frame()`` gives a one-row tidy frame.

    Notes
    -----
    Kappa and its variance come from ``statsmodels.stats.inter_rater.cohens_kappa`` (simple,
    unweighted kappa; variance of Fleiss, Cohen & Everitt 1969). The interval is the Wald interval
    kappa ± z·se cut to [−1, 1], except where that variance is 0 (perfect agreement, one reviewer
    using a single code, complete disagreement in a balanced 2 × 2 table): then Cohen's (1960)
    conditional interval with exact Clopper–Pearson limits for the observed agreement (module
    docstring), never a single point; ``interval_method`` says which. When both reviewers gave
    every case one and the same code the expected agreement is 1 and kappa is undefined: kappa,
    se, the interval and the p-value are NaN, percent agreement is 100 and ``interval_method``
    is ``"undefined"``. The p-value is NaN too where the variance under the null is 0 (one
    reviewer used a single code: kappa is 0 whatever the other did).

    Examples
    --------
    >>> a = pd.Series(["ja", "ja", "nej", "nej", "ja", "nej"])
    >>> b = pd.Series(["ja", "nej", "nej", "nej", "ja", "nej"])
    >>> r = reviewer_agreement(a, b)
    >>> round(r.percent_agreement, 1), round(r.kappa, 3)
    (83.3, 0.667)
    """
    if isinstance(confidence_level, bool) or not isinstance(confidence_level, int | float):
        raise EstimationError(
            f"confidence_level must be a number in (0, 1), got {confidence_level!r}"
        )
    if not 0.0 < float(confidence_level) < 1.0:
        raise EstimationError(
            f"confidence_level must be a number in (0, 1), got {confidence_level!r}"
        )
    a, b = _aligned(first, second)
    both = a.notna().to_numpy() & b.notna().to_numpy()
    n_dropped = int((~both).sum())
    a, b = a[both], b[both]
    if len(a) == 0:
        raise EstimationError(
            f"first and second have no pair with both codes present ({n_dropped} pair(s) "
            "dropped as missing); expected at least one reviewed pair"
        )

    seen = pd.unique(pd.concat([a, b], ignore_index=True))
    if categories is None:
        try:
            cats = tuple(sorted(seen.tolist()))
        except TypeError:
            cats = tuple(seen.tolist())
    else:
        cats = tuple(categories)
        if len(set(cats)) != len(cats):
            raise EstimationError(f"categories must not repeat a code, got {list(cats)!r}")
        unknown = [v for v in seen.tolist() if v not in set(cats)]
        if unknown:
            raise EstimationError(
                f"codes {unknown!r} are not among categories {list(cats)!r}; expected every code "
                "to be one of the categories"
            )
    if len(cats) < 2:
        # One category in use and none other declared: a 1x1 table; pad with a never-used slot
        # would invent a category, so report the degenerate case directly.
        return _degenerate(cats, len(a), n_dropped, float(confidence_level))

    index = {c: i for i, c in enumerate(cats)}
    rows = np.fromiter((index[v] for v in a.tolist()), dtype=np.intp, count=len(a))
    cols = np.fromiter((index[v] for v in b.tolist()), dtype=np.intp, count=len(b))
    k = len(cats)
    counts = np.bincount(rows * k + cols, minlength=k * k).reshape(k, k)
    table = pd.DataFrame(
        counts,
        index=pd.Index(cats, name="first"),
        columns=pd.Index(cats, name="second"),
    )

    n = int(counts.sum())
    observed = float(np.trace(counts)) / n
    expected = float(counts.sum(axis=1) @ counts.sum(axis=0)) / n**2
    if expected >= 1.0 - 1e-15:
        return _degenerate(cats, n, n_dropped, float(confidence_level), table=table)

    with np.errstate(divide="ignore", invalid="ignore"):  # its z = kappa/0 where se0 = 0
        res = cohens_kappa(counts)
    kappa = float(res["kappa"])
    se = float(res["std_kappa"])
    se0 = float(res["std_kappa0"])
    z = stats.norm.ppf(0.5 + float(confidence_level) / 2.0)
    p_value = float(2.0 * stats.norm.sf(abs(kappa) / se0)) if se0 > 1e-12 else float("nan")
    # se·√n is the per-pair standard deviation, of order 1 unless the table is degenerate (then
    # 0 up to rounding, e.g. 3e-8·√22 when one reviewer used a single code).
    if np.isfinite(se) and se * np.sqrt(n) > 1e-6:
        ci_low, ci_high = max(-1.0, kappa - z * se), min(1.0, kappa + z * se)
        interval_method = "fleiss-cohen-everitt"
    else:
        ci_low, ci_high = _conditional_exact(
            int(np.trace(counts)), n, expected, 1.0 - float(confidence_level)
        )
        interval_method = "cohen-conditional-exact"
        se = 0.0  # exactly 0 in theory; statsmodels leaves rounding noise (3e-8)
    return ReviewerAgreement(
        kappa=kappa,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        confidence_level=float(confidence_level),
        p_value=p_value,
        percent_agreement=100.0 * observed,
        expected_agreement=expected,
        n_pairs=n,
        n_dropped=n_dropped,
        categories=cats,
        table=table,
        interval_method=interval_method,
    )


def _conditional_exact(agree: int, n: int, expected: float, alpha: float) -> tuple[float, float]:
    """Cohen's (1960) conditional interval with exact limits for the observed agreement.

    p_e fixed at ``expected``; Clopper–Pearson limits (l, u) for ``agree`` of ``n`` mapped by
    kappa = (p_o − p_e)/(1 − p_e), cut to [−1, 1].
    """
    low, high = (float(b) for b in clopper_pearson_interval(agree, n, alpha))
    scale = 1.0 - expected
    return (
        float(max(-1.0, (low - expected) / scale)),
        float(min(1.0, (high - expected) / scale)),
    )


def _aligned(first: object, second: object) -> tuple[pd.Series, pd.Series]:
    """The two code vectors as Series aligned pair by pair (object dtype, missing as NA)."""
    for name, value in (("first", first), ("second", second)):
        if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
            raise EstimationError(
                f"{name} must be a pandas Series or sequence of codes, got {type(value).__name__}"
            )
    if isinstance(first, pd.Series) and isinstance(second, pd.Series):
        if not first.index.is_unique or not second.index.is_unique:
            raise EstimationError(
                "first and second must have unique index labels (one code per case), "
                "got duplicated labels"
            )
        if len(first) != len(second) or not first.index.isin(second.index).all():
            only = first.index.difference(second.index).union(second.index.difference(first.index))
            raise EstimationError(
                "first and second must cover the same cases (index labels); "
                f"labels in only one of them: {list(only[:5])!r} ({len(only)} in all)"
            )
        second = second.reindex(first.index)
        return first.astype(object), second.astype(object)
    a = pd.Series(list(first), dtype=object)  # type: ignore[call-overload]
    b = pd.Series(list(second), dtype=object)  # type: ignore[call-overload]
    if len(a) != len(b):
        raise EstimationError(
            f"first and second must have the same length (one code per case each), "
            f"got {len(a)} and {len(b)}"
        )
    return a, b


def _degenerate(
    cats: tuple,
    n: int,
    n_dropped: int,
    confidence_level: float,
    table: pd.DataFrame | None = None,
) -> ReviewerAgreement:
    """All pairs agree on a single code: agreement is 100 %, kappa is undefined."""
    if table is None:
        table = pd.DataFrame(
            [[n]], index=pd.Index(cats, name="first"), columns=pd.Index(cats, name="second")
        )
    nan = float("nan")
    return ReviewerAgreement(
        kappa=nan,
        se=nan,
        ci_low=nan,
        ci_high=nan,
        confidence_level=confidence_level,
        p_value=nan,
        percent_agreement=100.0,
        expected_agreement=1.0,
        n_pairs=n,
        n_dropped=n_dropped,
        categories=cats,
        table=table,
        interval_method="undefined",
    )
