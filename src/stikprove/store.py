"""The study store: one SQLite file per study, readable by its owner only.

It holds everything a study needs after the draw: the protocol text and fingerprint, the
codebook text, the frame fingerprint, the strata (N_h, n_h), the sampled units and reserves
in their draw order, reviewer assignments, assessments and an audit log.

Assessments, activations of reserves and the audit log are append-only: triggers abort
any UPDATE or DELETE. A correction is a new assessment row that supersedes the old one and
gives a reason; a case's *current* assessment by a reviewer is the one nothing supersedes.

The schema carries its version in ``PRAGMA user_version`` (and in the ``meta`` table) and
the file is marked with ``PRAGMA application_id`` = :data:`APPLICATION_ID`, so a foreign
SQLite file is refused. :data:`MIGRATIONS` lists the steps from one version to the next.

Connections are short-lived: every read or write opens the file, does its work in one
transaction (``BEGIN IMMEDIATE`` for writes, waiting up to :data:`BUSY_TIMEOUT_S` for
another writer) and closes it, so several processes can work on one study at a time.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from stikprove.codebook import Codebook, default_codebook, parse_codebook
from stikprove.errors import StikproveError, StoreError
from stikprove.kommuner import kommune, kommune_codes

APPLICATION_ID = 0x53544B50
"""``PRAGMA application_id`` of a stikprove study store (ASCII 'STKP')."""
APPLICATION_NAME = "stikprove study store"
SCHEMA_VERSION = 2
"""The schema version this stikprove writes; older stores are migrated on open."""
BUSY_TIMEOUT_S = 30.0
"""How long a writer waits for another process's transaction before giving up."""
SQLITE_MAGIC = b"SQLite format 3\x00"

UNIT_COLUMNS = (
    "case_id",
    "stratum",
    "kommune_code",
    "health_exempt",
    "draw_order",
    "role",
    "inclusion_probability",
    "weight",
    "double_review",
    "prn",
)
"""Columns of a DrawnSample's ``units`` the store keeps as table columns (others go to
``attributes`` as JSON: the strata columns and any frame fields)."""
STRATA_COLUMNS = ("stratum", "population_size", "sample_size")
RESERVED_NAMES = frozenset(
    {
        "assessment_id", "case_id", "reviewer", "version", "supersedes", "reason",
        "entered_at", "source", "review_slot", "stratum", "round",
    }
)  # fmt: skip
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def now_utc() -> str:
    """The current time as ISO 8601 UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return f"uid {os.getuid()}"


# --------------------------------------------------------------------------------------
# schema


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def check_codebook_for_store(codebook: Codebook) -> None:
    """Refuse codebook field names that cannot be assessment columns."""
    for f in codebook.fields:
        if not _FIELD_NAME.match(f.name) or f.name in RESERVED_NAMES:
            raise StoreError(
                f"codebook field {f.name!r} cannot be stored: expected a lower-case name "
                f"(a-z, 0-9, _) other than {', '.join(sorted(RESERVED_NAMES))}"
            )


def _field_column(field, in_list: bool = True) -> str:
    """The column of a codebook field with its CHECK. Schema 1 wrote a choice's codes as
    ``IN (...)``; schema 2 as ``= a OR = b ...``: the same test, but SQLite builds a
    temporary table for an IN list in a CHECK at every row, five times the cost of an
    insert."""
    col = _quote(field.name)
    if field.kind == "choice" and in_list:
        codes = ", ".join(_sql_text(c) for c in field.codes)
        check = f"{col} IS NULL OR {col} IN ({codes})"
    elif field.kind == "choice":
        codes = " OR ".join(f"{col} = {_sql_text(c)}" for c in field.codes)
        check = f"{col} IS NULL OR {codes}"
    elif field.kind == "date":
        check = f"{col} IS NULL OR {col} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"
    else:
        check = f"{col} IS NULL OR typeof({col}) = 'text'"
    return f"{col} TEXT CHECK ({check})"


def _append_only(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} are append-only: nothing is changed in place'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} are append-only: nothing is deleted'); END",
    ]


def _migrate_to_1(con: sqlite3.Connection, codebook: Codebook) -> None:
    """Version 1: the first schema."""
    fields = ",\n  ".join(_field_column(f) for f in codebook.fields)
    statements = [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE rounds (
  round INTEGER PRIMARY KEY CHECK (round >= 1),
  protocol_text TEXT NOT NULL,
  protocol_fingerprint TEXT NOT NULL,
  frame_fingerprint TEXT,
  metadata TEXT NOT NULL,
  stored_at TEXT NOT NULL)""",
        """CREATE TABLE strata (
  stratum TEXT PRIMARY KEY,
  population_size INTEGER NOT NULL CHECK (population_size >= 0),
  sample_size INTEGER NOT NULL CHECK (sample_size >= 0 AND sample_size <= population_size),
  attributes TEXT NOT NULL)""",
        """CREATE TABLE units (
  case_id TEXT PRIMARY KEY CHECK (length(case_id) > 0),
  stratum TEXT NOT NULL REFERENCES strata (stratum),
  kommune_code TEXT NOT NULL CHECK (kommune_code GLOB '[0-9][0-9][0-9]'),
  health_exempt INTEGER NOT NULL CHECK (health_exempt IN (0, 1)),
  draw_order INTEGER NOT NULL CHECK (draw_order >= 1),
  role TEXT NOT NULL CHECK (role IN ('sample', 'reserve')),
  inclusion_probability REAL CHECK (inclusion_probability > 0 AND inclusion_probability <= 1),
  weight REAL CHECK (weight >= 1),
  double_review INTEGER NOT NULL CHECK (double_review IN (0, 1)),
  prn REAL,
  round INTEGER NOT NULL REFERENCES rounds (round),
  attributes TEXT NOT NULL,
  UNIQUE (stratum, draw_order))""",
        "CREATE TABLE reviewers (name TEXT PRIMARY KEY CHECK (length(name) > 0), "
        "added_at TEXT NOT NULL)",
        """CREATE TABLE activations (
  case_id TEXT PRIMARY KEY REFERENCES units (case_id),
  replaces TEXT NOT NULL UNIQUE REFERENCES units (case_id),
  activated_at TEXT NOT NULL)""",
        """CREATE TABLE assignments (
  case_id TEXT NOT NULL REFERENCES units (case_id),
  review_slot INTEGER NOT NULL CHECK (review_slot IN (1, 2)),
  reviewer TEXT NOT NULL REFERENCES reviewers (name),
  assigned_at TEXT NOT NULL,
  PRIMARY KEY (case_id, review_slot),
  UNIQUE (case_id, reviewer))""",
        f"""CREATE TABLE assessments (
  assessment_id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  {fields},
  supersedes INTEGER UNIQUE REFERENCES assessments (assessment_id),
  reason TEXT,
  entered_at TEXT NOT NULL,
  source TEXT NOT NULL,
  UNIQUE (case_id, reviewer, version),
  FOREIGN KEY (case_id, reviewer) REFERENCES assignments (case_id, reviewer),
  CHECK ((version = 1 AND supersedes IS NULL AND reason IS NULL)
      OR (version > 1 AND supersedes IS NOT NULL AND length(trim(reason)) > 0)))""",
        """CREATE TABLE audit (
  audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  os_user TEXT NOT NULL,
  action TEXT NOT NULL,
  source TEXT NOT NULL,
  details TEXT NOT NULL)""",
        "CREATE INDEX units_role ON units (role, stratum, draw_order)",
        "CREATE INDEX assignments_reviewer ON assignments (reviewer)",
        # a correction supersedes the previous version of the same case and reviewer
        """CREATE TRIGGER assessments_supersede_previous BEFORE INSERT ON assessments
  WHEN NEW.supersedes IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM assessments o WHERE o.assessment_id = NEW.supersedes
      AND o.case_id = NEW.case_id AND o.reviewer = NEW.reviewer AND o.version = NEW.version - 1)
  BEGIN SELECT RAISE(ABORT, 'a correction must supersede the previous version of the same case and reviewer'); END""",  # noqa: E501
        # a reserve is reviewed only once it has been activated
        """CREATE TRIGGER assignments_reserve_activated BEFORE INSERT ON assignments
  WHEN (SELECT role FROM units WHERE case_id = NEW.case_id) = 'reserve'
    AND NOT EXISTS (SELECT 1 FROM activations WHERE case_id = NEW.case_id)
  BEGIN SELECT RAISE(ABORT, 'a reserve case is assigned only after it is activated'); END""",
        *_append_only("assessments"),
        *_append_only("audit"),
        *_append_only("activations"),
    ]
    for statement in statements:
        con.execute(statement)


def _migrate_to_2(con: sqlite3.Connection, codebook: Codebook) -> None:
    """Version 2: several rounds in one store. strata, units, activations, assignments and
    assessments carry the round and every key includes it (a case may be drawn in more than
    one round). The version-1 rows (one round) move over with that round's number."""
    fields = ",\n  ".join(_field_column(f, in_list=False) for f in codebook.fields)
    names = ", ".join(_quote(f.name) for f in codebook.fields)
    for name in (
        "units_role", "assignments_reviewer",
    ):  # fmt: skip
        con.execute(f"DROP INDEX IF EXISTS {name}")
    for name in (
        "assessments_supersede_previous", "assignments_reserve_activated",
        "assessments_no_update", "assessments_no_delete",
        "activations_no_update", "activations_no_delete",
    ):  # fmt: skip
        con.execute(f"DROP TRIGGER IF EXISTS {name}")
    moved = ("strata", "units", "activations", "assignments", "assessments")
    for table in moved:
        con.execute(f"ALTER TABLE {table} RENAME TO v1_{table}")
    statements = [
        """CREATE TABLE strata (
  round INTEGER NOT NULL REFERENCES rounds (round),
  stratum TEXT NOT NULL,
  population_size INTEGER NOT NULL CHECK (population_size >= 0),
  sample_size INTEGER NOT NULL CHECK (sample_size >= 0 AND sample_size <= population_size),
  attributes TEXT NOT NULL,
  PRIMARY KEY (round, stratum))""",
        """CREATE TABLE units (
  round INTEGER NOT NULL REFERENCES rounds (round),
  case_id TEXT NOT NULL CHECK (length(case_id) > 0),
  stratum TEXT NOT NULL,
  kommune_code TEXT NOT NULL CHECK (kommune_code GLOB '[0-9][0-9][0-9]'),
  health_exempt INTEGER NOT NULL CHECK (health_exempt IN (0, 1)),
  draw_order INTEGER NOT NULL CHECK (draw_order >= 1),
  role TEXT NOT NULL CHECK (role IN ('sample', 'reserve')),
  inclusion_probability REAL CHECK (inclusion_probability > 0 AND inclusion_probability <= 1),
  weight REAL CHECK (weight >= 1),
  double_review INTEGER NOT NULL CHECK (double_review IN (0, 1)),
  prn REAL,
  attributes TEXT NOT NULL,
  PRIMARY KEY (round, case_id),
  UNIQUE (round, stratum, draw_order),
  FOREIGN KEY (round, stratum) REFERENCES strata (round, stratum))""",
        """CREATE TABLE activations (
  round INTEGER NOT NULL,
  case_id TEXT NOT NULL,
  replaces TEXT NOT NULL,
  activated_at TEXT NOT NULL,
  PRIMARY KEY (round, case_id),
  UNIQUE (round, replaces),
  FOREIGN KEY (round, case_id) REFERENCES units (round, case_id),
  FOREIGN KEY (round, replaces) REFERENCES units (round, case_id))""",
        """CREATE TABLE assignments (
  round INTEGER NOT NULL,
  case_id TEXT NOT NULL,
  review_slot INTEGER NOT NULL CHECK (review_slot IN (1, 2)),
  reviewer TEXT NOT NULL REFERENCES reviewers (name),
  assigned_at TEXT NOT NULL,
  PRIMARY KEY (round, case_id, review_slot),
  UNIQUE (round, case_id, reviewer),
  FOREIGN KEY (round, case_id) REFERENCES units (round, case_id))""",
        f"""CREATE TABLE assessments (
  assessment_id INTEGER PRIMARY KEY AUTOINCREMENT,
  round INTEGER NOT NULL,
  case_id TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  {fields},
  supersedes INTEGER UNIQUE REFERENCES assessments (assessment_id),
  reason TEXT,
  entered_at TEXT NOT NULL,
  source TEXT NOT NULL,
  UNIQUE (round, case_id, reviewer, version),
  FOREIGN KEY (round, case_id, reviewer) REFERENCES assignments (round, case_id, reviewer),
  CHECK ((version = 1 AND supersedes IS NULL AND reason IS NULL)
      OR (version > 1 AND supersedes IS NOT NULL AND length(trim(reason)) > 0)))""",
        # version-1 rows: one round (the units carry it; strata take the stored round)
        """INSERT INTO strata SELECT (SELECT coalesce(min(round), 1) FROM rounds), stratum,
  population_size, sample_size, attributes FROM v1_strata""",
        """INSERT INTO units SELECT round, case_id, stratum, kommune_code, health_exempt,
  draw_order, role, inclusion_probability, weight, double_review, prn, attributes FROM v1_units""",
        """INSERT INTO activations SELECT u.round, a.case_id, a.replaces, a.activated_at
  FROM v1_activations a JOIN v1_units u USING (case_id)""",
        """INSERT INTO assignments SELECT u.round, g.case_id, g.review_slot, g.reviewer,
  g.assigned_at FROM v1_assignments g JOIN v1_units u USING (case_id)""",
        f"""INSERT INTO assessments (assessment_id, round, case_id, reviewer, version, {names},
  supersedes, reason, entered_at, source)
  SELECT a.assessment_id, u.round, a.case_id, a.reviewer, a.version,
    {", ".join("a." + _quote(f.name) for f in codebook.fields)},
    a.supersedes, a.reason, a.entered_at, a.source
  FROM v1_assessments a JOIN v1_units u USING (case_id) ORDER BY a.assessment_id""",
        *(f"DROP TABLE v1_{table}" for table in reversed(moved)),
        "CREATE INDEX units_role ON units (round, role, stratum, draw_order)",
        "CREATE INDEX assignments_reviewer ON assignments (round, reviewer)",
        """CREATE TRIGGER assessments_supersede_previous BEFORE INSERT ON assessments
  WHEN NEW.supersedes IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM assessments o WHERE o.assessment_id = NEW.supersedes AND o.round = NEW.round
      AND o.case_id = NEW.case_id AND o.reviewer = NEW.reviewer AND o.version = NEW.version - 1)
  BEGIN SELECT RAISE(ABORT, 'a correction must supersede the previous version of the same case and reviewer'); END""",  # noqa: E501
        """CREATE TRIGGER assignments_reserve_activated BEFORE INSERT ON assignments
  WHEN (SELECT role FROM units WHERE round = NEW.round AND case_id = NEW.case_id) = 'reserve'
    AND NOT EXISTS (SELECT 1 FROM activations
                    WHERE round = NEW.round AND case_id = NEW.case_id)
  BEGIN SELECT RAISE(ABORT, 'a reserve case is assigned only after it is activated'); END""",
        *_append_only("assessments"),
        *_append_only("activations"),
    ]
    for statement in statements:
        con.execute(statement)
    problems = con.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise StoreError(f"migration to schema 2 found broken references: {problems[:3]}")


Migration = Callable[[sqlite3.Connection, Codebook], None]
MIGRATIONS: list[tuple[int, Migration]] = [(1, _migrate_to_1), (2, _migrate_to_2)]
"""(version reached, step) in order; a store at version v runs every step above v."""


def _migrate(con: sqlite3.Connection, from_version: int, codebook: Codebook) -> None:
    for version, step in MIGRATIONS:
        if version > from_version:
            step(con, codebook)
            con.execute(f"PRAGMA user_version = {version}")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))


# --------------------------------------------------------------------------------------
# connections


def _connect(path: Path) -> sqlite3.Connection:
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as error:
        con.close()
        raise StoreError(f"{path} is not a stikprove study store: {error}") from None
    return con


def _restrict_side_files(path: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, 0o600)


# --------------------------------------------------------------------------------------
# the study


@dataclass(frozen=True)
class Study:
    """An open study store. Holds no connection: each call opens and closes its own.

    Columns of the tables it returns are documented on each method.
    """

    path: Path
    study_id: str
    codebook: Codebook = field(repr=False)
    strata_columns: tuple[str, ...]
    worklist_fields: tuple[str, ...]
    """Frame fields the protocol allows on worklists (beyond case_id, kommune, stratum)."""
    schema_version: int
    round: int | None = None
    """The round this Study works on; None: the latest round (read at each call)."""

    # ---- rounds ------------------------------------------------------------------------

    def round_in(self, con: sqlite3.Connection) -> int:
        """The round to work on, read inside ``con``'s transaction (the latest one unless
        this Study was opened for a given round)."""
        if self.round is not None:
            return self.round
        row = con.execute("SELECT max(round) FROM rounds").fetchone()
        if row is None or row[0] is None:
            raise StoreError(f"{self.path} holds no round")
        return int(row[0])

    def current_round(self) -> int:
        """The round this Study works on (the latest one unless opened for a given round)."""
        with self.reading() as con:
            return self.round_in(con)

    def for_round(self, round: int | None) -> Study:
        """This study working on ``round`` (None: the latest). Refuses a round not stored."""
        if round is None:
            return replace(self, round=None)
        stored = [int(r) for r in self.rounds()["round"]]
        if int(round) not in stored:
            raise StoreError(
                f"{self.path} holds no round {round}: expected one of {', '.join(map(str, stored))}"
            )
        return replace(self, round=int(round))

    def _pinned(self) -> Study:
        return self if self.round is not None else replace(self, round=self.current_round())

    # ---- connections -------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading (one consistent snapshot inside ``BEGIN``)."""
        con = _connect(self.path)
        try:
            con.execute("BEGIN")
            yield con
            con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): all of it is written, or none of it."""
        con = _connect(self.path)
        try:
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise StoreError(
                    f"{self.path}: the study is busy (another process has been writing for "
                    f"more than {BUSY_TIMEOUT_S:g} s): {error}"
                ) from None
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError as error:
            raise StoreError(f"{self.path}: refused by the study store: {error}") from None
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: nothing was written: {error}") from None
        finally:
            con.close()
            _restrict_side_files(self.path)

    def query(self, sql: str, params: tuple | dict = ()) -> pd.DataFrame:
        with self.reading() as con:
            return pd.read_sql_query(sql, con, params=params)

    def _round_query(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        """``sql`` with ``:round`` bound to this Study's round (same snapshot)."""
        with self.reading() as con:
            return pd.read_sql_query(
                sql, con, params={**(params or {}), "round": self.round_in(con)}
            )

    # ---- meta --------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The meta table as a dict (study_id, schema_version, fingerprints, ...)."""
        with self.reading() as con:
            return dict(con.execute("SELECT key, value FROM meta").fetchall())

    @property
    def protocol_text(self) -> str:
        """The protocol text of this Study's round."""
        with self.reading() as con:
            row = con.execute(
                "SELECT protocol_text FROM rounds WHERE round = ?", (self.round_in(con),)
            ).fetchone()
        return row[0]

    def rounds(self) -> pd.DataFrame:
        """round, protocol_fingerprint, frame_fingerprint, metadata (JSON), stored_at."""
        return self.query(
            "SELECT round, protocol_fingerprint, frame_fingerprint, metadata, stored_at "
            "FROM rounds ORDER BY round"
        )

    def reviewers(self) -> tuple[str, ...]:
        with self.reading() as con:
            return tuple(r[0] for r in con.execute("SELECT name FROM reviewers ORDER BY name"))

    # ---- tables ------------------------------------------------------------------------

    def strata(self) -> pd.DataFrame:
        """stratum, the strata columns, population_size, sample_size, reserves_used,
        reserves_left."""
        # One pass over the round's units, grouped by stratum. (Correlated subqueries per
        # stratum, with a NOT IN list re-read for every stratum, took 2 s for a national
        # study of 572 strata and 34,000 units; this takes 0.03 s.)
        df = self._round_query(
            """WITH counts AS (
              SELECT u.stratum,
                sum(a.case_id IS NOT NULL) AS reserves_used,
                sum(u.role = 'reserve' AND a.case_id IS NULL) AS reserves_left
              FROM units u LEFT JOIN activations a USING (round, case_id)
              WHERE u.round = :round GROUP BY u.stratum)
            SELECT s.stratum, s.population_size, s.sample_size, s.attributes,
              coalesce(c.reserves_used, 0) AS reserves_used,
              coalesce(c.reserves_left, 0) AS reserves_left
            FROM strata s LEFT JOIN counts c ON c.stratum = s.stratum
            WHERE s.round = :round ORDER BY s.stratum"""
        )
        return _expand_attributes(df, self.strata_columns, after="stratum")

    def units(self, in_sample_only: bool = False) -> pd.DataFrame:
        """One row per unit (sample and reserves) in draw order within stratum: the
        DrawnSample's unit columns, the other frame fields, and ``activated`` (bool, a
        reserve taken into the sample) and ``replaces`` (the ineligible case it replaces)."""
        where = "AND (u.role = 'sample' OR a.case_id IS NOT NULL)" if in_sample_only else ""
        df = self._round_query(
            f"""SELECT u.case_id, u.stratum, u.kommune_code, u.health_exempt, u.draw_order,
                 u.role, u.inclusion_probability, u.weight, u.double_review, u.prn, u.round,
                 u.attributes, a.case_id IS NOT NULL AS activated, a.replaces
            FROM units u LEFT JOIN activations a USING (round, case_id)
            WHERE u.round = :round {where}
            ORDER BY u.stratum, u.draw_order"""
        )
        for col in ("health_exempt", "double_review", "activated"):
            df[col] = df[col].astype(bool)
        return _expand_attributes(df, None, after=None)

    def assignments(self) -> pd.DataFrame:
        """case_id, review_slot (1 first reviewer, 2 second), reviewer, assigned_at,
        stratum, kommune_code, draw_order; in stratum and draw order."""
        return self._round_query(
            """SELECT g.case_id, g.review_slot, g.reviewer, g.assigned_at, u.stratum,
                 u.kommune_code, u.draw_order
            FROM assignments g JOIN units u USING (round, case_id)
            WHERE g.round = :round
            ORDER BY u.stratum, u.draw_order, g.review_slot"""
        )

    def assessments(self, current_only: bool = True) -> pd.DataFrame:
        """assessment_id, case_id, reviewer, review_slot, version, the codebook fields,
        supersedes, reason, entered_at, source (all versions with ``current_only=False``)."""
        where = (
            "AND NOT EXISTS (SELECT 1 FROM assessments b WHERE b.supersedes = a.assessment_id)"
            if current_only
            else ""
        )
        fields = ", ".join(f"a.{_quote(f)}" for f in self.codebook.field_names)
        return self._round_query(
            f"""SELECT a.assessment_id, a.case_id, a.reviewer, g.review_slot, a.version,
                 {fields}, a.supersedes, a.reason, a.entered_at, a.source
            FROM assessments a JOIN assignments g USING (round, case_id, reviewer)
            WHERE a.round = :round {where}
            ORDER BY a.assessment_id"""
        )

    def open_cases(self, reviewer: str) -> pd.DataFrame:
        """The reviewer's cases without an entry by them, in stratum and draw order.

        Columns: case_id, review_slot, stratum, kommune_code, kommune_name, draw_order,
        then the frame fields the protocol allows on worklists.
        """
        df = self._round_query(
            """SELECT g.case_id, g.review_slot, u.stratum, u.kommune_code, u.draw_order,
                 u.health_exempt, u.attributes
            FROM assignments g JOIN units u USING (round, case_id)
            WHERE g.round = :round AND g.reviewer = :reviewer AND NOT EXISTS (
              SELECT 1 FROM assessments a WHERE a.round = g.round AND a.case_id = g.case_id
                AND a.reviewer = g.reviewer)
            ORDER BY u.stratum, u.draw_order""",
            {"reviewer": reviewer},
        )
        df.insert(4, "kommune_name", df["kommune_code"].map(_kommune_name))
        df["health_exempt"] = df["health_exempt"].astype(bool)
        return _expand_attributes(df, self.worklist_fields, after=None)[
            ["case_id", "review_slot", "stratum", "kommune_code", "kommune_name", "draw_order",
             *self.worklist_fields]
        ]  # fmt: skip

    def audit_log(self) -> pd.DataFrame:
        """audit_id, at (UTC), actor, os_user, action, source, details."""
        return self.query("SELECT * FROM audit ORDER BY audit_id")

    # ---- summaries ---------------------------------------------------------------------

    def status(self) -> pd.DataFrame:
        """Progress per kommune, stratum and reviewer (reviewer "" counts the cases not
        yet assigned, in ``unassigned``).

        Columns: kommune_code, kommune_name, stratum, reviewer, assigned (cases assigned,
        first and second reviews), done (of those, with an assessment by the reviewer),
        remaining, unassigned, ineligible (first reviews finding the case ineligible),
        unreplaced (of those, not replaced by a reserve: the stratum had none left),
        reserves_used (activated reserves assigned to the reviewer as first reviewer),
        double_reviews_done (second reviews done), reserves_left (unused reserves in the
        stratum: 0 means an ineligible case can no longer be replaced), replaced_eligible
        (first reviews replaced by a reserve but since corrected back to eligible: the
        reserve stays in the sample), sample_size (cases taken from the stratum's list: n_h
        plus activated reserves; the export's sample_size, on which the weights rest).
        """
        if self.round is None:  # one round throughout, even if another is drawn meanwhile
            return self._pinned().status()
        df = self._round_query(
            """WITH cur AS (
              SELECT a.case_id, a.reviewer, a.eligible FROM assessments a
              WHERE a.round = :round AND NOT EXISTS (
                SELECT 1 FROM assessments b WHERE b.supersedes = a.assessment_id))
            SELECT u.kommune_code, u.stratum, coalesce(g.reviewer, '') AS reviewer,
              count(*) AS assigned,
              count(cur.case_id) AS done,
              sum(g.review_slot = 1 AND cur.eligible = 'nej') AS ineligible,
              sum(g.review_slot = 1 AND u.role = 'reserve') AS reserves_used,
              sum(g.review_slot = 2 AND cur.case_id IS NOT NULL) AS double_reviews_done,
              sum(g.review_slot = 1 AND cur.eligible = 'nej' AND NOT EXISTS (
                SELECT 1 FROM activations x WHERE x.round = u.round
                  AND x.replaces = u.case_id)) AS unreplaced,
              sum(g.review_slot = 1 AND cur.eligible = 'ja' AND EXISTS (
                SELECT 1 FROM activations x WHERE x.round = u.round
                  AND x.replaces = u.case_id)) AS replaced_eligible
            FROM units u
              LEFT JOIN activations act ON act.round = u.round AND act.case_id = u.case_id
              LEFT JOIN assignments g ON g.round = u.round AND g.case_id = u.case_id
              LEFT JOIN cur ON cur.case_id = g.case_id AND cur.reviewer = g.reviewer
            WHERE u.round = :round AND (u.role = 'sample' OR act.case_id IS NOT NULL)
            GROUP BY u.kommune_code, u.stratum, g.reviewer
            ORDER BY u.kommune_code, u.stratum, g.reviewer"""
        )
        unassigned = df["reviewer"].eq("")
        counts = ("assigned", "done", "ineligible", "reserves_used", "double_reviews_done",
                  "unreplaced", "replaced_eligible")  # fmt: skip
        for col in counts:
            df[col] = df[col].fillna(0).astype("int64")
        df["unassigned"] = np.where(unassigned, df["assigned"], 0).astype("int64")
        df.loc[unassigned, "assigned"] = 0
        df["remaining"] = (df["assigned"] - df["done"]).astype("int64")
        strata = self.strata().set_index("stratum")
        df["reserves_left"] = df["stratum"].map(strata["reserves_left"]).astype("int64")
        taken = strata["sample_size"] + strata["reserves_used"]
        df["sample_size"] = df["stratum"].map(taken).astype("int64")
        codes = kommune_codes()
        names = {c: _kommune_name(c) for c in df["kommune_code"].unique() if c in codes}
        df.insert(1, "kommune_name", df["kommune_code"].map(names).fillna(""))
        return df[
            [
                "kommune_code", "kommune_name", "stratum", "reviewer", "assigned", "done",
                "remaining", "unassigned", "ineligible", "unreplaced", "reserves_used",
                "double_reviews_done", "reserves_left", "replaced_eligible", "sample_size",
            ]
        ].reset_index(drop=True)  # fmt: skip

    def export(self) -> pd.DataFrame:
        """The analysis table that :func:`stikprove.estimate_proportions` takes.

        One row per sampled case (role sample, plus activated reserves), in stratum and
        draw order. Columns: case_id, stratum, the strata columns, kommune_code,
        population_size (N_h), sample_size (cases taken from the stratum's list: n_h plus
        activated reserves), weight (population_size / sample_size), health_exempt,
        reviewed (bool: the first reviewer's assessment is in), the codebook fields except
        ``note`` (from the first reviewer's current assessment; missing when not
        reviewed), the indicators (1.0 / 0.0 / NaN), then planned_sample_size (n_h of the
        design), draw_order, role and in_complete_run (bool: the case and every case above
        it in its stratum's list are reviewed; interim analyses use only these rows).
        """
        if self.round is None:
            return self._pinned().export()
        units = self.units(in_sample_only=True)
        strata = self.strata()
        first = self._current_by_slot(1)
        fields = [f for f in self.codebook.field_names if f != "note"]
        df = units.merge(first[["case_id", *fields]], on="case_id", how="left")
        taken = df.groupby("stratum")["case_id"].transform("size").astype("int64")
        info = strata.set_index("stratum")
        df["population_size"] = df["stratum"].map(info["population_size"]).astype("int64")
        df["planned_sample_size"] = df["stratum"].map(info["sample_size"]).astype("int64")
        df["sample_size"] = taken
        df["weight"] = df["population_size"] / df["sample_size"]
        df["reviewed"] = df["case_id"].isin(first["case_id"])
        # interim analyses use the unbroken run of reviewed cases from the top of each list
        gaps = (~df["reviewed"]).groupby(df["stratum"]).cumsum()
        df["in_complete_run"] = gaps.eq(0)
        for col in self.strata_columns:
            if col not in df.columns:
                df[col] = df["stratum"].map(info[col])
        indicators = self.codebook.derive_indicators(df[fields], df["health_exempt"])
        df = pd.concat([df, indicators], axis=1)
        strata_cols = [c for c in self.strata_columns if c not in ("stratum", "kommune_code")]
        columns = [
            "case_id", "stratum", *strata_cols, "kommune_code", "population_size",
            "sample_size", "weight", "health_exempt", "reviewed", *fields,
            *indicators.columns, "planned_sample_size", "draw_order", "role", "in_complete_run",
        ]  # fmt: skip
        out = df[columns].reset_index(drop=True)
        for f in fields:
            out[f] = out[f].astype(object).where(out[f].notna(), None)
        return out

    def export_double_reviews(self) -> pd.DataFrame:
        """Both reviewers' current entries of each double-reviewed case, for agreement.

        One row per case assigned a second reviewer: case_id, stratum, kommune_code, then
        ``<field>_1`` and ``<field>_2`` for each codebook field except ``note`` (first and
        second reviewer; missing until entered), reviewed_1 and reviewed_2 (bool). Reviewer
        names are left out.
        """
        if self.round is None:
            return self._pinned().export_double_reviews()
        second = self._round_query(
            "SELECT g.case_id, u.stratum, u.kommune_code FROM assignments g "
            "JOIN units u USING (round, case_id) WHERE g.round = :round AND g.review_slot = 2 "
            "ORDER BY u.stratum, u.draw_order"
        )
        fields = [f for f in self.codebook.field_names if f != "note"]
        df = second
        for slot in (1, 2):
            cur = self._current_by_slot(slot)[["case_id", *fields]]
            cur = cur.assign(**{f"reviewed_{slot}": True})
            df = df.merge(
                cur.rename(columns={f: f"{f}_{slot}" for f in fields}), on="case_id", how="left"
            )
            df[f"reviewed_{slot}"] = df[f"reviewed_{slot}"].astype("boolean").fillna(False)
            df[f"reviewed_{slot}"] = df[f"reviewed_{slot}"].astype(bool)
        order = ["case_id", "stratum", "kommune_code"]
        order += [f"{f}_{s}" for f in fields for s in (1, 2)] + ["reviewed_1", "reviewed_2"]
        return df[order]

    def _current_by_slot(self, slot: int) -> pd.DataFrame:
        cur = self.assessments(current_only=True)
        return cur[cur["review_slot"] == slot].reset_index(drop=True)


def _kommune_name(code: str) -> str:
    try:
        return kommune(code).name
    except StikproveError:
        return ""


def _expand_attributes(
    df: pd.DataFrame, columns: tuple[str, ...] | None, after: str | None
) -> pd.DataFrame:
    """Spread the JSON ``attributes`` column into columns (``columns``, or all keys when
    None), placed after column ``after`` (or at the end)."""
    attrs = pd.DataFrame([json.loads(a) for a in df.pop("attributes")], index=df.index)
    keep = [c for c in (tuple(attrs.columns) if columns is None else columns) if c not in df]
    pos = len(df.columns) if after is None else df.columns.get_loc(after) + 1
    for i, col in enumerate(keep):
        df.insert(pos + i, col, attrs.get(col))
    return df


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


def protocol_worklist_fields(protocol_text: str) -> tuple[str, ...]:
    """``Protocol.worklist_fields`` of a protocol's text (:func:`stikprove.protocol.
    parse_protocol`); for a text the parser refuses (a fragment, as in tests, or a
    protocol whose codebook file is elsewhere) the ``[review] worklist_fields`` key of its
    TOML; none by default."""
    from stikprove.protocol import parse_protocol

    try:
        return tuple(parse_protocol(protocol_text).worklist_fields)
    except (StikproveError, OSError, ValueError, TypeError, KeyError):
        pass
    try:
        fields = tomllib.loads(protocol_text).get("review", {}).get("worklist_fields", [])
    except tomllib.TOMLDecodeError:
        return ()
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise StoreError(f"protocol [review] worklist_fields = {fields!r}: expected a list "
                         "of frame column names")  # fmt: skip
    return tuple(fields)


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
        worklist_fields: tuple[str, ...] | None = None,
        worklist_values: pd.DataFrame | None = None,
    ) -> _Drawn:
        """``worklist_fields``: the protocol's (default: read from its text);
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
        if worklist_fields is None:
            worklist_fields = protocol_worklist_fields(protocol_text)
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
    ``[review] worklist_fields``, :func:`protocol_worklist_fields`), taken from the units
    or else from ``worklist_values`` (case_id and frame columns; the draw passes the
    frame). They are kept with the units but are not part of the stored sample that
    :func:`read_stored_sample` gives back.

    The file is created new (an existing file is refused) with mode 0600.
    """
    path = Path(path)
    codebook = _codebook_of(sample, codebook)
    check_codebook_for_store(codebook)
    d = _Drawn.of(sample, path, worklist_fields, worklist_values)
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
        from stikprove.assignment import assign_reviewers

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
    con = _connect(path)
    try:
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("PRAGMA journal_mode = WAL")
        _restrict_side_files(path)
        con.execute("BEGIN IMMEDIATE")
        _migrate(con, 0, codebook)
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
    _restrict_side_files(path)


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
        raise StoreError(f"study store {path} does not exist: expected a file made by "
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
    con = _connect(path)
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
                    _migrate(con, version, codebook)
                    con.execute(
                        "INSERT INTO audit (at, actor, os_user, action, source, details) "
                        "VALUES (?, ?, ?, 'migrate', 'open_study', ?)",
                        (now_utc(), os_user(), os_user(),
                         f"schema {version} -> {SCHEMA_VERSION}"),
                    )  # fmt: skip
                con.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path} is corrupt or not a study store: {error}") from None
        except KeyError as error:
            raise StoreError(f"{path} is corrupt: meta key {error} is missing") from None
    finally:
        con.close()
    _restrict_side_files(path)
    study = Study(
        path=path.resolve(),
        study_id=meta["study_id"],
        codebook=codebook,
        strata_columns=tuple(json.loads(meta["strata_columns"])),
        worklist_fields=tuple(json.loads(meta["worklist_fields"])),
        schema_version=SCHEMA_VERSION,
    )
    return study if round is None else study.for_round(round)


def audit(
    con: sqlite3.Connection, action: str, source: str, details: str, actor: str | None = None
) -> None:
    """Append one audit row inside the caller's transaction. ``details``: ids and counts
    only, never health values or notes."""
    user = os_user()
    con.execute(
        "INSERT INTO audit (at, actor, os_user, action, source, details) VALUES (?, ?, ?, ?, ?, ?)",
        (now_utc(), actor or user, user, action, source, details),
    )


# --------------------------------------------------------------------------------------
# the draw's saving step (commands/sampling.py's save_drawn_sample calls this)


def _protocol_codebook(protocol_text: str, search: tuple[Path, ...]) -> Codebook:
    """The codebook a protocol names (``[review] codebook``: "default" or a path, looked
    up relative to each folder in ``search``)."""
    from stikprove.codebook import load_codebook

    try:
        spec = tomllib.loads(protocol_text).get("review", {}).get("codebook", "default")
    except tomllib.TOMLDecodeError:
        spec = "default"
    if spec == "default":
        return default_codebook()
    for folder in search:
        candidate = folder / spec
        if candidate.is_file():
            return load_codebook(candidate)
    raise StoreError(
        f"the protocol's codebook {spec!r} was not found (looked in "
        f"{', '.join(str(f) for f in search)}): run the command from the protocol's folder"
    )


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
    ``worklist_values``: as for :func:`create_study`.
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
        codebook = _protocol_codebook(protocol_text, (Path.cwd(), path.resolve().parent))
        return add_round(path, sample, codebook, worklist_fields, worklist_values)
    codebook = _protocol_codebook(protocol_text, (Path.cwd(), path.resolve().parent))
    return create_study(path, sample, codebook, None, worklist_fields, worklist_values)


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
    d = _Drawn.of(sample, path, worklist_fields, worklist_values)
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
