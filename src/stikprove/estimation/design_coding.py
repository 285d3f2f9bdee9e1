"""Checking and coding a stratified sample: the design every estimate is computed on.

Two steps, so that a design object (:class:`~stikprove.estimation.StratifiedSample`) does the
first once and each analysis only the second:

1. :func:`code_strata` checks the strata and N_h columns of the sample (a stratum value
   missing, N_h not a whole number >= 1, varying within a stratum or below the stratum's rows:
   refused with the column, row and value named) and codes each row's stratum
   (:class:`CodedStrata`).
2. :func:`code_design` checks an outcome (0/1 or missing) and the domain columns ``by``, drops
   the cases without an outcome (so n_h counts the cases with one) and codes the domains
   (:class:`CodedDesign`, what :mod:`~stikprove.estimation.domain_summary` summarises).
   :func:`code_domains` does the same for outcome values computed by the caller (the bounds
   and the categories of :mod:`~stikprove.estimation.domains`).

:func:`code_sample` is both in one call, with the checks in the order the module functions
have always made them (every column, then the outcome's values, then N_h).

Nothing here imports another module of :mod:`stikprove.estimation`: it sits below them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError, NotEstimableError, did_you_mean

__all__ = [
    "CodedDesign",
    "CodedStrata",
    "as_columns",
    "binary_outcome",
    "check_design_columns",
    "code_design",
    "code_domains",
    "code_sample",
    "code_strata",
    "in_scope_mask",
    "require_columns",
]


def as_columns(columns: str | Sequence[str] | None) -> list[str]:
    """Column name(s) as a list: None -> [], "a" -> ["a"], ("a", "b") -> ["a", "b"].

    >>> as_columns(None), as_columns("stratum"), as_columns(("kommune", "sex"))
    ([], ['stratum'], ['kommune', 'sex'])
    """
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return list(columns)


def require_columns(data: pd.DataFrame, role: str, columns: Sequence[str]) -> None:
    """Refuse (EstimationError) a column of ``columns`` that ``data`` lacks, naming its
    ``role`` (``"outcome"``, ``"strata"``, ...), the closest existing name and the columns."""
    for column in columns:
        if column not in data.columns:
            hint = did_you_mean(column, [str(c) for c in data.columns])
            raise EstimationError(
                f"{role} column {column!r} is not in the data{hint}; columns are "
                f"{list(data.columns)}"
            )


def _row_label(data: pd.DataFrame, position: int) -> str:
    return f"row {position + 1} (index {_plain(data.index[position])!r})"


def _plain(value: object) -> object:
    """A numpy scalar as the Python value (10.5, not np.float64(10.5)) for messages."""
    return value.item() if isinstance(value, np.generic) else value


def _slow_binary_outcome(data: pd.DataFrame, outcome: str) -> np.ndarray:
    """The outcome as float 0/1 with NaN for missing; refuse anything else."""
    column = data[outcome]
    missing = column.isna().to_numpy()
    values = column.to_numpy(dtype=object)
    y = np.full(len(column), np.nan)
    for position in np.flatnonzero(~missing):
        value = values[position]
        if isinstance(value, (bool, np.bool_)):
            y[position] = float(value)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = np.nan
        if number not in (0.0, 1.0):
            raise EstimationError(
                f"outcome column {outcome!r} must hold 0/1 (or missing), got {_plain(value)!r} at "
                f"{_row_label(data, position)}"
            )
        y[position] = number
    return y


def binary_outcome(data: pd.DataFrame, outcome: str) -> np.ndarray:
    """Column ``outcome`` of ``data`` as floats 0.0/1.0, NaN where missing (NaN/None).

    Bool, int, float and object columns are read; any other value (2, "ja") is refused with
    its row. A numeric column of 0/1 is read without a Python loop.

    >>> binary_outcome(pd.DataFrame({"y": [True, False, None]}), "y")
    array([ 1.,  0., nan])
    """
    require_columns(data, "outcome", [outcome])
    column = data[outcome]
    if pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_numeric_dtype(column.dtype):
        y = column.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isnan(y) | (y == 0.0) | (y == 1.0)
        if ok.all():
            return y
    return _slow_binary_outcome(data, outcome)


def check_design_columns(
    data: pd.DataFrame,
    outcome: str | None,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None,
) -> tuple[list[str], list[str]]:
    """Check the frame and its columns before anything is coded; return (strata, by) as lists.

    Refused (EstimationError): ``data`` not a DataFrame, no strata column named, a named
    column (``outcome`` unless None, ``strata``, ``population_size``, ``by``) not in ``data``,
    no rows, or a missing value in a strata or ``by`` column (its row named).
    """
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    strata_cols = as_columns(strata)
    by_cols = as_columns(by)
    if not strata_cols:
        raise EstimationError("strata must name at least one column, got none")
    if outcome is not None:
        require_columns(data, "outcome", [outcome])
    require_columns(data, "strata", strata_cols)
    require_columns(data, "population_size", [population_size])
    require_columns(data, "by", by_cols)
    if len(data) == 0:
        raise EstimationError("data has no rows")
    for role, columns in (("strata", strata_cols), ("by", by_cols)):
        _refuse_missing(data, role, columns)
    return strata_cols, by_cols


def _refuse_missing(data: pd.DataFrame, role: str, columns: list[str]) -> None:
    for column in columns:
        missing = data[column].isna().to_numpy()
        if missing.any():
            position = int(np.flatnonzero(missing)[0])
            raise EstimationError(
                f"{role} column {column!r} has a missing value at {_row_label(data, position)}"
                f" ({int(missing.sum())} missing in all)"
            )


@dataclass(frozen=True, eq=False)
class CodedStrata:
    """The strata of a sample, checked and coded once (:func:`code_strata`).

    Attributes
    ----------
    columns
        The strata columns; their combination is the stratum.
    population_size
        The column holding N_h.
    code
        Per row of the data: its stratum's code 0..H-1 (strata sorted by their values).
    population
        Per stratum: N_h (float, length H).
    rows
        Per stratum: the rows of the data in it (float, length H), outcome or not.
    names
        Per stratum: its key, a value or a tuple of values of ``columns`` (for messages).
    """

    columns: tuple[str, ...]
    population_size: str
    code: np.ndarray
    population: np.ndarray
    rows: np.ndarray
    names: tuple

    def __len__(self) -> int:
        """The number of strata H."""
        return len(self.population)


def code_strata(
    data: pd.DataFrame, strata: str | Sequence[str], population_size: str
) -> CodedStrata:
    """Check the strata and N_h of a sample and code each row's stratum.

    Refused (EstimationError, naming the column, the row and the value): the refusals of
    :func:`check_design_columns` for these columns, and N_h not a whole number >= 1, varying
    within a stratum or smaller than the stratum's rows.

    >>> d = pd.DataFrame({"s": ["b", "a", "b"], "N": [5, 9, 5]})
    >>> coded = code_strata(d, "s", "N")
    >>> coded.code.tolist(), coded.population.tolist(), coded.rows.tolist()
    ([1, 0, 1], [9.0, 5.0], [1.0, 2.0])
    """
    strata_cols, _ = check_design_columns(data, None, strata, population_size, None)
    grouped = data.groupby(strata_cols, sort=True, observed=True, dropna=False)
    code = grouped.ngroup().to_numpy(dtype=np.int64)
    n_strata = int(code.max()) + 1

    sizes = pd.to_numeric(data[population_size], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(sizes) | (sizes < 1) | (sizes != np.round(sizes))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"population_size column {population_size!r} must hold whole numbers >= 1, got "
            f"{_plain(data[population_size].iloc[position])!r} at {_row_label(data, position)}"
        )
    low = np.full(n_strata, np.inf)
    high = np.full(n_strata, -np.inf)
    np.minimum.at(low, code, sizes)
    np.maximum.at(high, code, sizes)
    names = tuple(grouped.size().index.tolist())
    varying = np.flatnonzero(low != high)
    if varying.size:
        h = int(varying[0])
        raise EstimationError(
            f"population_size column {population_size!r} varies within stratum "
            f"{names[h]!r}: values from {low[h]:g} to {high[h]:g}; it must be the "
            "stratum's N_h on every row"
        )
    drawn = np.bincount(code, minlength=n_strata).astype(float)
    too_small = np.flatnonzero(low < drawn)
    if too_small.size:
        h = int(too_small[0])
        raise EstimationError(
            f"population_size column {population_size!r} is {low[h]:g} in stratum "
            f"{names[h]!r}, smaller than its {int(drawn[h])} sampled rows"
        )
    return CodedStrata(tuple(strata_cols), population_size, code, low, drawn, names)


@dataclass(frozen=True)
class CodedDesign:
    """A sample coded for one outcome and one set of domains: one entry per case with an
    outcome (:func:`code_design`), what :func:`~stikprove.estimation.domain_summary.
    summarise_domains` takes.

    Attributes
    ----------
    y
        Per case: the outcome, 0.0 or 1.0.
    stratum
        Per case: its stratum's code 0..H-1.
    population, sample
        Per stratum (length H): N_h, and n_h, the cases with an outcome (0 for a stratum
        whose cases all lack one).
    domain
        Per case: its domain's code 0..D-1 (domains sorted by the ``by`` columns).
    keys
        One row per domain: the ``by`` columns (no column for the whole population).
    rows
        Positions (0-based, ``iloc``) in the caller's data of the cases kept.
    """

    y: np.ndarray
    stratum: np.ndarray
    population: np.ndarray
    sample: np.ndarray
    domain: np.ndarray
    keys: pd.DataFrame
    rows: np.ndarray


def code_domains(
    data: pd.DataFrame,
    strata: CodedStrata,
    y: np.ndarray,
    by: str | Sequence[str] | None = None,
) -> CodedDesign:
    """Drop the cases whose ``y`` is NaN and code the domains of ``by`` among the others.

    ``y`` holds one 0/1 value or NaN per row of ``data`` (as :func:`binary_outcome` gives);
    ``strata`` is :func:`code_strata` of the same ``data``. The ``by`` columns are checked
    (present, no missing value). A domain with no case left has no row in ``keys``; the
    caller's dtypes of the ``by`` columns are kept (e.g. zero-padded strings).
    """
    by_cols = as_columns(by)
    require_columns(data, "by", by_cols)
    _refuse_missing(data, "by", by_cols)
    y_all = np.asarray(y, dtype=float)
    if len(y_all) != len(data) or len(strata.code) != len(data):
        raise EstimationError(
            f"y and the coded strata must have one entry per row of data ({len(data)}); got "
            f"{len(y_all)} and {len(strata.code)}"
        )
    keep = ~np.isnan(y_all)
    y_kept = y_all[keep]
    stratum = strata.code[keep]
    sample = np.bincount(stratum, minlength=len(strata)).astype(float)
    if by_cols:
        grouped = data.groupby(by_cols, sort=True, observed=True, dropna=False)
        domain_all = grouped.ngroup().to_numpy(dtype=np.int64)
        keys = grouped.size().index.to_frame(index=False)
        for column in by_cols:  # keep the caller's dtypes (e.g. zero-padded strings)
            keys[column] = keys[column].astype(data[column].dtype)
        domain = domain_all[keep]
        present = np.bincount(domain, minlength=len(keys)) > 0
        remap = np.cumsum(present) - 1
        domain = remap[domain]
        keys = keys.loc[present].reset_index(drop=True)
    else:
        domain = np.zeros(len(y_kept), dtype=np.int64)
        keys = pd.DataFrame(index=range(1 if len(y_kept) else 0))
    return CodedDesign(
        y_kept, stratum, strata.population, sample, domain, keys, np.flatnonzero(keep)
    )


def code_design(
    data: pd.DataFrame,
    strata: CodedStrata,
    outcome: str,
    by: str | Sequence[str] | None = None,
) -> CodedDesign:
    """The design of ``outcome`` by ``by`` on coded strata: :func:`binary_outcome`, then
    :func:`code_domains`.

    Raises
    ------
    EstimationError
        A missing column, a missing ``by`` value or an outcome value other than 0/1/missing.
    NotEstimableError
        No case has an outcome (nothing to estimate from).
    """
    require_columns(data, "outcome", [outcome])
    require_columns(data, "by", as_columns(by))
    _refuse_missing(data, "by", as_columns(by))
    y_all = binary_outcome(data, outcome)
    if np.isnan(y_all).all():
        raise NotEstimableError(f"outcome column {outcome!r} has no non-missing values")
    return code_domains(data, strata, y_all, by)


def code_sample(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
) -> CodedDesign:
    """Check and code a sample for one outcome in one call: every column
    (:func:`check_design_columns`), the outcome's values, then N_h (:func:`code_strata`) and
    the domains (:func:`code_domains`); the refusals of those functions, in that order."""
    check_design_columns(data, outcome, strata, population_size, by)
    y_all = binary_outcome(data, outcome)
    if np.isnan(y_all).all():
        raise NotEstimableError(f"outcome column {outcome!r} has no non-missing values")
    return code_domains(data, code_strata(data, strata, population_size), y_all, by)


def in_scope_mask(data: pd.DataFrame, in_scope: object) -> np.ndarray:
    """``in_scope`` as one bool per row of ``data``: None (every row), the name of a boolean
    column, or one True/False per row. Anything else is refused with its row.

    >>> in_scope_mask(pd.DataFrame({"e": [True, False]}), "e").tolist()
    [True, False]
    """
    if in_scope is None:
        return np.ones(len(data), dtype=bool)
    if isinstance(in_scope, str):
        require_columns(data, "in_scope", [in_scope])
        values, name = data[in_scope], f"column {in_scope!r}"
    else:
        values, name = pd.Series(np.asarray(in_scope, dtype=object)), "in_scope"
        if len(values) != len(data):
            raise EstimationError(
                f"in_scope must have one value per row of data ({len(data)}); got {len(values)}"
            )
    plain = values.astype(object).to_numpy()
    bad = np.array([not isinstance(v, bool | np.bool_) for v in plain])
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise EstimationError(
            f"{name} must hold True or False for every case; got {plain[position]!r} at "
            f"{_row_label(data, position)}"
        )
    return plain.astype(bool)
