"""Reading filled worklists: the cases sheet of an .xlsx file, or a CSV file, as rows of
text cells keyed by column name."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

from stikprove.errors import StoreError
from stikprove.files import CASES_SHEET, sniff_delimiter

# --------------------------------------------------------------------------------------
# reading worklists


@dataclass(frozen=True)
class Rows:
    """Rows read from a file: (row number as the user sees it, {column: cell}) each."""

    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, object]]]
    sheet: str | None


def read_rows(path: str | Path) -> Rows:
    """Read a filled worklist (.xlsx sheet 'Sager', or .csv with , ; or tab)."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"worklist file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _read_csv(path)
    raise StoreError(f"worklist file {path}: expected a .xlsx or .csv file, got {suffix!r}")


def _read_xlsx(path: Path) -> Rows:
    """The worklist sheet of an xlsx file: streamed straight from its XML
    (:func:`_read_xlsx_sheet`, about ten times faster than openpyxl's reader), or with
    openpyxl when the file uses something that reader leaves to openpyxl."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return _read_xlsx_sheet(archive)
    except _LeaveToOpenpyxl:
        return _read_xlsx_openpyxl(path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ElementTree.ParseError) as error:
        raise StoreError(f"cannot read {path} as an Excel workbook: {error}") from None


class _LeaveToOpenpyxl(Exception):
    """The fast reader met a part it does not handle; openpyxl reads the file instead."""


_XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def _xlsx_text(element: ElementTree.Element, ns: str) -> str:
    """The text of a shared or inline string (plain ``<t>`` or rich-text runs; phonetic
    ``<rPh>`` runs left out)."""
    plain = element.find(f"{{{ns}}}t")
    if plain is not None:
        return plain.text or ""
    return "".join(t.text or "" for t in element.findall(f"{{{ns}}}r/{{{ns}}}t"))


def _read_xlsx_sheet(archive) -> Rows:
    """Read sheet 'Sager' (else the first sheet) of an open xlsx zip, as openpyxl's
    ``load_workbook(read_only=True, data_only=True)`` + ``iter_rows(values_only=True)``
    gives it: shared and inline strings as str, numbers as int or float (text cells stay
    text), booleans, a number in a date format as a datetime (1900 or 1904 calendar),
    formula cells as their cached value."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    names = set(archive.namelist())
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    if not book.tag.startswith(f"{{{_XLSX_MAIN}}}"):
        raise _LeaveToOpenpyxl  # e.g. Strict Open XML
    ns = _XLSX_MAIN
    props = book.find(f"{{{ns}}}workbookPr")
    epoch = CALENDAR_WINDOWS_1900
    if props is not None and props.get("date1904") in ("1", "true"):
        epoch = CALENDAR_MAC_1904
    sheets = [(s.get("name"), s.get(f"{{{_XLSX_REL}}}id"))
              for s in book.iter(f"{{{ns}}}sheet")]  # fmt: skip
    if not sheets:
        raise _LeaveToOpenpyxl
    title, rel_id = next((s for s in sheets if s[0] == CASES_SHEET), sheets[0])
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{_PKG_REL}}}Relationship")}
    target = targets.get(rel_id)
    if target is None:
        raise _LeaveToOpenpyxl
    sheet_path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    if sheet_path not in names:
        raise _LeaveToOpenpyxl
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        root = ElementTree.fromstring(archive.read("xl/sharedStrings.xml"))
        shared = [_xlsx_text(si, ns) for si in root.iter(f"{{{ns}}}si")]
    date_styles: set[int] = set()
    if "xl/styles.xml" in names:
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
        formats = dict(BUILTIN_FORMATS)
        for fmt in styles.iter(f"{{{ns}}}numFmt"):
            formats[int(fmt.get("numFmtId"))] = fmt.get("formatCode") or ""
        xfs = styles.find(f"{{{ns}}}cellXfs")
        for i, xf in enumerate(xfs if xfs is not None else ()):
            if is_date_format(formats.get(int(xf.get("numFmtId") or 0), "")):
                date_styles.add(i)

    rows_by_number = _parse_sheet_data(archive.read(sheet_path), ns, shared, date_styles, epoch)
    header = rows_by_number.pop(1, {})
    width = max(header, default=0)
    columns = tuple(
        "" if header.get(i) is None else str(header[i]).strip() for i in range(1, width + 1)
    )
    rows = []
    for number in range(2, max(rows_by_number, default=1) + 1):
        cells = rows_by_number.get(number, {})
        rows.append((number, {c: cells.get(i) for i, c in enumerate(columns, start=1)}))
    return Rows(columns, rows, title)


def _excel_number(text: str, style: str | None, date_styles: set[int], epoch) -> object:
    """A numeric cell as openpyxl gives it: int or float, or a datetime in a date format."""
    from openpyxl.utils.datetime import from_excel

    number: float | int = float(text) if any(c in text for c in ".eE") else int(text)
    if date_styles and int(style or 0) in date_styles:
        return from_excel(number, epoch)
    return number


def _parse_sheet_data(
    xml: bytes, ns: str, shared: list[str], date_styles: set[int], epoch
) -> dict[int, dict[int, object]]:
    """Row number -> {column index: value} of a worksheet's XML, parsed with ElementTree."""
    from openpyxl.utils.cell import column_index_from_string

    v_tag, is_tag, t_tag = f"{{{ns}}}v", f"{{{ns}}}is", f"{{{ns}}}t"

    def value_of(cell: ElementTree.Element, kind: str) -> object:
        if kind == "inlineStr":
            inline = cell.find(is_tag)
            if inline is None:
                return None
            plain = inline.find(t_tag)
            return (plain.text or "") if plain is not None else _xlsx_text(inline, ns)
        text = cell.findtext(v_tag)
        if not text:  # no value, or a formula without a cached result
            return None
        if kind == "s":
            return shared[int(text)]
        if kind in ("str", "e"):
            return text
        if kind == "b":
            return text.strip() in ("1", "true")
        if kind == "d":
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                return text
        return _excel_number(text, cell.get("s"), date_styles, epoch)

    rows_by_number: dict[int, dict[int, object]] = {}
    columns_of: dict[str, int] = {}  # column letters -> 1-based index
    digits = "0123456789"

    sheet = ElementTree.fromstring(xml)
    data = sheet.find(f"{{{ns}}}sheetData")
    last_row = 0
    for element in data if data is not None else ():
        number = int(element.get("r") or last_row + 1)
        last_row = number
        cells: dict[int, object] = {}
        column = 0
        for cell in element:
            ref = cell.get("r")
            if ref:
                letters = ref.rstrip(digits)
                column = columns_of.get(letters) or columns_of.setdefault(
                    letters, column_index_from_string(letters)
                )
            else:
                column += 1
            kind = cell.get("t", "n")
            if kind == "s":
                text = cell.findtext(v_tag)
                value = shared[int(text)] if text else None
            else:
                value = value_of(cell, kind)
            if value is not None:
                cells[column] = value
        rows_by_number[number] = cells
    return rows_by_number


def _read_xlsx_openpyxl(path: Path) -> Rows:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise StoreError(f"cannot read {path} as an Excel workbook: {error}") from None
    except Exception as error:  # zipfile.BadZipFile and friends
        raise StoreError(f"cannot read {path} as an Excel workbook: {error}") from None
    try:
        sheet = wb[CASES_SHEET] if CASES_SHEET in wb.sheetnames else wb.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        header = next(it, ())
        columns = tuple("" if h is None else str(h).strip() for h in header)
        rows = []
        for number, values in enumerate(it, start=2):
            rows.append((number, dict(zip(columns, values, strict=False))))
        return Rows(columns, rows, sheet.title)
    finally:
        wb.close()


def _read_csv(path: Path) -> Rows:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # Excel's plain "CSV (semikolonsepareret)" is Windows-1252: say where and what to do
        row = data[: error.start].count(b"\n") + 1
        raise StoreError(
            f"{path}: row {row}: got the byte 0x{data[error.start]:02x}, which is not UTF-8 "
            "(likely æ, ø or å saved by Excel as 'CSV (semikolonsepareret)'); expected a "
            "UTF-8 CSV file: in Excel save it as 'CSV UTF-8 (kommasepareret)', or import the "
            ".xlsx worklist itself (nothing imported)"
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    columns = tuple(h.strip() for h in header)
    rows = [(n, dict(zip(columns, values, strict=False))) for n, values in enumerate(reader, 2)]
    return Rows(columns, rows, None)
