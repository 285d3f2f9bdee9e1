"""Model-based (small-area) figures in the release, protected with everything else.

A Fay–Herriot estimate is a function of the kommune's own direct estimate (docs/small_area.md):
on the model's scale θ̂_d = γ_d·y_d + (1 − γ_d)·x_d'β̂ with y_d the direct estimate
(arcsin √p̂_d for the arcsine model), so a published model-based figure tells an intruder
something about the direct estimate, and so about the counts behind it, also where the release
hides the direct estimate. The rule (docs/release.md, "Model-based estimates"):

1. **The intruder knows the model.** The check assumes that an intruder knows γ_d, the
   synthetic value x_d'β̂ and every offset between the estimate and its interval limits
   exactly (the method is published, and the covariates follow from the published structure
   counts); keeping them secret would be security by obscurity. From the published, rounded
   model-based estimate and limits the intruder then learns an interval [p_lo, p_hi] for the
   kommune's direct estimate p̂_d (:func:`direct_interval`).
2. **β is read the same way.** β̂ = Σ_d a_d·y_d (a_d the columns of (X'V̂⁻¹X)⁻¹X'V̂⁻¹): an
   intruder who knew every other kommune's y exactly would learn y_d from each published,
   rounded coefficient (:func:`coefficient_intervals`); the interval is intersected with the
   first.
3. **The same audit.** Each kommune's interval is added to the release's linear table set as
   one more shown cell: the direct estimate's own ratio of counts Σ w_h y_h / Σ w_h m_h,
   known within [p_lo, p_hi] (:func:`model_cells`), and the release's audit (the intruder's
   linear programs over everything published, :mod:`stikprove.release.audit`) must find every
   hidden small count protected, exactly as for the direct tables.
4. **Publish less where it is not.** A kommune whose figure lets the audit pin a hidden count
   is published with less: first the estimate and limits rounded to 1 percentage point
   (``eblup_1pp``), then the synthetic estimate (``synthetic``: x_d'β̂ with its own
   interval, which depends on the kommune's data only through β̂ pooled over all kommuner).
   The coefficients are decided first, with every figure synthetic: where β̂ pins a count,
   they are published coarser (2 decimals), then not at all. A kommune whose direct n is
   hidden gets the synthetic estimate from the start (γ_d and the MSE reveal the effective
   sample size, and so a hidden n).
5. **γ_d only beside a shown direct estimate.** γ_d is published only where the kommune's
   direct estimate is shown; elsewhere it would tell the effective n (n/deff) of a hidden
   estimate. The check assumes the intruder knows it anyway (1.).

Written by hand for this package: the cells and the audit are the release's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from stikprove.release.build import ROUND_PROPORTION

__all__ = [
    "BASES",
    "COEFFICIENT_COLUMNS",
    "MODEL_COLUMNS",
    "ModelFigures",
    "SmallAreaRelease",
    "coefficient_intervals",
    "decided_model_figures",
    "direct_interval",
    "model_cells",
    "model_figures",
    "protect_model_figures",
    "published_coefficients",
    "published_model_table",
    "raw_model_table",
]

BASES = ("eblup", "eblup_1pp", "synthetic")
"""What a kommune's published model-based figure is, from most to least informative:
the EBLUP at 0.1 percentage point, the EBLUP at 1 percentage point, the synthetic estimate."""

DECIMALS = {"eblup": ROUND_PROPORTION, "eblup_1pp": ROUND_PROPORTION - 1,
            "synthetic": ROUND_PROPORTION}  # fmt: skip
"""Decimals of a published proportion per basis."""

COEFFICIENT_DECIMALS = (3, 2)
"""Decimals tried for the published coefficients (arcsine scale), then none."""

MODEL_COLUMNS = ("indicator", "kommune_code", "basis", "estimate", "ci_low", "ci_high", "gamma",
                 "direct", "direct_disclosure", "disclosure")  # fmt: skip
"""Columns of the release's ``small_area`` table: one row per indicator × kommune. ``basis``
(:data:`BASES`), ``estimate`` and its interval ``ci_low``, ``ci_high`` (rounded to the
basis's decimals), ``gamma`` (the shrinkage factor, 2 decimals, only beside a shown direct
estimate), ``direct`` (the kommune's direct estimate exactly as the release's estimates table
shows it, missing where hidden), ``direct_disclosure`` (that row's code), ``disclosure``
(``model_rounded`` or ``model_synthetic`` where the rule published less)."""

COEFFICIENT_COLUMNS = ("indicator", "term", "estimate", "decimals", "disclosure")
"""Columns of the release's ``small_area_model`` table (β̂ on the model's scale; disclosure
``model_rounded`` where the rule published them coarser)."""

PREFIX = "small_area"


@dataclass(frozen=True)
class ModelFigures:
    """The raw model-based figures of one indicator (NOT FOR PUBLICATION), with what the rule
    needs: ``table`` one row per kommune (kommune_code, in_sample, direct, gamma, theta
    (the EBLUP on the model's scale), theta_synthetic, estimate, ci_low, ci_high, synthetic,
    synthetic_low, synthetic_high); ``beta`` the coefficients and ``weights`` the matrix
    (X'V̂⁻¹X)⁻¹X'V̂⁻¹ over the kommuner in sample (terms × kommuner, columns in ``table``
    order, 0 out of sample); ``model`` "arcsin" or "linear"; ``describe`` one line."""

    indicator: str
    model: str
    terms: tuple[str, ...]
    beta: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    table: pd.DataFrame = field(repr=False)
    describe: str = ""


def _forward(model: str, p):
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    return np.arcsin(np.sqrt(p)) if model == "arcsin" else p


def _backward(model: str, theta):
    theta = np.asarray(theta, dtype=float)
    if model == "arcsin":
        return np.sin(np.clip(theta, 0.0, math.pi / 2)) ** 2
    return np.clip(theta, 0.0, 1.0)


def _top(model: str) -> float:
    return math.pi / 2 if model == "arcsin" else 1.0


def model_figures(result, covariate_values: pd.DataFrame, confidence_level: float) -> ModelFigures:
    """The :class:`ModelFigures` of a :class:`~stikprove.small_area.SmallAreaEstimates`
    (unbenchmarked) and its covariates per kommune (``area_covariates``)."""
    from scipy import stats

    fit = result.fit.transformed if result.model == "arcsin" else result.fit
    est = fit.estimates()
    area = "kommune_code"
    cov = covariate_values.assign(**{area: covariate_values[area].astype(str)}).set_index(area)
    codes = est[area].astype(str).to_numpy()
    X = np.column_stack([np.ones(len(codes)),
                         cov.loc[codes, list(fit.covariates)].to_numpy(dtype=float)])  # fmt: skip
    psi = est["variance"].to_numpy(dtype=float)
    sampled = est["in_sample"].to_numpy(dtype=bool)
    V = fit.sigma2_u + np.where(sampled, psi, np.inf)
    Xw = X[sampled] / V[sampled, None]
    info = np.linalg.inv(X[sampled].T @ Xw)
    weights = np.zeros((X.shape[1], len(codes)))
    weights[:, sampled] = info @ Xw.T
    theta_s = est["synthetic"].to_numpy(dtype=float)
    mse_s = fit.sigma2_u + np.einsum("ij,jk,ik->i", X, info, X)
    z = float(stats.norm.ppf(0.5 + confidence_level / 2))
    table = pd.DataFrame({
        area: codes, "in_sample": sampled,
        "direct": np.where(sampled, result.table["direct"].to_numpy(dtype=float), np.nan),
        "gamma": est["gamma"].to_numpy(dtype=float),
        "theta": est["eblup"].to_numpy(dtype=float), "theta_synthetic": theta_s,
        "estimate": result.table["estimate"].to_numpy(dtype=float),
        "ci_low": result.table["ci_low"].to_numpy(dtype=float),
        "ci_high": result.table["ci_high"].to_numpy(dtype=float),
        "synthetic": _backward(result.model, theta_s),
        "synthetic_low": _backward(result.model, theta_s - z * np.sqrt(mse_s)),
        "synthetic_high": _backward(result.model, theta_s + z * np.sqrt(mse_s)),
    })  # fmt: skip
    return ModelFigures(indicator=result.outcome, model=result.model,
                        terms=("intercept", *fit.covariates), beta=np.asarray(fit.beta),
                        weights=weights, table=table, describe=result.describe())  # fmt: skip


# ---- what an intruder learns -------------------------------------------------------------------


def _theta_set(model: str, published: float, decimals: int) -> tuple[float, float]:
    """The model-scale values whose back-transform rounds to ``published`` (the clipping at
    0 and 1 makes the set open-ended there)."""
    half = 0.5 * 10.0**-decimals
    low, high = published - half, published + half
    lo = -math.inf if low <= 0 else float(_forward(model, low))
    hi = math.inf if high >= 1 else float(_forward(model, high))
    return lo, hi


def direct_interval(model: str, row, decimals: int) -> tuple[float, float]:
    """The interval of the direct estimate p̂_d that an intruder who knows γ_d, the synthetic
    value and the interval's offsets (:mod:`module docstring <stikprove.release.small_area>`,
    1.) learns from the EBLUP and its limits published rounded to ``decimals``.

    ``row``: a row of :attr:`ModelFigures.table`. Each published number v = g(θ̂ + c) with g
    the back-transform (clipped) and c a known offset gives θ̂ within an interval; their
    intersection [a, b] gives y = (θ̂ − (1 − γ)·s)/γ and p̂ = g(y). A limit clipped at 0 or 1
    tells only a half-line through the true θ̂; it is taken to cut exactly there (the
    narrowest it can be: the check errs on the safe side)."""
    theta, gamma = float(row["theta"]), float(row["gamma"])
    if not row["in_sample"] or not np.isfinite(theta) or gamma <= 1e-12:
        return 0.0, 1.0
    top = _top(model)
    lo, hi = -math.inf, math.inf
    for column in ("estimate", "ci_low", "ci_high"):
        raw = float(row[column])
        if not np.isfinite(raw):
            continue
        published = round(raw, decimals)
        a, b = _theta_set(model, published, decimals)
        inner = float(_forward(model, raw))
        if column == "estimate":
            offset = 0.0 if 0 < raw < 1 else None
        else:
            offset = theta - inner if 0 < raw < 1 else None
        if offset is None:  # clipped: a half-line through the true θ̂, taken at θ̂ itself
            if raw <= 0:
                hi = min(hi, theta)
            else:
                lo = max(lo, theta)
            continue
        lo, hi = max(lo, a + offset), min(hi, b + offset)
    s = float(row["theta_synthetic"])
    y_lo = (lo - (1 - gamma) * s) / gamma
    y_hi = (hi - (1 - gamma) * s) / gamma
    p_lo = 0.0 if y_lo <= 0 else float(_backward(model, min(y_lo, top)))
    p_hi = 1.0 if y_hi >= top else float(_backward(model, max(y_hi, 0.0)))
    return p_lo, p_hi


def coefficient_intervals(figures: ModelFigures, decimals: int | None) -> np.ndarray:
    """Per kommune (rows of ``figures.table``), the interval [p_lo, p_hi] of its direct
    estimate that an intruder who knew every other kommune's y exactly would learn from the
    coefficients published rounded to ``decimals`` (None: not published: [0, 1])."""
    n = len(figures.table)
    out = np.tile([0.0, 1.0], (n, 1))
    if decimals is None:
        return out
    half = 0.5 * 10.0**-decimals
    published = np.round(figures.beta, decimals)
    y = np.where(figures.table["in_sample"], _forward(figures.model,
                                                      figures.table["direct"].fillna(0)), 0.0)
    top = _top(figures.model)
    for d in np.flatnonzero(figures.table["in_sample"].to_numpy()):
        a = figures.weights[:, d]
        rest = figures.beta - a * y[d]  # the others' share, known to this intruder
        lo, hi = -math.inf, math.inf
        for k in np.flatnonzero(np.abs(a) > 1e-15):
            ends = sorted(((published[k] - half - rest[k]) / a[k],
                           (published[k] + half - rest[k]) / a[k]))  # fmt: skip
            lo, hi = max(lo, ends[0]), min(hi, ends[1])
        out[d, 0] = 0.0 if lo <= 0 else float(_backward(figures.model, min(lo, top)))
        out[d, 1] = 1.0 if hi >= top else float(_backward(figures.model, max(hi, 0.0)))
    return out


# ---- the cells -------------------------------------------------------------------------------


def _total_cell(model, raw: pd.DataFrame, indicator: str, kommune: str) -> int | None:
    """The index of the release's cell of a kommune total's direct estimate (None: none)."""
    loc = model.locator
    rows = raw.index[raw["indicator"].eq(indicator) & raw["level"].eq("kommune")
                     & raw["kommune_code"].astype(str).eq(kommune) & raw["sex"].isna()
                     & raw["origin"].isna()]  # fmt: skip
    if not len(rows):
        return None
    hit = loc.index[loc["table"].eq("estimates") & loc["row"].eq(int(rows[0]))
                    & loc["kind"].eq("proportion")]  # fmt: skip
    return int(hit[0]) if len(hit) else None


def model_cells(tables, cells: list[tuple[str, int, float, float]]):
    """``tables`` (a :class:`~stikprove.release.linear.LinearTableSet`) with one shown cell
    more per entry (cell_id, the direct estimate's cell, p_lo, p_hi): the same ratio of
    counts, known within [p_lo, p_hi]. Nothing else changes (the new cells are forced shown,
    in no relation and no group), so the release's suppression pattern applies to the first
    cells and the new ones are shown."""
    from stikprove.release.linear import LinearTableSet

    if not cells:
        return tables
    base = np.array([c[1] for c in cells], dtype=np.int64)
    value = tables.value[base]
    low = np.minimum([c[2] for c in cells], value)
    high = np.maximum([c[3] for c in cells], value)
    m = len(cells)
    return LinearTableSet(
        atom_values=tables.atom_values, atom_upper=tables.atom_upper,
        cell_id=np.r_[tables.cell_id, [c[0] for c in cells]],
        table=np.r_[tables.table, [PREFIX] * m],
        numerator=sp.vstack([tables.numerator, tables.numerator[base]]).tocsr(),
        denominator=sp.vstack([tables.denominator, tables.denominator[base]]).tocsr(),
        value=np.r_[tables.value, value], published_low=np.r_[tables.published_low, low],
        published_high=np.r_[tables.published_high, high],
        is_count=np.r_[tables.is_count, np.zeros(m, dtype=bool)],
        primary=np.r_[tables.primary, np.zeros(m, dtype=bool)],
        cost=np.r_[tables.cost, np.zeros(m)],
        forced_shown=np.r_[tables.forced_shown, np.ones(m, dtype=bool)],
        group=np.r_[tables.group, -np.ones(m, dtype=np.int64)],
        relations=sp.hstack([tables.relations, sp.csr_matrix((tables.relations.shape[0], m))]
                            ).tocsr(),
        threshold=tables.threshold,
    )  # fmt: skip


@dataclass(frozen=True)
class SmallAreaRelease:
    """The model-based part of a release: the raw figures per indicator (``figures``, NOT FOR
    PUBLICATION), the rule's decisions (``basis`` per (indicator, kommune), ``coefficient_
    decimals`` per indicator, None: β̂ not published), the extra cells the audit adds
    (``cells``: cell_id, direct-estimate cell, p_lo, p_hi) and the audit's verdict when the
    rule was applied (``unprotected``: cell ids it could not protect by publishing less)."""

    figures: dict[str, ModelFigures] = field(repr=False)
    basis: dict[tuple[str, str], str] = field(repr=False)
    coefficient_decimals: dict[str, int | None]
    cells: list = field(repr=False)
    unprotected: tuple[str, ...] = ()

    def extend(self, tables):
        """The release's table set with the model-based cells (what the audit checks)."""
        return model_cells(tables, self.cells)


def _cells_for(figures: dict[str, ModelFigures], basis: dict, decimals: dict,
               direct_cell: dict) -> list:  # fmt: skip
    cells = []
    for indicator, fig in figures.items():
        beta = coefficient_intervals(fig, decimals.get(indicator))
        for i, row in enumerate(fig.table.to_dict("records")):
            code = row["kommune_code"]
            base = direct_cell.get((indicator, code))
            if base is None:
                continue
            chosen = basis[(indicator, code)]
            lo, hi = beta[i]
            if chosen != "synthetic":
                a, b = direct_interval(fig.model, row, DECIMALS[chosen])
                lo, hi = max(lo, a), min(hi, b)
            if lo <= 0 and hi >= 1:
                continue  # tells nothing
            cells.append((f"{PREFIX}:{indicator}:{code}", base, lo, hi))
    return cells


def _direct_cells(model, raw_estimates: pd.DataFrame, figures: dict[str, ModelFigures]) -> dict:
    out = {}
    for indicator, fig in figures.items():
        for code in fig.table["kommune_code"]:
            cell = _total_cell(model, raw_estimates, indicator, code)
            if cell is not None:
                out[(indicator, code)] = cell
    return out


def decided_model_figures(model, raw_estimates: pd.DataFrame, figures: dict[str, ModelFigures],
                          basis: dict, decimals: dict, unprotected: tuple = ()
                          ) -> SmallAreaRelease:  # fmt: skip
    """The :class:`SmallAreaRelease` of decisions already taken by
    :func:`protect_model_figures` for these figures (read from the release's cache)."""
    cells = _cells_for(figures, basis, decimals, _direct_cells(model, raw_estimates, figures))
    return SmallAreaRelease(figures=figures, basis=dict(basis),
                            coefficient_decimals=dict(decimals), cells=cells,
                            unprotected=tuple(unprotected))  # fmt: skip


def protect_model_figures(model, raw_estimates: pd.DataFrame, suppressed: np.ndarray,
                          figures: dict[str, ModelFigures], n_hidden: set[tuple[str, str]], *,
                          max_rounds: int = 12) -> SmallAreaRelease:  # fmt: skip
    """The rule of the module docstring, in two phases of audit rounds.

    1. The coefficients alone (every kommune's figure synthetic): an indicator whose
       coefficients let the audit pin a hidden count is published with coarser ones
       (:data:`COEFFICIENT_DECIMALS`), then none.
    2. With those coefficients, every kommune starts at ``eblup`` (``synthetic`` where its
       direct n is hidden: ``n_hidden`` holds (indicator, kommune_code)); a kommune whose
       cell pins a hidden count steps down (:data:`BASES`) until the audit passes or nothing
       is left to withhold (a synthetic kommune still blamed coarsens its coefficients).

    ``model``: the release's :class:`~stikprove.release.cells.CellModel`, ``raw_estimates``
    its raw estimates table, ``suppressed`` its pattern."""
    direct_cell = _direct_cells(model, raw_estimates, figures)
    keys = [(indicator, code) for indicator, fig in figures.items()
            for code in fig.table["kommune_code"]]  # fmt: skip
    decimals: dict[str, int | None] = {i: COEFFICIENT_DECIMALS[0] for i in figures}

    def coarsen(blamed: set) -> bool:
        changed = False
        for indicator in sorted({i for i, _ in blamed}):
            if decimals[indicator] is not None:
                place = COEFFICIENT_DECIMALS.index(decimals[indicator])  # type: ignore[arg-type]
                decimals[indicator] = (COEFFICIENT_DECIMALS[place + 1]
                                       if place + 1 < len(COEFFICIENT_DECIMALS) else None)
                changed = True
        return changed

    everywhere_synthetic = dict.fromkeys(keys, "synthetic")
    _rounds(model, suppressed, figures, everywhere_synthetic, decimals, direct_cell, coarsen,
            max_rounds)  # fmt: skip
    basis = {key: "synthetic" if key in n_hidden else "eblup" for key in keys}

    def step_down(blamed: set) -> bool:
        changed = False
        for key in sorted(blamed):
            if basis[key] != "synthetic":
                basis[key] = BASES[BASES.index(basis[key]) + 1]
                changed = True
        return changed or coarsen(blamed)

    unprotected, cells = _rounds(model, suppressed, figures, basis, decimals, direct_cell,
                                 step_down, max_rounds)  # fmt: skip
    return SmallAreaRelease(figures=figures, basis=basis, coefficient_decimals=decimals,
                            cells=cells, unprotected=unprotected)  # fmt: skip


def _rounds(model, suppressed, figures, basis, decimals, direct_cell, step, max_rounds):
    """Audit the release with the model cells of ``basis`` and ``decimals`` and let ``step``
    publish less (it changes them in place; False: nothing left) until the audit passes.
    Returns the cells still unprotected (empty when it passed) and the last model cells."""
    from stikprove.release.audit import Auditor

    for round_ in range(max_rounds + 1):
        cells = _cells_for(figures, basis, decimals, direct_cell)
        if not cells:
            return (), cells
        tables = model_cells(model.tables, cells)
        pattern = np.r_[suppressed, np.zeros(len(cells), dtype=bool)]
        audit = Auditor(tables).run(pattern, pinning=True, exact=False)
        if audit.ok or round_ == max_rounds or not step(_blame(audit, cells, tables)):
            return tuple(audit.unprotected), cells
    raise AssertionError("unreachable")  # pragma: no cover


def _blame(audit, cells: list, tables) -> set[tuple[str, str]]:
    """The (indicator, kommune) whose model cells pin an unprotected cell; where none is among
    the pinning cells, those of the kommuner whose counts the unprotected cell holds."""
    ours = {c[0] for c in cells}
    blamed: set[tuple[str, str]] = set()
    incidence = (abs(tables.numerator) + abs(tables.denominator)).tocsr()
    atoms_of = {c[0]: set(incidence[tables.index(c[0])].indices) for c in cells}
    for cell_id in audit.unprotected:
        pins = [p for p in audit.pinned_by.get(cell_id, ()) if p in ours]
        if not pins:
            mine = set(incidence[tables.index(cell_id)].indices)
            pins = [c for c, atoms in atoms_of.items() if atoms & mine]
        for p in pins:
            _, indicator, code = p.split(":")
            blamed.add((indicator, code))
    return blamed


# ---- the published tables ------------------------------------------------------------------


def published_model_table(small: SmallAreaRelease, estimates: pd.DataFrame) -> pd.DataFrame:
    """The ``small_area`` table (:data:`MODEL_COLUMNS`) from the decisions and the release's
    protected estimates table (whose kommune totals give ``direct`` and
    ``direct_disclosure``: the same numbers as every other output)."""
    totals = estimates[estimates["level"].eq("kommune") & estimates["sex"].isna()
                       & estimates["origin"].isna()]  # fmt: skip
    shown = {(i, str(k)): (e, d) for i, k, e, d in zip(
        totals["indicator"], totals["kommune_code"], totals["estimate"], totals["disclosure"],
        strict=True)}  # fmt: skip
    rows = []
    for indicator, fig in small.figures.items():
        for row in fig.table.to_dict("records"):
            code = row["kommune_code"]
            chosen = small.basis[(indicator, code)]
            direct, code_direct = shown.get((indicator, code), (np.nan, ""))
            digits = DECIMALS[chosen]
            if chosen == "synthetic":
                values = (row["synthetic"], row["synthetic_low"], row["synthetic_high"])
            else:
                values = (row["estimate"], row["ci_low"], row["ci_high"])
            gamma = (round(float(row["gamma"]), 2)
                     if chosen != "synthetic" and pd.notna(direct) else np.nan)  # fmt: skip
            note = {"eblup": "", "eblup_1pp": "model_rounded",
                    "synthetic": "model_synthetic"}[chosen]  # fmt: skip
            if chosen == "synthetic" and not row["in_sample"]:
                note = ""  # no sample: the EBLUP is the synthetic estimate
            rows.append({
                "indicator": indicator, "kommune_code": code, "basis": chosen,
                "estimate": round(float(values[0]), digits),
                "ci_low": round(float(values[1]), digits),
                "ci_high": round(float(values[2]), digits), "gamma": gamma,
                "direct": direct, "direct_disclosure": code_direct, "disclosure": note,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=list(MODEL_COLUMNS))


def published_coefficients(small: SmallAreaRelease) -> pd.DataFrame:
    """The ``small_area_model`` table (:data:`COEFFICIENT_COLUMNS`): β̂ of each indicator's
    model, rounded to the decimals the rule allowed (no rows where it allowed none)."""
    rows = []
    for indicator, fig in small.figures.items():
        digits = small.coefficient_decimals.get(indicator)
        if digits is None:
            continue
        for term, value in zip(fig.terms, fig.beta, strict=True):
            rows.append({"indicator": indicator, "term": term,
                         "estimate": round(float(value), digits), "decimals": digits,
                         "disclosure": "" if digits == COEFFICIENT_DECIMALS[0]
                         else "model_rounded"})  # fmt: skip
    return pd.DataFrame(rows, columns=list(COEFFICIENT_COLUMNS))


def raw_model_table(small: SmallAreaRelease) -> pd.DataFrame:
    """Every raw figure (NOT FOR PUBLICATION): one row per indicator × kommune with the
    decision."""
    parts = [fig.table.assign(indicator=i, basis=[small.basis[(i, c)]
                                                  for c in fig.table["kommune_code"]])
             for i, fig in small.figures.items()]  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=["indicator", "kommune_code", "basis"])
    out = pd.concat(parts, ignore_index=True)
    return out[["indicator", *[c for c in out.columns if c != "indicator"]]]
