"""The release's two engines: secondary suppression (MILP) and the intruder's audit (LP).

Textbook cases (Hundepool et al. 2012, ch. 4: a table with margins, one small cell, the
rectangle that protects it and the intruder's interval), hierarchical and linked tables, a
rounded percentage that pins a hidden count, every refusal, and hypothesis properties of
protect and audit on small random hierarchies.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import OptimizeResult

from release_fixtures import synthetic_release
from stikprove.errors import StikproveError
from stikprove.release import audit as audit_module
from stikprove.release import suppression as suppression_module
from stikprove.release.audit import AUDIT_COLUMNS, Auditor, audit
from stikprove.release.linear import LinearTableSet, ReleaseError
from stikprove.release.suppression import STATUSES, protect
from strategies import scaled

# ---- building table sets -----------------------------------------------------------------


def build(
    atoms,
    cells: dict[str, dict[int, float]],
    relations: list[dict[str, float]],
    *,
    threshold: int = 5,
    cost: dict[str, float] | None = None,
    forced: tuple[str, ...] = (),
    ratios: dict[str, tuple[dict[int, float], float, float]] | None = None,
    groups: dict[str, int] | None = None,
    primary: tuple[str, ...] | None = None,
) -> LinearTableSet:
    """A table set from count cells {id: {atom: coef}}, ratio cells {id: (denominator,
    published_low, published_high)} (their numerator in ``cells``) and relations
    [{id: coef}]. Primary: counts 1..t−1 unless given; cost: the value unless given."""
    atoms = np.asarray(atoms, dtype=np.int64)
    ids = list(cells)
    ratios = ratios or {}
    n_cells, n_atoms = len(ids), len(atoms)
    num = sp.lil_matrix((n_cells, n_atoms))
    den = sp.lil_matrix((n_cells, n_atoms))
    for c, cell in enumerate(ids):
        for a, coef in cells[cell].items():
            num[c, a] = coef
        for a, coef in ratios.get(cell, ({}, 0, 0))[0].items():
            den[c, a] = coef
    num, den = num.tocsr(), den.tocsr()
    top = num @ atoms
    bottom = np.where(np.diff(den.indptr) > 0, den @ atoms, 1)
    value = top / bottom
    low, high = value.copy(), value.copy()
    for cell, (_, lo, hi) in ratios.items():
        low[ids.index(cell)], high[ids.index(cell)] = lo, hi
    is_count = np.array([cell not in ratios for cell in ids])
    if primary is None:
        is_primary = is_count & (value >= 1) & (value < threshold)
    else:
        is_primary = np.isin(ids, primary)
    rel = sp.lil_matrix((len(relations), n_cells))
    for r, relation in enumerate(relations):
        for cell, coef in relation.items():
            rel[r, ids.index(cell)] = coef
    costs = np.array([(cost or {}).get(cell, value[i]) for i, cell in enumerate(ids)])
    return LinearTableSet(
        atom_values=atoms,
        atom_upper=np.full(n_atoms, np.inf),
        cell_id=np.array(ids),
        table=np.array([cell.split(":")[0] for cell in ids]),
        numerator=num,
        denominator=den,
        value=value,
        published_low=low,
        published_high=high,
        is_count=is_count,
        primary=is_primary,
        cost=costs,
        forced_shown=np.isin(ids, forced),
        group=np.array([(groups or {}).get(cell, -1) for cell in ids]),
        relations=rel.tocsr(),
        threshold=threshold,
    )


def two_way(inner, *, prefix: str = "t", total_cost: float = 1000.0, **kwargs) -> LinearTableSet:
    """A rows × columns table with row, column and grand totals; cells '{prefix}:i,j',
    '{prefix}:row i', '{prefix}:col j', '{prefix}:total'; atoms = the inner cells."""
    inner = np.asarray(inner)
    n_rows, n_cols = inner.shape
    cells: dict[str, dict[int, float]] = {}
    for i, j in itertools.product(range(n_rows), range(n_cols)):
        cells[f"{prefix}:{i},{j}"] = {i * n_cols + j: 1.0}
    for i in range(n_rows):
        cells[f"{prefix}:row {i}"] = {i * n_cols + j: 1.0 for j in range(n_cols)}
    for j in range(n_cols):
        cells[f"{prefix}:col {j}"] = {i * n_cols + j: 1.0 for i in range(n_rows)}
    cells[f"{prefix}:total"] = {a: 1.0 for a in range(inner.size)}
    relations = [
        {f"{prefix}:row {i}": 1.0, **{f"{prefix}:{i},{j}": -1.0 for j in range(n_cols)}}
        for i in range(n_rows)
    ] + [
        {f"{prefix}:col {j}": 1.0, **{f"{prefix}:{i},{j}": -1.0 for i in range(n_rows)}}
        for j in range(n_cols)
    ]
    relations.append({f"{prefix}:total": 1.0, **{f"{prefix}:row {i}": -1.0 for i in range(n_rows)}})
    relations.append({f"{prefix}:total": 1.0, **{f"{prefix}:col {j}": -1.0 for j in range(n_cols)}})
    cost = {c: total_cost for c in cells if "row" in c or "col" in c or "total" in c}
    cost.update(kwargs.pop("cost", {}))
    return build(inner.ravel(), cells, relations, cost=cost, **kwargs)


def hidden(tables: LinearTableSet, suppressed: np.ndarray) -> list[str]:
    return sorted(tables.cell_id[suppressed])


def no_singleton(tables: LinearTableSet, suppressed: np.ndarray) -> bool:
    """No relation has exactly one hidden member."""
    per_relation = (abs(tables.relations) > 0).astype(int) @ suppressed.astype(int)
    return not np.any(per_relation == 1)


# ---- the textbook table: one small cell in a table with margins ----------------------------

# A 3 × 3 table with margins in the manner of Hundepool et al. (2012, §4.2): the cell (1, 2)
# holds 2 persons, under the threshold 5; inner cells cost their value, margins 1000.
TEXTBOOK = [[20, 50, 10], [8, 19, 2], [17, 32, 12]]


def brute_force_cost(tables: LinearTableSet) -> float:
    """The least cost of hiding a set of inner cells (margins shown) that protects every
    primary cell by the audit, by trying every set."""
    inner = [i for i, c in enumerate(tables.cell_id) if "," in c and not tables.primary[i]]
    best = np.inf
    for k in range(len(inner) + 1):
        for extra in itertools.combinations(inner, k):
            suppressed = tables.primary.copy()
            suppressed[list(extra)] = True
            cost = tables.cost[suppressed].sum()
            if cost < best and no_singleton(tables, suppressed) and audit(tables, suppressed).ok:
                best = cost
        if np.isfinite(best):
            return best
    return best


def test_small_cell_is_protected_by_the_cheapest_rectangle():
    tables = two_way(TEXTBOOK)
    protection = protect(tables)
    assert hidden(tables, protection.suppressed) == ["t:1,0", "t:1,2", "t:2,0", "t:2,2"]
    assert protection.secondary.sum() == 3 and protection.primary.sum() == 1
    assert protection.cost == 8 + 2 + 17 + 12
    assert protection.status == "optimal" and protection.rounds == 1
    assert protection.ok and protection.unprotected == ()
    assert "1 primary, 3 secondary" in str(protection)


def test_the_rectangle_is_the_least_cost_pattern():
    tables = two_way(TEXTBOOK)
    assert protect(tables).cost == brute_force_cost(tables)


def test_audit_of_the_rectangle_gives_the_textbook_interval():
    """Hiding (1,0), (1,2), (2,0), (2,2): every hidden cell moves by the same amount, down
    until one of the cells on its diagonal reaches 0, up until one on the other does: the
    small cell 2 lies in [2 − min(2, 17), 2 + min(8, 12)] = [0, 10]."""
    tables = two_way(TEXTBOOK)
    result = audit(tables, tables.mask(["t:1,0", "t:1,2", "t:2,0", "t:2,2"]))
    table = result.table.set_index("cell_id")
    assert list(result.table.columns) == list(AUDIT_COLUMNS)
    assert table.loc["t:1,2", ["low", "high"]].tolist() == [0, 10]
    assert table.loc["t:1,0", ["low", "high"]].tolist() == [0, 10]
    assert table.loc["t:2,0", ["low", "high"]].tolist() == [15, 25]
    assert table.loc["t:2,2", ["low", "high"]].tolist() == [4, 14]
    assert table["protected"].all() and result.ok
    assert table.loc["t:1,2", "sensitive"] and not table.loc["t:2,0", "sensitive"]


def test_audit_finds_a_singleton_hidden_in_a_relation():
    tables = two_way(TEXTBOOK)
    result = audit(tables, tables.mask(["t:1,2"]))
    assert not result.ok
    assert result.unprotected == ("t:1,2",)
    row = result.table.iloc[0]
    assert (row["low"], row["high"]) == (2, 2)
    assert "lies within 1..4" in row["reason"]
    assert set(result.pinned_by["t:1,2"]) & {"t:row 1", "t:col 2"}
    assert "NOT protected" in str(result) and "t:1,2" in str(result)


def test_audit_finds_a_pair_hidden_in_one_row_only():
    """Hiding (1,2) with (1,0) in its row leaves both columns' totals to pin them."""
    tables = two_way(TEXTBOOK)
    result = audit(tables, tables.mask(["t:1,2", "t:1,0"]))
    assert result.unprotected == ("t:1,2",)
    assert result.table.set_index("cell_id").loc["t:1,0", "protected"]  # 8 needs no protection


def test_audit_rule_interval_narrower_than_the_threshold():
    """[0, 3] is not within 1..4 (it may be 0) but is narrower than t − 1 = 4."""
    tables = two_way([[3, 0], [30, 40]])
    # hide (0,0) and (1,0) and (0,1) and (1,1): (0,0) moves with (0,1) = 0, so it can only
    # go down: [0, 3]
    result = audit(tables, tables.mask(["t:0,0", "t:0,1", "t:1,0", "t:1,1"]))
    row = result.table.set_index("cell_id").loc["t:0,0"]
    assert (row["low"], row["high"]) == (0, 3)
    assert not row["protected"] and "narrower than 4" in row["reason"]


def test_zero_cells_need_no_protection():
    tables = two_way([[0, 10], [12, 14]])
    result = audit(tables, tables.mask(["t:0,0"]))
    row = result.table.iloc[0]
    assert (row["low"], row["high"]) == (0, 0) and not row["sensitive"] and row["protected"]
    assert result.ok


def test_audit_loop_adds_a_partner_where_the_program_alone_is_not_enough():
    """The small cell (1,2) = 2: the cheapest pattern that meets the relation constraints
    hides zeros whose rectangles pin it at [2, 2]; the audit finds it, the second round adds
    the cut and hides the cheapest rectangle that protects it (the brute-force optimum)."""
    tables = two_way([[0, 0, 12], [6, 5, 2], [0, 5, 5]], total_cost=1e6)
    first = protect(tables, max_rounds=1)
    assert first.unprotected == ("t:1,2",) and not first.ok and first.rounds == 1
    row = first.audit.table.set_index("cell_id").loc["t:1,2"]
    assert (row["low"], row["high"]) == (2, 2) and "pinned by" in row["reason"]
    final = protect(tables)
    assert final.ok and final.rounds == 2
    assert hidden(tables, final.suppressed) == ["t:1,0", "t:1,2", "t:2,0", "t:2,2"]
    assert final.cost == 13 == brute_force_cost(tables)


# ---- hierarchies and linked tables -------------------------------------------------------


def three_levels(strata: list[list[int]]) -> LinearTableSet:
    """stratum → kommune → nation: each kommune's strata, its total, the national total."""
    atoms = [v for kommune in strata for v in kommune]
    cells: dict[str, dict[int, float]] = {}
    relations = []
    a = 0
    for k, kommune in enumerate(strata):
        first = a
        for h in range(len(kommune)):
            cells[f"stratum:{k}.{h}"] = {a: 1.0}
            a += 1
        cells[f"kommune:{k}"] = {i: 1.0 for i in range(first, a)}
        relations.append(
            {f"kommune:{k}": 1.0, **{f"stratum:{k}.{h}": -1.0 for h in range(len(kommune))}}
        )
    cells["nation:total"] = {i: 1.0 for i in range(a)}
    relations.append({"nation:total": 1.0, **{f"kommune:{k}": -1.0 for k in range(len(strata))}})
    cost = {c: 1000.0 for c in cells if not c.startswith("stratum")}
    small_nation = 1 <= sum(atoms) < 5
    return build(
        atoms, cells, relations, cost=cost, forced=() if small_nation else ("nation:total",)
    )


def test_hierarchy_hides_within_the_kommune_and_keeps_totals():
    tables = three_levels([[30, 2, 25], [40, 41], [15, 16, 17, 18]])
    protection = protect(tables)
    assert hidden(tables, protection.suppressed) == ["stratum:0.1", "stratum:0.2"]
    assert protection.ok


def test_hierarchy_hides_a_kommune_total_when_the_kommune_is_all_small():
    """A kommune of 1 + 2: its strata can only be protected by hiding its total, and the
    total by hiding another kommune's (the national total is forced shown)."""
    tables = three_levels([[1, 2], [40, 41], [30, 3, 30]])
    protection = protect(tables)
    suppressed = hidden(tables, protection.suppressed)
    assert {"stratum:0.0", "stratum:0.1", "kommune:0"} <= set(suppressed)
    assert no_singleton(tables, protection.suppressed)
    assert protection.ok
    assert "nation:total" not in suppressed


def test_hierarchy_reports_a_cell_that_cannot_be_protected():
    """Everything but the small cell forced shown: infeasible, and said so."""
    tables = build(
        [3, 40],
        {"s:a": {0: 1.0}, "s:b": {1: 1.0}, "s:total": {0: 1.0, 1: 1.0}},
        [{"s:total": 1.0, "s:a": -1.0, "s:b": -1.0}],
        forced=("s:b", "s:total"),
    )
    protection = protect(tables)
    assert protection.unprotected == ("s:a",) == protection.relaxed
    assert not protection.ok and "UNPROTECTED: s:a" in str(protection)
    assert protection.suppressed.tolist() == [True, False, False]


def test_linked_tables_are_protected_jointly():
    """Two tables over the same atoms (sex × origin and sex × age) share the sex totals: a
    pattern chosen for one table alone is undone through the other."""
    # atoms: sex (2) × origin (2) × age (2)
    atoms = [2, 30, 25, 31, 20, 22, 26, 29]  # index = sex*4 + origin*2 + age
    cells: dict[str, dict[int, float]] = {}

    def atoms_where(sex=None, origin=None, age=None):
        return {
            s * 4 + o * 2 + g: 1.0
            for s, o, g in itertools.product(range(2), repeat=3)
            if sex in (None, s) and origin in (None, o) and age in (None, g)
        }

    for s, o in itertools.product(range(2), repeat=2):
        cells[f"origin:{s},{o}"] = atoms_where(sex=s, origin=o)
    for s, g in itertools.product(range(2), repeat=2):
        cells[f"age:{s},{g}"] = atoms_where(sex=s, age=g)
    for s in range(2):
        cells[f"sex:{s}"] = atoms_where(sex=s)
    for o in range(2):
        cells[f"origin:all,{o}"] = atoms_where(origin=o)
    for g in range(2):
        cells[f"age:all,{g}"] = atoms_where(age=g)
    relations = []
    for s in range(2):
        relations.append({f"sex:{s}": 1.0, f"origin:{s},0": -1.0, f"origin:{s},1": -1.0})
        relations.append({f"sex:{s}": 1.0, f"age:{s},0": -1.0, f"age:{s},1": -1.0})
    for o in range(2):
        relations.append({f"origin:all,{o}": 1.0, f"origin:0,{o}": -1.0, f"origin:1,{o}": -1.0})
    for g in range(2):
        relations.append({f"age:all,{g}": 1.0, f"age:0,{g}": -1.0, f"age:1,{g}": -1.0})
    # a small count in the origin table: origin 0, sex 0 = atoms 0 + 1 ... make it small
    atoms[0], atoms[1] = 1, 2  # origin:0,0 = 3
    tables = build(
        atoms, cells, relations, cost={c: 1000.0 for c in cells if "all" in c or "sex" in c}
    )
    protection = protect(tables)
    assert protection.ok
    assert tables.primary[tables.index("origin:0,0")]
    assert no_singleton(tables, protection.suppressed)
    # the audit over both tables finds the small cell protected
    row = protection.audit.table.set_index("cell_id").loc["origin:0,0"]
    assert row["protected"] and (row["low"] <= 0 or row["high"] >= 5)


# ---- ratio cells -------------------------------------------------------------------------


def test_a_rounded_percentage_with_its_n_pins_a_hidden_count():
    """12.5 % of n = 16 shown to one decimal ([12.45, 12.55] %) gives the hidden events
    count 2 back exactly: 2/16 is the only whole number of events in that interval."""
    tables = build(
        [2, 14, 30, 20],  # events and non-events in group a; events and non-events in b
        {
            "events:a": {0: 1.0},
            "events:b": {2: 1.0},
            "events:total": {0: 1.0, 2: 1.0},
            "n:a": {0: 1.0, 1: 1.0},
            "pct:a": {0: 1.0},
        },
        [{"events:total": 1.0, "events:a": -1.0, "events:b": -1.0}],
        ratios={"pct:a": ({0: 1.0, 1: 1.0}, 0.1245, 0.1255)},
        primary=("events:a", "events:b"),
    )
    result = audit(tables, tables.mask(["events:a", "events:b"]))
    row = result.table.set_index("cell_id").loc["events:a"]
    assert (row["low"], row["high"]) == (2, 2) and not row["protected"]
    assert "pct:a" in result.pinned_by["events:a"]
    # hiding the percentage as well protects it
    result = audit(tables, tables.mask(["events:a", "events:b", "pct:a"]))
    assert result.ok
    ratio = result.table.set_index("cell_id").loc["pct:a"]
    assert ratio["sensitive"] and (ratio["denominator_low"], ratio["denominator_high"]) == (16, 16)


def test_protect_hides_the_percentage_that_pins_a_small_count():
    tables = build(
        [2, 14, 30, 20],
        {
            "events:a": {0: 1.0},
            "events:b": {2: 1.0},
            "events:total": {0: 1.0, 2: 1.0},
            "n:a": {0: 1.0, 1: 1.0},
            "pct:a": {0: 1.0},
        },
        [{"events:total": 1.0, "events:a": -1.0, "events:b": -1.0}],
        ratios={"pct:a": ({0: 1.0, 1: 1.0}, 0.1245, 0.1255)},
        cost={"events:total": 1000.0},
    )
    protection = protect(tables)
    assert protection.ok and protection.rounds == 2
    assert protection.suppressed[tables.index("pct:a")]


def test_groups_are_shown_or_hidden_together():
    tables = build(
        [2, 14, 30, 20],
        {
            "events:a": {0: 1.0},
            "events:b": {2: 1.0},
            "events:total": {0: 1.0, 2: 1.0},
            "pct:a": {0: 1.0},
            "pct:b": {2: 1.0},
        },
        [{"events:total": 1.0, "events:a": -1.0, "events:b": -1.0}],
        ratios={
            "pct:a": ({0: 1.0, 1: 1.0}, 0.1245, 0.1255),
            "pct:b": ({2: 1.0, 3: 1.0}, 0.5995, 0.6005),
        },
        groups={"events:a": 1, "pct:a": 1, "events:b": 2, "pct:b": 2},
        cost={"events:total": 1000.0},
    )
    protection = protect(tables)
    assert hidden(tables, protection.suppressed) == ["events:a", "events:b", "pct:a", "pct:b"]
    assert protection.ok and protection.rounds == 1


# ---- refusals ----------------------------------------------------------------------------


def valid_arguments() -> dict:
    tables = two_way([[3, 10], [12, 14]])
    return {
        name: getattr(tables, name)
        for name in LinearTableSet.__dataclass_fields__
        if name != "_index"
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"atom_values": np.array([3, -1, 12, 14])}, "atom 1 has value -1"),
        ({"atom_values": np.array([3, 1.5, 12, 14])}, "whole numbers"),
        ({"atom_upper": np.array([2.0, np.inf, np.inf, np.inf])}, "atom 0: upper bound 2.0"),
        ({"cell_id": np.array(["t:0,0"] * 9)}, "occurs more than once"),
        ({"value": np.r_[4.0, np.zeros(8)]}, "cell 't:0,0': value 4.0 but"),
        ({"published_low": np.r_[3.5, np.zeros(8)]}, "outside its published interval"),
        ({"cost": np.r_[-1.0, np.zeros(8)]}, "cost -1.0 must be ≥ 0"),
        ({"forced_shown": np.r_[True, np.zeros(8, bool)]}, "is primary (must be hidden) and"),
        ({"is_count": np.r_[False, np.ones(8, bool)]}, "is_count is False"),
        ({"primary": np.ones(9, int)}, "primary must be a boolean array"),
        ({"group": np.r_[-2, np.full(8, -1)]}, "group -2"),
        ({"group": np.r_[1, np.full(7, -1), 1], "forced_shown": np.r_[np.zeros(8, bool), True]},
         "group 1: cell 't:0,0' is primary and cell 't:total' is forced shown"),
        ({"cost": np.ones(3)}, "cost must be a 1-D array of length 9"),
        ({"numerator": sp.csr_matrix((9, 3))}, "numerator must have shape (9, 4)"),
        ({"relations": sp.csr_matrix(np.r_[[1.0], np.zeros(8)][None, :])}, "does not add up"),
        ({"threshold": 0}, "threshold must be a whole number ≥ 1"),
    ],
)  # fmt: skip
def test_table_set_refuses_what_does_not_describe_itself(change, message):
    arguments = valid_arguments() | change
    with pytest.raises(ReleaseError, match=None) as error:
        LinearTableSet(**arguments)
    assert message in str(error.value)
    assert isinstance(error.value, StikproveError)


def test_table_set_refuses_a_ratio_in_a_relation():
    with pytest.raises(ReleaseError, match="is in a relation but is not a count cell"):
        build(
            [1, 3],
            {"a": {0: 1.0}, "p": {0: 1.0}},
            [{"a": 1.0, "p": -4.0}],
            ratios={"p": ({0: 1.0, 1: 1.0}, 0.25, 0.25)},
        )


def test_unknown_cell_and_bad_suppression_pattern_are_refused():
    tables = two_way([[3, 10], [12, 14]])
    with pytest.raises(ReleaseError, match="no cell 'x' in the table set"):
        tables.index("x")
    with pytest.raises(ReleaseError, match="suppressed must be a 1-D array of length 9"):
        audit(tables, np.zeros(3, bool))
    with pytest.raises(ReleaseError, match="suppressed must be a boolean array"):
        audit(tables, np.zeros(9))
    with pytest.raises(ReleaseError, match="cells \\('every'\\) must be one of 'all', 'small'"):
        audit(tables, np.zeros(9, bool), cells="every")


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("method", "fast", "method ('fast') must be one of 'optimal', 'greedy'"),
        ("time_limit", 0, "time_limit must be a number of seconds > 0; got 0"),
        ("max_rounds", 0, "max_rounds must be a whole number ≥ 1; got 0"),
        ("final_audit", "some", "final_audit ('some') must be one of 'all', 'small', 'judge'"),
    ],
)
def test_protect_refuses_bad_options(keyword, value, message):
    with pytest.raises(ReleaseError) as error:
        protect(two_way([[3, 10], [12, 14]]), **{keyword: value})
    assert message in str(error.value)


# ---- properties --------------------------------------------------------------------------


@st.composite
def hierarchies(draw: st.DrawFn) -> LinearTableSet:
    """A small two-way table (2–3 × 2–3) with many small counts and zeros, or a three-level
    hierarchy of 1–3 kommuner with 1–3 strata each."""
    small = st.one_of(st.integers(0, 6), st.integers(0, 40))
    if draw(st.booleans()):
        shape = (draw(st.integers(2, 3)), draw(st.integers(2, 3)))
        inner = draw(st.lists(small, min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]))
        return two_way(np.array(inner).reshape(shape), total_cost=draw(st.sampled_from([5.0, 1e3])))
    strata = draw(st.lists(st.lists(small, min_size=1, max_size=3), min_size=1, max_size=3))
    return three_levels(strata)


@settings(max_examples=scaled(25))
@given(hierarchies())
def test_protect_leaves_no_small_count_unprotected_and_no_singleton(tables):
    protection = protect(tables)
    assert protection.status in STATUSES
    assert no_singleton(tables, protection.suppressed) or protection.unprotected
    assert np.all(protection.suppressed[tables.primary])
    assert not np.any(protection.suppressed[tables.forced_shown])
    # every suppressed small count is protected, or listed as unprotected
    table = protection.audit.table
    failing = set(table.loc[table["sensitive"] & ~table["protected"], "cell_id"])
    assert failing <= set(protection.unprotected)
    if not protection.unprotected:
        assert audit(tables, protection.suppressed).ok
    # the cost is the cost of what is hidden, and never more than the greedy rule's
    assert protection.cost == pytest.approx(tables.cost[protection.suppressed].sum())
    greedy = protect(tables, method="greedy")
    assert greedy.status == "heuristic"
    if protection.status == "optimal" and greedy.ok:
        assert protection.cost <= greedy.cost + 1e-9


@settings(max_examples=scaled(25))
@given(hierarchies(), st.data())
def test_audit_interval_contains_the_true_value(tables, data):
    suppressed = np.array(
        data.draw(st.lists(st.booleans(), min_size=tables.n_cells, max_size=tables.n_cells))
    )
    # a shown cell's true value lies in its own published interval
    shown = ~suppressed
    assert np.all(tables.published_low[shown] <= tables.value[shown])
    assert np.all(tables.value[shown] <= tables.published_high[shown])
    result = audit(tables, suppressed)
    table = result.table
    assert len(table) == suppressed.sum()
    assert np.all(table["low"] <= table["value"]) and np.all(table["value"] <= table["high"])
    assert np.all(table["low"] >= 0)
    # a cell hidden alone in a relation whose other members are all shown is pinned
    for r in range(tables.relations.shape[0]):
        members = tables.relations.indices[
            tables.relations.indptr[r] : tables.relations.indptr[r + 1]
        ]
        if suppressed[members].sum() == 1:
            cell = tables.cell_id[members[suppressed[members]][0]]
            row = table.set_index("cell_id").loc[cell]
            assert row["low"] == row["high"] == row["value"]


def test_audit_table_is_tidy():
    tables = two_way(TEXTBOOK)
    table = audit(tables, tables.mask(["t:1,2"])).table
    assert isinstance(table, pd.DataFrame)
    assert table["protected"].dtype == np.dtype(bool) == table["sensitive"].dtype
    assert np.isnan(table.loc[0, "denominator"])


# ---- the audit's speed-ups give the same answers -------------------------------------------


@settings(max_examples=scaled(15))
@given(hierarchies(), st.data())
def test_judging_only_agrees_with_the_exact_audit(tables, data):
    """Without ``exact`` the audit judges each small count as the exact audit does, and its
    interval for it lies within the exact one where it passes and contains it where it
    fails."""
    suppressed = np.array(
        data.draw(st.lists(st.booleans(), min_size=tables.n_cells, max_size=tables.n_cells))
    )
    auditor = Auditor(tables)
    exact = auditor.run(suppressed, cells="all").table.set_index("cell_id")
    judged = auditor.run(suppressed, cells="judge").table.set_index("cell_id")
    small = auditor.run(suppressed, cells="small").table.set_index("cell_id")
    pd.testing.assert_frame_equal(small[small["sensitive"]], exact[exact["sensitive"]])
    pd.testing.assert_frame_equal(auditor.run(suppressed, exact=False).table, judged.reset_index())
    assert small.loc[~small["sensitive"], ["low", "high"]].isna().all().all()
    assert judged["protected"].equals(exact["protected"])
    small = judged[judged["sensitive"]]
    inside = small["protected"]
    assert np.all(small.loc[inside, "low"] >= exact.loc[small.index[inside], "low"])
    assert np.all(small.loc[inside, "high"] <= exact.loc[small.index[inside], "high"])
    assert np.all(small.loc[~inside, "low"] <= exact.loc[small.index[~inside], "low"])
    assert np.all(small.loc[~inside, "high"] >= exact.loc[small.index[~inside], "high"])
    assert judged.loc[~judged["sensitive"], "low"].isna().all()


def test_an_auditor_gives_the_same_audit_again():
    tables = synthetic_release(3)
    auditor = Auditor(tables)
    first = auditor.run(tables.primary.copy())
    again = auditor.run(tables.primary.copy())
    pd.testing.assert_frame_equal(first.table, again.table)
    assert first.cuts == again.cuts
    pd.testing.assert_frame_equal(first.table, audit(tables, tables.primary.copy()).table)
    # with percentages known within their rounding, judging still agrees with the exact audit
    judged = auditor.run(tables.primary.copy(), cells="judge")
    assert judged.table["protected"].equals(first.table["protected"])
    assert not first.ok and set(judged.unprotected) == set(first.unprotected)


def test_audit_without_the_highs_object_gives_the_same_intervals(monkeypatch):
    """scipy's HiGHS object (hot starts) and scipy.optimize.milp/linprog agree."""
    tables = two_way(TEXTBOOK)
    pattern = tables.mask(["t:1,0", "t:1,2", "t:2,0", "t:2,2", "t:0,1"])
    fast = audit(tables, pattern)
    monkeypatch.setattr(audit_module, "_HIGHS", None)
    slow = audit(tables, pattern)
    pd.testing.assert_frame_equal(fast.table, slow.table)
    single = tables.mask(["t:1,2"])
    assert audit(tables, single).pinned_by == audit_module.audit(tables, single).pinned_by


def test_cut_weights_are_shares_of_what_protection_needs():
    tables = two_way(TEXTBOOK)
    result = audit(tables, tables.mask(["t:1,2"]))
    (cut,) = result.cuts["t:1,2"][:1]
    assert set(cut) == set(result.pinned_by["t:1,2"])
    assert all(0 < w <= 1 for w in cut.values())


# ---- a release shaped like a study's -------------------------------------------------------


def test_a_small_synthetic_release_is_protected():
    """Three kommuner of the benchmark's synthetic national study: every small count, the
    never-shown counts of cases without an outcome included, protected; totals kept."""
    tables = synthetic_release(3)
    protection = protect(tables)
    assert protection.ok, str(protection)
    assert protection.status == "optimal"
    # the one relation left with a single hidden cell: the nation's never-shown count of
    # cases without an outcome (6, not small), whose partners are all forced shown
    assert protection.relaxed == ("nation|no_outcome",)
    alone = (abs(tables.relations) > 0).astype(int) @ protection.suppressed.astype(int) == 1
    assert {
        tables.cell_id[j]
        for r in np.flatnonzero(alone)
        for j in tables.relations[r].indices
        if protection.suppressed[j]
    } == {"nation|no_outcome"}
    nation = [
        i for i, c in enumerate(tables.cell_id) if c.startswith("nation|") and "|pct" not in c
    ]
    assert not protection.suppressed[[i for i in nation if tables.forced_shown[i]]].any()
    assert audit(tables, protection.suppressed).ok


@pytest.mark.slow
def test_a_regional_synthetic_release_is_protected():
    tables = synthetic_release(8)
    protection = protect(tables)
    assert protection.ok, str(protection)
    assert protection.cost <= protect(tables, method="greedy").cost


def test_a_program_stopped_at_the_time_limit_says_so(monkeypatch):
    """HiGHS's best pattern at the limit is used (status "time limit"); with no pattern at
    all, the greedy rule (status "heuristic"); the audit judges both."""
    tables = two_way(TEXTBOOK)
    real = suppression_module.milp

    def stopped(*args, **kwargs):
        result = real(*args, **kwargs)
        return OptimizeResult(x=result.x, status=1, message="Time limit reached", fun=result.fun)

    monkeypatch.setattr(suppression_module, "milp", stopped)
    protection = protect(tables, time_limit=0.5)
    assert protection.status == "time limit" and protection.ok
    assert protection.cost == 39

    def nothing(*args, **kwargs):
        return OptimizeResult(x=None, status=1, message="Time limit reached", fun=None)

    monkeypatch.setattr(suppression_module, "milp", nothing)
    protection = protect(tables, time_limit=0.5)
    assert protection.status == "heuristic" and protection.ok
    assert protection.cost >= 39
