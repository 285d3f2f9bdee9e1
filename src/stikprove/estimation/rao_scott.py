"""Testing equal rates across several groups: the Rao–Scott corrected chi-square.

:func:`rao_scott_test` tests whether the groups of a column share one rate in a stratified
simple random sample without replacement, with the Rao–Scott correction of Pearson's chi-square
for the sampling design: R's ``svychisq`` (survey 4.1; tests/fixtures/r/comparison.R). The cell
proportions' covariance comes from :func:`stikprove.estimation.linearization.linearize`, the one
linearization the domain estimates use too. Two groups' difference and ratio are in
:mod:`stikprove.estimation.comparison`, which re-exports this module's public names.

References
----------
Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley. (R package survey 4.1:
``svychisq``.)

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

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from stikprove.errors import EstimationError, NotEstimableError
from stikprove.estimation.design_coding import (
    CodedStrata,
    as_columns,
    code_design,
    code_sample,
    code_strata,
)
from stikprove.estimation.domain_summary import check_degenerate_strata
from stikprove.estimation.linearization import DomainLinearization, linearize
from stikprove.methods import old_positional_order, renamed_argument

__all__ = ["RAO_SCOTT_STATISTICS", "RaoScottTest", "rao_scott_coded", "rao_scott_test"]

RAO_SCOTT_STATISTICS = ("F", "Chisq")
"""Forms of :func:`rao_scott_test`: second-order F (R's default) and first-order chi-square."""


def _columns(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _plain(value: object) -> object:
    """A numpy scalar as the Python value, for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _stratum_name(data: pd.DataFrame, strata: str | Sequence[str], position: int) -> str:
    """The stratum of the case at ``position`` as one quoted string: 'k1|c1', not ('k1|c1',).

    Several strata columns are joined with "|".
    """
    values = data.iloc[position][_columns(strata)].tolist()
    return repr("|".join(str(_plain(v)) for v in values))


def _lonely_strata(
    lin: DomainLinearization, data: pd.DataFrame, strata: str | Sequence[str]
) -> list[str]:
    """Names of the sampled strata with a single case with an outcome (n_h = 1 < N_h)."""
    lonely = np.flatnonzero((lin.sample_size == 1) & (lin.sample_size < lin.population_size))
    return [_stratum_name(data, strata, int(lin.rows[lin.stratum == h][0])) for h in lonely]



@dataclass(frozen=True)
class RaoScottTest:
    """Rao–Scott test of independence of outcome and group (see :func:`rao_scott_test`)."""

    statistic: float
    """F (second order) or the first-order corrected chi-square X²/δ̄."""
    df: float
    """Numerator degrees of freedom: d = tr(Δ)²/tr(Δ²) for F, (r − 1)(c − 1) for Chisq."""
    df_denominator: float
    """d·ν for F, with ν = cases − strata; infinite for Chisq."""
    p_value: float
    pearson: float
    """Pearson's X² on the weighted table scaled to the sample size (R's svytable Ntotal=n)."""
    mean_design_effect: float
    """δ̄ = tr(Δ)/((r − 1)(c − 1)), the mean generalized design effect."""
    statistic_type: str
    n: int
    groups: tuple

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy frame with the fields as columns (groups joined as text)."""
        row = asdict(self)
        row["groups"] = ", ".join(map(str, self.groups))
        return pd.DataFrame([row])

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")


_OLD_RAO_SCOTT_ORDER = ("data", "outcome", "by", "strata", "population_size", "statistic")
"""rao_scott_test's positional order before 0.2.0: by before strata and population_size."""


def _numeric_column(data: object, name: object) -> bool | None:
    """Whether ``name`` is a numeric column of ``data`` (None: not a column at all)."""
    if not isinstance(data, pd.DataFrame) or not isinstance(name, str) or name not in data:
        return None
    return bool(pd.api.types.is_numeric_dtype(data[name].dtype))


def _codes(data: pd.DataFrame, strata: object, population_size: object) -> bool:
    """Whether (strata, population_size) is a valid design of ``data``."""
    try:
        code_strata(data, strata, population_size)  # type: ignore[arg-type]
    except (EstimationError, TypeError):
        return False
    return True


def _rao_scott_in_old_order(args: tuple, kwargs: dict) -> bool:
    """An old-order call: a sixth positional argument (statistic), a name given both by
    position in the new order and by keyword, or five positional names of which only the old
    reading (by, strata, population_size) names a design: N_h is the numeric column."""
    new_order = ("data", "outcome", "strata", "population_size", "by")
    if len(args) > len(new_order) or any(n in kwargs for n in new_order[2 : len(args)]):
        return True
    if len(args) < len(new_order):
        return False
    data, _, third, fourth, fifth = args
    new_n, old_n = _numeric_column(data, fourth), _numeric_column(data, fifth)
    if new_n is False and old_n:
        return True
    if new_n and old_n:  # both numeric: the reading whose design holds
        return not _codes(data, third, fourth) and _codes(data, fourth, fifth)
    return False


@old_positional_order(_OLD_RAO_SCOTT_ORDER, _rao_scott_in_old_order)
def rao_scott_test(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | None = None,
    *,
    statistic: str = "F",
    degenerate_strata: str | None = None,
    group: str | None = None,
) -> RaoScottTest:
    """Test of equal rates across the groups of ``by``, Rao–Scott corrected for the design.

    The arguments come in the order of :func:`~stikprove.estimation.domains.
    estimate_proportions` (data, outcome, strata, population_size, by), ``statistic`` and
    ``degenerate_strata`` by name. The old order (data, outcome, by, strata, population_size,
    statistic) still works, with a DeprecationWarning (five column names given by position
    are read in the old order when only that reading's N_h column is numeric).

    The same computation as R's ``svychisq(~outcome + group, design, statistic=...)``
    (survey 4.1) for ``design = svydesign(ids=~1, strata=~stratum, fpc=~N, data=d)`` on the
    cases with an outcome, with ``options(survey.lonely.psu = "certainty")``:

    1. p̂: the weighted cell proportions of the r × c table (outcome × group), with their
       linearization covariance V (stratified, with fpc).
    2. Pearson's X² on the weighted table scaled to total n.
    3. The generalized design effects Δ = (C'D⁻¹C/n)⁻¹ (C'D⁻¹VD⁻¹C), where D = diag(p̂) and the
       columns of C span the interaction contrasts (residuals of the interaction columns on
       the main effects), Rao & Scott (1984).
    4. ``"F"`` (default, second-order; Rao & Scott 1981, Thomas & Rao 1987):
       F = X²/tr(Δ) on d = tr(Δ)²/tr(Δ²) and d·ν degrees of freedom, ν = cases − strata.
       ``"Chisq"`` (first-order): X²/δ̄ on (r − 1)(c − 1) degrees of freedom,
       δ̄ = tr(Δ)/((r − 1)(c − 1)). (R prints X² itself as the statistic here; we return the
       corrected value and give X² in ``pearson``.)

    Parameters
    ----------
    data, outcome, strata, population_size
        As for :func:`stikprove.estimation.domains.estimate_proportions`; missing outcomes are
        dropped before the design is built.
    by
        Column with the groups (at least two among the cases with an outcome; no missing).
    statistic
        ``"F"`` or ``"Chisq"``.
    degenerate_strata
        None (default) or ``"standard"``: the test has no interval method, and None means
        ``"standard"`` here as it does for every method but ``pooled-hypergeometric`` in
        ``estimate_proportions``: R's stratified linearization variance, in which a sampled
        stratum with a single case with an outcome contributes 0 (R's
        ``options(survey.lonely.psu = "certainty")``, which ``estimate_proportions`` follows
        too); such a stratum still counts in ν = cases − strata, as in R. ``"conservative"``
        and ``"pooled"`` are refused: no conservative design-effect matrix has been
        worked out and checked for the test (estimate's added term is for one proportion, not
        for the cells of the table). If single-case strata carry much of the weight, collapse
        them with similar strata instead.

    Returns
    -------
    RaoScottTest
        Frozen: statistic, df, df_denominator, p_value, pearson, mean_design_effect, ...

    Raises
    ------
    EstimationError
        Bad input: bad columns or values (as estimate_proportions), a missing group value, an
        unknown ``statistic``, ``degenerate_strata`` other than ``"standard"``.
    NotEstimableError
        Nothing to test: fewer than two groups or outcome values among the cases with an
        outcome, or a design that gives no variance for the table (every stratum a census, or
        each sampled stratum a single case or its cases all in one cell): there is then nothing
        to correct the test with.
    """
    by = renamed_argument("by", by, "group", group)
    variance = _check_rao_scott(data, by, statistic, degenerate_strata)
    lin = linearize(code_sample(data, outcome, strata, population_size, by))  # validates
    return _rao_scott(lin, data, outcome, by, as_columns(strata), statistic, variance)


def rao_scott_coded(
    data: pd.DataFrame,
    strata: CodedStrata,
    outcome: str,
    by: str,
    *,
    statistic: str = "F",
    degenerate_strata: str | None = None,
) -> RaoScottTest:
    """:func:`rao_scott_test` on strata already coded (:func:`~stikprove.estimation.
    design_coding.code_strata` of ``data``): the same result and checks, the strata not
    checked again (what the design object calls)."""
    variance = _check_rao_scott(data, by, statistic, degenerate_strata)
    lin = linearize(code_design(data, strata, outcome, by))
    return _rao_scott(lin, data, outcome, by, list(strata.columns), statistic, variance)


def _check_rao_scott(
    data: pd.DataFrame, group: object, statistic: str, degenerate_strata: str | None
) -> str:
    """The variance choice of a Rao–Scott test (None: ``standard``), the arguments checked."""
    if statistic not in RAO_SCOTT_STATISTICS:
        raise EstimationError(f"statistic must be one of {RAO_SCOTT_STATISTICS}, got {statistic!r}")
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(group, str) or group not in data.columns:
        raise EstimationError(
            f"by must name a column of data, got {group!r}; columns are {list(data.columns)}"
        )
    return check_degenerate_strata(degenerate_strata)


def _rao_scott(
    lin: DomainLinearization,
    data: pd.DataFrame,
    outcome: str,
    group: str,
    strata: list[str],
    statistic: str,
    degenerate_strata: str,
) -> RaoScottTest:
    """The computation behind :func:`rao_scott_test`, on the linearization by ``group``."""
    if degenerate_strata != "standard":
        lonely = _lonely_strata(lin, data, strata)
        where = f"; single-case strata here: {', '.join(lonely[:5])}" if lonely else ""
        raise EstimationError(
            f"rao_scott_test has no {degenerate_strata!r} variant: degenerate_strata must be "
            "'standard' "
            "(R's variance; a sampled stratum with a single case contributes 0, as R's "
            f"survey.lonely.psu = 'certainty'); to be cautious instead, collapse single-case "
            f"strata with similar strata{where}"
        )
    labels = data[group].iloc[lin.rows]
    levels = sorted(pd.unique(labels).tolist(), key=lambda v: (str(type(v)), v))
    y_levels = np.unique(lin.y)
    if len(levels) < 2:
        raise NotEstimableError(
            f"group column {group!r} has {len(levels)} value(s) among cases with an outcome "
            f"({levels!r}); expected at least two groups to compare"
        )
    if len(y_levels) < 2:
        raise NotEstimableError(
            f"outcome column {outcome!r} takes the single value {y_levels[0]:g} among the cases "
            "with an outcome; the test needs both 0 and 1"
        )
    nr, nc = len(y_levels), len(levels)
    row_code = np.searchsorted(y_levels, lin.y)
    col_index = {v: j for j, v in enumerate(levels)}
    col_code = labels.map(col_index).to_numpy(dtype=np.intp)
    cell = row_code + nr * col_code  # rows vary fastest, as R's interaction() and expand.grid
    member = np.zeros((len(cell), nr * nc))
    member[np.arange(len(cell)), cell] = 1.0

    w = lin.weight
    total = w.sum()
    p = (w[:, None] * member).sum(axis=0) / total
    z = w[:, None] * (member - p) / total
    v = lin.stratified_covariance(z)
    n = len(cell)
    nu = lin.design_df

    rows = np.tile(np.arange(nr), nc)
    cols = np.repeat(np.arange(nc), nr)
    main = np.column_stack(
        [np.ones(nr * nc)]
        + [(rows == i).astype(float) for i in range(1, nr)]
        + [(cols == j).astype(float) for j in range(1, nc)]
    )
    inter = np.column_stack(
        [((rows == i) & (cols == j)).astype(float) for j in range(1, nc) for i in range(1, nr)]
    )
    coef, *_ = np.linalg.lstsq(main, inter, rcond=None)
    contrast = inter - main @ coef
    inv_d = np.divide(1.0, p, out=np.zeros_like(p), where=p > 0)
    denom = contrast.T @ (inv_d[:, None] / n * contrast)
    numer = contrast.T @ (inv_d[:, None] * v * inv_d[None, :]) @ contrast
    delta = np.linalg.solve(denom, numer)
    trace = float(np.trace(delta))
    trace2 = float(np.trace(delta @ delta))

    observed = (n * p).reshape(nc, nr).T  # r x c weighted table scaled to n
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.nansum((observed - expected) ** 2 / expected))
    k = (nr - 1) * (nc - 1)
    mean_deff = trace / k

    if not trace > 1e-12:
        if np.all(lin.sample_size >= lin.population_size):
            why = (
                "every stratum is a census, so the group rates are known exactly and there is "
                "no sampling error to test against; compare the rates directly"
            )
        else:
            lonely = _lonely_strata(lin, data, strata)
            single = (
                f"; a sampled stratum with a single case contributes nothing, and {len(lonely)} "
                f"have one: {', '.join(lonely[:5])}{', ...' if len(lonely) > 5 else ''}"
                if lonely
                else ""
            )
            why = (
                "the sampled strata give no variance for the table, so the design effects are "
                "undefined: within each stratum all cases with an outcome fall in one "
                f"outcome-group cell{single}"
            )
        raise NotEstimableError(f"rao_scott_test of {outcome!r} by {group!r}: {why}")
    if statistic == "F":
        ndf = trace**2 / trace2
        ddf = ndf * nu
        stat = pearson / trace
        p_value = float(stats.f.sf(stat, ndf, ddf)) if ddf > 0 else float("nan")
    else:
        ndf, ddf = float(k), float("inf")
        stat = pearson / mean_deff
        p_value = float(stats.chi2.sf(stat, k))
    return RaoScottTest(
        statistic=float(stat),
        df=float(ndf),
        df_denominator=float(ddf),
        p_value=p_value,
        pearson=pearson,
        mean_design_effect=float(mean_deff),
        statistic_type=statistic,
        n=int(n),
        groups=tuple(levels),
    )
