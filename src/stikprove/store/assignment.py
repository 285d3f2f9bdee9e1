"""Assigning sampled cases to reviewers (socialoverlæger).

Cases are dealt round-robin within each stratum's draw order, and each stratum starts
where the previous one stopped (a rotating start), so every reviewer gets within one case
of the same number in each stratum and in total. A double-review case gets a second,
different reviewer, dealt round-robin among the others; neither ever sees the other's
entry (worklists show a reviewer's own cases and entries only).

>>> deal(["a", "b", "c"], {"s1": ["1", "2"], "s2": ["3", "4"]})
{'1': 'a', '2': 'b', '3': 'c', '4': 'a'}
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

import pandas as pd

from stikprove.cells import identifier_key, normalize_identifier
from stikprove.cpr import contains_cpr
from stikprove.errors import StoreError
from stikprove.files import CODEBOOK_SUFFIX
from stikprove.store.schema import audit, now_utc
from stikprove.store.study import Study

REVIEWER_NAME = re.compile(r"^[A-Za-z0-9ÆØÅæøå][A-Za-z0-9ÆØÅæøå_.-]{0,63}$")


def check_reviewer_names(
    names: list[str] | tuple[str, ...], known: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """Reviewer names in NFC: letters, digits, _ . - (they become parts of file names),
    no CPR-like number, unique without regard to case and Unicode form (``anna`` and
    ``Anna``, an NFC and an NFD ``Åse``, are one person). A name that matches one of
    ``known`` (the study's reviewers) that way takes its stored spelling; two given names
    that mean one person are refused."""
    cleaned = tuple(normalize_identifier(n) for n in names if n.strip())
    if not cleaned:
        raise StoreError("reviewers: expected at least one name, e.g. --reviewers anna,bo")
    if any(contains_cpr(n) for n in cleaned):
        raise StoreError("reviewers: a name holds a CPR-like number (not shown): expected "
                         "names or initials, never a CPR number")  # fmt: skip
    bad = [n for n in cleaned if not REVIEWER_NAME.match(n)]
    if bad:
        raise StoreError(
            f"reviewer name(s) {', '.join(map(repr, bad))}: expected letters, digits, "
            "'_', '.' or '-' (at most 64 characters)"
        )
    clash = [n for n in cleaned if identifier_key(n).endswith(CODEBOOK_SUFFIX)]
    if clash:  # worklist-S-anna_kodebog.csv is also anna's CSV codebook
        raise StoreError(
            f"reviewer name(s) {', '.join(map(repr, clash))}: a name may not end in "
            f"{CODEBOOK_SUFFIX!r}: expected a name whose worklist cannot take the file name "
            "of another reviewer's codebook"
        )
    stored = {identifier_key(k): k for k in known}
    seen: dict[str, str] = {}
    out = []
    for name in cleaned:
        key = identifier_key(name)
        if key in seen:
            same = "is given twice" if seen[key] == name else f"and {seen[key]!r} are one person"
            raise StoreError(
                f"reviewers {', '.join(cleaned)}: {name!r} {same} (names are compared "
                "without regard to case): expected each reviewer once"
            )
        seen[key] = name
        out.append(stored.get(key, name))
    return tuple(out)


def reviewer_of(study: Study, name: str) -> str:
    """The study's spelling of reviewer ``name`` (compared without regard to case and
    Unicode form: ``Anna`` finds ``anna``); StoreError naming the reviewers if none."""
    reviewers = study.reviewers()
    stored = {identifier_key(r): r for r in reviewers}
    found = stored.get(identifier_key(name)) if isinstance(name, str) else None
    if found is None:
        known = ", ".join(reviewers) or "(none yet: run 'stikprove assign')"
        raise StoreError(f"reviewer {name!r} is not in this study: expected one of {known}")
    return found


def deal(reviewers: list[str] | tuple[str, ...], cases_by_stratum: dict[str, list[str]],
         start: int = 0) -> dict[str, str]:  # fmt: skip
    """case_id -> reviewer: round-robin within each stratum, continuing across strata."""
    out = {}
    k = start
    for stratum in sorted(cases_by_stratum):
        for case_id in cases_by_stratum[stratum]:
            out[case_id] = reviewers[k % len(reviewers)]
            k += 1
    return out


@dataclass(frozen=True)
class AssignmentResult:
    """What :func:`assign_reviewers` did: ``assignments`` has case_id, review_slot, reviewer,
    stratum for the new assignments only."""

    reviewers: tuple[str, ...]
    assignments: pd.DataFrame
    first_reviews: int
    second_reviews: int


def assign_reviewers(
    study: Study, reviewers: list[str] | tuple[str, ...], source: str = "assign_reviewers"
) -> AssignmentResult:
    """Assign every not yet assigned sampled case among ``reviewers`` (registering them).

    Already assigned cases keep their reviewers, so running it again assigns nothing new.
    Double-review cases (the sample's ``double_review`` flag) get a second reviewer who is
    not the first; that needs at least two reviewers. Works on the study's round (the
    latest unless the Study was opened for another).
    """
    with study.transaction() as con:
        stamp = now_utc()
        round_no = study.round_in(con)
        known = {r[0] for r in con.execute("SELECT name FROM reviewers")}
        reviewers = check_reviewer_names(reviewers, tuple(sorted(known)))
        con.executemany(
            "INSERT INTO reviewers VALUES (?, ?)",
            [(r, stamp) for r in reviewers if r not in known],
        )
        units = pd.read_sql_query(
            """SELECT u.case_id, u.stratum, u.draw_order, u.double_review,
                 (SELECT reviewer FROM assignments g WHERE g.round = u.round
                    AND g.case_id = u.case_id AND g.review_slot = 1) AS first_reviewer,
                 EXISTS (SELECT 1 FROM assignments g WHERE g.round = u.round
                    AND g.case_id = u.case_id AND g.review_slot = 2) AS has_second
            FROM units u LEFT JOIN activations a USING (round, case_id)
            WHERE u.round = ? AND (u.role = 'sample' OR a.case_id IS NOT NULL)
            ORDER BY u.stratum, u.draw_order""",
            con,
            params=(round_no,),
        )
        n_first_before = int(units["first_reviewer"].notna().sum())
        todo = units[units["first_reviewer"].isna()]
        firsts = deal(
            reviewers,
            {s: list(g["case_id"]) for s, g in todo.groupby("stratum", sort=True)},
            start=n_first_before,
        )
        units["first_reviewer"] = units["first_reviewer"].fillna(units["case_id"].map(firsts))
        need_second = units[units["double_review"].astype(bool) & ~units["has_second"].astype(bool)]
        if len(need_second) and len(reviewers) < 2:
            raise StoreError(
                f"{len(need_second)} case(s) are to be reviewed twice: expected at least two "
                f"reviewers, got {', '.join(reviewers)}"
            )
        seconds = {}
        for i, row in enumerate(need_second.itertuples()):
            others = [r for r in reviewers if r != row.first_reviewer]
            seconds[row.case_id] = others[i % len(others)]
        rows = [(c, 1, r, stamp) for c, r in firsts.items()]
        rows += [(c, 2, r, stamp) for c, r in seconds.items()]
        con.executemany(
            "INSERT INTO assignments (round, case_id, review_slot, reviewer, assigned_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(round_no, *row) for row in rows],
        )
        audit(
            con,
            "assign",
            source,
            f"round {round_no}; reviewers {','.join(reviewers)}; {len(firsts)} first and "
            f"{len(seconds)} second reviews assigned",
        )
    stratum = units.set_index("case_id")["stratum"]
    df = pd.DataFrame(rows, columns=["case_id", "review_slot", "reviewer", "assigned_at"])
    df = df.drop(columns="assigned_at").assign(stratum=df["case_id"].map(stratum))
    return AssignmentResult(reviewers, df, len(firsts), len(seconds))


def assign_activated_reserve(
    con: sqlite3.Connection, reserve: str, replaces: str, stamp: str, round: int
) -> None:
    """Inside a transaction: give an activated reserve the reviewers of the case it replaces
    (the first reviewer; and the second if the reserve is to be reviewed twice)."""
    rows = con.execute(
        "SELECT review_slot, reviewer FROM assignments WHERE round = ? AND case_id = ? "
        "ORDER BY review_slot",
        (round, replaces),
    ).fetchall()
    by_slot = dict(rows)
    first = by_slot[1]
    insert = (
        "INSERT INTO assignments (round, case_id, review_slot, reviewer, assigned_at) "
        "VALUES (?, ?, ?, ?, ?)"
    )
    con.execute(insert, (round, reserve, 1, first, stamp))
    double = con.execute(
        "SELECT double_review FROM units WHERE round = ? AND case_id = ?", (round, reserve)
    ).fetchone()
    if double and double[0]:
        second = by_slot.get(2)
        if second is None:
            # the reviewer other than the first with the fewest second reviews
            row = con.execute(
                """SELECT r.name FROM reviewers r
                WHERE r.name != ? ORDER BY
                  (SELECT count(*) FROM assignments g WHERE g.round = ? AND g.reviewer = r.name
                     AND g.review_slot = 2), r.name LIMIT 1""",
                (first, round),
            ).fetchone()
            second = row[0] if row else None
        if second is not None:
            con.execute(insert, (round, reserve, 2, second, stamp))
