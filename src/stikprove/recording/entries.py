"""Checking and writing entries: every way in (a filled worklist, the ``record`` command,
the interactive session, a DataFrame) goes through :func:`import_entries`, which checks
each row against the codebook and the study and writes all rows in one transaction or
none; a reserve is activated when a case is found ineligible."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from stikprove.codebook import Codebook, Field
from stikprove.cpr import contains_cpr
from stikprove.errors import (
    ImportRowsError,
    Problem,
    StoreError,
    did_you_mean,
    format_problems,
)
from stikprove.files import REASON_COLUMN, ROUND_COLUMN
from stikprove.recording.read import Rows, read_rows
from stikprove.store import Study, audit, now_utc
from stikprove.store.assignment import assign_activated_reserve, reviewer_of

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WORKLIST_ROW_SLACK = 1000
"""Rows a filled worklist may use beyond one per unit of the round (blank rows typed below
the cases); a sheet using more is refused before it is read."""
AUDIT_NAMED_CASES = 10
"""A recording of at most this many new entries names their case ids in its audit row (a save
in the web form, a `record`, a short import); a longer import gives the count (each
assessment row keeps its case, source and time)."""
NOT_SHOWN = "(a CPR-like number, not shown)"
NO_CPR_EXPECTED = (
    "no CPR number: a note or reason stays in the study store, where a CPR number must never "
    "be; describe the case without it"
)


@dataclass(frozen=True)
class Activation:
    """A reserve activated because ``ineligible_case`` was found ineligible
    (``reserve_case`` None: the stratum had no reserves left)."""

    ineligible_case: str
    reserve_case: str | None
    stratum: str
    reviewer: str


@dataclass(frozen=True)
class ImportResult:
    """What an import or record wrote (case ids) and what it skipped."""

    source: str
    reviewer: str
    new: tuple[str, ...]
    corrected: tuple[str, ...]
    unchanged: tuple[str, ...]
    empty_rows: int
    activations: tuple[Activation, ...]
    kept: tuple[tuple[str, str], ...] = ()
    """(case, reserve): a case corrected back to eligible whose activated reserve stays in
    the sample (docs/store.md, "Ineligible cases and reserves")."""

    @property
    def written(self) -> int:
        return len(self.new) + len(self.corrected)

    def summary(self, detail_limit: int | None = 10) -> str:
        """What was written, one line each; with more than ``detail_limit`` reserve
        activations (a national import activates dozens) they are counted per reviewer
        instead, and only the ineligible cases left unreplaced are listed one by one (the
        audit trail has every activation). ``None``: every activation on its own line."""
        lines = [
            f"{self.source}: {len(self.new)} new, {len(self.corrected)} corrected, "
            f"{len(self.unchanged)} unchanged, {self.empty_rows} empty row(s) skipped "
            "(not yet reviewed)"
        ]
        replaced = [a for a in self.activations if a.reserve_case is not None]
        brief = detail_limit is not None and len(self.activations) > detail_limit
        if brief:
            per_reviewer = Counter(a.reviewer for a in replaced)
            to = ", ".join(f"{n} to {r}" for r, n in sorted(per_reviewer.items()))
            lines.append(
                f"{len(self.activations)} case(s) found ineligible: {len(replaced)} replaced "
                f"by the next reserve of their stratum ({to or 'none'}); "
                f"{len(self.activations) - len(replaced)} not replaced (no reserves left); "
                "each is in the audit trail ('stikprove audit')"
            )
        for a in self.activations:
            if a.reserve_case is None:
                lines.append(
                    f"case {a.ineligible_case} is ineligible; stratum {a.stratum} has no "
                    "reserves left, so it is not replaced"
                )
            elif not brief:
                lines.append(
                    f"case {a.ineligible_case} is ineligible; reserve {a.reserve_case} "
                    f"(stratum {a.stratum}) is activated and assigned to {a.reviewer}"
                )
        for case, reserve in self.kept:
            lines.append(
                f"case {case} is eligible again; reserve {reserve}, activated for it, stays "
                "in the sample (its stratum's sample size and weights count it)"
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# checking entries


def _cell(value: object) -> str | None:
    """A cell as the store keeps it: stripped text, None when empty."""
    if value is None:
        return None
    if type(value) is str:
        return value.strip() or None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def check_values(
    codebook: Codebook, values: dict[str, str | None], today: date
) -> list[tuple[str, object, str]]:
    """Problems of one entry as (column, value, expected): codes, dates, required fields,
    and fields that do not apply (an eligible-only field filled for an ineligible case)."""
    problems: list[tuple[str, object, str]] = []
    eligible = values.get("eligible")
    if eligible not in ("ja", "nej"):
        eligible = None
    for field in codebook.fields:
        value = values.get(field.name)
        if value is None:
            if field.is_required(eligible) or (field.required == "always"):
                problems.append((field.name, value, _required_text(field)))
            continue
        problem = value_problem(field, value, today)
        if problem:
            problems.append((field.name, value, problem))
        elif (
            eligible is not None
            and field.required in ("eligible", "ineligible")
            and not field.is_required(eligible)
        ):
            applies = "ja" if field.required == "eligible" else "nej"
            problems.append(
                (field.name, value, f"empty: the field applies only when eligible = {applies}")
            )
    return problems


def _required_text(field: Field) -> str:
    if field.required == "ineligible":
        return f"a reason ({field.name}) when eligible = nej: one of {', '.join(field.codes)}"
    when = {"always": "", "eligible": " (required when eligible = ja)"}.get(field.required, "")
    if field.kind == "choice":
        return f"one of {', '.join(field.codes)}{when}"
    if field.kind == "date":
        return f"a date YYYY-MM-DD{when}"
    return f"a value{when}"


def value_problem(field: Field, value: str, today: date) -> str | None:
    """What ``field`` expected when ``value`` (a non-empty answer) is not one of its codes
    or not a date up to ``today`` (for the error message: "one of ...", "a date
    YYYY-MM-DD"), or None when the value is good."""
    if field.kind == "choice" and value not in field.codes:
        return f"one of {', '.join(field.codes)}{did_you_mean(value, field.codes)}"
    if field.kind == "date":
        try:
            day = date.fromisoformat(value) if _DATE.match(value) else None
        except ValueError:
            day = None
        if day is None:
            return "a date YYYY-MM-DD"
        if day > today:
            return f"a date not in the future (today is {today.isoformat()})"
    return None


@dataclass(frozen=True)
class _Entry:
    row: int | None
    case_id: str
    answers: dict[str, str | None]
    reason: str | None


def _state(
    con: sqlite3.Connection, study: Study, reviewer: str, round_no: int, case_ids: list[str]
) -> tuple[dict, dict, dict]:
    """Of round ``round_no``: the units among ``case_ids`` (case_id -> (stratum, role,
    activated)), the reviewer's assignments among them (case_id -> slot) and current
    entries among them (case_id -> (assessment_id, version, values))."""
    units = {
        r[0]: (r[1], r[2], bool(r[3]))
        for r in con.execute(
            "SELECT u.case_id, u.stratum, u.role, a.case_id IS NOT NULL "
            "FROM units u LEFT JOIN activations a USING (round, case_id) WHERE u.round = ? "
            "AND u.case_id IN (SELECT value FROM json_each(?))",
            (round_no, json.dumps(case_ids)),
        )
    }
    # only the cases in hand: reading all the reviewer's assignments and entries made each
    # one-case save (the web form) slower with every entry already saved
    slots = dict(
        con.execute(
            "SELECT case_id, review_slot FROM assignments WHERE round = ? AND reviewer = ? "
            "AND case_id IN (SELECT value FROM json_each(?))",
            (round_no, reviewer, json.dumps(case_ids)),
        ).fetchall()
    )
    names = study.codebook.field_names
    cols = ", ".join(f'a."{f}"' for f in names)
    current = {}
    for row in con.execute(
        f"""SELECT a.case_id, a.assessment_id, a.version, {cols} FROM assessments a
        WHERE a.round = ? AND a.reviewer = ? AND a.case_id IN (SELECT value FROM json_each(?))
        AND NOT EXISTS (SELECT 1 FROM assessments b WHERE b.supersedes = a.assessment_id)""",
        (round_no, reviewer, json.dumps(case_ids)),
    ):
        current[row[0]] = (row[1], row[2], dict(zip(names, row[3:], strict=True)))
    return units, slots, current


def import_entries(
    study: Study,
    entries: pd.DataFrame | Iterable[dict] | Rows,
    reviewer: str,
    corrections: bool = False,
    source: str = "python",
    today: date | None = None,
    on_before_commit: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Check and write one reviewer's entries: all rows, or (on any problem) none.

    ``entries`` has a ``case_id`` column, the codebook fields and, for corrections, a
    ``reason`` column; other columns are ignored. Rows with no codebook field filled are
    skipped as not yet reviewed. Raises :class:`ImportRowsError` listing every problem, and
    StoreError for a ``source`` (kept with each entry) that holds a CPR-like number.

    ``on_before_commit``: called with the result inside the import's transaction, after
    writing and before committing, when something was written (a fault-injection seam: the
    reliability tests pause or kill the process there; users leave it None).
    """
    if contains_cpr(source):  # the source is kept beside each entry and in the audit trail
        raise StoreError(
            f"{source}: the path holds a CPR-like number (not shown): expected no CPR number "
            "in a worklist's file or folder name, which the study keeps in its audit trail; "
            "rename it (nothing imported)"
        )
    today = today or date.today()
    rows = _as_rows(entries)
    codebook = study.codebook
    header_problems = _check_header(rows, codebook)
    if header_problems:
        raise _refused(source, header_problems)
    reviewer = reviewer_of(study, reviewer)

    problems: list[Problem] = []
    entries_ok: list[_Entry] = []
    empty = 0
    seen: dict[str, int | None] = {}
    in_file: list[str] = []  # the filled rows' cases of this study
    not_mine: list[str] = []  # ... not assigned to the reviewer

    def problem(row: int | None, column: str | None, value: object, expected: str) -> None:
        problems.append(Problem(row, column, value, expected, rows.sheet))

    with study.transaction() as con:
        round_no = study.round_in(con)
        ids = {_cell(cells.get("case_id")) for _, cells in rows.rows} - {None}
        units, slots, current = _state(con, study, reviewer, round_no, sorted(ids))
        for number, cells in rows.rows:
            values = {f.name: _cell(cells.get(f.name)) for f in codebook.fields}
            reason = _cell(cells.get(REASON_COLUMN))
            case_id = _cell(cells.get("case_id"))
            with_cpr = [c for c, v in (*values.items(), (REASON_COLUMN, reason)) if contains_cpr(v)]
            for column in with_cpr:
                problem(number, column, NOT_SHOWN, NO_CPR_EXPECTED)
            if with_cpr:
                continue
            if all(v is None for v in values.values()):
                empty += 1
                continue
            if case_id is None:
                problem(number, "case_id", None, "the case_id of a case on your worklist")
                continue
            if case_id not in units:
                problem(number, "case_id", case_id, "a case_id of this study")
                continue
            in_file.append(case_id)
            if case_id not in slots:
                _, role, activated = units[case_id]
                why = " (an unused reserve)" if role == "reserve" and not activated else ""
                problem(number, "case_id", case_id, f"a case assigned to {reviewer}{why}")
                not_mine.append(case_id)
                continue
            if case_id in seen:
                where = f" (also in row {seen[case_id]})" if seen[case_id] else ""
                problem(number, "case_id", case_id, f"each case once in the file{where}")
                continue
            seen[case_id] = number
            found = check_values(codebook, values, today)
            for column, value, expected in found:
                problem(number, column, value, expected)
            if found:
                continue
            if case_id in current:
                before = current[case_id][2]
                changed = [f for f in codebook.field_names if before.get(f) != values[f]]
                if changed and not corrections:
                    shown = _shown_values(codebook, changed, values)
                    entered = _shown_values(codebook, changed, before)
                    problem(
                        number,
                        ", ".join(changed),
                        shown,
                        f"the values already entered for case {case_id}, {entered!r} (fields "
                        f"{', '.join(changed)} differ): to correct them, import with "
                        "--corrections and give a reason",
                    )
                    continue
                if changed and not reason:
                    expected = f"a reason for correcting case {case_id} ({', '.join(changed)})"
                    problem(number, REASON_COLUMN, reason, expected)
                    continue
            entries_ok.append(_Entry(number, case_id, values, reason))
        if not_mine and len(not_mine) == len(problems):
            _refuse_other_reviewers_worklist(con, round_no, reviewer, in_file, source, problems)
        if problems:
            raise _refused(source, problems)
        result = _write(
            con, study, reviewer, entries_ok, units, slots, current, source, empty, round_no
        )
        if result.written and on_before_commit is not None:
            on_before_commit(result)
    return result


def _shown_values(
    codebook: Codebook, fields: list[str], values: dict[str, str | None]
) -> str | tuple[str | None, ...] | None:
    """The values of ``fields`` as a message shows them: one field's value alone, several as
    a tuple; free text (a note) as "(text)", so it never enters a message."""
    text = {f.name for f in codebook.fields if f.kind == "text"}
    shown = tuple("(text)" if f in text and values.get(f) else values.get(f) for f in fields)
    return shown[0] if len(shown) == 1 else shown


def _refuse_other_reviewers_worklist(
    con: sqlite3.Connection,
    round_no: int,
    reviewer: str,
    case_ids: list[str],
    source: str,
    problems: list[Problem],
) -> None:
    """When another reviewer has every case of the file (``case_ids``) and ``reviewer`` not
    all (the only problems found), the file is that reviewer's worklist: say so in one line
    instead of a problem per row."""
    assigned: dict[str, set[str]] = {}
    for case_id, other in con.execute(
        "SELECT case_id, reviewer FROM assignments WHERE round = ? "
        "AND case_id IN (SELECT value FROM json_each(?))",
        (round_no, json.dumps(sorted(set(case_ids)))),
    ):
        assigned.setdefault(case_id, set()).add(other)
    owners = set.intersection(*(assigned.get(c, set()) for c in case_ids)) - {reviewer}
    if not owners:
        return
    owner = sorted(owners)[0]
    error = ImportRowsError(
        f"{source}: nothing imported: this worklist belongs to reviewer {owner} (its "
        f"{len(case_ids)} case(s) are assigned to {owner}, not all to {reviewer}); import it as "
        f"{owner} (--reviewer {owner}), or import {reviewer}'s own worklist"
    )
    error.problems = list(problems)
    raise error


def _refused(source: str, problems: list[Problem]) -> ImportRowsError:
    """The error for a refused import; its ``problems`` attribute lists every problem."""
    error = ImportRowsError(format_problems(f"{source}: nothing imported", problems))
    error.problems = list(problems)
    return error


def _as_rows(entries: pd.DataFrame | Iterable[dict] | Rows) -> Rows:
    if isinstance(entries, Rows):
        return entries
    if isinstance(entries, pd.DataFrame):
        records = entries.astype(object).where(entries.notna(), None).to_dict("records")
        columns = tuple(map(str, entries.columns))
    else:
        records = [dict(e) for e in entries]
        columns = tuple(dict.fromkeys(k for r in records for k in r))
    return Rows(columns, [(i, r) for i, r in enumerate(records, start=2)], None)


def _check_header(rows: Rows, codebook: Codebook) -> list[Problem]:
    problems = []
    counts: dict[str, int] = {}
    for c in rows.columns:
        counts[c] = counts.get(c, 0) + 1
    for col, n in counts.items():
        if n > 1 and col:
            problems.append(Problem(1, col, col, "each column once", rows.sheet))
    needed = ["case_id"] + [f.name for f in codebook.fields if f.required != "never"]
    for col in needed:
        if col not in counts:
            problems.append(
                Problem(1, col, None, f"a column named {col!r} (as in the worklist)", rows.sheet)
            )
    return problems


def _write(
    con: sqlite3.Connection,
    study: Study,
    reviewer: str,
    entries: list[_Entry],
    units: dict,
    slots: dict,
    current: dict,
    source: str,
    empty: int,
    round_no: int,
) -> ImportResult:
    names = study.codebook.field_names
    stamp = now_utc()
    new, corrected, unchanged, rows = [], [], [], []
    became_ineligible, became_eligible = [], []
    for e in entries:
        before = current.get(e.case_id)
        if before is not None and all(before[2].get(f) == e.answers[f] for f in names):
            unchanged.append(e.case_id)
            continue
        if before is None:
            new.append(e.case_id)
            rows.append(
                (round_no, e.case_id, reviewer, 1, *e.answers.values(), None, None, stamp, source)
            )
        else:
            corrected.append(e.case_id)
            rows.append(
                (round_no, e.case_id, reviewer, before[1] + 1, *e.answers.values(), before[0],
                 e.reason, stamp, source)
            )  # fmt: skip
        was_ineligible = before is not None and before[2].get("eligible") == "nej"
        if slots[e.case_id] == 1 and e.answers["eligible"] == "nej" and not was_ineligible:
            became_ineligible.append(e.case_id)
        if slots[e.case_id] == 1 and was_ineligible and e.answers["eligible"] != "nej":
            became_eligible.append(e.case_id)
    activations: list[Activation] = []
    kept: list[tuple[str, str]] = []
    if rows:
        cols = ", ".join(f'"{f}"' for f in names)
        marks = ", ".join("?" * (len(names) + 8))
        con.executemany(
            f"INSERT INTO assessments (round, case_id, reviewer, version, {cols}, supersedes, "
            f"reason, entered_at, source) VALUES ({marks})",
            rows,
        )
        for case_id in became_ineligible:
            activations.append(
                _activate_reserve(con, case_id, units[case_id][0], reviewer, stamp, round_no)
            )
        for case_id in became_eligible:
            row = con.execute(
                "SELECT case_id FROM activations WHERE round = ? AND replaces = ?",
                (round_no, case_id),
            ).fetchone()
            if row is not None:
                kept.append((case_id, row[0]))
                audit(con, "keep_reserve", source,
                      f"case {case_id} corrected to eligible; reserve {row[0]} of stratum "
                      f"{units[case_id][0]} stays in the sample", actor=reviewer)  # fmt: skip
        for e in entries:
            if e.case_id in corrected:
                old = current[e.case_id][2]
                fields = [f for f in names if old.get(f) != e.answers[f]]
                audit(
                    con, "correct", source,
                    f"case {e.case_id} version {current[e.case_id][1] + 1}: fields "
                    f"{', '.join(fields)} corrected; reason given",
                    actor=reviewer,
                )  # fmt: skip
        named = f" ({', '.join(new)})" if 0 < len(new) <= AUDIT_NAMED_CASES else ""
        audit(
            con, "import", source,
            f"round {round_no}: {len(new)} new{named}, {len(corrected)} corrected, "
            f"{len(unchanged)} unchanged, "
            f"{empty} empty row(s); {len(activations)} reserve activation(s)",
            actor=reviewer,
        )  # fmt: skip
    return ImportResult(
        source, reviewer, tuple(new), tuple(corrected), tuple(unchanged), empty,
        tuple(activations), tuple(kept),
    )  # fmt: skip


def _activate_reserve(
    con: sqlite3.Connection, case_id: str, stratum: str, reviewer: str, stamp: str, round_no: int
) -> Activation:
    """Inside the import's transaction: activate the next unused reserve of the stratum."""
    if con.execute(
        "SELECT 1 FROM activations WHERE round = ? AND replaces = ?", (round_no, case_id)
    ).fetchone():
        return Activation(case_id, None, stratum, reviewer)  # replaced before (a correction)
    row = con.execute(
        """SELECT case_id FROM units WHERE round = ? AND stratum = ? AND role = 'reserve'
          AND case_id NOT IN (SELECT case_id FROM activations WHERE round = ?)
        ORDER BY draw_order LIMIT 1""",
        (round_no, stratum, round_no),
    ).fetchone()
    if row is None:
        details = f"case {case_id} ineligible; stratum {stratum} has no reserves left"
        audit(con, "no_reserve", "activation", details, reviewer)
        return Activation(case_id, None, stratum, reviewer)
    reserve = row[0]
    con.execute(
        "INSERT INTO activations (round, case_id, replaces, activated_at) VALUES (?, ?, ?, ?)",
        (round_no, reserve, case_id, stamp),
    )
    assign_activated_reserve(con, reserve, case_id, stamp, round_no)
    audit(con, "activate_reserve", "activation",
          f"case {case_id} ineligible; reserve {reserve} of stratum {stratum} activated and "
          f"assigned to {reviewer}", reviewer)  # fmt: skip
    return Activation(case_id, reserve, stratum, reviewer)


# --------------------------------------------------------------------------------------
# the entry points


def import_assessments(
    study: Study,
    path: str | Path,
    reviewer: str,
    corrections: bool = False,
    today: date | None = None,
    on_before_commit: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Import a filled worklist (.xlsx or .csv) for ``reviewer``: all rows or none.

    It goes into the study's round (the latest unless the Study was opened for another);
    a worklist of another round (its ``round`` column; none means round 1) is refused, and
    so is an xlsx using more rows than the round has units (plus
    :data:`WORKLIST_ROW_SLACK`), before it is read.
    ``on_before_commit``: as for :func:`import_entries`.
    """
    path = Path(path)
    round_no = study.current_round()
    with study.reading() as con:  # a worklist has at most one row per unit of the round
        (units,) = con.execute("SELECT count(*) FROM units WHERE round = ?", (round_no,)).fetchone()
    rows = read_rows(path, max_rows=1 + units + WORKLIST_ROW_SLACK)
    _check_file_round(rows, round_no, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    source = f"{path.resolve()} (sha256 {digest})"
    study = study.for_round(round_no)
    return import_entries(
        study, rows, reviewer, corrections, source=source, today=today,
        on_before_commit=on_before_commit,
    )  # fmt: skip


def _check_file_round(rows: Rows, round_no: int, path: Path) -> None:
    """Refuse a worklist of another round than ``round_no``."""
    found = {_cell(cells.get(ROUND_COLUMN)) for _, cells in rows.rows} - {None}
    if ROUND_COLUMN not in rows.columns or not found:
        found = {"1"}
    if found != {str(round_no)}:
        rounds = ", ".join(sorted(found))
        raise StoreError(
            f"{path} is a worklist of round {rounds}, but this import is into round "
            f"{round_no} (nothing imported): import it with --round {rounds}, or write a "
            f"new worklist for round {round_no}"
        )


def record_assessment(
    study: Study,
    reviewer: str,
    case_id: str,
    values: dict[str, str | None],
    corrections: bool = False,
    reason: str | None = None,
    source: str = "stikprove record",
    today: date | None = None,
) -> ImportResult:
    """Record one case's entry (the one-line ``record`` form); same checks as an import."""
    entry = {"case_id": case_id, **{f: values.get(f) for f in study.codebook.field_names}}
    entry[REASON_COLUMN] = reason
    rows = Rows(tuple(entry), [(None, entry)], None)  # type: ignore[list-item]
    return import_entries(study, rows, reviewer, corrections, source=source, today=today)
