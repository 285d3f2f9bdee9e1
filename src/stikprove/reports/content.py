"""What a report shows, computed from a study store and disclosed: tidy tables and sentences.

The notebooks (notebooks/*.ipynb) only call these functions and display what they return,
so a report's numbers can be tested without running a notebook. Every table returned here
has passed :mod:`stikprove.release.disclosure` (its ``disclosure`` column says what was
suppressed or flagged); none holds a case id, a note or any case-level row.

A study store is read once per process and kept (:func:`load_study`): rendering the 98
kommune reports of a national study in one kernel reads it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.errors import NotEstimableError, StikproveError
from stikprove.release import disclosure as dc
from stikprove.reports.text import capitalised, group_label, group_phrase

INDICATORS = ("too_ill", "misclassified", "no_effort")
"""The default codebook's indicators, in the order the reports show them."""

KORN_GRAUBARD = "korn-graubard"
"""The interval the NCHS presentation standard is defined on (Parker et al. 2017): the
standard is checked on it whatever interval a report shows."""

GROUPINGS = (("sex", "origin"), ("sex",), ("origin",), ())
"""The domains of a report's estimate table: sex × origin, each margin, and all cases."""

ESTIMATE_COLUMNS = ["group", "sex", "origin", "n", "estimate", "ci_low", "ci_high", "se", "df",
                    "n_eff", "deff", "disclosure"]  # fmt: skip
"""Columns of :func:`estimates_table` (``group`` is the row's label in the report language)."""


@dataclass(frozen=True)
class StudyData:
    """What the reports need from a study store, read once.

    ``data`` is the analysis table (one row per sampled case; it never leaves this object),
    ``strata`` and ``status`` the store's summaries, ``pairs`` the double reviews.
    """

    path: Path
    study_id: str
    title: str
    data: pd.DataFrame = field(repr=False)
    strata: pd.DataFrame = field(repr=False)
    status: pd.DataFrame = field(repr=False)
    pairs: pd.DataFrame = field(repr=False)
    threshold: int
    confidence_level: float
    interval_method: str
    """The disclosure threshold, confidence level and interval method of the study's
    protocol (``study.protocol``; no default of their own here)."""
    strata_columns: tuple[str, ...] = ()
    mtime: float = 0.0
    """Modification time of the store when it was read (with ``path``, the cache key)."""

    @property
    def kommuner(self) -> list[str]:
        """The study's kommune codes, sorted."""
        return sorted(self.strata["kommune_code"].astype(str).unique())


@lru_cache(maxsize=4)
def cached_study(path: str, mtime: float) -> StudyData:
    """The study store at ``path`` (resolved, as text) as it was at modification time
    ``mtime``, read once per (path, mtime) and kept: :func:`load_study`'s reader, and the key
    other cached tables of a study use (reports.interim)."""
    from stikprove.store import open_study

    study = open_study(path)
    protocol = study.protocol  # the one reader of the stored settings
    data = study.export()
    data["kommune_code"] = data["kommune_code"].astype(str)
    strata = _with_kommune(study.strata(), data, path)
    status = study.status()
    status["kommune_code"] = status["kommune_code"].astype(str)
    return StudyData(
        path=Path(path), study_id=study.study_id, title=protocol.title, data=data,
        strata=strata, status=status, pairs=study.export_double_reviews(),
        threshold=protocol.disclosure_threshold, confidence_level=protocol.confidence_level,
        interval_method=protocol.interval_method, strata_columns=study.strata_columns,
        mtime=mtime,
    )  # fmt: skip


def _with_kommune(strata: pd.DataFrame, data: pd.DataFrame, path: str) -> pd.DataFrame:
    """The strata table with each stratum's kommune code (text).

    A study stratified by kommune has the column; one whose strata lie inside one kommune
    without naming it (the Odense replication: sex × origin in kommune 461) gets it from its
    cases. Strata that span kommuner cannot be reported per kommune: refused, naming one."""
    strata = strata.copy()
    if "kommune_code" not in strata.columns:
        kommuner = data.groupby("stratum", sort=True)["kommune_code"].unique()
        spanning = kommuner[kommuner.map(len) > 1]
        if len(spanning):
            raise StikproveError(
                f"study {Path(path).name}: stratum {spanning.index[0]!r} holds cases of "
                f"{len(spanning.iloc[0])} kommuner; kommune reports need strata inside one "
                "kommune (stratify by kommune_code), or use --national"
            )
        strata["kommune_code"] = strata["stratum"].map(kommuner.map(lambda codes: codes[0]))
    strata["kommune_code"] = strata["kommune_code"].astype(str)
    return strata


def load_study(path: str | Path) -> StudyData:
    """The study store at ``path``, read once per process (again when the file changes)."""
    path = Path(path).resolve()
    if not path.is_file():
        raise StikproveError(f"study {path}: no such file; expected a study store (.sqlite)")
    return cached_study(str(path), path.stat().st_mtime)


def check_kommune(study: StudyData, kommune: str) -> str:
    kommune = str(kommune).strip()
    if kommune not in study.kommuner:
        from stikprove.errors import did_you_mean

        raise StikproveError(
            f"kommune {kommune!r} is not in study {study.path.name}"
            f"{did_you_mean(kommune, study.kommuner)}; its kommuner are "
            f"{', '.join(study.kommuner)}"
        )
    return kommune


def kommune_name(code: str) -> str:
    from stikprove.kommuner import kommune

    try:
        return kommune(code).name
    except StikproveError:
        return code


def _subset(study: StudyData, kommune: str | None) -> pd.DataFrame:
    if kommune is None:
        return study.data
    return study.data[study.data["kommune_code"] == kommune]


@lru_cache(maxsize=8)
def _sample_of(path: str, mtime: float, kommune: str | None):
    """The design object (:class:`~stikprove.estimation.StratifiedSample`) of the study, or
    of one kommune's cases (its strata lie inside it), bound once and kept."""
    from stikprove.estimation.stratified_sample import StratifiedSample

    return StratifiedSample(_subset(cached_study(path, mtime), kommune), strata="stratum",
                            population_size="population_size")  # fmt: skip


def sample(study: StudyData, kommune: str | None = None):
    """The study's design object (or one kommune's), e.g. ``sample(data).estimate(...)``."""
    return _sample_of(str(study.path), study.mtime, kommune)


def study_threshold(study: StudyData, threshold: int | None) -> int:
    """The disclosure threshold a table of ``study`` uses: ``threshold``, or the study's own
    (its protocol's) when None, checked: a whole number ≥ 1, else DisclosureError."""
    return dc.check_threshold(study.threshold if threshold is None else threshold)


# ---- design and progress ---------------------------------------------------------------------


def kommune_rows(table: pd.DataFrame, kommune: str) -> pd.DataFrame:
    """The rows of ``table`` whose ``kommune_code`` (compared as text) is ``kommune``,
    without that column and numbered from 0."""
    mine = table[table["kommune_code"].astype(str) == kommune]
    return mine.drop(columns="kommune_code").reset_index(drop=True)


def release(study: StudyData, threshold: int | None = None, confidence_level: float | None = None,
            method: str | None = None):  # fmt: skip
    """The study's protected release (:func:`stikprove.release.study_release`): every table
    a report shows is read from it, so that all reports of a study are protected jointly and
    show one number per figure (None: the protocol's threshold, level and method)."""
    from stikprove.release.release import study_release

    return study_release(study.path, threshold, confidence_level, method)


def _nation(rel) -> str:
    """The level of the whole study's rows (a study of one kommune publishes the kommune)."""
    from stikprove.release.build import published_level

    return published_level(rel.raw_tables, "nation")


def _release_slice(study: StudyData, name: str, threshold: int | None,
                   kommune: str | None) -> pd.DataFrame:  # fmt: skip
    table = release(study, threshold).table(name)
    if kommune is None:
        return table
    return table[table["kommune_code"].astype(str) == kommune].reset_index(drop=True)


def design_table(
    study: StudyData, kommune: str, threshold: int | None = None, language: str = "da"
) -> pd.DataFrame:
    """The kommune's strata: N_h, n_h and the sampling fraction, from the study's protected
    release (disclosure control over every table of every kommune at once).

    Columns: the strata columns other than kommune_code (e.g. sex, origin; labelled in
    ``language``), population_size, sample_size, sampling_fraction, disclosure."""
    by = _strata_by(study)
    table = _release_slice(study, "design", threshold, kommune)
    table = table[[*by, "population_size", "sample_size", "sampling_fraction", "disclosure"]]
    return _labelled(table, by, language)


def progress_table(
    study: StudyData, kommune: str, threshold: int | None = None, language: str = "da"
) -> pd.DataFrame:
    """Review progress per stratum of the kommune, from the protected release: cases taken
    (sample plus activated reserves), reviewed by the first reviewer, remaining.

    Columns: the strata columns other than kommune_code (labelled in ``language``),
    taken (the design's n_h plus the reserves activated for ineligible cases, so it can
    exceed the design table's n), done, remaining, share_done, disclosure."""
    by = _strata_by(study)
    table = _release_slice(study, "progress", threshold, kommune)
    table = table[[*by, "taken", "done", "remaining", "share_done", "disclosure"]]
    return _labelled(table, by, language)


def _strata_by(study: StudyData) -> list[str]:
    return [c for c in study.strata_columns if c not in ("kommune_code", "stratum")]


def _labelled(table: pd.DataFrame, by: Sequence[str], language: str) -> pd.DataFrame:
    out = table.copy()
    for column in by:
        out[column] = [group_label(v, language) for v in out[column]]
    return out


# ---- estimates ----------------------------------------------------------------------------------


def _estimate(study, kommune, outcome, by, confidence_level, method):
    return sample(study, kommune).estimate(outcome, by=list(by) or None,
                                           confidence_level=confidence_level, method=method)


def _release_estimates(study: StudyData, outcome: str, kommune: str | None, by: Sequence[str],
                       threshold: int | None, raw: bool = False, level: float | None = None,
                       method: str | None = None, region: str | None = None
                       ) -> pd.DataFrame:  # fmt: skip
    """One grouping's rows of the release's estimates table: a kommune's (or, with
    ``kommune`` None, the nation's; with ``region``, that region's) domains of ``by`` (e.g.
    ["sex"]; [] for all cases)."""
    rel = release(study, threshold, level, method)
    if outcome not in rel.indicators:
        raise StikproveError(
            f"indicator {outcome!r} is not an indicator of the study's release (a column that "
            f"must hold 0/1 for each case); its indicators are {', '.join(rel.indicators)}"
        )
    table = rel.raw("estimates").drop(columns="publication") if raw else rel.table("estimates")
    mask = table["indicator"].eq(outcome)
    if region is not None and _nation(rel) != "kommune":
        mask &= table["level"].eq("region") & table["region"].eq(region)
    elif kommune is None:
        mask &= table["level"].eq(_nation(rel))
    else:
        mask &= table["level"].eq("kommune") & table["kommune_code"].astype(str).eq(kommune)
    for column in ("sex", "origin"):
        mask &= table[column].notna() if column in by else table[column].isna()
    out = table[mask].reset_index(drop=True)
    keep = [*by, "n", "estimate", "se", "df", "ci_low", "ci_high", "n_eff", "deff"]
    return out[[*keep, "disclosure"]] if "disclosure" in out.columns else out[keep]


def kommune_estimates(
    study: StudyData, outcome: str, kommune: str | None, by: list[str], level: float,
    method: str, threshold: int | None,
) -> pd.DataFrame:  # fmt: skip
    """A kommune's domain estimates (``kommune`` None: the whole study) as the release
    publishes them at ``level`` with ``method`` (``threshold`` None: raw, for quality checks,
    not for publication)."""
    raw = threshold is None
    return _release_estimates(study, outcome, kommune, by, None if raw else threshold, raw,
                              level, method)  # fmt: skip


def _label(row: pd.Series, by: Sequence[str], language: str) -> str:
    if not by:
        return "I alt" if language == "da" else "All"
    if set(by) <= {"sex", "origin"}:  # "Kvinder af dansk oprindelse"
        return capitalised(group_phrase({c: row[c] for c in by}, language))
    parts = [group_label(row[c], language) for c in by]
    return ", ".join(p[:1].upper() + p[1:] if i == 0 else p for i, p in enumerate(parts))


def stack_groups(
    tables: Sequence[tuple[Sequence[str], pd.DataFrame]], columns: Sequence[str], language: str
) -> pd.DataFrame:
    """One table of several groupings' tables: each row labelled in ``group`` by its
    grouping's values (see :func:`_label`), the ``columns`` in order (absent ones missing)."""
    parts = []
    for by, table in tables:
        table = table.copy()
        table.insert(0, "group", [_label(r, by, language) for _, r in table.iterrows()])
        parts.append(table)
    out = pd.concat(parts, ignore_index=True)
    for column in columns:
        if column not in out.columns:
            out[column] = pd.NA
    return out[list(columns)]


def estimates_table(
    study: StudyData,
    outcome: str,
    kommune: str | None = None,
    *,
    groupings: Sequence[Sequence[str]] = GROUPINGS,
    confidence_level: float | None = None,
    method: str | None = None,
    threshold: int | None = None,
    language: str = "da",
    raw: bool = False,
) -> pd.DataFrame:
    """The indicator per group (sex × origin, by sex, by origin, all) of a kommune (or of
    the whole study with ``kommune=None``) as the study's protected release publishes it;
    columns :data:`ESTIMATE_COLUMNS`. With ``raw=True`` nothing is suppressed and every row
    says it is not for publication.
    """
    data = _subset(study, kommune)
    if outcome not in data.columns:
        raise StikproveError(f"indicator {outcome!r} is not a column of the study's analysis table")
    level = study.confidence_level if confidence_level is None else confidence_level
    method = method or study.interval_method
    threshold = study_threshold(study, threshold)
    tables = []
    for by in groupings:
        by = [c for c in by if c in data.columns]
        table = kommune_estimates(study, outcome, kommune, by, level, method,
                                   None if raw else threshold)  # fmt: skip
        if raw:
            table["disclosure"] = ""
        tables.append((by, table))
    out = stack_groups(tables, ESTIMATE_COLUMNS, language)
    out["n"] = out["n"].astype("Int64")
    return dc.mark_raw(out) if raw else out


def headline_row(table: pd.DataFrame, sex: str | None, origin: str | None) -> pd.Series:
    """The row of :func:`estimates_table` for one sex × origin group (None: any)."""
    mask = pd.Series(True, index=table.index)
    for column, value in (("sex", sex), ("origin", origin)):
        mask &= table[column].isna() if value is None else table[column].eq(value)
    rows = table[mask]
    if rows.empty:
        raise StikproveError(f"no estimate for sex={sex!r}, origin={origin!r}")
    return rows.iloc[0]


def bounds_table(
    study: StudyData, outcome: str, kommune: str | None = None, threshold: int | None = None
) -> pd.DataFrame:
    """Worst/best case of the indicator for all cases of the kommune (or the study),
    counting the missing outcomes as no or as yes, from the protected release (the bounds
    reveal the number of missing outcomes and are hidden with it).

    Columns: n_missing (eligible cases without an outcome: not assessable, not yet reviewed
    or out of the indicator's scope; ineligible cases, replaced by reserves, are not
    missing), estimate_missing_as_0, estimate_missing_as_1, disclosure."""
    rel = release(study, threshold)
    table = rel.table("bounds")
    mask = table["indicator"].eq(outcome)
    if kommune is None:
        mask &= table["level"].eq(_nation(rel))
    else:
        mask &= table["kommune_code"].astype(str).eq(kommune)
    table = table[mask].reset_index(drop=True)
    return table[["n_missing", "estimate_missing_as_0", "estimate_missing_as_1", "disclosure"]]


def comparison_table(
    study: StudyData,
    outcome: str,
    kommune: str | None = None,
    *,
    domain: str = "sex",
    groups: tuple[str, str] = ("kvinde", "mand"),
    threshold: int | None = None,
    confidence_level: float | None = None,
) -> pd.DataFrame:
    """Difference and ratio of two groups' rates (``StratifiedSample.compare``) at
    ``confidence_level`` (None: the protocol's), disclosed; an empty frame when the groups
    are not both in the data."""
    data = _subset(study, kommune)
    present = set(data.loc[data[outcome].notna(), domain].astype(str))
    if not set(groups) <= present:
        return pd.DataFrame()
    level = study.confidence_level if confidence_level is None else confidence_level
    try:
        result = sample(study, kommune).compare(
            outcome, by=domain, groups=groups, confidence_level=level,
            interval_method=study.interval_method,
        )  # fmt: skip
    except NotEstimableError:  # nothing to compare here; bad input is not hidden
        return pd.DataFrame()
    threshold = study_threshold(study, threshold)
    out = dc.disclose_comparison(result.to_frame(), threshold)
    # the groups' counts are cells of the published estimates table: where that table hides
    # one (e.g. as a complement), the comparison must not show it either
    shown = kommune_estimates(study, outcome, kommune, [domain], study.confidence_level,
                               study.interval_method, threshold)  # fmt: skip
    hidden = shown[shown[domain].astype(str).isin(groups)]["estimate"].isna().any()
    if hidden and out["disclosure"].iloc[0] == "":
        keep = {"first", "second", "method", "confidence_level", "interval_method"}
        for column in out.columns:
            if column not in keep and column != "disclosure":
                out[column] = pd.Series([None] * len(out), dtype=object)
        out["disclosure"] = "complementary"
    return out


def _total_hidden(study: StudyData, outcome: str, kommune: str | None,
                  threshold: int) -> str:  # fmt: skip
    """The disclosure codes of the kommune's (or study's) overall estimate when disclosure
    control hides it, else "": figures derived from that estimate are hidden with it."""
    total = kommune_estimates(study, outcome, kommune, [], study.confidence_level,
                               study.interval_method, threshold)  # fmt: skip
    if total.empty or pd.isna(total["estimate"].iloc[0]):
        return str(total["disclosure"].iloc[0]) if not total.empty else "small"
    return ""


def group_test(
    study: StudyData,
    outcome: str,
    kommune: str | None = None,
    group: str = "origin",
    threshold: int | None = None,
) -> pd.DataFrame:
    """The Rao–Scott test of equal rates across ``group`` (one row: statistic, df,
    df_denominator, p_value, groups); empty when it cannot be computed (fewer than two
    groups, no events) or when the kommune's overall estimate is hidden by disclosure
    control (too few cases to say anything)."""
    if _total_hidden(study, outcome, kommune, study_threshold(study, threshold)):
        return pd.DataFrame()
    data = _subset(study, kommune)
    if data.loc[data[outcome].notna(), group].nunique() < 2:
        return pd.DataFrame()
    try:
        result = sample(study, kommune).rao_scott(outcome, by=group)
    except NotEstimableError:  # too few groups or events, no variance; bad input is not hidden
        return pd.DataFrame()
    frame = result.to_frame()
    return frame[["statistic", "df", "df_denominator", "p_value", "groups"]]


def agreement_table(
    study: StudyData,
    kommune: str | None = None,
    field_name: str = "health_assessment",
    threshold: int | None = None,
    confidence_level: float | None = None,
) -> pd.DataFrame:
    """Cohen's kappa of the two reviewers on the kommune's (or the study's) double-reviewed
    cases, from the protected release (one row: n_pairs, percent_agreement, kappa, ci_low,
    ci_high, disclosure; ``confidence_level`` None: the protocol's). The cross-table of codes
    is never shown."""
    if field_name != "health_assessment":
        raise StikproveError(
            f"agreement on {field_name!r}: the release publishes the agreement on "
            "health_assessment only"
        )
    rel = release(study, threshold, confidence_level)
    table = rel.table("agreement")
    if kommune is None:
        row = table[table["level"].eq(_nation(rel))]
    else:
        row = table[table["kommune_code"].astype(str).eq(kommune)]
    columns = ["n_pairs", "percent_agreement", "kappa", "ci_low", "ci_high", "disclosure"]
    if row.empty:  # no double review in the kommune
        return pd.DataFrame([{"n_pairs": 0, "percent_agreement": np.nan, "kappa": np.nan,
                              "ci_low": np.nan, "ci_high": np.nan,
                              "disclosure": ""}])[columns]  # fmt: skip
    return row[columns].reset_index(drop=True)


# ---- the nation ------------------------------------------------------------------------------


def kommune_flags(
    study: StudyData,
    outcome: str,
    *,
    threshold: int | None = None,
    alpha: float = 0.05,
    confidence_level: float | None = None,
    method: str | None = None,
) -> pd.DataFrame:
    """Each kommune's rate against the nation, from the protected release: the kommune totals
    of its estimates table (the same numbers as each kommune's report) with the test the
    funnel plot draws (:func:`~stikprove.estimation.multiplicity.funnel_flags`: z on the
    funnel's null variance θ(1 − θ)/n_eff at the kommune's effective n, Benjamini–Hochberg at
    0.05 over all kommuner, flagged exactly when outside the plotted limit).

    Columns: kommune_code, kommune_name, n, estimate, se, df, ci_low, ci_high, n_eff, deff,
    p_value, p_adjusted, flagged, disclosure. ``attrs`` holds ``national_rate`` (θ, as
    published), ``limit_level`` and ``alpha`` for :func:`funnel_points`."""
    if alpha != 0.05:
        raise StikproveError(f"alpha {alpha}: the release flags kommuner at 0.05")
    rel = release(study, threshold, confidence_level, method)
    totals = rel.table("estimates")
    totals = totals[totals["indicator"].eq(outcome) & totals["level"].eq("kommune")
                    & totals["sex"].isna() & totals["origin"].isna()]  # fmt: skip
    flags = rel.table("flags")
    flags = flags[flags["indicator"].eq(outcome)].drop(columns=["indicator", "disclosure"])
    keep = ["kommune_code", "n", "estimate", "se", "df", "ci_low", "ci_high", "n_eff", "deff",
            "disclosure"]  # fmt: skip
    table = totals[keep].merge(flags, on="kommune_code", how="left")
    table = table[[*keep[:-1], "p_value", "p_adjusted", "flagged", "disclosure"]]
    table.insert(1, "kommune_name", table["kommune_code"].map(kommune_name))
    table = table.reset_index(drop=True)
    raw = rel.raw_tables.flags
    raw = raw[raw["indicator"].eq(outcome)]
    rate = _release_estimates(study, outcome, None, [], threshold, level=confidence_level,
                              method=method)["estimate"]  # fmt: skip
    if len(raw) and len(rate) and pd.notna(rate.iloc[0]):
        table.attrs.update(national_rate=float(raw["national_rate"].iloc[0]),
                           limit_level=float(raw["limit_level"].iloc[0]), alpha=alpha)
    else:  # the national rate is withheld: so are the tests against it
        table[["p_value", "p_adjusted"]] = np.nan
        table["flagged"] = pd.Series([None] * len(table), dtype=object)
    return table


def national_rate(study: StudyData, outcome: str) -> float:
    """The whole study population's estimated rate of the indicator, as published (NaN when
    the release withholds it)."""
    table = _release_estimates(study, outcome, None, [], study.threshold)
    return float(table["estimate"].iloc[0])


def funnel_points(flags: pd.DataFrame) -> pd.DataFrame:
    """The kommuner a funnel plot may show: those whose estimate passed disclosure control,
    at their effective sample size (the tables' ``n_eff``), with the plotted limit at that
    n_eff (``lower``, ``upper``: ``funnel_limits`` at ``flags.attrs["limit_level"]``, normal
    limits on n_eff around ``flags.attrs["national_rate"]``) and the flag, which is True
    exactly when the point lies outside them. ``attrs`` carries the national rate and the
    limit level on to :func:`~stikprove.reports.plots.funnel_plot`."""
    from stikprove.estimation.multiplicity import funnel_limits

    shown = flags[flags["estimate"].notna() & flags["n_eff"].notna()]
    points = shown[["kommune_code", "kommune_name", "n_eff", "estimate", "flagged"]]
    points = points.reset_index(drop=True)
    points["flagged"] = points["flagged"].astype(bool)
    rate, level = flags.attrs.get("national_rate"), flags.attrs.get("limit_level")
    alpha = flags.attrs.get("alpha")
    if rate is not None and level is not None and len(points):
        limits = funnel_limits(rate, points["n_eff"].to_numpy(float), levels=(level,),
                               method="normal").set_index("n")  # fmt: skip
        points["lower"] = points["n_eff"].map(limits["lower"]).to_numpy(float)
        points["upper"] = points["n_eff"].map(limits["upper"]).to_numpy(float)
    points.attrs.update(national_rate=rate, limit_level=level, alpha=alpha)
    return points


# ---- the region of a kommune, and indicators that only restate another ----------------------


def region_estimates(
    study: StudyData,
    outcome: str,
    kommune: str,
    *,
    groupings: Sequence[Sequence[str]] = GROUPINGS,
    confidence_level: float | None = None,
    method: str | None = None,
    threshold: int | None = None,
    language: str = "da",
) -> pd.DataFrame:
    """The indicator per group in the region of ``kommune`` (its cases in the study: all of
    the region's kommuner that the study covers), as the study's release publishes it (the
    region rows are cells of the same protected table set); columns :data:`ESTIMATE_COLUMNS`.
    A kommune too small for figures of its own shows these beside the nation's
    (``estimates_table`` with ``kommune=None``)."""
    from stikprove.kommuner import kommune as kommune_of

    region = kommune_of(kommune).region
    level = study.confidence_level if confidence_level is None else confidence_level
    method = method or study.interval_method
    tables = []
    for by in groupings:
        by = [c for c in by if c in study.data.columns]
        table = _release_estimates(study, outcome, kommune, by, threshold, level=level,
                                   method=method, region=region)  # fmt: skip
        tables.append((by, table))
    out = stack_groups(tables, ESTIMATE_COLUMNS, language)
    out["n"] = out["n"].astype("Int64")
    return out


def complement_of(study: StudyData, indicator: str, others: Sequence[str]) -> str | None:
    """The first of ``others`` that ``indicator`` is the exact complement of in this study
    (missing for the same cases, and 1 − it everywhere else), else None: such an indicator
    restates the other and is not a finding of its own (e.g. ``misclassified`` when every
    case in the study is exempted for health reasons: 1 − ``too_ill``)."""
    data = study.data
    if indicator not in data.columns:
        return None
    values = data[indicator]
    for other in others:
        if other == indicator or other not in data.columns:
            continue
        theirs = data[other]
        known = values.notna()
        if known.any() and known.equals(theirs.notna()) and (
            values[known] + theirs[known] == 1
        ).all():
            return other
    return None


def too_small(study: StudyData, kommune: str) -> bool:
    """Whether ``kommune`` has too few sampled cases for any figure of its own, however the
    review goes: fewer than the 30 the NCHS standard asks of an estimate's effective sample
    size (:data:`stikprove.nchs.MIN_EFFECTIVE_N`). Its report then gives its region's and
    the nation's figures instead."""
    from stikprove.nchs import MIN_EFFECTIVE_N

    mine = study.strata["kommune_code"].astype(str) == str(kommune)
    return int(study.strata.loc[mine, "sample_size"].sum()) < MIN_EFFECTIVE_N


# ---- model-based (small-area) estimates ---------------------------------------------------------

MODEL_COLUMNS = ["kommune_code", "kommune_name", "indicator", "n", "direct", "direct_ci_low",
                 "direct_ci_high", "model_estimate", "model_ci_low", "model_ci_high", "basis",
                 "gamma", "leads", "disclosure"]  # fmt: skip
"""Columns of :func:`model_table`: the release's direct kommune estimate (``n``, ``direct``
and its interval, hidden where the release hides them) beside its model-based one
(``model_estimate`` and its interval, ``basis``: eblup, eblup_1pp or synthetic, ``gamma``
where published), ``leads`` (the report leads with the model-based figure: the direct one is
hidden or fails the NCHS standard) and ``disclosure`` (the direct row's codes and the model's,
joined)."""


def has_model(study: StudyData, indicator: str, threshold: int | None = None,
              confidence_level: float | None = None, method: str | None = None) -> bool:
    """Whether the study's release publishes model-based estimates of ``indicator``."""
    rel = release(study, threshold, confidence_level, method)
    return rel.small_area is not None and indicator in rel.small_area.figures


def model_table(study: StudyData, indicator: str, kommune: str | None = None, *,
                threshold: int | None = None, confidence_level: float | None = None,
                method: str | None = None, language: str = "da") -> pd.DataFrame:  # fmt: skip
    """The kommune's (``kommune`` None: every kommune's) direct and model-based estimates of
    ``indicator`` as the study's release publishes them (:data:`MODEL_COLUMNS`; empty where
    the release has no model): the same numbers as the release's ``estimates`` and
    ``small_area`` tables and ``stikprove estimate --small-area``."""
    from stikprove.release.disclosure import SUPPRESSING_CODES

    rel = release(study, threshold, confidence_level, method)
    if rel.small_area is None or indicator not in rel.small_area.figures:
        return pd.DataFrame(columns=MODEL_COLUMNS)
    model = rel.table("small_area")
    model = model[model["indicator"].eq(indicator)]
    estimates = rel.table("estimates")
    totals = estimates[estimates["indicator"].eq(indicator) & estimates["level"].eq("kommune")
                       & estimates["sex"].isna() & estimates["origin"].isna()]  # fmt: skip
    totals = totals.assign(kommune_code=totals["kommune_code"].astype(str))
    direct = totals.set_index("kommune_code")
    if kommune is not None:
        model = model[model["kommune_code"].astype(str).eq(str(kommune))]
    rows = []
    for row in model.to_dict("records"):
        code = str(row["kommune_code"])
        own = direct.loc[code] if code in direct.index else None
        codes = str(row["direct_disclosure"] or "")
        nchs = any(c.startswith("nchs_") or c in SUPPRESSING_CODES for c in codes.split(",") if c)
        rows.append({
            "kommune_code": code, "kommune_name": kommune_name(code), "indicator": indicator,
            "n": own["n"] if own is not None else pd.NA,
            "direct": row["direct"],
            "direct_ci_low": own["ci_low"] if own is not None else np.nan,
            "direct_ci_high": own["ci_high"] if own is not None else np.nan,
            "model_estimate": row["estimate"], "model_ci_low": row["ci_low"],
            "model_ci_high": row["ci_high"], "basis": row["basis"], "gamma": row["gamma"],
            "leads": bool(pd.isna(row["direct"]) or nchs),
            "disclosure": ",".join(c for c in (codes, str(row["disclosure"] or "")) if c),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=MODEL_COLUMNS)
    out["n"] = out["n"].astype("Int64")
    return out.sort_values("kommune_code").reset_index(drop=True)


def model_display(table: pd.DataFrame, language: str = "da", by: str = "indicator"
                  ) -> pd.DataFrame:  # fmt: skip
    """:func:`model_table` as a report shows it: ``by`` ("indicator": one row per indicator,
    named; "kommune": one row per kommune, named), the direct estimate and interval, the
    model-based one with its basis in words ("modelbaseret", "model-based"), the notes."""
    from stikprove.reports.text import basis_label, indicator_name

    out = table.copy()
    label = "indicator" if by == "indicator" else "kommune_name"
    if by == "indicator":
        out["indicator"] = [indicator_name(i, language) for i in out["indicator"]]
    out["basis"] = [basis_label(b, language) for b in out["basis"]]
    keep = [label, "n", "direct", "direct_ci_low", "direct_ci_high", "model_estimate",
            "model_ci_low", "model_ci_high", "basis", "disclosure"]  # fmt: skip
    return out[keep].reset_index(drop=True)


def kommune_models(study: StudyData, indicators: Sequence[str], kommune: str, *,
                   threshold: int | None = None, confidence_level: float | None = None,
                   method: str | None = None) -> pd.DataFrame:  # fmt: skip
    """:func:`model_table` of one kommune for each of ``indicators`` (one row each, in that
    order; none for an indicator the release has no model of)."""
    parts = [model_table(study, i, kommune, threshold=threshold,
                         confidence_level=confidence_level, method=method)
             for i in indicators]  # fmt: skip
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=MODEL_COLUMNS)
    return pd.concat(parts, ignore_index=True)
