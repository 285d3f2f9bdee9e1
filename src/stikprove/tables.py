"""Reading tables that come from outside (a register extract, a filled worklist) strictly:
every bad file is refused with one clear message naming the file (and row and column where
there is one), never a traceback and never a silently changed table.

- **CSV**: UTF-8 (a byte-order mark is fine; another encoding is refused naming the row of
  the first bad byte); the delimiter is the one the header line holds most (',', ';' or
  tab); a duplicated column name is refused (pandas would rename it ``sex.1``), and so is a
  row with more fields than the header unless the extra fields are empty (an unquoted comma
  in a note would otherwise cut it short).
- **XLSX**: parsed by python-calamine (Rust's calamine), a reader built and fuzzed for
  untrusted spreadsheets, after :func:`check_xlsx_bounds` has checked the package's
  declared sizes and the row and column numbers its sheets use, so that a file declaring a
  cell at row 50,000,000 is refused in milliseconds instead of filling the memory. A
  password-protected, truncated, corrupt or empty workbook is refused with what to do.

The bounds check is written by hand: calamine allocates a sheet's whole declared area
before returning any cell and has no option to stop early.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from stikprove.cpr import contains_cpr
from stikprove.errors import StikproveError
from stikprove.files import sniff_delimiter

MAX_XLSX_BYTES = 512 * 1024 * 1024
"""Largest uncompressed size of an xlsx package accepted (its parts' declared sizes)."""
MAX_COLUMNS = 256
"""Most columns a sheet may use (a frame has 9, a worklist about 20)."""
MAX_ROWS = 1_048_576
"""Most rows a sheet may use (Excel's own limit)."""
SPARSE_SLACK = 1000
"""A sheet may use row numbers up to twice its rows plus this many: honest sheets are
dense, a lying one (one cell far down) is not."""

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# In a sheet's XML only <row> and <c> elements carry an attribute named r: a row's is its
# number, a cell's its reference (letters, then the row). Patterns that begin with a literal
# are found fast: a sheet of 30,000 cells is scanned in about 20 ms.
_ROW_REF = re.compile(rb'\sr="(\d+)"')
_CELL_ROW = re.compile(rb'\sr="[A-Z]+(\d+)"')
_WIDE_CELL = re.compile(rb'\sr="([A-Z]{3,}|I[W-Z]|[J-Z][A-Z])\d')
"""A cell beyond column IV (256, :data:`MAX_COLUMNS`): three letters, or IW to ZZ."""
_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
_UNSAVED_FORMULA = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>)?\s*</(?:\w+:)?c>"
)
"""A formula element that ends its cell, or is followed only by an empty ``<v/>`` (as
openpyxl writes a formula): the formula has no saved value. (Excel saves an empty text
result as ``<v></v>``, which is a saved value.)"""
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\sr="([A-Z]+\d+)"')
_DIMENSION = re.compile(rb'dimension\s+ref="[A-Z]*\d*:?([A-Z]*)(\d*)"')


@dataclass(frozen=True)
class Table:
    """A table as read: the header's column names and each data row as (row number as the
    user sees it, the header row being 1; its cells, one per column, None when empty)."""

    columns: tuple[str, ...]
    rows: list[tuple[int, list[object]]]
    sheet: str | None = None


def _header(path: Path, names: list[object], error: type[StikproveError]) -> tuple[str, ...]:
    """The stripped column names; refuses a duplicated or CPR-like one."""
    columns = tuple("" if n is None else str(n).strip() for n in names)
    seen: dict[str, int] = {}
    for position, name in enumerate(columns, start=1):
        if contains_cpr(name):
            raise error(
                f"{path}: row 1, column {position}: the column name looks like a CPR "
                "number (not shown): expected a column name"
            )
        if name and name in seen:
            raise error(
                f"{path}: row 1: the column name {name!r} appears twice (columns "
                f"{seen[name]} and {position}): expected each column name once"
            )
        seen.setdefault(name, position)
    return columns


def read_csv_table(path: str | Path, error: type[StikproveError]) -> Table:
    """Read a CSV file strictly (see the module docstring); raises ``error`` on bad input."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as problem:
        raise error(f"cannot read {path}: {problem.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        row = data[: problem.start].count(b"\n") + 1
        raise error(
            f"{path}: row {row}: got the byte 0x{data[problem.start]:02x}, which is not "
            "UTF-8 (likely æ, ø or å saved by Excel as 'CSV (semikolonsepareret)'); "
            "expected a UTF-8 CSV file: in Excel save it as 'CSV UTF-8 (kommasepareret)'"
        ) from None
    if not text.strip():
        raise error(f"{path}: the file is empty: expected a header row and data")
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        columns = _header(path, next(reader), error)
        width = len(columns)
        rows: list[tuple[int, list[object]]] = []
        for values in reader:
            number = reader.line_num
            if len(values) > width and any(v.strip() for v in values[width:]):
                raise error(
                    f"{path}: row {number}: {len(values)} fields, but the header has "
                    f"{width}: expected at most {width} (quote a value that holds the "
                    f"delimiter {delimiter!r})"
                )
            cells = [v if v != "" else None for v in values[:width]]
            rows.append((number, cells + [None] * (width - len(cells))))
    except csv.Error as problem:
        raise error(f"{path}: row {reader.line_num}: not valid CSV: {problem}") from None
    return Table(columns, rows)


def check_xlsx_bounds(path: Path, error: type[StikproveError], max_rows: int = MAX_ROWS) -> None:
    """Refuse an xlsx package before parsing it: not a zip (an old .xls or a
    password-protected workbook, which Excel encrypts into an OLE file), a truncated or
    corrupt zip, parts larger than :data:`MAX_XLSX_BYTES` unpacked, or a sheet using a row
    beyond ``max_rows``, a column beyond :data:`MAX_COLUMNS`, or row numbers far beyond the
    rows it holds."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as problem:
        raise error(f"cannot read {path}: {problem.strerror}") from None
    if not head:
        raise error(f"{path}: the file is empty: expected an Excel workbook (.xlsx)")
    if head == _OLE_MAGIC:
        raise error(
            f"{path}: a password-protected workbook or an old .xls file: expected an .xlsx "
            "workbook without a password (in Excel: File > Info > Protect Workbook > "
            "remove the password, then save as .xlsx)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            if sum(p.file_size for p in parts) > MAX_XLSX_BYTES:
                raise error(
                    f"{path}: the workbook unpacks to more than "
                    f"{MAX_XLSX_BYTES // 2**20} MB: expected a worklist or frame"
                )
            for part in parts:
                if part.filename.startswith("xl/worksheets/") and part.filename.endswith(".xml"):
                    _check_sheet_bounds(path, archive, part, error, max_rows)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as problem:
        raise error(
            f"{path}: not a readable Excel workbook (truncated or damaged: {problem}): "
            "expected an .xlsx file as Excel saves it"
        ) from None


def _check_sheet_bounds(
    path: Path, archive: zipfile.ZipFile, part: zipfile.ZipInfo, error, max_rows: int
) -> None:
    """Scan one sheet's XML in chunks for the row and column numbers it uses, and for a
    formula without a saved value (python-calamine would read it as an empty cell)."""
    top_row = top_column = rows = 0
    tail = b""
    sheet = part.filename.rsplit("/", 1)[-1]
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            data = tail + chunk
            cut = _cut(data)
            body, tail = data[:cut], data[cut:]
            top_row, top_column, rows = _scan(body, top_row, top_column, rows)
            _check_formulas(path, sheet, body, error)
        top_row, top_column, rows = _scan(tail, top_row, top_column, rows)
        _check_formulas(path, sheet, tail, error)
    if top_row > max_rows or top_row > 2 * rows + SPARSE_SLACK:
        raise error(
            f"{path}: sheet file {sheet} uses row {top_row:,} but holds {rows:,} row(s): "
            f"expected at most {min(max_rows, 2 * rows + SPARSE_SLACK):,} rows (delete the "
            "empty rows below the data, or copy the data into a new workbook)"
        )
    if top_column > MAX_COLUMNS:
        raise error(
            f"{path}: sheet file {sheet} uses column {top_column:,}: expected at most "
            f"{MAX_COLUMNS} columns"
        )


def _cut(data: bytes) -> int:
    """Where to cut a chunk of sheet XML: before its last cell, so that a cell (and an
    element) cut in two waits whole for the next chunk."""
    cut = max(data.rfind(b"<c "), data.rfind(b"<c>"))
    prefixed = data.rfind(b":c ")  # <x:c r=...>
    if prefixed > cut:
        cut = data.rfind(b"<", 0, prefixed)
    return cut if cut > 0 else max(0, data.rfind(b"<"))


def _check_formulas(path: Path, sheet: str, body: bytes, error) -> None:
    """Refuse a formula without a saved value: a spreadsheet program stores each formula's
    value, a script writing xlsx may not, and the cell would read as empty (a note typed as
    ``=HYPERLINK(...)`` lost without a word). The formula is not shown."""
    found = _UNSAVED_FORMULA.search(body)
    if found is None:
        return
    refs = _CELL_REF.findall(body, 0, found.start())
    cell = f", cell {refs[-1].decode()}" if refs else ""
    raise error(
        f"{path}: sheet file {sheet}{cell}: a formula without a saved value (not shown), "
        "which would read as an empty cell: expected values; open the workbook in Excel and "
        "save it, or copy the cells and paste them as values"
    )


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _scan(body: bytes, top_row: int, top_column: int, rows: int) -> tuple[int, int, int]:
    """Rows, the highest row and (beyond :data:`MAX_COLUMNS` only) column a chunk uses;
    findall and max over C-level maps, so a sheet of 100,000 cells takes milliseconds."""
    rows += len(_ROW_TAG.findall(body))
    top_row = max(top_row, max(map(int, _ROW_REF.findall(body)), default=0))
    top_row = max(top_row, max(map(int, _CELL_ROW.findall(body)), default=0))
    wide = _WIDE_CELL.search(body)
    if wide:
        top_column = max(top_column, _column_number(wide[1]))
    for match in _DIMENSION.finditer(body):
        if match[1]:
            top_column = max(top_column, _column_number(match[1]))
        if match[2]:
            top_row = max(top_row, int(match[2]))
    return top_row, top_column, rows


def read_xlsx_table(
    path: str | Path,
    error: type[StikproveError],
    *,
    sheet: str | int | None = None,
    prefer: str | None = None,
    max_rows: int = MAX_ROWS,
) -> Table:
    """Read one sheet of an xlsx workbook strictly: ``sheet`` (a name or 0-based index),
    else the sheet named ``prefer`` if there is one, else the first. Cells come as
    python-calamine gives them (text, float, bool, date or datetime; a formula as its
    cached value); empty cells as None. Raises ``error`` on a bad file (see
    :func:`check_xlsx_bounds`, also given ``max_rows``)."""
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError

    path = Path(path)
    check_xlsx_bounds(path, error, max_rows)
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = book.sheet_names
        if not names:
            raise error(f"{path}: the workbook has no sheets: expected a sheet with a header row")
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise error(
                    f"{path}: no sheet number {sheet}: the workbook has {len(names)} sheet(s)"
                )
            name = names[sheet]
        elif sheet is not None:
            if sheet not in names:
                raise error(
                    f"{path}: no sheet named {sheet!r}: expected one of {', '.join(names)}"
                )
            name = sheet
        else:
            name = prefer if prefer in names else names[0]
        values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except StikproveError:
        raise
    except PasswordError:
        raise error(f"{path}: the workbook is password-protected: remove the password") from None
    except (CalamineError, ValueError, OSError) as problem:
        raise error(
            f"{path}: not a readable Excel workbook ({type(problem).__name__}: {problem}): "
            "expected an .xlsx file as Excel saves it"
        ) from None
    if not values or not any(v != "" for v in values[0]):
        raise error(f"{path}: sheet {name!r} is empty: expected a header row and data")
    columns = _header(path, values[0], error)
    width = len(columns)
    while width and columns[width - 1] == "":
        width -= 1
    rows: list[tuple[int, list[object]]] = []
    for number, row in enumerate(values[1:], start=2):
        if any(v != "" for v in row[width:]):
            column = next(i for i, v in enumerate(row) if i >= width and v != "") + 1
            raise error(
                f"{path}: sheet {name!r}, row {number}, column {column}: a value beyond the "
                f"header's {width} columns: expected every value under a column name"
            )
        rows.append((number, [None if v == "" else v for v in row[:width]]))
    return Table(columns[:width], rows, name)
