"""What a domain estimate covers while a review is under way.

A stratified estimate drops the cases without an outcome within their stratum (missing at
random within strata). A stratum of the domain with *no* case with an outcome cannot be
represented that way: it simply drops out, and the estimate silently becomes one for the
domain's other strata. :func:`partial_coverage` says, per domain, which strata (strictly,
stratum × domain cells) have no case with an outcome and what share of the domain's
population the estimate covers. The choice of what to do with it (label, not refuse) and its
reasons are in docs/interim.md; ``stikprove estimate`` and the kommune report apply it.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError

__all__ = ["COVERAGE_COLUMNS", "partial_coverage"]

COVERAGE_COLUMNS = (
    "strata",
    "strata_without_outcome",
    "population_share_covered",
    "strata_not_covered",
)
"""Columns of :func:`partial_coverage` after the ``by`` columns."""


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _check(data: pd.DataFrame, role: str, columns: list[str]) -> None:
    for column in columns:
        if column not in data.columns:
            close = difflib.get_close_matches(str(column), [str(c) for c in data.columns], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise EstimationError(f"{role} column {column!r} is not in the data{hint}")


def partial_coverage(
    data: pd.DataFrame,
    outcome: str,
    strata: str | Sequence[str],
    population_size: str,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per domain: how much of it an estimate of ``outcome`` covers.

    A cell (stratum × domain) is *covered* when at least one of its sampled cases has an
    outcome (reviewed, eligible and assessable). The domain's population in a cell is
    estimated as N_h · n_hd / n_h (n_hd of the stratum's n_h sampled cases fall in the
    domain; for a domain made of whole strata it is N_h).

    Returns
    -------
    pandas.DataFrame
        One row per domain, sorted by the ``by`` columns (one row without them): the ``by``
        columns, then ``strata`` (strata with sampled cases in the domain),
        ``strata_without_outcome`` (those with no case with an outcome),
        ``population_share_covered`` (the estimated share of the domain's population in
        covered strata: 1.0 when every stratum is covered, 0.0 when none is) and
        ``strata_not_covered`` (their stratum keys, ``|``-joined strata values, separated by
        ", "; empty when none).

    Examples
    --------
    >>> d = pd.DataFrame({"stratum": ["a", "a", "b", "b"], "N": [10, 10, 30, 30],
    ...                   "sex": ["k", "k", "m", "m"], "y": [1, 0, None, None]})
    >>> partial_coverage(d, "y", "stratum", "N")[["strata_without_outcome",
    ...                                            "population_share_covered"]]
       strata_without_outcome  population_share_covered
    0                       1                      0.25
    """
    if not isinstance(data, pd.DataFrame):
        raise EstimationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    strata_cols, by_cols = _names(strata), _names(by)
    if not strata_cols:
        raise EstimationError("strata must name at least one column, got none")
    _check(data, "outcome", [outcome])
    _check(data, "strata", strata_cols)
    _check(data, "population_size", [population_size])
    _check(data, "by", by_cols)
    frame = pd.DataFrame({
        "__key": data[strata_cols].astype(str).agg("|".join, axis=1),
        "__size": pd.to_numeric(data[population_size], errors="coerce"),
        "__has": data[outcome].notna().to_numpy(),
    }, index=data.index)  # fmt: skip
    for column in by_cols:
        frame[column] = data[column]
    n_h = frame.groupby("__key")["__key"].transform("size")
    frame["__share"] = frame["__size"] / n_h  # each case stands for N_h / n_h of the population
    cells = frame.groupby([*by_cols, "__key"], sort=True, dropna=False).agg(
        population=("__share", "sum"), covered=("__has", "any")
    )
    rows = []
    groups = cells.groupby(level=list(range(len(by_cols))), sort=True) if by_cols else [((), cells)]
    for keys, group in groups:
        keys = keys if isinstance(keys, tuple) else (keys,)
        population = group["population"].to_numpy(dtype=float)
        covered = group["covered"].to_numpy(dtype=bool)
        total = float(population.sum())
        keys_h = group.index.get_level_values("__key")
        missing = [str(k) for k, c in zip(keys_h, covered, strict=True) if not c]
        rows.append({
            **dict(zip(by_cols, keys, strict=True)),
            "strata": len(group),
            "strata_without_outcome": len(missing),
            "population_share_covered": float(population[covered].sum() / total)
            if total > 0 else float(np.nan),
            "strata_not_covered": ", ".join(missing),
        })  # fmt: skip
    return pd.DataFrame(rows, columns=[*by_cols, *COVERAGE_COLUMNS])
