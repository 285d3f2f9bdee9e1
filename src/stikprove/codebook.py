"""The codebook: the outcome fields a reviewer fills in, their allowed values, and the
binary indicators derived from them (what is estimated).

The default codebook ships as package data (``stikprove/data/codebook.toml``; a copy for
reading lies in ``protocols/codebook.toml``). A protocol may name another file in the same
format.

>>> cb = default_codebook()
>>> cb.field("health_assessment").codes
('for_syg', 'kan_med_skaanehensyn', 'ingen_vaesentlig_barriere', 'kan_ikke_vurderes')
>>> cb.primary_field.name
'health_assessment'
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.cpr import contains_cpr, cpr_places
from stikprove.errors import ProtocolError

FIELD_KINDS = ("choice", "date", "text")
REQUIRED_WHEN = ("always", "eligible", "ineligible", "never")
INDICATOR_SCOPES = ("eligible", "eligible_health_exempt")
LANGUAGES = ("da", "en")


@dataclass(frozen=True)
class Field:
    """One field of the codebook."""

    name: str
    kind: str
    """'choice', 'date' or 'text'."""
    required: str
    """'always', 'eligible' (when eligible = ja), 'ineligible' (when eligible = nej) or 'never'."""
    label: dict[str, str]
    codes: tuple[str, ...] = ()
    value_labels: dict[str, dict[str, str]] | None = None
    """code -> {language: label}."""
    primary: bool = False
    help: dict[str, str] | None = None
    """language -> a help text for the reviewer (optional; the web form shows it)."""

    def label_of(self, code: str, language: str = "da") -> str:
        return (self.value_labels or {}).get(code, {}).get(language, code)

    def is_required(self, eligible: str | None) -> bool:
        if self.required == "always":
            return True
        if self.required == "eligible":
            return eligible == "ja"
        if self.required == "ineligible":
            return eligible == "nej"
        return False


@dataclass(frozen=True)
class Indicator:
    """A 0/1 outcome derived from one field: 1 for ``events``, missing for ``missing``."""

    name: str
    field: str
    events: tuple[str, ...]
    missing: tuple[str, ...]
    among: str
    """'eligible', or 'eligible_health_exempt' (eligible and health-exempt at the frame date)."""
    label: dict[str, str]


@dataclass(frozen=True)
class Codebook:
    fields: tuple[Field, ...]
    indicators: tuple[Indicator, ...]
    version: int
    text: str
    """The TOML text it was read from (kept in the study store)."""

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def primary_field(self) -> Field:
        return next(f for f in self.fields if f.primary)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise ProtocolError(
            f"codebook has no field {name!r}: expected one of {', '.join(self.field_names)}"
        )

    def indicator(self, name: str) -> Indicator:
        for i in self.indicators:
            if i.name == name:
                return i
        names = ", ".join(i.name for i in self.indicators)
        raise ProtocolError(f"codebook has no indicator {name!r}: expected one of {names}")

    def derive_indicators(
        self, assessments: pd.DataFrame, health_exempt: pd.Series | None = None
    ) -> pd.DataFrame:
        """Indicator columns (float 1.0 / 0.0 / NaN) for each row of ``assessments``.

        ``assessments`` holds the codebook fields (missing fields mean not yet reviewed).
        A case outside an indicator's scope (ineligible, or not health-exempt for
        ``misclassified``) gets NaN, as does a not-assessable or unreviewed case; use
        :meth:`indicator_scope` to tell the two apart.
        """
        out = {}
        for ind in self.indicators:
            in_scope = self.indicator_scope(ind.name, assessments, health_exempt)
            values = assessments.get(ind.field, pd.Series(index=assessments.index, dtype=object))
            col = np.where(values.isin(ind.events), 1.0, 0.0)
            col = np.where(values.isna() | values.isin(ind.missing) | ~in_scope, np.nan, col)
            out[ind.name] = col
        return pd.DataFrame(out, index=assessments.index)

    def indicator_scope(
        self, name: str, assessments: pd.DataFrame, health_exempt: pd.Series | None = None
    ) -> pd.Series:
        """Boolean: is the case in the indicator's population (eligible, and exempt if asked)?

        Cases not yet reviewed count as in scope (their outcome is missing).
        """
        ind = self.indicator(name)
        eligible = assessments.get("eligible", pd.Series(index=assessments.index, dtype=object))
        scope = eligible.ne("nej")
        if ind.among == "eligible_health_exempt":
            if health_exempt is None:
                raise ProtocolError(
                    f"indicator {name!r} is defined among health-exempt cases: "
                    "expected the frame's health_exempt column"
                )
            scope &= health_exempt.astype(bool).to_numpy()
        return scope


def _require(table: dict, key: str, where: str, kind: type | tuple[type, ...]):
    if key not in table:
        raise ProtocolError(f"codebook {where}: missing key {key!r}")
    value = table[key]
    if not isinstance(value, kind):
        raise ProtocolError(f"codebook {where}: key {key!r} must be {kind}, got {value!r}")
    return value


def parse_codebook(text: str, source: str = "codebook") -> Codebook:
    """Parse and check a codebook in TOML (see ``protocols/codebook.toml``). A line holding
    a CPR-like number is refused (the codebook is kept in the study store and written to
    every worklist)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(f"{source}: not valid TOML: {error}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if contains_cpr(line):
            raise ProtocolError(f"{source}: line {number} holds a CPR-like number (not shown): "
                                "expected no CPR number in a codebook")  # fmt: skip
    for place in cpr_places(doc):  # one TOML builds from escapes or a line continuation
        raise ProtocolError(f"{source}: {place} holds a CPR-like number (not shown): "
                            "expected no CPR number in a codebook")  # fmt: skip
    fields = []
    for i, raw in enumerate(_require(doc, "fields", source, list), start=1):
        where = f"{source} field #{i}"
        name = _require(raw, "name", where, str)
        where = f"{source} field {name!r}"
        kind = _require(raw, "kind", where, str)
        if kind not in FIELD_KINDS:
            raise ProtocolError(f"{where}: kind {kind!r}, expected one of {FIELD_KINDS}")
        required = _require(raw, "required", where, str)
        if required not in REQUIRED_WHEN:
            raise ProtocolError(f"{where}: required {required!r}, expected one of {REQUIRED_WHEN}")
        codes: tuple[str, ...] = ()
        value_labels = None
        if kind == "choice":
            values = _require(raw, "values", where, list)
            codes = tuple(_require(v, "code", where, str) for v in values)
            if len(set(codes)) != len(codes) or not codes:
                raise ProtocolError(f"{where}: value codes must be unique and non-empty")
            value_labels = {v["code"]: {k: v[k] for k in LANGUAGES if k in v} for v in values}
        fields.append(
            Field(
                name=name,
                kind=kind,
                required=required,
                label=dict(raw.get("label", {})),
                codes=codes,
                value_labels=value_labels,
                primary=bool(raw.get("primary", False)),
                help=dict(raw["help"]) if isinstance(raw.get("help"), dict) else None,
            )
        )
    names = [f.name for f in fields]
    if "eligible" not in names or fields[names.index("eligible")].codes != ("ja", "nej"):
        raise ProtocolError(f"{source}: expected a choice field 'eligible' with values ja, nej")
    if sum(f.primary for f in fields) != 1:
        raise ProtocolError(f"{source}: expected exactly one field with primary = true")
    indicators = []
    for name, raw in doc.get("indicators", {}).items():
        where = f"{source} indicator {name!r}"
        field_name = _require(raw, "field", where, str)
        if field_name not in names:
            raise ProtocolError(f"{where}: field {field_name!r} is not in the codebook")
        field = fields[names.index(field_name)]
        events = tuple(_require(raw, "events", where, list))
        missing = tuple(raw.get("missing", []))
        unknown = [c for c in (*events, *missing) if c not in field.codes]
        if unknown:
            raise ProtocolError(f"{where}: values {unknown} are not codes of {field_name!r}")
        among = raw.get("among", "eligible")
        if among not in INDICATOR_SCOPES:
            raise ProtocolError(f"{where}: among {among!r}, expected one of {INDICATOR_SCOPES}")
        indicators.append(Indicator(name, field_name, events, missing, among, raw.get("label", {})))
    return Codebook(tuple(fields), tuple(indicators), int(doc.get("version", 1)), text)


def load_codebook(path: str | Path) -> Codebook:
    """Read a codebook TOML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProtocolError(f"cannot read codebook {path}: {error.strerror}") from None
    return parse_codebook(text, source=str(path))


def default_codebook() -> Codebook:
    """The default codebook (package data ``data/codebook.toml``; docs/store.md, "The default
    codebook")."""
    text = resources.files("stikprove").joinpath("data/codebook.toml").read_text(encoding="utf-8")
    return parse_codebook(text, source="default codebook")
