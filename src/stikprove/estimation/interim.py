"""Interim results of a running review: confidence sequences per stratum and domain, and
which strata may stop.

The interim analysis rule. Each stratum's sampled cases (and the reserves activated to
replace ineligible ones) are a list in the random order of the draw. The interim analysis of
a stratum uses only the longest unbroken run of reviewed cases from the top of its list
(``in_complete_run`` in :meth:`stikprove.store.Study.export`): a case reviewed out of order
waits until every case above it is done. Whatever order the physicians work in, what is
analysed is then the first t cases of a random permutation of the stratum, a simple random
sample, in the order that :func:`stikprove.estimation.sequential.confidence_sequence`
assumes. Reserves come after the planned cases in the same permutation, so they keep the
rule.

Cases in the run whose outcome is missing (ineligible, ``kan_ikke_vurderes``, or outside
the indicator's population) are left out, as the design-based estimates leave them out
(missing at random within strata). The stratum's population for the indicator is then
unknown; as the ``hypergeometric`` method of :func:`stikprove.estimate_proportions` does, the
largest possible one is used: N_h less the cases of the run found outside it.

Domains (``by``: strata columns; a domain is a union of whole strata) combine their strata
with :func:`stikprove.estimation.sequential.combine_strata`: by default (``combination=
"product"``) the strata's martingales multiply into one for the domain's rate Σ W_h p_h,
W_h = N_h / N_d; ``"bonferroni"`` splits α over the strata and adds their intervals (no
assumption on the order in which strata progress, but wider). A domain of one stratum gets
the stratum's own sequence. Both are conservative for domains of many strata:
benchmarks/bench_sequential.py measures the width against the fixed-time interval.

Stopping (:func:`stopping_plan`). The protocol's precision targets (``[precision] margin``
per stratum and ``targets`` per kind of domain, the same targets the design step
allocated for) are half-widths. A stratum may stop (``safe_to_stop``) when every target
that concerns it is met by the confidence sequence, or when all its sampled cases are in
the run. Because the sequences hold at every moment at once, stopping when a target is met
changes nothing about their validity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stikprove.errors import EstimationError
from stikprove.estimation.intervals import check_confidence_level
from stikprove.estimation.sequential import combine_strata, confidence_sequence
from stikprove.protocol import DOMAIN_ALL, DOMAIN_STRATUM, PrecisionTarget, Protocol

__all__ = [
    "INTERIM_COLUMNS",
    "PLAN_COLUMNS",
    "InterimStatus",
    "interim_from_export",
    "interim_results",
    "interim_settings",
    "interim_status",
    "stopping_plan",
    "stopping_plan_from_export",
    "study_interim_settings",
    "waiting_cases",
]

INTERIM_COLUMNS = (
    "strata", "population_size", "sample_size", "reviewed", "waiting", "in_run", "analysed",
    "successes", "estimate", "ci_low", "ci_high", "half_width", "confidence_level", "complete",
)  # fmt: skip
"""Columns of :func:`interim_results` after the ``by`` columns:

- ``strata``: strata in the domain;
- ``population_size``: N_d, frame cases in the domain (Σ N_h);
- ``sample_size``: cases taken from the strata's lists (planned plus activated reserves);
- ``reviewed``: of those, with the first reviewer's assessment in;
- ``waiting``: reviewed but not yet analysed, because a case above them in their stratum's
  list is not reviewed yet;
- ``in_run``: cases in the unbroken run of reviewed cases from the top of each list;
- ``analysed``: of those, with an outcome (the others are ineligible or not assessable);
- ``successes``: analysed cases with outcome 1;
- ``estimate``: Σ W_h S_h / t_h, the stratified share of positives among the analysed cases
  (NaN while a stratum of the domain has none; not necessarily the centre of the interval);
- ``ci_low``, ``ci_high``: the confidence sequence's current interval for the domain's rate;
- ``half_width``: (ci_high − ci_low) / 2;
- ``confidence_level``: the level of the domain's sequence;
- ``complete``: every sampled case of the domain is in the run (the interim analysis is the
  final one; the design-based estimate then applies).
"""

PLAN_COLUMNS = (
    "stratum", "kommune_code", "population_size", "sample_size", "in_run", "waiting",
    "analysed", "remaining", "ci_low", "ci_high", "half_width", "targets", "target_met", "complete",
    "safe_to_stop", "reason", "priority",
)  # fmt: skip
"""Columns of :func:`stopping_plan`, one row per stratum:

- ``stratum``, ``kommune_code``, ``population_size``, ``sample_size``, ``in_run``,
  ``waiting``, ``analysed``, ``ci_low``, ``ci_high``, ``half_width``, ``complete``: as in
  :data:`INTERIM_COLUMNS` for the stratum on its own;
- ``remaining``: sampled cases not yet in the run;
- ``targets``: the precision targets that concern the stratum (";"-separated, e.g.
  "stratum 0.1; kommune_code 0.05"), empty when the protocol sets none;
- ``target_met``: every one of them is met (pandas NA without targets);
- ``safe_to_stop``: target_met, or complete;
- ``reason``: why it may stop (the targets met with their current half-widths, or "all
  sampled cases reviewed"); empty when it may not;
- ``priority``: 1 for the stratum whose next reviews do most for the targets not yet met,
  2 for the next, ...; NA for strata that may stop or have no case left to review. The score
  is, over the unmet targets concerning the stratum, the largest (half-width − margin) /
  margin of the target's domain times the stratum's share W_h (high_h − low_h) / (high_d −
  low_d) of that domain's width (share 1 for the stratum's own target); without targets,
  the stratum's share of the whole study's width.
"""


def _target_by(target: PrecisionTarget) -> list[str]:
    """The ``by`` columns of a protocol target's domains ("stratum" for each stratum)."""
    return ["stratum"] if target.domain == DOMAIN_STRATUM else list(target.columns)


@dataclass(frozen=True)
class InterimSettings:
    """What the interim analysis takes from a study's protocol."""

    outcome: str
    confidence_level: float
    targets: tuple[PrecisionTarget, ...]
    """The protocol's targets (:class:`stikprove.protocol.PrecisionTarget`)."""


# ---- reading a study ---------------------------------------------------------------------


def interim_settings(protocol: Protocol) -> InterimSettings:
    """The indicator, confidence level and precision targets of a study's ``protocol``
    (``study.protocol``, the one reader of a stored protocol; this step takes it as an
    argument and never opens a store)."""
    return InterimSettings(protocol.indicator, protocol.confidence_level, protocol.targets)


def study_interim_settings(study) -> InterimSettings:
    """:func:`interim_settings` of ``study.protocol`` (``study``: a
    :class:`stikprove.store.Study`, or anything with its ``protocol``)."""
    return interim_settings(study.protocol)


def interim_results(
    study,
    by: str | Sequence[str] | None = "stratum",
    outcome: str | None = None,
    confidence_level: float | None = None,
    combination: str = "product",
) -> pd.DataFrame:
    """Interim results of a study: the confidence sequence's current interval per domain.

    ``study``: a :class:`stikprove.store.Study`. ``by``: "stratum" (default), strata
    column(s) such as "kommune_code" or ["kommune_code", "sex"], or None for the whole
    study. ``outcome`` and ``confidence_level`` default to the protocol's indicator and
    level. ``combination``: how a domain's strata are combined, ``"product"`` (default) or
    ``"bonferroni"`` (see :func:`stikprove.estimation.sequential.combine_strata`).

    Returns one row per domain, sorted by the ``by`` columns, with the columns
    :data:`INTERIM_COLUMNS` after them. Reads the study only through
    :meth:`~stikprove.store.Study.export`; the table holds counts but no case-level rows
    (a report suppresses counts under its disclosure threshold).
    """
    settings = study_interim_settings(study)
    return interim_from_export(
        study.export(),
        outcome or settings.outcome,
        by=by,
        confidence_level=settings.confidence_level if confidence_level is None
        else confidence_level,
        combination=combination,
    )  # fmt: skip


def stopping_plan(study, outcome: str | None = None) -> pd.DataFrame:
    """Per stratum of ``study``: its interval, the protocol's targets that concern it,
    whether it may stop and why, and which strata most need reviews next
    (:data:`PLAN_COLUMNS`). At the end of a study the rows with ``safe_to_stop`` and not
    ``complete`` are the strata that stopped early, ``reason`` saying why."""
    settings = study_interim_settings(study)
    return stopping_plan_from_export(
        study.export(), outcome or settings.outcome, settings.targets, settings.confidence_level
    )


def waiting_cases(export: pd.DataFrame) -> pd.DataFrame:
    """Per stratum with any: ``stratum``, ``waiting`` (reviewed cases below a case not yet
    reviewed in the stratum's list, so not yet in the interim analysis) and ``first_open``
    (the draw_order of the first case not yet reviewed, the one they wait on)."""
    _require(export, ("stratum", "reviewed", "in_complete_run", "draw_order"))
    waiting = export["reviewed"].astype(bool) & ~export["in_complete_run"].astype(bool)
    open_ = ~export["reviewed"].astype(bool)
    per = pd.DataFrame({
        "stratum": export["stratum"], "waiting": waiting,
        "open_order": export["draw_order"].where(open_),
    }).groupby("stratum", sort=True).agg(waiting=("waiting", "sum"),
                                         first_open=("open_order", "min"))  # fmt: skip
    per = per[per["waiting"] > 0].reset_index()
    per["waiting"] = per["waiting"].astype("int64")
    per["first_open"] = per["first_open"].astype("int64")
    return per


# ---- the computation on an export-shaped table -------------------------------------------

_EXPORT_COLUMNS = ("stratum", "population_size", "sample_size", "reviewed", "draw_order",
                   "in_complete_run")  # fmt: skip


def _require(data: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise EstimationError(
            f"the study export lacks column(s) {', '.join(missing)}: expected the table of "
            "Study.export() (one row per sampled case)"
        )


@dataclass(frozen=True)
class _Strata:
    """One entry per stratum (sorted by stratum): what the sequences need."""

    table: pd.DataFrame  # stratum, by columns, population_size, sample_size, counts
    outcomes: tuple[np.ndarray, ...]  # analysed outcomes in review order, per stratum
    analysis_size: np.ndarray  # N_h less the run's cases without an outcome
    low: np.ndarray  # each stratum's own sequence, now (at the full level)
    high: np.ndarray


def _binary(export: pd.DataFrame, outcome: str) -> np.ndarray:
    if outcome not in export.columns:
        indicators = [c for c in export.columns if c in ("too_ill", "misclassified",
                                                         "no_effort")]  # fmt: skip
        raise EstimationError(
            f"outcome {outcome!r} is not a column of the study export: expected an indicator"
            f" such as {', '.join(indicators) or 'too_ill'}"
        )
    y = pd.to_numeric(export[outcome], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isnan(y) & ~np.isin(y, (0.0, 1.0)))
    bad = np.union1d(bad, np.flatnonzero(export[outcome].notna().to_numpy() & np.isnan(y)))
    if bad.size:
        i = int(bad[0])
        value = export[outcome].iloc[i]
        value = value.item() if isinstance(value, np.generic) else value
        raise EstimationError(
            f"outcome {outcome!r} is {value!r} in row {i + 1} (stratum "
            f"{export['stratum'].iloc[i]!r}): expected 0, 1 or missing"
        )
    return y


def _strata(
    export: pd.DataFrame, outcome: str, by_columns: Sequence[str], level: float
) -> _Strata:
    """Per stratum: sizes, counts, the ``by`` values and the analysed outcomes in review
    order (numpy on factorized strata: a national study has about a thousand)."""
    _require(export, _EXPORT_COLUMNS)
    y = _binary(export, outcome)
    codes, names = pd.factorize(export["stratum"].astype(str), sort=True)
    order = np.lexsort((export["draw_order"].to_numpy(), codes))
    codes, y = codes[order], y[order]
    k = len(names)
    in_run = export["in_complete_run"].to_numpy(dtype=bool)[order]
    reviewed = export["reviewed"].to_numpy(dtype=bool)[order]
    analysed = in_run & ~np.isnan(y)
    first = np.searchsorted(codes, np.arange(k))  # each stratum's first row
    table = pd.DataFrame({"stratum": np.asarray(names, dtype=object)})
    for column in by_columns:
        if column == "stratum":
            continue
        values = export[column].to_numpy(dtype=object)[order]
        text = values.astype(str)
        varies = text != text[first][codes]
        if varies.any():
            raise EstimationError(
                f"by column {column!r} varies within stratum {names[codes[varies][0]]!r}: "
                "interim domains must be unions of whole strata (strata columns such as "
                "kommune_code)"
            )
        table[column] = values[first]
    table["population_size"] = export["population_size"].to_numpy()[order][first].astype("int64")
    table["sample_size"] = export["sample_size"].to_numpy()[order][first].astype("int64")
    for name, flags in (("reviewed", reviewed), ("waiting", reviewed & ~in_run),
                        ("in_run", in_run), ("analysed", analysed)):  # fmt: skip
        table[name] = np.bincount(codes, weights=flags, minlength=k).astype("int64")
    rows = np.flatnonzero(analysed)
    bounds = np.searchsorted(codes[rows], np.arange(1, k))
    outcomes = tuple(np.split(y[rows].astype(np.int64), bounds))
    table["successes"] = np.array([int(o.sum()) for o in outcomes], dtype=np.int64)
    excluded = (table["in_run"] - table["analysed"]).to_numpy()
    size = np.maximum(table["population_size"].to_numpy() - excluded, table["analysed"].to_numpy())
    low, high = _current_bounds(outcomes, size, level)
    return _Strata(table, outcomes, size, low, high)


def _current_bounds(
    outcomes: tuple[np.ndarray, ...], sizes: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each stratum's current interval: the last of its confidence sequence ([0, 1] before
    its first analysed case)."""
    low = np.zeros(len(outcomes))
    high = np.ones(len(outcomes))
    for i, (x, size) in enumerate(zip(outcomes, sizes, strict=True)):
        if len(x):
            cs = confidence_sequence(x, int(size), confidence_level=level)
            low[i], high[i] = cs.low[-1], cs.high[-1]
    return low, high


def _by_columns(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


@dataclass(frozen=True)
class _Split:
    """Per stratum: its weight N_h / N_d in its domain and the domain's row."""

    weight: np.ndarray
    domain: np.ndarray


def _domains(
    strata: _Strata, by_columns: list[str], level: float, combination: str = "product"
) -> tuple[pd.DataFrame, _Split]:
    """The domain table and, per stratum, its weight and domain. A domain of one stratum
    gets the stratum's own sequence; larger ones :func:`combine_strata` with
    ``combination``."""
    table = strata.table
    if by_columns:
        keys = ["\x1f".join(row) for row in table[by_columns].astype(str).itertuples(index=False)]
        codes = np.unique(np.array(keys, dtype=str), return_inverse=True)[1].ravel()
    else:
        codes = np.zeros(len(table), dtype=np.int64)
    domains = int(codes.max()) + 1 if len(codes) else 0
    first = np.array([np.flatnonzero(codes == d)[0] for d in range(domains)], dtype=np.int64)
    # a stratum whose every case is in the run and outside the indicator's population (a
    # census stratum of one ineligible case) has none to contribute: weight 0 in its domains
    sizes = np.where(strata.analysis_size > 0, table["population_size"].to_numpy(dtype=float), 0)
    domain_size = np.bincount(codes, weights=sizes, minlength=domains)
    counts = np.bincount(codes, minlength=domains)
    low, high = strata.low[first].copy(), strata.high[first].copy()  # one stratum: its own
    combined = (counts[codes] > 1) & (domain_size[codes] > 0)
    if combined.any():
        names, inverse = np.unique(codes[combined], return_inverse=True)
        low[names], high[names] = combine_strata(
            [x for x, keep in zip(strata.outcomes, combined, strict=True) if keep],
            np.maximum(strata.analysis_size[combined], 1), weights=sizes[combined],
            domains=inverse.ravel(), confidence_level=level, method=combination,
        )  # fmt: skip
    # several strata, none with a case of the indicator's population: nothing known, [0, 1]
    analysed = table["analysed"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(analysed > 0, table["successes"].to_numpy() / analysed, np.nan)
        w = np.where(domain_size[codes] > 0, sizes / domain_size[codes], 0.0)
    share = np.where(sizes > 0, share, 0.0)  # weight 0: no share to wait for

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=domains)

    out = pd.DataFrame({c: table[c].to_numpy()[first] for c in by_columns})
    out["strata"] = counts.astype("int64")
    for c in ("population_size", "sample_size", "reviewed", "waiting", "in_run", "analysed",
              "successes"):  # fmt: skip
        out[c] = total(table[c].to_numpy(dtype=float)).astype("int64")
    estimate = total(w * np.nan_to_num(share, nan=0.0))
    out["estimate"] = np.where((total(np.isnan(share)) > 0) | (domain_size == 0), np.nan,
                               estimate)  # fmt: skip
    out["ci_low"] = low
    out["ci_high"] = high
    out["half_width"] = (out["ci_high"] - out["ci_low"]) / 2
    out["confidence_level"] = level
    out["complete"] = out["in_run"] == out["sample_size"]
    return out[[*by_columns, *INTERIM_COLUMNS]], _Split(w, codes)


def interim_from_export(
    export: pd.DataFrame,
    outcome: str,
    by: str | Sequence[str] | None = "stratum",
    confidence_level: float = 0.95,
    combination: str = "product",
) -> pd.DataFrame:
    """:func:`interim_results` on the table of :meth:`stikprove.store.Study.export`.

    ``by`` columns must be constant within each stratum (the domain a union of strata).
    """
    level = check_confidence_level(confidence_level)
    by_columns = _by_columns(by)
    _require(export, by_columns)
    strata = _strata(export, outcome, by_columns, level)
    return _domains(strata, by_columns, level, combination)[0]


def stopping_plan_from_export(
    export: pd.DataFrame,
    outcome: str,
    targets: Sequence[PrecisionTarget] = (),
    confidence_level: float = 0.95,
    combination: str = "product",
) -> pd.DataFrame:
    """:func:`stopping_plan` on the table of :meth:`stikprove.store.Study.export` with the
    given targets."""
    level = check_confidence_level(confidence_level)
    strata = _plan_strata(export, outcome, targets, level)
    return _plan(strata, targets, level, combination)[0]


def _plan_strata(
    export: pd.DataFrame, outcome: str, targets: Sequence[PrecisionTarget], level: float
) -> _Strata:
    """The strata with every column a target's domains (and the plan) need."""
    by_all = sorted({c for t in targets for c in _target_by(t) if c != "stratum"})
    if "kommune_code" in export.columns and "kommune_code" not in by_all:
        by_all.append("kommune_code")
    _require(export, by_all)
    return _strata(export, outcome, by_all, level)


def _plan(
    strata: _Strata, targets: Sequence[PrecisionTarget], level: float, combination: str
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The stopping plan (:data:`PLAN_COLUMNS`) and the domain table of each target that is
    not per stratum (by the target's domain name)."""
    tables: dict[str, pd.DataFrame] = {}
    own, own_split = _domains(strata, ["stratum"], level)
    plan = strata.table[["stratum"]].copy()
    plan["kommune_code"] = strata.table.get("kommune_code", "")
    own_width = strata.high - strata.low
    for c in ("population_size", "sample_size", "in_run", "waiting", "analysed", "ci_low",
              "ci_high", "half_width", "complete"):  # fmt: skip
        plan[c] = own[c].to_numpy()
    plan.insert(7, "remaining", (plan["sample_size"] - plan["in_run"]).astype("int64"))
    n = len(plan)
    met = np.ones(n, dtype=bool)
    score = np.zeros(n)
    labels: list[list[str]] = [[] for _ in range(n)]
    met_notes: list[list[str]] = [[] for _ in range(n)]
    for target in targets:
        by_columns = _target_by(target)
        domains, split = (
            (own, own_split) if by_columns == ["stratum"]
            else _domains(strata, by_columns, level, combination)
        )  # fmt: skip
        if by_columns != ["stratum"]:
            tables[target.domain] = domains
        half = domains["half_width"].to_numpy()[split.domain]
        # the stratum's share of its domain's uncertainty: W_h × its own width, normalised
        spread = split.weight * own_width
        total = np.bincount(split.domain, weights=spread)[split.domain]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > 0, spread / total, 0.0)
        ok = half <= target.margin
        met &= ok
        score = np.maximum(score, np.where(ok, 0.0, (half - target.margin) / target.margin
                                           * share))  # fmt: skip
        for i in range(n):
            labels[i].append(f"{target.domain} {target.margin:g}")
            if ok[i]:
                met_notes[i].append(f"half-width {half[i]:.3f} <= {target.margin:g} per "
                                    f"{target.domain}")  # fmt: skip
    if not targets:
        weight = strata.table["population_size"].to_numpy(dtype=float)
        spread = weight / weight.sum() * own_width
        score = spread / (spread.sum() if spread.sum() > 0 else 1.0)
    plan["targets"] = ["; ".join(x) for x in labels]
    plan["target_met"] = pd.array(met if targets else [pd.NA] * n, dtype="boolean")
    complete = plan["complete"].to_numpy(dtype=bool)
    safe = complete | (met if targets else np.zeros(n, dtype=bool))
    plan["safe_to_stop"] = safe
    plan["reason"] = [
        "all sampled cases reviewed" if complete[i]
        else ("; ".join(met_notes[i]) if safe[i] else "")
        for i in range(n)
    ]  # fmt: skip
    needs = ~safe & (plan["remaining"].to_numpy() > 0)
    order = np.lexsort((plan["stratum"].to_numpy(), -score))
    ranked = [i for i in order if needs[i]]
    priority = pd.array([pd.NA] * n, dtype="Int64")
    priority[ranked] = np.arange(1, len(ranked) + 1)
    plan["priority"] = priority
    return plan[list(PLAN_COLUMNS)].reset_index(drop=True), tables


# ---- the whole picture, for `stikprove status STUDY --interim` ---------------------------


@dataclass(frozen=True)
class InterimStatus:
    """What ``stikprove status STUDY --interim`` shows: the stopping plan per stratum
    (:data:`PLAN_COLUMNS`) and, per kind of domain with a target and for the whole study
    ("all"), the :func:`interim_results` table."""

    outcome: str
    confidence_level: float
    targets: tuple[PrecisionTarget, ...]
    plan: pd.DataFrame
    domains: dict[str, pd.DataFrame]

    def summary(self, max_priorities: int = 10) -> str:
        """The readable form: strata, domains, the strata most in need, the counts."""
        level = f"{self.confidence_level:.0%}"
        lines = [
            f"Interim results for {self.outcome}: confidence sequences at {level}, valid "
            "however often they are looked at. Each stratum's analysis uses the unbroken run "
            "of reviewed cases from the top of its list.",
            "",
            "per stratum:",
            _plan_text(self.plan),
        ]
        for name, table in self.domains.items():
            target = next((t for t in self.targets if t.domain == name), None)
            note = f" (target half-width {target.margin:g})" if target else ""
            lines += ["", f"per {name}{note}:" if name != "all" else f"whole study{note}:",
                      _domain_text(table, target)]  # fmt: skip
        ranked = self.plan.dropna(subset=["priority"]).sort_values("priority")
        if not ranked.empty:
            lines += ["", "strata that most need reviews next:"]
            for row in ranked.head(max_priorities).itertuples():
                lines.append(
                    f"  {int(row.priority)}. {row.stratum}: half-width "
                    f"{row.half_width:.3f}, {int(row.remaining)} case(s) left"
                )
        plan = self.plan
        safe, complete = plan["safe_to_stop"], plan["complete"]
        waiting = int(plan["waiting"].sum())
        lines += [
            "",
            f"{int(safe.sum())} of {len(plan)} strata may stop ({int((safe & ~complete).sum())} "
            f"reached their targets early, {int(complete.sum())} complete); "
            f"{int(plan['in_run'].sum())} case(s) in the runs from the top of the lists "
            f"({int(plan['analysed'].sum())} analysed, the others without an outcome), "
            f"{waiting} reviewed case(s) wait on an earlier case of their list.",
        ]
        if not self.targets:
            lines.append("note: the protocol sets no precision target ([precision] margin or "
                         "targets): no stratum stops before it is complete.")  # fmt: skip
        return "\n".join(lines)


def _interval(low: float, high: float) -> str:
    return f"{low:.3f}-{high:.3f}"


def _plan_text(plan: pd.DataFrame) -> str:
    shown = pd.DataFrame({
        "stratum": plan["stratum"],
        "analysed": plan["analysed"].astype(str) + "/" + plan["sample_size"].astype(str),
        "waiting": plan["waiting"],
        "interval": [_interval(lo, hi) for lo, hi in zip(plan["ci_low"], plan["ci_high"],
                                                          strict=True)],
        "half_width": plan["half_width"].round(3),
        "status": np.where(plan["complete"], "complete",
                           np.where(plan["safe_to_stop"], "target met: may stop", "")),
        "priority": plan["priority"].astype("string").fillna(""),
    })  # fmt: skip
    return shown.to_string(index=False) if not shown.empty else "(no strata)"


def _domain_text(table: pd.DataFrame, target: PrecisionTarget | None) -> str:
    by = [c for c in table.columns if c not in INTERIM_COLUMNS]
    shown = table[by].copy() if by else pd.DataFrame(index=table.index)
    shown["strata"] = table["strata"]
    shown["analysed"] = table["analysed"].astype(str) + "/" + table["sample_size"].astype(str)
    shown["interval"] = [_interval(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"],
                                                              strict=True)]  # fmt: skip
    shown["half_width"] = table["half_width"].round(3)
    if target is not None:
        shown["target_met"] = np.where(table["half_width"] <= target.margin, "yes", "no")
    return shown.to_string(index=False)


def interim_status(study, outcome: str | None = None) -> InterimStatus:
    """The stopping plan and the domain tables of ``study`` from one export (see
    :class:`InterimStatus`); outcome defaults to the protocol's indicator."""
    settings = study_interim_settings(study)
    outcome = outcome or settings.outcome
    level = settings.confidence_level
    # one pass over the strata: their sequences serve the plan and every domain table
    strata = _plan_strata(study.export(), outcome, settings.targets, level)
    plan, tables = _plan(strata, settings.targets, level, "product")
    domains = {name: table for name, table in tables.items() if name != DOMAIN_ALL}
    domains[DOMAIN_ALL] = tables.get(DOMAIN_ALL, _domains(strata, [], level)[0])
    return InterimStatus(outcome, level, settings.targets, plan, domains)
