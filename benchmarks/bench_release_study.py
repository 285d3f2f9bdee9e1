"""The protected release of a whole study: building, protecting and auditing it.

    .venv/bin/python benchmarks/bench_release_study.py [STUDY]

Without STUDY it builds the demo's national study (all 98 kommuner; about 20 s) under a
temporary folder (benchmarks/bench_reports.py's builder). It times the four steps of
:func:`stikprove.release.study_release` one by one on it: the raw tables (every estimate of
every kommune, region and the nation), the cells, the least-cost suppression with its audit
rounds, and a final audit, and prints the counts of cells, hidden cells and unprotected ones.
Target (issue 17): the national release protected and audited in at most 30 s on 2 cores.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def _steps(path: Path) -> dict:
    from stikprove.release.build import release_tables
    from stikprove.release.cells import cell_model
    from stikprove.release.release import KEY_GROUPS
    from stikprove.release.suppression import protect
    from stikprove.store import open_study

    figures: dict = {}
    start = time.perf_counter()
    study = open_study(path)
    protocol = study.protocol
    data = study.export()
    data["kommune_code"] = data["kommune_code"].astype(str)
    strata = study.strata()
    if "kommune_code" not in strata.columns:
        strata["kommune_code"] = strata["stratum"].map(
            data.groupby("stratum")["kommune_code"].first())  # fmt: skip
    indicators = [i.name for i in study.codebook.indicators if i.name in data.columns]
    scope = {i: study.codebook.indicator_scope(i, data, data.get("health_exempt")).to_numpy(bool)
             for i in indicators}  # fmt: skip
    tables = release_tables(
        data, strata, study.export_double_reviews(), study_id=study.study_id,
        strata_columns=study.strata_columns, indicators=indicators,
        threshold=protocol.disclosure_threshold, confidence_level=protocol.confidence_level,
        interval_method=protocol.interval_method, key_groups=KEY_GROUPS, scope=scope,
    )  # fmt: skip
    figures["tables_s"] = time.perf_counter() - start
    start = time.perf_counter()
    model = cell_model(tables)
    figures["cells_s"] = time.perf_counter() - start
    start = time.perf_counter()
    protection = protect(model.tables)
    figures["protect_s"] = time.perf_counter() - start
    start = time.perf_counter()
    from stikprove.release.audit import audit

    result = audit(model.tables, protection.suppressed)
    figures["audit_s"] = time.perf_counter() - start
    figures.update(
        cells=int(model.tables.n_cells), hidden=int(protection.suppressed.sum()),
        status=protection.status, rounds=protection.rounds,
        unprotected=int((~result.table["protected"]).sum()),
    )  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> dict:
    argv = [] if argv is None else argv  # run.py calls main() with none
    with tempfile.TemporaryDirectory() as tmp:
        if argv:
            path = Path(argv[0])
        else:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from bench_reports import national_study

            path = national_study(Path(tmp))
        figures = _steps(path)
    total = sum(v for k, v in figures.items() if k.endswith("_s"))
    print(f"release of {path.name}: {figures['cells']} cells, {figures['hidden']} hidden, "
          f"{figures['unprotected']} unprotected after {figures['rounds']} round(s) "
          f"({figures['status']})")  # fmt: skip
    for key in ("tables_s", "cells_s", "protect_s", "audit_s"):
        print(f"  {key[:-2]:<8} {figures[key]:7.1f} s")
    print(f"  total    {total:7.1f} s (target 30 s on 2 cores)")
    return figures


if __name__ == "__main__":
    main(sys.argv[1:])
