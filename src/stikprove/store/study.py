"""Queries on an open study store: the :class:`Study` object.

Connections are short-lived: every read or write opens the file, does its work in one
transaction (``BEGIN IMMEDIATE`` for writes, waiting up to
:data:`stikprove.store.schema.BUSY_TIMEOUT_S` for another writer) and closes it, so several
processes can work on one study at a time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stikprove.codebook import Codebook
from stikprove.errors import StikproveError, StoreError
from stikprove.kommuner import kommune, kommune_codes
from stikprove.lazy import provider
from stikprove.store.schema import (
    BUSY_TIMEOUT_S,
    connect,
    quote_identifier,
    restrict_side_files,
)

if TYPE_CHECKING:
    from stikprove.protocol import Protocol

# --------------------------------------------------------------------------------------
# the study

_WRITER_LOCKS: dict[Path, threading.RLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> threading.RLock:
    """This process's lock for writing the study at ``path`` (one per file). Reentrant: a
    transaction opened inside another on the same thread goes on to SQLite, which refuses
    it as before (the file is busy), instead of waiting here for ever."""
    key = Path(path).resolve()
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(key, threading.RLock())


_PROTOCOLS: dict[tuple[str, int, str, str], Protocol] = {}
_PROTOCOLS_KEPT = 32
_PROTOCOLS_GUARD = threading.Lock()


def _stored_protocol(path: Path, round_no: int, text: str, codebook: Codebook) -> Protocol:
    """The stored ``text`` of ``path``'s round ``round_no`` parsed by the protocol module,
    once per (study, round, text, codebook): a batch of 98 reports reads it once, and a
    changed text (another round, a restored file) is parsed anew."""
    from stikprove.protocol import parse_stored_protocol

    key = (str(Path(path).resolve()), int(round_no), text, codebook.fingerprint)
    with _PROTOCOLS_GUARD:
        found = _PROTOCOLS.get(key)
    if found is not None:
        return found
    protocol = parse_stored_protocol(text, path, codebook=codebook, round=round_no)
    with _PROTOCOLS_GUARD:
        while len(_PROTOCOLS) >= _PROTOCOLS_KEPT:
            del _PROTOCOLS[next(iter(_PROTOCOLS))]
        _PROTOCOLS[key] = protocol
    return protocol


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
        con = connect(self.path)
        try:
            con.execute("BEGIN")
            yield con
            con.execute("COMMIT")
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): all of it is written, or none of it.

        Writers in this process (the web form's server threads) take turns on a lock of
        the study file before ``BEGIN IMMEDIATE``, so they wait for each other on the lock
        (woken when it is free) rather than in SQLite's busy handler, which sleeps in steps
        of up to 100 ms: with four reviewers saving at once it made one save in twenty
        wait 100 ms or more. Other processes still wait in the busy handler."""
        lock = _writer_lock(self.path)
        if not lock.acquire(timeout=BUSY_TIMEOUT_S):
            raise StoreError(self._busy(f"another thread has been writing for more than "
                                        f"{BUSY_TIMEOUT_S:g} s"))  # fmt: skip
        try:
            with self._transaction() as con:
                yield con
        finally:
            lock.release()

    def _busy(self, why: str) -> str:
        return f"{self.path}: the study is busy ({why})"

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        con = connect(self.path)
        try:
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise StoreError(
                    self._busy(f"another process has been writing for more than "
                               f"{BUSY_TIMEOUT_S:g} s") + f": {error}"
                ) from None  # fmt: skip
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
            restrict_side_files(self.path)

    @contextmanager
    def kept_open(self) -> Iterator[None]:
        """Hold one idle connection open while a long-running process (the web form's
        server) works on the study. Each call still opens its own connection; but while
        another stays open, closing it is not the last close, at which SQLite checkpoints
        the WAL into the database and deletes it (an fsync or two each time: it made a
        web save two to three times slower). An idle connection holds no snapshot, so
        automatic checkpoints go on; the last close at the end checkpoints as usual."""
        con = connect(self.path)
        try:
            con.execute("SELECT count(*) FROM meta").fetchone()  # opens the WAL index
            yield
        finally:
            con.close()
            restrict_side_files(self.path)

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

    @property
    def protocol(self) -> Protocol:
        """The protocol of this Study's round, as the protocol module reads it: the frozen
        :class:`stikprove.protocol.Protocol` that :func:`stikprove.protocol.
        parse_stored_protocol` makes of the stored text with this study's codebook. The one
        reader of a study's settings (confidence level, interval method, disclosure
        threshold, indicator, precision targets, title, worklist fields): every report,
        interim analysis and command that reads a study takes them from here.

        Parsed once per stored text (kept while the process runs). A stored value that
        cannot be read raises ProtocolError naming the study file, the round, the key, its
        value and what was expected; it never falls back on a default."""
        with self.reading() as con:
            round_no = self.round_in(con)
            row = con.execute(
                "SELECT protocol_text FROM rounds WHERE round = ?", (round_no,)
            ).fetchone()
        if row is None:
            raise StoreError(f"{self.path} holds no round {round_no}")
        return _stored_protocol(self.path, round_no, row[0], self.codebook)

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
        fields = ", ".join(f"a.{quote_identifier(f)}" for f in self.codebook.field_names)
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

    def assignment(self, case_id: str, reviewer: str) -> dict | None:
        """The reviewer's assignment of one case in this round, or None when the case is
        not assigned to them: case_id, review_slot, stratum, kommune_code, draw_order."""
        with self.reading() as con:
            row = con.execute(
                """SELECT g.case_id, g.review_slot, u.stratum, u.kommune_code, u.draw_order
                FROM assignments g JOIN units u USING (round, case_id)
                WHERE g.round = ? AND g.reviewer = ? AND g.case_id = ?""",
                (self.round_in(con), reviewer, case_id),
            ).fetchone()
        keys = ("case_id", "review_slot", "stratum", "kommune_code", "draw_order")
        return None if row is None else dict(zip(keys, row, strict=True))

    def current_entry(self, case_id: str, reviewer: str) -> dict[str, str | None] | None:
        """The reviewer's current assessment of one case in this round (the codebook
        fields), or None when they have entered none. Never another reviewer's entry."""
        names = self.codebook.field_names
        cols = ", ".join(f"a.{quote_identifier(f)}" for f in names)
        with self.reading() as con:
            row = con.execute(
                f"""SELECT {cols} FROM assessments a
                WHERE a.round = ? AND a.reviewer = ? AND a.case_id = ? AND NOT EXISTS (
                  SELECT 1 FROM assessments b WHERE b.supersedes = a.assessment_id)""",
                (self.round_in(con), reviewer, case_id),
            ).fetchone()
        return None if row is None else dict(zip(names, row, strict=True))

    def entered_cases(self, reviewer: str) -> pd.DataFrame:
        """The cases the reviewer has entered in this round, in stratum and draw order,
        with their current entry: case_id, review_slot, stratum, kommune_code,
        draw_order, version, then the codebook fields. Only this reviewer's entries."""
        fields = ", ".join(f"a.{quote_identifier(f)}" for f in self.codebook.field_names)
        return self._round_query(
            f"""SELECT g.case_id, g.review_slot, u.stratum, u.kommune_code, u.draw_order,
                 a.version, {fields}
            FROM assessments a JOIN assignments g USING (round, case_id, reviewer)
              JOIN units u USING (round, case_id)
            WHERE a.round = :round AND a.reviewer = :reviewer AND NOT EXISTS (
              SELECT 1 FROM assessments b WHERE b.supersedes = a.assessment_id)
            ORDER BY u.stratum, u.draw_order""",
            {"reviewer": reviewer},
        )

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

    def sample(self) -> Any:
        """The study's sample as a design object, ready for analysis: a
        :class:`stikprove.estimation.StratifiedSample`, the :meth:`export` table bound once
        to its strata and N_h.

        ``study.sample().estimate("too_ill", by="origin")`` is the notebook's way of writing
        ``StratifiedSample.from_study(study)``, which it returns. The store does not import
        the estimation step (a lower step never imports a higher one, docs/CONTRACTS.md): the
        package root names the function behind the role ``"study.sample"``
        (:func:`stikprove.lazy.provide`), and the estimation code is loaded on the first
        call. The store's own code never calls this.
        """
        return provider("study.sample")(self)

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
