"""The cells of a release as an intruder sees them: every published number as a linear function
of per-stratum counts, with the relations that tie the tables together.

:func:`cell_model` turns the raw tables of a release (:class:`~stikprove.release.build.
ReleaseTables`) into a :class:`~stikprove.release.linear.LinearTableSet` and a locator table
that says, for every cell, which table, row and columns it stands for (so that a hidden cell
hides exactly those values).

The atoms (the unknowns) are, per stratum: ``N`` (population size), ``n`` (planned sample
size), ``reserves`` (activated reserves), ``done`` (reviewed), ``ineligible`` and, per
indicator, ``m:<indicator>`` (cases with an outcome), ``y:<indicator>`` (cases with the
outcome) and ``miss:<indicator>`` (cases of its population without an outcome); per
kommune, ``pairs`` and ``agree`` (double reviews, agreeing ones).

Four kinds of cell:

- **shown counts** (design N and n, progress taken/done/remaining, an estimate's n, the
  nonresponse bounds' n_missing, the agreement's n_pairs): published exactly;
- **shown proportions** (an estimate, a sampling fraction, a share done, a percentage of
  agreement): published rounded to :data:`~stikprove.release.build.ROUND_PROPORTION`
  decimals, so known to the intruder within half a unit of the last digit. A proportion of
  one stratum is the ratio of two counts (events / cases with an outcome); a proportion over
  several strata is the ratio Σ_h w_h y_h / Σ_h w_h m_h with the weights w_h = N_h/m_h
  taken with the true m_h as known (an intruder who knows more, never less, than the reader:
  the audit errs on the safe side);
- **derived counts** that no table shows but a reader computes: the cases with and without
  the outcome behind a percentage, the activated reserves (taken − n), the reviewed cases
  without an outcome (done − n), the pairs that disagree. They are never published, so they
  give the audit no constraint; a small one is a primary cell that the suppression must
  protect through its relations;
- **structure**: what anyone knows of the counts (events ≤ cases with an outcome ≤ reviewed
  − ineligible, reviewed ≤ taken ≤ N, agreeing pairs ≤ pairs), never hidden.

Written by hand: the model is this package's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from stikprove.release import disclosure as dc
from stikprove.release.build import ROUND_PROPORTION, ReleaseTables

__all__ = ["CellModel", "cell_model"]

HALF_UNIT = 0.5 * 10.0 ** (-ROUND_PROPORTION)

COST_TOTAL = {"nation": 10_000.0, "region": 2_000.0, "kommune": 300.0}
"""Cost of hiding a level's total (all cases) estimate: the suppression keeps them."""
COST_KEY = 150.0
"""Cost of hiding a key group's estimate (the protocol's key domains)."""
COST_MARGIN = 40.0
"""Cost of hiding a sex or origin margin."""
LEVEL_WEIGHT = {"kommune": 1.0, "region": 3.0, "nation": 10.0}
"""Hiding a figure of a region or the nation costs more than a kommune's: more read it."""


@dataclass(frozen=True)
class CellModel:
    """A release's cells (``tables``, the engines' input) and where each sits.

    ``locator`` has one row per cell: cell_id, table (design, progress, estimates, bounds,
    agreement, derived, structure), row (index into that raw table, -1 for derived and
    structure cells), columns (tuple of the columns the cell's hiding blanks), kind (count,
    proportion, derived, structure)."""

    tables: object  # LinearTableSet
    locator: pd.DataFrame = field(repr=False)


class _Builder:
    """Collects atoms, cells and relations; written once per release."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.atom_index: dict[tuple, int] = {}
        self.atom_values: list[int] = []
        self.rows: list[dict] = []
        self.num: list[dict[int, float]] = []
        self.den: list[dict[int, float]] = []
        self.relations: list[dict[int, float]] = []
        self.next_group = 0

    def atom(self, key: tuple, value: int) -> int:
        if key not in self.atom_index:
            self.atom_index[key] = len(self.atom_values)
            self.atom_values.append(int(value))
        return self.atom_index[key]

    def group(self) -> int:
        self.next_group += 1
        return self.next_group - 1

    def cell(self, cell_id: str, table: str, row: int, columns: tuple, kind: str,
             num: dict[int, float], value: float, *, den: dict[int, float] | None = None,
             cost: float = 1.0, group: int = -1, primary: bool | None = None,
             published: tuple[float, float] | None = None) -> int:  # fmt: skip
        t = self.threshold
        if kind == "structure":  # a difference of counts known to be ≥ 0: its true value
            value = float(sum(c * self.atom_values[j] for j, c in num.items()))
        if kind in ("count", "derived"):
            small = 1 <= value < t
            primary = small if primary is None else (primary or small)
        else:
            primary = bool(primary)
        if published is None:
            if kind == "count":
                published = (value, value)
            elif kind == "proportion":
                if np.isfinite(value):
                    shown = round(float(value), ROUND_PROPORTION)
                    published = (shown - HALF_UNIT, shown + HALF_UNIT)
                else:
                    published = (-np.inf, np.inf)
            elif kind == "derived":
                published = (-np.inf, np.inf)
            else:
                published = (0.0, np.inf)
        self.rows.append({
            "cell_id": cell_id, "table": table, "row": row, "columns": columns, "kind": kind,
            "value": float(value), "published_low": float(published[0]),
            "published_high": float(published[1]),
            "is_count": kind in ("count", "derived", "structure"),
            "primary": bool(primary), "cost": 0.0 if kind == "derived" else float(cost),
            "forced_shown": kind == "structure", "group": group,
        })  # fmt: skip
        self.num.append(num)
        self.den.append(den or {})
        return len(self.rows) - 1

    def relate(self, members: dict[int, float]) -> None:
        members = {k: v for k, v in members.items() if v != 0}
        if len(members) > 1:
            self.relations.append(members)


def _matrix(rows: list[dict[int, float]], width: int) -> sparse.csr_matrix:
    r, c, v = [], [], []
    for i, row in enumerate(rows):
        for j, value in row.items():
            r.append(i)
            c.append(j)
            v.append(value)
    return sparse.csr_matrix((v, (r, c)), shape=(len(rows), width), dtype=float)


def _count_cost(value: float) -> float:
    return 1.0 + float(np.log1p(max(value, 0.0)))


def cell_model(release: ReleaseTables) -> CellModel:
    """The release's cells, atoms and relations (see the module docstring)."""
    from stikprove.release.linear import LinearTableSet

    b = _Builder(release.threshold)
    atoms = release.atoms.reset_index(drop=True)
    by = [c for c in release.strata_columns if c not in ("kommune_code", "stratum")]
    stratum_row = {s: i for i, s in enumerate(atoms["stratum"])}
    quantities = [c for c in atoms.columns
                  if c not in ("stratum", "kommune_code", "region", *by)]  # fmt: skip
    counts = atoms[quantities].to_numpy(dtype=np.int64)
    for i, stratum in enumerate(atoms["stratum"]):
        for j, quantity in enumerate(quantities):
            b.atom((stratum, quantity), counts[i, j])
    column = {q: j for j, q in enumerate(quantities)}

    def a(stratum: str, quantity: str) -> int:
        return stratum_row[stratum] * len(quantities) + column[quantity]

    def count(stratum: str, quantity: str) -> int:
        return int(counts[stratum_row[stratum], column[quantity]])

    # ---- design and progress (one group per row: its counts and fraction go together)
    design_n: dict[str, int] = {}
    for i, row in release.design.iterrows():
        s = row["stratum"]
        g = b.group()  # n and the fraction n/N go together; N can stand alone
        b.cell(f"design:{s}:N", "design", i, ("population_size", "sampling_fraction"),
                    "count", {a(s, "N"): 1.0}, row["population_size"],
                    cost=_count_cost(row["population_size"]) + 2)  # fmt: skip
        design_n[s] = b.cell(f"design:{s}:n", "design", i, ("sample_size",), "count",
                             {a(s, "n"): 1.0}, row["sample_size"],
                             cost=_count_cost(row["sample_size"]), group=g)  # fmt: skip
        if row["population_size"] > 0:
            b.cell(f"design:{s}:f", "design", i, ("sampling_fraction",), "proportion",
                   {a(s, "n"): 1.0}, row["sampling_fraction"], den={a(s, "N"): 1.0},
                   group=g)  # fmt: skip
        b.cell(f"structure:{s}:N-taken", "structure", -1, (), "structure",
               {a(s, "N"): 1.0, a(s, "n"): -1.0, a(s, "reserves"): -1.0}, 0.0)  # fmt: skip

    done_cell: dict[str, int] = {}
    for i, row in release.progress.iterrows():
        s = row["stratum"]
        g = b.group()  # done and the share done go together
        taken = {a(s, "n"): 1.0, a(s, "reserves"): 1.0}
        t = b.cell(f"progress:{s}:taken", "progress", i, ("taken", "share_done"), "count",
                   taken, row["taken"], cost=_count_cost(row["taken"]))  # fmt: skip
        d = b.cell(f"progress:{s}:done", "progress", i, ("done", "share_done"), "count",
                   {a(s, "done"): 1.0}, row["done"], cost=_count_cost(row["done"]),
                   group=g)  # fmt: skip
        r = b.cell(f"progress:{s}:remaining", "progress", i, ("remaining",), "count",
                   {**taken, a(s, "done"): -1.0}, row["remaining"],
                   cost=_count_cost(row["remaining"]))  # fmt: skip
        if row["taken"] > 0:
            b.cell(f"progress:{s}:share", "progress", i, ("share_done",), "proportion",
                   {a(s, "done"): 1.0}, row["share_done"], den=taken, group=g)  # fmt: skip
        b.relate({t: 1.0, d: -1.0, r: -1.0})
        done_cell[s] = d
        reserves = b.cell(f"derived:{s}:reserves", "derived", -1, (), "derived",
                          {a(s, "reserves"): 1.0}, row["taken"] - count(s, "n"))
        if s in design_n:
            b.relate({t: 1.0, design_n[s]: -1.0, reserves: -1.0})
        b.cell(f"structure:{s}:taken-done", "structure", -1, (), "structure",
               {**taken, a(s, "done"): -1.0}, 0.0)  # fmt: skip
        b.cell(f"structure:{s}:done-ineligible", "structure", -1, (), "structure",
               {a(s, "done"): 1.0, a(s, "ineligible"): -1.0}, 0.0)  # fmt: skip

    # ---- estimates
    est = release.estimates.reset_index(drop=True)
    keys = ["kommune_code", "region", "sex", "origin"]
    strata_keys = atoms[["stratum", "kommune_code", "region", *by]].astype(str)
    present = [k for k in keys if k in strata_keys.columns]
    patterns: dict[tuple, list[str]] = {}
    for record in strata_keys.itertuples(index=False):
        values = [getattr(record, k) for k in present]
        for mask in range(2 ** len(present)):
            key = tuple(v if mask >> j & 1 else None for j, v in enumerate(values))
            patterns.setdefault(key, []).append(record.stratum)

    def strata_of(row) -> list[str]:
        key = tuple(None if pd.isna(row[k]) else str(row[k]) for k in present)
        return patterns.get(key, [])

    n_cells: dict[tuple, int] = {}
    y_cells: dict[tuple, int] = {}
    for i, row in zip(est.index, est.to_dict("records"), strict=True):
        ind = row["indicator"]
        members = strata_of(row)
        m = {a(s, f"m:{ind}"): 1.0 for s in members}
        y = {a(s, f"y:{ind}"): 1.0 for s in members}
        dom = (ind, row["level"], *(None if pd.isna(row[k]) else str(row[k]) for k in keys))
        label = ":".join("*" if v is None else v for v in dom)
        total = pd.isna(row["sex"]) and pd.isna(row["origin"])
        margin = pd.isna(row["sex"]) != pd.isna(row["origin"])
        cost = (COST_TOTAL[row["level"]] if total else COST_MARGIN if margin
                else COST_KEY if row["key"] else 5.0) * LEVEL_WEIGHT[row["level"]]  # fmt: skip
        g = b.group()
        nc = b.cell(f"estimates:{label}:n", "estimates", i, ("n",), "count", m, row["n"],
                    cost=_count_cost(row["n"]) + cost / 10)  # fmt: skip
        if len(members) == 1:
            num, den = y, m
        else:  # Σ w y / Σ w m with w = N_h/m_h: the domain's weighted estimate
            weights = {s: count(s, "N") / count(s, f"m:{ind}")
                       for s in members if count(s, f"m:{ind}") > 0}
            num = {a(s, f"y:{ind}"): w for s, w in weights.items()}
            den = {a(s, f"m:{ind}"): w for s, w in weights.items()}
        if np.isfinite(row["estimate"]) and num:
            b.cell(f"estimates:{label}:estimate", "estimates", i, dc.ESTIMATE_VALUE_COLUMNS,
                   "proportion", num, row["estimate"], den=den, cost=cost, group=g)  # fmt: skip
        events = b.cell(f"estimates:{label}:events", "derived", i, (), "derived", y,
                        row["events"], group=g)  # fmt: skip
        nonevents = b.cell(f"estimates:{label}:nonevents", "derived", i, (), "derived",
                           {k: 1.0 for k in m} | {k: -1.0 for k in y},
                           row["n"] - row["events"])  # fmt: skip
        b.relate({nc: 1.0, events: -1.0, nonevents: -1.0})
        n_cells[dom] = nc
        y_cells[dom] = events
        if row["level"] == "kommune" and len(members) == 1 and not total and not margin:
            s = members[0]
            wo = b.cell(f"derived:{s}:{ind}:without-outcome", "derived", -1, (), "derived",
                        {a(s, "done"): 1.0, a(s, f"m:{ind}"): -1.0},
                        count(s, "done") - row["n"])  # fmt: skip
            if s in done_cell:
                b.relate({done_cell[s]: 1.0, nc: -1.0, wo: -1.0})
            b.cell(f"structure:{s}:{ind}:m-y", "structure", -1, (), "structure",
                   {k: 1.0 for k in m} | {k: -1.0 for k in y}, 0.0)  # fmt: skip
            b.cell(f"structure:{s}:{ind}:eligible-m", "structure", -1, (), "structure",
                   {a(s, "done"): 1.0, a(s, "ineligible"): -1.0, a(s, f"m:{ind}"): -1.0}, 0.0)
            b.cell(f"structure:{s}:{ind}:taken-m-missing", "structure", -1, (), "structure",
                   {a(s, "n"): 1.0, a(s, "reserves"): 1.0, a(s, "ineligible"): -1.0,
                    a(s, f"m:{ind}"): -1.0, a(s, f"miss:{ind}"): -1.0}, 0.0)  # fmt: skip

    _hierarchy(b, n_cells)
    _hierarchy(b, y_cells)

    # ---- nonresponse bounds: n_missing with the two bounds
    bounds = release.bounds.reset_index(drop=True)
    missing_cells: dict[tuple, int] = {}
    for i, row in bounds.iterrows():
        ind = row["indicator"]
        code = None if pd.isna(row["kommune_code"]) else str(row["kommune_code"])
        members = (strata_keys.loc[strata_keys["kommune_code"] == code, "stratum"].tolist()
                   if code else strata_keys["stratum"].tolist())  # fmt: skip
        num = {a(s, f"miss:{ind}"): 1.0 for s in members}
        missing_cells[(ind, code)] = b.cell(
            f"bounds:{ind}:{code or '*'}:n_missing", "bounds", i,
            ("n_missing", "estimate_missing_as_0", "estimate_missing_as_1"), "count", num,
            row["n_missing"], cost=_count_cost(row["n_missing"]) + (100 if code is None else 5),
        )  # fmt: skip
    for ind in release.indicators:
        parts = {c: -1.0 for (i, code), c in missing_cells.items() if i == ind and code}
        if (ind, None) in missing_cells:
            b.relate({missing_cells[(ind, None)]: 1.0, **parts})

    # ---- agreement
    agreement = release.agreement.reset_index(drop=True)
    pair_cells, agree_cells = {}, {}
    for i, row in agreement.iterrows():
        code = None if pd.isna(row["kommune_code"]) else str(row["kommune_code"])
        codes = [code] if code else [str(c) for c in agreement["kommune_code"].dropna()]
        pairs = {b.atom(("pairs", c), agreement.loc[agreement["kommune_code"] == c,
                                                    "n_pairs"].iloc[0]): 1.0 for c in codes}
        agree = {b.atom(("agree", c), agreement.loc[agreement["kommune_code"] == c,
                                                    "n_agree"].iloc[0]): 1.0 for c in codes}
        g = b.group()
        label = code or "*"
        pc = b.cell(f"agreement:{label}:n_pairs", "agreement", i,
                    ("n_pairs", "percent_agreement", "kappa", "ci_low", "ci_high"), "count",
                    pairs, row["n_pairs"], cost=_count_cost(row["n_pairs"]), group=g)  # fmt: skip
        if row["n_pairs"] > 0 and np.isfinite(row["percent_agreement"]):
            b.cell(f"agreement:{label}:percent", "agreement", i, ("percent_agreement",),
                   "proportion", agree, row["percent_agreement"] / 100.0, den=pairs, group=g)
        ac = b.cell(f"agreement:{label}:agree", "derived", i, (), "derived", agree,
                    row["n_agree"], group=g)  # fmt: skip
        dis = b.cell(f"agreement:{label}:disagree", "derived", i, (), "derived",
                     {**pairs, **{k: -1.0 for k in agree}}, row["n_pairs"] - row["n_agree"])
        b.relate({pc: 1.0, ac: -1.0, dis: -1.0})
        if code:
            b.cell(f"structure:{code}:pairs-agree", "structure", -1, (), "structure",
                   {**pairs, **{k: -1.0 for k in agree}}, 0.0)  # fmt: skip
        pair_cells[code] = pc
        agree_cells[code] = ac
    for cells in (pair_cells, agree_cells):
        if None in cells:
            b.relate({cells[None]: 1.0, **{c: -1.0 for k, c in cells.items() if k}})

    _identities(b)
    locator = pd.DataFrame(b.rows)
    width = len(b.atom_values)
    values = np.asarray(b.atom_values, dtype=np.int64)
    tables = LinearTableSet(
        atom_values=values,
        atom_upper=np.full(width, np.inf),
        cell_id=locator["cell_id"].to_numpy(dtype=object),
        table=locator["table"].to_numpy(dtype=object),
        numerator=_matrix(b.num, width),
        denominator=_matrix(b.den, width),
        value=locator["value"].to_numpy(dtype=float),
        published_low=locator["published_low"].to_numpy(dtype=float),
        published_high=locator["published_high"].to_numpy(dtype=float),
        is_count=locator["is_count"].to_numpy(dtype=bool),
        primary=locator["primary"].to_numpy(dtype=bool),
        cost=locator["cost"].to_numpy(dtype=float),
        forced_shown=locator["forced_shown"].to_numpy(dtype=bool),
        group=locator["group"].to_numpy(dtype=np.int64),
        relations=_matrix(b.relations, len(b.rows)),
        threshold=release.threshold,
    )
    return CellModel(tables=tables, locator=locator[["cell_id", "table", "row", "columns",
                                                     "kind", "value", "primary"]])  # fmt: skip


def _identities(b: _Builder) -> None:
    """Cells that a relation of two members makes equal (a region with one kommune in the
    study, a margin of one cell) show one number: they are put in one group, so that no
    output shows it while another hides it."""
    parent = list(range(len(b.rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for relation in b.relations:
        if len(relation) == 2:
            first, second = (find(c) for c in relation)
            if first != second:
                parent[second] = first
    by_group: dict[int, int] = {}
    for cell, row in enumerate(b.rows):
        if row["group"] >= 0:  # cells already grouped stay together
            root = find(cell)
            other = by_group.setdefault(row["group"], root)
            if find(other) != root:
                parent[root] = find(other)
    sizes: dict[int, int] = {}
    for cell in range(len(b.rows)):
        sizes[find(cell)] = sizes.get(find(cell), 0) + 1
    ids: dict[int, int] = {}
    for cell, row in enumerate(b.rows):
        root = find(cell)
        if sizes[root] > 1:
            row["group"] = ids.setdefault(root, len(ids))
        else:
            row["group"] = -1


def _hierarchy(b: _Builder, cells: dict[tuple, int]) -> None:
    """The additive relations of one count over the domains (indicator, level, kommune,
    region, sex, origin): each margin is the sum of its sex × origin cells, the total the sum
    of either margin, a region's domain the sum of its kommuner's and the nation's the sum
    of the regions'."""
    from collections import defaultdict

    within: dict[tuple, dict[tuple, int]] = defaultdict(dict)
    kommune_parts: dict[tuple, list[int]] = defaultdict(list)
    region_parts: dict[tuple, list[int]] = defaultdict(list)
    for (ind, level, kommune, region, sex, origin), cell in cells.items():
        within[(ind, level, kommune, region)][(sex, origin)] = cell
        if level == "kommune":
            kommune_parts[(ind, region, sex, origin)].append(cell)
        elif level == "region":
            region_parts[(ind, sex, origin)].append(cell)
    for group in within.values():
        for (sex, origin), cell in group.items():
            if sex is None and origin is None:
                splits = [[c for (s, o), c in group.items() if s is not None and o is None],
                          [c for (s, o), c in group.items() if s is None and o is not None]]
            elif origin is None:
                splits = [[c for (s, o), c in group.items() if s == sex and o is not None]]
            elif sex is None:
                splits = [[c for (s, o), c in group.items() if o == origin and s is not None]]
            else:
                continue
            for parts in splits:
                if parts:
                    b.relate({cell: 1.0, **{p: -1.0 for p in parts}})
    for (ind, level, _kommune, region, sex, origin), cell in cells.items():
        if level == "region":
            parts = kommune_parts.get((ind, region, sex, origin), [])
        elif level == "nation":
            parts = region_parts.get((ind, sex, origin), [])
        else:
            continue
        if parts:
            b.relate({cell: 1.0, **{p: -1.0 for p in parts}})
