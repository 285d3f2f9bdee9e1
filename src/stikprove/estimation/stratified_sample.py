"""The design object: a stratified sample, checked and coded once, that every analysis takes.

:class:`StratifiedSample` is stikprove's ``svydesign``: R's survey package binds
``des <- svydesign(ids = ~1, strata = ~stratum, fpc = ~N, data = d)`` once and every analysis
takes ``des`` (``svyby(~y, ~g, des, svyciprop)``, ``svychisq(~y + g, des)``,
``svycontrast(...)``). Here::

    sample = StratifiedSample(data, strata="stratum", population_size="population_size")
    sample.estimate("too_ill", by="origin")
    sample.compare("too_ill", by="sex")
    sample.rao_scott("too_ill", by="origin")
    sample.flag("too_ill", by="kommune_code")

or, from a study store, ``StratifiedSample.from_study(study)``. The sample checks and codes
the strata and N_h columns once, when it is made (a stratum value missing, N_h not a whole
number, varying within a stratum or below the stratum's rows: refused with the row named;
:func:`~stikprove.estimation.design_coding.code_strata`), keeps the coded strata and is frozen.
The methods take the outcome and the domains (``by``, one name everywhere) and do only their
own work on the kept strata.

This module sits on top of the computations, as R's ``svyciprop`` calls ``svymean``: it calls
the public functions of :mod:`~stikprove.estimation.domains`,
:mod:`~stikprove.estimation.linearization`, :mod:`~stikprove.estimation.comparison`,
:mod:`~stikprove.estimation.rao_scott` and :mod:`~stikprove.estimation.multiplicity`, which
never import it. Each method's numbers are those of the module function of the same arguments
(:func:`~stikprove.estimation.estimate_proportions` and the rest: the same computation on the
same coded design), so every figure checked against R stays checked. The methods take their
arguments in the order of ``estimate_proportions`` (outcome, by, confidence_level, method) and
its default method.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError
from stikprove.estimation import comparison, domains, linearization, multiplicity, partial
from stikprove.estimation.design_coding import CodedStrata, code_design, code_strata
from stikprove.estimation.domain_summary import check_degenerate_strata, summarise_domains
from stikprove.estimation.intervals import check_confidence_level
from stikprove.estimation.rao_scott import rao_scott_coded
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD, old_positional_order

if TYPE_CHECKING:
    from stikprove.estimation.comparison import GroupComparison
    from stikprove.estimation.linearization import DomainLinearization
    from stikprove.estimation.rao_scott import RaoScottTest

__all__ = ["StratifiedSample"]

STUDY_STRATA = "stratum"
"""The stratum column of a study store's analysis table (``Study.export()``)."""
STUDY_POPULATION_SIZE = "population_size"
"""The N_h column of a study store's analysis table."""


def _is_level(value: object) -> bool:
    """A confidence level where one is expected positionally (else an old-order ``groups``)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True, init=False, eq=False)
class StratifiedSample:
    """A stratified simple random sample without replacement, with its strata and N_h.

    Parameters
    ----------
    data
        One row per sampled case (a copy is kept; the caller's frame is not changed).
    strata
        Column name(s) whose combination is the stratum.
    population_size
        Column holding N_h, the stratum's frame count, the same on every row of the stratum
        (default ``population_size``, as in a study's export).

    Raises
    ------
    EstimationError
        Not a DataFrame, no rows, a missing column, a missing stratum value, or N_h not a whole
        number >= 1, varying within a stratum or smaller than the stratum's rows; each message
        names the column, the row and the value.

    Examples
    --------
    >>> d = pd.DataFrame({"stratum": ["a"] * 4 + ["b"] * 4, "N": [10] * 4 + [20] * 4,
    ...                   "y": [1, 0, 0, 0, 1, 1, 0, None], "sex": ["k", "m"] * 4})
    >>> sample = StratifiedSample(d, strata="stratum", population_size="N")
    >>> sample
    StratifiedSample(8 cases in 2 strata of 30; strata=['stratum'], population_size='N')
    >>> sample.estimate("y")[["n", "estimate", "df"]]
       n  estimate  df
    0  7  0.527778   5
    """

    data: pd.DataFrame
    strata: tuple[str, ...]
    population_size: str

    def __init__(
        self,
        data: pd.DataFrame,
        strata: str | Sequence[str],
        population_size: str = STUDY_POPULATION_SIZE,
    ) -> None:
        # The design's checks, once, on every row (with or without an outcome), and its coding.
        coded = code_strata(data, strata, population_size)
        object.__setattr__(self, "data", data.copy())
        object.__setattr__(self, "strata", coded.columns)
        object.__setattr__(self, "population_size", population_size)
        object.__setattr__(self, "_coded", coded)

    @property
    def coded_strata(self) -> CodedStrata:
        """The strata as checked and coded when the sample was made
        (:func:`~stikprove.estimation.design_coding.code_strata`), which every method uses."""
        return self._coded

    @cached_property
    def stratum_sizes(self) -> pd.Series:
        """N_h per stratum (indexed by the strata values)."""
        grouped = self.data.groupby(list(self.strata), sort=True, observed=True, dropna=False)
        return grouped[self.population_size].first().astype(np.int64)

    @cached_property
    def sample_sizes(self) -> pd.Series:
        """Rows per stratum (indexed by the strata values), missing outcomes included."""
        return self.data.groupby(list(self.strata), sort=True, observed=True, dropna=False).size()

    @classmethod
    def from_study(cls, study: Any) -> StratifiedSample:
        """The sample of a study store: its ``export()`` table, strata ``stratum`` and N_h
        ``population_size`` (one row per sampled case; unreviewed cases have missing outcomes,
        dropped within their stratum by each analysis).

        ``study`` is an open :class:`stikprove.store.Study` (anything with ``export()``).
        """
        export = getattr(study, "export", None)
        if not callable(export):
            raise EstimationError(
                f"study must be an open study store (stikprove.open_study(path)), got "
                f"{type(study).__name__}"
            )
        return cls(export(), STUDY_STRATA, STUDY_POPULATION_SIZE)

    # -- what it is ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        coded = self._coded
        return (
            f"StratifiedSample({len(self.data)} cases in {len(coded)} strata of "
            f"{int(coded.population.sum())}; strata={list(self.strata)}, "
            f"population_size={self.population_size!r})"
        )

    def _repr_html_(self) -> str:
        coded = self._coded
        census = int((coded.rows >= coded.population).sum())
        rows = [
            ("cases (rows)", f"{len(self.data):,}"),
            ("strata", f"{len(coded):,} ({census:,} census)"),
            ("population (Σ N_h)", f"{int(coded.population.sum()):,}"),
            ("strata columns", ", ".join(self.strata)),
            ("N_h column", self.population_size),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return f"<table><caption>StratifiedSample</caption>{cells}</table>"

    # -- estimates ----------------------------------------------------------------------------

    def estimate(
        self,
        outcome: str,
        by: str | Sequence[str] | None = None,
        confidence_level: float = 0.95,
        method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
        *,
        degenerate_strata: str | None = None,
    ) -> pd.DataFrame:
        """Proportion of ``outcome`` per domain of ``by``, with se, df and interval: the table
        of :func:`~stikprove.estimation.estimate_proportions` (its docstring lists the
        columns and the methods)."""
        return domains.proportions_table(
            self.data, self._coded, outcome, by, confidence_level, method,
            degenerate_strata=degenerate_strata,
        )  # fmt: skip

    def categories(
        self,
        variable: str,
        by: str | Sequence[str] | None = None,
        confidence_level: float = 0.95,
        method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
        categories: Sequence[object] | None = None,
        missing_values: Sequence[object] = (),
        *,
        degenerate_strata: str | None = None,
    ) -> pd.DataFrame:
        """Every category of ``variable`` per domain, in one long tidy frame
        (:func:`~stikprove.estimation.estimate_categories`)."""
        return domains.categories_table(
            self.data, self._coded, variable, by, confidence_level, method, categories,
            missing_values, degenerate_strata=degenerate_strata,
        )  # fmt: skip

    def coverage(self, outcome: str, by: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Per domain, the strata with no case with an outcome yet and the share of the
        domain's population the estimate covers (:func:`~stikprove.estimation.partial.
        partial_coverage`): while a review is under way an estimate covers only the strata
        with a reviewed case (docs/interim.md)."""
        return partial.partial_coverage(
            self.data, outcome, self.strata, self.population_size, by
        )

    def bounds(
        self,
        outcome: str,
        by: str | Sequence[str] | None = None,
        confidence_level: float = 0.95,
        method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
        *,
        in_scope: str | Sequence[bool] | np.ndarray | pd.Series | None = None,
        degenerate_strata: str | None = None,
    ) -> pd.DataFrame:
        """Worst- and best-case estimates when missing outcomes are not missing at random
        (:func:`~stikprove.estimation.outcome_bounds`; ``in_scope``: the cases of the
        indicator's population, the others are neither outcomes nor missing)."""
        return domains.bounds_table(
            self.data, self._coded, outcome, by, confidence_level, method,
            in_scope=in_scope, degenerate_strata=degenerate_strata,
        )  # fmt: skip

    def linearization(
        self, outcome: str, by: str | Sequence[str] | None = None
    ) -> DomainLinearization:
        """Linearized values of the domain proportions, for covariances
        (:func:`~stikprove.estimation.linearization.domain_linearization`)."""
        return linearization.outcome_linearization(self.data, self._coded, outcome, by)

    # -- comparisons --------------------------------------------------------------------------

    @old_positional_order(
        ("self", "outcome", "by", "groups", "confidence_level", "method", "interval_method"),
        lambda args, kwargs: len(args) > 4 or (len(args) == 4 and not _is_level(args[3])),
    )
    def compare(
        self,
        outcome: str,
        by: str | None = None,
        confidence_level: float = 0.95,
        *,
        groups: tuple[object, object] | None = None,
        method: str = "auto",
        interval_method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
        degenerate_strata: str | None = None,
    ) -> GroupComparison:
        """Difference and ratio of the rates of two domains of ``by``
        (:func:`~stikprove.estimation.compare_proportions`, with its defaults); the design is
        coded once. The old order (``groups`` after ``by``) warns."""
        return comparison.compare_coded(
            self.data, self._coded, outcome, by, confidence_level, groups=groups,
            method=method, interval_method=interval_method, degenerate_strata=degenerate_strata,
        )  # fmt: skip

    @old_positional_order(
        ("self", "outcome", "by", "statistic"), lambda args, kwargs: len(args) > 3
    )
    def rao_scott(
        self,
        outcome: str,
        by: str,
        *,
        statistic: str = "F",
        degenerate_strata: str | None = None,
    ) -> RaoScottTest:
        """Rao–Scott test of equal rates across the groups of ``by`` (R's ``svychisq``;
        :func:`~stikprove.estimation.rao_scott.rao_scott_test`). ``statistic`` by name (by
        position it warns)."""
        return rao_scott_coded(
            self.data, self._coded, outcome, by, statistic=statistic,
            degenerate_strata=degenerate_strata,
        )  # fmt: skip

    def flag(
        self,
        outcome: str,
        by: str | Sequence[str],
        confidence_level: float = 0.95,
        method: str = DEFAULT_DOMAIN_INTERVAL_METHOD,
        *,
        alpha: float = 0.05,
        adjust: str = "fdr_bh",
        alternative: str = "two-sided",
    ) -> pd.DataFrame:
        """Each domain of ``by`` tested against the whole sample (the nation), adjusted for
        the many domains: the estimates of :meth:`estimate` with the columns
        :func:`~stikprove.estimation.multiplicity.flag_differences` adds (design-based
        contrast). A sample with a single domain (a one-kommune study) is refused: it would
        be compared with itself. The intervals are ``method``'s (with its own variance); the
        test uses R's linearization variance whatever the method."""
        method = domains.check_domain_method(method)
        level = check_confidence_level(confidence_level)
        design = code_design(self.data, self._coded, outcome, by)
        summary = summarise_domains(design, check_degenerate_strata(None, method))
        estimates = domains.domain_table(design, summary, level, method)
        return multiplicity.flag_differences(
            estimates,
            design=linearization.linearize(design, summary),
            alpha=alpha,
            adjust=adjust,
            alternative=alternative,
        )

    def funnel(
        self,
        outcome: str,
        by: str | Sequence[str],
        levels: Sequence[float] = (0.95, 0.998),
        method: str = "exact",
    ) -> pd.DataFrame:
        """Funnel-plot limits around the whole sample's rate, at each domain's number of cases
        with an outcome (:func:`~stikprove.estimation.multiplicity.funnel_limits`).

        One row per domain and level: the ``by`` columns, ``n``, ``estimate``, then
        ``level``, ``national_rate``, ``lower``, ``upper`` and ``outside`` (the estimate lies
        outside the limits).
        """
        design = code_design(self.data, self._coded, outcome, by)
        summary = summarise_domains(design)
        nation = linearization.linearize(design, summary).overall()
        points = design.keys.copy()
        points["n"] = summary["n"]
        points["estimate"] = summary["estimate"]
        limits = multiplicity.funnel_limits(
            float(nation.estimate[0]), np.unique(summary["n"]), levels, method
        )
        table = points.merge(limits, on="n", how="left")
        table["n"] = table["n"].astype(np.int64)
        table["outside"] = (table["estimate"] < table["lower"]) | (
            table["estimate"] > table["upper"]
        )
        return table
