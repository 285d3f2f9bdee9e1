"""The protocol's TOML schema and its check: :func:`parse_protocol` reads a protocol's text
into a frozen :class:`Protocol`, reporting every problem at once (:class:`~stikprove.errors.
ProtocolError` lists them); :func:`load_protocol` reads the file. The format is documented in
``protocols/README.md``.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any

from stikprove.codebook import Codebook, default_codebook, load_codebook
from stikprove.cpr import contains_cpr, cpr_places, document_texts
from stikprove.errors import ProtocolError
from stikprove.frame import FRAME_COLUMNS
from stikprove.kommuner import kommune_codes
from stikprove.methods import (
    ALLOCATION_METHODS,
    DEFAULT_DOMAIN_INTERVAL_METHOD,
    DEPRECATED_METHOD_NAMES,
    MARGIN_LIMIT,
)
from stikprove.protocol.model import (
    BAND_SUFFIX,
    BAND_UNKNOWN,
    BANDABLE,
    COLLAPSIBLE,
    COORDINATION_MODES,
    DOMAIN_ALL,
    DOMAIN_STRATUM,
    FRAME_VALUES,
    INTERVAL_METHODS,
    SMALL_AREA_COVARIATES,
    STRATIFIERS,
    STRATUM_SEPARATOR,
    PrecisionTarget,
    Protocol,
    band_labels,
)
from stikprove.protocol.placeholders import placeholder_problems

# --------------------------------------------------------------------------------------------
# The schema: section -> key -> (required, default, check, expected form)

_Check = Callable[[Any], bool]


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _one_of(options: tuple[str, ...]) -> _Check:
    return lambda v: v in options


def _str_or_str_list(v: Any) -> bool:
    return _is_str(v) or (isinstance(v, list) and v != [] and all(_is_str(x) for x in v))


@dataclass(frozen=True)
class _Key:
    required: bool
    default: Any
    check: _Check
    expected: str


_NO_DEFAULT = object()

_SCHEMA: dict[str, dict[str, _Key]] = {
    "study": {
        "id": _Key(
            True,
            _NO_DEFAULT,
            lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", v),
            "a short id of at most 64 letters, digits, '-', '_' or '.', e.g. \"odense-2026\"",
        ),
        "title": _Key(True, _NO_DEFAULT, _is_str, "a non-empty string"),
        "seed": _Key(True, _NO_DEFAULT, lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    },
    "frame": {
        "path": _Key(True, _NO_DEFAULT, _is_str, "a file path (relative to the protocol's folder)"),
        "columns": _Key(
            False,
            {},
            lambda v: isinstance(v, dict) and all(_is_str(x) for x in v.values()),
            'a table {canonical column = "column in the file"}',
        ),
    },
    "eligibility": {
        "category": _Key(
            False,
            ["aktivitetsparat"],
            lambda v: (
                _str_or_str_list(v)
                and all(x in FRAME_VALUES["category"] for x in ([v] if isinstance(v, str) else v))
            ),
            '"aktivitetsparat", "jobparat" or a list of them',
        ),
        "health_exempt": _Key(
            False,
            None,
            lambda v: isinstance(v, bool),
            "true or false (leave out to include both)",
        ),
        "kommuner": _Key(
            False,
            "all",
            lambda v: (
                v == "all"
                or (
                    isinstance(v, list)
                    and v != []
                    and all(
                        (_is_str(x) or _is_int(x)) and str(x).zfill(3) in kommune_codes() for x in v
                    )
                )
            ),
            '"all" or a list of official 3-digit kommune codes, e.g. ["461"]',
        ),
        "sex": _Key(
            False,
            None,
            lambda v: (
                _str_or_str_list(v)
                and all(x in FRAME_VALUES["sex"] for x in ([v] if isinstance(v, str) else v))
            ),
            '"kvinde", "mand" or a list of them',
        ),
        "origin": _Key(
            False,
            None,
            lambda v: (
                _str_or_str_list(v)
                and all(x in FRAME_VALUES["origin"] for x in ([v] if isinstance(v, str) else v))
            ),
            "an origin value or a list of them: " + ", ".join(FRAME_VALUES["origin"]),
        ),
    },
    "strata": {
        "columns": _Key(
            True,
            _NO_DEFAULT,
            lambda v: (
                isinstance(v, list)
                and v != []
                and all(x in STRATIFIERS for x in v)
                and len(set(v)) == len(v)
            ),
            "a list of distinct frame columns from " + ", ".join(STRATIFIERS),
        ),
        "collapse": _Key(
            False,
            {},
            lambda v: (
                isinstance(v, dict)
                and all(
                    isinstance(m, dict) and m and all(_is_str(g) for g in m.values())
                    for m in v.values()
                )
            ),
            'a table per strata column of {frame value = "group"}, e.g. '
            '[strata.collapse.origin] dansk_oprindelse = "dansk"',
        ),
        "bands": _Key(
            False,
            {},
            lambda v: isinstance(v, dict) and all(isinstance(b, list) for b in v.values()),
            "a table of {numeric column = [breaks]}, e.g. bands.years_on_benefit = [0, 1, 3, 5]",
        ),
    },
    "precision": {
        "indicator": _Key(True, _NO_DEFAULT, _is_str, "a codebook indicator name"),
        "anticipated": _Key(
            True,
            _NO_DEFAULT,
            lambda v: (_is_number(v) and 0 < v < 1) or isinstance(v, dict),
            "a rate in (0, 1), e.g. 0.1, or a table of rates by group, e.g. "
            '{ default = 0.2, by = "origin", values = { indvandrer_ikke_vestlig = 0.1 } }',
        ),
        "margin": _Key(
            False,
            None,
            lambda v: _is_number(v) and 0 < v < MARGIN_LIMIT,
            "the target half-width per stratum, in (0, 0.5), e.g. 0.1 (a half-width of 0.5 "
            "or more is met by the interval [0, 1])",
        ),
        "targets": _Key(
            False,
            [],
            lambda v: isinstance(v, list) and all(isinstance(t, dict) for t in v),
            "a list of tables { domain = ..., margin = ... }, e.g. "
            '[{ domain = ["kommune_code"], margin = 0.08 }, { domain = "all", margin = 0.03 }]',
        ),
        "confidence_level": _Key(
            False, 0.95, lambda v: _is_number(v) and 0.5 <= v < 1, "a number in [0.5, 1), e.g. 0.95"
        ),
        "interval_method": _Key(
            False,
            DEFAULT_DOMAIN_INTERVAL_METHOD,
            _one_of(INTERVAL_METHODS),
            "one of " + ", ".join(INTERVAL_METHODS),
        ),
    },
    "budget": {
        "max_reviews": _Key(
            False, None, lambda v: _is_int(v) and v >= 1, "a whole number of reviews >= 1"
        ),
        "minutes_per_review": _Key(
            True, _NO_DEFAULT, lambda v: _is_number(v) and v > 0, "minutes per review, > 0"
        ),
    },
    "allocation": {
        "method": _Key(
            False,
            "proportional",
            _one_of(ALLOCATION_METHODS),
            "one of " + ", ".join(ALLOCATION_METHODS),
        ),
        "minimum": _Key(False, 0, lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    },
    "review": {
        "double_review_fraction": _Key(
            False, 0.0, lambda v: _is_number(v) and 0 <= v <= 1, "a fraction in [0, 1], e.g. 0.1"
        ),
        "codebook": _Key(
            False, "default", _is_str, '"default" or the path of a codebook TOML file'
        ),
        "disclosure_threshold": _Key(
            False, 5, lambda v: _is_int(v) and v >= 1, "a whole number >= 1 (default 5)"
        ),
        "worklist_fields": _Key(
            False,
            [],
            lambda v: isinstance(v, list) and all(_is_str(x) for x in v) and len(set(v)) == len(v),
            "a list of distinct frame column names shown on reviewers' worklists, "
            'e.g. ["age", "years_on_benefit"]',
        ),
    },
    "coordination": {
        "mode": _Key(
            False,
            "independent",
            _one_of(COORDINATION_MODES),
            "one of " + ", ".join(COORDINATION_MODES),
        ),
        "previous": _Key(
            False, None, _is_str, "the earlier study's sample folder (or its units.csv)"
        ),
        "key": _Key(
            False, None, _is_str, "a string keying the permanent random numbers (default: the seed)"
        ),
    },
    "small_area": {
        "covariates": _Key(
            False,
            list(SMALL_AREA_COVARIATES),
            lambda v: (
                isinstance(v, list)
                and all(x in SMALL_AREA_COVARIATES for x in v)
                and len(set(v)) == len(v)
            ),
            "a list of distinct covariate sets from " + ", ".join(SMALL_AREA_COVARIATES),
        ),
    },
}
_REQUIRED_SECTIONS = ("study", "frame", "strata", "precision", "budget")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_NUMBER_KEYS = (
    "seed",
    "max_reviews",
    "minutes_per_review",
    "minimum",
    "disclosure_threshold",
    "confidence_level",
    "margin",
    "anticipated",
    "double_review_fraction",
)
_FRACTION_KEYS = ("confidence_level", "margin", "anticipated", "double_review_fraction")


def _hint(key: str, value: Any) -> str:
    """What is wrong with a refused value, when more can be said than the expected form:
    a number in quotes, a percentage for a fraction, the unknown entries of a list."""
    if key in _NUMBER_KEYS and isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return " (a number, written without quotes)"
    if key in _FRACTION_KEYS and _is_number(value) and 1 < value <= 100:
        return f" (if {value:g} is a percentage, write {value / 100:g})"
    if key == "columns" and _is_str(value):
        return f' (a list, e.g. ["{value}"])'
    if key == "columns" and isinstance(value, list):
        notes = []
        for c in value:
            if not isinstance(c, str):
                notes.append(f"{c!r} is not a column name")
            elif c in BANDABLE:
                notes.append(f"{c!r} is numeric: use '{c}{BAND_SUFFIX}' with bands.{c} = [...]")
            elif c not in STRATIFIERS:
                close = difflib.get_close_matches(c, STRATIFIERS, n=1)
                notes.append(
                    f"{c!r} is not a strata column"
                    + (f" (did you mean {close[0]!r}?)" if close else "")
                )
        repeated = sorted({c for c in value if isinstance(c, str) and value.count(c) > 1})
        if repeated:
            notes.append(f"{', '.join(map(repr, repeated))} given twice")
        return "; " + "; ".join(notes) if notes else ""
    if key == "kommuner" and isinstance(value, list):
        unknown = [
            x
            for x in value
            if not ((_is_str(x) or _is_int(x)) and str(x).zfill(3) in kommune_codes())
        ]
        if unknown:
            return f"; not kommune codes: {', '.join(map(repr, unknown))}"
    return ""


def _check_bands(
    raw: dict[str, Any], strata: tuple[str, ...], problems: list[str]
) -> dict[str, tuple[float, ...]]:
    """``[strata] bands``: numeric column -> strictly increasing breaks >= 0."""
    bands: dict[str, tuple[float, ...]] = {}
    for column, breaks in raw.items():
        where = f"[strata] bands.{column} = {_describe(breaks)}"
        if column not in BANDABLE:
            problems.append(
                f"{where}: {column!r} cannot be banded: expected one of " + ", ".join(BANDABLE)
            )
            continue
        if not (
            isinstance(breaks, list)
            and len(breaks) >= 2
            and all(_is_number(b) and b >= 0 for b in breaks)
            and all(a < b for a, b in pairwise(breaks))
        ):
            problems.append(
                f"{where}: expected a strictly increasing list of at least two numbers >= 0, "
                "the lower ends of left-closed bands, e.g. [0, 1, 3, 5] for 0-1, 1-3, 3-5, 5+"
            )
            continue
        if column + BAND_SUFFIX not in strata:
            problems.append(
                f"{where}: {column + BAND_SUFFIX!r} is not a strata column "
                f"(strata columns: {', '.join(strata) or 'none'})"
            )
            continue
        bands[column] = tuple(float(b) for b in breaks)
    return bands


def _strata_values(
    column: str,
    collapse: Mapping[str, Mapping[str, str]],
    bands: Mapping[str, tuple[float, ...]],
    kommuner: tuple[str, ...],
) -> tuple[str, ...] | None:
    """The values a strata column can take in stratum keys (None when unknown)."""
    if column in collapse:
        return tuple(dict.fromkeys(collapse[column].values()))
    if column == "kommune_code":
        return tuple(kommuner)
    if column == "health_exempt":
        return ("true", "false")
    if column.endswith(BAND_SUFFIX):
        breaks = bands.get(column.removesuffix(BAND_SUFFIX))
        return None if breaks is None else (*band_labels(breaks), BAND_UNKNOWN)
    if column in FRAME_VALUES:
        return tuple(str(v) for v in FRAME_VALUES[column])
    return None


def _check_anticipated(
    raw: Any,
    strata: tuple[str, ...],
    known: Mapping[str, tuple[str, ...] | None],
    problems: list[str],
) -> tuple[float, tuple[str, ...], dict[str, float]]:
    """``[precision] anticipated``: a rate, or { default, by, values } (see protocols/README)."""
    if raw is _NO_DEFAULT or not isinstance(raw, dict):
        return (math.nan if raw is _NO_DEFAULT else float(raw)), (), {}
    where = "[precision.anticipated]"
    before = len(problems)
    unknown = [k for k in raw if k not in ("default", "by", "values")]
    if unknown:
        problems.append(f"{where} unknown key(s) {unknown}: expected default, by, values")
    default = raw.get("default")
    if not (_is_number(default) and 0 < default < 1):
        problems.append(
            f"{where} default = {_describe(default)}: expected the rate in (0, 1) for groups "
            "not listed in values, e.g. 0.2"
        )
    by = raw.get("by")
    by_list = [by] if isinstance(by, str) else by
    if not (
        isinstance(by_list, list)
        and by_list
        and all(isinstance(c, str) and c in strata for c in by_list)
        and len(set(by_list)) == len(by_list)
    ):
        problems.append(
            f"{where} by = {_describe(by)}: expected a strata column or a list of them "
            f"(strata columns: {', '.join(strata) or 'none'})"
        )
        by_list = None
    values = raw.get("values")
    if not (
        isinstance(values, dict)
        and values
        and all(_is_number(v) and 0 < v < 1 for v in values.values())
    ):
        problems.append(
            f"{where} values = {_describe(values)}: expected a table of group = rate in (0, 1), "
            "e.g. { indvandrer_ikke_vestlig = 0.1 }"
        )
        values = None
    if by_list is not None and values is not None:
        for key in values:
            parts = key.split(STRATUM_SEPARATOR)
            if len(parts) != len(by_list):
                problems.append(
                    f"{where} values: key {key!r} has {len(parts)} part(s): expected one value of "
                    + " and one of ".join(by_list)
                    + (f", joined by {STRATUM_SEPARATOR!r}" if len(by_list) > 1 else "")
                )
                continue
            for column, part in zip(by_list, parts, strict=True):
                allowed = known.get(column)
                if allowed is not None and part not in allowed:
                    problems.append(
                        f"{where} values: {part!r} in {key!r} is not a value of {column}: "
                        f"expected one of {', '.join(allowed)}"
                    )
    if len(problems) > before:
        return math.nan, (), {}
    return (
        float(default),
        tuple(by_list),
        {str(k): float(v) for k, v in values.items()},
    )


def _check_targets(
    raw: list[dict[str, Any]],
    margin: float | None,
    strata: tuple[str, ...],
    problems: list[str],
) -> tuple[PrecisionTarget, ...]:
    """``[precision] targets`` (with ``margin`` as the per-stratum target, first)."""
    targets: list[PrecisionTarget] = []
    if margin is not None:
        targets.append(PrecisionTarget(DOMAIN_STRATUM, strata, float(margin)))
    form = (
        f'"{DOMAIN_STRATUM}", "{DOMAIN_ALL}", a strata column or a list of strata columns '
        f"(strata columns: {', '.join(strata) or 'none'})"
    )
    for i, target in enumerate(raw, start=1):
        where = f"[precision] targets[{i}]"
        unknown = [k for k in target if k not in ("domain", "margin")]
        if unknown:
            problems.append(f"{where}: unknown key(s) {unknown}: expected domain, margin")
        m = target.get("margin")
        ok = True
        if not (_is_number(m) and 0 < m < MARGIN_LIMIT):
            problems.append(
                f"{where} margin = {_describe(m)}: expected the target half-width in (0, 0.5), "
                f"e.g. 0.05{_hint('margin', m)}"
            )
            ok = False
        domain = target.get("domain")
        columns: tuple[str, ...] | None = None
        if domain == DOMAIN_STRATUM:
            columns = strata
        elif domain == DOMAIN_ALL:
            columns = ()
        else:
            given = [domain] if isinstance(domain, str) else domain
            if (
                isinstance(given, list)
                and given
                and all(isinstance(c, str) and c in strata for c in given)
                and len(set(given)) == len(given)
            ):
                columns = tuple(c for c in strata if c in given)  # in strata order
        if columns is None:
            problems.append(f"{where} domain = {_describe(domain)}: expected {form}")
            ok = False
        if not ok:
            continue
        name = (
            DOMAIN_STRATUM
            if columns == strata
            else DOMAIN_ALL
            if not columns
            else " × ".join(columns)
        )
        if any(t.columns == columns for t in targets):
            problems.append(
                f"{where} domain = {_describe(domain)}: a second target for the {name} domains "
                "(the per-stratum margin counts as one): expected one target per domain"
            )
            continue
        targets.append(PrecisionTarget(name, columns, float(m)))
    return tuple(targets)


def _control_problems(value: Any) -> list[str]:
    """A problem for each string (key or value, at any depth) holding a control character
    other than a line break or a tab (an escape sequence would reach a terminal or a sheet
    through a stratum or code)."""
    return [
        f"{place!r}: holds a control character (e.g. an escape sequence): expected printable "
        "text"
        for place, texts in document_texts(value)
        if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for t in texts for c in t)
    ]


def _cpr_problems(text: str, doc: dict) -> list[str]:
    """A problem for each line of the protocol (a value, a key or a comment) holding a
    CPR-like number, which is not shown: the protocol's text is kept in the study store
    and its sample folder. When no line shows one, each key whose value TOML builds into
    one (from escapes or a line continuation) is named instead."""
    expected = "expected no CPR number anywhere in a protocol"
    by_line = [
        f"line {number}: holds a CPR-like number (not shown): {expected}, comments included"
        for number, line in enumerate(text.splitlines(), start=1)
        if contains_cpr(line)
    ]
    return by_line or [
        f"{place!r}: holds a CPR-like number (not shown): {expected}" for place in cpr_places(doc)
    ]


def _absolute(path: str | Path) -> Path:
    """``path`` made absolute as written (``..`` taken lexically, symbolic links kept), so a
    protocol's relative paths resolve against the folder it was named in: in a checkout,
    protocols/ is a link to the package's templates, whose ``../synthetic_data`` means the
    checkout's."""
    return Path(os.path.abspath(path))


def parse_protocol(
    text: str,
    path: str | Path = "protocol.toml",
    *,
    codebook: Codebook | None = None,
    name: str | None = None,
    advice: str = "",
) -> Protocol:
    """Parse and check a protocol's TOML text; relative paths resolve against ``path``'s folder.

    The checks run in turn, each adding to one list of problems: the schema (sections, keys,
    each value's form), then the keys read together (frame columns, strata, collapsing,
    bands, anticipated rates, precision targets, codebook and indicator, the keys another
    key needs). Any problem: one ProtocolError listing them all.

    ``codebook``: the codebook to use instead of reading ``[review] codebook`` (a study
    store keeps its protocol's text and its codebook, but not the codebook file).
    ``name``: what the errors call the text (default ``protocol <path>``); ``advice``:
    added at the end of an error.
    """
    path = _absolute(path)
    name = name or f"protocol {path}"
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(f"{name}: not valid TOML: {error}{advice}") from None
    problems: list[str] = _cpr_problems(text, doc) + _control_problems(doc)
    left = placeholder_problems(doc, path.parent)
    if left:
        header = f"{name} is not filled in yet; {len(left)} thing(s) left"
        raise ProtocolError(
            header + ":\n" + "\n".join(f"  - {p}" for p in problems + left) + advice
        )
    read = _read_sections(doc, problems)
    values = read.sections
    elig, strata_sec, prec = values["eligibility"], values["strata"], values["precision"]

    _check_frame_columns(values["frame"]["columns"], problems)
    strata = _strata_columns(read)
    collapse = _check_collapse(strata_sec["collapse"], strata, problems)
    bands = _check_bands(strata_sec["bands"], strata, problems)
    _check_band_columns(strata, bands, problems)
    in_scope = _kommuner_in_scope(elig["kommuner"])
    known = {column: _strata_values(column, collapse, bands, in_scope) for column in strata}
    anticipated, anticipated_by, anticipated_values = _check_anticipated(
        prec["anticipated"], strata, known, problems
    )
    targets = _check_targets(prec["targets"], prec["margin"], strata, problems)
    if codebook is None:
        codebook, codebook_path = _check_codebook(values["review"]["codebook"], path.parent,
                                                  problems)  # fmt: skip
    else:
        key = values["review"]["codebook"]
        codebook_path = None if key == "default" else (path.parent / key).resolve()
    _check_indicator(prec["indicator"], codebook, problems)
    _check_needed_keys(read, targets, problems)
    if problems:
        header = f"{name} has {len(problems)} problem(s)"
        raise ProtocolError(header + ":\n" + "\n".join(f"  - {p}" for p in problems) + advice)

    study, review, coord = values["study"], values["review"], values["coordination"]
    folder = path.parent
    return Protocol(
        path=path,
        study_id=study["id"],
        title=study["title"],
        seed=study["seed"],
        frame_path=_absolute(folder / values["frame"]["path"]),
        frame_columns=MappingProxyType(dict(values["frame"]["columns"])),
        eligibility=MappingProxyType(_eligibility(elig)),
        kommuner=None if elig["kommuner"] == "all" else _kommuner_in_scope(elig["kommuner"]),
        strata=strata,
        collapse=MappingProxyType({k: MappingProxyType(v) for k, v in collapse.items()}),
        bands=MappingProxyType(bands),
        indicator=prec["indicator"],
        anticipated=anticipated,
        anticipated_by=anticipated_by,
        anticipated_values=MappingProxyType(anticipated_values),
        margin=next((t.margin for t in targets if t.domain == DOMAIN_STRATUM), None),
        targets=targets,
        max_reviews=values["budget"]["max_reviews"],
        minutes_per_review=float(values["budget"]["minutes_per_review"]),
        allocation=values["allocation"]["method"],
        minimum_per_stratum=values["allocation"]["minimum"],
        confidence_level=float(prec["confidence_level"]),
        interval_method=DEPRECATED_METHOD_NAMES.get(prec["interval_method"],
                                                    prec["interval_method"]),
        double_review_fraction=float(review["double_review_fraction"]),
        disclosure_threshold=review["disclosure_threshold"],
        worklist_fields=tuple(review["worklist_fields"]),
        codebook=codebook,
        codebook_path=codebook_path,
        coordination=coord["mode"],
        previous=_absolute(folder / coord["previous"]) if coord["previous"] else None,
        coordination_key=coord["key"] if coord["key"] is not None else f"seed:{study['seed']}",
        text=text,
        fingerprint=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        small_area_covariates=tuple(values["small_area"]["covariates"]),
    )


@dataclass(frozen=True)
class _Read:
    """A protocol's sections as the schema check read them."""

    sections: dict[str, dict[str, Any]]
    """section -> key -> the value in the file, or the key's default (also for a value
    refused)."""
    given: dict[tuple[str, str], Any]
    """(section, key) -> the value in the file."""
    invalid: set[tuple[str, str]]
    """Keys whose value was refused (their default is in ``values``)."""


def _read_sections(doc: dict[str, Any], problems: list[str]) -> _Read:
    """Check every section and key against :data:`_SCHEMA`: unknown and missing sections
    and keys, and each value's form."""
    values: dict[str, dict[str, Any]] = {}
    given: dict[tuple[str, str], Any] = {}
    invalid: set[tuple[str, str]] = set()
    for section in doc:
        if section not in _SCHEMA:
            problems.append(
                f"unknown section [{section}]: expected one of "
                + ", ".join(f"[{s}]" for s in _SCHEMA)
            )
    for section, keys in _SCHEMA.items():
        raw = doc.get(section)
        if raw is None:
            raw = {}
            if section in _REQUIRED_SECTIONS:
                problems.append(f"missing section [{section}]")
        if not isinstance(raw, dict):
            problems.append(f"{section}: expected a table [{section}], got {_describe(raw)}")
            raw = {}
        values[section] = {}
        for key in raw:
            if key not in keys:
                problems.append(
                    f"[{section}] unknown key {key!r}: expected one of " + ", ".join(keys)
                )
        for key, spec in keys.items():
            if key not in raw:
                if spec.required:
                    problems.append(f"[{section}] missing key {key!r}: expected {spec.expected}")
                values[section][key] = spec.default
                continue
            value = raw[key]
            given[section, key] = value
            if not spec.check(value):
                problems.append(
                    f"[{section}] {key} = {_describe(value)}: expected {spec.expected}"
                    + _hint(key, value)
                )
                values[section][key] = spec.default
                invalid.add((section, key))
            else:
                values[section][key] = value
    return _Read(values, given, invalid)


def _check_frame_columns(columns: Mapping[str, str], problems: list[str]) -> None:
    """``[frame.columns]`` maps canonical frame columns only."""
    for canonical in columns:
        if canonical not in FRAME_COLUMNS:
            problems.append(
                f"[frame.columns] unknown column {canonical!r}: expected canonical frame columns "
                + ", ".join(FRAME_COLUMNS)
            )


def _strata_columns(read: _Read) -> tuple[str, ...]:
    """The strata columns; when ``[strata] columns`` was refused, those of its columns that
    are valid (so the other keys are checked against them, not against none)."""
    columns = read.sections["strata"]["columns"]
    strata = tuple(columns) if columns is not _NO_DEFAULT else ()
    if ("strata", "columns") in read.invalid:
        raw_columns = read.given["strata", "columns"]
        raw_columns = [raw_columns] if isinstance(raw_columns, str) else raw_columns
        if isinstance(raw_columns, list):
            strata = tuple(
                dict.fromkeys(c for c in raw_columns if isinstance(c, str) and c in STRATIFIERS)
            )
    return strata


def _check_collapse(
    collapse_sec: Mapping[str, Mapping[str, str]], strata: tuple[str, ...], problems: list[str]
) -> dict[str, dict[str, str]]:
    """``[strata.collapse.<column>]``: a collapsible strata column, every value of it mapped
    to a group and no other value."""
    collapse: dict[str, dict[str, str]] = {}
    for column, mapping in collapse_sec.items():
        if column not in strata:
            problems.append(
                f"[strata.collapse.{column}]: {column!r} is not a strata column "
                f"(strata columns: {', '.join(strata) or 'none'})"
            )
            continue
        if column not in COLLAPSIBLE:
            problems.append(
                f"[strata.collapse.{column}]: {column!r} cannot be collapsed: expected one of "
                + ", ".join(COLLAPSIBLE)
            )
            continue
        allowed = FRAME_VALUES.get(column)
        if allowed is not None:
            allowed_str = tuple(str(a).lower() if isinstance(a, bool) else a for a in allowed)
            unknown = [v for v in mapping if v not in allowed_str]
            if unknown:
                problems.append(
                    f"[strata.collapse.{column}] unknown values {unknown}: expected values of "
                    f"{column}: {', '.join(allowed_str)}"
                )
            missing = [a for a in allowed_str if a not in mapping]
            if missing and not unknown:
                problems.append(
                    f"[strata.collapse.{column}] values not mapped to a group: {missing}: "
                    "expected every value of the column to be mapped"
                )
        collapse[column] = dict(mapping)
    return collapse


def _check_band_columns(
    strata: tuple[str, ...], bands: Mapping[str, Any], problems: list[str]
) -> None:
    """A banded strata column (``age_band``) needs the bands of its source column."""
    for column in strata:
        if column.endswith(BAND_SUFFIX) and column.removesuffix(BAND_SUFFIX) not in bands:
            source = column.removesuffix(BAND_SUFFIX)
            problems.append(
                f"[strata] columns: {column!r} needs its bands: expected e.g. "
                f"bands.{source} = [0, 1, 3, 5]"
            )


def _kommuner_in_scope(kommuner: Any) -> tuple[str, ...]:
    """The kommune codes ``[eligibility] kommuner`` keeps (all of them for "all")."""
    if kommuner in ("all", None):
        return tuple(kommune_codes())
    return tuple(sorted({str(k).zfill(3) for k in kommuner}))


def _check_codebook(
    codebook_key: str, folder: Path, problems: list[str]
) -> tuple[Codebook | None, Path | None]:
    """``[review] codebook``: "default" or a codebook file (relative to the protocol)."""
    if codebook_key == "default":
        return default_codebook(), None
    codebook_path = _absolute(folder / codebook_key)
    try:
        return load_codebook(codebook_path), codebook_path
    except ProtocolError as error:
        problems.append(f"[review] codebook = {codebook_key!r}: {error}")
        return None, codebook_path


def _check_indicator(indicator: Any, codebook: Codebook | None, problems: list[str]) -> None:
    """``[precision] indicator`` names one of the codebook's indicators."""
    if codebook is not None and isinstance(indicator, str):
        names = [i.name for i in codebook.indicators]
        if indicator not in names:
            problems.append(
                f"[precision] indicator = {indicator!r}: expected a codebook indicator, one of "
                + ", ".join(names)
            )


def _check_needed_keys(
    read: _Read, targets: tuple[PrecisionTarget, ...], problems: list[str]
) -> None:
    """Keys another key needs. A needed key is "missing" only when it is absent (a refused
    value is reported already) and the key needing it was valid."""
    values, given, invalid = read.sections, read.given, read.invalid
    alloc, budget, coord = values["allocation"], values["budget"], values["coordination"]
    refused = {("precision", "margin"), ("precision", "targets")} & invalid
    if (
        alloc["method"] == "precision"
        and not targets
        and not refused
        and not given.get(("precision", "targets"))
    ):
        problems.append(
            "[precision] missing key 'margin' (or 'targets'): allocation method 'precision' "
            "needs the target half-width"
        )
    if (
        alloc["method"] != "precision"
        and budget["max_reviews"] is None
        and ("budget", "max_reviews") not in given
        and ("allocation", "method") not in invalid
    ):
        problems.append(
            f"[budget] missing key 'max_reviews': allocation method {alloc['method']!r} needs "
            "the number of reviews"
        )
    if (
        coord["mode"] != "independent"
        and coord["previous"] is None
        and ("coordination", "previous") not in given
    ):
        problems.append(
            f"[coordination] missing key 'previous': mode {coord['mode']!r} needs the earlier "
            "study's sample folder"
        )
    if (
        coord["mode"] == "independent"
        and coord["previous"] is not None
        and ("coordination", "mode") not in invalid
    ):
        problems.append(
            f"[coordination] previous = {_describe(coord['previous'])}: used only with mode "
            "overlap or avoid, and mode is 'independent': expected mode = \"overlap\" or "
            '"avoid", or no previous (it would be ignored)'
        )


def _eligibility(elig: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The eligibility filters that are set: column -> allowed values."""
    eligibility: dict[str, tuple[Any, ...]] = {}
    for key in ("category", "sex", "origin"):
        v = elig[key]
        if v is not None:
            eligibility[key] = tuple([v] if isinstance(v, str) else v)
    if elig["health_exempt"] is not None:
        eligibility["health_exempt"] = (elig["health_exempt"],)
    return eligibility


def setting_default(section: str, key: str) -> Any:
    """The default of ``[section] key`` (protocols/README.md documents each): the one place
    a setting's default lives. What a command takes when it reads no protocol (an exported
    CSV) and what a stored protocol without the key (one written before the key was added)
    is read with. ProtocolError for a key without a default (a required one) or not in the
    schema."""
    spec = _SCHEMA.get(section, {}).get(key)
    if spec is None or spec.default is _NO_DEFAULT:
        why = "no such key in a protocol" if spec is None else "required, it has no default"
        raise ProtocolError(f"[{section}] {key}: {why}")
    return spec.default


def parse_stored_protocol(
    text: str, study: str | Path, *, codebook: Codebook, round: int | None = None
) -> Protocol:
    """A study's stored protocol (the text it was drawn from, kept in its store) as its
    frozen :class:`Protocol`: the one reader of a stored study's settings
    (``Study.protocol`` calls it; reports, interim analyses, commands and the release read
    their settings from what it returns).

    The text is parsed by :func:`parse_protocol` with ``codebook``, the study's own (the
    store keeps the codebook, not its file); its relative paths resolve against the folder
    of the study file ``study`` (``stikprove init`` keeps protocol.toml beside
    study.sqlite). A key the text lacks takes its default (:func:`setting_default`, as for
    a protocol file: a protocol stored before a key was added). A key whose stored value
    cannot be read is never replaced by a default: ProtocolError naming the study file
    (and ``round``), each such key with its stored value and what was expected.
    """
    where = f"study {study}" + (f" (round {round})" if round is not None else "")
    return parse_protocol(
        text, Path(study).parent / "protocol.toml", codebook=codebook,
        name=f"{where}: its stored protocol",
        advice="\n(a stored setting that cannot be read is not replaced by a default: the "
        "store keeps the protocol its sample was drawn from, and this text has been changed "
        "or damaged since; restore the study file from a backup)",
    )  # fmt: skip


def load_protocol(path: str | Path) -> Protocol:
    """Read and check a protocol file; every problem is listed in one ProtocolError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ProtocolError(f"cannot read protocol {path}: {error.strerror}") from None
    if data.startswith(b"SQLite format 3\x00"):
        raise ProtocolError(
            f"{path} is a study store (SQLite), not a protocol: give the protocol's TOML file "
            "(the one the study was drawn from; 'stikprove init' writes a new one)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(
            f"protocol {path}: expected UTF-8 text (a TOML file such as "
            "protocols/odense-replication.toml)"
        ) from None
    return parse_protocol(text, path)
