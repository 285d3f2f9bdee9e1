"""One protected release per study: every number any output shows, protected jointly.

:func:`study_release` builds the release of a study store once (and keeps it while the file
is unchanged): the raw tables (:func:`~stikprove.release.build.release_tables`), their cells
(:func:`~stikprove.release.cells.cell_model`), primary suppression (counts under the
threshold, percentages whose implied counts are under it), secondary suppression for least
cost over all tables at once (:func:`~stikprove.release.suppression.protect`, HiGHS), and the
NCHS presentation standard. Reports, the command line's tables and every export read the
protected tables of :class:`Release`; raw figures only through :meth:`Release.raw`, marked
NOT FOR PUBLICATION.

The ``disclosure`` column of every protected table says why a value is missing, with the
codes of :data:`stikprove.release.disclosure.DISCLOSURE_CODES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.errors import StikproveError
from stikprove.release import disclosure as dc
from stikprove.release.build import (
    ESTIMATE_VALUES,
    ROUND_PROPORTION,
    ReleaseTables,
    published_level,
    release_tables,
)
from stikprove.release.cells import CellModel, cell_model

__all__ = ["TABLES", "Release", "build_release", "study_release"]

TABLES = ("design", "progress", "estimates", "bounds", "agreement", "flags", "small_area",
          "small_area_model")  # fmt: skip
"""The tables of a release (``small_area`` and ``small_area_model``: the model-based kommune
estimates and the model's coefficients, empty where the study has no model:
:mod:`stikprove.release.small_area`)."""

MODEL_TABLES = ("small_area", "small_area_model")

COUNTS = {
    "design": ("population_size", "sample_size"),
    "progress": ("taken", "done", "remaining"),
    "estimates": ("n",),
    "bounds": ("n_missing",),
    "agreement": ("n_pairs",),
}
"""The columns of each table that hold counts (nullable integers where hidden)."""

SUPPRESSING_NCHS = ("nchs_n_eff", "nchs_width", "nchs_relative_width")

ROUNDED = {
    "design": ("sampling_fraction",),
    "progress": ("share_done",),
    "estimates": ("estimate", "ci_low", "ci_high"),
    "bounds": ("estimate_missing_as_0", "estimate_missing_as_1"),
}
"""Proportions published rounded to :data:`ROUND_PROPORTION` decimals (the audit takes them
as known within that rounding)."""


@dataclass(frozen=True)
class Release:
    """A study's protected release.

    ``raw_tables`` holds the unprotected numbers (never published as they are), ``model``
    their cells and relations, ``suppressed`` one bool per cell (primary or secondary),
    ``protection`` how the pattern was found (:class:`Pattern`). Read the protected tables
    with :meth:`table`; a proportion the NCHS standard withholds is hidden there too."""

    raw_tables: ReleaseTables = field(repr=False)
    model: CellModel = field(repr=False)
    suppressed: np.ndarray = field(repr=False)
    protection: object = field(repr=False)
    small_area: object = field(default=None, repr=False)
    """The model-based figures (:class:`~stikprove.release.small_area.SmallAreaRelease`), or
    None for a study without a model (fewer than :data:`MIN_MODEL_KOMMUNER` kommuner)."""

    @property
    def threshold(self) -> int:
        return self.raw_tables.threshold

    @property
    def confidence_level(self) -> float:
        return self.raw_tables.confidence_level

    @property
    def interval_method(self) -> str:
        return self.raw_tables.interval_method

    @property
    def indicators(self) -> tuple[str, ...]:
        return self.raw_tables.indicators

    def __repr__(self) -> str:
        hidden = int(self.suppressed[self.model.locator["kind"].ne("derived").to_numpy()].sum())
        return (
            f"Release(study={self.raw_tables.study_id!r}, cells={len(self.suppressed)}, "
            f"hidden={hidden}, threshold={self.threshold}, "
            f"status={getattr(self.protection, 'status', '?')!r})"
        )

    def table(self, name: str) -> pd.DataFrame:
        """The protected table ``name`` (one of :data:`TABLES`): hidden values missing, shown
        proportions rounded, a ``disclosure`` column saying why a value is missing."""
        if _check_table(name) in MODEL_TABLES:
            return _model_table(self, name)
        return _protected(self, name)

    def raw(self, name: str) -> pd.DataFrame:
        """The raw table ``name``, every value, marked NOT FOR PUBLICATION in its first
        column: for quality checks only."""
        if _check_table(name) in MODEL_TABLES:
            from stikprove.release.small_area import raw_model_table

            if self.small_area is None:
                return dc.mark_raw(_model_table(self, name))
            if name == "small_area":
                return dc.mark_raw(raw_model_table(self.small_area))
            return dc.mark_raw(pd.DataFrame(
                [{"indicator": i, "term": t, "estimate": float(b),
                  "decimals": self.small_area.coefficient_decimals.get(i)}
                 for i, fig in self.small_area.figures.items()
                 for t, b in zip(fig.terms, fig.beta, strict=True)],
                columns=["indicator", "term", "estimate", "decimals"]))  # fmt: skip
        return dc.mark_raw(getattr(self.raw_tables, name).copy())

    def audit(self, exact: bool = False):
        """The intruder's audit of this release: whether each hidden small count is protected
        (:class:`~stikprove.release.audit.Auditor`). ``exact``: also the exact interval of
        every hidden cell (slower); by default each small count is bounded only as far as
        its verdict needs, which gives the same verdicts."""
        from stikprove.release.audit import Auditor

        tables, suppressed = self.model.tables, self.suppressed
        if self.small_area is not None:  # the model-based figures are shown cells too
            tables = self.small_area.extend(tables)
            suppressed = np.r_[suppressed, np.zeros(tables.n_cells - len(suppressed), bool)]
        return Auditor(tables).run(suppressed, pinning=False, exact=exact)


def _check_table(name: str) -> str:
    if name not in TABLES:
        raise StikproveError(f"release table {name!r}: expected one of {', '.join(TABLES)}")
    return name


def _model_table(release: Release, name: str) -> pd.DataFrame:
    from stikprove.release.small_area import (
        COEFFICIENT_COLUMNS,
        MODEL_COLUMNS,
        published_coefficients,
        published_model_table,
    )

    if release.small_area is None:
        columns = MODEL_COLUMNS if name == "small_area" else COEFFICIENT_COLUMNS
        return pd.DataFrame(columns=list(columns))
    if name == "small_area":
        return published_model_table(release.small_area, _protected(release, "estimates"))
    return published_coefficients(release.small_area)


def _protected(release: Release, name: str) -> pd.DataFrame:
    if name == "flags":
        return _protected_flags(release)
    table = getattr(release.raw_tables, name).copy().reset_index(drop=True)
    locator = release.model.locator
    mine = locator[locator["table"].eq(name)]
    hidden_cells = mine[release.suppressed[mine.index.to_numpy()]]
    codes = [""] * len(table)
    primary_rows = set(mine.loc[mine["primary"], "row"])
    # a derived count (events behind a percentage, reserves, …) that is small makes its row's
    # shown cells primary too: its code is "small"
    derived = locator[locator["table"].eq("derived") & locator["primary"]]
    if name == "estimates":
        primary_rows |= {r for r, cid in zip(derived["row"], derived["cell_id"], strict=True)
                         if str(cid).startswith("estimates:") and r >= 0}  # fmt: skip
    for row, columns in zip(hidden_cells["row"], hidden_cells["columns"], strict=True):
        for column in columns:
            if column in table.columns:
                table.loc[row, column] = np.nan
        codes[row] = "small" if row in primary_rows else (codes[row] or "complementary")
    for row in primary_rows:
        if row >= 0 and not codes[row]:
            codes[row] = "small"
    if name == "estimates":
        nchs = table["nchs"].fillna("").astype(str)
        shown = table["estimate"].notna()
        withheld = shown & nchs.map(lambda c: any(x in c.split(",") for x in SUPPRESSING_NCHS))
        for column in ESTIMATE_VALUES:
            table[column] = table[column].mask(withheld)
        codes = [",".join(x for x in (code, n if s else "") if x)
                 for code, n, s in zip(codes, nchs, shown, strict=True)]  # fmt: skip
        table = table.drop(columns=["events", "nchs", "key"])
    if name == "bounds":  # the bounds bracket the total's estimate: hidden where it is
        totals = _protected(release, "estimates")
        totals = totals[totals["sex"].isna() & totals["origin"].isna()
                        & totals["level"].isin(["kommune", "nation"])]  # fmt: skip
        hidden = {(i, lvl, None if pd.isna(k) else str(k))
                  for i, lvl, k, e in zip(totals["indicator"], totals["level"],
                                          totals["kommune_code"], totals["estimate"], strict=True)
                  if pd.isna(e)}  # fmt: skip
        for row, key in enumerate(zip(table["indicator"], table["level"], table["kommune_code"],
                                      strict=True)):  # fmt: skip
            key = (key[0], key[1], None if pd.isna(key[2]) else str(key[2]))
            if key in hidden:
                table.loc[row, ["estimate_missing_as_0", "estimate_missing_as_1"]] = np.nan
                codes[row] = codes[row] or "complementary"
    for column in ROUNDED.get(name, ()):
        table[column] = table[column].round(ROUND_PROPORTION)
    if name == "agreement":
        table = table.drop(columns=["n_agree"])
        table["percent_agreement"] = table["percent_agreement"].round(1)
    for column in COUNTS.get(name, ()):
        table[column] = table[column].round().astype("Int64")
    table["disclosure"] = codes
    return table


def _protected_flags(release: Release) -> pd.DataFrame:
    """The kommune flags: shown only where the kommune's estimate is shown."""
    flags = release.raw_tables.flags.copy()
    estimates = _protected(release, "estimates")
    totals = estimates[estimates["level"].eq("kommune") & estimates["sex"].isna()
                       & estimates["origin"].isna()]  # fmt: skip
    shown = totals.set_index(["indicator", "kommune_code"])["estimate"].notna()
    keys = list(zip(flags["indicator"], flags["kommune_code"].astype(str), strict=True))
    visible = np.array([bool(shown.get(k, False)) for k in keys], dtype=bool)
    for column in ("p_value", "p_adjusted"):
        flags[column] = flags[column].where(visible)
    flags["flagged"] = flags["flagged"].astype(object).where(visible)
    flags["disclosure"] = np.where(visible, "", "complementary")
    return flags.drop(columns=["national_rate", "limit_level", "alpha"])


@dataclass(frozen=True)
class Pattern:
    """How a release was protected: the hidden cells, the program's status and rounds, and
    whether the greedy repair had to complete it. ``cached``: read from the pattern file."""

    suppressed: np.ndarray = field(repr=False)
    status: str
    rounds: int
    repaired: bool
    cached: bool = False


def build_release(tables: ReleaseTables, *, time_limit: float = 5.0,
                  cache: Path | None = None) -> Release:  # fmt: skip
    """Protect the raw tables of a release: the least-cost program for a few rounds, then
    the greedy :func:`repair` until the intruder's audit passes.

    ``cache``: a pattern file (:func:`pattern_file`) holding the hidden cells of this very
    table set (its digest), reused instead of solving again; written when solved."""
    from stikprove.release.suppression import protect

    model = cell_model(tables)
    digest = _digest(model.tables)
    pattern = _read_pattern(cache, digest, model.tables) if cache is not None else None
    if pattern is None:
        protection = protect(model.tables, time_limit=time_limit, max_rounds=REPAIR_AFTER)
        suppressed = np.asarray(protection.suppressed, dtype=bool).copy()
        repaired = bool(protection.unprotected)
        if repaired:
            suppressed = repair(model.tables, suppressed)
        pattern = Pattern(suppressed, protection.status, protection.rounds, repaired)
        if cache is not None:
            _write_pattern(cache, digest, model.tables, pattern)
    return Release(raw_tables=tables, model=model, suppressed=pattern.suppressed,
                   protection=pattern)  # fmt: skip


PATTERN_VERSION = 1


def pattern_file(study: Path) -> Path:
    """The file beside a study store that keeps its release's suppression pattern (which cells
    are hidden, as the reports show them: no number), so that the reports of one study, each
    in its own kernel, solve the program once. Mode 0600 like the store."""
    return study.with_name(f"{study.name}.release.json")


def _digest(tables) -> str:
    """SHA-256 of everything the pattern depends on: cells, atoms, relations, threshold."""
    import hashlib

    h = hashlib.sha256()
    h.update(f"{PATTERN_VERSION}|{tables.threshold}".encode())
    for array in (tables.atom_values, tables.value, tables.published_low, tables.published_high,
                  tables.primary, tables.cost, tables.forced_shown, tables.group):
        h.update(np.ascontiguousarray(array).tobytes())
    h.update("\n".join(map(str, tables.cell_id)).encode())
    for matrix in (tables.numerator, tables.denominator, tables.relations):
        for part in (matrix.indptr, matrix.indices, matrix.data):
            h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def _read_pattern(path: Path, digest: str, tables) -> Pattern | None:
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = doc.get(digest) if isinstance(doc, dict) else None
    if not isinstance(entry, dict):
        return None
    hidden = set(entry.get("hidden", ()))
    suppressed = np.array([c in hidden for c in tables.cell_id], dtype=bool)
    if (tables.primary & ~suppressed).any():
        return None  # not this table set's pattern after all
    return Pattern(suppressed, str(entry.get("status", "")), int(entry.get("rounds", 0)),
                   bool(entry.get("repaired", False)), cached=True)  # fmt: skip


def _write_pattern(path: Path, digest: str, tables, pattern: Pattern) -> None:
    import contextlib
    import json

    from stikprove.files import atomic_write_text

    entry = {"hidden": [str(c) for c in tables.cell_id[pattern.suppressed]],
             "status": pattern.status, "rounds": pattern.rounds,
             "repaired": pattern.repaired}  # fmt: skip
    # one entry per table set (the latest study state and threshold); in a read-only folder
    # the next process solves again
    with contextlib.suppress(OSError):
        atomic_write_text(path, json.dumps({digest: entry}))


REPAIR_AFTER = 2
"""Rounds of the least-cost program (with the audit's cuts) before the greedy repair."""


def repair(tables, suppressed: np.ndarray, max_rounds: int = 100) -> np.ndarray:
    """Hide more until the intruder's audit finds every hidden small count protected.

    Each round audits the pattern and, for every cell still unprotected, hides the cheapest
    of the shown cells that pin its interval (the binding constraints of the intruder's
    program, :attr:`~stikprove.release.audit.Audit.pinned_by`), with the cells of its group.
    Hiding more never narrows an interval, so the rounds end: when the audit passes, when no
    pinning cell can be hidden any more (every one is a structural fact), or after
    ``max_rounds``; the audit of the release then lists what is left. Written by hand: a
    greedy completion of the least-cost program, which converges slowly on the many linked
    constraints of small kommuner."""
    from stikprove.release.audit import Auditor

    auditor = Auditor(tables)  # keeps the bounds of neighbourhoods a round leaves unchanged
    suppressed = suppressed.copy()
    for _ in range(max_rounds):
        result = auditor.run(suppressed, pinning=True, exact=False)
        if result.ok:
            break
        added = False
        for cell_id in result.unprotected:
            pins = [tables.index(c) for c in result.pinned_by.get(cell_id, ())]
            pins = [j for j in pins if not suppressed[j] and not tables.forced_shown[j]]
            if not pins:
                continue
            pick = min(pins, key=lambda j: (tables.cost[j], j))
            group = tables.group[pick]
            members = np.flatnonzero(tables.group == group) if group >= 0 else [pick]
            suppressed[members] = True
            added = True
        if not added:
            break
    return suppressed


# ---- a study's release ------------------------------------------------------------------------


KEY_GROUPS = (("kvinde", "ikke_vestlig"), ("kvinde", "indvandrer_ikke_vestlig"),
              ("kvinde", "efterkommer_ikke_vestlig"))  # fmt: skip
"""The groups the release keeps shown where their own counts allow: non-Western women (the
group whose rate the Odense review claimed)."""


@lru_cache(maxsize=4)
def _study_release(path: str, mtime: float, threshold: int | None, confidence_level: float | None,
                   interval_method: str | None) -> Release:  # fmt: skip
    from stikprove.store import open_study

    study = open_study(path)
    protocol = study.protocol  # the one reader of the stored settings
    data = study.export()
    data["kommune_code"] = data["kommune_code"].astype(str)
    strata = study.strata()
    if "kommune_code" not in strata.columns:
        kommuner = data.groupby("stratum", sort=True)["kommune_code"].unique()
        strata["kommune_code"] = strata["stratum"].map(kommuner.map(lambda c: c[0]))
    indicators = [i.name for i in study.codebook.indicators if i.name in data.columns]
    exempt = data["health_exempt"] if "health_exempt" in data.columns else None
    scope = {i: study.codebook.indicator_scope(i, data, exempt).to_numpy(dtype=bool)
             for i in indicators}  # fmt: skip
    tables = release_tables(
        data, strata, study.export_double_reviews(), study_id=study.study_id,
        strata_columns=study.strata_columns, indicators=indicators,
        threshold=protocol.disclosure_threshold if threshold is None else threshold,
        confidence_level=confidence_level or protocol.confidence_level,
        interval_method=interval_method or protocol.interval_method, key_groups=KEY_GROUPS,
        scope=scope,
    )  # fmt: skip
    release = build_release(tables, cache=pattern_file(Path(path)))
    figures = study_model_figures(study, indicators, tables.confidence_level)
    return with_model_figures(release, figures, cache=pattern_file(Path(path)))


MIN_MODEL_KOMMUNER = 10
"""A study publishes model-based kommune estimates when its population holds at least this
many kommuner (the model borrows strength across kommuner; with a handful it has little to
borrow, and a study of one kommune has none)."""


def study_model_figures(study, indicators, confidence_level: float) -> dict:
    """The raw model-based figures (:class:`~stikprove.release.small_area.ModelFigures`) of
    each indicator of a study: the model of ``stikprove estimate --small-area`` with its
    defaults (arcsine model, REML, bootstrap B = 200 seeded with the protocol's seed, the
    protocol's covariates), unbenchmarked. Empty for a study of fewer than
    :data:`MIN_MODEL_KOMMUNER` kommuner, or where the model cannot be fitted."""
    import warnings

    from stikprove.errors import NotEstimableError
    from stikprove.estimation import StratifiedSample
    from stikprove.release.small_area import model_figures
    from stikprove.small_area import SmallAreaError, area_covariates, small_area_estimates

    units = study.units()
    if units["kommune_code"].astype(str).nunique() < MIN_MODEL_KOMMUNER:
        return {}
    protocol = study.protocol
    sample = StratifiedSample.from_study(study)
    out = {}
    for indicator in indicators:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # σ²_u at 0: the estimates are synthetic
                result = small_area_estimates(
                    sample, units, indicator, covariates=protocol.small_area_covariates,
                    seed=protocol.seed, confidence_level=confidence_level,
                )  # fmt: skip
            covariates = area_covariates(units, protocol.small_area_covariates)
        except (SmallAreaError, NotEstimableError):
            continue
        out[indicator] = model_figures(result, covariates, confidence_level)
    return out


def with_model_figures(release: Release, figures: dict, cache: Path | None = None) -> Release:
    """The release with its model-based figures protected by the rule of
    :mod:`stikprove.release.small_area` (the release's own pattern unchanged). ``cache``:
    the pattern file, whose entry keeps the rule's decisions for these very figures."""
    import dataclasses

    from stikprove.release.small_area import SmallAreaRelease, protect_model_figures

    if not figures:
        return release
    n_hidden = set()
    estimates = _protected(release, "estimates")
    totals = estimates[estimates["level"].eq("kommune") & estimates["sex"].isna()
                       & estimates["origin"].isna()]  # fmt: skip
    for indicator, code, n in zip(totals["indicator"], totals["kommune_code"], totals["n"],
                                  strict=True):  # fmt: skip
        if pd.isna(n):
            n_hidden.add((indicator, str(code)))
    key = _figures_digest(release, figures, n_hidden)
    decided = _read_decisions(cache, key) if cache is not None else None
    if decided is not None:
        from stikprove.release.small_area import decided_model_figures

        small = decided_model_figures(release.model, release.raw_tables.estimates, figures,
                                      *decided)
    else:
        small = protect_model_figures(release.model, release.raw_tables.estimates,
                                      release.suppressed, figures, n_hidden)
        if cache is not None:
            _write_decisions(cache, key, small)
    assert isinstance(small, SmallAreaRelease)
    return dataclasses.replace(release, small_area=small)


def _figures_digest(release: Release, figures: dict, n_hidden: set) -> str:
    import hashlib

    h = hashlib.sha256()
    h.update(_digest(release.model.tables).encode())
    h.update(np.ascontiguousarray(release.suppressed).tobytes())
    h.update(repr(sorted(n_hidden)).encode())
    for indicator in sorted(figures):
        fig = figures[indicator]
        h.update(indicator.encode())
        h.update(pd.util.hash_pandas_object(fig.table, index=False).to_numpy().tobytes())
        h.update(np.ascontiguousarray(fig.beta).tobytes())
    return h.hexdigest()


def _decisions_file(cache: Path) -> Path:
    return cache.with_name(cache.name.replace(".release.json", ".release-model.json"))


def _read_decisions(cache: Path, key: str):
    import json

    try:
        doc = json.loads(_decisions_file(cache).read_text(encoding="utf-8"))
        entry = doc[key]
        basis = {(i, c): b for i, c, b in entry["basis"]}
        decimals = {i: (None if d is None else int(d)) for i, d in entry["decimals"].items()}
        return basis, decimals, tuple(entry.get("unprotected", ()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_decisions(cache: Path, key: str, small) -> None:
    import contextlib
    import json

    from stikprove.files import atomic_write_text

    entry = {"basis": [[i, c, b] for (i, c), b in sorted(small.basis.items())],
             "decimals": small.coefficient_decimals, "unprotected": list(small.unprotected)}
    with contextlib.suppress(OSError):
        atomic_write_text(_decisions_file(cache), json.dumps({key: entry}))


def study_release(path: str | Path, threshold: int | None = None,
                  confidence_level: float | None = None,
                  interval_method: str | None = None) -> Release:  # fmt: skip
    """The protected release of the study store at ``path`` (built once per process while the
    file is unchanged). ``threshold``, ``confidence_level`` and ``interval_method`` None take
    the protocol's. The suppression does not depend on the level or the method (the NCHS
    verdict is always the 95 % Korn–Graubard one): another level or method shows other
    intervals on the same cells."""
    path = Path(path).resolve()
    if not path.is_file():
        raise StikproveError(f"study {path}: no such file; expected a study store (.sqlite)")
    if confidence_level is not None:
        from stikprove.estimation.intervals import check_confidence_level

        confidence_level = float(check_confidence_level(confidence_level))
    return _study_release(str(path), path.stat().st_mtime,
                          None if threshold is None else dc.check_threshold(threshold),
                          confidence_level, interval_method or None)


# ---- what the command line asks of a release --------------------------------------------------

PUBLISHED_BY = ("kommune_code", "region", "sex", "origin")
"""The columns the release's estimates are published by."""


def published_estimates(release: Release, indicator: str, by: list[str] | None,
                        raw: bool = False) -> pd.DataFrame:  # fmt: skip
    """The release's estimates of ``indicator`` for the domains of ``by`` (None or []: all
    cases; kommune_code or region for a level below the nation; sex and origin for the groups),
    protected (``raw``: every value, marked NOT FOR PUBLICATION). Columns: the ``by`` columns,
    n, estimate, se, df, ci_low, ci_high, n_eff, deff, disclosure."""
    by = list(by or [])
    if by == ["stratum"]:  # the strata: the finest domains the release publishes
        return _stratum_estimates(release, indicator, raw)
    outside = [c for c in by if c not in PUBLISHED_BY]
    if outside or ("kommune_code" in by and "region" in by) or len(set(by)) != len(by):
        raise StikproveError(
            f"--by {','.join(by)}: the study's release publishes estimates by "
            f"{', '.join(PUBLISHED_BY)} (one of kommune_code or region, with sex and/or "
            "origin); other groupings are for quality checks only: add --raw (NOT FOR "
            "PUBLICATION)"
        )
    if indicator not in release.indicators:
        import difflib

        close = difflib.get_close_matches(indicator, release.indicators, n=1)
        raise StikproveError(
            f"outcome {indicator!r} is not an indicator of the study's release"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; expected one of {', '.join(release.indicators)}"
        )
    table = release.raw("estimates").drop(columns="publication") if raw else release.table(
        "estimates")  # fmt: skip
    level = "kommune" if "kommune_code" in by else "region" if "region" in by else "nation"
    level = published_level(release.raw_tables, level)
    mask = table["indicator"].eq(indicator) & table["level"].eq(level)
    for column in ("sex", "origin"):
        mask &= table[column].notna() if column in by else table[column].isna()
    out = table[mask]
    keep = [*by, "n", "estimate", "se", "df", "ci_low", "ci_high", "n_eff", "deff"]
    out = out[[*keep, "disclosure"]] if not raw else out[keep].assign(disclosure="")
    out = out.sort_values(by).reset_index(drop=True) if by else out.reset_index(drop=True)
    return dc.mark_raw(out) if raw else out


def published_small_area(release: Release, indicator: str) -> pd.DataFrame:
    """The release's model-based figures of ``indicator`` (the ``small_area`` table's rows
    without the indicator column: kommune_code, basis, estimate, ci_low, ci_high, gamma,
    direct, direct_disclosure, disclosure). Raises StikproveError where the release has no
    model for it (a study of fewer than :data:`MIN_MODEL_KOMMUNER` kommuner)."""
    figures = release.small_area.figures if release.small_area is not None else {}
    if indicator not in figures:
        raise StikproveError(
            f"--small-area: the study's release has no model-based estimates of {indicator!r} "
            f"(they need a study of at least {MIN_MODEL_KOMMUNER} kommuner and an indicator "
            f"the model can fit; the release has them for: {', '.join(figures) or 'none'})"
        )
    table = release.table("small_area")
    table = table[table["indicator"].eq(indicator)].drop(columns="indicator")
    return table.sort_values("kommune_code").reset_index(drop=True)


def _stratum_estimates(release: Release, indicator: str, raw: bool) -> pd.DataFrame:
    """``--by stratum``: the kommune-level sex × origin rows (each a stratum of a study
    stratified by kommune, sex and origin), named by their stratum."""
    strata = release.raw_tables.design[["stratum", "kommune_code", "sex", "origin"]] if {
        "sex", "origin"} <= set(release.raw_tables.design.columns) else None  # fmt: skip
    if strata is None:
        raise StikproveError(
            "--by stratum: the study's release publishes strata as kommune × sex × origin "
            "domains; this study's strata are not those: use --by kommune_code,sex,origin or "
            "add --raw (NOT FOR PUBLICATION)"
        )
    table = published_estimates(release, indicator, ["kommune_code", "sex", "origin"], raw)
    marked = "publication" in table.columns
    body = table.drop(columns="publication") if marked else table
    body = body.merge(strata.astype({"kommune_code": str}), on=["kommune_code", "sex", "origin"],
                      how="inner").drop(columns=["kommune_code", "sex", "origin"])  # fmt: skip
    body = body[["stratum", *[c for c in body.columns if c != "stratum"]]]
    return dc.mark_raw(body) if marked else body


def published_flags(release: Release, indicator: str, raw: bool = False) -> pd.DataFrame:
    """The kommune totals of ``indicator`` with their flags against the nation (the same
    numbers as every kommune's report); columns kommune_code, n, estimate, se, df, ci_low,
    ci_high, n_eff, deff, p_value, p_adjusted, flagged, disclosure."""
    totals = published_estimates(release, indicator, ["kommune_code"], raw)
    if raw:
        totals = totals.drop(columns="publication")
        flags = release.raw_tables.flags
    else:
        flags = release.table("flags").drop(columns="disclosure")
    flags = flags[flags["indicator"].eq(indicator)].drop(columns="indicator")
    flags = flags.assign(kommune_code=flags["kommune_code"].astype(str))
    out = totals.merge(flags, on="kommune_code", how="left")
    columns = [c for c in out.columns if c != "disclosure"] + ["disclosure"]
    return dc.mark_raw(out[columns]) if raw else out[columns]


def analysis_release(data: pd.DataFrame, *, threshold: int, confidence_level: float,
                     interval_method: str, study_id: str = "analysis table") -> Release:
    """The release of an exported analysis table (``stikprove export``): its strata, sizes
    and indicators read from its columns (stratum, kommune_code, population_size,
    planned_sample_size or sample_size; the indicators too_ill, misclassified, no_effort that
    it holds); no double reviews."""
    required = ["stratum", "kommune_code", "population_size"]
    missing = [c for c in required if c not in data.columns]
    if missing:
        raise StikproveError(
            f"analysis table: column(s) {missing} missing; expected the table of "
            "'stikprove export' (a published estimate needs the strata and their sizes)"
        )
    data = data.copy()
    data["kommune_code"] = data["kommune_code"].astype(str)
    if "reviewed" not in data.columns:
        data["reviewed"] = True
    planned = "planned_sample_size" if "planned_sample_size" in data.columns else None
    grouped = data.groupby("stratum", sort=True)
    strata = grouped[["kommune_code", "population_size"]].first().reset_index()
    strata["sample_size"] = (grouped[planned].first() if planned else grouped.size()).to_numpy()
    by = [c for c in ("sex", "origin") if c in data.columns]
    for column in list(by):
        if (grouped[column].nunique() > 1).any():  # noqa: PD101 - per stratum, not one series
            by.remove(column)
        else:
            strata[column] = grouped[column].first().to_numpy()
    pairs = pd.DataFrame(columns=["kommune_code", "reviewed_1", "reviewed_2"])
    indicators = [c for c in ("too_ill", "misclassified", "no_effort") if c in data.columns]
    tables = release_tables(
        data, strata, pairs, study_id=study_id, strata_columns=("kommune_code", *by),
        indicators=indicators, threshold=threshold, confidence_level=confidence_level,
        interval_method=interval_method, key_groups=KEY_GROUPS,
    )  # fmt: skip
    return build_release(tables)
