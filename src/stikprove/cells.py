"""What may go into a spreadsheet or CSV cell, and what may be an identifier.

**No live formulas.** A spreadsheet program runs a cell that begins with ``=``, ``+``,
``-`` or ``@`` as a formula (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``), and a leading tab
or carriage return can hide such a start (OWASP, "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection). Every cell stikprove writes goes
through this module:

- in an **xlsx** file a text value is stored as a text cell (openpyxl would otherwise turn
  a string beginning with ``=`` into a formula) with Excel's *quote prefix* set, so that
  editing the cell keeps it text; the value itself is unchanged;
- in a **CSV** file a text value that begins with one of those characters gets a leading
  apostrophe (OWASP's advice), which :func:`restore` removes again on import. Values that
  already begin with apostrophes before such a character get one more, so the escaping is
  reversible: ``restore(neutralize(s)) == s`` for every string. A plain number such as
  ``-2.5`` is not a formula and is left as it is.

Only the package's own formulas (the drop-down lists of a worklist) are written as formulas,
through openpyxl's data validations, never through a cell value.

**Identifiers** (case ids, reviewer names, study ids) are bounded and printable: at most
:data:`IDENTIFIER_MAX_LENGTH` characters of letters, digits, space, ``_``, ``.`` and ``-``,
beginning with a letter or a digit, in Unicode NFC form. Nothing else reaches a terminal or
a sheet as an escape sequence or a formula from an identifier.

Written by hand: the rules are a few lines, and no maintained library applies OWASP's
advice to both pandas' CSV writer and openpyxl.

>>> neutralize("=HYPERLINK(1)"), restore("'=HYPERLINK(1)"), neutralize("-2.5")
("'=HYPERLINK(1)", '=HYPERLINK(1)', '-2.5')
>>> identifier_problem("Anna Hansen") is None, identifier_problem("=1+1") is not None
(True, True)
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""The characters that make a spreadsheet program read a cell as a formula (OWASP)."""

ESCAPE = "'"
"""Put before a CSV value that begins with one of :data:`FORMULA_STARTS`."""

IDENTIFIER_MAX_LENGTH = 64
"""Longest identifier (case id, reviewer name, study id) accepted."""

IDENTIFIER_EXPECTED = (
    f"at most {IDENTIFIER_MAX_LENGTH} letters, digits, spaces, '_', '.' or '-', beginning "
    "with a letter or a digit"
)
"""How a message says what an identifier may hold."""

_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters an xlsx file cannot hold (openpyxl refuses them)."""
_IDENTIFIER_PUNCTUATION = frozenset(" _.-")


def _dangerous(text: str) -> bool:
    """Does ``text`` (apostrophes stripped from its start) begin like a formula?"""
    rest = text.lstrip(ESCAPE)
    return rest.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(rest)


def neutralize(value: object) -> object:
    """A value as a CSV cell may hold it: text beginning like a formula gets a leading
    apostrophe; other values (numbers, missing values, other text) are returned unchanged."""
    if isinstance(value, str) and value and _dangerous(value):
        return ESCAPE + value
    return value


def restore(value: object) -> object:
    """The inverse of :func:`neutralize`, applied to every CSV cell read back in."""
    if isinstance(value, str) and value.startswith(ESCAPE) and _dangerous(value):
        return value[1:]
    return value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell neutralised (see :func:`neutralize`), header included;
    numeric columns are left as they are."""
    out = df.copy()
    out.columns = [neutralize(str(c)) for c in df.columns]
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(
            series.dtype
        ):
            out.isetitem(position, series.map(neutralize, na_action="ignore").astype(object))
    return out


def write_csv(df: pd.DataFrame, path, *, encoding: str = "utf-8", **options) -> None:
    """Write ``df`` as CSV (no index) with every text cell neutralised. Lines end in CRLF
    (RFC 4180): with a bare ``\\n`` Python's csv writer leaves a carriage return inside a
    value unquoted, and a reader would split the row there. ``path`` may be a temporary file
    that an atomic writer then renames."""
    options.setdefault("lineterminator", "\r\n")
    csv_safe(df).to_csv(path, index=False, encoding=encoding, **options)


def xlsx_value(value: object) -> object:
    """A value as an xlsx cell may hold it: missing values become None, control characters
    an xlsx cannot hold become U+FFFD and a carriage return a line feed (XML reads one as
    the other anyway); the value is otherwise unchanged (see :func:`set_cell`, which keeps
    text as text)."""
    if value is None:
        return None
    if not isinstance(value, str | bytes) and pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, str):
        return _ILLEGAL.sub("\ufffd", value.replace("\r\n", "\n").replace("\r", "\n"))
    return value


def set_cell(cell, value: object) -> None:
    """Put ``value`` into an openpyxl cell, text always as text (never a formula)."""
    cell.value = xlsx_value(value)
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if _dangerous(cell.value):
            cell.quotePrefix = True


def append_row(sheet, values: Iterable[object]) -> None:
    """Append one row to an openpyxl worksheet, every text cell as text."""
    values = list(values)
    sheet.append([xlsx_value(v) for v in values])
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            set_cell(sheet.cell(row=row, column=column), value)


def write_sheet(sheet, df: pd.DataFrame, *, header: bool = True) -> None:
    """Append ``df`` (its header first, unless ``header`` is False) to an openpyxl worksheet,
    every text cell as text."""
    if header:
        append_row(sheet, [str(c) for c in df.columns])
    for record in df.itertuples(index=False):
        append_row(sheet, record)


def write_xlsx(df: pd.DataFrame, path, *, sheet_name: str = "Sheet1") -> None:
    """Write ``df`` as a one-sheet xlsx workbook with every text cell as text. ``path`` may
    be a temporary file that an atomic writer then renames."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name
    write_sheet(sheet, df)
    save_workbook(book, path)


def save_workbook(book, path) -> None:
    """Save an openpyxl workbook to ``path`` through memory. openpyxl writes its zip straight
    into the file; when a write fails (a full disk), the half-written zip's finaliser fails
    once more and prints a second traceback ("Exception ignored in ...") after stikprove's
    one-line message. A worklist or a table is small, so it is built in memory first."""
    buffer = io.BytesIO()
    book.save(buffer)
    with open(path, "wb") as handle:
        handle.write(buffer.getbuffer())


def normalize_identifier(value: str) -> str:
    """An identifier in the form it is stored and compared in: NFC, outer spaces removed."""
    return unicodedata.normalize("NFC", value).strip()


def identifier_key(value: str) -> str:
    """The form two identifiers are compared in: NFC and case-folded, so ``anna``, ``Anna``
    and an NFD-encoded ``Anna`` are one name."""
    return unicodedata.normalize("NFC", normalize_identifier(value).casefold())


def identifier_problem(value: object) -> str | None:
    """None if ``value`` is an acceptable identifier (after :func:`normalize_identifier`),
    else what was expected (:data:`IDENTIFIER_EXPECTED`)."""
    if not isinstance(value, str):
        return IDENTIFIER_EXPECTED
    text = normalize_identifier(value)
    if not text or len(text) > IDENTIFIER_MAX_LENGTH or not text[0].isalnum():
        return IDENTIFIER_EXPECTED
    for char in text:
        if char in _IDENTIFIER_PUNCTUATION:
            continue
        if unicodedata.category(char)[0] not in "LN" or unicodedata.category(char) == "No":
            return IDENTIFIER_EXPECTED
    return None
