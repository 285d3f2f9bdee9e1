"""A small DrawnSample-shaped object for the store tests (docs/CONTRACTS.md), and helpers.

The store takes a sample through its attributes only, so a frozen dataclass with
``units``, ``strata``, ``metadata`` and ``protocol_text`` stands in for sampling.DrawnSample.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

_PROTOCOL_KEYS: dict[str, dict[str, str]] = {
    "study": {"id": '"test-study"', "title": '"Testundersøgelse"', "seed": "20261120"},
    "frame": {"path": '"frame.csv"'},
    "strata": {"columns": '["kommune_code", "sex", "origin"]'},
    "precision": {"indicator": '"too_ill"', "anticipated": "0.2"},
    "budget": {"max_reviews": "13", "minutes_per_review": "30"},
    "review": {"double_review_fraction": "0.2"},
}


def protocol_text(**sections: dict[str, str | None]) -> str:
    """A whole protocol (one the protocol module reads) for the test studies, stratified as
    :data:`STRATA`; ``sections`` add or change keys, each value written as TOML (``None``
    leaves the key out), e.g. ``protocol_text(review={"disclosure_threshold": "10"})``."""
    lines = []
    for section in dict.fromkeys([*_PROTOCOL_KEYS, *sections]):
        keys = {**_PROTOCOL_KEYS.get(section, {}), **sections.get(section, {})}
        lines += [f"[{section}]", *(f"{k} = {v}" for k, v in keys.items() if v is not None), ""]
    return "\n".join(lines)


PROTOCOL_TEXT = protocol_text()

# stratum key -> (kommune_code, sex, origin, N_h, n_h)
STRATA = {
    "461|kvinde|indvandrer_ikke_vestlig": ("461", "kvinde", "indvandrer_ikke_vestlig", 20, 6),
    "461|mand|dansk_oprindelse": ("461", "mand", "dansk_oprindelse", 12, 4),
    "825|kvinde|dansk_oprindelse": ("825", "kvinde", "dansk_oprindelse", 3, 3),
}

ELIGIBLE_ENTRY = {
    "eligible": "ja",
    "ineligible_reason": None,
    "health_assessment": "for_syg",
    "recommended_track": "uaendret",
    "effort_last_12_months": "ingen",
    "evidence": "journal",
    "new_certificate_requested": "nej",
    "confidence": "sikker",
    "review_date": "2026-11-20",
    "note": None,
}
INELIGIBLE_ENTRY = {
    "eligible": "nej",
    "ineligible_reason": "fraflyttet",
    "health_assessment": None,
    "recommended_track": None,
    "effort_last_12_months": None,
    "evidence": None,
    "new_certificate_requested": None,
    "confidence": None,
    "review_date": "2026-11-20",
    "note": None,
}


@dataclass(frozen=True)
class FakeSample:
    units: pd.DataFrame
    strata: pd.DataFrame
    metadata: dict = field(default_factory=dict)
    protocol_text: str = PROTOCOL_TEXT


def make_sample(
    strata: dict | None = None,
    seed: int = 1,
    double_every: int = 4,
    protocol_text: str = PROTOCOL_TEXT,
    extra_columns: bool = False,
) -> FakeSample:
    """Units in draw order per stratum; every ``double_every``-th sampled case double-reviewed."""
    strata = strata or STRATA
    rng = np.random.default_rng(seed)
    rows, srows = [], []
    serial = 0
    for key, (code, sex, origin, big_n, n) in strata.items():
        srows.append(
            {"stratum": key, "kommune_code": code, "sex": sex, "origin": origin,
             "population_size": big_n, "sample_size": n}
        )  # fmt: skip
        for order in range(1, big_n + 1):
            serial += 1
            role = "sample" if order <= n else "reserve"
            row = {
                "case_id": f"c{serial:04d}",
                "stratum": key,
                "kommune_code": code,
                "sex": sex,
                "origin": origin,
                "health_exempt": bool(serial % 2),
                "draw_order": order,
                "role": role,
                "inclusion_probability": n / big_n,
                "weight": big_n / n,
                "double_review": role == "sample" and order % double_every == 0,
                "prn": float(rng.uniform(0.001, 0.999)),
            }
            if extra_columns:
                row["age"] = 30 + serial % 30
            rows.append(row)
    metadata = {
        "study_id": "test-study",
        "round": 1,
        "seed": 20261120,
        "protocol_fingerprint": hashlib.sha256(protocol_text.encode()).hexdigest(),
        "frame_fingerprint": "f" * 64,
        "package_version": "0.1.0",
        "drawn_at": "2026-11-20T10:00:00+00:00",
        "coordination": None,
    }
    return FakeSample(pd.DataFrame(rows), pd.DataFrame(srows), metadata, protocol_text)


def tamper_protocol(study, text: str, round: int = 1) -> None:
    """Overwrite the protocol text a study stores for ``round`` behind the store's back (as
    an editor of the SQLite file, or a damaged copy, could): what ``study.protocol`` must
    refuse to read with a default."""
    import sqlite3

    con = sqlite3.connect(study.path)
    with con:
        con.execute("UPDATE rounds SET protocol_text = ? WHERE round = ?", (text, round))
    con.close()


def make_study(tmp_path: Path, reviewers=("anna", "bo"), **kwargs):
    """A fresh study store from :func:`make_sample`, assigned to ``reviewers``."""
    from stikprove.store import create_study

    return create_study(tmp_path / "study.sqlite", make_sample(**kwargs), reviewers=reviewers)


TODAY = date(2026, 11, 25)
"""The day the review checks take as today where a test passes it (``today=TODAY``); the
suite's clock (tests/conftest.py) starts on it and never runs earlier, so a date before it is
in the past whatever the clock says."""


def yesterday() -> str:
    """The review date of the fixtures' entries: the day before :data:`TODAY` (injected, never
    read from the machine's clock)."""
    return (TODAY - timedelta(days=1)).isoformat()


def write_entries_csv(path: Path, entries: list[dict]) -> Path:
    """A worklist-like CSV: case_id plus codebook fields (and reason when given)."""
    pd.DataFrame(entries).to_csv(path, index=False)
    return path


def entry(case_id: str, ineligible: bool = False, **changes) -> dict:
    base = INELIGIBLE_ENTRY if ineligible else ELIGIBLE_ENTRY
    return {"case_id": case_id, **base, "review_date": yesterday(), **changes}


def next_round(sample: FakeSample, round: int = 2) -> FakeSample:
    """The same frame drawn again as round ``round``: every case keeps its id (so ids repeat
    across rounds) but each stratum's list is in reverse order, so the sample differs."""
    units = sample.units.copy()
    sizes = sample.strata.set_index("stratum")
    big_n = units["stratum"].map(sizes["population_size"])
    units["draw_order"] = big_n - units["draw_order"] + 1
    units["role"] = (units["draw_order"] <= units["stratum"].map(sizes["sample_size"])).map(
        {True: "sample", False: "reserve"}
    )
    units["double_review"] = False
    units = units.sort_values(["stratum", "draw_order"]).reset_index(drop=True)
    metadata = {**sample.metadata, "round": round, "drawn_at": "2026-12-01T10:00:00+00:00"}
    return FakeSample(units, sample.strata.copy(), metadata, sample.protocol_text)


def make_v1_store(path: Path) -> Path:
    """A study store as stikprove wrote it at schema version 1 (one round; raw SQL): the
    units of :func:`make_sample`, anna and bo, every sampled case assigned (first reviewer
    alternating; c0004 also to anna as second reviewer), an eligible entry of c0001 by anna
    corrected once, c0002 found ineligible by bo and replaced by reserve c0007."""
    import json
    import os
    import sqlite3

    from stikprove.codebook import default_codebook
    from stikprove.store.schema import APPLICATION_ID, _migrate_to_1

    sample = make_sample()
    codebook = default_codebook()
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("BEGIN")
    _migrate_to_1(con, codebook)
    con.execute("PRAGMA user_version = 1")
    stamp = "2026-11-20T10:00:00+00:00"
    unit_columns = [str(c) for c in sample.units.columns]
    meta = {
        "application": "stikprove study store", "schema_version": "1",
        "study_id": "test-study", "codebook_text": codebook.text,
        "codebook_fingerprint": codebook.fingerprint,
        "protocol_fingerprint": sample.metadata["protocol_fingerprint"],
        "frame_fingerprint": "f" * 64,
        "strata_columns": json.dumps(["kommune_code", "sex", "origin"]),
        "worklist_fields": "[]", "unit_columns": json.dumps(unit_columns),
        "strata_table_columns": json.dumps([str(c) for c in sample.strata.columns]),
        "created_at": stamp,
    }  # fmt: skip
    con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    con.execute("INSERT INTO rounds VALUES (1, ?, ?, ?, ?, ?)",
                (sample.protocol_text, meta["protocol_fingerprint"], "f" * 64,
                 json.dumps(sample.metadata), stamp))  # fmt: skip
    for rec in sample.strata.to_dict("records"):
        attrs = {c: rec[c] for c in ("kommune_code", "sex", "origin")}
        con.execute("INSERT INTO strata VALUES (?, ?, ?, ?)",
                    (rec["stratum"], rec["population_size"], rec["sample_size"],
                     json.dumps(attrs)))  # fmt: skip
    for rec in sample.units.to_dict("records"):
        con.execute(
            "INSERT INTO units VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            (rec["case_id"], rec["stratum"], rec["kommune_code"], int(rec["health_exempt"]),
             rec["draw_order"], rec["role"], rec["inclusion_probability"], rec["weight"],
             int(rec["double_review"]), rec["prn"],
             json.dumps({"sex": rec["sex"], "origin": rec["origin"]})),
        )  # fmt: skip
    con.executemany("INSERT INTO reviewers VALUES (?, ?)", [("anna", stamp), ("bo", stamp)])
    sampled = sample.units[sample.units["role"] == "sample"]["case_id"].tolist()
    for i, case in enumerate(sampled):
        con.execute("INSERT INTO assignments VALUES (?, 1, ?, ?)",
                    (case, ("anna", "bo")[i % 2], stamp))  # fmt: skip
    con.execute("INSERT INTO assignments VALUES ('c0004', 2, 'anna', ?)", (stamp,))
    names = codebook.field_names
    cols = ", ".join(f'"{f}"' for f in names)
    marks = ", ".join("?" * len(names))

    def assess(case, reviewer, version, values, supersedes=None, reason=None):
        con.execute(
            f"INSERT INTO assessments (case_id, reviewer, version, {cols}, supersedes, reason, "
            f"entered_at, source) VALUES (?, ?, ?, {marks}, ?, ?, ?, 'v1 test')",
            (case, reviewer, version, *(values[f] for f in names), supersedes, reason, stamp),
        )
        return con.execute("SELECT last_insert_rowid()").fetchone()[0]

    first = assess("c0001", "anna", 1, ELIGIBLE_ENTRY)
    assess("c0001", "anna", 2, {**ELIGIBLE_ENTRY, "health_assessment": "kan_med_skaanehensyn"},
           supersedes=first, reason="tastefejl")  # fmt: skip
    assess("c0002", "bo", 1, INELIGIBLE_ENTRY)
    con.execute("INSERT INTO activations VALUES ('c0007', 'c0002', ?)", (stamp,))
    con.execute("INSERT INTO assignments VALUES ('c0007', 1, 'bo', ?)", (stamp,))
    con.execute("COMMIT")
    con.close()
    return path
