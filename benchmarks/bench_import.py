"""Benchmark: importing 10,000 assessments into a study store (target: under 2 seconds).

A synthetic study with 10,000 sampled cases (50 strata of 200, with reserves) assigned to four
reviewers; each reviewer's filled worklist (2,500 rows, about 5 % ineligible, which activates
reserves) is imported. Timed, one run each (a benchmark, not a test):

- ``import_assessments`` of the four CSV worklists (10,000 rows in all; total time);
- the same from .xlsx worklists (the size check of stikprove.tables and python-calamine's
  reading included);
- re-importing the CSVs (idempotent: every row unchanged, nothing written);
- refusing an xlsx whose sheet declares one cell at row 50,000,000 (before the size check
  existed: 49 s, 5.6 GB and a MemoryError).

Store creation and file writing are not timed.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.recording import import_assessments
from stikprove.store import create_study

N_STRATA = 50
SAMPLED_PER_STRATUM = 200
RESERVES_PER_STRATUM = 100
REVIEWERS = ("anna", "bo", "carl", "dorte")


PROTOCOL_TEXT = """\
[study]
id = "bench"
title = "Import benchmark"
seed = 1

[frame]
path = "frame.csv"

[strata]
columns = ["kommune_code"]

[precision]
indicator = "too_ill"
anticipated = 0.2

[budget]
max_reviews = 1000
minutes_per_review = 30
"""
"""A whole protocol (the store keeps only one its readers can read); its strata are not the
benchmark's groups, which no reader of this study asks for."""


@dataclass(frozen=True)
class _Sample:
    units: pd.DataFrame
    strata: pd.DataFrame
    metadata: dict
    protocol_text: str


def _sample(seed: int = 1) -> _Sample:
    rng = np.random.default_rng(seed)
    big_n = SAMPLED_PER_STRATUM + RESERVES_PER_STRATUM
    rows, strata = [], []
    for h in range(N_STRATA):
        key = f"461|s{h:02d}"
        strata.append({"stratum": key, "kommune_code": "461", "group": f"s{h:02d}",
                       "population_size": big_n, "sample_size": SAMPLED_PER_STRATUM})  # fmt: skip
        for order in range(1, big_n + 1):
            rows.append({
                "case_id": f"k{h:02d}-{order:04d}", "stratum": key, "kommune_code": "461",
                "group": f"s{h:02d}", "health_exempt": bool(order % 2), "draw_order": order,
                "role": "sample" if order <= SAMPLED_PER_STRATUM else "reserve",
                "inclusion_probability": SAMPLED_PER_STRATUM / big_n,
                "weight": big_n / SAMPLED_PER_STRATUM, "double_review": False,
                "prn": float(rng.uniform()),
            })  # fmt: skip
    metadata = {"study_id": "bench", "round": 1, "frame_fingerprint": "0" * 64,
                "strata_columns": ["kommune_code", "group"]}  # fmt: skip
    return _Sample(pd.DataFrame(rows), pd.DataFrame(strata), metadata, PROTOCOL_TEXT)


def _entries(cases: list[str], rng: np.random.Generator) -> pd.DataFrame:
    day = (date.today() - timedelta(days=1)).isoformat()
    n = len(cases)
    ineligible = rng.uniform(size=n) < 0.05
    pick = lambda codes: rng.choice(codes, size=n)  # noqa: E731
    df = pd.DataFrame({
        "case_id": cases,
        "eligible": np.where(ineligible, "nej", "ja"),
        "ineligible_reason": np.where(ineligible, "fraflyttet", None),
        "health_assessment": pick(["for_syg", "kan_med_skaanehensyn",
                                   "ingen_vaesentlig_barriere", "kan_ikke_vurderes"]),
        "recommended_track": pick(["uaendret", "ressourceforloeb", "jobparat"]),
        "effort_last_12_months": pick(["tilbud", "mentor", "begge", "ingen", "ukendt"]),
        "evidence": pick(["LAE265", "journal", "samtale"]),
        "new_certificate_requested": pick(["ja", "nej"]),
        "confidence": pick(["sikker", "nogen_tvivl"]),
        "review_date": day,
        "note": None,
    })  # fmt: skip
    eligible_only = ["health_assessment", "recommended_track", "effort_last_12_months",
                     "evidence", "new_certificate_requested", "confidence"]  # fmt: skip
    df.loc[ineligible, eligible_only] = None
    return df


def _run(fmt: str, folder: Path) -> dict[str, float]:
    study = create_study(folder / f"bench-{fmt}.sqlite", _sample(), reviewers=REVIEWERS)
    rng = np.random.default_rng(2)
    files = {}
    for reviewer in REVIEWERS:
        cases = study.open_cases(reviewer)["case_id"].tolist()
        table = _entries(cases, rng)
        path = folder / f"{reviewer}.{fmt}"
        if fmt == "csv":
            table.to_csv(path, index=False)
        else:
            table.to_excel(path, sheet_name="Sager", index=False)
        files[reviewer] = path
    start = time.perf_counter()
    results = [import_assessments(study, files[r], r) for r in REVIEWERS]
    elapsed = time.perf_counter() - start
    rows = sum(len(r.new) for r in results)
    out = {"rows": rows, "seconds": elapsed,
           "activations": sum(len(r.activations) for r in results)}  # fmt: skip
    if fmt == "csv":
        start = time.perf_counter()
        again = [import_assessments(study, files[r], r) for r in REVIEWERS]
        out["reimport_seconds"] = time.perf_counter() - start
        assert sum(len(r.unchanged) for r in again) == rows
    return out


def _absurd(folder: Path) -> float:
    """Seconds to refuse a worklist whose sheet holds one cell at row 50,000,000."""
    import io
    import zipfile

    from stikprove.errors import StoreError

    study = create_study(folder / "absurd.sqlite", _sample(), reviewers=REVIEWERS)
    path = folder / "absurd.xlsx"
    _entries(study.open_cases("anna")["case_id"].tolist()[:5], np.random.default_rng(3)).to_excel(
        path, sheet_name="Sager", index=False
    )
    target = io.BytesIO()
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                cell = (b'<row r="50000000"><c r="A50000000" t="inlineStr">'
                        b"<is><t>x</t></is></c></row>")  # fmt: skip
                data = data.replace(b"</sheetData>", cell + b"</sheetData>")
            new.writestr(item, data)
    path.write_bytes(target.getvalue())
    start = time.perf_counter()
    try:
        import_assessments(study, path, "anna")
    except StoreError:
        return time.perf_counter() - start
    raise AssertionError("the absurd worklist was imported")


def main() -> dict:
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("csv", "xlsx"):
            folder = Path(tmp) / fmt
            folder.mkdir()
            figures[fmt] = _run(fmt, folder)
        figures["absurd_xlsx_refused_seconds"] = _absurd(Path(tmp))
    print("import of 10,000 assessments (4 reviewers × 2,500 rows; target < 2 s)")
    for fmt, f in figures.items():
        if not isinstance(f, dict):
            continue
        extra = f"; re-import {f['reimport_seconds']:.2f} s" if "reimport_seconds" in f else ""
        print(f"  {fmt:4s}: {f['rows']:6d} rows in {f['seconds']:.2f} s "
              f"({f['rows'] / f['seconds']:,.0f} rows/s), {f['activations']} reserves "
              f"activated{extra}")  # fmt: skip
    print(f"  an xlsx declaring a cell at row 50,000,000 refused in "
          f"{figures['absurd_xlsx_refused_seconds']:.3f} s")  # fmt: skip
    return figures


if __name__ == "__main__":
    main()
