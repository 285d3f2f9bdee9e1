"""Linearized (influence) values of domain proportions: the one source of covariances.

:class:`DomainLinearization` holds, per case with an outcome, the linearized value
z_i = w_i (y_i - p̂_d)/N̂_d of its domain's ratio estimate (Lumley 2010; Cochran 1977), with
the stratum factors of the stratified SRSWOR variance. Its :meth:`~DomainLinearization.
covariance` is R's ``vcov(svyby(~y, ~by, design, svymean, covmat=TRUE))``; comparisons
(:mod:`stikprove.estimation.comparison`), the Rao–Scott test and the flags against the nation
(:mod:`stikprove.estimation.multiplicity`) all take their covariances from it, so that they come
from the same computation as the variances of :func:`~stikprove.estimation.domains.
estimate_proportions` (``degenerate_strata="standard"``).

:func:`linearize` makes it from a coded design (:mod:`stikprove.estimation.design_coding`) and
its summary (:mod:`stikprove.estimation.domain_summary`); :func:`domain_linearization` from a
data frame, with the checks of ``estimate_proportions``.

References
----------
Cochran, W. G. (1977). Sampling Techniques, 3rd ed. Wiley (5A: stratified variances).

Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley. (R package survey 4.1.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError
from stikprove.estimation.design_coding import (
    CodedDesign,
    CodedStrata,
    code_design,
    code_sample,
)
from stikprove.estimation.domain_summary import summarise_domains

__all__ = [
    "DomainLinearization",
    "domain_linearization",
    "linearize",
    "outcome_linearization",
]


@dataclass(frozen=True)
class DomainLinearization:
    """Linearized (influence) values of domain proportions: the one source of covariances.

    Built by :func:`domain_linearization` (or :func:`linearize` from a coded design). Arrays
    of length K hold one entry per case with an outcome (in the caller's row order), arrays
    of length D one per domain, of length H one per stratum.

    Attributes
    ----------
    keys
        One row per domain: the ``by`` columns (no columns for the whole population).
    estimate, variance, df, n
        Per domain: p̂_d, R's linearization variance (``degenerate_strata="standard"``),
        cases minus strata in the domain, cases.
    rows
        Positions (0-based, ``iloc``) in the caller's data of the K cases with an outcome.
    stratum, domain, weight, y, influence
        Per case: stratum code, domain code, weight N_h/n_h, outcome, and the linearized value
        z_i = w_i (y_i - p̂_d)/N̂_d for the case's own domain (it is 0 for the other domains).
    population_size, sample_size
        Per stratum: N_h and n_h (cases with an outcome).
    """

    keys: pd.DataFrame
    estimate: np.ndarray
    variance: np.ndarray
    df: np.ndarray
    n: np.ndarray
    rows: np.ndarray
    stratum: np.ndarray
    domain: np.ndarray
    weight: np.ndarray
    y: np.ndarray
    influence: np.ndarray
    population_size: np.ndarray
    sample_size: np.ndarray

    @property
    def stratum_factor(self) -> np.ndarray:
        """c_h = (1 - n_h/N_h) n_h/(n_h - 1) per stratum (0 for n_h < 2 or a census)."""
        small, big = self.sample_size, self.population_size
        scale = np.divide(small, small - 1.0, out=np.zeros_like(small), where=small > 1)
        return (1.0 - small / big) * scale

    @property
    def design_df(self) -> int:
        """Degrees of freedom of the whole design: cases minus strata with cases (R's degf)."""
        return int(len(self.y) - np.count_nonzero(self.sample_size))

    def stratified_covariance(self, z: np.ndarray) -> np.ndarray:
        """Σ_h c_h Σ_{i in h} (z_i - z̄_h)(z_i - z̄_h)ᵀ for per-case values z (K × k).

        The with-replacement-then-fpc variance estimator of stratified totals (Cochran 1977,
        5A; R survey's ``svyrecvar`` for one-stage stratified designs), for any linearized
        values aligned with the cases.
        """
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        h = self.stratum
        sums = np.zeros((len(self.sample_size), z.shape[1]))
        np.add.at(sums, h, z)
        centred = z - (sums / np.maximum(self.sample_size, 1.0)[:, None])[h]
        factor = self.stratum_factor[h]
        return (centred * factor[:, None]).T @ centred

    def covariance(self, other: DomainLinearization | None = None) -> np.ndarray:
        """Design-based covariance matrix of the domain estimates (D × D), or with the domains
        of ``other`` (D × E), a linearization of the same cases with another grouping (e.g.
        :meth:`overall`). As R's ``svyby(..., covmat=TRUE)``; the diagonal of the D × D matrix
        is :attr:`variance` exactly.

        cov(p̂_d, p̂_e) = Σ_h c_h [Σ_{i in h} z_i^(d) z_i^(e) - n_h z̄_h^(d) z̄_h^(e)], computed
        from sparse per-(stratum, domain) sums: no K × D matrix is formed.
        """
        from scipy import sparse

        right = self if other is None else other
        if right is not self and (
            len(right.y) != len(self.y)
            or not np.array_equal(right.rows, self.rows)
            or not np.array_equal(right.stratum, self.stratum)
        ):
            raise EstimationError(
                "other must be a linearization of the same cases (same data, outcome and "
                "strata); got one with a different set of cases"
            )
        n_dom, n_other = len(self.estimate), len(right.estimate)
        n_strata = len(self.sample_size)
        factor = self.stratum_factor
        h = self.stratum
        products = sparse.coo_matrix(
            (factor[h] * self.influence * right.influence, (self.domain, right.domain)),
            shape=(n_dom, n_other),
        ).toarray()
        left_sums = sparse.csr_matrix((self.influence, (h, self.domain)), shape=(n_strata, n_dom))
        right_sums = sparse.csr_matrix(
            (right.influence, (h, right.domain)), shape=(n_strata, n_other)
        )
        scale = sparse.diags(
            np.divide(factor, self.sample_size, out=np.zeros(n_strata), where=self.sample_size > 0)
        )
        cov = products - (left_sums.T @ scale @ right_sums).toarray()
        if other is None:
            np.fill_diagonal(cov, self.variance)
        return cov

    def overall(self) -> DomainLinearization:
        """The same cases linearized for the whole population (one domain)."""
        w, y = self.weight, self.y
        total = w.sum()
        p = float((w * y).sum() / total)
        domain = np.zeros(len(y), dtype=np.int64)
        design = CodedDesign(
            y, self.stratum, self.population_size, self.sample_size, domain,
            pd.DataFrame(index=range(1)), self.rows,
        )  # fmt: skip
        summary = summarise_domains(design)
        return DomainLinearization(
            keys=design.keys,
            estimate=np.array([p]),
            variance=summary["r_variance"],
            df=summary["df"],
            n=summary["n"],
            rows=self.rows,
            stratum=self.stratum,
            domain=domain,
            weight=w,
            y=y,
            influence=w * (y - p) / total,
            population_size=self.population_size,
            sample_size=self.sample_size,
        )




def domain_linearization(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
) -> DomainLinearization:
    """Linearized values of the domain proportions, for covariances between domain estimates.

    Same arguments and validation as :func:`~stikprove.estimation.domains.estimate_proportions`
    (missing outcomes dropped before the design is built). The estimates, variances and df
    equal those of ``estimate_proportions`` with ``degenerate_strata="standard"`` (R's). Use
    :meth:`DomainLinearization.covariance` for the covariance matrix of the domain estimates
    (R's ``vcov(svyby(~y, ~by, design, svymean, covmat=TRUE))``), with :meth:`overall` for the
    covariance of each domain with the whole population, and
    :meth:`DomainLinearization.stratified_covariance` for any other linearized values.

    Examples
    --------
    >>> d = pd.DataFrame({"stratum": ["a"] * 4 + ["b"] * 4, "N": [10] * 4 + [20] * 4,
    ...                   "y": [1, 0, 0, 1, 1, 1, 0, 0], "sex": ["k", "m"] * 4})
    >>> lin = domain_linearization(d, "y", "stratum", "N", by="sex")
    >>> lin.covariance().shape, lin.covariance(lin.overall()).shape
    ((2, 2), (2, 1))
    """
    return linearize(code_sample(data, outcome, strata, population_size, by))


def outcome_linearization(
    data: pd.DataFrame,
    strata: CodedStrata,
    outcome: str,
    by: str | Sequence[str] | None = None,
) -> DomainLinearization:
    """:func:`domain_linearization` on strata already coded (:func:`~stikprove.estimation.
    design_coding.code_strata` of ``data``): what the design object calls, so that its strata
    are checked and coded once."""
    return linearize(code_design(data, strata, outcome, by))


def linearize(
    design: CodedDesign, summary: dict[str, np.ndarray] | None = None
) -> DomainLinearization:
    """The linearization of a coded design; ``summary`` is its standard
    :func:`~stikprove.estimation.domain_summary.summarise_domains` (computed when None), whose
    estimates, R variances, df and n it carries."""
    if summary is None:
        summary = summarise_domains(design)
    big_n, small_n = design.population, design.sample
    w = np.divide(big_n, small_n, out=np.zeros_like(big_n), where=small_n > 0)[design.stratum]
    p = summary["estimate"]
    size = summary["population"]
    d = design.domain
    return DomainLinearization(
        keys=design.keys,
        estimate=p,
        variance=summary["r_variance"],
        df=summary["df"],
        n=summary["n"],
        rows=design.rows,
        stratum=design.stratum,
        domain=d,
        weight=w,
        y=design.y,
        influence=w * (design.y - p[d]) / size[d],
        population_size=big_n,
        sample_size=small_n,
    )
