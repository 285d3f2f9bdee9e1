"""The intruder's audit: what can be worked out about each hidden cell from everything shown.

:func:`audit` plays an intruder who holds every published cell of a release at once. For
each suppressed cell it finds the *feasibility interval* of its value: the least and the
greatest value it can take over all non-negative atoms that reproduce every shown cell
within its published interval. That is a pair of linear programs per hidden cell (Hundepool
et al. 2012, §4.2 and §4.4; the "attacker" or "audit" problem of τ-ARGUS and of R's
sdcTable, ``attack()``), solved here with HiGHS through scipy (:class:`_Solver`: scipy's
binding of the HiGHS object, or :func:`scipy.optimize.milp` and
:func:`scipy.optimize.linprog`). Only the building of the programs is written by hand.

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

Speed: the atoms split into neighbourhoods (a kommune's strata, margins and total; then a
region), and a hidden cell is first bounded in its neighbourhood twice: with the atoms
outside fixed at their true values (an intruder who knows more than anyone can: the interval
lies within the true one) and with only the cells wholly inside (one who knows less: the
interval contains the true one). Where the first program's dual solution uses no cell that
reaches outside, or the two intervals agree, the interval is exact; the rest is bounded in
a region, then over its whole connected component. Each program is passed to HiGHS once and
solved for one objective after another from the last basis (:class:`_Solver`). An
:class:`Auditor` keeps what it found per neighbourhood, for the next pattern of
:func:`stikprove.release.suppression.protect`, and may bound the small counts only, or only
judge them (:meth:`Auditor.run`).

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer,
K., & de Wolf, P.-P. (2012). Statistical Disclosure Control. Wiley, ch. 4.
Fischetti, M., & Salazar-González, J.-J. (2001). Solving the cell suppression problem on
tabular data with linear constraints. Management Science 47(7), 1008–1027.
Meindl, B. sdcTable: Methods for statistical disclosure control in tabular data (R package).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from stikprove.release.linear import TOLERANCE, LinearTableSet, ReleaseError

__all__ = ["AUDIT_CELLS", "AUDIT_COLUMNS", "Audit", "Auditor", "audit"]

AUDIT_COLUMNS = (
    "cell_id", "table", "value", "low", "high", "sensitive", "protected", "reason",
    "denominator", "denominator_low", "denominator_high",
)  # fmt: skip
"""Columns of :attr:`Audit.table`, one row per suppressed cell: its id and table; ``value``,
the true count (for a ratio cell its numerator); ``low``/``high``, the intruder's interval
for it; ``sensitive`` (a small count that must be protected); ``protected``; ``reason``
("" or why it is not protected); ``denominator``, ``denominator_low``/``_high`` for a ratio
cell (NaN for a count cell)."""

AUDIT_CELLS = ("all", "small", "judge")
"""What :func:`audit` bounds exactly: every hidden cell, the hidden small counts, or the small
counts only as far as it takes to judge them (:meth:`Auditor.run`)."""

#: The sizes (in atoms) of the neighbourhoods a hidden cell is bounded in before its whole
#: component: a kommune's strata and margins, then a region's.
NEIGHBOURHOOD_ATOMS = (400, 4000)

#: A dual value this small does not count as binding.
DUAL_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Audit:
    """The intruder's intervals for the suppressed cells of a release.

    ``table``: one row per suppressed cell (:data:`AUDIT_COLUMNS`). ``threshold``: t.
    ``pinned_by``: for each unprotected cell, the shown cells whose published values bound
    its interval (the binding constraints of the intruder's program): hiding one of them is
    necessary to protect it. ``cuts``: for each unprotected cell, one or two mappings from
    those cells to a weight w_j in (0, 1] such that every pattern that protects it hides
    cells with Σ w_j ≥ 1 (w_j = 1: hiding that cell alone could be enough; the weights come
    from the dual values of the intruder's program, see :func:`audit`);
    :func:`stikprove.release.suppression.protect` adds them as constraints.
    """

    table: pd.DataFrame
    threshold: int
    pinned_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cuts: Mapping[str, tuple[Mapping[str, float], ...]] = field(default_factory=dict)

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
    nonnegative: np.ndarray  # the row has no negative coefficient
    x_true: np.ndarray
    x_upper: np.ndarray
    Gc: sp.csc_matrix  # G by columns, to find the rows touching a set of atoms


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
    x_true = tables.atom_values.astype(float)
    nonnegative = np.ones(G.shape[0], dtype=bool)
    nonnegative[np.unique(G.tocoo().row[G.tocoo().data < 0])] = False
    return _Program(G, lb, ub, row_cell, nonnegative, x_true, tables.atom_upper, G.tocsc())


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


class _Solver:
    """One intruder's program, lb ≤ A x ≤ ub and 0 ≤ x ≤ upper, solved for one objective
    after another.

    HiGHS through scipy: scipy's own binding of the HiGHS object (``scipy.optimize._highspy``,
    which :func:`scipy.optimize.milp` and :func:`~scipy.optimize.linprog` drive) where it
    exists, so that the model is passed once and each objective is solved from the previous
    basis (hot start: about 0.3 ms a program of a kommune's 110 atoms instead of 3–5 ms);
    otherwise
    :func:`scipy.optimize.milp` (an LP: no integer variables) per objective and
    :func:`scipy.optimize.linprog` for the dual values.
    """

    def __init__(self, A: sp.csr_matrix, lb: np.ndarray, ub: np.ndarray, upper: np.ndarray):
        self.A, self.lb, self.ub, self.upper = A, lb, ub, upper
        self.n = A.shape[1]
        self.highs = _highs_object(A, lb, ub, upper) if _HIGHS is not None else None
        self.last: np.ndarray = np.zeros(0, dtype=np.int32)

    def optimum(self, columns: np.ndarray, coefs: np.ndarray, sense: int) -> float:
        """min over the program of sense · (coefs · x[columns]), times sense (so the max for
        sense = −1): ±inf when unbounded."""
        if len(columns) == 0:
            return 0.0
        if self.highs is None:
            return self._cold(columns, coefs, sense)
        h = self.highs
        if len(self.last):
            h.changeColsCost(len(self.last), self.last, np.zeros(len(self.last)))
        columns = columns.astype(np.int32)
        h.changeColsCost(len(columns), columns, (sense * coefs).astype(float))
        self.last = columns
        h.run()
        status = h.getModelStatus()
        if status == _HIGHS.HighsModelStatus.kOptimal:
            return sense * float(h.getInfo().objective_function_value)
        if status in (
            _HIGHS.HighsModelStatus.kUnbounded,
            _HIGHS.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return -sense * np.inf
        # a hot start that ends without a verdict (HiGHS's "Unknown", seen on the national
        # demo's badly scaled programs): this objective afresh
        return self._cold(columns, coefs, sense)

    def _cold(self, columns: np.ndarray, coefs: np.ndarray, sense: int) -> float:
        """The optimum by :func:`scipy.optimize.milp` from scratch (an LP: no integers)."""
        c = np.zeros(self.n)
        c[columns] = sense * coefs
        constraints = LinearConstraint(self.A, self.lb, self.ub) if self.A.shape[0] else None
        result = milp(c, constraints=constraints, bounds=Bounds(np.zeros(self.n), self.upper))
        if result.status == 0:
            return sense * float(result.fun)
        if result.status == 3 or "unbounded" in result.message.lower():
            return -sense * np.inf
        raise _unsolved(result.message)

    def last_certificate(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows with a non-zero dual value at the last optimum, and those dual values
        (None without the HiGHS object: then every binding row counts as decisive). A
        positive value (HiGHS's sign for a minimisation) marks a row held at its lower
        bound, a negative one at its upper bound."""
        dual = np.asarray(self.highs.getSolution().row_dual)
        used = np.flatnonzero(np.abs(dual) > DUAL_TOLERANCE)
        return used, dual[used]

    def certificate(
        self, columns: np.ndarray, coefs: np.ndarray, sense: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Solve for sense · (coefs · x) and return :meth:`last_certificate`."""
        if self.A.shape[0] == 0 or len(columns) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        if self.highs is not None:
            if not np.isfinite(self.optimum(columns, coefs, sense)):
                return np.zeros(0, dtype=np.int64), np.zeros(0)
            return self.last_certificate()
        c = np.zeros(self.n)
        c[columns] = sense * coefs
        equal = self.lb == self.ub
        upper = ~equal & np.isfinite(self.ub)
        lower = ~equal & np.isfinite(self.lb)
        A_ub = sp.vstack([self.A[upper], -self.A[lower]], format="csr")
        b_ub = np.concatenate([self.ub[upper], -self.lb[lower]])
        rows_ub = np.concatenate([np.flatnonzero(upper), np.flatnonzero(lower)])
        result = linprog(
            c,
            A_ub=A_ub if A_ub.shape[0] else None,
            b_ub=b_ub if A_ub.shape[0] else None,
            A_eq=self.A[equal] if equal.any() else None,
            b_eq=self.lb[equal] if equal.any() else None,
            bounds=np.column_stack([np.zeros(self.n), self.upper]),
            method="highs",
        )
        if result.status != 0:
            return np.zeros(0, dtype=np.int64), None
        used = [np.zeros(0, dtype=np.int64)]
        if equal.any():
            used.append(np.flatnonzero(equal)[np.abs(result.eqlin.marginals) > DUAL_TOLERANCE])
        if A_ub.shape[0]:
            used.append(rows_ub[np.abs(result.ineqlin.marginals) > DUAL_TOLERANCE])
        return np.unique(np.concatenate(used)), None


def _unsolved(message: str) -> ReleaseError:
    return ReleaseError(
        f"the intruder's program could not be solved ({message}); the published intervals "
        "may be inconsistent"
    )


def _load_highs():
    """scipy's binding of the HiGHS object, or None where this scipy has none."""
    try:
        from scipy.optimize._highspy import _core
    except ImportError:  # pragma: no cover - older or newer scipy
        return None
    needed = ("_Highs", "HighsLp", "MatrixFormat", "HighsModelStatus", "kHighsInf")
    return _core if all(hasattr(_core, name) for name in needed) else None


_HIGHS = _load_highs()


def _highs_object(A: sp.csr_matrix, lb: np.ndarray, ub: np.ndarray, upper: np.ndarray):
    core = _HIGHS
    inf = core.kHighsInf
    h = core._Highs()
    h.setOptionValue("output_flag", False)
    # primal simplex: a new objective leaves the last basis feasible, so each solve starts
    # from it (a few iterations instead of a few hundred with the dual simplex)
    h.setOptionValue("simplex_strategy", 4)
    if A.shape[1] < 1000:
        h.setOptionValue("presolve", "off")
    csc = A.tocsc()
    lp = core.HighsLp()
    lp.num_col_ = A.shape[1]
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = np.zeros(A.shape[1])
    lp.col_lower_ = np.zeros(A.shape[1])
    lp.col_upper_ = np.where(np.isfinite(upper), upper, inf)
    lp.row_lower_ = np.where(np.isfinite(lb), lb, -inf)
    lp.row_upper_ = np.where(np.isfinite(ub), ub, inf)
    lp.a_matrix_.format_ = core.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr
    lp.a_matrix_.index_ = csc.indices
    lp.a_matrix_.value_ = csc.data
    lp.a_matrix_.num_col_ = A.shape[1]
    lp.a_matrix_.num_row_ = A.shape[0]
    h.passModel(lp)
    return h


def _subprograms(
    program: _Program, atoms: np.ndarray
) -> tuple[_Solver, _Solver, np.ndarray, np.ndarray]:
    """Two programs over ``atoms``: the *inner* one with every other atom fixed at its true
    value (an intruder who knows more than anyone can: its interval lies within the true
    one) and the *outer* one with only the rows of cells wholly among ``atoms`` (one who
    knows less: its interval contains the true one); and the program's rows of each."""
    pieces = [program.Gc.indices[program.Gc.indptr[a] : program.Gc.indptr[a + 1]] for a in atoms]
    touching = np.unique(np.concatenate(pieces)) if pieces else np.zeros(0, dtype=np.int64)
    rows = program.G[touching]
    A = rows[:, atoms].tocsr()
    offset = rows @ program.x_true - A @ program.x_true[atoms]
    lb, ub = program.lb[touching], program.ub[touching]
    upper = program.x_upper[atoms]
    inner = _Solver(A, lb - offset, ub - offset, upper)
    internal = np.diff(A.indptr) == np.diff(rows.indptr)
    if internal.all():
        return inner, inner, touching, touching
    outer = _Solver(A[internal], lb[internal], ub[internal], upper)
    return inner, outer, touching, touching[internal]


def _rounded(low: float, high: float, whole: bool) -> tuple[float, float]:
    """An interval rounded inwards to whole numbers when the target has whole coefficients."""
    if whole:
        low = float(np.ceil(low - 1e-6)) if np.isfinite(low) else low
        high = float(np.floor(high + 1e-6)) if np.isfinite(high) else high
    return low + 0.0, high + 0.0  # no -0.0


def _bound(
    inner: _Solver, outer: _Solver, rows: np.ndarray, outer_rows: np.ndarray,
    wide: np.ndarray, columns: np.ndarray, coefs: np.ndarray, whole: bool,
    judge: int | None = None,
) -> tuple[float, float, Callable[[], list]] | None:  # fmt: skip
    """The exact interval of a target in a neighbourhood, and how to get the certificates
    (program rows and dual values) of its minimum and maximum; or None when the
    neighbourhood cannot tell.

    The inner program's bound is exact when its dual solution uses no row that reaches
    outside (that dual solution then bounds the whole program as well), or when the outer
    program's bound is the same.

    With ``judge`` = t, an interval that decides the protection rule as the exact one would
    (:meth:`Auditor.run` with ``cells="judge"``)."""
    if judge is not None:
        return _decide(inner, outer, rows, outer_rows, wide, columns, coefs, whole, judge)
    bounds = []
    found: list = []  # per direction: (program rows, duals), or how to find them
    for sense in (1, -1):
        value = inner.optimum(columns, coefs, sense)
        if inner.highs is not None and np.isfinite(value):
            used, dual = inner.last_certificate()
        else:
            used, dual = np.zeros(0, dtype=np.int64), None
        if inner is outer or (inner.highs is not None and not wide[used].any()):
            bounds.append(value)
            if inner.highs is None:  # solve again when asked
                found.append(lambda s=sense: _global(rows, inner.certificate(columns, coefs, s)))
            else:
                found.append((rows[used], dual))
            continue
        other = outer.optimum(columns, coefs, sense)
        if _rounded(value, value, whole) != _rounded(other, other, whole):
            return None
        bounds.append(other)
        if outer.highs is None or not np.isfinite(other):
            found.append(lambda s=sense: _global(outer_rows, outer.certificate(columns, coefs, s)))
        else:
            found.append(_global(outer_rows, outer.last_certificate()))
    low, high = bounds

    def certificates() -> list:
        return [f() if callable(f) else f for f in found]

    return low, high, certificates


def _decide(
    inner: _Solver, outer: _Solver, rows: np.ndarray, outer_rows: np.ndarray,
    wide: np.ndarray, columns: np.ndarray, coefs: np.ndarray, whole: bool, threshold: int,
    observe: Callable[[], tuple[float, float]] | None = None,
) -> tuple[float, float, Callable[[], list]] | None:  # fmt: skip
    """The first part of :func:`_bound` with ``judge``. ``observe``, when given, takes the
    inner program's last solution as a witness for every target of the neighbourhood and
    returns this target's range over all witnesses so far: a range that already passes the
    rule proves protection without solving further (every witness is a point the intruder
    cannot exclude)."""
    found = []
    values = []
    certified = inner.highs is not None or inner is outer
    for sense in (1, -1):
        values.append(inner.optimum(columns, coefs, sense))
        if inner.highs is not None and np.isfinite(values[-1]):
            if observe is not None:
                seen = observe()
                if _judge(*_rounded(*seen, whole), threshold) == "":
                    return seen[0], seen[1], list  # protected: no certificate needed
            used, dual = inner.last_certificate()
            certified = certified and (inner is outer or not wide[used].any())
            found.append((rows[used], dual))
        else:
            found.append(lambda s=sense: _global(rows, inner.certificate(columns, coefs, s)))
    low, high = values
    if _judge(*_rounded(low, high, whole), threshold) == "":
        return low, high, list  # protected: no certificate needed
    if certified:
        return low, high, lambda: [f() if callable(f) else f for f in found]
    found = []
    values = []
    for sense in (1, -1):
        values.append(outer.optimum(columns, coefs, sense))
        if outer.highs is not None and np.isfinite(values[-1]):
            found.append(_global(outer_rows, outer.last_certificate()))
        else:
            found.append(lambda s=sense: _global(outer_rows, outer.certificate(columns, coefs, s)))
    low, high = values
    if _judge(*_rounded(low, high, whole), threshold) == "":
        return None  # the inner program fails it, the outer passes it: cannot tell here
    return low, high, lambda: [f() if callable(f) else f for f in found]


def _global(rows: np.ndarray, certificate: tuple) -> tuple:
    used, dual = certificate
    return rows[used], dual


def _gains(program: _Program, certificate: tuple) -> dict[int, float]:
    """How far hiding each cell could move the bound a certificate proves (weak duality with
    the same dual values): a row held at its lower bound l ≥ 0 by a dual value y, whose cell
    has only non-negative coefficients, moves it by at most y·l when hidden (its bound
    becomes 0); any other binding row without limit."""
    rows, dual = certificate
    gains: dict[int, float] = {}
    for i, r in enumerate(rows):
        cell = int(program.row_cell[r])
        gain = np.inf
        if dual is not None and dual[i] > 0 and program.nonnegative[r]:
            gain = float(dual[i] * program.lb[r])
        gains[cell] = gains.get(cell, 0.0) + gain
    return gains


def _cuts(
    program: _Program, threshold: int, low: float, high: float, whole: bool, certificates: list
) -> list[dict[int, float]]:
    """The audit cuts of an unprotected cell (:mod:`stikprove.release.suppression`): each a
    weight w_j ∈ (0, 1] per shown cell j, with Σ w_j · s_j ≥ 1 for every pattern that
    protects it. ``low``/``high`` are the program's (unrounded) bounds, ``certificates``
    those of the minimum and the maximum."""
    down = _gains(program, certificates[0]) if low > TOLERANCE else {}
    up = _gains(program, certificates[1])
    lo, hi = _rounded(low, high, whole)
    cuts = []
    if hi - lo < threshold - 1:  # protection needs U − L ≥ t − 1
        deficit = threshold - 1 - (high - low)
        cells = set(up) | set(down)
        gain = {j: up.get(j, 0.0) + down.get(j, 0.0) for j in cells}
        cuts.append({j: 1.0 if deficit <= 0 else min(g / deficit, 1.0) for j, g in gain.items()})
    if lo >= 1 and hi <= threshold - 1:  # and U ≥ t or L ≤ 0
        cells = set(up) | set(down)
        cuts.append(
            {
                j: min(
                    up.get(j, 0.0) / (threshold - high) + down.get(j, 0.0) / max(low, TOLERANCE),
                    1.0,
                )
                for j in cells
            }
        )
    return [{j: w for j, w in cut.items() if w > 0} for cut in cuts]


def _judge(low: float, high: float, threshold: int) -> str:
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


class Auditor:
    """The intruder's audit of one table set, run for one suppression pattern after another.

    What does not depend on the pattern (the neighbourhoods, the components) is found once,
    and the bounds found in a neighbourhood are kept with the pattern of the cells that
    touch it: when :func:`stikprove.release.suppression.protect` audits its next pattern,
    a neighbourhood whose cells were neither hidden nor shown since gives the same bounds
    without solving again (its programs are the same).
    """

    def __init__(self, tables: LinearTableSet):
        self.tables = tables
        self.incidence = (abs(tables.numerator) + abs(tables.denominator)).tocsr()
        self.cells_of_atom = self.incidence.tocsc()
        self.neighbourhoods = [_neighbourhoods(tables, limit) for limit in NEIGHBOURHOOD_ATOMS]
        self.component = _components(tables)[1]
        self.sensitive = tables.sensitive()
        x_true = tables.atom_values.astype(float)
        self.num_true = tables.numerator @ x_true
        self.den_true = tables.denominator @ x_true
        self.cache: dict[tuple, tuple[np.ndarray, dict]] = {}

    def _touching(self, atoms: np.ndarray) -> np.ndarray:
        """The cells with an atom among ``atoms``."""
        csc = self.cells_of_atom
        pieces = [csc.indices[csc.indptr[a] : csc.indptr[a + 1]] for a in atoms]
        return np.unique(np.concatenate(pieces)) if pieces else np.zeros(0, dtype=np.int64)

    def run(
        self,
        suppressed: np.ndarray,
        *,
        pinning: bool = True,
        cells: str = "all",
        exact: bool | None = None,
    ) -> Audit:
        """The :class:`Audit` of a pattern; with ``pinning`` also the cells that pin each
        unprotected cell and the cuts (:attr:`Audit.pinned_by`, :attr:`Audit.cuts`).

        ``cells`` (:data:`AUDIT_CELLS`): ``"all"``, the exact interval of every hidden cell;
        ``"small"``, of the hidden small counts only (NaN for the others); ``"judge"``, the
        small counts bounded only as far as it takes to judge them: an interval found with the
        atoms outside a neighbourhood fixed that passes the rule passes in truth (the true
        interval contains it), and one found with only the rows inside it that fails fails in
        truth (the true interval lies within it). ``protected`` is the same in all three.
        ``exact=False`` is ``cells="judge"``, ``exact=True`` ``cells="all"``."""
        if exact is not None:
            cells = "all" if exact else "judge"
        if cells not in AUDIT_CELLS:
            raise ReleaseError(
                f"cells ({cells!r}) must be one of {', '.join(map(repr, AUDIT_CELLS))}"
            )
        exact = cells != "judge"
        tables = self.tables
        suppressed = tables.check_suppressed(suppressed)
        program: _Program | None = None
        hidden = np.flatnonzero(suppressed)
        n_hidden = len(hidden)
        has_den = np.diff(tables.denominator.indptr) > 0
        ratio_hidden = hidden[has_den[hidden]] if cells == "all" else np.zeros(0, dtype=np.int64)
        # the targets: the numerator of every hidden cell, the denominator of hidden ratios
        target_cell = np.concatenate([hidden, ratio_hidden]).astype(np.int64)
        target_part = np.r_[
            np.zeros(n_hidden, dtype=np.int64), np.ones(len(ratio_hidden), np.int64)
        ]
        matrices = (tables.numerator, tables.denominator)
        low = np.full(len(target_cell), np.nan)
        high = np.full(len(target_cell), np.nan)
        whole = np.ones(len(target_cell), dtype=bool)
        certificates: dict[int, Callable[[], list]] = {}
        threshold = tables.threshold

        def target(k: int) -> tuple[np.ndarray, np.ndarray]:
            matrix, cell = matrices[target_part[k]], target_cell[k]
            start, stop = matrix.indptr[cell], matrix.indptr[cell + 1]
            return matrix.indices[start:stop], matrix.data[start:stop]

        for k in range(len(target_cell)):
            coefs = target(k)[1]
            whole[k] = bool(np.all(coefs == np.round(coefs)))

        def the_program() -> _Program:
            nonlocal program
            if program is None:
                program = _program(tables, ~suppressed)
            return program

        # Each target is bounded in neighbourhoods of growing size, by the inner and the
        # outer program; where the two agree the interval is exact. What is left is bounded
        # over its whole component.
        todo = (
            np.arange(len(target_cell))
            if cells == "all"
            else np.flatnonzero(self.sensitive[target_cell])
        )
        levels = [*self.neighbourhoods, None]
        for level, neighbourhood in enumerate(levels):
            if len(todo) == 0:
                break
            labels = self.component if neighbourhood is None else neighbourhood
            keys: dict[tuple[int, ...], list[int]] = {}
            for k in todo:
                cell = target_cell[k]
                atoms = self.incidence.indices[
                    self.incidence.indptr[cell] : self.incidence.indptr[cell + 1]
                ]
                keys.setdefault(tuple(np.unique(labels[atoms])), []).append(int(k))
            left: list[int] = []
            for key, ks in keys.items():
                atoms = np.flatnonzero(np.isin(labels, key))
                if len(atoms) == 0:  # a cell of no atoms is 0
                    continue
                touching = self._touching(atoms)
                status = suppressed[touching]
                cached = self.cache.get((exact, level, key))
                if cached is None or not np.array_equal(cached[0], status):
                    cached = (status, {})
                    self.cache[(exact, level, key)] = cached
                results = cached[1]
                missing = [k for k in ks if (target_cell[k], target_part[k]) not in results]
                if missing:
                    self._bound_all(
                        the_program(), atoms, missing, target, whole, results, target_cell,
                        target_part, last=neighbourhood is None, judge=None if exact else threshold,
                    )  # fmt: skip
                for k in ks:
                    result = results[(target_cell[k], target_part[k])]
                    if result is None:
                        left.append(k)
                    else:
                        low[k], high[k], certificates[k] = result
            todo = np.array(left, dtype=np.int64)

        rows_out = []
        pinned_by: dict[str, tuple[str, ...]] = {}
        cut_weights: dict[str, tuple[dict[str, float], ...]] = {}
        den_of = {int(c): n_hidden + j for j, c in enumerate(ratio_hidden)}
        for k, cell in enumerate(hidden):
            lo, hi = _rounded(low[k], high[k], whole[k])
            reason = _judge(lo, hi, threshold) if self.sensitive[cell] else ""
            if cells != "all" and not self.sensitive[cell]:
                lo = hi = np.nan
            cell_id = str(tables.cell_id[cell])
            if reason and pinning:
                found = certificates[k]()
                cuts = _cuts(found[0], threshold, low[k], high[k], whole[k], found[1:])
                pinning_cells = sorted({j for c in cuts for j in c})
                pinned_by[cell_id] = tuple(str(tables.cell_id[j]) for j in pinning_cells)
                cut_weights[cell_id] = tuple(
                    {str(tables.cell_id[j]): w for j, w in sorted(c.items())} for c in cuts
                )
                if pinned_by[cell_id]:
                    more = len(pinned_by[cell_id]) - 5
                    reason += f"; pinned by {', '.join(pinned_by[cell_id][:5])}" + (
                        f" and {more} more" if more > 0 else ""
                    )
            row = {
                "cell_id": cell_id,
                "table": str(tables.table[cell]),
                "value": float(self.num_true[cell]),
                "low": lo,
                "high": hi,
                "sensitive": bool(self.sensitive[cell]),
                "protected": reason == "",
                "reason": reason,
                "denominator": np.nan,
                "denominator_low": np.nan,
                "denominator_high": np.nan,
            }
            if cell in den_of:
                d = den_of[cell]
                d_lo, d_hi = _rounded(low[d], high[d], whole[d])
                row.update(
                    denominator=float(self.den_true[cell]),
                    denominator_low=d_lo,
                    denominator_high=d_hi,
                )
            rows_out.append(row)
        table = pd.DataFrame(rows_out, columns=list(AUDIT_COLUMNS))
        table = table.astype({"sensitive": bool, "protected": bool, "low": float, "high": float})
        return Audit(table, threshold, pinned_by, cut_weights)

    @staticmethod
    def _bound_all(
        program: _Program, atoms: np.ndarray, ks: list[int], target, whole: np.ndarray,
        results: dict, target_cell: np.ndarray, target_part: np.ndarray, *, last: bool,
        judge: int | None,
    ) -> None:  # fmt: skip
        """Bound the targets ``ks`` over ``atoms`` into ``results`` (None: not exact here;
        with ``judge`` = t, not decided here)."""
        inner, outer, rows, outer_rows = _subprograms(program, atoms)
        if last:
            outer, outer_rows = inner, rows  # a whole component: nothing reaches outside
        wide = ~np.isin(rows, outer_rows)  # inner rows that reach outside the atoms
        local = np.full(program.G.shape[1], -1)
        local[atoms] = np.arange(len(atoms))
        unique: dict[tuple[bytes, bytes], int] = {}
        objectives: list[tuple[np.ndarray, np.ndarray, bool]] = []
        for k in ks:
            columns, coefs = target(k)
            columns = local[columns]
            same = (columns.tobytes(), coefs.tobytes())
            if same not in unique:
                unique[same] = len(objectives)
                objectives.append((columns, coefs, bool(whole[k])))
        observe_for = None
        if judge is not None and inner.highs is not None:
            matrix = sp.csr_matrix(
                (
                    np.concatenate([c for _, c, _ in objectives]),
                    np.concatenate([i for i, _, _ in objectives]),
                    np.r_[0, np.cumsum([len(i) for i, _, _ in objectives])],
                ),
                shape=(len(objectives), len(atoms)),
            )
            seen_low = matrix @ program.x_true[atoms]
            seen_high = seen_low.copy()

            def observe_for(i: int) -> Callable[[], tuple[float, float]]:
                def observe() -> tuple[float, float]:
                    values = matrix @ np.asarray(inner.highs.getSolution().col_value)
                    np.minimum(seen_low, values, out=seen_low)
                    np.maximum(seen_high, values, out=seen_high)
                    return float(seen_low[i]), float(seen_high[i])

                return observe

        done: list[tuple | None] = []
        for i, (columns, coefs, is_whole) in enumerate(objectives):
            if observe_for is not None:
                seen = (float(seen_low[i]), float(seen_high[i]))
                if _judge(*_rounded(*seen, is_whole), judge) == "":
                    done.append((seen[0], seen[1], list))
                    continue
                result = _decide(
                    inner, outer, rows, outer_rows, wide, columns, coefs, is_whole, judge,
                    observe_for(i),
                )  # fmt: skip
            else:
                result = _bound(
                    inner, outer, rows, outer_rows, wide, columns, coefs, is_whole, judge
                )
            if result is not None:
                low, high, found = result
                result = (low, high, lambda f=found: [program, *f()])
            done.append(result)
        for k in ks:
            columns, coefs = target(k)
            same = (local[columns].tobytes(), coefs.tobytes())
            results[(target_cell[k], target_part[k])] = done[unique[same]]


def audit(tables: LinearTableSet, suppressed: np.ndarray, *, cells: str = "all") -> Audit:
    """The intruder's feasibility interval of every suppressed cell, and whether each small
    count among them is protected (the rule in the module docstring).

    ``suppressed``: a boolean array over the cells of ``tables`` (True = hidden). Everything
    else is taken as published, within its published interval. Returns an :class:`Audit`
    whose ``table`` has one row per suppressed cell, and whose ``pinned_by`` and ``cuts``
    name, for each unprotected cell, the shown cells that pin it. ``cells="small"`` bounds
    only the small counts (the others' intervals are NaN; faster where many cells are
    hidden), ``cells="judge"`` only judges them (:data:`AUDIT_CELLS`).
    """
    return Auditor(tables).run(suppressed, pinning=True, cells=cells)
