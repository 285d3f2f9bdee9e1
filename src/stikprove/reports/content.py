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

from stikprove.errors import EstimationError, StikproveError
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD
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
    threshold: int = dc.DEFAULT_THRESHOLD
    confidence_level: float = 0.95
    interval_method: str = DEFAULT_DOMAIN_INTERVAL_METHOD
    strata_columns: tuple[str, ...] = ()
    mtime: float = 0.0
    """Modification time of the store when it was read (with ``path``, the cache key)."""

    @property
    def kommuner(self) -> list[str]:
        """The study's kommune codes, sorted."""
        return sorted(self.strata["kommune_code"].astype(str).unique())


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> StudyData:
    from stikprove.store import open_study

    study = open_study(path)
    settings = study.settings()
    data = study.export()
    data["kommune_code"] = data["kommune_code"].astype(str)
    strata = _with_kommune(study.strata(), data, path)
    status = study.status()
    status["kommune_code"] = status["kommune_code"].astype(str)
    return StudyData(
        path=Path(path), study_id=study.study_id, title=settings.title, data=data,
        strata=strata, status=status, pairs=study.export_double_reviews(),
        threshold=settings.disclosure_threshold, confidence_level=settings.confidence_level,
        interval_method=settings.interval_method, strata_columns=study.strata_columns,
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
    return _load(str(path), path.stat().st_mtime)


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

    return StratifiedSample(_subset(_load(path, mtime), kommune), strata="stratum",
                            population_size="population_size")  # fmt: skip


def sample(study: StudyData, kommune: str | None = None):
    """The study's design object (or one kommune's), e.g. ``sample(data).estimate(...)``."""
    return _sample_of(str(study.path), study.mtime, kommune)


def _threshold(study: StudyData, threshold: int | None) -> int:
    return dc.check_threshold(study.threshold if threshold is None else threshold)


# ---- design and progress ---------------------------------------------------------------------


def _kommune_slice(table: pd.DataFrame, kommune: str) -> pd.DataFrame:
    mine = table[table["kommune_code"].astype(str) == kommune]
    return mine.drop(columns="kommune_code").reset_index(drop=True)


@lru_cache(maxsize=16)
def _design_all(path: str, mtime: float, threshold: int) -> pd.DataFrame:
    """N_h, n_h and f_h of every stratum, disclosed over the whole study (see
    :func:`design_table`)."""
    study = _load(path, mtime)
    strata = study.strata.copy()
    by = _strata_by(study)
    strata["sampling_fraction"] = strata["sample_size"] / strata["population_size"]
    table = strata[["kommune_code", *by, "population_size", "sample_size", "sampling_fraction"]]
    return dc.disclose_counts(table, ["population_size", "sample_size"], ["kommune_code", *by],
                              threshold, hide_columns=["sampling_fraction"])  # fmt: skip


def design_table(
    study: StudyData, kommune: str, threshold: int | None = None, language: str = "da"
) -> pd.DataFrame:
    """The kommune's strata: N_h, n_h and the sampling fraction, small counts suppressed.

    Disclosure control runs over the strata of the whole study (every kommune's report is
    published): a kommune's stratum is also protected against differencing with the other
    kommuner's reports and national totals.

    Columns: the strata columns other than kommune_code (e.g. sex, origin; labelled in
    ``language``), population_size, sample_size, sampling_fraction, disclosure."""
    table = _design_all(str(study.path), study.mtime, _threshold(study, threshold))
    return _labelled(_kommune_slice(table, kommune), _strata_by(study), language)


@lru_cache(maxsize=16)
def _progress_all(path: str, mtime: float, threshold: int) -> pd.DataFrame:
    study = _load(path, mtime)
    by = ["kommune_code", *_strata_by(study)]
    table = study.data.groupby(by, sort=True).agg(
        taken=("case_id", "size"), done=("reviewed", "sum")
    ).reset_index()  # fmt: skip
    table["remaining"] = table["taken"] - table["done"]
    table["share_done"] = table["done"] / table["taken"]
    return dc.disclose_counts(table, ["taken", "done", "remaining"], by, threshold,
                              hide_columns=["share_done"])  # fmt: skip


def progress_table(
    study: StudyData, kommune: str, threshold: int | None = None, language: str = "da"
) -> pd.DataFrame:
    """Review progress per stratum of the kommune: cases taken (sample plus activated
    reserves), reviewed by the first reviewer, remaining; disclosed over the whole study
    like :func:`design_table`.

    Columns: the strata columns other than kommune_code (labelled in ``language``),
    taken (the design's n_h plus the reserves activated for ineligible cases, so it can
    exceed the design table's n), done, remaining, share_done, disclosure."""
    table = _progress_all(str(study.path), study.mtime, _threshold(study, threshold))
    return _labelled(_kommune_slice(table, kommune), _strata_by(study), language)


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


@lru_cache(maxsize=64)
def _by_kommune(path: str, mtime: float, outcome: str, by: tuple[str, ...], level: float,
                method: str) -> pd.DataFrame:  # fmt: skip
    """Estimates for every kommune × ``by`` domain of the study at once (cached)."""
    study = _load(path, mtime)
    return _estimate(study, None, outcome, ("kommune_code", *by), level, method)


@lru_cache(maxsize=64)
def _disclosed_by_kommune(path: str, mtime: float, outcome: str, by: tuple[str, ...],
                          level: float, method: str, threshold: int) -> pd.DataFrame:  # fmt: skip
    """:func:`_by_kommune` disclosed as one table over all kommuner (cached)."""
    table = _by_kommune(path, mtime, outcome, by, level, method)
    return dc.disclose_estimates(table, ["kommune_code", *by], threshold,
                                 confidence_level=level)  # fmt: skip


def kommune_estimates(
    study: StudyData, outcome: str, kommune: str | None, by: list[str], level: float,
    method: str, threshold: int | None,
) -> pd.DataFrame:  # fmt: skip
    """A kommune's domain estimates (``kommune`` None: the whole study), disclosed
    (``threshold`` None: raw).

    When the strata are nested in kommuner (kommune_code is a strata column) a domain inside
    a kommune involves only that kommune's strata, so its estimate, variance and df are the
    same computed on the whole study as on the kommune's cases: all kommuner are then
    estimated in one call, and disclosed as one table (so that no kommune's suppressed cell
    can be recovered from the other kommuners' reports and the national totals); both are
    kept for the next report."""
    if kommune is None or "kommune_code" not in study.strata_columns:
        table = _estimate(study, kommune, outcome, by, level, method)
        if threshold is None:
            return table
        return dc.disclose_estimates(table, by, threshold, confidence_level=level)
    args = (str(study.path), study.mtime, outcome, tuple(by), level, method)
    if threshold is None:
        return _kommune_slice(_by_kommune(*args), kommune)
    return _kommune_slice(_disclosed_by_kommune(*args, threshold), kommune)


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
    the whole study with ``kommune=None``), disclosed; columns :data:`ESTIMATE_COLUMNS`.

    Each grouping is disclosed on its own with complementary suppression across its margins
    (:func:`~stikprove.release.disclosure.disclose_estimates`); with ``raw=True`` nothing is
    suppressed and every row says it is not for publication.
    """
    data = _subset(study, kommune)
    if outcome not in data.columns:
        raise StikproveError(f"indicator {outcome!r} is not a column of the study's analysis table")
    level = study.confidence_level if confidence_level is None else confidence_level
    method = method or study.interval_method
    threshold = _threshold(study, threshold)
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


def _indicator_scope(path: str, data: pd.DataFrame, outcome: str) -> np.ndarray:
    """Which cases belong to the indicator's population (the study codebook's
    ``indicator_scope``: eligible, and health-exempt where the indicator asks; a case not yet
    reviewed counts as in scope); every case when ``outcome`` is not a codebook indicator."""
    from stikprove.store import open_study

    codebook = open_study(path).codebook
    if outcome not in {i.name for i in codebook.indicators}:
        return np.ones(len(data), dtype=bool)
    exempt = data["health_exempt"] if "health_exempt" in data.columns else None
    return codebook.indicator_scope(outcome, data, exempt).to_numpy(dtype=bool)


def bounds_table(
    study: StudyData, outcome: str, kommune: str | None = None, threshold: int | None = None
) -> pd.DataFrame:
    """Worst/best case of the indicator for the kommune's (or the study's) cases in the
    indicator's population, counting the missing outcomes as no or as yes
    (``outcome_bounds``), disclosed: the bounds reveal the number of missing outcomes, so
    they are hidden with it when it is small (over all kommuner, like
    :func:`design_table`), and they bracket the overall estimate, so they are hidden with it
    too.

    Columns: n_missing (eligible cases that could not be assessed or are not yet reviewed;
    cases found ineligible, replaced by reserves, are outside the indicator and not
    counted), estimate_missing_as_0, estimate_missing_as_1, disclosure."""
    threshold = _threshold(study, threshold)
    if kommune is None or "kommune_code" not in study.strata_columns:
        data = _subset(study, kommune)
        scope = _indicator_scope(str(study.path), data, outcome)
        bounds = sample(study, kommune).bounds(outcome, in_scope=scope)
        table = bounds[["n_missing", "estimate_missing_as_0", "estimate_missing_as_1"]]
        table = dc.disclose_counts(table, ["n_missing"], (), threshold,
                                   hide_columns=list(table.columns[1:]))  # fmt: skip
    else:
        table = _kommune_slice(_bounds_all(str(study.path), study.mtime, outcome, threshold),
                               kommune)  # fmt: skip
    hidden = _total_hidden(study, outcome, kommune, threshold)
    if hidden and table["disclosure"].iloc[0] == "":
        # the bounds bracket the overall estimate: hidden where it is
        table[["estimate_missing_as_0", "estimate_missing_as_1"]] = np.nan
        table["disclosure"] = hidden
    return table


@lru_cache(maxsize=16)
def _bounds_all(path: str, mtime: float, outcome: str, threshold: int) -> pd.DataFrame:
    study = _load(path, mtime)
    scope = _indicator_scope(path, study.data, outcome)
    bounds = sample(study).bounds(outcome, by="kommune_code", in_scope=scope)
    # a kommune without a case in the indicator's population has no bounds: a row of its own
    kommuner = pd.DataFrame({"kommune_code": study.kommuner})
    bounds = kommuner.merge(bounds.assign(kommune_code=bounds["kommune_code"].astype(str)),
                            on="kommune_code", how="left")  # fmt: skip
    table = pd.DataFrame({
        "kommune_code": bounds["kommune_code"],
        "n_missing": bounds["n_missing"].fillna(0).astype(int).to_numpy(),
        "estimate_missing_as_0": bounds["estimate_missing_as_0"].to_numpy(),
        "estimate_missing_as_1": bounds["estimate_missing_as_1"].to_numpy(),
    })  # fmt: skip
    return dc.disclose_counts(table, ["n_missing"], ["kommune_code"], threshold,
                              hide_columns=["estimate_missing_as_0", "estimate_missing_as_1"])


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
            outcome, by=domain, groups=groups, confidence_level=level
        )
    except EstimationError:
        return pd.DataFrame()
    threshold = _threshold(study, threshold)
    out = dc.disclose_comparison(result.to_frame(), threshold)
    # the groups' counts are cells of the published estimates table: where that table hides
    # one (e.g. as a complement), the comparison must not show it either
    shown = kommune_estimates(study, outcome, kommune, [domain], study.confidence_level,
                               study.interval_method, threshold)  # fmt: skip
    hidden = shown[shown[domain].astype(str).isin(groups)]["disclosure"].ne("").any()
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
    if _total_hidden(study, outcome, kommune, _threshold(study, threshold)):
        return pd.DataFrame()
    data = _subset(study, kommune)
    if data.loc[data[outcome].notna(), group].nunique() < 2:
        return pd.DataFrame()
    try:
        result = sample(study, kommune).rao_scott(outcome, by=group)
    except EstimationError:
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
    """Cohen's kappa of the two reviewers on the kommune's double-reviewed cases (one row:
    n_pairs, percent_agreement, kappa, ci_low, ci_high, disclosure), its interval at
    ``confidence_level`` (default: the protocol's); the values hidden when there are fewer
    pairs than the threshold. The cross-table of codes is never shown."""
    from stikprove.estimation.agreement import reviewer_agreement

    pairs = study.pairs
    if kommune is not None:
        pairs = pairs[pairs["kommune_code"].astype(str) == kommune]
    both = pairs[pairs["reviewed_1"] & pairs["reviewed_2"]]
    first, second = f"{field_name}_1", f"{field_name}_2"
    row = {"n_pairs": len(both), "percent_agreement": np.nan, "kappa": np.nan,
           "ci_low": np.nan, "ci_high": np.nan}  # fmt: skip
    if len(both) and first in both.columns:
        try:
            level = confidence_level or study.confidence_level
            result = reviewer_agreement(both[first], both[second], confidence_level=level)
            row.update(n_pairs=result.n_pairs, percent_agreement=result.percent_agreement,
                       kappa=result.kappa, ci_low=result.ci_low,
                       ci_high=result.ci_high)  # fmt: skip
        except EstimationError:
            pass
    table = pd.DataFrame([row])
    return dc.disclose_counts(
        table, ["n_pairs"], (), _threshold(study, threshold),
        hide_columns=["percent_agreement", "kappa", "ci_low", "ci_high"],
    )  # fmt: skip


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
    """Each kommune's rate against the nation, the test the funnel plot draws
    (:func:`~stikprove.estimation.multiplicity.funnel_flags`): z on the funnel's null variance
    θ(1 − θ)/n_eff at the kommune's effective n, Benjamini–Hochberg at ``alpha`` over all
    kommuner, flagged exactly when outside the plotted limit; disclosed, with the ``method``
    interval at ``confidence_level`` (None: the protocol's).

    Columns: kommune_code, kommune_name, n, estimate, se, df, ci_low, ci_high, n_eff, deff,
    p_value, p_adjusted, flagged, disclosure. ``attrs`` holds ``national_rate`` (θ),
    ``limit_level`` (the level of the limit that separates flagged from not) and ``alpha``
    for :func:`funnel_points`."""
    from stikprove.estimation.multiplicity import funnel_flags

    level = study.confidence_level if confidence_level is None else confidence_level
    method = method or study.interval_method
    table = _estimate(study, None, outcome, ("kommune_code",), level, method)
    rate = national_rate(study, outcome)
    test = funnel_flags(table["estimate"], table["n_eff"], rate, alpha=alpha)
    table["p_value"], table["p_adjusted"] = test.p_value, test.p_adjusted
    table["flagged"] = test.flagged
    wanted = ("kommune_code", "n", "estimate", "se", "df", "ci_low", "ci_high", "n_eff", "deff",
              "p_value", "p_adjusted", "flagged")  # fmt: skip
    table = dc.disclose_estimates(table[list(wanted)], ["kommune_code"],
                                  _threshold(study, threshold), confidence_level=level)  # fmt: skip
    table.insert(1, "kommune_name", table["kommune_code"].map(kommune_name))
    table.attrs.update(national_rate=rate, limit_level=test.limit_level, alpha=alpha)
    return table


def national_rate(study: StudyData, outcome: str) -> float:
    """The whole study population's estimated rate of the indicator."""
    table = _estimate(study, None, outcome, (), study.confidence_level, study.interval_method)
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


@lru_cache(maxsize=16)
def _by_region(path: str, mtime: float, outcome: str, by: tuple[str, ...], level: float,
               method: str, threshold: int) -> pd.DataFrame:  # fmt: skip
    """Estimates for every region × ``by`` domain, disclosed as one table over all regions."""
    from stikprove.estimation.stratified_sample import StratifiedSample
    from stikprove.kommuner import kommune_table

    study = _load(path, mtime)
    region_of = kommune_table().set_index("kommune_code")["region"]
    data = study.data.assign(region=study.data["kommune_code"].map(region_of))
    design = StratifiedSample(data, strata="stratum", population_size="population_size")
    table = design.estimate(outcome, by=["region", *by], confidence_level=level, method=method)
    return dc.disclose_estimates(table, ["region", *by], threshold, confidence_level=level)


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
    the region's kommuner that the study covers), disclosed over all regions at once like
    :func:`estimates_table` per grouping; columns :data:`ESTIMATE_COLUMNS`. A kommune too
    small for figures of its own shows these beside the nation's (``estimates_table`` with
    ``kommune=None``)."""
    from stikprove.kommuner import kommune as kommune_of

    region = kommune_of(kommune).region
    level = study.confidence_level if confidence_level is None else confidence_level
    method = method or study.interval_method
    threshold = _threshold(study, threshold)
    tables = []
    for by in groupings:
        by = [c for c in by if c in study.data.columns]
        table = _by_region(str(study.path), study.mtime, outcome, tuple(by), level, method,
                           threshold)  # fmt: skip
        mine = table[table["region"] == region].drop(columns="region").reset_index(drop=True)
        tables.append((by, mine))
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
