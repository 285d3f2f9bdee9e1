"""The 98 Danish kommuner: official 3-digit codes, names and regions (package data).

>>> kommune("461").name
'Odense'
>>> kommune("Læsø").code
'825'
>>> len(kommune_table())
98
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from stikprove.errors import StikproveError


@dataclass(frozen=True)
class Kommune:
    code: str
    """Official 3-digit kommune code, e.g. '461'."""
    name: str
    region: str


@cache
def _all() -> tuple[Kommune, ...]:
    text = resources.files("stikprove").joinpath("data/kommuner.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return tuple(Kommune(r["kommune_code"].zfill(3), r["kommune_name"], r["region"]) for r in rows)


def kommune_table() -> pd.DataFrame:
    """All 98 kommuner: columns ``kommune_code``, ``kommune_name``, ``region``."""
    return pd.DataFrame(
        {
            "kommune_code": [k.code for k in _all()],
            "kommune_name": [k.name for k in _all()],
            "region": [k.region for k in _all()],
        }
    )


@cache
def kommune_codes() -> frozenset[str]:
    """The set of the 98 valid 3-digit codes (411 Christiansø is not a kommune)."""
    return frozenset(k.code for k in _all())


def kommune(code_or_name: str | int) -> Kommune:
    """Look a kommune up by its code ('461', 461) or name ('Odense', case-insensitive)."""
    key = str(code_or_name).strip()
    if key.isdigit():
        key = key.zfill(3)
        for k in _all():
            if k.code == key:
                return k
    else:
        for k in _all():
            if k.name.casefold() == key.casefold():
                return k
    hint = " (411 Christiansø is not a kommune)" if key == "411" else ""
    raise StikproveError(
        f"kommune {code_or_name!r} is not one of the 98 kommuner: expected an official 3-digit "
        f"code such as '461' or a name such as 'Odense'{hint}"
    )
