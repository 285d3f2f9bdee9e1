"""The study population: a protocol applied to a frame (eligibility and kommune filters,
collapsed strata values, banded numeric columns, and each case's stratum key)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.errors import MissingProtocolFileError, ProtocolError
from stikprove.protocol.model import BAND_SUFFIX, STRATUM_SEPARATOR, Protocol, band_values

# --------------------------------------------------------------------------------------------
# Applying a protocol to a frame


def load_study_frame(protocol: Protocol, path: str | Path | None = None) -> pd.DataFrame:
    """Read the protocol's frame (or ``path``), renaming mapped columns, validated by
    :func:`stikprove.frame.load_frame`."""
    from stikprove import frame as frame_module

    source = Path(path) if path is not None else protocol.frame_path
    if not source.exists():
        hint = ""
        if path is None:
            written = os.path.relpath(source, protocol.path.parent)
            hint = (
                f": [frame] path = \"{Path(written).as_posix()}\" in {protocol.path} is relative "
                f"to the protocol's own folder ({protocol.path.parent}), not to the folder the "
                "command runs in; write it from the protocol's folder, or as an absolute path"
            )
        raise MissingProtocolFileError(
            f"frame file {source} does not exist (protocol {protocol.path.name}, [frame] path)"
            + hint
        )
    if protocol.frame_columns:
        table = frame_module.read_table(source)
        rename = {v: k for k, v in protocol.frame_columns.items()}
        missing = [v for v in rename if v not in table.columns]
        if missing:
            raise ProtocolError(
                f"frame {source}: columns {missing} named in [frame.columns] are not in the file "
                f"(it has {', '.join(map(str, table.columns))})"
            )
        return frame_module.load_frame(table.rename(columns=rename))
    return frame_module.load_frame(source)


def check_worklist_fields(protocol: Protocol, frame: pd.DataFrame) -> None:
    """Raise ProtocolError unless every ``[review] worklist_fields`` entry is a column of
    ``frame`` (the loaded frame: canonical names after ``[frame.columns]`` renaming)."""
    missing = [c for c in protocol.worklist_fields if c not in frame.columns]
    if missing:
        raise ProtocolError(
            f"[review] worklist_fields names {missing}, which the frame does not have: "
            f"expected columns of the frame ({', '.join(map(str, frame.columns))})"
        )


def _as_key(values: pd.Series) -> pd.Series:
    """Strata values as strings: booleans 'true'/'false', everything else str()."""
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "true", False: "false"}).astype(object)
    return values.astype(str).astype(object)


def study_population(protocol: Protocol, frame: pd.DataFrame) -> pd.DataFrame:
    """The eligible cases of ``frame`` with their strata values and ``stratum`` key.

    Returns a copy (keeping the frame's index) with the eligibility and kommune filters
    applied, collapsed strata columns replaced by their groups, banded columns added
    (``years_on_benefit_band`` = "0-1", "1-3", ..., "ukendt" when missing), and a
    ``stratum`` column joining the strata values with '|' (booleans as 'true'/'false'),
    e.g. "461|kvinde|ikke_vestlig".
    Raises ProtocolError naming strata or eligibility columns missing from the frame,
    values a collapse mapping does not cover, and values below a band's first break.
    """
    sources = [
        c.removesuffix(BAND_SUFFIX) if c.endswith(BAND_SUFFIX) else c for c in protocol.strata
    ]
    needed = {"case_id", "kommune_code", *sources, *protocol.eligibility}
    missing = sorted(c for c in needed if c not in frame.columns)
    if missing:
        raise ProtocolError(
            f"frame lacks column(s) {missing} that protocol {protocol.study_id!r} uses "
            f"(strata: {list(protocol.strata)}; eligibility: {list(protocol.eligibility)}); "
            f"the frame has {', '.join(map(str, frame.columns))}"
        )
    keep = pd.Series(True, index=frame.index)
    for column, allowed in protocol.eligibility.items():
        keep &= frame[column].isin(list(allowed))
    codes = frame["kommune_code"].astype(str).str.zfill(3)
    if protocol.kommuner is not None:
        keep &= codes.isin(list(protocol.kommuner))
    population = frame.loc[keep].copy()
    population["kommune_code"] = codes[keep]
    keys = []
    for column in protocol.strata:
        if column.endswith(BAND_SUFFIX):
            source = column.removesuffix(BAND_SUFFIX)
            population[column] = band_values(population[source], protocol.bands[source])
        values = _as_key(population[column])
        mapping = protocol.collapse.get(column)
        if mapping is not None:
            unmapped = sorted(set(values) - set(mapping))
            if unmapped:
                raise ProtocolError(
                    f"[strata.collapse.{column}] does not map the frame values {unmapped}: "
                    f"expected a group for every value of {column!r}"
                )
            values = values.map(dict(mapping)).astype(object)
            population[column] = values
        keys.append(values)
    key = keys[0]
    for values in keys[1:]:
        key = key + STRATUM_SEPARATOR + values
    population["stratum"] = key.astype(object)
    return population


def joined_values(table: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> pd.Series:
    """The values of ``columns`` in each row joined by '|' as in stratum keys (booleans as
    'true'/'false'); "all" for no columns."""
    if not columns:
        return pd.Series("all", index=table.index, dtype=object)
    keys = _as_key(table[columns[0]])
    for column in columns[1:]:
        keys = keys + STRATUM_SEPARATOR + _as_key(table[column])
    return keys.astype(object)


def anticipated_rates(protocol: Protocol, strata: pd.DataFrame) -> np.ndarray:
    """The anticipated rate of each row of ``strata`` (a table with the strata columns, as
    :func:`study_population` gives them): the value listed for the row's
    ``anticipated_by`` values, else the default."""
    if not protocol.anticipated_by:
        return np.full(len(strata), protocol.anticipated, dtype=float)
    keys = joined_values(strata, protocol.anticipated_by)
    rates = keys.map(dict(protocol.anticipated_values)).astype(float)
    return rates.fillna(protocol.anticipated).to_numpy(dtype=float)
