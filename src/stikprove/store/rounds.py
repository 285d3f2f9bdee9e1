"""Creating and opening a study store, and adding rounds to it.

A store is created new from a drawn sample (:func:`create_study`), opened (and migrated
when older, :func:`open_study`), and grows by rounds (:func:`add_round`). The draw's saving
step (:func:`store_drawn_sample`) chooses between the two.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stikprove._version import __version__
from stikprove.codebook import Codebook, default_codebook, parse_codebook
from stikprove.errors import MissingStudyError, ProtocolError, StoreError
from stikprove.store.assignment import assign_reviewers
from stikprove.store.schema import (
    APPLICATION_ID,
    APPLICATION_NAME,
    SCHEMA_VERSION,
    SQLITE_MAGIC,
    STRATA_COLUMNS,
    UNIT_COLUMNS,
    audit,
    check_codebook_for_store,
    checkpoint,
    connect,
    migrate,
    now_utc,
    open_problem,
    os_user,
    restrict_side_files,
)
from stikprove.store.study import Study

if TYPE_CHECKING:
    from stikprove.protocol import Protocol

# --------------------------------------------------------------------------------------
# create and open


def _require_columns(df: object, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise StoreError(f"sample.{name}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise StoreError(
            f"sample.{name} lacks column(s) {', '.join(missing)}: expected the columns of a "
            "DrawnSample (docs/CONTRACTS.md)"
        )
    return df


def _strata_columns(sample: object) -> tuple[str, ...]:
    cols = dict(getattr(sample, "metadata", None) or {}).get("strata_columns")
    if cols is None:
        cols = getattr(getattr(sample, "protocol", None), "strata", None)
    if cols:
        return tuple(cols)
    strata = sample.strata  # type: ignore[attr-defined]
    return tuple(c for c in strata.columns if c not in STRATA_COLUMNS)


ALWAYS_ON_WORKLISTS = ("case_id", "kommune_code", "stratum")
"""Unit columns every worklist shows (with kommune_name); other frame fields only when the
protocol lists them in ``[review] worklist_fields``."""


def _drawn_protocol(text: str, store: Path, codebook: Codebook | None = None,
                    search: tuple[Path, ...] | None = None) -> Protocol:  # fmt: skip
    """The protocol a drawn sample was drawn from, read from its text by the protocol
    module (:func:`stikprove.protocol.parse_protocol`), so that a store keeps only a
    protocol its readers (``Study.protocol``) can read: refused with every problem named.

    With ``codebook`` (the one the store keeps) the protocol's ``[review] codebook`` file is
    not read; without it, it is looked up relative to each folder of ``search`` in turn
    (default: the store's folder)."""
    from stikprove.protocol import parse_protocol

    name = f"the protocol of the sample for study {store}"
    if codebook is not None:
        return parse_protocol(text, store.parent / "protocol.toml", codebook=codebook, name=name)
    first: ProtocolError | None = None
    for folder in search or (store.parent,):
        try:
            return parse_protocol(text, folder / "protocol.toml", name=name)
        except ProtocolError as error:  # e.g. its codebook file is not in this folder
            first = first or error
    assert first is not None
    raise ProtocolError(
        f"{first}\n(the protocol's files were looked for in "
        f"{', '.join(str(f) for f in search or (store.parent,))}: run the command from the "
        "protocol's folder)"
    ) from None


def _worklist_fields(fields: tuple[str, ...], available: list[str]) -> tuple[str, ...]:
    """The frame fields worklists show beyond the fixed columns: ``fields`` (the protocol's
    ``worklist_fields``) less the fixed columns; each must be in the units."""
    fields = tuple(dict.fromkeys(f for f in fields if f not in ALWAYS_ON_WORKLISTS))
    unknown = [f for f in fields if f not in available]
    if unknown:
        raise StoreError(
            f"protocol [review] worklist_fields: {', '.join(map(str, unknown))} not in the "
            f"sample's units or the frame; expected some of {', '.join(available) or '(none)'}"
        )
    return fields


def _json_value(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None  # a missing frame field (Int64 NA, NaT) is null, not "<NA>" / "NaT"
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        if value.tzinfo is None and value == value.replace(hour=0, minute=0, second=0,
                                                           microsecond=0):  # fmt: skip
            return value.date().isoformat()  # a frame date (last_effort_date): YYYY-MM-DD
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _codebook_of(sample: object, codebook: Codebook | None) -> Codebook:
    if codebook is not None:
        return codebook
    for holder in (sample, getattr(sample, "protocol", None)):
        found = getattr(holder, "codebook", None)
        if isinstance(found, Codebook):
            return found
    return default_codebook()


@dataclass(frozen=True)
class _Drawn:
    """A drawn sample's parts, checked for storing."""

    units: pd.DataFrame
    strata: pd.DataFrame
    metadata: dict
    protocol_text: str
    strata_columns: tuple[str, ...]
    extra: list[str]
    worklist_fields: tuple[str, ...]
    study_id: str
    protocol_fingerprint: str
    round: int

    drawn_columns: list[str]
    """The units' columns as the draw made them (frame fields for worklists come after)."""

    @classmethod
    def of(
        cls,
        sample: object,
        path: Path,
        codebook: Codebook,
        worklist_fields: tuple[str, ...] | None = None,
        worklist_values: pd.DataFrame | None = None,
    ) -> _Drawn:
        """The sample's protocol text is read with ``codebook`` (the store's) by the
        protocol module; a text it refuses is not stored. ``worklist_fields``: the
        protocol's (default: its ``[review] worklist_fields``);
        ``worklist_values``: case_id and frame columns to take them from when the units
        lack them (the draw command passes the frame)."""
        units = _require_columns(getattr(sample, "units", None), "units", UNIT_COLUMNS)
        drawn_columns = [str(c) for c in units.columns]
        strata = _require_columns(getattr(sample, "strata", None), "strata", STRATA_COLUMNS)
        metadata = dict(getattr(sample, "metadata", None) or {})
        protocol_text = getattr(sample, "protocol_text", None)
        if not isinstance(protocol_text, str):
            raise StoreError("sample.protocol_text: expected the protocol's TOML text (str)")
        if units["case_id"].duplicated().any():
            dup = units.loc[units["case_id"].duplicated(), "case_id"].iloc[0]
            raise StoreError(f"sample.units: case_id {dup!r} appears twice; expected unique ids")
        protocol = _drawn_protocol(protocol_text, path, codebook)
        if worklist_fields is None:
            worklist_fields = protocol.worklist_fields
        wanted = [f for f in worklist_fields if f not in units.columns]
        if wanted and worklist_values is not None:
            have = [f for f in wanted if f in worklist_values.columns]
            values = worklist_values[["case_id", *have]].drop_duplicates("case_id")
            values = values.assign(case_id=values["case_id"].astype(str))
            units = units.merge(values, on="case_id", how="left", validate="one_to_one")
        extra = [c for c in units.columns if c not in UNIT_COLUMNS]
        return cls(
            units=units,
            strata=strata,
            metadata=metadata,
            protocol_text=protocol_text,
            strata_columns=_strata_columns(sample),
            extra=extra,
            worklist_fields=_worklist_fields(tuple(worklist_fields), [*extra, "health_exempt"]),
            study_id=str(metadata.get("study_id") or path.stem),
            protocol_fingerprint=str(
                metadata.get("protocol_fingerprint")
                or hashlib.sha256(protocol_text.encode("utf-8")).hexdigest()
            ),
            round=int(metadata.get("round") or 1),
            drawn_columns=drawn_columns,
        )


def create_study(
    path: str | Path,
    sample: object,
    codebook: Codebook | None = None,
    reviewers: list[str] | tuple[str, ...] | None = None,
    worklist_fields: tuple[str, ...] | None = None,
    worklist_values: pd.DataFrame | None = None,
) -> Study:
    """Create the study store at ``path`` from a drawn sample and return it open.

    ``sample`` is anything with the attributes of a DrawnSample (``units``, ``strata``,
    ``metadata``, ``protocol_text``; docs/CONTRACTS.md). ``codebook`` defaults to the
    sample's protocol's codebook, else the default codebook. With ``reviewers`` the cases
    are assigned at once (:func:`stikprove.assignment.assign_reviewers`).

    Worklists show the frame fields in ``worklist_fields`` (default: the protocol's
    ``[review] worklist_fields``), taken from the units
    or else from ``worklist_values`` (case_id and frame columns; the draw passes the
    frame). They are kept with the units but are not part of the stored sample that
    :func:`read_stored_sample` gives back.

    The file is created new (an existing file is refused) with mode 0600.
    """
    path = Path(path)
    codebook = _codebook_of(sample, codebook)
    check_codebook_for_store(codebook)
    d = _Drawn.of(sample, path, codebook, worklist_fields, worklist_values)
    units, strata, metadata, protocol_text = d.units, d.strata, d.metadata, d.protocol_text
    strata_cols, extra, worklist_fields = d.strata_columns, d.extra, d.worklist_fields
    study_id, protocol_fingerprint, round_no = d.study_id, d.protocol_fingerprint, d.round
    drawn_columns = d.drawn_columns

    if path.exists() or path.is_symlink():
        raise StoreError(f"{path} already exists: a study store is created new, never over a file")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as error:
        raise StoreError(f"cannot create study store {path}: {error.strerror}") from None
    os.close(fd)
    os.chmod(path, 0o600)  # whatever the umask
    try:
        _initialise(
            path, codebook, units, strata, metadata, protocol_text, protocol_fingerprint,
            strata_cols, worklist_fields, study_id, round_no, extra, drawn_columns,
        )  # fmt: skip
    except BaseException:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        raise
    study = open_study(path)
    if reviewers:
        assign_reviewers(study, reviewers)
    return study


def _initialise(
    path: Path,
    codebook: Codebook,
    units: pd.DataFrame,
    strata: pd.DataFrame,
    metadata: dict,
    protocol_text: str,
    protocol_fingerprint: str,
    strata_cols: tuple[str, ...],
    worklist_fields: tuple[str, ...],
    study_id: str,
    round_no: int,
    extra: list[str],
    drawn_columns: list[str],
) -> None:
    con = connect(path)
    try:
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("PRAGMA journal_mode = WAL")
        restrict_side_files(path)
        con.execute("BEGIN IMMEDIATE")
        migrate(con, 0, codebook)
        stamp = now_utc()
        meta = {
            "application": APPLICATION_NAME,
            "study_id": study_id,
            "codebook_text": codebook.text,
            "codebook_fingerprint": codebook.fingerprint,
            "protocol_fingerprint": protocol_fingerprint,
            "frame_fingerprint": str(metadata.get("frame_fingerprint") or ""),
            "strata_columns": json.dumps(list(strata_cols)),
            "worklist_fields": json.dumps(list(worklist_fields)),
            "unit_columns": json.dumps(drawn_columns),
            "strata_table_columns": json.dumps([str(c) for c in strata.columns]),
            "created_at": stamp,
            "stikprove_version": __version__,
        }
        con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())
        con.execute(
            "INSERT INTO rounds VALUES (?, ?, ?, ?, ?, ?)",
            (
                round_no,
                protocol_text,
                protocol_fingerprint,
                meta["frame_fingerprint"],
                json.dumps({k: _json_value(v) for k, v in metadata.items()}),
                stamp,
            ),
        )
        _insert_strata(con, strata, strata_cols, round_no)
        _insert_units(con, units, extra, round_no)
        con.execute(
            "INSERT INTO audit (at, actor, os_user, action, source, details) "
            "VALUES (?, ?, ?, 'create', ?, ?)",
            (
                stamp,
                os_user(),
                os_user(),
                "create_study",
                f"study {study_id}; round {round_no}; {len(strata)} strata; "
                f"{int((units['role'] == 'sample').sum())} sampled and "
                f"{int((units['role'] == 'reserve').sum())} reserve cases; protocol "
                f"{protocol_fingerprint[:12]}; frame {meta['frame_fingerprint'][:12]}",
            ),
        )
        con.execute("COMMIT")
    except sqlite3.Error as error:
        raise StoreError(f"cannot store the sample in {path}: {error}") from None
    finally:
        con.close()
    restrict_side_files(path)


def _insert_strata(
    con: sqlite3.Connection, strata: pd.DataFrame, cols: tuple[str, ...], round_no: int
) -> None:
    rows = []
    for rec in strata.to_dict("records"):
        attrs = {c: _json_value(rec.get(c)) for c in cols if c in rec}
        rows.append(
            (
                round_no,
                str(rec["stratum"]),
                int(rec["population_size"]),
                int(rec["sample_size"]),
                json.dumps(attrs, ensure_ascii=False),
            )
        )
    con.executemany(
        "INSERT INTO strata (round, stratum, population_size, sample_size, attributes) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def _insert_units(
    con: sqlite3.Connection, units: pd.DataFrame, extra: list[str], round_no: int
) -> None:
    # Column by column (not ``to_dict("records")``, which took about 1 s of a national
    # draw's 2 s here): the same values, 34,000 units in a few tenths of a second.
    def opt_float(v: object) -> float | None:
        return None if v is None or pd.isna(v) else float(v)

    def values(column: str) -> list:
        return units[column].tolist()

    if extra:
        extra_values = [[_json_value(v) for v in values(c)] for c in extra]
        attributes = [
            json.dumps(dict(zip(extra, row, strict=True)), ensure_ascii=False)
            for row in zip(*extra_values, strict=True)
        ]
    else:
        attributes = [json.dumps({})] * len(units)
    rows = zip(
        [str(v) for v in values("case_id")],
        [str(v) for v in values("stratum")],
        [str(v).zfill(3) for v in values("kommune_code")],
        [int(bool(v)) for v in values("health_exempt")],
        [int(v) for v in values("draw_order")],
        [str(v) for v in values("role")],
        [opt_float(v) for v in values("inclusion_probability")],
        [opt_float(v) for v in values("weight")],
        [int(bool(v)) for v in values("double_review")],
        [opt_float(v) for v in values("prn")],
        [round_no] * len(units),
        attributes,
        strict=True,
    )
    con.executemany(
        "INSERT INTO units (case_id, stratum, kommune_code, health_exempt, draw_order, role, "
        "inclusion_probability, weight, double_review, prn, round, attributes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def open_study(path: str | Path, round: int | None = None) -> Study:
    """Open an existing study store, working on ``round`` (default: the latest round,
    read at each call).

    Refuses (StoreError) a missing file, a file that is not SQLite, a SQLite file that is
    not a stikprove study store, a corrupt one, one written by a newer stikprove, and a
    ``round`` it does not hold. An older schema is migrated in place (audited).
    """
    path = Path(path)
    if not path.exists():
        raise MissingStudyError(f"study store {path} does not exist: expected a file made by "
                         "'stikprove draw ... --study'")  # fmt: skip
    if not path.is_file():
        raise StoreError(f"study store {path} is not a file")
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as error:
        raise StoreError(f"cannot read study store {path}: {error.strerror}") from None
    if not header.startswith(SQLITE_MAGIC):
        raise StoreError(
            f"{path} is not a study store: it is not an SQLite database "
            "(expected a file made by 'stikprove draw ... --study')"
        )
    con = connect(path)
    try:
        try:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise StoreError(
                    f"{path} is an SQLite database but not a stikprove study store "
                    f"(application_id {app_id}, expected {APPLICATION_ID})"
                )
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{path} has schema version {version}, newer than this stikprove "
                    f"understands ({SCHEMA_VERSION}): upgrade stikprove to open it"
                )
            check = con.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                detail = "; ".join(str(r[0]) for r in check[:3])
                raise StoreError(f"{path} is corrupt (SQLite integrity check: {detail})")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            codebook = parse_codebook(meta["codebook_text"], source=f"{path} codebook")
            if version < SCHEMA_VERSION:
                con.execute("BEGIN IMMEDIATE")
                # another process may have migrated it while this one waited for the lock
                version = con.execute("PRAGMA user_version").fetchone()[0]
                if version < SCHEMA_VERSION:
                    migrate(con, version, codebook)
                    con.execute(
                        "INSERT INTO audit (at, actor, os_user, action, source, details) "
                        "VALUES (?, ?, ?, 'migrate', 'open_study', ?)",
                        (now_utc(), os_user(), os_user(),
                         f"schema {version} -> {SCHEMA_VERSION}"),
                    )  # fmt: skip
                con.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise StoreError(open_problem(path, error) or f"{path} is corrupt or not a study "
                             f"store: {error}") from None  # fmt: skip
        except KeyError as error:
            raise StoreError(f"{path} is corrupt: meta key {error} is missing") from None
    finally:
        con.close()
    restrict_side_files(path)
    study = Study(
        path=path.resolve(),
        study_id=meta["study_id"],
        codebook=codebook,
        strata_columns=tuple(json.loads(meta["strata_columns"])),
        worklist_fields=tuple(json.loads(meta["worklist_fields"])),
        schema_version=SCHEMA_VERSION,
    )
    return study if round is None else study.for_round(round)


# --------------------------------------------------------------------------------------
# the draw's saving step (commands/sampling.py's save_drawn_sample calls this)


def _protocol_codebook(protocol_text: str, path: Path) -> Codebook:
    """The codebook the protocol names (``[review] codebook``: "default" or a path, looked
    up relative to the working folder, then the store's folder), as the protocol module
    reads it."""
    search = (Path.cwd(), path.resolve().parent)
    return _drawn_protocol(protocol_text, path, search=search).codebook


def stored_rounds(path: str | Path) -> list[int]:
    """Rounds whose sample the study store at ``path`` holds (empty when no store)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [int(r) for r in open_study(path).rounds()["round"]]


def read_stored_sample(path: str | Path, round: int | None = None):
    """The DrawnSample stored for ``round`` (default: the latest), as sampling wrote it."""
    import tempfile

    from stikprove.sampling import DrawnSample, read_sample, write_sample

    study = open_study(path)
    rounds = study.rounds()
    if round is None:
        round = int(rounds["round"].max())
    if round not in set(rounds["round"]):
        raise StoreError(f"{path} holds no round {round}: expected one of "
                         f"{', '.join(map(str, rounds['round']))}")  # fmt: skip
    meta = study.meta()
    metadata = json.loads(rounds.set_index("round").loc[round, "metadata"])
    study = study.for_round(round)
    units = study.units()
    units = units[json.loads(meta["unit_columns"])].reset_index(drop=True)
    strata = study.strata()[json.loads(meta["strata_table_columns"])]
    text = study.protocol_text
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_sample(
            DrawnSample(units, strata, metadata, text, tuple(metadata.get("notes") or ())),
            Path(tmp) / "sample",
        )
        return read_sample(folder)


def store_drawn_sample(
    sample: object,
    path: str | Path,
    worklist_fields: tuple[str, ...] | None = None,
    worklist_values: pd.DataFrame | None = None,
) -> Study:
    """Save a drawn sample as the study store at ``path`` (the draw's saving step).

    A new ``path`` becomes a new study store (:func:`create_study`, with the codebook the
    protocol names). An existing store is never overwritten: the same round again is
    refused as already drawn; the next round (one more than the latest stored) is added
    beside the earlier ones (:func:`add_round`). ``worklist_fields`` and
    ``worklist_values``: as for :func:`create_study`. Afterwards the write-ahead log is
    checkpointed into the study file, so that a copy of the .sqlite file alone is whole.
    """
    path = Path(path)
    metadata = dict(getattr(sample, "metadata", None) or {})
    round_no = int(metadata.get("round") or 1)
    protocol_text = str(getattr(sample, "protocol_text", "") or "")
    if path.exists():
        if not path.is_file():
            raise StoreError(f"{path} exists and is not a study store file (nothing was written)")
        rounds = stored_rounds(path)
        if round_no in rounds:
            raise StoreError(
                f"study {path} already has a sample (round {round_no}): it is never drawn "
                "again over (nothing was written)"
            )
        codebook = _protocol_codebook(protocol_text, path)
        study = add_round(path, sample, codebook, worklist_fields, worklist_values)
    else:
        codebook = _protocol_codebook(protocol_text, path)
        study = create_study(path, sample, codebook, None, worklist_fields, worklist_values)
    checkpoint(path)  # the .sqlite file alone is now the whole study
    return study


def add_round(
    path: str | Path,
    sample: object,
    codebook: Codebook | None = None,
    worklist_fields: tuple[str, ...] | None = None,
    worklist_values: pd.DataFrame | None = None,
) -> Study:
    """Store a further round's sample in the existing study store at ``path``.

    The round (``sample.metadata["round"]``) must be one more than the latest stored; the
    study id, codebook, strata columns, unit columns and worklist fields must be those of
    the store (the assessments' columns and checks come from the codebook). The new
    round's strata, units (sample and reserves, in their own draw order) and its protocol
    text are written in one transaction beside the earlier rounds, whose assignments and
    assessments are untouched. Reviewers are assigned to it with ``assign`` as usual.
    Returns the study (working on the latest round).
    """
    path = Path(path)
    study = open_study(path)
    d = _Drawn.of(sample, path, study.codebook, worklist_fields, worklist_values)
    rounds = [int(r) for r in study.rounds()["round"]]
    latest = max(rounds)
    meta = study.meta()
    problems = []
    if d.round != latest + 1:
        problems.append(f"round {d.round}: expected round {latest + 1} (the store holds "
                        f"round(s) {', '.join(map(str, rounds))})")  # fmt: skip
    if d.study_id != study.study_id:
        problems.append(f"study id {d.study_id!r}: expected {study.study_id!r}")
    codebook = _codebook_of(sample, codebook)
    if codebook.fingerprint != study.codebook.fingerprint:
        problems.append("the codebook differs from the study's (assessments of all rounds "
                        "share one codebook)")  # fmt: skip
    if tuple(d.strata_columns) != study.strata_columns:
        problems.append(f"strata columns {', '.join(d.strata_columns)}: expected "
                        f"{', '.join(study.strata_columns)}")  # fmt: skip
    if d.drawn_columns != json.loads(meta["unit_columns"]):
        problems.append("the units' columns differ from the stored rounds'")
    if [str(c) for c in d.strata.columns] != json.loads(meta["strata_table_columns"]):
        problems.append("the strata table's columns differ from the stored rounds'")
    if tuple(d.worklist_fields) != study.worklist_fields:
        problems.append(f"worklist fields {', '.join(d.worklist_fields) or '(none)'}: "
                        f"expected {', '.join(study.worklist_fields) or '(none)'}")  # fmt: skip
    if problems:
        raise StoreError(
            f"cannot add round {d.round} to study {path} (nothing was written): "
            + "; ".join(problems)
        )
    stamp = now_utc()
    with study.transaction() as con:
        if con.execute("SELECT 1 FROM rounds WHERE round >= ?", (d.round,)).fetchone():
            raise StoreError(f"study {path} already has round {d.round} (nothing was written)")
        frame_fingerprint = str(d.metadata.get("frame_fingerprint") or "")
        con.execute(
            "INSERT INTO rounds VALUES (?, ?, ?, ?, ?, ?)",
            (
                d.round,
                d.protocol_text,
                d.protocol_fingerprint,
                frame_fingerprint,
                json.dumps({k: _json_value(v) for k, v in d.metadata.items()}),
                stamp,
            ),
        )
        _insert_strata(con, d.strata, d.strata_columns, d.round)
        _insert_units(con, d.units, d.extra, d.round)
        audit(
            con, "new_round", "add_round",
            f"study {d.study_id}; round {d.round}; {len(d.strata)} strata; "
            f"{int((d.units['role'] == 'sample').sum())} sampled and "
            f"{int((d.units['role'] == 'reserve').sum())} reserve cases; protocol "
            f"{d.protocol_fingerprint[:12]}; frame {frame_fingerprint[:12]}",
        )  # fmt: skip
    return replace(study, round=None)
