"""The intruder's audit: what can be worked out about each hidden cell from everything shown.

:func:`audit` plays an intruder who holds every published cell of a release at once. For
each suppressed cell it finds the *feasibility interval* of its value: the least and the
greatest value it can take over all non-negative atoms that reproduce every shown cell
within its published interval. That is a pair of linear programs per hidden cell (Hundepool
et al. 2012, §4.2 and §4.4; the "attacker" or "audit" problem of τ-ARGUS and of R's
sdcTable, ``attack()``), solved here with HiGHS through :func:`scipy.optimize.milp` (an LP:
no integer variables) and :func:`scipy.optimize.linprog` where the dual values are needed.
Only the building of the programs is written by hand.

The program
    variables: the atoms x, 0 ≤ x ≤ ``atom_upper``;
    a shown count cell c: published_low_c ≤ num_c·x ≤ published_high_c;
    a shown ratio cell c (a percentage known within its rounding):
    num_c·x − published_low_c·den_c·x ≥ 0 and num_c·x − published_high_c·den_c·x ≤ 0;
    objective: min and max of num_c·x for a hidden cell c. For a hidden ratio cell the
    intruder's target is the count it is built on: its numerator (the ``low``/``high``
    columns) and its denominator (``denominator_low``/``denominator_high``) are bounded
    separately; the ratio itself then lies between their quotients.

The integer atoms are relaxed to real numbers (as τ-ARGUS does), which can only widen an
interval; for a cell whose numerator has whole coefficients the bounds are rounded inwards to
whole numbers (``low`` up, ``high`` down).

Protection rule (docs/release.md)
    A hidden cell is *sensitive* when its count is small (a count 1..t−1, or a ratio whose
    numerator lies strictly between 0 and t; :meth:`LinearTableSet.sensitive`). A sensitive
    hidden cell is protected when its interval [low, high] does **not** lie within 1..t−1
    (the intruder cannot tell that it is a small non-zero count: it may be 0 or it may be t
    or more) **and** high − low ≥ t − 1 (nor narrow it to fewer than t values). Zeros and
    cells of t or more need no protection of their own.

Speed: the atoms split into the connected components of the atom–cell incidence, and each
component into neighbourhoods of at most a few hundred atoms (joined along the cells with
the smallest support first: strata, then margins, then kommune totals). A hidden cell is
first bounded with the atoms outside its neighbourhood fixed at their true values (an
intruder who knows more than anyone can: the interval can only be narrower than the true
one, so a cell protected there is protected); only cells that fail there are bounded again
over their whole component.

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer,
K., & de Wolf, P.-P. (2012). Statistical Disclosure Control. Wiley, ch. 4.
Fischetti, M., & Salazar-González, J.-J. (2001). Solving the cell suppression problem on
tabular data with linear constraints. Management Science 47(7), 1008–1027.
Meindl, B. sdcTable: Methods for statistical disclosure control in tabular data (R package).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from stikprove.release.linear import TOLERANCE, LinearTableSet, ReleaseError

__all__ = ["AUDIT_COLUMNS", "Audit", "audit"]

AUDIT_COLUMNS = (
    "cell_id", "table", "value", "low", "high", "sensitive", "protected", "reason",
    "denominator", "denominator_low", "denominator_high",
)  # fmt: skip
"""Columns of :attr:`Audit.table`, one row per suppressed cell: its id and table; ``value``,
the true count (for a ratio cell its numerator); ``low``/``high``, the intruder's interval
for it; ``sensitive`` (a small count that must be protected); ``protected``; ``reason``
("" or why it is not protected); ``denominator``, ``denominator_low``/``_high`` for a ratio
cell (NaN for a count cell)."""

#: The largest neighbourhood (in atoms) a hidden cell is first bounded in.
NEIGHBOURHOOD_ATOMS = 400

#: A dual value this small does not count as binding.
DUAL_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Audit:
    """The intruder's intervals for the suppressed cells of a release.

    ``table``: one row per suppressed cell (:data:`AUDIT_COLUMNS`). ``threshold``: t.
    ``pinned_by``: for each unprotected cell, the shown cells whose published values bound
    its interval (the binding constraints of the intruder's program): hiding one of them is
    necessary to protect it (:func:`stikprove.release.suppression.protect` adds exactly that
    as a constraint).
    """

    table: pd.DataFrame
    threshold: int
    pinned_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every suppressed sensitive cell is protected."""
        return bool(self.table["protected"].all())

    @property
    def unprotected(self) -> tuple[str, ...]:
        """The ids of the suppressed cells that are not protected."""
        return tuple(self.table.loc[~self.table["protected"], "cell_id"])

    def __str__(self) -> str:
        table = self.table
        n_sensitive = int(table["sensitive"].sum())
        lines = [
            f"Audit of {len(table)} suppressed cells ({n_sensitive} small counts, threshold "
            f"{self.threshold}): "
            + (
                "every small count protected"
                if self.ok
                else f"{len(self.unprotected)} NOT protected"
            )
        ]
        for row in table.loc[~table["protected"]].itertuples():
            lines.append(f"  {row.cell_id} ({row.table}): {row.reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<p>{str(self).splitlines()[0]}</p>" + self.table.to_html(index=False)


# ---- the intruder's program ------------------------------------------------------------------


@dataclass(frozen=True)
class _Program:
    """The constraints of the shown cells: lb ≤ G x ≤ ub, one or two rows per shown cell."""

    G: sp.csr_matrix
    lb: np.ndarray
    ub: np.ndarray
    row_cell: np.ndarray  # the cell each row comes from
    x_true: np.ndarray
    x_upper: np.ndarray


def _program(tables: LinearTableSet, shown: np.ndarray) -> _Program:
    has_den = np.diff(tables.denominator.indptr) > 0
    plain = np.flatnonzero(shown & ~has_den)
    ratio = np.flatnonzero(shown & has_den)
    num, den = tables.numerator, tables.denominator
    low_row = num[ratio] - sp.diags(tables.published_low[ratio]) @ den[ratio]
    high_row = num[ratio] - sp.diags(tables.published_high[ratio]) @ den[ratio]
    G = sp.vstack([num[plain], low_row, high_row], format="csr")
    inf = np.full(len(ratio), np.inf)
    zero = np.zeros(len(ratio))
    lb = np.concatenate([tables.published_low[plain], zero, -inf])
    ub = np.concatenate([tables.published_high[plain], inf, zero])
    row_cell = np.concatenate([plain, ratio, ratio])
    return _Program(G, lb, ub, row_cell, tables.atom_values.astype(float), tables.atom_upper)


def _components(tables: LinearTableSet) -> tuple[int, np.ndarray]:
    """Connected components of the atoms, joined by the cells they appear in."""
    incidence = (abs(tables.numerator) + abs(tables.denominator)).tocsr()
    n_atoms = tables.n_atoms
    graph = sp.bmat([[None, incidence.T], [incidence, None]], format="csr")
    n, labels = connected_components(graph, directed=False)
    return n, labels[:n_atoms]


def _neighbourhoods(tables: LinearTableSet, limit: int) -> np.ndarray:
    """A label per atom: atoms joined along cells of smallest support first, each
    neighbourhood at most ``limit`` atoms (a cell too wide to join is left out)."""
    incidence = (abs(tables.numerator) + abs(tables.denominator)).tocsr()
    parent = np.arange(tables.n_atoms)
    size = np.ones(tables.n_atoms, dtype=np.int64)

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    support = np.diff(incidence.indptr)
    for cell in np.argsort(support, kind="stable"):
        atoms = incidence.indices[incidence.indptr[cell] : incidence.indptr[cell + 1]]
        if len(atoms) < 2 or len(atoms) > limit:
            continue
        roots = {find(int(a)) for a in atoms}
        if len(roots) < 2 or sum(int(size[r]) for r in roots) > limit:
            continue
        keep = max(roots, key=lambda r: size[r])
        for r in roots - {keep}:
            parent[r] = keep
            size[keep] += size[r]
    return np.array([find(a) for a in range(tables.n_atoms)])


@dataclass
class _Bounds:
    low: float
    high: float
    pinned: tuple[int, ...] = ()  # cells of binding rows (filled only when asked)


def _solve_range(
    program: _Program,
    atoms: np.ndarray,
    objectives: sp.csr_matrix,
    *,
    fix_outside: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """min and max of each objective row over ``atoms`` (others fixed at their true values
    when ``fix_outside``; otherwise the rows touching other atoms are those of another
    component and are dropped)."""
    G = program.G
    columns = G[:, atoms]
    touching = np.flatnonzero(np.diff(columns.indptr) > 0)
    A = columns[touching]
    lb, ub = program.lb[touching], program.ub[touching]
    if fix_outside:
        outside = np.ones(G.shape[1], dtype=bool)
        outside[atoms] = False
        offset = G[touching][:, outside] @ program.x_true[outside]
        lb, ub = lb - offset, ub - offset
    constraints = LinearConstraint(A, lb, ub) if A.shape[0] else None
    bounds = Bounds(np.zeros(len(atoms)), program.x_upper[atoms])
    obj = objectives[:, atoms].tocsr()
    lows = np.empty(obj.shape[0])
    highs = np.empty(obj.shape[0])
    for k in range(obj.shape[0]):
        c = obj[k].toarray().ravel()
        lows[k] = _optimum(c, constraints, bounds)
        highs[k] = -_optimum(-c, constraints, bounds)
    return lows, highs


def _optimum(c: np.ndarray, constraints, bounds: Bounds) -> float:
    if not np.any(c):
        return 0.0
    result = milp(c, constraints=constraints, bounds=bounds)
    if result.status == 0:
        return float(result.fun)
    if result.status == 3 or "unbounded" in result.message.lower():
        return -np.inf
    raise ReleaseError(
        f"the intruder's program could not be solved ({result.message}); the published "
        "intervals may be inconsistent"
    )


def _pinning_cells(
    program: _Program, atoms: np.ndarray, c: np.ndarray, sense: int
) -> tuple[int, ...]:
    """The cells whose rows bind at the optimum of sense·c (by the dual values)."""
    G = program.G[:, atoms]
    touching = np.flatnonzero(np.diff(G.indptr) > 0)
    A = G[touching]
    lb, ub = program.lb[touching], program.ub[touching]
    equal = np.isclose(lb, ub, rtol=0, atol=0)
    A_eq, b_eq = A[equal], lb[equal]
    upper = ~equal & np.isfinite(ub)
    lower = ~equal & np.isfinite(lb)
    A_ub = sp.vstack([A[upper], -A[lower]], format="csr")
    b_ub = np.concatenate([ub[upper], -lb[lower]])
    rows_ub = np.concatenate([touching[upper], touching[lower]])
    result = linprog(
        sense * c,
        A_ub=A_ub if A_ub.shape[0] else None,
        b_ub=b_ub if A_ub.shape[0] else None,
        A_eq=A_eq if A_eq.shape[0] else None,
        b_eq=b_eq if A_eq.shape[0] else None,
        bounds=np.column_stack([np.zeros(len(atoms)), program.x_upper[atoms]]),
        method="highs",
    )
    if result.status != 0:
        return ()
    binding = []
    if A_eq.shape[0]:
        binding.append(touching[equal][np.abs(result.eqlin.marginals) > DUAL_TOLERANCE])
    if A_ub.shape[0]:
        binding.append(rows_ub[np.abs(result.ineqlin.marginals) > DUAL_TOLERANCE])
    rows = np.concatenate(binding) if binding else np.array([], dtype=np.int64)
    return tuple(sorted({int(program.row_cell[r]) for r in rows}))


def _whole(row: sp.csr_matrix) -> bool:
    return bool(np.all(row.data == np.round(row.data)))


def _judge(value: float, low: float, high: float, threshold: int) -> str:
    """'' when a sensitive cell with this interval is protected, else why not."""
    small = low >= 1 and high <= threshold - 1
    narrow = high - low < threshold - 1
    shown = f"[{low:g}, {high:g}]"
    if small and narrow:
        return (
            f"interval {shown} lies within 1..{threshold - 1} and is narrower than {threshold - 1}"
        )
    if small:
        return f"interval {shown} lies within 1..{threshold - 1}"
    if narrow:
        return f"interval {shown} is narrower than {threshold - 1}"
    return ""


def intervals(tables: LinearTableSet, suppressed: np.ndarray, *, pinning: bool = False) -> Audit:
    """The work of :func:`audit`; with ``pinning`` also the cells that pin each unprotected
    cell (:attr:`Audit.pinned_by`)."""
    suppressed = tables.check_suppressed(suppressed)
    program = _program(tables, ~suppressed)
    hidden = np.flatnonzero(suppressed)
    has_den = np.diff(tables.denominator.indptr) > 0
    sensitive = tables.sensitive()
    x_true = program.x_true
    num_true = tables.numerator @ x_true
    den_true = tables.denominator @ x_true

    # objectives: the numerator of every hidden cell, then the denominators of hidden ratios
    ratio_hidden = hidden[has_den[hidden]]
    objectives = sp.vstack(
        [tables.numerator[hidden], tables.denominator[ratio_hidden]], format="csr"
    )
    target_cell = np.concatenate([hidden, ratio_hidden])
    low = np.full(len(target_cell), np.nan)
    high = np.full(len(target_cell), np.nan)

    _n_comp, component = _components(tables)
    neighbourhood = _neighbourhoods(tables, NEIGHBOURHOOD_ATOMS)
    objectives_abs = abs(objectives).tocsr()
    # the neighbourhoods each objective touches
    keys: dict[tuple[int, ...], list[int]] = {}
    for k in range(len(target_cell)):
        atoms = objectives_abs.indices[objectives_abs.indptr[k] : objectives_abs.indptr[k + 1]]
        cell = target_cell[k]
        cell_atoms = np.concatenate(
            [
                atoms,
                tables.denominator.indices[
                    tables.denominator.indptr[cell] : tables.denominator.indptr[cell + 1]
                ],
            ]
        )
        key = tuple(sorted({int(neighbourhood[a]) for a in cell_atoms})) or (-1,)
        keys.setdefault(key, []).append(k)
    for key, ks in keys.items():
        atoms = np.flatnonzero(np.isin(neighbourhood, key))
        if len(atoms) == 0:
            low[ks] = high[ks] = 0.0
            continue
        lo, hi = _solve_range(program, atoms, objectives[ks], fix_outside=True)
        low[ks], high[ks] = lo, hi

    whole = np.array([_whole(objectives[k]) for k in range(len(target_cell))], dtype=bool)

    def rounded(k: int) -> tuple[float, float]:
        lo, hi = low[k], high[k]
        if whole[k]:
            lo = float(np.ceil(lo - 1e-6)) if np.isfinite(lo) else lo
            hi = float(np.floor(hi + 1e-6)) if np.isfinite(hi) else hi
        return lo + 0.0, hi + 0.0  # no -0.0

    n_hidden = len(hidden)
    # escalate: a sensitive cell that fails with the outside fixed is bounded over its component
    retry = [
        k
        for k in range(n_hidden)
        if sensitive[hidden[k]] and _judge(num_true[hidden[k]], *rounded(k), tables.threshold)
    ]
    by_component: dict[int, list[int]] = {}
    for k in retry:
        atoms = objectives_abs.indices[objectives_abs.indptr[k] : objectives_abs.indptr[k + 1]]
        comp = int(component[atoms[0]]) if len(atoms) else -1
        by_component.setdefault(comp, []).append(k)
    for comp, ks in by_component.items():
        if comp < 0:
            continue
        atoms = np.flatnonzero(component == comp)
        lo, hi = _solve_range(program, atoms, objectives[ks], fix_outside=False)
        low[ks], high[ks] = lo, hi

    rows = []
    pinned_by: dict[str, tuple[str, ...]] = {}
    den_of = {int(c): n_hidden + j for j, c in enumerate(ratio_hidden)}
    for k, cell in enumerate(hidden):
        lo, hi = rounded(k)
        reason = _judge(num_true[cell], lo, hi, tables.threshold) if sensitive[cell] else ""
        row = {
            "cell_id": tables.cell_id[cell],
            "table": tables.table[cell],
            "value": float(num_true[cell]),
            "low": lo,
            "high": hi,
            "sensitive": bool(sensitive[cell]),
            "protected": reason == "",
            "reason": reason,
            "denominator": np.nan,
            "denominator_low": np.nan,
            "denominator_high": np.nan,
        }
        if cell in den_of:
            d_lo, d_hi = rounded(den_of[cell])
            row.update(
                denominator=float(den_true[cell]), denominator_low=d_lo, denominator_high=d_hi
            )
        rows.append(row)
        if reason and pinning:
            atoms = np.flatnonzero(component == component[objectives_abs[k].indices[0]])
            c = objectives[k, atoms].toarray().ravel()
            cells: set[int] = set()
            if lo > TOLERANCE:  # the minimum could still come down
                cells.update(_pinning_cells(program, atoms, c, 1))
            cells.update(_pinning_cells(program, atoms, c, -1))
            pinned_by[str(tables.cell_id[cell])] = tuple(
                str(tables.cell_id[j]) for j in sorted(cells)
            )
    table = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    table = table.astype({"sensitive": bool, "protected": bool})
    if pinning:
        reasons = table["reason"].copy()
        for i, cell_id in enumerate(table["cell_id"]):
            if pinned_by.get(cell_id):
                shown = ", ".join(pinned_by[cell_id][:5])
                more = len(pinned_by[cell_id]) - 5
                reasons.iloc[i] += f"; pinned by {shown}" + (
                    f" and {more} more" if more > 0 else ""
                )
        table["reason"] = reasons
    return Audit(table=table, threshold=tables.threshold, pinned_by=pinned_by)


def audit(tables: LinearTableSet, suppressed: np.ndarray) -> Audit:
    """The intruder's feasibility interval of every suppressed cell, and whether each small
    count among them is protected (the rule in the module docstring).

    ``suppressed``: a boolean array over the cells of ``tables`` (True = hidden). Everything
    else is taken as published, within its published interval. Returns an :class:`Audit`
    whose ``table`` has one row per suppressed cell, and whose ``pinned_by`` names, for each
    unprotected cell, the shown cells that pin it.
    """
    return intervals(tables, suppressed, pinning=True)
