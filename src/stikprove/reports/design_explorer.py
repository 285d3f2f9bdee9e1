"""What the design explorer notebook shows: precision against sample size, allocations side
by side and physician hours, for a protocol and its frame (researchers' view, before the draw).

Frame counts (N_h) are counts of persons: the tables here pass the same small-count rule as
every report table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.release import disclosure as dc
from stikprove.reports import text
from stikprove.reports.text import group_label

__all__ = ["allocations", "disclosure_threshold", "precision_curves", "review_hours"]


def _population(protocol_path: str | Path):
    from stikprove.protocol import load_protocol, load_study_frame, study_population

    protocol = load_protocol(protocol_path)
    return protocol, study_population(protocol, load_study_frame(protocol))


def disclosure_threshold(protocol_path: str | Path) -> int:
    """The protocol's disclosure threshold: counts under it are suppressed in the tables."""
    from stikprove.protocol import load_protocol

    return int(load_protocol(protocol_path).disclosure_threshold)


def precision_curves(
    protocol_path: str | Path, max_sample_size: int = 400, language: str = "da"
) -> pd.DataFrame:
    """Expected half-width of a group's interval against its sample size, for each origin
    group of the frame at the protocol's anticipated rate (columns group, labelled in
    ``language``, sample_size, half_width). Finite population correction with the group's
    frame size."""
    from stikprove.design import DESIGN_METHOD_OF, expected_half_width

    protocol, population = _population(protocol_path)
    column = "origin" if "origin" in population.columns else population.columns[0]
    sizes = np.arange(5, max(int(max_sample_size), 6) + 1, 5)
    method = DESIGN_METHOD_OF.get(protocol.interval_method, "wald")
    rows = []
    for group, part in population.groupby(column, sort=True):
        n = sizes[sizes <= len(part)]
        width = expected_half_width(n, protocol.anticipated, protocol.confidence_level,
                                    len(part), method=method)  # fmt: skip
        rows.append(pd.DataFrame({"group": group_label(group, language), "sample_size": n,
                                  "half_width": np.asarray(width, dtype=float)}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def allocations(protocol_path: str | Path) -> pd.DataFrame:
    """n_h per stratum under proportional, equal and Neyman allocation of the protocol's
    total (columns stratum, population_size, proportional, equal, neyman, disclosure), counts
    under the protocol's disclosure threshold suppressed."""
    out = _allocations(protocol_path).drop(columns="anticipated")
    return dc.disclose_counts(out, ["population_size", "proportional", "equal", "neyman"],
                              (), disclosure_threshold(protocol_path))  # fmt: skip


def _allocations(protocol_path: str | Path) -> pd.DataFrame:
    """The three allocations of the protocol's total, with each stratum's anticipated rate."""
    from stikprove.design import allocate, design_table
    from stikprove.protocol import load_protocol, load_study_frame

    protocol = load_protocol(protocol_path)
    strata = design_table(protocol, load_study_frame(protocol)).strata
    total = int(strata["sample_size"].sum())
    out = strata[["stratum", "population_size", "anticipated"]].copy()
    for method in ("proportional", "equal", "neyman"):
        result = allocate(strata["population_size"].to_numpy(), total, method=method,
                          anticipated=protocol.anticipated,
                          minimum=protocol.minimum_per_stratum)  # fmt: skip
        out[method] = np.asarray(result.sample_sizes, dtype=int)
    return out


def review_hours(protocol_path: str | Path, language: str | None = None) -> pd.DataFrame:
    """Reviews and physician hours of each allocation (double reviews included), and what
    the same hours buy: the expected half-width of the whole study's estimate
    (``half_width_all``) and of the least precise stratum (``half_width_widest``), at the
    anticipated rates with the protocol's interval method (as ``stikprove design`` plans).
    With a ``language``, the allocation column holds its names in it (else the codes)."""
    from stikprove.design import DESIGN_METHOD_OF, domain_half_width, expected_half_width
    from stikprove.protocol import load_protocol

    protocol = load_protocol(protocol_path)
    allocation = _allocations(protocol_path)
    method = DESIGN_METHOD_OF[protocol.interval_method]
    level = protocol.confidence_level
    big_n = allocation["population_size"].to_numpy(dtype=float)
    rate = allocation["anticipated"].to_numpy(dtype=float)
    rows = []
    for name in ("proportional", "equal", "neyman"):
        n = allocation[name].to_numpy(dtype=float)
        reviews = float(n.sum()) * (1 + protocol.double_review_fraction)
        per_stratum = expected_half_width(n, rate, level, big_n, method)
        label = name if language is None else text.column_label(name, language)
        rows.append({"allocation": label, "reviews": round(reviews),
                     "hours": reviews * protocol.minutes_per_review / 60,
                     "half_width_all": domain_half_width(big_n, n, rate, level, method),
                     "half_width_widest": float(np.nanmax(per_stratum))})  # fmt: skip
    return pd.DataFrame(rows)
