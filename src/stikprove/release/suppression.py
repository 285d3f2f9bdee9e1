"""Secondary suppression chosen for least cost, over all linked tables of a release at once.

:func:`protect` decides which cells of a :class:`~stikprove.release.linear.LinearTableSet` to
hide besides the primary ones, so that no small count can be worked out from what is shown,
at the least total cost (hide small cells, keep totals and the protocol's key groups). It is
the cell-suppression problem of Hundepool et al. (2012, §4.4) in the form of Fischetti &
Salazar-González (2001): a binary variable per cell and linear constraints, solved as one
mixed-integer program per independent part of the table set, the way τ-ARGUS and R's
sdcTable (Meindl; ``protectTable(method = "OPT")``) protect linked hierarchical tables
(de Wolf 2002 on hierarchical and linked tables). The solving is HiGHS through
:func:`scipy.optimize.milp`; only the building of the program is written by hand.

The program
    s_c ∈ {0, 1} per cell (1 = hidden), minimise Σ cost_c · s_c, subject to
    - s_c = 1 for a primary cell, s_c = 0 for a cell that is ``forced_shown``; the cells of
      one ``group`` take one value;
    - **no singleton**: for every relation r and member i, s_i ≤ Σ_{j ∈ r, j ≠ i} s_j (a
      relation never has exactly one hidden member, which it would give away);
    - **capacity** (the protection level): for every primary *sensitive* count cell p (value
      1..t−1) and every relation r containing p,
      Σ_{j ∈ r, j ≠ p} (|a_rj| / |a_rp|) · v_j · s_j ≥ t − v_p,
      so that the hidden partners can absorb a rise of p to t: within that one relation the
      intruder's interval for p is then [0, ≥ t], which passes the audit's rule (it does not
      lie within 1..t−1, and it is at least t − 1 wide). Zeros give no capacity;
    - **audit cuts**, added round by round: when the intruder's audit
      (:func:`stikprove.release.audit.audit`) still pins a hidden sensitive cell p, the
      shown cells B whose published values bind its interval (the non-zero dual values of the
      intruder's linear program) get Σ_{j ∈ B} s_j ≥ s_p. Any pattern that protects p hides
      one of them (while all of B stay shown, the same dual solution bounds p as tightly), so
      the cut removes no protecting pattern and the optimum stays an optimum (the
      constraint-generation scheme of Fischetti & Salazar-González 2001).

Decomposition: the cells split into the connected components of relations, groups and cuts,
and each component is one program with its own time limit. A component that stops at the
limit uses HiGHS's best pattern found (status "time limit"); one with no pattern at all is
solved by the greedy rule (hide the cheapest partner of a broken constraint until none is
broken; status "heuristic"). A component that cannot be protected at all (a primary cell
whose partners are all forced shown) is solved with those constraints relaxed, and its cells
are listed in :attr:`Protection.unprotected`, never passed over silently.

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Schulte Nordholt, E., Spicer,
K., & de Wolf, P.-P. (2012). Statistical Disclosure Control. Wiley, ch. 4.
Fischetti, M., & Salazar-González, J.-J. (2001). Solving the cell suppression problem on
tabular data with linear constraints. Management Science 47(7), 1008–1027.
de Wolf, P.-P. (2002). HiTaS: a heuristic approach to cell suppression in hierarchical
tables. In Inference Control in Statistical Databases, LNCS 2316, 74–82. Springer.
Meindl, B. sdcTable: Methods for statistical disclosure control in tabular data (R package).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from stikprove.release.audit import AUDIT_CELLS, Audit, Auditor
from stikprove.release.linear import LinearTableSet, ReleaseError

__all__ = ["METHODS", "STATUSES", "Protection", "protect"]

METHODS = ("optimal", "greedy")
"""How :func:`protect` chooses the pattern: the cost-minimising program, or the greedy rule."""

#: Added to (or taken from) a cell's cost when it changes from the last round's pattern.
TIE_BREAK = 1e-6

STATUSES = ("optimal", "time limit", "heuristic")
""":attr:`Protection.status`, worst over the components: every component solved to
optimality; some stopped at the time limit with a feasible pattern; some solved greedily."""


@dataclass(frozen=True)
class Protection:
    """A suppression pattern and the intruder's audit of it.

    ``suppressed``, ``primary``, ``secondary``: boolean arrays over the cells (secondary =
    suppressed and not primary); ``cost``: Σ cost of the suppressed cells; ``status``: one of
    :data:`STATUSES`; ``rounds``: how many times the pattern was chosen and audited (1 when
    the first pattern passed); ``audit``: the final :class:`~stikprove.release.audit.Audit`;
    ``relaxed``: ids of the cells whose constraints (no singleton, capacity, audit cut) could
    not all be met, because the cells they need are forced shown (the audit says whether
    that leaves a small count unprotected);
    ``unprotected``: ids of the suppressed small counts that are still not protected (an
    intruder can narrow them to within 1..t−1 or to fewer than t values), empty when the
    release is safe.
    """

    suppressed: np.ndarray
    primary: np.ndarray
    secondary: np.ndarray
    cost: float
    status: str
    rounds: int
    audit: Audit
    unprotected: tuple[str, ...]
    relaxed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no suppressed small count is left unprotected."""
        return not self.unprotected

    def __str__(self) -> str:
        return (
            f"{int(self.suppressed.sum())} cells suppressed ({int(self.primary.sum())} primary, "
            f"{int(self.secondary.sum())} secondary), cost {self.cost:g}, {self.status}, "
            f"{self.rounds} round(s); "
            + (
                "every small count protected"
                if self.ok
                else f"UNPROTECTED: {', '.join(self.unprotected)}"
            )
        )


# ---- the program -----------------------------------------------------------------------------


@dataclass
class _Rows:
    """Constraint rows A s ≥ lb over the cells, with the cell each row protects (-1 none)."""

    A: sp.csr_matrix
    lb: np.ndarray
    owner: np.ndarray


def _relation_rows(tables: LinearTableSet) -> _Rows:
    R = tables.relations
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lb: list[float] = []
    owner: list[int] = []
    value = tables.value
    threshold = tables.threshold
    sensitive_primary = tables.primary & tables.is_count & tables.sensitive()
    n = 0
    for r in range(R.shape[0]):
        members = R.indices[R.indptr[r] : R.indptr[r + 1]]
        signs = R.data[R.indptr[r] : R.indptr[r + 1]]
        coefs = np.abs(signs)
        if len(members) < 2:
            continue
        for i, member in enumerate(members):
            # no singleton: Σ_{j≠i} s_j − s_i ≥ 0
            weights = np.ones(len(members))
            weights[i] = -1.0
            rows.append(np.full(len(members), n))
            cols.append(members)
            vals.append(weights)
            lb.append(0.0)
            owner.append(int(member))
            n += 1
            if sensitive_primary[member]:
                need = float(threshold - value[member])
                # a partner of the same sign falls as p rises (down to 0: its value counts);
                # one of the other sign (a total) rises with it, without limit in r
                same_sign = np.sign(signs) == np.sign(signs[i])
                capacity = np.where(same_sign, coefs / coefs[i] * value[members], need)
                capacity[i] = 0.0
                rows.append(np.full(len(members), n))
                cols.append(members)
                vals.append(capacity)
                lb.append(need)
                owner.append(int(member))
                n += 1
    if n == 0:
        return _Rows(sp.csr_matrix((0, tables.n_cells)), np.zeros(0), np.zeros(0, dtype=np.int64))
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, tables.n_cells),
    )
    return _Rows(A, np.array(lb), np.array(owner, dtype=np.int64))


def _cut_rows(tables: LinearTableSet, cuts: list[tuple[int, dict[int, float]]]) -> _Rows:
    """Rows Σ_j w_j · s_j − s_p ≥ 0, one per audit cut."""
    if not cuts:
        return _Rows(sp.csr_matrix((0, tables.n_cells)), np.zeros(0), np.zeros(0, dtype=np.int64))
    rows, cols, vals = [], [], []
    for n, (cell, partners) in enumerate(cuts):
        rows += [n] * (len(partners) + 1)
        cols += [*partners, cell]
        vals += [*partners.values(), -1.0]
    A = sp.csr_matrix((vals, (rows, cols)), shape=(len(cuts), tables.n_cells))
    return _Rows(A, np.zeros(len(cuts)), np.array([c for c, _ in cuts], dtype=np.int64))


def _group_matrix(tables: LinearTableSet) -> sp.csr_matrix:
    """Rows s_i − s_leader = 0 tying each grouped cell to the first cell of its group."""
    group = tables.group
    rows, cols, vals = [], [], []
    n = 0
    for g in np.unique(group[group >= 0]):
        members = np.flatnonzero(group == g)
        for member in members[1:]:
            rows += [n, n]
            cols += [int(members[0]), int(member)]
            vals += [1.0, -1.0]
            n += 1
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, tables.n_cells))


def _fixed(tables: LinearTableSet) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of s: primary cells (and their groups) 1, forced shown 0."""
    lower = tables.primary.astype(float)
    upper = (~tables.forced_shown).astype(float)
    group = tables.group
    for g in np.unique(group[group >= 0]):
        members = group == g
        if np.any(tables.primary[members]):
            lower[members] = 1.0
        if np.any(tables.forced_shown[members]):
            upper[members] = 0.0
    return lower, upper


def _component_labels(tables: LinearTableSet, rows: _Rows, groups: sp.csr_matrix) -> np.ndarray:
    incidence = sp.vstack([rows.A, groups], format="csr")
    incidence = (abs(incidence) > 0).astype(float)
    n_rows = incidence.shape[0]
    graph = sp.bmat([[None, incidence], [incidence.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    return labels[n_rows:]


# ---- solving a component ---------------------------------------------------------------------


def _greedy(
    cost: np.ndarray, A: sp.csr_matrix, lb: np.ndarray, lower: np.ndarray, upper: np.ndarray,
    groups: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Hide the cheapest partner of a broken constraint until none is broken; returns the
    pattern and the rows that could not be satisfied."""
    s = lower.copy()
    group_of = {int(m): g for g in groups for m in g}

    def hide(j: int) -> None:
        members = group_of.get(j, np.array([j]))
        s[members] = 1.0

    for g in groups:
        if np.any(s[g] == 1):
            s[g] = 1.0
    A = A.tocsr()
    hopeless = np.zeros(A.shape[0], dtype=bool)
    while True:
        lhs = A @ s
        broken = np.flatnonzero((lhs < lb - 1e-9) & ~hopeless)
        if len(broken) == 0:
            return s, hopeless
        r = int(broken[0])
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        coefs = A.data[A.indptr[r] : A.indptr[r + 1]]
        candidates = [
            (
                float(sum(cost[group_of.get(int(j), np.array([j]))])) / coef,
                int(j),
            )
            for j, coef in zip(cols, coefs, strict=True)
            if coef > 0 and s[j] == 0 and upper[j] == 1
        ]
        if not candidates:
            hopeless[r] = True
            continue
        hide(min(candidates)[1])


def _solve_component(
    cost: np.ndarray, A: sp.csr_matrix, lb: np.ndarray, lower: np.ndarray, upper: np.ndarray,
    groups: list[np.ndarray], eq: sp.csr_matrix, time_limit: float, method: str,
    previous: np.ndarray | None = None,
) -> tuple[np.ndarray, str, np.ndarray]:  # fmt: skip
    """The pattern of one component, its status and the rows left broken (relaxed). Among
    patterns of equal cost, the one closest to ``previous`` (a tie-break of 1e-6 per cell
    that changes), so that a round changes only what its cuts ask for."""
    n = len(cost)
    none_broken = np.zeros(A.shape[0], dtype=bool)
    if method == "greedy":
        s, hopeless = _greedy(cost, A, lb, lower, upper, groups)
        return s, "heuristic", hopeless
    constraints = [LinearConstraint(A, lb, np.inf)] if A.shape[0] else []
    if eq.shape[0]:
        constraints.append(LinearConstraint(eq, 0, 0))
    options = {"time_limit": time_limit, "disp": False}
    objective = cost if previous is None else cost + TIE_BREAK * (1 - 2 * previous)
    result = milp(
        objective, integrality=np.ones(n), bounds=Bounds(lower, upper), constraints=constraints,
        options=options,
    )  # fmt: skip
    if result.status == 0:
        return np.round(result.x), "optimal", none_broken
    if result.x is not None:
        return np.round(result.x), "time limit", none_broken
    if result.status != 2:  # no pattern within the time limit
        s, hopeless = _greedy(cost, A, lb, lower, upper, groups)
        return s, "heuristic", hopeless
    # infeasible: relax every row with a slack that costs more than hiding everything
    m = A.shape[0]
    penalty = (float(cost.sum()) + 1.0) * 10.0
    A_slack = sp.hstack([A, sp.identity(m, format="csr")], format="csr")
    eq_slack = sp.hstack([eq, sp.csr_matrix((eq.shape[0], m))], format="csr")
    constraints = [LinearConstraint(A_slack, lb, np.inf)]
    if eq.shape[0]:
        constraints.append(LinearConstraint(eq_slack, 0, 0))
    bounds = Bounds(
        np.concatenate([lower, np.zeros(m)]), np.concatenate([upper, np.full(m, np.inf)])
    )
    result = milp(
        np.concatenate([cost, np.full(m, penalty)]),
        integrality=np.concatenate([np.ones(n), np.zeros(m)]),
        bounds=bounds,
        constraints=constraints,
        options=options,
    )
    if result.x is None:
        s, hopeless = _greedy(cost, A, lb, lower, upper, groups)
        return s, "heuristic", hopeless
    broken = result.x[n:] > 1e-6
    status = "optimal" if result.status == 0 else "time limit"
    return np.round(result.x[:n]), status, broken


# ---- protect ---------------------------------------------------------------------------------


def protect(
    tables: LinearTableSet,
    *,
    time_limit: float = 20.0,
    max_rounds: int = 10,
    method: str = "optimal",
    final_audit: str = "small",
) -> Protection:
    """Choose the suppression pattern of least cost that protects every small count, and
    audit it (the program and the rule in the module docstring).

    ``time_limit``: seconds per independent component of the program; ``max_rounds``: how
    many times at most the pattern is chosen and audited (each round adds a constraint for
    every cell the audit still finds unprotected); ``method``: ``"optimal"`` (the integer
    program) or ``"greedy"`` (the greedy rule alone, for comparison); ``final_audit``: what
    the returned audit bounds exactly (:data:`~stikprove.release.audit.AUDIT_CELLS`): by
    default the small counts (what the protection rule judges; the other hidden cells'
    intervals are NaN: :func:`~stikprove.release.audit.audit` gives them), ``"all"`` every
    hidden cell.
    """
    if method not in METHODS:
        raise ReleaseError(f"method ({method!r}) must be one of {', '.join(map(repr, METHODS))}")
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ReleaseError(f"time_limit must be a number of seconds > 0; got {time_limit!r}")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise ReleaseError(f"max_rounds must be a whole number ≥ 1; got {max_rounds!r}")
    if final_audit not in AUDIT_CELLS:
        raise ReleaseError(
            f"final_audit ({final_audit!r}) must be one of {', '.join(map(repr, AUDIT_CELLS))}"
        )

    base = _relation_rows(tables)
    groups_eq = _group_matrix(tables)
    lower, upper = _fixed(tables)
    group_lists = [
        np.flatnonzero(tables.group == g) for g in np.unique(tables.group[tables.group >= 0])
    ]
    s = lower.copy()
    cell_status = np.zeros(tables.n_cells, dtype=np.int64)  # index into STATUSES
    cuts: list[tuple[int, dict[int, float]]] = []
    dirty: set[int] | None = None  # cells whose components must be solved again (None: all)
    cell_relaxed = np.zeros(tables.n_cells, dtype=bool)
    rounds = 0
    auditor = Auditor(tables)
    while True:
        rounds += 1
        cut = _cut_rows(tables, cuts)
        rows = _Rows(
            sp.vstack([base.A, cut.A], format="csr"),
            np.concatenate([base.lb, cut.lb]),
            np.concatenate([base.owner, cut.owner]),
        )
        labels = _component_labels(tables, rows, groups_eq)
        todo = np.unique(labels) if dirty is None else np.unique(labels[sorted(dirty)])
        row_label = labels[rows.owner]
        eq_label = labels[groups_eq.indices[groups_eq.indptr[:-1]]]
        for label in todo:
            cells = np.flatnonzero(labels == label)
            row_ids = np.flatnonzero(row_label == label)
            eq_ids = np.flatnonzero(eq_label == label)
            cell_status[cells] = 0
            cell_relaxed[cells] = False
            if len(row_ids) == 0 and len(eq_ids) == 0:
                s[cells] = lower[cells]
                continue
            local = {int(c): i for i, c in enumerate(cells)}
            local_groups = [
                np.array([local[int(m)] for m in g]) for g in group_lists if int(g[0]) in local
            ]
            pattern, status, relaxed = _solve_component(
                tables.cost[cells], rows.A[row_ids][:, cells], rows.lb[row_ids], lower[cells],
                upper[cells], local_groups, groups_eq[eq_ids][:, cells], time_limit, method,
                None if rounds == 1 else s[cells],
            )  # fmt: skip
            s[cells] = pattern
            cell_status[cells] = STATUSES.index(status)
            cell_relaxed[rows.owner[row_ids[relaxed]]] = True
        suppressed = s > 0.5
        result_audit = auditor.run(suppressed, cells="judge")
        if result_audit.ok or rounds >= max_rounds:
            break
        new_dirty: set[int] = set()
        for cell_id in result_audit.unprotected:
            p = tables.index(cell_id)
            for weights in result_audit.cuts.get(cell_id, ()):
                partners = {
                    j: w
                    for j, w in ((tables.index(c), w) for c, w in weights.items())
                    if upper[j] == 1 and not suppressed[j]
                }
                if sum(partners.values()) < 1 - 1e-9:
                    continue  # hiding every partner cannot protect it: stays unprotected
                cuts.append((p, partners))
                new_dirty.update((p, *partners))
        if not new_dirty:
            break
        dirty = new_dirty

    # the rounds judged each small count; the final audit bounds them exactly
    result_audit = auditor.run(suppressed, cells=final_audit)
    status = STATUSES[int(cell_status.max())] if tables.n_cells else "optimal"
    # the audit is the judge: a relaxed capacity row (a sufficient rule) need not leave its
    # cell unprotected, and a cell it leaves unprotected is in the audit
    unprotected = set(result_audit.unprotected)
    order = {cell: i for i, cell in enumerate(tables.cell_id)}
    return Protection(
        suppressed=suppressed,
        primary=tables.primary.copy(),
        secondary=suppressed & ~tables.primary,
        cost=float(tables.cost[suppressed].sum()),
        status=status,
        rounds=rounds,
        audit=result_audit,
        unprotected=tuple(sorted(unprotected, key=order.__getitem__)),
        relaxed=tuple(str(c) for c in tables.cell_id[cell_relaxed]),
    )
