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
    _target_half_widths,
    _unit_variances,
    allocate,
    domain_half_width,
    several_strata_method,
)
from stikprove.design.precision import DESIGN_METHOD_OF
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
    finite population correction) and ``target_met``.

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
    (``kommune_code``) or the whole study (``all``).

    ``summary``: totals (reviews, double reviews, review minutes, physician hours) and the
    settings used. ``allocation`` is the :class:`Allocation` behind ``strata``.

    ``targets``: one row per domain of each precision target of the protocol (the
    per-stratum ``margin`` included, as domain_type "stratum"): ``domain_type`` (e.g.
    "kommune_code × sex"), ``domain`` (e.g. "461|kvinde"), ``strata``, ``population_size``,
    ``sample_size``, ``margin``, ``expected_half_width`` (:func:`domain_half_width`) and
    ``target_met``.
    """

    strata: pd.DataFrame
    domains: pd.DataFrame
    summary: dict[str, Any]
    allocation: Allocation
    notes: tuple[str, ...] = ()
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)

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
                lines.append(
                    f"target half-width {group['margin'].iloc[0]:g} per {kind}: "
                    f"{met} of {len(group)} domains met"
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
    unit_var = _unit_variances(N, n, p)
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
        halves = _target_half_widths(code_of, len(codes), N, n, p, level, design_method)
        for g, code in enumerate(codes):
            rows.append(domain_row("kommune", str(code), code_of == g, float(halves[g])))
    else:
        notes.append("expected precision per kommune needs kommune_code among the strata columns")
    everything = np.ones(len(strata), dtype=bool)
    half_all = domain_half_width(N, n, p, level, design_method)
    rows.append(domain_row("all", "all", everything, half_all))
    domains = pd.DataFrame(rows)
    domains["target_met"] = domains["target_met"].astype("boolean")
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
        "confidence_level": protocol.confidence_level,
        "interval_method": protocol.interval_method,
        "design_method": DESIGN_METHOD_OF[protocol.interval_method],
        "domain_design_method": several_strata_method(DESIGN_METHOD_OF[protocol.interval_method]),
    }
    return DesignTable(strata, domains, summary, alloc, tuple(notes), targets)


def design_table(protocol: Protocol, frame: pd.DataFrame) -> DesignTable:
    """The design of ``protocol`` on ``frame``: per stratum N_h, n_h, sampling fraction and
    expected half-width; expected precision per kommune and overall; reviews and physician
    hours (see :class:`DesignTable`)."""
    return design_from_population(protocol, study_population(protocol, frame))
