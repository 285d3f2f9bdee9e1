"""The study store's schema: its tables, triggers and migrations, and connections to it.

The schema carries its version in ``PRAGMA user_version`` (and in the ``meta`` table) and
the file is marked with ``PRAGMA application_id`` = :data:`APPLICATION_ID`, so a foreign
SQLite file is refused. :data:`MIGRATIONS` lists the steps from one version to the next.

Assessments, activations of reserves and the audit log are append-only: triggers abort
any UPDATE or DELETE.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from stikprove.codebook import Codebook
from stikprove.errors import StoreError

APPLICATION_ID = 0x53544B50
"""``PRAGMA application_id`` of a stikprove study store (ASCII 'STKP')."""
APPLICATION_NAME = "stikprove study store"
SCHEMA_VERSION = 4
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


def quote_identifier(name: str) -> str:
    """``name`` as an SQL identifier in double quotes (an inner ``"`` doubled), for the
    codebook's field names, which become assessment columns."""
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
    col = quote_identifier(field.name)
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
    names = ", ".join(quote_identifier(f.name) for f in codebook.fields)
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
    {", ".join("a." + quote_identifier(f.name) for f in codebook.fields)},
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


def _migrate_to_3(con: sqlite3.Connection, codebook: Codebook) -> None:
    """Version 3: reviewer accounts for the web form (stikprove.web.accounts): a scrypt
    password hash per reviewer named in the assignment, and whether the account is
    disabled. ``changed_at`` changes with every change, ending sessions begun before."""
    con.execute(
        """CREATE TABLE reviewer_accounts (
  reviewer TEXT PRIMARY KEY REFERENCES reviewers (name),
  password_hash TEXT NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  changed_at TEXT NOT NULL)"""
    )


def _migrate_to_4(con: sqlite3.Connection, codebook: Codebook) -> None:
    """Version 4: a second factor for the web form's accounts (stikprove.web.accounts):
    the TOTP secret (RFC 6238; NULL: none enrolled) and the last 30-second step whose code
    was used, so a code is accepted once."""
    con.execute("ALTER TABLE reviewer_accounts ADD COLUMN totp_secret TEXT")
    con.execute(
        "ALTER TABLE reviewer_accounts ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0"
    )


Migration = Callable[[sqlite3.Connection, Codebook], None]
MIGRATIONS: list[tuple[int, Migration]] = [
    (1, _migrate_to_1), (2, _migrate_to_2), (3, _migrate_to_3), (4, _migrate_to_4),
]  # fmt: skip
"""(version reached, step) in order; a store at version v runs every step above v."""


def migrate(con: sqlite3.Connection, from_version: int, codebook: Codebook) -> None:
    """Bring the store on ``con`` from schema ``from_version`` (0: an empty file) to
    :data:`SCHEMA_VERSION`, one step of :data:`MIGRATIONS` at a time, recording each version
    reached (``PRAGMA user_version`` and ``meta.schema_version``) inside the caller's
    transaction."""
    for version, step in MIGRATIONS:
        if version > from_version:
            step(con, codebook)
            con.execute(f"PRAGMA user_version = {version}")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))


# --------------------------------------------------------------------------------------
# connections


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the existing store at ``path`` (read-write, never creating it; in
    autocommit mode, so the caller opens its own transaction), waiting up to
    :data:`BUSY_TIMEOUT_S` for another writer, with foreign keys on and full synchronous
    writes. A file SQLite cannot read as a database raises :class:`StoreError`."""
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as error:
        con.close()
        raise StoreError(open_problem(path, error) or f"{path} is not a stikprove study store: "
                         f"{error}") from None  # fmt: skip
    return con


def read_only_problem(path: Path) -> str | None:
    """What to say when the study file or its folder cannot be written (SQLite writes its
    -wal and -shm files beside the study, even to read it), or None if both can."""
    path = Path(path)
    for what, target in (("folder", path.resolve().parent), ("file", path)):
        if target.exists() and not os.access(target, os.W_OK):
            return (
                f"{path}: the study {what} {target} is read-only: stikprove writes beside the "
                "study file even to read it (SQLite's -wal and -shm files); make it writable "
                "(chmod u+w), or copy the study to a folder you may write in"
            )
    return None


def open_problem(path: Path, error: sqlite3.Error) -> str | None:
    """What to say when a study cannot be opened for a reason outside the file: its folder
    or file is read-only (:func:`read_only_problem`), or SQLite cannot write its -wal and
    -shm files beside it (a full disk gives an I/O error); None otherwise."""
    found = read_only_problem(path)
    if found is None and getattr(error, "sqlite_errorname", "").startswith(
        ("SQLITE_IOERR", "SQLITE_FULL")
    ):
        found = (
            f"{path}: cannot open the study: {error} (SQLite could not write its -wal and -shm "
            "files beside the study file: is the disk full?); free some space, or copy the "
            "study to another disk"
        )
    return found


def checkpoint(path: Path) -> None:
    """Copy the write-ahead log into the study file and empty it, so that the .sqlite file
    alone is the whole study (a copy of it holds everything written so far)."""
    con = connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()


def restrict_side_files(path: Path) -> None:
    """Make the -wal, -shm and -journal files SQLite keeps beside the store at ``path``
    readable by their owner only (mode 600), as the store itself is."""
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        # another connection's close may remove the file between the test and the chmod
        with contextlib.suppress(FileNotFoundError):
            if side.exists():
                os.chmod(side, 0o600)


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

