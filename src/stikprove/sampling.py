"""Sampling: the reproducible stratified draw of a study's sample, with reserve lists.

:func:`draw` puts each stratum's cases in a random order; the first n_h are the sample and
the rest, in order, the stratum's reserve list (an ineligible sampled case is replaced by the
next reserve, so the sample stays a simple random sample within the stratum). The result is
a :class:`DrawnSample` as docs/CONTRACTS.md describes it; :func:`write_sample` and
:func:`read_sample` save and load it as a folder of CSV files.

Reproducibility
    The frame is first sorted by ``case_id`` (the result does not depend on the row order),
    and the random numbers come from numpy's PCG64 bit generator seeded by
    ``SeedSequence(seed, spawn_key=(stream, round))`` — stream 0 for the order, 1 for the
    double-review subsample. The order uses the generator's raw 64-bit outputs
    (``random_raw``), whose stream numpy keeps fixed across versions and platforms, so the
    same frame and protocol give byte-identical ``units.csv`` and ``strata.csv`` anywhere.

Coordination with an earlier study
    Every case gets a permanent random number ``prn`` in (0, 1): HMAC-SHA256 of its case_id
    keyed by the protocol's coordination key (default derived from the seed). With
    ``coordination = "overlap"`` the cases sampled by the earlier study come first in their
    stratum (in PRN order), then the others in PRN order, which maximises the overlap; with
    ``"avoid"`` they come last, so they are reselected only where a stratum has fewer than
    n_h other cases (said in ``notes``). Within each group the order is by PRN, an iid
    uniform, so among the cases not (or all) previously sampled the draw is SRSWOR. With
    ``"independent"`` the PRNs are recorded but not used. The PRNs depend on the key alone
    (the seed only through the default key ``seed:<seed>``, the round not at all), so a
    coordinated round > 1 repeats round 1's order (said in ``notes``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stikprove._version import __version__
from stikprove.design import design_from_population, double_review_count
from stikprove.errors import SamplingError
from stikprove.files import atomic_folder
from stikprove.frame import frame_fingerprint as compute_frame_fingerprint
from stikprove.protocol import (
    Protocol,
    check_worklist_fields,
    study_population,
)

UNITS_FILE = "units.csv"
STRATA_FILE = "strata.csv"
METADATA_FILE = "metadata.json"
PROTOCOL_FILE = "protocol.toml"

STREAM_ORDER = 0
STREAM_DOUBLE_REVIEW = 1

ROLES = ("sample", "reserve")


@dataclass(frozen=True)
class DrawnSample:
    """A drawn sample (docs/CONTRACTS.md, "Drawn sample").

    ``units``: one row per eligible frame case, sorted by stratum and draw_order, with
    ``case_id``, ``stratum``, the strata columns, ``kommune_code``, ``health_exempt``,
    ``draw_order`` (1..N_h), ``role`` ("sample" | "reserve"), ``inclusion_probability``
    (n_h / N_h), ``weight`` (N_h / n_h), ``double_review`` (bool) and ``prn``.
    ``strata``: ``stratum``, the strata columns, ``population_size``, ``sample_size``.
    ``metadata``: study_id, round, seed, protocol_fingerprint, frame_fingerprint,
    package_version, drawn_at (ISO 8601 UTC), coordination, and more (see :func:`draw`).
    ``notes``: warnings about the draw (e.g. "avoid" had to reselect earlier cases).
    """

    units: pd.DataFrame
    strata: pd.DataFrame
    metadata: Mapping[str, Any]
    protocol_text: str
    notes: tuple[str, ...] = field(default=())

    @property
    def sample(self) -> pd.DataFrame:
        """The units with role "sample"."""
        return self.units.loc[self.units["role"] == "sample"]

    @property
    def strata_columns(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("strata_columns", ()))


def permanent_random_numbers(case_ids: Iterable[str], key: str) -> np.ndarray:
    """Uniform numbers in (0, 1) from HMAC-SHA256(key, case_id): the first 8 bytes as an
    unsigned integer u, then (u + 0.5) / 2^64. The same id and key give the same number on
    any machine and in any study that uses the key."""
    # the keyed state is prepared once and copied for each id (faster for many ids)
    keyed = hmac.new(key.encode("utf-8"), digestmod=hashlib.sha256)
    parts = []
    for c in case_ids:
        mac = keyed.copy()
        mac.update(str(c).encode("utf-8"))
        parts.append(mac.digest()[:8])
    raw = b"".join(parts)
    u = np.frombuffer(raw, dtype=">u8").astype(np.float64)
    # (u + 0.5) / 2^64 in float64 can round to 1.0 for u near 2^64: keep it inside (0, 1).
    return np.clip((u + 0.5) / 2.0**64, 2.0**-64, 1 - 2.0**-53)


def _generator(seed: int, stream: int, round: int) -> np.random.PCG64:
    return np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(stream, int(round))))


def _previous_cases(previous: Any) -> tuple[set[str], str | None, str | None]:
    """Case ids sampled by an earlier study, its study id and its frame's key check value
    (:func:`stikprove.pseudonymization.key_check_value`) when known."""
    if previous is None:
        return set(), None, None
    key_check = None
    if isinstance(previous, DrawnSample):
        units = previous.units
        study = previous.metadata.get("study_id")
        key_check = previous.metadata.get("key_check")
    else:
        path = Path(previous)
        if path.is_dir():
            sample = read_sample(path)
            units, study = sample.units, sample.metadata.get("study_id")
            key_check = sample.metadata.get("key_check")
        elif path.is_file():
            units = pd.read_csv(path, dtype=str, keep_default_na=False)
            study = None
            if "case_id" not in units.columns:
                raise SamplingError(
                    f"previous sample {path}: expected a column 'case_id', "
                    f"got {', '.join(units.columns)}"
                )
        else:
            raise SamplingError(
                f"previous sample {path} does not exist: expected a sample folder "
                "(with units.csv) or a CSV file with a case_id column"
            )
    if "role" in units.columns:
        units = units.loc[units["role"] == "sample"]
    return set(units["case_id"].astype(str)), study, key_check


def _named(study: str | None) -> str:
    return f" {study!r}" if study else ""


def draw(
    protocol: Protocol,
    frame: pd.DataFrame,
    previous: DrawnSample | str | Path | None = None,
    round: int = 1,  # the study's round number, as the contract names it
    *,
    frame_fingerprint: str | None = None,
    drawn_at: datetime | None = None,
    key_check: str | None = None,
) -> DrawnSample:
    """Draw the protocol's stratified SRSWOR sample (and reserves) from ``frame``.

    ``frame`` is the loaded frame (:func:`stikprove.frame.load_frame`); its eligible cases
    are stratified as :func:`stikprove.protocol.study_population` says and allocated as
    :func:`stikprove.design.design_table` says. ``previous`` is the earlier study's sample
    (a DrawnSample, its folder, or a CSV with case_id [and role]); it defaults to the
    protocol's ``[coordination] previous`` and is used with coordination overlap / avoid.
    ``round`` (1, 2, ...) numbers repeated draws within a study; each round has its own
    random streams. ``frame_fingerprint`` may be passed when already computed.
    ``key_check`` is the check value of the key the frame was pseudonymised with (the
    ``.keycheck`` file beside it); it is kept in the metadata.

    A coordinated draw is refused when the earlier study's frame was pseudonymised with
    another key (their key check values differ) or when none of the earlier study's
    sampled cases is in the population: ids made with another key never match, and the
    draw would silently coordinate with nothing.
    """
    if isinstance(round, bool) or not isinstance(round, int | np.integer) or round < 1:
        raise SamplingError(f"round must be a whole number >= 1, got {round!r}")
    check_worklist_fields(protocol, frame)
    population = study_population(protocol, frame)
    design = design_from_population(protocol, population)
    if not population["case_id"].is_unique:
        duplicated = population["case_id"].duplicated(keep=False)
        ids = population.loc[duplicated, "case_id"].unique()[:5].tolist()
        raise SamplingError(
            f"frame has duplicated case_id values (e.g. {ids}): expected one row per case"
        )
    fingerprint = frame_fingerprint or compute_frame_fingerprint(frame)

    # canonical order: by case_id, whatever the input order
    population = population.sort_values("case_id", kind="stable").reset_index(drop=True)
    size = len(population)
    strata_table = design.strata
    stratum_keys = strata_table["stratum"].to_numpy()
    stratum_code = pd.Index(stratum_keys).get_indexer(population["stratum"]).astype(np.int64)
    prn = permanent_random_numbers(
        population["case_id"].astype(str).tolist(), protocol.coordination_key
    )

    notes: list[str] = list(design.notes)
    mode = protocol.coordination
    prev_ids: set[str] = set()
    prev_study = None
    if mode != "independent":
        source = previous if previous is not None else protocol.previous
        if source is None:
            raise SamplingError(
                f"coordination {mode!r} needs the earlier study's sample: pass previous= "
                "or set [coordination] previous in the protocol"
            )
        prev_ids, prev_study, prev_key_check = _previous_cases(source)
        if key_check and prev_key_check and key_check != prev_key_check:
            raise SamplingError(
                f"coordination {mode}: the frame was pseudonymised with another key than the "
                f"earlier study{_named(prev_study)}'s (key check {key_check}, earlier "
                f"{prev_key_check}): its case ids cannot match; pseudonymise the extract with "
                "the earlier study's key (nothing was written)"
            )
        if round > 1:
            notes.append(
                f"round {round}: with coordination {mode} the order comes from the permanent "
                "random numbers, which do not depend on the seed's streams or the round: this "
                "round repeats round 1's sample unless the frame, the earlier sample or the "
                "coordination key changed"
            )
    elif previous is not None:
        notes.append("coordination independent: the earlier sample given was not used")
    was_sampled = (
        population["case_id"].astype(str).isin(prev_ids).to_numpy()
        if prev_ids
        else np.zeros(size, dtype=bool)
    )
    if mode != "independent" and not was_sampled.any():
        raise SamplingError(
            f"coordination {mode}: none of the {len(prev_ids)} cases sampled by the earlier "
            f"study{_named(prev_study)} is in this frame's population: the frames were likely "
            "pseudonymised with different keys (compare their .keycheck files), or "
            "[coordination] previous names the wrong study; expected some overlap (nothing "
            "was written)"
        )
    position = np.arange(size)
    if mode == "independent":
        key = _generator(protocol.seed, STREAM_ORDER, round).random_raw(size)
        order = np.lexsort((position, key, stratum_code))
    elif mode == "overlap":
        order = np.lexsort((position, prn, ~was_sampled, stratum_code))
    else:
        order = np.lexsort((position, prn, was_sampled, stratum_code))

    sizes = strata_table["population_size"].to_numpy()
    n_h = strata_table["sample_size"].to_numpy()
    code_sorted = stratum_code[order]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    draw_order = np.arange(size) - starts[code_sorted] + 1
    is_sample = draw_order <= n_h[code_sorted]

    columns = list(protocol.strata)
    keep = ["case_id", "stratum", *columns]
    if "kommune_code" not in columns:
        keep.append("kommune_code")
    if "health_exempt" not in columns and "health_exempt" in population.columns:
        keep.append("health_exempt")
    out = population.loc[:, keep].take(order).reset_index(drop=True)
    out["case_id"] = out["case_id"].astype(str)
    out["kommune_code"] = out["kommune_code"].astype(str)
    if "health_exempt" not in out.columns:
        out["health_exempt"] = pd.array([pd.NA] * size, dtype="boolean")
    elif "health_exempt" not in columns:
        out["health_exempt"] = out["health_exempt"].astype(bool)
    out["draw_order"] = draw_order.astype(np.int64)
    out["role"] = pd.Series(np.where(is_sample, "sample", "reserve"), dtype="str")
    N_u = sizes[code_sorted].astype(float)
    n_u = n_h[code_sorted].astype(float)
    out["inclusion_probability"] = n_u / N_u
    with np.errstate(divide="ignore"):
        out["weight"] = np.where(n_u > 0, N_u / np.where(n_u > 0, n_u, 1), np.inf)

    # the double-review subsample: its own stream, over the sample in (stratum, draw) order
    sample_rows = np.flatnonzero(is_sample)
    doubles = double_review_count(len(sample_rows), protocol.double_review_fraction)
    double = np.zeros(size, dtype=bool)
    if doubles:
        key2 = _generator(protocol.seed, STREAM_DOUBLE_REVIEW, round).random_raw(len(sample_rows))
        chosen = sample_rows[np.argsort(key2, kind="stable")[:doubles]]
        double[chosen] = True
    out["double_review"] = double
    out["prn"] = prn[order]

    if mode != "independent":
        prev_sorted = was_sampled[order]
        reselected = pd.Series(prev_sorted & is_sample).groupby(code_sorted).sum()
        fresh = (
            pd.Series(~prev_sorted)
            .groupby(code_sorted)
            .sum()
            .reindex(range(len(sizes)), fill_value=0)
        )
        overlap = int((prev_sorted & is_sample).sum())
        if mode == "avoid":
            short = np.flatnonzero(fresh.to_numpy() < n_h)
            for h in short:
                notes.append(
                    f"avoid: stratum {stratum_keys[h]} has {int(fresh.iloc[h])} cases not sampled "
                    f"before for n_h = {int(n_h[h])}: {int(reselected.get(h, 0))} earlier "
                    "case(s) reselected"
                )
        notes.append(
            f"coordination {mode}: {overlap} of {int(is_sample.sum())} sampled cases were sampled "
            f"by the earlier study ({len(prev_ids)} cases)"
        )
    else:
        overlap = None

    strata_out = strata_table.loc[:, ["stratum", *columns, "population_size", "sample_size"]]
    strata_out = strata_out.reset_index(drop=True)
    moment = (drawn_at or datetime.now(UTC)).astimezone(UTC)
    metadata = {
        "study_id": protocol.study_id,
        "round": int(round),
        "seed": int(protocol.seed),
        "protocol_fingerprint": protocol.fingerprint,
        "frame_fingerprint": fingerprint,
        "package_version": __version__,
        "drawn_at": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "coordination": mode,
        "key_check": key_check,
        "previous_study_id": prev_study,
        "previous_sampled_cases": len(prev_ids) if mode != "independent" else None,
        "overlap_with_previous": overlap,
        "strata_columns": columns,
        "population_size": int(size),
        "sample_size": int(is_sample.sum()),
        "double_reviews": int(double.sum()),
        "allocation": protocol.allocation,
        "notes": list(notes),
    }
    return DrawnSample(out, strata_out, metadata, protocol.text, tuple(notes))


# --------------------------------------------------------------------------------------------
# Saving and loading


def _csv_quote(cell: str) -> str:
    """A cell quoted as the csv module's QUOTE_MINIMAL does (only when it must be)."""
    if any(ch in cell for ch in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv_cells(series: pd.Series) -> list[str]:
    """One column as CSV cells: booleans true/false, floats in shortest repr (inf kept),
    missing values empty, text quoted where needed."""
    missing = series.isna().to_numpy()
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        cells = ["true" if v else "false" for v in series.fillna(False).tolist()]
    elif pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=float)
        unique, inverse = np.unique(values, return_inverse=True)
        if len(unique) < len(values) // 4:  # few distinct values (probabilities, weights)
            text = np.array([repr(v) for v in unique.tolist()], dtype=object)
            cells = text[inverse.ravel()].tolist()
        else:
            cells = [repr(v) for v in values.tolist()]
    elif pd.api.types.is_integer_dtype(dtype) and not missing.any():
        cells = [str(v) for v in series.tolist()]
    else:
        cells = [str(v) for v in series.tolist()]
        joined = "".join(cells)
        if any(ch in joined for ch in ',"\r\n'):
            cells = [_csv_quote(c) for c in cells]
    if missing.any():
        cells = ["" if m else c for c, m in zip(cells, missing, strict=True)]
    return cells


def _csv_text(df: pd.DataFrame) -> str:
    """CSV text as the csv module writes it (minimal quoting, '\n' line ends), with
    booleans as true/false and floats in Python's shortest round-trip repr: the same bytes
    on any machine for the same values."""
    header = ",".join(_csv_quote(str(c)) for c in df.columns)
    columns = [_csv_cells(df[c]) for c in df.columns]
    rows = [",".join(row) for row in zip(*columns, strict=True)]
    return "\n".join([header, *rows]) + "\n"


def same_sample(a: DrawnSample, b: DrawnSample) -> bool:
    """Would the two samples write byte-identical units.csv and strata.csv?"""
    return _csv_text(a.units) == _csv_text(b.units) and _csv_text(a.strata) == _csv_text(b.strata)


def write_sample(sample: DrawnSample, directory: str | Path) -> Path:
    """Write the sample into a new folder: units.csv, strata.csv, metadata.json,
    protocol.toml. The files are written into a temporary folder beside it, which is then
    renamed, so the folder appears complete or not at all. Refuses an existing non-empty
    folder (SamplingError)."""
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise SamplingError(
            f"{directory} already exists and is not an empty folder: expected a new folder "
            "for the sample (nothing was written)"
        )
    files = {
        UNITS_FILE: _csv_text(sample.units),
        STRATA_FILE: _csv_text(sample.strata),
        METADATA_FILE: json.dumps(dict(sample.metadata), indent=2, ensure_ascii=False) + "\n",
        PROTOCOL_FILE: sample.protocol_text,
    }
    return atomic_folder(directory, files)


_BOOL = {"true": True, "false": False}


def _parse_bool(series: pd.Series, name: str, path: Path) -> pd.Series:
    bad = ~series.isin([*_BOOL, ""])
    if bad.any():
        raise SamplingError(
            f"{path}: column {name!r} has {series[bad].iloc[0]!r}: expected true or false"
        )
    if (series == "").any():  # unknown (a frame without the column)
        return series.map(_BOOL).astype("boolean")
    return series.map(_BOOL).astype(bool)


def read_sample(directory: str | Path) -> DrawnSample:
    """Read a sample folder written by :func:`write_sample`."""
    directory = Path(directory)
    missing = [
        f
        for f in (UNITS_FILE, STRATA_FILE, METADATA_FILE, PROTOCOL_FILE)
        if not (directory / f).is_file()
    ]
    if missing:
        raise SamplingError(
            f"{directory} is not a sample folder: missing {', '.join(missing)} "
            "(expected what write_sample writes)"
        )
    metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    protocol_text = (directory / PROTOCOL_FILE).read_text(encoding="utf-8")
    units = pd.read_csv(directory / UNITS_FILE, dtype=str, keep_default_na=False)
    units = units.astype(object)
    strata = pd.read_csv(directory / STRATA_FILE, dtype=str, keep_default_na=False)
    strata = strata.astype(object)
    columns = metadata.get("strata_columns", [])
    units["draw_order"] = units["draw_order"].astype(np.int64)
    for column in ("inclusion_probability", "weight", "prn"):
        units[column] = units[column].astype(float)
    units["double_review"] = _parse_bool(units["double_review"], "double_review", directory)
    units["health_exempt"] = _parse_bool(units["health_exempt"], "health_exempt", directory)
    for column in ("population_size", "sample_size"):
        strata[column] = strata[column].astype(np.int64)
    if "health_exempt" in columns:
        strata["health_exempt"] = _parse_bool(strata["health_exempt"], "health_exempt", directory)
    notes = tuple(metadata.get("notes", []))
    return DrawnSample(units, strata, metadata, protocol_text, notes)
