"""A small DrawnSample-shaped object for the store tests (docs/CONTRACTS.md), and helpers.

The store takes a sample through its attributes only, so a frozen dataclass with
``units``, ``strata``, ``metadata`` and ``protocol_text`` stands in for sampling.DrawnSample.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

PROTOCOL_TEXT = """\
study_id = "test-study"
title = "Testundersøgelse"
strata = ["kommune_code", "sex", "origin"]
seed = 20261120
double_review_fraction = 0.2
"""

# stratum key -> (kommune_code, sex, origin, N_h, n_h)
STRATA = {
    "461|kvinde|indvandrer_ikke_vestlig": ("461", "kvinde", "indvandrer_ikke_vestlig", 20, 6),
    "461|mand|dansk_oprindelse": ("461", "mand", "dansk_oprindelse", 12, 4),
    "825|kvinde|dansk_oprindelse": ("825", "kvinde", "dansk_oprindelse", 3, 3),
}

ELIGIBLE_ENTRY = {
    "eligible": "ja",
    "ineligible_reason": None,
    "health_assessment": "for_syg",
    "recommended_track": "uaendret",
    "effort_last_12_months": "ingen",
    "evidence": "journal",
    "new_certificate_requested": "nej",
    "confidence": "sikker",
    "review_date": "2026-11-20",
    "note": None,
}
INELIGIBLE_ENTRY = {
    "eligible": "nej",
    "ineligible_reason": "fraflyttet",
    "health_assessment": None,
    "recommended_track": None,
    "effort_last_12_months": None,
    "evidence": None,
    "new_certificate_requested": None,
    "confidence": None,
    "review_date": "2026-11-20",
    "note": None,
}


@dataclass(frozen=True)
class FakeSample:
    units: pd.DataFrame
    strata: pd.DataFrame
    metadata: dict = field(default_factory=dict)
    protocol_text: str = PROTOCOL_TEXT


def make_sample(
    strata: dict | None = None,
    seed: int = 1,
    double_every: int = 4,
    protocol_text: str = PROTOCOL_TEXT,
    extra_columns: bool = False,
) -> FakeSample:
    """Units in draw order per stratum; every ``double_every``-th sampled case double-reviewed."""
    strata = strata or STRATA
    rng = np.random.default_rng(seed)
    rows, srows = [], []
    serial = 0
    for key, (code, sex, origin, big_n, n) in strata.items():
        srows.append(
            {"stratum": key, "kommune_code": code, "sex": sex, "origin": origin,
             "population_size": big_n, "sample_size": n}
        )  # fmt: skip
        for order in range(1, big_n + 1):
            serial += 1
            role = "sample" if order <= n else "reserve"
            row = {
                "case_id": f"c{serial:04d}",
                "stratum": key,
                "kommune_code": code,
                "sex": sex,
                "origin": origin,
                "health_exempt": bool(serial % 2),
                "draw_order": order,
                "role": role,
                "inclusion_probability": n / big_n,
                "weight": big_n / n,
                "double_review": role == "sample" and order % double_every == 0,
                "prn": float(rng.uniform(0.001, 0.999)),
            }
            if extra_columns:
                row["age"] = 30 + serial % 30
            rows.append(row)
    metadata = {
        "study_id": "test-study",
        "round": 1,
        "seed": 20261120,
        "protocol_fingerprint": hashlib.sha256(protocol_text.encode()).hexdigest(),
        "frame_fingerprint": "f" * 64,
        "package_version": "0.1.0",
        "drawn_at": "2026-11-20T10:00:00+00:00",
        "coordination": None,
    }
    return FakeSample(pd.DataFrame(rows), pd.DataFrame(srows), metadata, protocol_text)


def make_study(tmp_path: Path, reviewers=("anna", "bo"), **kwargs):
    """A fresh study store from :func:`make_sample`, assigned to ``reviewers``."""
    from stikprove.store import create_study

    return create_study(tmp_path / "study.sqlite", make_sample(**kwargs), reviewers=reviewers)


def yesterday() -> str:
    return (date.today() - timedelta(days=1)).isoformat()


def write_entries_csv(path: Path, entries: list[dict]) -> Path:
    """A worklist-like CSV: case_id plus codebook fields (and reason when given)."""
    pd.DataFrame(entries).to_csv(path, index=False)
    return path


def entry(case_id: str, ineligible: bool = False, **changes) -> dict:
    base = INELIGIBLE_ENTRY if ineligible else ELIGIBLE_ENTRY
    return {"case_id": case_id, **base, "review_date": yesterday(), **changes}
