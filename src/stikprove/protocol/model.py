"""What a checked protocol is: the frozen :class:`Protocol` and :class:`PrecisionTarget`,
the names a protocol may use (strata columns, methods, modes) and the bands of numeric
columns. :mod:`stikprove.protocol.schema` makes a Protocol from TOML text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from stikprove.codebook import Codebook
from stikprove.errors import ProtocolError
from stikprove.frame import ALLOWED_VALUES
from stikprove.methods import (
    DEPRECATED_METHOD_NAMES,
    DOMAIN_INTERVAL_METHODS,
)

FRAME_VALUES: Mapping[str, tuple[Any, ...]] = MappingProxyType(
    {**ALLOWED_VALUES, "health_exempt": (True, False)}
)
"""Allowed values of the categorical frame columns."""

BANDABLE = ("years_on_benefit", "age")
"""Numeric frame columns a protocol may cut into bands (``[strata] bands``)."""
BAND_SUFFIX = "_band"
BAND_UNKNOWN = "ukendt"
"""The band of a case whose value is missing (years_on_benefit may be empty)."""
STRATIFIERS = (
    "kommune_code",
    "sex",
    "origin",
    "category",
    "health_exempt",
    *(c + BAND_SUFFIX for c in BANDABLE),
)
"""Columns a protocol may stratify by: categorical frame columns and banded numeric ones."""
COLLAPSIBLE = ("sex", "origin", "category")
"""Strata columns whose values a protocol may collapse into groups."""
DOMAIN_STRATUM = "stratum"
DOMAIN_ALL = "all"

INTERVAL_METHODS = (*DOMAIN_INTERVAL_METHODS, *DEPRECATED_METHOD_NAMES)
COORDINATION_MODES = ("independent", "overlap", "avoid")
STRATUM_SEPARATOR = "|"


def band_labels(breaks: tuple[float, ...] | list[float]) -> tuple[str, ...]:
    """Labels of the left-closed bands cut at ``breaks``: [0, 1, 3, 5] gives "0-1", "1-3",
    "3-5", "5+" ([0, 1), [1, 3), [3, 5), [5, ∞))."""
    b = [float(x) for x in breaks]
    return (*(f"{lo:g}-{hi:g}" for lo, hi in pairwise(b)), f"{b[-1]:g}+")


def band_values(values: pd.Series, breaks: tuple[float, ...] | list[float]) -> pd.Series:
    """The band label of each value (see :func:`band_labels`); missing values get
    ``"ukendt"``. Raises ProtocolError for values below the first break."""
    labels = np.array(band_labels(breaks), dtype=object)
    x = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    missing = np.isnan(x)
    position = np.searchsorted(np.asarray(breaks, dtype=float), x, side="right") - 1
    below = ~missing & (position < 0)
    if below.any():
        raise ProtocolError(
            f"[strata] bands.{values.name} = {list(breaks)}: {int(below.sum())} case(s) have "
            f"{values.name} below the first break (lowest {np.nanmin(x[below]):g}): expected "
            "the first break at or below every value, e.g. 0"
        )
    out = labels[np.clip(position, 0, len(labels) - 1)]
    out[missing] = BAND_UNKNOWN
    return pd.Series(out, index=values.index, dtype=object)


@dataclass(frozen=True)
class PrecisionTarget:
    """A precision target: every domain of the kind ``domain`` should have an interval
    half-width of at most ``margin`` at the anticipated rates.

    ``domain`` is "stratum" (each stratum), "all" (the whole study population), or strata
    columns joined by " × " (each combination of their values, e.g. "kommune_code × sex");
    ``columns`` are those strata columns (all of them for "stratum", none for "all")."""

    domain: str
    columns: tuple[str, ...]
    margin: float


SMALL_AREA_COVARIATES = ("women", "origin", "age", "years_on_benefit", "health_exempt")
"""The covariate sets a protocol may name in ``[small_area] covariates`` (all by default)."""


@dataclass(frozen=True)
class Protocol:
    """A study protocol as loaded from its TOML file (see ``protocols/README.md``)."""

    path: Path
    """The protocol file (absolute)."""
    study_id: str
    title: str
    seed: int
    frame_path: Path
    """The frame file, resolved against the protocol's folder."""
    frame_columns: Mapping[str, str]
    """canonical frame column -> column name in the frame file (only the renamed ones)."""
    eligibility: Mapping[str, tuple[Any, ...]]
    """frame column -> allowed values (a case is eligible when every column matches)."""
    kommuner: tuple[str, ...] | None
    """3-digit kommune codes in scope, or None for all 98."""
    strata: tuple[str, ...]
    collapse: Mapping[str, Mapping[str, str]]
    """strata column -> {frame value: group}; every value of a collapsed column must be mapped.
    Only sex, origin and category may be collapsed (kommune_code and health_exempt keep
    their values, which the sample records)."""
    bands: Mapping[str, tuple[float, ...]]
    """numeric frame column -> breaks of its bands (strata column ``<column>_band``)."""
    indicator: str
    anticipated: float
    """The anticipated rate: the one rate, or the default of a table of rates by group."""
    anticipated_by: tuple[str, ...]
    """Strata columns the anticipated rate varies by (empty: one rate for every stratum)."""
    anticipated_values: Mapping[str, float]
    """Values of ``anticipated_by`` (joined by '|' when several) -> anticipated rate."""
    margin: float | None
    """The target half-width per stratum (``margin``, or a target with domain "stratum")."""
    targets: tuple[PrecisionTarget, ...]
    """Every precision target, the per-stratum ``margin`` included (first)."""
    max_reviews: int | None
    minutes_per_review: float
    allocation: str
    minimum_per_stratum: int
    confidence_level: float
    interval_method: str
    """Under its current name (a deprecated name in the text is given its new one)."""
    double_review_fraction: float
    disclosure_threshold: int
    worklist_fields: tuple[str, ...]
    """Frame columns (canonical names, or other columns of the frame file) that may appear
    on reviewers' worklists; empty by default. Checked against the frame by
    :func:`check_worklist_fields` (``check-protocol`` does it when the frame exists)."""
    codebook: Codebook
    codebook_path: Path | None
    """None for the packaged default codebook."""
    coordination: str
    previous: Path | None
    """The earlier study's sample (folder or units.csv), for coordination overlap / avoid."""
    coordination_key: str
    """The key of the permanent random numbers (HMAC-SHA256 of case_id)."""
    text: str = field(repr=False)
    fingerprint: str = ""
    small_area_covariates: tuple[str, ...] = SMALL_AREA_COVARIATES
    """Covariate sets of the small-area model (``[small_area] covariates``; names in
    :data:`SMALL_AREA_COVARIATES`, documented in stikprove.small_area.COVARIATE_SETS)."""

    def summary(self) -> str:
        """A few lines for the command line."""
        kommuner = "all 98" if self.kommuner is None else ", ".join(self.kommuner)
        collapse = "".join(
            f"; {col} collapsed to {len(set(m.values()))} groups"
            for col, m in self.collapse.items()
        ) + "".join(
            f"; {col} in bands {', '.join(band_labels(b))}" for col, b in self.bands.items()
        )
        anticipated = f"anticipated {self.anticipated:g}"
        if self.anticipated_by:
            anticipated = (
                f"anticipated by {' × '.join(self.anticipated_by)}: "
                + ", ".join(f"{k} {v:g}" for k, v in self.anticipated_values.items())
                + f", otherwise {self.anticipated:g}"
            )
        targets = (
            "; ".join(f"half-width {t.margin:g} per {t.domain}" for t in self.targets)
            or "(no target)"
        )
        lines = [
            f"study      {self.study_id}: {self.title}",
            f"frame      {self.frame_path}",
            f"kommuner   {kommuner}",
            "eligible   " + ", ".join(f"{k} in {list(v)}" for k, v in self.eligibility.items()),
            f"strata     {' × '.join(self.strata)}{collapse}",
            f"indicator  {self.indicator} ({anticipated})",
            f"precision  {targets}",
            f"budget     {self.max_reviews if self.max_reviews is not None else 'no cap'} reviews, "
            f"{self.minutes_per_review:g} min each; double review {self.double_review_fraction:g}",
            f"allocation {self.allocation}, minimum {self.minimum_per_stratum} per stratum",
            f"intervals  {self.interval_method} at {self.confidence_level:g}",
            f"seed       {self.seed}; coordination {self.coordination}"
            + (f" with {self.previous}" if self.previous else ""),
            f"codebook   {self.codebook_path or 'default (packaged)'}",
            f"disclosure counts under {self.disclosure_threshold} suppressed",
            "worklists  frame fields "
            + (", ".join(self.worklist_fields) if self.worklist_fields else "(none)"),
            f"fingerprint {self.fingerprint}",
        ]
        return "\n".join(lines)
