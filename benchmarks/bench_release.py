"""Benchmark: protecting and auditing a release the size of the national demo's.

The table set: ``tests/release_fixtures.synthetic_release(98)``, a seeded synthetic national
study (98 kommuner × 10 strata of sex × five origin groups, 11 atoms per stratum: about
10,800 atoms; seven counts and three rounded percentages for every stratum, sex and origin
margin, kommune, region and the nation: about 17,600 cells, 6,200 relations; primary:
counts 1–4, percentages on them and percentages on fewer than 30 assessed).

Timed, once each (a benchmark, not a test):

- building the table set (its checks included);
- ``audit`` of the primary pattern alone (what an intruder gets when nothing else is hidden);
- ``protect`` (the program per component, then audit rounds until no small count is left
  unprotected), and the final audit inside it;
- ``protect(method="greedy")`` for the cost comparison.

Figures are printed, not asserted. Run: ``.venv/bin/python benchmarks/bench_release.py
[n_kommuner]`` or ``benchmarks/run.py release``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the synthetic release

from release_fixtures import synthetic_release  # noqa: E402
from stikprove.release.audit import audit  # noqa: E402
from stikprove.release.suppression import protect  # noqa: E402


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main(n_kommuner: int = 98) -> dict:
    """Build, audit and protect the synthetic release; print and return the figures."""
    tables, build_s = _timed(synthetic_release, n_kommuner)
    print(
        f"synthetic release: {n_kommuner} kommuner, {tables.n_atoms} atoms, {tables.n_cells} "
        f"cells, {tables.relations.shape[0]} relations, {int(tables.primary.sum())} primary "
        f"({int((tables.primary & tables.sensitive()).sum())} small counts); "
        f"built in {build_s:.2f} s"
    )
    primary_audit, audit_s = _timed(audit, tables, tables.primary.copy())
    print(
        f"audit of the primary pattern: {audit_s:.2f} s, {len(primary_audit.unprotected)} of "
        f"{int(primary_audit.table['sensitive'].sum())} small counts unprotected"
    )
    protection, protect_s = _timed(protect, tables)
    print(f"protect: {protect_s:.2f} s; {protection}")
    greedy, greedy_s = _timed(protect, tables, method="greedy")
    print(f"protect, greedy rule: {greedy_s:.2f} s; {greedy}")
    hidden_by_table = {}
    for table in np.unique(tables.table):
        in_table = tables.table == table
        hidden_by_table[str(table)] = round(float(protection.suppressed[in_table].mean()), 3)
    return {
        "atoms": tables.n_atoms,
        "cells": tables.n_cells,
        "build_s": round(build_s, 2),
        "audit_primary_s": round(audit_s, 2),
        "protect_s": round(protect_s, 2),
        "protect_rounds": protection.rounds,
        "protect_status": protection.status,
        "suppressed": int(protection.suppressed.sum()),
        "secondary": int(protection.secondary.sum()),
        "cost": round(protection.cost, 1),
        "unprotected": len(protection.unprotected),
        "greedy_s": round(greedy_s, 2),
        "greedy_cost": round(greedy.cost, 1),
        "greedy_unprotected": len(greedy.unprotected),
    }


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
