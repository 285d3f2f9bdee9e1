"""The frame: loading, validating and fingerprinting a register extract (one row per case).

A frame has the columns of :data:`FRAME_COLUMNS` (a protocol may ask for fewer or more) and
arrives as CSV, XLSX or Parquet, or as a DataFrame. :func:`load_frame` checks it and returns
it in canonical dtypes; :func:`validate_frame` lists the problems without raising;
:func:`frame_fingerprint` identifies the data whatever the row order and file format.

A column that looks like CPR numbers is refused (:class:`~stikprove.errors.PrivacyError`)
before anything else is looked at, and its values are never shown: run
``stikprove pseudonymize`` on the extract first.

>>> df = pd.DataFrame({"case_id": ["a1"], "kommune_code": [461], "sex": ["kvinde"],
...     "origin": ["dansk_oprindelse"], "age": ["45"], "years_on_benefit": ["2,5"],
...     "category": ["aktivitetsparat"], "health_exempt": ["ja"], "last_effort_date": [""]})
>>> frame = load_frame(df)
>>> row = frame.iloc[0]
>>> row["kommune_code"], float(row["years_on_benefit"]), bool(row["health_exempt"])
('461', 2.5, True)
>>> validate_frame(df.assign(kommune_code=999))[0].expected
"one of the 98 official 3-digit kommune codes, e.g. '461' (Odense)"
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.cells import IDENTIFIER_EXPECTED, identifier_problem, restore
from stikprove.cpr import contains_cpr, cpr_positions
from stikprove.errors import FrameError, MissingFrameError, PrivacyError, Problem, format_problems
from stikprove.kommuner import kommune_codes
from stikprove.tables import Table, read_csv_table, read_xlsx_table

FRAME_COLUMNS = (
    "case_id",
    "kommune_code",
    "sex",
    "origin",
    "age",
    "years_on_benefit",
    "category",
    "health_exempt",
    "last_effort_date",
)
"""The columns of a frame, in canonical order."""

ALWAYS_REQUIRED = ("case_id", "kommune_code")
"""Columns every frame must have, whatever a protocol declares."""

ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "sex": ("kvinde", "mand"),
    "origin": (
        "dansk_oprindelse",
        "indvandrer_vestlig",
        "indvandrer_ikke_vestlig",
        "efterkommer_vestlig",
        "efterkommer_ikke_vestlig",
    ),
    "category": ("aktivitetsparat", "jobparat"),
}
"""The allowed values of the stratification columns (DST categories); a protocol may override."""

AGE_RANGE = (15, 100)
"""Ages outside this range (inclusive) are refused as implausible."""

TRUE_WORDS = frozenset({"true", "1", "ja"})
FALSE_WORDS = frozenset({"false", "0", "nej"})

PSEUDONYMIZE_HINT = (
    "replace it by a pseudonymous case_id with `stikprove pseudonymize IN OUT --column {column} "
    "--key-file KEY` (see `stikprove pseudonymize --help`) and load the output instead"
)

# --------------------------------------------------------------------------------------------
# CPR numbers

def looks_like_cpr(value: object) -> bool:
    """Does a value hold a CPR-like number anywhere, in any of the forms
    :mod:`stikprove.cpr` finds (with a dash, a space, dots or a prefix, inside text, nine
    digits whose leading zero was dropped)? The modulus-11 check is not required: many
    valid CPR numbers fail it.

    >>> looks_like_cpr("010190-1234"), looks_like_cpr("CPR: 010190 1234")
    (True, True)
    >>> looks_like_cpr("9999991234"), looks_like_cpr("a3f0101901234bc9")
    (False, False)
    """
    return contains_cpr(value)


def cpr_columns(df: pd.DataFrame) -> dict[str, list[int]]:
    """The columns holding CPR-like values anywhere in a cell: column -> positions (0-based)
    of those values. Every column is examined, whatever its name or dtype."""
    found: dict[str, list[int]] = {}
    for column in df.columns:
        positions = cpr_positions(_as_text(df[column]).tolist())
        if positions:
            found[str(column)] = positions
    return found


def refuse_cpr(df: pd.DataFrame, source: str) -> None:
    """Refuse a table read from outside that is not a frame (an analysis table given to
    ``estimate``) holding a CPR-like number in any cell or column name: PrivacyError naming
    the columns and rows (never the values), so that no result table prints one as a
    domain's label."""
    named = [position for position, c in enumerate(df.columns, start=1) if contains_cpr(str(c))]
    if named:
        raise PrivacyError(
            f"{source}: column(s) {', '.join(map(str, named))}: the column name looks like a "
            "CPR number (not shown): expected no CPR number in a table stikprove reads"
        )
    found = cpr_columns(df)
    if found:
        where = "; ".join(
            f"column {c!r}, rows {', '.join(str(p + 2) for p in rows[:5])}"
            + (", ..." if len(rows) > 5 else "")
            for c, rows in found.items()
        )
        raise PrivacyError(
            f"{source}: refused: {where} hold a CPR-like number (values not shown): expected "
            "no CPR number in a table stikprove reads; remove the column(s) and use case_id"
        )


def _cpr_message(source: str, found: dict[str, list[int]], columns: Iterable = ()) -> str:
    """A refusal naming the CPR-like columns and the rows, never the values."""
    lines = [f"{source}: refused: the frame holds CPR numbers, which must never enter a study"]
    for column, positions in found.items():
        rows = ", ".join(str(p + 2) for p in positions[:5])
        more = ", ..." if len(positions) > 5 else ""
        lines.append(
            f"  - column {column!r}: {len(positions)} value(s) hold a CPR-like number "
            f"(a date DDMMYY and four digits, with or without a dash, space or prefix, "
            f"anywhere in the cell; rows {rows}{more}; values not shown)"
        )
    first = next(iter(found))
    if "case_id" in {str(c) for c in columns} and "case_id" not in found:
        # pseudonymize refuses a file that already has case_id: the column must go instead
        names = ", ".join(repr(c) for c in found)
        lines.append(
            f"  To fix it: the frame already has a case_id, so it needs no CPR number: "
            f"remove the column(s) {names} from the extract and load it again; or keep a "
            f"pseudonymous copy with `stikprove pseudonymize IN OUT --column {first} "
            "--id-column NAME --key-file KEY` (without --id-column it refuses a file that "
            "has a case_id)."
        )
    else:
        lines.append("  To fix it: " + PSEUDONYMIZE_HINT.format(column=first) + ".")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Reading files as text


def _cell_text(value: object) -> str | None:
    """One cell as text the way a CSV would hold it (None for missing).

    Whole numbers lose their '.0' (Excel stores 461 as 461.0), booleans become
    'true'/'false', dates at midnight become 'YYYY-MM-DD'.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(float(value))
    if isinstance(value, pd.Timestamp | dt.datetime):
        if pd.isna(value):
            return None
        midnight = value.hour == value.minute == value.second == value.microsecond == 0
        return value.strftime("%Y-%m-%d") if midnight else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return _cell_text(pd.Timestamp(value)) if not np.isnat(value) else None
    return str(value)


def _as_text(series: pd.Series) -> pd.Series:
    """A column as strings (missing stays missing), whatever its dtype (see _cell_text)."""
    dtype = series.dtype
    if pd.api.types.is_string_dtype(dtype) and not pd.api.types.is_object_dtype(dtype):
        return series
    if pd.api.types.is_bool_dtype(dtype) and not series.isna().any():
        return series.map({True: "true", False: "false"}).astype("str")
    if pd.api.types.is_integer_dtype(dtype):
        text = series.astype("Int64").astype("str")
        return text.mask(series.isna())
    if pd.api.types.is_float_dtype(dtype):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        return pd.Series([_cell_text(x) for x in numbers.tolist()], index=series.index, dtype="str")
    if pd.api.types.is_datetime64_any_dtype(dtype):
        moments = series.dt.tz_localize(None) if series.dt.tz is not None else series
        if (moments.dropna() == moments.dropna().dt.normalize()).all():
            return moments.dt.strftime("%Y-%m-%d").astype("str").mask(moments.isna())
    return pd.Series([_cell_text(v) for v in series.tolist()], index=series.index, dtype="str")


def read_table(path: str | Path, *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file with every column as strings (missing cells as NA).

    CSV must be UTF-8 (a byte-order mark is fine); the delimiter (',', ';' or tab) is taken
    from the header line. XLSX reads ``sheet`` (default: the first sheet) with
    python-calamine, after checking its declared size. Whole numbers lose a trailing '.0',
    booleans read 'true'/'false' and dates 'YYYY-MM-DD', so the same data reads the same
    from any of the three formats; a CSV value neutralised against formulas (a leading
    apostrophe, :mod:`stikprove.cells`) reads as written. Column names are stripped of
    spaces; blank lines are kept (as all-missing rows) so that row numbers match the file.
    Every bad file is refused with FrameError (:mod:`stikprove.tables`): a duplicated column
    name, a row with more fields than the header, an encoding error (naming the row), a
    damaged, password-protected or absurdly sized workbook.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        if path.is_dir():
            raise FrameError(f"cannot read {path}: a folder, not a file")
        raise MissingFrameError(f"cannot read {path}: no such file")
    if suffix in (".csv", ".txt"):
        table = read_csv_table(path, FrameError)
        return _table_frame(table, restore)
    if suffix in (".xlsx", ".xlsm"):
        return _table_frame(read_xlsx_table(path, FrameError, sheet=0 if sheet is None else sheet))
    if suffix in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except (ValueError, OSError, KeyError) as error:
            raise FrameError(f"cannot read {path} as Parquet: {error}") from None
        names = [str(c).strip() for c in df.columns]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise FrameError(f"{path}: column name(s) {', '.join(twice)} appear twice: "
                             "expected each column name once")  # fmt: skip
        df.columns = names
        return pd.DataFrame({c: _as_text(df[c]) for c in df.columns}, index=range(len(df)))
    kind = suffix or "(none)"
    raise FrameError(f"{path}: unknown file type {kind!r}: expected .csv, .xlsx or .parquet")


def _table_frame(table: Table, convert=None) -> pd.DataFrame:
    """A :class:`~stikprove.tables.Table` as a DataFrame of strings (see _cell_text);
    unnamed columns are called 'column N'."""
    names = [c or f"column {i}" for i, c in enumerate(table.columns, start=1)]
    columns: list[list[object]] = [[] for _ in names]
    for _, cells in table.rows:
        for j, value in enumerate(cells):
            columns[j].append(value)
    out = {}
    for name, values in zip(names, columns, strict=True):
        text = [_cell_text(v) for v in values]
        if convert is not None:
            text = [convert(v) for v in text]
        out[name] = pd.Series(text, dtype="str", index=range(len(table.rows)))
    return pd.DataFrame(out, index=range(len(table.rows)))


def frame_to_csv_text(frame: pd.DataFrame) -> str:
    """A canonical frame as CSV text: UTF-8, ``\\n`` line ends, years with one decimal,
    health_exempt as true/false, dates as YYYY-MM-DD, empty cells for missing."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if column == "years_on_benefit":
            out[column] = [None if pd.isna(v) else f"{v:.1f}" for v in series.tolist()]
        else:
            out[column] = _as_text(series)
    return pd.DataFrame(out).to_csv(index=False, lineterminator="\n")


# --------------------------------------------------------------------------------------------
# Validation


def _parse_int(text: str) -> int | None:
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _parse_float(text: str) -> float | None:
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d-%m-%Y", "%d.%m.%Y")


def _parse_date(text: str) -> dt.date | None:
    for fmt in _DATE_FORMATS:
        try:
            moment = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment.date() if moment.time() == dt.time(0) else None
    return None


def _columns_wanted(
    required_columns: Iterable[str] | None, allowed_values: Mapping[str, Collection[str]] | None
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    required = list(FRAME_COLUMNS if required_columns is None else required_columns)
    for column in (*ALWAYS_REQUIRED, *(allowed_values or {})):
        if column not in required:
            required.append(column)
    allowed = dict(ALLOWED_VALUES)
    for column, values in (allowed_values or {}).items():
        allowed[column] = tuple(str(v) for v in values)
    return required, allowed


def _check(
    df: pd.DataFrame,
    required_columns: Iterable[str] | None,
    allowed_values: Mapping[str, Collection[str]] | None,
) -> tuple[list[Problem], pd.DataFrame | None, dict[str, list[int]]]:
    """Problems, the canonical frame (None if there are problems) and the CPR-like columns."""
    if not isinstance(df, pd.DataFrame):
        raise FrameError(f"expected a pandas DataFrame or a file path, got {type(df).__name__}")
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    problems: list[Problem] = []
    duplicated = df.columns[df.columns.duplicated()].unique().tolist()
    for column in duplicated:
        problems.append(Problem(1, column, column, "each column name once in the header"))
    df = df.loc[:, ~df.columns.duplicated()]
    text = pd.DataFrame({c: _as_text(df[c]).str.strip() for c in df.columns}, index=df.index)
    text = text.mask(text.eq(""))
    rows = np.arange(len(text)) + 2  # the file's row numbers: header is row 1
    blank = text.isna().all(axis=1).to_numpy()

    found = cpr_columns(text)
    for column, positions in found.items():
        problems.append(
            Problem(
                None,
                column,
                f"{len(positions)} CPR-like value(s), not shown",
                "no CPR numbers in a frame: " + PSEUDONYMIZE_HINT.format(column=column),
            )
        )

    required, allowed = _columns_wanted(required_columns, allowed_values)
    present = list(text.columns)
    for column in required:
        if column not in present:
            problems.append(
                Problem(
                    None,
                    column,
                    "(no such column)",
                    f"a column named {column!r} (columns found: {', '.join(present) or 'none'})",
                )
            )

    if not (~blank).any():
        problems.append(Problem(None, None, "no data rows", "at least one case below the header"))

    canonical: dict[str, pd.Series] = {}
    keep = ~blank
    for column in present:
        values = text[column]
        if column in found:
            continue
        parsed, column_problems = _check_column(column, values, rows, keep, allowed)
        problems += column_problems
        canonical[column] = parsed

    if problems:
        problems.sort(key=lambda p: (p.row is not None, p.row or 0))
        return problems, None, found
    order = [c for c in FRAME_COLUMNS if c in canonical] + [
        c for c in present if c not in FRAME_COLUMNS
    ]
    frame = pd.DataFrame({c: canonical[c][keep] for c in order}).reset_index(drop=True)
    return [], frame, found


def _parse_each(items: list, parse) -> list:
    """``parse`` applied to each text value (once per distinct value); missing stays None."""
    table = {v: parse(v) for v in set(items) if isinstance(v, str)}
    return [table.get(v) if isinstance(v, str) else None for v in items]


def _check_column(
    column: str,
    values: pd.Series,
    rows: np.ndarray,
    keep: np.ndarray,
    allowed: dict[str, tuple[str, ...]],
) -> tuple[pd.Series, list[Problem]]:
    """Parse one column into its canonical dtype, listing each value that does not parse."""
    items = values.tolist()
    present = np.array([isinstance(v, str) for v in items], dtype=bool)

    def problems_where(invalid: np.ndarray, expected: str) -> list[Problem]:
        return [
            Problem(int(rows[i]), column, items[i] if present[i] else "", expected)
            for i in np.flatnonzero(invalid & keep)
        ]

    if column == "case_id":
        problems = problems_where(~present, "a non-empty case_id")
        malformed = _parse_each(items, identifier_problem)
        invalid = present & np.array([m is not None for m in malformed], dtype=bool)
        problems += problems_where(invalid, "a case_id of " + IDENTIFIER_EXPECTED)
        first_row: dict[str, int] = {}
        for i in np.flatnonzero(values.duplicated(keep=False).to_numpy() & present & keep):
            value = items[i]
            if value in first_row:
                expected = f"a unique case_id (the same case_id is in row {first_row[value]})"
                problems.append(Problem(int(rows[i]), column, value, expected))
            else:
                first_row[value] = int(rows[i])
        return values.astype("str"), problems

    if column == "kommune_code":
        codes = kommune_codes()
        out = _parse_each(items, _kommune_code)
        valid = np.array([c in codes for c in out], dtype=bool)
        problems = []
        for i in np.flatnonzero(~valid & keep):
            hint = " (411 Christiansø is not a kommune)" if out[i] == "411" else ""
            expected = f"one of the 98 official 3-digit kommune codes, e.g. '461' (Odense){hint}"
            value = items[i] if present[i] else ""
            problems.append(Problem(int(rows[i]), column, value, expected))
        return pd.Series(out, index=values.index, dtype="str"), problems

    if column in allowed:
        choices = allowed[column]
        by_fold = {c.casefold(): c for c in choices}
        out = _parse_each(items, lambda v: by_fold.get(v.casefold()))
        invalid = np.array([c is None for c in out], dtype=bool)
        problems = problems_where(invalid, "one of " + ", ".join(choices))
        return pd.Series(out, index=values.index, dtype="str"), problems

    if column == "age":
        low, high = AGE_RANGE
        ages = _parse_each(items, lambda v: _valid_or_none(_parse_int(v), low, high))
        invalid = np.array([a is None for a in ages], dtype=bool)
        problems = problems_where(invalid, f"an age in whole years from {low} to {high}")
        return pd.Series(pd.array(ages, dtype="Int64"), index=values.index), problems

    if column == "years_on_benefit":
        years = _parse_each(items, lambda v: _valid_or_none(_parse_float(v), 0, 90))
        invalid = present & np.array([y is None for y in years], dtype=bool)
        problems = problems_where(invalid, "a number of years from 0 to 90 (e.g. 2.5), or empty")
        out = [math.nan if y is None else y for y in years]
        return pd.Series(out, index=values.index, dtype=float), problems

    if column == "health_exempt":
        words = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
        flags = _parse_each(items, lambda v: words.get(v.casefold()))
        invalid = np.array([f is None for f in flags], dtype=bool)
        problems = problems_where(invalid, "true/false, 1/0 or ja/nej")
        return pd.Series([bool(f) for f in flags], index=values.index, dtype=bool), problems

    if column == "last_effort_date":
        dates = _parse_each(items, _parse_date)
        invalid = present & np.array([d is None for d in dates], dtype=bool)
        problems = problems_where(invalid, "a date YYYY-MM-DD (or DD-MM-YYYY), or empty")
        parsed = pd.to_datetime(pd.Series(dates, index=values.index, dtype=object))
        return parsed.astype("datetime64[ns]"), problems

    return values.astype("str"), []


def _kommune_code(text: str) -> str:
    """'461', '0461', '461.0' -> '461'; '47' -> '047'; anything else unchanged."""
    match = re.fullmatch(r"(\d+)(?:\.0+)?", text)
    return str(int(match.group(1))).zfill(3) if match else text


def _valid_or_none(number, low, high):
    """The number if it lies in [low, high], else None."""
    return number if number is not None and low <= number <= high else None


def validate_frame(
    df: pd.DataFrame,
    *,
    required_columns: Iterable[str] | None = None,
    allowed_values: Mapping[str, Collection[str]] | None = None,
) -> list[Problem]:
    """Every problem of a frame (an empty list if it is valid), without raising.

    ``required_columns`` replaces :data:`FRAME_COLUMNS` as the columns that must be present
    (case_id and kommune_code always are); ``allowed_values`` adds or overrides the allowed
    values of a column (such a column is then required too). Other columns pass as strings.
    Row numbers are as in a file: the header is row 1, the first data row is row 2. A
    CPR-like column is one problem, its values not shown.
    """
    problems, _, _ = _check(df, required_columns, allowed_values)
    return problems


def load_frame(
    source: str | Path | pd.DataFrame,
    *,
    required_columns: Iterable[str] | None = None,
    allowed_values: Mapping[str, Collection[str]] | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """Read (CSV, XLSX, Parquet or a DataFrame), validate and return a frame in canonical dtypes.

    Codes are strings (kommune_code 3-digit), age Int64, years_on_benefit float,
    health_exempt bool, last_effort_date datetime64 (NaT when missing); other columns are
    strings. Columns come in :data:`FRAME_COLUMNS` order, then any others; rows keep the
    file's order (blank rows are dropped). Raises PrivacyError if a column looks like CPR
    numbers, else FrameError listing every problem (at most 20 shown, with the total; the
    full list is on the error's ``problems`` attribute). See :func:`validate_frame` for
    ``required_columns`` and ``allowed_values``.
    """
    if isinstance(source, pd.DataFrame):
        name, df = "frame", source
    else:
        name, df = str(source), read_table(source, sheet=sheet)
    problems, frame, found = _check(df, required_columns, allowed_values)
    if found:
        raise PrivacyError(_cpr_message(name, found, df.columns))
    if problems or frame is None:
        error = FrameError(format_problems(f"{name}: not a valid frame", problems))
        error.problems = problems  # type: ignore[attr-defined]
        raise error
    return frame


# --------------------------------------------------------------------------------------------
# Fingerprint


def _fingerprint_values(series: pd.Series) -> pd.Series:
    """One column as JSON texts of a canonical form: true/false, integers, floats (shortest
    repr), dates as "YYYY-MM-DD", strings; null for missing."""
    dtype = series.dtype
    missing = series.isna().to_numpy()
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        values = series.astype(object).tolist()
    elif pd.api.types.is_float_dtype(dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan).tolist()
    else:
        values = _as_text(series).astype(object).tolist()
    values = [None if m else v for v, m in zip(values, missing, strict=True)]
    encoded = {v: json.dumps(v, ensure_ascii=False) for v in set(values)}
    return pd.Series([encoded[v] for v in values], dtype="str")


def frame_fingerprint(df: pd.DataFrame) -> str:
    """SHA-256 (hex) of a canonical form of a frame, independent of row and column order.

    Pass the frame as :func:`load_frame` returns it: then the same data read from CSV, XLSX
    or Parquet gives the same fingerprint. Each row is written as a JSON list of its values
    (columns in name order; booleans, integers, floats, dates as "YYYY-MM-DD", strings,
    null for missing), the rows are sorted, and the column names and the rows are hashed.
    """
    columns = sorted(str(c) for c in df.columns)
    by_name = {str(c): df[c] for c in df.columns}
    digest = hashlib.sha256()
    digest.update(json.dumps(["stikprove-frame-v1", columns], ensure_ascii=False).encode())
    if columns and len(df):
        encoded = [_fingerprint_values(by_name[c]) for c in columns]
        rows = encoded[0].str.cat(encoded[1:], sep=",") if len(encoded) > 1 else encoded[0]
        for row in sorted(rows.tolist()):
            digest.update(b"\n[" + row.encode("utf-8") + b"]")
    return digest.hexdigest()
