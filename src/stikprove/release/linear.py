"""The release as an intruder sees it: published cells as linear functions of unknown counts.

A :class:`LinearTableSet` is the one input of the two engines of the release,
:func:`stikprove.release.suppression.protect` (which cells to hide) and
:func:`stikprove.release.audit.audit` (what an intruder can still work out). It knows nothing
about studies, kommuner or indicators: only

- **atoms**, the non-negative whole numbers an intruder wants (per-stratum counts such as
  N_h, n_h, eligible cases, events of an indicator), each with an upper bound the intruder
  may know;
- **cells**, one per number that may be published: a count (a linear function of atoms) or a
  ratio of two linear functions (a percentage), each with the interval a reader learns when
  it is shown (a rounded percentage is known only within its rounding);
- **relations**, the additive hierarchy among count cells (total − Σ parts = 0), which the
  suppression program needs and the audit does not (it works from the atoms, which imply
  them).

Cells with the same ``group`` id are shown or hidden together (a percentage and the counts
it implies). The builder of a study's release (:mod:`stikprove.release.build`) decides which
cells are primary (must be hidden; :mod:`stikprove.release.disclosure`), what hiding each
costs and which may never be hidden.

Every array is checked when the set is made; a set that does not describe itself (a shown
cell whose value lies outside its own published interval, a relation that does not add up,
a primary cell that must also be shown) is refused with a :class:`ReleaseError` naming the
cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from stikprove.errors import StikproveError
from stikprove.release.disclosure import DEFAULT_THRESHOLD, check_threshold

__all__ = ["LinearTableSet", "ReleaseError"]

#: Absolute tolerance (on counts) for checking that values and relations add up.
TOLERANCE = 1e-6


class ReleaseError(StikproveError):
    """A release's table set, suppression pattern or protection that cannot be used as given."""


def _csr(matrix: object, name: str, shape: tuple[int, int]) -> sp.csr_matrix:
    try:
        out = sp.csr_matrix(matrix, dtype=float)
    except (TypeError, ValueError) as error:
        raise ReleaseError(f"{name} must be a sparse matrix of numbers; got {matrix!r}") from error
    if out.shape != shape:
        raise ReleaseError(f"{name} must have shape {shape}; got {out.shape}")
    if not np.all(np.isfinite(out.data)):
        raise ReleaseError(f"{name} holds a value that is not finite")
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _vector(values: object, name: str, length: int, dtype: type) -> np.ndarray:
    out = np.asarray(values)
    if out.ndim != 1 or out.shape[0] != length:
        raise ReleaseError(f"{name} must be a 1-D array of length {length}; got shape {out.shape}")
    if dtype is bool:
        if out.dtype != bool:
            raise ReleaseError(f"{name} must be a boolean array; got dtype {out.dtype}")
        return out.copy()
    try:
        return out.astype(dtype)
    except (TypeError, ValueError) as error:
        raise ReleaseError(f"{name} must hold {dtype.__name__} values; got {out.dtype}") from error


@dataclass(frozen=True, eq=False)
class LinearTableSet:
    """Every number a release may publish, as linear functions of unknown non-negative counts.

    Atoms (length A)
        ``atom_values``: int64, the true counts (≥ 0); ``atom_upper``: float, an upper bound
        an intruder knows for each (``np.inf`` for none; at least the true value).
    Cells (length C)
        ``cell_id`` (str, unique), ``table`` (str, for reporting), ``numerator`` and
        ``denominator`` (CSR matrices C × A; an empty denominator row means 1, a count cell),
        ``value`` (the true numerator/denominator), ``published_low`` ≤ value ≤
        ``published_high`` (what a reader learns when the cell is shown: the value itself for a
        count, ± half the last shown digit for a rounded percentage), ``is_count`` (empty
        denominator and whole value), ``primary`` (must be hidden), ``cost`` (≥ 0, the loss of
        hiding it), ``forced_shown`` (never hidden), ``group`` (cells with one id ≥ 0 are
        shown or hidden together; -1 for none).
    Relations (R × C)
        ``relations``: CSR matrix with Σ_j coef_rj · value_j = 0 for each row r over count
        cells (total − Σ parts = 0).
    ``threshold``
        t: counts 1..t−1 are small (default 5,
        :data:`~stikprove.release.disclosure.DEFAULT_THRESHOLD`).

    The arrays are copied and checked when the set is made; :class:`ReleaseError` names the
    first cell, atom or relation at fault.
    """

    atom_values: np.ndarray
    atom_upper: np.ndarray
    cell_id: np.ndarray
    table: np.ndarray
    numerator: sp.csr_matrix
    denominator: sp.csr_matrix
    value: np.ndarray
    published_low: np.ndarray
    published_high: np.ndarray
    is_count: np.ndarray
    primary: np.ndarray
    cost: np.ndarray
    forced_shown: np.ndarray
    group: np.ndarray
    relations: sp.csr_matrix
    threshold: int = DEFAULT_THRESHOLD
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        try:
            put(self, "threshold", check_threshold(self.threshold))
        except StikproveError as error:
            raise ReleaseError(str(error)) from None
        atoms = np.asarray(self.atom_values)
        if atoms.ndim != 1:
            raise ReleaseError(f"atom_values must be a 1-D array; got shape {atoms.shape}")
        if atoms.size and (
            not np.all(np.isfinite(atoms.astype(float)))
            or np.any(atoms.astype(float) != np.round(atoms.astype(float)))
        ):
            raise ReleaseError("atom_values must be whole numbers")
        atoms = atoms.astype(np.int64)
        n_atoms = atoms.shape[0]
        if np.any(atoms < 0):
            bad = int(np.flatnonzero(atoms < 0)[0])
            raise ReleaseError(f"atom {bad} has value {atoms[bad]}; atoms must be ≥ 0")
        put(self, "atom_values", atoms)
        upper = _vector(self.atom_upper, "atom_upper", n_atoms, float)
        if np.any(np.isnan(upper)) or np.any(upper < atoms):
            bad = int(np.flatnonzero(~(upper >= atoms))[0])
            raise ReleaseError(
                f"atom {bad}: upper bound {upper[bad]} is below its value {atoms[bad]}"
            )
        put(self, "atom_upper", upper)

        ids = np.asarray(self.cell_id).astype(str)
        if ids.ndim != 1:
            raise ReleaseError(f"cell_id must be a 1-D array; got shape {ids.shape}")
        n_cells = ids.shape[0]
        unique, counts = np.unique(ids, return_counts=True)
        if np.any(counts > 1):
            raise ReleaseError(f"cell_id {str(unique[counts > 1][0])!r} occurs more than once")
        put(self, "cell_id", ids)
        put(self, "_index", {cell: i for i, cell in enumerate(ids)})
        put(self, "table", _vector(np.asarray(self.table).astype(str), "table", n_cells, str))
        put(self, "numerator", _csr(self.numerator, "numerator", (n_cells, n_atoms)))
        put(self, "denominator", _csr(self.denominator, "denominator", (n_cells, n_atoms)))
        for name in ("value", "published_low", "published_high", "cost"):
            array = _vector(getattr(self, name), name, n_cells, float)
            # a published interval may be unbounded on a side (a derived count no table
            # shows: (−inf, inf); a structural fact such as events ≤ cases: [0, inf))
            finite = ~np.isnan(array) if name.startswith("published") else np.isfinite(array)
            if not np.all(finite):
                bad = int(np.flatnonzero(~finite)[0])
                raise ReleaseError(
                    f"cell {str(ids[bad])!r}: {name} is {array[bad]}; expected a number"
                )
            put(self, name, array)
        for name in ("is_count", "primary", "forced_shown"):
            put(self, name, _vector(getattr(self, name), name, n_cells, bool))
        put(self, "group", _vector(self.group, "group", n_cells, np.int64))
        put(
            self, "relations", _csr(self.relations, "relations", (self.relations.shape[0], n_cells))
        )
        self._check_cells()

    def _check_cells(self) -> None:
        ids = self.cell_id
        if np.any(self.cost < 0):
            bad = int(np.flatnonzero(self.cost < 0)[0])
            raise ReleaseError(f"cell {str(ids[bad])!r}: cost {self.cost[bad]} must be ≥ 0")
        both = self.primary & self.forced_shown
        if np.any(both):
            raise ReleaseError(
                f"cell {str(ids[np.flatnonzero(both)[0]])!r} is primary (must be hidden) and "
                "forced shown (must be shown)"
            )
        atoms = self.atom_values.astype(float)
        num = self.numerator @ atoms
        has_den = np.diff(self.denominator.indptr) > 0
        den = np.where(has_den, self.denominator @ atoms, 1.0)
        count_like = ~has_den & np.isclose(self.value, np.round(self.value), rtol=0, atol=TOLERANCE)
        wrong_kind = self.is_count != count_like
        if np.any(wrong_kind):
            bad = int(np.flatnonzero(wrong_kind)[0])
            raise ReleaseError(
                f"cell {str(ids[bad])!r}: is_count is {bool(self.is_count[bad])}, but it has "
                f"{'a' if has_den[bad] else 'no'} denominator and value {self.value[bad]}"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            implied = np.where(den != 0, num / den, np.nan)
        off = ~np.isclose(implied, self.value, rtol=1e-9, atol=TOLERANCE)
        if np.any(off):
            bad = int(np.flatnonzero(off)[0])
            raise ReleaseError(
                f"cell {str(ids[bad])!r}: value {self.value[bad]} but its numerator and "
                f"denominator give {num[bad]}/{den[bad]} = {implied[bad]}"
            )
        outside = (self.published_low > self.value + TOLERANCE) | (
            self.published_high < self.value - TOLERANCE
        )
        if np.any(outside):
            bad = int(np.flatnonzero(outside)[0])
            raise ReleaseError(
                f"cell {str(ids[bad])!r}: value {self.value[bad]} lies outside its published "
                f"interval [{self.published_low[bad]}, {self.published_high[bad]}]"
            )
        residual = self.relations @ self.value
        scale = 1.0 + abs(self.relations) @ np.abs(self.value)
        broken = np.abs(residual) > TOLERANCE * scale
        if np.any(broken):
            bad = int(np.flatnonzero(broken)[0])
            row = self.relations.getrow(bad)
            terms = ", ".join(
                f"{c:+g}·{ids[j]}" for j, c in zip(row.indices, row.data, strict=True)
            )
            raise ReleaseError(
                f"relation {bad} ({terms}) does not add up: residual {residual[bad]:g}"
            )
        in_relation = np.zeros(len(ids), dtype=bool)
        in_relation[self.relations.indices] = True
        ratio_in_relation = in_relation & ~self.is_count
        if np.any(ratio_in_relation):
            bad = int(np.flatnonzero(ratio_in_relation)[0])
            raise ReleaseError(
                f"cell {str(ids[bad])!r} is in a relation but is not a count cell; relations are "
                "over count cells only"
            )
        for group in np.unique(self.group[self.group >= 0]):
            members = self.group == group
            if np.any(self.primary[members]) and np.any(self.forced_shown[members]):
                hidden = str(ids[members & self.primary][0])
                shown = str(ids[members & self.forced_shown][0])
                raise ReleaseError(
                    f"group {group}: cell {hidden!r} is primary and cell {shown!r} is forced "
                    "shown, but a group is shown or hidden as a whole"
                )
        if np.any(self.group < -1):
            bad = int(np.flatnonzero(self.group < -1)[0])
            raise ReleaseError(
                f"cell {str(ids[bad])!r}: group {self.group[bad]}; expected ≥ 0 or -1"
            )

    @property
    def n_atoms(self) -> int:
        """The number of atoms A."""
        return int(self.atom_values.shape[0])

    @property
    def n_cells(self) -> int:
        """The number of cells C."""
        return int(self.cell_id.shape[0])

    def index(self, cell_id: str) -> int:
        """The position of a cell in the arrays, or a :class:`ReleaseError` naming it."""
        try:
            return self._index[cell_id]
        except KeyError:
            raise ReleaseError(f"no cell {cell_id!r} in the table set") from None

    def mask(self, cell_ids) -> np.ndarray:
        """A boolean array over cells, true for the given cell ids."""
        out = np.zeros(self.n_cells, dtype=bool)
        for cell in cell_ids:
            out[self.index(cell)] = True
        return out

    def check_suppressed(self, suppressed: object) -> np.ndarray:
        """``suppressed`` as a boolean array over the cells, or a :class:`ReleaseError`."""
        return _vector(suppressed, "suppressed", self.n_cells, bool)

    def sensitive(self) -> np.ndarray:
        """Cells whose count is small: a count cell with value 1..t−1, or a ratio cell whose
        numerator (the count it implies) lies strictly between 0 and t. A suppressed sensitive
        cell must be protected (:mod:`stikprove.release.audit`); zeros need no protection."""
        numerator = self.numerator @ self.atom_values.astype(float)
        small = (numerator > TOLERANCE) & (numerator < self.threshold - TOLERANCE)
        return small
