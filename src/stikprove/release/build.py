"""Everything a study publishes, computed once: the raw tables of a release and the linear
table set that protects them.

:func:`release_tables` computes, from a study's analysis table, every number that any output
of stikprove shows (design, progress, estimates per kommune, region and nation, nonresponse
bounds, reviewer agreement, the kommune flags) at the study's confidence level and interval
method, with one effective n and one NCHS verdict per figure. :func:`linear_table_set` then
describes those numbers as what an intruder sees: linear functions of per-stratum counts
(the *atoms*: N_h, n_h, reserves, reviewed, ineligible, and per indicator the analysed cases and
the events), tied by the hierarchy stratum → sex and origin margins → kommune → region →
nation, so that :mod:`stikprove.release.suppression` can protect them jointly and
:mod:`stikprove.release.audit` can check the protection.

Written by hand: the tables are this package's own; the solving is HiGHS through scipy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from stikprove.errors import StikproveError
from stikprove.release import disclosure as dc

__all__ = [
    "GROUPINGS",
    "LEVELS",
    "ReleaseTables",
    "release_tables",
]

GROUPINGS: tuple[tuple[str, ...], ...] = (("sex", "origin"), ("sex",), ("origin",), ())
"""The domains of every estimates table: sex × origin, each margin, and all cases."""

LEVELS = ("kommune", "region", "nation")
"""The levels of the hierarchy the estimates are published at."""

ESTIMATE_VALUES = ("estimate", "ci_low", "ci_high", "se", "df", "n_eff", "deff")
"""The values of an estimate row hidden with it."""

NCHS_LEVEL = 0.95
"""The NCHS standard judges the 95 % Korn–Graubard interval, whatever interval and level a
table shows: the verdict, and so the suppression, is the same for every method and level."""

ROUND_PROPORTION = 3
"""Proportions and limits are published rounded to 3 decimals (0.1 percentage point): the
audit takes every shown proportion as known only within that rounding."""


@dataclass(frozen=True)
class ReleaseTables:
    """The raw (unprotected) tables of one release, tidy, one row per published line.

    - ``design``: one row per stratum: kommune_code, region, the strata columns, stratum,
      population_size, sample_size, sampling_fraction.
    - ``progress``: one row per stratum: kommune_code, region, strata columns, stratum, taken
      (sample plus activated reserves), done (reviewed), remaining, share_done.
    A study of one kommune publishes its kommune only (no region or nation rows, which would
    repeat every number); :func:`published_level` maps a question about the nation to it.

    - ``estimates``: one row per indicator × level × domain: indicator, level (kommune, region,
      nation), kommune_code, region (missing above their level), sex, origin (missing on a
      margin), n (cases with an outcome), events (the cases with the outcome: never shown, the
      count the percentage implies), estimate, ci_low, ci_high, se, df, n_eff, deff (the
      table's method), nchs (the NCHS codes of :func:`~stikprove.release.disclosure.
      nchs_proportion_standard` on the Korn–Graubard interval), key (a key group of the
      protocol or a total: costly to hide).
    - ``bounds``: one row per indicator × (kommune or nation): n_missing (eligible cases without
      an outcome), estimate_missing_as_0, estimate_missing_as_1.
    - ``agreement``: one row per kommune and the nation: n_pairs, n_agree (never shown),
      percent_agreement, kappa, ci_low, ci_high.
    - ``flags``: one row per indicator × kommune: p_value, p_adjusted, flagged (the kommune's
      rate against the nation's by the funnel plot's test, Benjamini–Hochberg),
      national_rate, limit_level, alpha.
    """

    study_id: str
    threshold: int
    confidence_level: float
    interval_method: str
    indicators: tuple[str, ...]
    strata_columns: tuple[str, ...]
    design: pd.DataFrame = field(repr=False)
    progress: pd.DataFrame = field(repr=False)
    estimates: pd.DataFrame = field(repr=False)
    bounds: pd.DataFrame = field(repr=False)
    agreement: pd.DataFrame = field(repr=False)
    flags: pd.DataFrame = field(repr=False)
    atoms: pd.DataFrame = field(repr=False)
    """One row per stratum: the counts an intruder wants (see :func:`_atoms`)."""


def published_level(tables: ReleaseTables, level: str) -> str:
    """The level whose rows answer a question about ``level``: the kommune's in a study of
    one kommune, else ``level`` itself."""
    if level not in LEVELS:
        raise StikproveError(f"level {level!r}: expected one of {', '.join(LEVELS)}")
    levels = set(tables.estimates["level"])
    return level if level in levels else "kommune"


# ---- the numbers --------------------------------------------------------------------------


def _region_of(codes: pd.Series) -> pd.Series:
    from stikprove.kommuner import kommune_table

    regions = kommune_table().set_index("kommune_code")["region"]
    return codes.astype(str).map(regions).fillna("")


def _groupings(data: pd.DataFrame) -> list[tuple[str, ...]]:
    return [tuple(c for c in g if c in data.columns) for g in GROUPINGS]


def _atoms(data: pd.DataFrame, strata: pd.DataFrame, indicators: Sequence[str],
           by: Sequence[str], scope: dict[str, np.ndarray]) -> pd.DataFrame:  # fmt: skip
    """Per stratum: N (population_size), n (sample_size of the design), reserves (activated
    reserves), done (reviewed by the first reviewer), ineligible (reviewed, not eligible),
    and per indicator ``m:<indicator>`` (cases with an outcome), ``y:<indicator>`` (cases
    with the outcome) and ``miss:<indicator>`` (cases of the indicator's population without
    an outcome: the nonresponse bounds' missing)."""
    grouped = data.groupby("stratum", sort=True)
    atoms = strata[["stratum", "kommune_code", *by, "population_size", "sample_size"]].copy()
    atoms = atoms.rename(columns={"population_size": "N", "sample_size": "n"})
    atoms = atoms.set_index("stratum")
    taken = grouped.size()
    atoms["reserves"] = (taken.reindex(atoms.index).fillna(0) - atoms["n"]).clip(lower=0)
    atoms["done"] = grouped["reviewed"].sum().reindex(atoms.index).fillna(0)
    eligible = data["eligible"] if "eligible" in data.columns else pd.Series("ja", data.index)
    ineligible = (data["reviewed"] & eligible.eq("nej")).groupby(data["stratum"]).sum()
    atoms["ineligible"] = ineligible.reindex(atoms.index).fillna(0)
    for indicator in indicators:
        values = pd.to_numeric(data[indicator], errors="coerce")
        atoms[f"m:{indicator}"] = values.notna().groupby(data["stratum"]).sum().reindex(
            atoms.index).fillna(0)  # fmt: skip
        atoms[f"y:{indicator}"] = values.fillna(0).groupby(data["stratum"]).sum().reindex(
            atoms.index).fillna(0)  # fmt: skip
        missing = values.isna() & scope[indicator]
        atoms[f"miss:{indicator}"] = missing.groupby(data["stratum"]).sum().reindex(
            atoms.index).fillna(0)  # fmt: skip
    counts = [c for c in atoms.columns if c not in ("kommune_code", *by)]
    atoms[counts] = atoms[counts].round().astype(np.int64)
    atoms["region"] = _region_of(atoms["kommune_code"])
    return atoms.reset_index()


def _levels(data: pd.DataFrame) -> list[tuple[str, tuple[str, ...]]]:
    """The levels published, with their domain columns: a study of one kommune publishes
    the kommune only (its region and nation would repeat every number)."""
    levels = [("kommune", ("kommune_code",))]
    if data["kommune_code"].nunique() > 1:  # noqa: PD101 - a count of kommuner
        levels += [("region", ("region",)), ("nation", ())]
    return levels


def _estimates(sample, data: pd.DataFrame, indicator: str, level: float, method: str,
               key_groups: frozenset) -> pd.DataFrame:  # fmt: skip
    """Every domain of the indicator at every level, with the NCHS verdict (the estimation
    step's n_eff and deff are the same under every interval method)."""
    parts = []
    for lvl, prefix in _levels(data):
        for grouping in _groupings(data):
            by = [*prefix, *grouping]
            shown = sample.estimate(indicator, by=by or None, confidence_level=level,
                                    method=method)  # fmt: skip
            # the one verdict: the 95 % Korn–Graubard interval with the design effect floored
            # at 1, from the method-free deff (surveytable's rule; release.disclosure)
            verdict = dc.nchs_presentation(shown["estimate"], shown["se"], shown["n"],
                                           shown["df"], deff=shown["deff"],
                                           confidence_level=NCHS_LEVEL)  # fmt: skip
            table = shown.copy()
            table["nchs"] = verdict["nchs"].to_numpy()
            table.insert(0, "level", lvl)
            for column in ("kommune_code", "region", "sex", "origin"):
                if column not in table.columns:
                    table[column] = pd.NA
            parts.append(table)
    out = pd.concat(parts, ignore_index=True)
    at_kommune = out["level"].eq("kommune")
    out.loc[at_kommune, "region"] = _region_of(out.loc[at_kommune, "kommune_code"]).to_numpy()
    out.insert(0, "indicator", indicator)
    events = _events(data, indicator, out)
    out["events"] = events
    out["key"] = [
        (row.sex, row.origin) in key_groups or (pd.isna(row.sex) and pd.isna(row.origin))
        for row in out[["sex", "origin"]].itertuples()
    ]
    columns = ["indicator", "level", "kommune_code", "region", "sex", "origin", "n", "events",
               "estimate", "ci_low", "ci_high", "se", "df", "n_eff", "deff", "nchs", "key"]
    return out[columns]


def _domain_mask(data: pd.DataFrame, row: pd.Series) -> np.ndarray:
    mask = np.ones(len(data), dtype=bool)
    for column in ("kommune_code", "region", "sex", "origin"):
        value = row[column]
        if not pd.isna(value) and column in data.columns:
            mask &= data[column].astype(str).to_numpy() == str(value)
    return mask


def _events(data: pd.DataFrame, indicator: str, table: pd.DataFrame) -> np.ndarray:
    """The number of cases with the outcome in each row's domain (exact counts: what a
    reader derives from a within-stratum percentage and its n)."""
    y = pd.to_numeric(data[indicator], errors="coerce").fillna(0)
    keys = ["kommune_code", "region", "sex", "origin"]
    present = [k for k in keys if k in data.columns]
    cells = y.groupby([data[k].astype(str) for k in present]).sum()
    cells = cells.reset_index()
    out = np.zeros(len(table))
    for i, row in enumerate(table[keys].itertuples(index=False)):
        mask = np.ones(len(cells), dtype=bool)
        for key, value in zip(keys, row, strict=True):
            if key in present and not pd.isna(value):
                mask &= cells[key].to_numpy() == str(value)
        out[i] = cells.loc[mask, indicator].sum()
    return out.round().astype(np.int64)


def _bounds(data: pd.DataFrame, indicators: Sequence[str], sample,
            scope: dict[str, np.ndarray]) -> pd.DataFrame:  # fmt: skip
    """Worst/best case per kommune and for the nation; n_missing counts the cases of the
    indicator's population without an outcome (cases found ineligible, replaced by reserves,
    are outside it and not missing)."""
    parts = []
    single = data["kommune_code"].nunique() == 1  # noqa: PD101 - a count of kommuner
    for indicator in indicators:
        for by in (["kommune_code"], *([] if single else [[]])):
            table = sample.bounds(indicator, by=by or None, in_scope=scope[indicator])
            if by:
                table["level"] = "kommune"
            else:
                table["kommune_code"] = pd.NA
                table["level"] = "nation"
            table["indicator"] = indicator
            parts.append(table[["indicator", "level", "kommune_code", "n_missing",
                                "estimate_missing_as_0", "estimate_missing_as_1"]])  # fmt: skip
    out = pd.concat(parts, ignore_index=True)
    out["kommune_code"] = out["kommune_code"].astype(object).where(out["kommune_code"].notna())
    out.loc[out["kommune_code"].notna(), "kommune_code"] = out["kommune_code"].dropna().astype(str)
    out["n_missing"] = out["n_missing"].astype(np.int64)
    return out


def _agreement(pairs: pd.DataFrame, level: float,
               field_name: str = "health_assessment") -> pd.DataFrame:  # fmt: skip
    from stikprove.errors import EstimationError
    from stikprove.estimation.agreement import reviewer_agreement

    both = pairs[pairs["reviewed_1"].astype(bool) & pairs["reviewed_2"].astype(bool)]
    first, second = f"{field_name}_1", f"{field_name}_2"
    rows = []
    groups = [(str(k), g) for k, g in both.groupby(both["kommune_code"].astype(str))]
    single = len(groups) <= 1
    for code, group in [*groups, *([] if single and groups else [(None, both)])]:
        row = {"level": "kommune" if code else "nation", "kommune_code": code,
               "n_pairs": len(group), "n_agree": 0, "percent_agreement": np.nan,
               "kappa": np.nan, "ci_low": np.nan, "ci_high": np.nan}  # fmt: skip
        if len(group) and first in group.columns:
            try:
                result = reviewer_agreement(group[first], group[second], confidence_level=level)
                row.update(n_pairs=result.n_pairs, percent_agreement=result.percent_agreement,
                           n_agree=round(result.percent_agreement * result.n_pairs / 100.0),
                           kappa=result.kappa, ci_low=result.ci_low,
                           ci_high=result.ci_high)  # fmt: skip
            except EstimationError:
                pass
        rows.append(row)
    return pd.DataFrame(rows)


def _flags(estimates: pd.DataFrame, indicators: Sequence[str], alpha: float) -> pd.DataFrame:
    """Each kommune's rate against the nation's by the test the funnel plot draws
    (:func:`~stikprove.estimation.multiplicity.funnel_flags`: z on the funnel's null variance
    at the kommune's effective n, Benjamini–Hochberg over all kommuner), on the published
    numbers (the rates rounded as shown), so that a kommune is flagged exactly when the plot
    draws it outside its limit. Columns: indicator, kommune_code, p_value, p_adjusted,
    flagged, national_rate, limit_level, alpha."""
    from stikprove.estimation.multiplicity import funnel_flags

    parts = []
    for indicator in indicators:
        mine = estimates[estimates["indicator"].eq(indicator)]
        nation = mine[mine["level"].eq("nation") & mine["sex"].isna() & mine["origin"].isna()]
        totals = mine[mine["level"].eq("kommune") & mine["sex"].isna() & mine["origin"].isna()]
        if nation.empty or not np.isfinite(nation["estimate"].iloc[0]):
            continue
        rate = round(float(nation["estimate"].iloc[0]), ROUND_PROPORTION)
        if not 0 < rate < 1:
            continue
        test = funnel_flags(totals["estimate"].round(ROUND_PROPORTION), totals["n_eff"], rate,
                            alpha=alpha)  # fmt: skip
        parts.append(pd.DataFrame({
            "indicator": indicator, "kommune_code": totals["kommune_code"].astype(str).to_numpy(),
            "p_value": test.p_value, "p_adjusted": test.p_adjusted,
            "flagged": np.asarray(test.flagged, dtype=bool), "national_rate": rate,
            "limit_level": test.limit_level, "alpha": alpha,
        }))  # fmt: skip
    columns = ["indicator", "kommune_code", "p_value", "p_adjusted", "flagged", "national_rate",
               "limit_level", "alpha"]  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def release_tables(
    data: pd.DataFrame,
    strata: pd.DataFrame,
    pairs: pd.DataFrame,
    *,
    study_id: str,
    strata_columns: Sequence[str],
    indicators: Sequence[str],
    threshold: int,
    confidence_level: float,
    interval_method: str,
    key_groups: Sequence[tuple[str, str]] = (),
    alpha: float = 0.05,
    scope: dict[str, np.ndarray] | None = None,
) -> ReleaseTables:
    """Every number a study publishes, raw, at the study's level and method.

    ``data`` is the study's analysis table (:meth:`Study.export`), ``strata`` its strata
    (with kommune_code), ``pairs`` its double reviews. ``key_groups`` lists the (sex, origin)
    groups the protocol names as key domains (costly to hide); ``scope`` maps each indicator
    to the cases of its population (the codebook's ``indicator_scope``; None: the eligible
    cases)."""
    from stikprove.estimation.stratified_sample import StratifiedSample

    threshold = dc.check_threshold(threshold)
    data = data.copy()
    data["kommune_code"] = data["kommune_code"].astype(str)
    data["region"] = _region_of(data["kommune_code"])
    strata = strata.copy()
    strata["kommune_code"] = strata["kommune_code"].astype(str)
    by = [c for c in strata_columns if c not in ("kommune_code", "stratum")]
    indicators = tuple(i for i in indicators if i in data.columns)
    if scope is None:
        eligible = data["eligible"].ne("nej").to_numpy() if "eligible" in data.columns else (
            np.ones(len(data), dtype=bool))  # fmt: skip
        scope = dict.fromkeys(indicators, eligible)
    scope = {i: np.asarray(scope[i], dtype=bool) for i in indicators}
    sample = StratifiedSample(data, strata="stratum", population_size="population_size")

    design = strata[["kommune_code", *by, "stratum", "population_size", "sample_size"]].copy()
    design.insert(1, "region", _region_of(design["kommune_code"]))
    design["sampling_fraction"] = design["sample_size"] / design["population_size"]

    grouped = data.groupby("stratum", sort=True)
    progress = design[["kommune_code", "region", *by, "stratum"]].copy()
    progress["taken"] = progress["stratum"].map(grouped.size()).fillna(0).astype(np.int64)
    progress["done"] = progress["stratum"].map(grouped["reviewed"].sum()).fillna(0).astype(
        np.int64)  # fmt: skip
    progress["remaining"] = progress["taken"] - progress["done"]
    progress["share_done"] = progress["done"] / progress["taken"].where(progress["taken"] > 0)

    keys = frozenset(tuple(k) for k in key_groups)
    estimates = pd.concat(
        [_estimates(sample, data, i, confidence_level, interval_method, keys)
         for i in indicators], ignore_index=True,
    )  # fmt: skip
    return ReleaseTables(
        study_id=study_id, threshold=threshold, confidence_level=confidence_level,
        interval_method=interval_method, indicators=indicators,
        strata_columns=tuple(strata_columns), design=design, progress=progress,
        estimates=estimates, bounds=_bounds(data, indicators, sample, scope),
        agreement=_agreement(pairs, confidence_level),
        flags=_flags(estimates, indicators, alpha),
        atoms=_atoms(data, strata, indicators, by, scope),
    )  # fmt: skip
