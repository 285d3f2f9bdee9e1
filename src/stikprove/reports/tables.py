"""Result tables as people open them: xlsx, a Danish CSV dialect, and HTML via great_tables.

- ``xlsx``: headers in the report language, proportions as numbers with a percent format
  (Excel sorts and charts them as numbers), counts as whole numbers, suppressed cells empty;
  text cells are always stored as text, so nothing can run as a formula (OWASP CSV
  injection).
- ``csv-da``: the dialect Danish Excel reads without an import wizard: ``;`` between fields,
  a decimal comma, UTF-8 with a byte-order mark (so æ, ø, å survive), Danish headers.
- ``csv``: plain CSV (``,`` and ``.``) with the column names, for programs.
- HTML: :func:`gt_table` builds a great_tables table (percent formats, footnotes for the
  disclosure codes), which writes self-contained HTML.

Every table passes :mod:`stikprove.release.disclosure` before it comes here; a raw table
carries the "not for publication" mark (:func:`~stikprove.release.disclosure.mark_raw`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.cells import append_row, csv_safe, save_workbook, set_cell
from stikprove.release.disclosure import DisclosureError
from stikprove.reports.text import column_label, disclosure_notes

FORMATS = ("csv", "csv-da", "xlsx")

PERCENT_COLUMNS = ("estimate", "ci_low", "ci_high", "estimate_missing_as_0",
                   "estimate_missing_as_1", "sampling_fraction", "share_done",
                   "estimate_first", "estimate_second", "ci_low_first", "ci_high_first",
                   "ci_low_second", "ci_high_second", "difference", "ci_low_difference",
                   "ci_high_difference", "national_rate", "half_width_all",
                   "half_width_widest", "expected_half_width", "nchs_width", "direct",
                   "direct_ci_low", "direct_ci_high", "model_estimate", "model_ci_low",
                   "model_ci_high")  # fmt: skip
"""Columns holding proportions: shown as percentages."""



def percent_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c in PERCENT_COLUMNS]


def _headers(table: pd.DataFrame, language: str) -> list[str]:
    return [column_label(str(c), language) for c in table.columns]


def readable_notes(table: pd.DataFrame, language: str, threshold: int = 5) -> pd.DataFrame:
    """The table with its ``disclosure`` codes ("nchs_width") as the notes a reader
    understands, in ``language`` (for xlsx and csv-da; plain csv keeps the codes)."""
    if "disclosure" not in table.columns:
        return table
    out = table.copy()
    out["disclosure"] = [
        " ".join(disclosure_notes(codes, language, threshold)) or None
        for codes in out["disclosure"].fillna("")
    ]
    return out


def danish_csv_text(table: pd.DataFrame, language: str = "da", threshold: int = 5) -> str:
    """The table as Danish CSV: ``;``, decimal comma, headers and notes in ``language``.

    >>> print(danish_csv_text(pd.DataFrame({"n": [12], "estimate": [0.125]})), end="")
    Vurderede personer (n);Andel
    12;0,125
    """
    # numbers held in object columns (a row masked by disclosure control) are numbers too:
    # to_csv writes the decimal comma only in numeric columns
    out = csv_safe(readable_notes(table, language, threshold).infer_objects())
    out.columns = _headers(table, language)
    return out.to_csv(index=False, sep=";", decimal=",", lineterminator="\n")


def plain_csv_text(table: pd.DataFrame) -> str:
    return csv_safe(table).to_csv(index=False, lineterminator="\n")


def _write_xlsx(
    table: pd.DataFrame, path: str, language: str, title: str | None, threshold: int
) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (title or "Resultater")[:31]
    append_row(sheet, _headers(table, language))  # a header is text too, never a formula
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    percent = set(percent_columns(table))
    table = readable_notes(table, language, threshold)
    for r, record in enumerate(table.itertuples(index=False), start=2):
        for c, (name, value) in enumerate(zip(table.columns, record, strict=True), start=1):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, str):
                set_cell(cell, value)  # text stays text: never a formula
            elif isinstance(value, bool):
                cell.value = value
            else:
                cell.value = float(value) if name in percent else value
                if name in percent:
                    cell.number_format = "0.0%"
                elif (
                    float(value).is_integer() and str(name) in ("n", "df", "df_difference")
                ) or str(name).startswith(("n_", "population_size", "sample_size")):
                    cell.number_format = "0"
                else:
                    cell.number_format = "0.000"
    for c, name in enumerate(table.columns, start=1):
        width = max(10, min(40, len(column_label(str(name), language)) + 2))
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.freeze_panes = "A2"
    save_workbook(workbook, path)


def write_table(
    table: pd.DataFrame,
    path: str | Path,
    fmt: str | None = None,
    language: str = "da",
    title: str | None = None,
    threshold: int = 5,
) -> Path:
    """Write a (disclosed) result table as csv, csv-da or xlsx, atomically.

    ``fmt`` defaults from the suffix (.xlsx, else csv). Nothing is left behind on failure.
    xlsx and csv-da carry the disclosure notes as text in ``language`` (``threshold`` is the
    one the table was disclosed with); plain csv keeps the codes.
    """
    from stikprove.files import atomic_write

    path = Path(path)
    fmt = fmt or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
    if fmt not in FORMATS:
        raise DisclosureError(f"table format must be one of {FORMATS}; got {fmt!r}")
    if fmt == "xlsx":
        atomic_write(path, lambda tmp: _write_xlsx(table, tmp, language, title, threshold))
    elif fmt == "csv-da":
        text = danish_csv_text(table, language, threshold)
        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8-sig"))
    else:
        text = plain_csv_text(table)
        atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path


def gt_table(
    table: pd.DataFrame,
    language: str = "da",
    *,
    title: str | None = None,
    subtitle: str | None = None,
    threshold: int = 5,
    hide: Sequence[str] = (),
    labels: dict[str, str] | None = None,
):
    """A great_tables ``GT`` of a disclosed table: headers in ``language``, proportions as
    percentages, suppressed cells as "–", and the ``disclosure`` codes as footnotes."""
    from great_tables import GT, loc

    shown = table.drop(columns=[c for c in ("disclosure", *hide) if c in table.columns])
    shown = shown.reset_index(drop=True)
    yes, no = ("ja", "nej") if language == "da" else ("yes", "no")
    for column in shown.columns:  # booleans (e.g. flagged) as words, missing stays missing
        values = shown[column].dropna()
        if len(values) and values.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            shown[column] = shown[column].map(
                lambda v: None if v is None or v is pd.NA or v != v else (yes if v else no)
            )
    gt = GT(shown)
    if title:
        gt = gt.tab_header(title=title, subtitle=subtitle)
    gt = gt.cols_label(
        **{str(c): (labels or {}).get(str(c), column_label(str(c), language)) for c in shown}
    )
    mark = "," if language == "da" else "."
    sep = "." if language == "da" else ","
    percent = percent_columns(shown)
    if percent:
        gt = gt.fmt_percent(columns=percent, decimals=1, dec_mark=mark, sep_mark=sep,
                            incl_space=language == "da")  # Danish "34,9 %", as in the text
    floats = [c for c in shown.columns if c not in percent and shown[c].dtype.kind == "f"]
    if floats:
        gt = gt.fmt_number(columns=floats, decimals=2, dec_mark=mark, sep_mark=sep)
    ints = [c for c in shown.columns if str(shown[c].dtype) in ("Int64", "int64")]
    if ints:
        gt = gt.fmt_integer(columns=ints, sep_mark=sep)
    gt = gt.sub_missing(missing_text="–").opt_footnote_marks("letters")  # a digit reads as a count
    if "disclosure" in table.columns:
        codes = table["disclosure"].fillna("").astype(str).reset_index(drop=True)
        for code in sorted({c for cell in codes for c in cell.split(",") if c}):
            rows = [i for i, cell in enumerate(codes) if code in cell.split(",")]
            notes = disclosure_notes(code, language, threshold)
            if notes and rows:
                gt = gt.tab_footnote(footnote=notes[0], locations=loc.body(rows=rows,
                                     columns=[shown.columns[0]]))  # fmt: skip
    return gt


def published_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows a report shows: a row suppressed for its own small count (disclosure code
    ``small``) is left out, since a row of dashes still says that a group of 1 to
    threshold − 1 persons exists; rows hidden for other reasons (a complement, NCHS) stay."""
    if "disclosure" not in table.columns:
        return table
    small = table["disclosure"].fillna("").astype(str).str.split(",").map(lambda c: "small" in c)
    return table.loc[~small].reset_index(drop=True)
