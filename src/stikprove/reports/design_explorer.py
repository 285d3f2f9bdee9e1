"""What the design explorer notebook shows: precision against sample size, the protocol's
own allocation beside the alternatives, physician hours, and which groups the plan will be
allowed to publish, for a protocol and its frame (researchers' view, before the draw).

Frame counts (N_h) are counts of persons: the tables here pass the same small-count rule as
every report table. Groups are named in the report language ("kvinder af dansk
oprindelse"), never by their stratum codes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.release import disclosure as dc
from stikprove.reports import text
from stikprove.reports.text import group_label

__all__ = ["allocations", "disclosure_threshold", "intro", "precision_curves", "publishability",
           "review_hours", "target", "title", "warning"]  # fmt: skip


def _population(protocol_path: str | Path):
    from stikprove.protocol import load_protocol, load_study_frame, study_population

    protocol = load_protocol(protocol_path)
    return protocol, study_population(protocol, load_study_frame(protocol))


def disclosure_threshold(protocol_path: str | Path) -> int:
    """The protocol's disclosure threshold: counts under it are suppressed in the tables."""
    from stikprove.protocol import load_protocol

    return int(load_protocol(protocol_path).disclosure_threshold)


def target(protocol_path: str | Path) -> float | None:
    """The protocol's target half-width per group (its ``margin``; None without one)."""
    from stikprove.protocol import load_protocol

    margin = load_protocol(protocol_path).margin
    return None if margin is None else float(margin)


def title(protocol_path: str | Path, language: str = "da") -> str:
    """The explorer's heading, naming the protocol."""
    from stikprove.protocol import load_protocol

    protocol = load_protocol(protocol_path)
    return text.design_explorer_title(protocol.title or protocol.study_id, protocol.study_id,
                                      language)  # fmt: skip


def intro(protocol_path: str | Path, language: str = "da") -> str:
    """What the explorer shows and how to read it, with the protocol's own numbers."""
    from stikprove.design import design_table
    from stikprove.protocol import load_protocol, load_study_frame

    protocol = load_protocol(protocol_path)
    design = design_table(protocol, load_study_frame(protocol))
    return text.design_explorer_intro(
        reviews=int(design.summary["reviews"]), allocation=protocol.allocation,
        margin=protocol.margin, anticipated=float(protocol.anticipated),
        level=protocol.confidence_level, language=language,
    )  # fmt: skip


def _group_labels(strata: pd.DataFrame, language: str) -> list[str]:
    """Each stratum as a reader names it: "Kvinder af dansk oprindelse", with the kommune's
    name and any other strata column in front when the strata have them."""
    from stikprove.reports.content import kommune_name

    labels = []
    for _, row in strata.iterrows():
        parts = []
        if "kommune_code" in row.index:
            parts.append(kommune_name(str(row["kommune_code"])))
        phrase = text.group_phrase(row, language)
        if phrase:
            parts.append(phrase)
        parts += [group_label(row[c], language) for c in row.index
                  if c not in ("kommune_code", "sex", "origin")]  # fmt: skip
        labels.append(text.capitalised(", ".join(parts)))
    return labels


def _design(protocol_path: str | Path):
    from stikprove.design import design_table
    from stikprove.protocol import load_protocol, load_study_frame

    protocol = load_protocol(protocol_path)
    return protocol, design_table(protocol, load_study_frame(protocol))


def precision_curves(
    protocol_path: str | Path, max_sample_size: int = 400, language: str = "da"
) -> pd.DataFrame:
    """Expected half-width of a group's interval against its sample size, for each origin
    group of the frame at the protocol's anticipated rate (columns group, labelled in
    ``language``, sample_size, half_width, publishable: whether the NCHS standard would let
    a report publish the group's rate at that sample size). Finite population correction
    with the group's frame size."""
    from stikprove.design import DESIGN_METHOD_OF, expected_half_width, expected_presentation

    protocol, population = _population(protocol_path)
    column = "origin" if "origin" in population.columns else population.columns[0]
    sizes = np.arange(5, max(int(max_sample_size), 6) + 1, 5)
    method = DESIGN_METHOD_OF.get(protocol.interval_method, "wald")
    level, rate = protocol.confidence_level, protocol.anticipated
    rows = []
    for group, part in population.groupby(column, sort=True):
        n = sizes[sizes <= len(part)]
        width = expected_half_width(n, rate, level, len(part), method=method)
        plan = expected_presentation(np.full(len(n), len(part)), n, rate,
                                     groups=[f"{k:06d}" for k in range(len(n))],
                                     confidence_level=level)  # fmt: skip
        label = (text.group_phrase({"origin": group}, language) if column == "origin"
                 else group_label(group, language))  # "personer af dansk oprindelse"
        rows.append(pd.DataFrame({"group": label, "sample_size": n,
                                  "half_width": np.asarray(width, dtype=float),
                                  "publishable": plan["publishable"].to_numpy()}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def allocations(protocol_path: str | Path, language: str = "da") -> pd.DataFrame:
    """n_h per stratum under the protocol's own allocation beside proportional, equal and
    Neyman allocation of the same total (columns group, population_size, protocol,
    proportional, equal, neyman, disclosure), counts under the protocol's disclosure
    threshold suppressed."""
    strata = _allocations(protocol_path)
    out = strata.drop(columns=["anticipated", "stratum", *_strata_columns(strata)])
    out.insert(0, "group", _group_labels(strata[_strata_columns(strata)], language))
    counts = ["population_size", "protocol", "proportional", "equal", "neyman"]
    return dc.disclose_counts(out, counts, (), disclosure_threshold(protocol_path))


def _strata_columns(strata: pd.DataFrame) -> list[str]:
    known = {"stratum", "population_size", "anticipated", "protocol", "proportional", "equal",
             "neyman"}  # fmt: skip
    return [c for c in strata.columns if c not in known]


def _allocations(protocol_path: str | Path) -> pd.DataFrame:
    """The protocol's allocation and the three others of its total, with each stratum's
    strata values and anticipated rate."""
    from stikprove.design import allocate

    protocol, design = _design(protocol_path)
    strata = design.strata
    total = int(strata["sample_size"].sum())
    columns = list(protocol.strata)
    out = strata[["stratum", *columns, "population_size", "anticipated"]].copy()
    out["protocol"] = strata["sample_size"].to_numpy(dtype=int)
    for method in ("proportional", "equal", "neyman"):
        result = allocate(strata["population_size"].to_numpy(), total, method=method,
                          anticipated=strata["anticipated"].to_numpy(),
                          minimum=protocol.minimum_per_stratum)  # fmt: skip
        out[method] = np.asarray(result.sample_sizes, dtype=int)
    return out


def publishability(protocol_path: str | Path, language: str = "da") -> pd.DataFrame:
    """Per stratum, what the NCHS presentation standard will make of its estimate under the
    protocol's plan (``stikprove design``): columns group, population_size, sample_size,
    expected_half_width, nchs_width (the expected width of the interval the standard judges),
    publishable, publishable_sample_size (the fewest cases at which it would be; missing for
    a group under 30), disclosure; counts under the threshold suppressed."""
    protocol, design = _design(protocol_path)
    strata = design.strata
    columns = list(protocol.strata)
    out = strata[["population_size", "sample_size", "expected_half_width", "nchs_width",
                  "publishable", "publishable_sample_size"]].copy()  # fmt: skip
    out.insert(0, "group", _group_labels(strata[columns], language))
    out = dc.disclose_counts(out, ["population_size", "sample_size"], (),
                             disclosure_threshold(protocol_path),
                             hide_columns=["expected_half_width", "nchs_width", "publishable",
                                           "publishable_sample_size"])  # fmt: skip
    need = pd.to_numeric(out["publishable_sample_size"], errors="coerce")
    out["publishable_sample_size"] = need.round().astype("Int64")  # a whole number of cases
    return out


def review_hours(protocol_path: str | Path, language: str | None = None) -> pd.DataFrame:
    """Reviews and physician hours of the protocol's allocation and of each alternative
    (double reviews included), and what the same hours buy: the expected half-width of the
    whole study's estimate (``half_width_all``) and of the least precise stratum
    (``half_width_widest``), at the anticipated rates with the protocol's interval method
    (as ``stikprove design`` plans). With a ``language``, the allocation column holds its
    names in it (else the codes)."""
    from stikprove.design import DESIGN_METHOD_OF, domain_half_width, expected_half_width
    from stikprove.protocol import load_protocol

    protocol = load_protocol(protocol_path)
    allocation = _allocations(protocol_path)
    method = DESIGN_METHOD_OF[protocol.interval_method]
    level = protocol.confidence_level
    big_n = allocation["population_size"].to_numpy(dtype=float)
    rate = allocation["anticipated"].to_numpy(dtype=float)
    rows = []
    for name in ("protocol", "proportional", "equal", "neyman"):
        n = allocation[name].to_numpy(dtype=float)
        reviews = float(n.sum()) * (1 + protocol.double_review_fraction)
        per_stratum = expected_half_width(n, rate, level, big_n, method)
        label = name if language is None else text.column_label(name, language)
        rows.append({"allocation": label, "reviews": round(reviews),
                     "hours": reviews * protocol.minutes_per_review / 60,
                     "half_width_all": domain_half_width(big_n, n, rate, level, method),
                     "half_width_widest": float(np.nanmax(per_stratum))})  # fmt: skip
    return pd.DataFrame(rows)


def warning(protocol_path: str | Path, language: str = "da") -> str:
    """The warning naming the groups the plan will not be allowed to publish (NCHS), as
    ``stikprove design`` warns; "" when every group will be publishable."""
    protocol, design = _design(protocol_path)
    strata = design.strata
    labels = _group_labels(strata[list(protocol.strata)], language)
    missed = [label for label, ok in zip(labels, strata["publishable"], strict=True) if not ok]
    return text.unpublishable_warning(missed, len(labels), language)
