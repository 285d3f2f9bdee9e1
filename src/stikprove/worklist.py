"""Worklists: a reviewer's open cases in draw order, as XLSX (drop-downs from the codebook)
or CSV (with the codebook in a second CSV beside it).

A worklist shows only the reviewer's own open cases (never another reviewer's entries),
with case_id, kommune code and name, stratum, the round (from round 2 on) and the frame
fields the protocol allows (``[review] worklist_fields``; none by default), then one empty
column per codebook field and a ``reason`` column used only for corrections. Files are
written atomically (a temporary file in the same folder, then renamed) and readable by
their owner only. No cell holds a formula the package did not put there: text is written
as text (:mod:`stikprove.cells`); the only formulas are the drop-down lists' sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from stikprove.cells import append_row, save_workbook, set_cell, write_csv, write_sheet
from stikprove.codebook import Codebook, Field
from stikprove.errors import StoreError
from stikprove.files import CASES_SHEET, CODEBOOK_SUFFIX, REASON_COLUMN, ROUND_COLUMN, atomic_write
from stikprove.store import Study
from stikprove.store.assignment import reviewer_of

FORMATS = ("xlsx", "csv")
CODEBOOK_SHEET = "Kodebog"
INSTRUCTIONS_SHEET = "Vejledning"
LISTS_SHEET = "Lister"
INLINE_LIST_LIMIT = 255
"""Excel's limit on an inline drop-down list ("a,b,c"); longer lists go to a hidden sheet."""
REQUIRED_DA = {
    "always": "Altid",
    "eligible": "Når omfattet = ja",
    "ineligible": "Når omfattet = nej",
    "never": "Frivillig",
}
INSTRUCTIONS_DA = [
    "Vejledning til arbejdslisten",
    "",
    "1. Arket 'Sager' viser dine sager i den rækkefølge, de skal gennemgås (lodtrækningens orden).",
    "   Tag dem oppefra; spring ikke over, hvis det kan undgås.",
    "2. Udfyld én række pr. sag. Vælg værdier i rullelisterne; koderne er forklaret i 'Kodebog'.",
    "3. Start med 'eligible'. Er sagen ikke omfattet (nej), udfyld kun 'ineligible_reason' og",
    "   'review_date'. Så aktiveres en reservesag, som kommer på din næste arbejdsliste.",
    "4. review_date skrives ÅÅÅÅ-MM-DD (fx 2026-11-20) og må ikke ligge i fremtiden.",
    "5. 'note' bliver i undersøgelsens database og udleveres aldrig. Skriv ingen CPR-numre.",
    "6. Lad rækker stå tomme for sager, du ikke har nået. Ret ikke i case_id eller kolonnenavne.",
    "7. Rettelser til allerede indlæste sager: ret værdien, skriv begrundelsen i 'reason', og",
    "   indlæs med --corrections.",
    "",
    "Indlæsning: stikprove import UNDERSØGELSE FIL --reviewer DIT_NAVN",
    "Filen afvises helt, hvis blot én række har en fejl; fejllisten angiver ark, række og kolonne.",
]


@dataclass(frozen=True)
class WorklistResult:
    """Files written and the number of open cases on the worklist."""

    path: Path
    codebook_path: Path | None
    cases: int


def worklist_table(study: Study, reviewer: str) -> pd.DataFrame:
    """The worklist's rows: case_id, kommune_code, kommune_name, stratum, ``round`` (only
    in rounds after the first: import checks it), the allowed frame fields, then one empty
    column per codebook field and ``reason``."""
    reviewer = reviewer_of(study, reviewer)
    round_no = study.current_round()
    cases = study.for_round(round_no).open_cases(reviewer)
    df = cases[["case_id", "kommune_code", "kommune_name", "stratum", *study.worklist_fields]]
    df = df.reset_index(drop=True).copy()
    if round_no > 1:
        df.insert(4, ROUND_COLUMN, round_no)
    for name in (*study.codebook.field_names, REASON_COLUMN):
        df[name] = None
    return df


def default_path(study: Study, reviewer: str, fmt: str) -> Path:
    """worklist-STUDY-REVIEWER.FORMAT (worklist-STUDY-roundN-REVIEWER.FORMAT after round 1)."""
    round_no = study.current_round()
    part = f"round{round_no}-" if round_no > 1 else ""
    return Path(f"worklist-{study.study_id}-{part}{reviewer}.{fmt}")


def write_worklist(
    study: Study, reviewer: str, path: str | Path | None = None, format: str | None = None
) -> WorklistResult:
    """Write the reviewer's worklist as ``format`` ('xlsx' or 'csv'; from the suffix of
    ``path`` when not given). The CSV form writes the codebook to ``<name>_kodebog.csv``."""
    reviewer = reviewer_of(study, reviewer)  # the study's spelling, also in the file name
    if format is None:
        format = Path(path).suffix.lstrip(".").lower() if path else "xlsx"
    if format not in FORMATS:
        raise StoreError(f"worklist format {format!r}: expected one of {', '.join(FORMATS)}")
    path = Path(path) if path else default_path(study, reviewer, format)
    table = worklist_table(study, reviewer)
    if format == "csv":
        codebook_path = path.with_name(path.stem + CODEBOOK_SUFFIX + ".csv")
        atomic_write(path, lambda tmp: write_csv(table, tmp, encoding="utf-8-sig"))
        atomic_write(
            codebook_path,
            lambda tmp: write_csv(codebook_table(study.codebook), tmp, encoding="utf-8-sig"),
        )
        return WorklistResult(path, codebook_path, len(table))
    atomic_write(path, lambda tmp: save_workbook(_workbook(study.codebook, table), tmp))
    return WorklistResult(path, None, len(table))


def codebook_table(codebook: Codebook) -> pd.DataFrame:
    """One row per field value (one row for a date or text field): field, label_da,
    required_da, code, value_label_da, value_label_en."""
    rows = []
    for f in codebook.fields:
        base = {"field": f.name, "label_da": f.label.get("da", ""),
                "required_da": REQUIRED_DA[f.required]}  # fmt: skip
        if f.kind == "choice":
            for code in f.codes:
                rows.append({**base, "code": code, "value_label_da": f.label_of(code, "da"),
                             "value_label_en": f.label_of(code, "en")})  # fmt: skip
        else:
            hint = "ÅÅÅÅ-MM-DD" if f.kind == "date" else "fri tekst"
            rows.append({**base, "code": "", "value_label_da": hint, "value_label_en": ""})
    return pd.DataFrame(rows)


def _list_formula(field: Field, lists, column: int) -> str:
    inline = '"' + ",".join(field.codes) + '"'
    if len(inline) - 2 <= INLINE_LIST_LIMIT and not any("," in c for c in field.codes):
        return inline
    from openpyxl.utils import get_column_letter

    letter = get_column_letter(column)
    lists.cell(row=1, column=column, value=field.name)
    for i, code in enumerate(field.codes, start=2):
        set_cell(lists.cell(row=i, column=column), code)
    return f"{LISTS_SHEET}!${letter}$2:${letter}${len(field.codes) + 1}"


def _workbook(codebook: Codebook, table: pd.DataFrame):
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = CASES_SHEET
    write_sheet(ws, table)
    last = max(len(table) + 1, 2)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF2CC")
    for cell in ws[1]:
        cell.font = bold
    ws.freeze_panes = "B2"
    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    n_fixed = len(table.columns) - len(codebook.fields) - 1
    for i, name in enumerate(table.columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = max(12, min(40, len(name) + 4))
        for row in range(2, last + 1):
            ws.cell(row=row, column=i).number_format = "@"  # text: dates stay YYYY-MM-DD
            if i > n_fixed:
                ws.cell(row=row, column=i).fill = fill
    for offset, field in enumerate(codebook.fields):
        column = n_fixed + 1 + offset
        if field.kind != "choice":
            continue
        dv = DataValidation(
            type="list",
            formula1=_list_formula(field, lists, offset + 1),
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="Ugyldig værdi",
            error=f"Vælg en af værdierne i listen for {field.name} (se arket Kodebog).",
            showInputMessage=True,
            promptTitle=field.name[:32],
            prompt=field.label.get("da", field.name)[:255],
        )
        letter = get_column_letter(column)
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)
    cb = wb.create_sheet(CODEBOOK_SHEET)
    book = codebook_table(codebook)
    append_row(cb, ["Felt", "Beskrivelse", "Udfyldes", "Kode", "Betydning", "Meaning (en)"])
    for cell in cb[1]:
        cell.font = bold
    write_sheet(cb, book, header=False)
    for letter, width in zip("ABCDEF", (28, 50, 20, 40, 50, 40), strict=True):
        cb.column_dimensions[letter].width = width
    guide = wb.create_sheet(INSTRUCTIONS_SHEET)
    for line in INSTRUCTIONS_DA:
        append_row(guide, [line])
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 110
    wb.active = 0
    return wb
