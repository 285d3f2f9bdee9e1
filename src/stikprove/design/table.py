"""Design, the design table of a protocol: strata, sizes, expected half-widths and the
reviewing workload of a study on its frame (:func:`design_table`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stikprove.design.allocation import (
    Allocation,
    DomainTarget,
    allocate,
    domain_half_width,
    several_strata_method,
    target_half_widths,
    total_variance_terms,
)
from stikprove.design.precision import (
    DESIGN_METHOD_OF,
    expected_presentation,
    publishable_sample_size,
)
from stikprove.errors import ProtocolError
from stikprove.protocol import (
    DOMAIN_STRATUM,
    Protocol,
    anticipated_rates,
    joined_values,
    study_population,
)


@dataclass(frozen=True)
class DesignTable:
    """The design of a study on a frame: what :func:`design_table` returns.

    ``strata``: one row per stratum (sorted by key) with columns ``stratum``, the strata
    columns, ``population_size``, ``sample_size``, ``sampling_fraction``,
    ``expected_half_width`` (the protocol's interval method at the anticipated rate, with the
    finite population correction), ``target_met``, and what the NCHS presentation standard
    will make of the stratum's own estimate (:func:`expected_presentation`): ``nchs_width``
    (the expected width of its Korn–Graubard interval), ``publishable`` and
    ``publishable_sample_size`` (the smallest n_h it would be publishable at; NA when no n_h
    is: fewer than 30 cases).

    "Met" means publishable: ``target_met`` (strata, domains, targets) is true only when the
    expected half-width is within the margin *and* the estimate is expected to pass the NCHS
    standard (effective n at least 30, interval narrower than 30 percentage points and not
    wider than 130 % of the rate), since a group the reports must suppress has no precision
    to speak of. ``warnings`` names every planned domain that will not be publishable.

    ``domains``: one row per kommune (when kommune is a strata column or there is only one
    kommune) and one for the whole study population (``domain_type`` "kommune" / "all"), with
    ``domain_type``, ``domain``, ``strata``, ``population_size``, ``sample_size``,
    ``expected_se`` (normal approximation to the stratified estimator's standard error at
    the anticipated rates: Σ W_h² (1 − f_h) S_h² / n_h with S_h² = N_h / (N_h − 1) p_h q_h;
    NaN when a stratum of the domain has no sampled case), ``expected_half_width``
    (:func:`domain_half_width`: the stratum's interval method for a one-stratum domain; for
    several strata the Korn–Graubard half-width at the anticipated rates, the interval
    estimation reports there, or z × se when the protocol's method is planned as ``wald``),
    and ``margin`` / ``target_met`` when the protocol has a target for kommuner
    (``kommune_code``) or the whole study (``all``); ``nchs_n_eff``, ``nchs_width`` and
    ``publishable`` as for the strata.

    ``summary``: totals (reviews, double reviews, review minutes, physician hours) and the
    settings used. ``allocation`` is the :class:`Allocation` behind ``strata``.

    ``targets``: one row per domain of each precision target of the protocol (the
    per-stratum ``margin`` included, as domain_type "stratum"): ``domain_type`` (e.g.
    "kommune_code × sex"), ``domain`` (e.g. "461|kvinde"), ``strata``, ``population_size``,
    ``sample_size``, ``margin``, ``expected_half_width`` (:func:`domain_half_width`),
    ``target_met``, ``nchs_n_eff``, ``nchs_width`` and ``publishable``.
    """

    strata: pd.DataFrame
    domains: pd.DataFrame
    summary: dict[str, Any]
    allocation: Allocation
    notes: tuple[str, ...] = ()
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: tuple[str, ...] = ()

    def to_text(self) -> str:
        """The design as plain-text tables for the command line."""
        s = self.summary
        rate = f"{s['anticipated']:g}"
        if s.get("anticipated_by"):
            rates = list(s["anticipated_values"].values())
            span = f"{min(rates):g}" + (f"–{max(rates):g}" if max(rates) > min(rates) else "")
            rate = f"by {' × '.join(s['anticipated_by'])} ({span}; otherwise {s['anticipated']:g})"
        domains = self.domains
        if "margin" in domains.columns and domains["margin"].isna().all():
            domains = domains.drop(columns=["margin", "target_met"])
        lines = [
            f"Design of study {s['study_id']}: {s['strata']} strata, "
            f"{s['population_size']} eligible cases, allocation {s['allocation']}, "
            f"intervals {s['interval_method']} (planned as {s['design_method']} in a "
            f"stratum, {s['domain_design_method']} across strata) at "
            f"{s['confidence_level']:g}, anticipated {s['indicator']} rate {rate}",
            "",
            self.strata.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            "",
            domains.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
            "",
        ]
        targets = self.targets
        if len(targets):
            for kind, group in targets.groupby("domain_type", sort=False):
                met = int(group["target_met"].sum())
                narrow = int((group["expected_half_width"] <= group["margin"] + 1e-12).sum())
                lines.append(
                    f"target half-width {group['margin'].iloc[0]:g} per {kind}: "
                    f"{met} of {len(group)} domains met (half-width within the margin and "
                    f"publishable under NCHS; {narrow} within the margin)"
                )
            shown = targets.loc[targets["domain_type"] != DOMAIN_STRATUM]
            if len(shown):
                lines += [
                    "",
                    shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
                ]
            lines.append("")
        lines += [
            f"reviews {s['reviews']} + double reviews {s['double_reviews']} "
            f"= {s['reviews'] + s['double_reviews']}; "
            f"{s['minutes_per_review']:g} min each: {s['physician_hours']:.1f} physician hours"
            + (f" (budget {s['max_reviews']} reviews)" if s["max_reviews"] is not None else ""),
        ]
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:  # pragma: no cover - notebook display
        return self.strata._repr_html_() + self.domains._repr_html_()


def protocol_targets(protocol: Protocol, strata: pd.DataFrame) -> list[DomainTarget]:
    """The protocol's domain targets (all but the per-stratum margin) over a table of strata
    with the strata columns: each stratum's domain is its values of the target's columns
    joined by '|' ("all" for the whole study)."""
    out = []
    for target in protocol.targets:
        if target.domain == DOMAIN_STRATUM:
            continue
        groups = joined_values(strata, target.columns)
        out.append(DomainTarget(target.domain, groups.to_numpy(dtype=object), target.margin))
    return out


def protocol_allocation(
    protocol: Protocol, population_sizes: pd.Series, strata: pd.DataFrame | None = None
) -> Allocation:
    """The allocation a protocol asks for, over strata sizes indexed by stratum key.

    ``strata`` (one row per stratum, aligned with ``population_sizes``, with the strata
    columns) is needed for anticipated rates by group and for domain targets; without it
    the protocol's default rate is used and only the per-stratum margin applies."""
    if strata is not None:
        rates: Any = anticipated_rates(protocol, strata)
        targets = protocol_targets(protocol, strata)
    else:
        rates, targets = protocol.anticipated, []
    return allocate(
        population_sizes,
        total=protocol.max_reviews,
        method=protocol.allocation,
        anticipated=rates,
        minimum=protocol.minimum_per_stratum,
        margin=protocol.margin,
        confidence_level=protocol.confidence_level,
        interval_method=DESIGN_METHOD_OF[protocol.interval_method],
        targets=targets,
    )


def double_review_count(sample_size: int, fraction: float) -> int:
    """Number of sampled cases reviewed twice: fraction × n rounded half up."""
    return math.floor(sample_size * fraction + 0.5)


def design_from_population(protocol: Protocol, population: pd.DataFrame) -> DesignTable:
    """:func:`design_table` for a population already passed through ``study_population``."""
    if len(population) == 0:
        raise ProtocolError(
            f"no eligible cases: the frame has no case meeting protocol {protocol.study_id!r}'s "
            f"eligibility ({dict(protocol.eligibility)}) and kommuner "
            f"({'all' if protocol.kommuner is None else list(protocol.kommuner)})"
        )
    columns = list(protocol.strata)
    first = population.groupby("stratum", sort=True)[columns].first()
    sizes = population.groupby("stratum", sort=True).size().rename("population_size")
    alloc = protocol_allocation(protocol, sizes, first)
    strata = alloc.table.copy()
    for column in reversed(columns):
        strata.insert(1, column, first[column].to_numpy())
    n = strata["sample_size"].to_numpy()
    N = strata["population_size"].to_numpy()
    p = strata["anticipated"].to_numpy(dtype=float)
    design_method = DESIGN_METHOD_OF[protocol.interval_method]
    unit_var = total_variance_terms(N, n, p)
    notes = list(alloc.notes)
    targets = alloc.targets
    target_of = {t.columns: t for t in protocol.targets}

    def domain_row(kind: str, name: str, mask: np.ndarray, half: float) -> dict[str, Any]:
        Nd = N[mask].sum()
        var = float(unit_var[mask].sum()) / Nd**2
        se = math.sqrt(var) if math.isfinite(var) else math.nan
        target = target_of.get(("kommune_code",) if kind == "kommune" else ())
        if kind == "kommune" and "kommune_code" not in columns:
            target = target_of.get(())  # one kommune: the whole study
        return {
            "domain_type": kind,
            "domain": name,
            "strata": int(mask.sum()),
            "population_size": int(Nd),
            "sample_size": int(n[mask].sum()),
            "expected_se": se,
            "expected_half_width": half,
            "margin": math.nan if target is None else target.margin,
            "target_met": pd.NA
            if target is None
            else bool(math.isfinite(half) and half <= target.margin + 1e-12),
        }

    rows = []
    kommune_of = (
        strata["kommune_code"].to_numpy()
        if "kommune_code" in columns
        else np.full(len(strata), population["kommune_code"].iloc[0])
    )
    # domain_half_width of each domain: one stratum with the stratum's interval method, as
    # for the stratum itself; several with Korn–Graubard at the anticipated rates (or z × se
    # for wald); all kommuner at once
    level = protocol.confidence_level
    if "kommune_code" in columns or len(set(population["kommune_code"])) == 1:
        codes, code_of = np.unique(kommune_of, return_inverse=True)
        halves = target_half_widths(code_of, len(codes), N, n, p, level, design_method)
        for g, code in enumerate(codes):
            rows.append(domain_row("kommune", str(code), code_of == g, float(halves[g])))
    else:
        notes.append("expected precision per kommune needs kommune_code among the strata columns")
    everything = np.ones(len(strata), dtype=bool)
    half_all = domain_half_width(N, n, p, level, design_method)
    rows.append(domain_row("all", "all", everything, half_all))
    domains = pd.DataFrame(rows)
    domains["target_met"] = domains["target_met"].astype("boolean")
    strata, domains, targets, warnings = _with_presentation(
        protocol, first, strata, domains, targets, kommune_of
    )
    if (n == 0).any():
        notes.append(
            f"{int((n == 0).sum())} strata get no sampled case: their domains have no "
            "expected precision (raise minimum per stratum)"
        )
    reviews = int(n.sum())
    doubles = double_review_count(reviews, protocol.double_review_fraction)
    minutes = protocol.minutes_per_review * (reviews + doubles)
    summary = {
        "study_id": protocol.study_id,
        "strata": len(strata),
        "population_size": int(N.sum()),
        "reviews": reviews,
        "double_reviews": doubles,
        "review_minutes": minutes,
        "physician_hours": minutes / 60,
        "minutes_per_review": protocol.minutes_per_review,
        "max_reviews": protocol.max_reviews,
        "allocation": protocol.allocation,
        "minimum_per_stratum": protocol.minimum_per_stratum,
        "indicator": protocol.indicator,
        "anticipated": protocol.anticipated,
        "anticipated_by": list(protocol.anticipated_by),
        "anticipated_values": dict(protocol.anticipated_values),
        "margin": protocol.margin,
        "targets": [{"domain": t.domain, "margin": t.margin} for t in protocol.targets],
        "targets_missed": int((~targets["target_met"]).sum()) if len(targets) else 0,
        "not_publishable": int((~strata["publishable"]).sum()),
        "confidence_level": protocol.confidence_level,
        "interval_method": protocol.interval_method,
        "design_method": DESIGN_METHOD_OF[protocol.interval_method],
        "domain_design_method": several_strata_method(DESIGN_METHOD_OF[protocol.interval_method]),
    }
    return DesignTable(strata, domains, summary, alloc, tuple(notes), targets, warnings)


def _publishable_met(met: pd.Series, publishable: np.ndarray) -> pd.Series:
    """``target_met`` and publishable; NA (no target) stays NA."""
    met = met.astype("boolean")
    return met.where(met.isna(), met & pd.array(publishable, dtype="boolean"))


def _why(row: pd.Series) -> str:
    """Why a planned domain will not be publishable, in a few words."""
    if row["nchs"] == "nchs_n_eff":
        return f"effective n {row['nchs_n_eff']:.0f}, under 30"
    width = f"interval {100 * row['nchs_width']:.1f} points wide"
    if row["nchs"] == "nchs_width":
        return f"{width}, 30 or more"
    return f"{width}, {100 * row['nchs_relative_width']:.0f} % of the rate, over 130 %"


def _unpublishable(kind: str, table: pd.DataFrame, hint: pd.Series | None = None) -> str | None:
    """The warning for the domains of one kind that will not be publishable (None: all are)."""
    bad = table.loc[~table["publishable"].astype(bool)]
    if bad.empty:
        return None
    shown = []
    for i, row in bad.head(5).iterrows():
        extra = ""
        if hint is not None:
            need = hint.loc[i]
            extra = ("; too few cases even in a census" if pd.isna(need)
                     else f"; publishable from n = {int(need)}")  # fmt: skip
        shown.append(f"{row['domain']} ({_why(row)}{extra})")
    more = ", ..." if len(bad) > 5 else ""
    return (f"{len(bad)} of {len(table)} {kind} domains will not be publishable at the planned "
            f"sizes (the reports suppress them under the NCHS standard): "
            f"{', '.join(shown)}{more}")  # fmt: skip


def _judged(
    table: pd.DataFrame, plans: dict[str, pd.DataFrame], skip: str | None
) -> tuple[pd.DataFrame, list[str | None]]:
    """``table`` (rows of domain_type, domain) with each row's ``nchs_n_eff``, ``nchs_width``
    and ``publishable`` from ``plans`` (by domain_type, indexed by domain), ``target_met``
    made to mean publishable too, and a warning per domain_type (but ``skip``)."""
    found = pd.DataFrame(
        [plans[kind].loc[str(name)]
         for kind, name in zip(table["domain_type"], table["domain"], strict=True)]
    ).reset_index(drop=True)  # fmt: skip
    table = table.copy()
    for column in ("nchs_n_eff", "nchs_width"):
        table[column] = found[column].to_numpy()
    table["publishable"] = found["publishable"].to_numpy(dtype=bool)
    table["target_met"] = _publishable_met(table["target_met"], table["publishable"])
    reasons = table.assign(nchs=found["nchs"].to_numpy(),
                           nchs_relative_width=found["nchs_relative_width"].to_numpy())
    warnings = [_unpublishable(str(kind), group)
                for kind, group in reasons.groupby("domain_type", sort=False)
                if kind != skip]  # fmt: skip
    return table, warnings


def _with_presentation(
    protocol: Protocol,
    first: pd.DataFrame,
    strata: pd.DataFrame,
    domains: pd.DataFrame,
    targets: pd.DataFrame,
    kommune_of: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """The tables with what the NCHS standard will make of each planned domain
    (:func:`expected_presentation`), ``target_met`` made to mean publishable too, and the
    warnings for the domains that will not be (see :class:`DesignTable`)."""
    level = protocol.confidence_level
    N = strata["population_size"].to_numpy(dtype=float)
    n = strata["sample_size"].to_numpy(dtype=float)
    p = strata["anticipated"].to_numpy(dtype=float)
    keys = strata["stratum"].astype(str)
    columns = ["nchs_n_eff", "nchs_width", "nchs_relative_width", "publishable", "nchs"]

    def plan(groups: object) -> pd.DataFrame:
        return expected_presentation(N, n, p, groups, level).set_index("domain")[columns]

    strata = strata.copy()
    warnings: list[str | None] = []
    own = plan(keys)
    own = own.loc[keys]
    strata["nchs_width"] = own["nchs_width"].to_numpy()
    strata["publishable"] = own["publishable"].to_numpy(dtype=bool)
    need = publishable_sample_size(N, p, level)
    strata["publishable_sample_size"] = pd.array(
        [pd.NA if np.isnan(v) else int(v) for v in need], dtype="Int64"
    )
    strata["target_met"] = _publishable_met(strata["target_met"], own["publishable"].to_numpy())
    table = own.reset_index().assign(domain=keys.to_numpy())
    warnings.append(_unpublishable("stratum", table, strata["publishable_sample_size"]))

    plans = {"kommune": plan(kommune_of.astype(str)), "all": plan(None)}
    domains, more = _judged(domains, plans, skip=None)
    warnings += more
    if len(targets):
        plans = {DOMAIN_STRATUM: own}
        for target in protocol.targets:
            if target.domain != DOMAIN_STRATUM:
                plans[target.domain] = plan(joined_values(first, target.columns).to_numpy())
        targets, more = _judged(targets, plans, skip=DOMAIN_STRATUM)
        warnings += more
    return strata, domains, targets, tuple(w for w in warnings if w)


def design_table(protocol: Protocol, frame: pd.DataFrame) -> DesignTable:
    """The design of ``protocol`` on ``frame``: per stratum N_h, n_h, sampling fraction and
    expected half-width; expected precision per kommune and overall; reviews and physician
    hours (see :class:`DesignTable`)."""
    return design_from_population(protocol, study_population(protocol, frame))
