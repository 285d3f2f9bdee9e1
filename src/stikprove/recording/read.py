"""Reading filled worklists: the cases sheet of an .xlsx file, or a CSV file, as rows of
cells keyed by column name.

Both are read strictly by :mod:`stikprove.tables`: an xlsx by python-calamine (a reader
built and fuzzed for untrusted spreadsheets) after its declared size is checked against
the study's size, a CSV with each bad row named. A CSV value the package neutralised
against formulas (a leading apostrophe, :mod:`stikprove.cells`) reads as it was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stikprove.cells import restore
from stikprove.errors import StoreError
from stikprove.files import CASES_SHEET
from stikprove.tables import MAX_ROWS, read_csv_table, read_xlsx_table


@dataclass(frozen=True)
class Rows:
    """Rows read from a file: (row number as the user sees it, {column: cell}) each."""

    columns: tuple[str, ...]
    rows: list[tuple[int, dict[str, object]]]
    sheet: str | None


def read_rows(path: str | Path, max_rows: int = MAX_ROWS) -> Rows:
    """Read a filled worklist (.xlsx sheet 'Sager', else its first sheet; or .csv with
    , ; or tab). An xlsx using more than ``max_rows`` rows is refused before it is read
    (the import passes the study's size). Raises StoreError naming the file (and row and
    column where there is one) on a bad file."""
    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise StoreError(f"worklist file {path} {what}")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            table = read_xlsx_table(path, StoreError, prefer=CASES_SHEET, max_rows=max_rows)
            convert = None
        elif suffix in (".csv", ".txt", ".tsv"):
            table = read_csv_table(path, StoreError)
            convert = restore
        else:
            raise StoreError(f"worklist file {path}: expected a .xlsx or .csv file, got "
                             f"{suffix!r}")  # fmt: skip
    except StoreError as error:
        raise StoreError(f"{error} (nothing imported)") from None
    rows = []
    for number, cells in table.rows:
        values = cells if convert is None else [convert(v) for v in cells]
        rows.append((number, dict(zip(table.columns, values, strict=True))))
    return Rows(table.columns, rows, table.sheet)
