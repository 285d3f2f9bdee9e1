"""Recording assessments: strict all-or-nothing import, corrections, reserves, interactive entry."""

import io
from datetime import date, datetime, timedelta

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stikprove.errors import ImportRowsError, StoreError
from stikprove.recording import (
    check_values,
    import_assessments,
    import_entries,
    record_assessment,
    record_interactive,
)
from stikprove.recording.entries import _cell
from stikprove.recording.read import read_rows
from stikprove.worklist import write_worklist
from store_fixtures import TODAY, entry, make_study, write_entries_csv, yesterday
from strategies import scaled

#: Reads today's date: run again a year ahead by `make test` (see conftest.py).
pytestmark = pytest.mark.clock


def cases_of(study, reviewer, slot=1):
    a = study.assignments()
    return a[(a["reviewer"] == reviewer) & (a["review_slot"] == slot)]["case_id"].tolist()


def n_assessments(study):
    return len(study.assessments(current_only=False))


def test_check_values_requires_fields_by_eligibility():
    """Eligible cases need the eligible-only fields; ineligible cases need a reason only."""
    from stikprove.codebook import default_codebook

    cb = default_codebook()
    today = date(2026, 11, 25)  # injected: the check reads no clock
    ok = {k: v for k, v in entry("x", review_date="2026-11-24").items() if k != "case_id"}
    assert check_values(cb, ok, today) == []
    missing = check_values(cb, {**ok, "confidence": None}, today)
    assert [p[0] for p in missing] == ["confidence"]
    inel = {
        k: v
        for k, v in entry("x", ineligible=True, review_date="2026-11-25").items()
        if k != "case_id"
    }
    assert check_values(cb, inel, today) == []
    extra = check_values(cb, {**inel, "health_assessment": "for_syg"}, today)
    assert [p[0] for p in extra] == ["health_assessment"]


def test_import_reports_every_problem_and_writes_nothing(tmp_path):
    """One import with many bad rows lists each (row, column) and writes nothing at all."""
    study = make_study(tmp_path)
    mine, theirs = cases_of(study, "anna"), cases_of(study, "bo")
    future = (TODAY + timedelta(days=3)).isoformat()
    rows = [
        entry(mine[0]),                                             # row 2 fine
        entry("ukendt-sag"),                                        # row 3 unknown case
        entry(theirs[0]),                                           # row 4 not assigned
        entry(mine[1], health_assessment="rask"),                   # row 5 bad code
        entry(mine[2], confidence=None),                            # row 6 missing required
        entry(mine[3], ineligible=True, ineligible_reason=None),    # row 7 no reason
        entry(mine[4], review_date="20-11-2026"),                   # row 8 malformed date
        entry(mine[5], review_date=future),                         # row 9 future date
        entry(mine[0]),                                             # row 10 duplicate
    ]  # fmt: skip
    path = write_entries_csv(tmp_path / "in.csv", rows)
    with pytest.raises(ImportRowsError) as error:
        import_assessments(study, path, "anna", today=TODAY)
    message = str(error.value)
    assert "9 problem(s)" not in message  # 8 problems: row 2 is fine
    expected = [
        ("row 3", "case_id"), ("row 4", "case_id"), ("row 5", "health_assessment"),
        ("row 6", "confidence"), ("row 7", "ineligible_reason"), ("row 8", "review_date"),
        ("row 9", "review_date"), ("row 10", "case_id"),
    ]  # fmt: skip
    for row, column in expected:
        assert f"{row}, column '{column}'" in message
    assert "8 problem(s)" in message
    assert "also in row 2" in message
    assert [(p.row, p.column) for p in error.value.problems][:2] == [(3, "case_id"), (4, "case_id")]
    assert n_assessments(study) == 0
    assert study.audit_log()["action"].tolist() == ["create", "assign"]


def test_import_missing_required_column_is_refused(tmp_path):
    """A file without a required codebook column is refused naming the column (row 1)."""
    study = make_study(tmp_path)
    row = entry(cases_of(study, "anna")[0])
    del row["confidence"]
    path = write_entries_csv(tmp_path / "in.csv", [row])
    with pytest.raises(ImportRowsError, match="row 1, column 'confidence'"):
        import_assessments(study, path, "anna")


def test_import_is_idempotent(tmp_path):
    """Importing the same file twice changes nothing the second time."""
    study = make_study(tmp_path)
    mine = cases_of(study, "anna")
    path = write_entries_csv(tmp_path / "in.csv", [entry(c) for c in mine[:3]])
    first = import_assessments(study, path, "anna")
    assert len(first.new) == 3
    log = study.audit_log()
    second = import_assessments(study, path, "anna")
    assert second.new == () and second.corrected == ()
    assert sorted(second.unchanged) == sorted(mine[:3])
    assert n_assessments(study) == 3
    assert study.audit_log().equals(log)


@pytest.mark.parametrize("name", ["0101901234.csv", "cpr 010190-1234/anna.csv"])
def test_a_worklist_whose_path_holds_a_cpr_number_is_refused(tmp_path, name):
    """The file's path is kept in the audit trail and beside each entry: a CPR-like number
    in its name or folder is refused, never shown, and nothing is written."""
    study = make_study(tmp_path)
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    write_entries_csv(path, [entry(c) for c in cases_of(study, "anna")[:2]])
    log = study.audit_log()
    with pytest.raises(StoreError, match="path holds a CPR-like number") as info:
        import_assessments(study, path, "anna")
    assert "1234" not in str(info.value)
    assert n_assessments(study) == 0 and study.audit_log().equals(log)


def test_empty_rows_are_skipped_as_not_reviewed(tmp_path):
    """Rows with no outcome filled are skipped and the case stays open."""
    study = make_study(tmp_path)
    mine = cases_of(study, "anna")
    path = write_entries_csv(tmp_path / "in.csv", [entry(mine[0]), {"case_id": mine[1]}])
    result = import_assessments(study, path, "anna")
    assert result.new == (mine[0],) and result.empty_rows == 1
    assert mine[1] in set(study.open_cases("anna")["case_id"])


def test_changed_value_needs_corrections_flag_and_reason(tmp_path):
    """A changed entry is refused without --corrections, and without a reason; then superseded."""
    study = make_study(tmp_path)
    case = cases_of(study, "anna")[0]
    import_entries(study, [entry(case)], "anna")
    changed = entry(case, health_assessment="kan_med_skaanehensyn", confidence="nogen_tvivl")
    with pytest.raises(ImportRowsError, match=f"case {case}.*health_assessment, confidence"):
        import_entries(study, [changed], "anna")
    with pytest.raises(ImportRowsError) as refused:  # the cells' values, not the case id
        import_entries(study, [changed], "anna")
    assert "got ('kan_med_skaanehensyn', 'nogen_tvivl')" in str(refused.value)
    assert "('for_syg', 'sikker')" in str(refused.value)
    with pytest.raises(ImportRowsError, match="column 'reason'"):
        import_entries(study, [changed], "anna", corrections=True)
    result = import_entries(study, [{**changed, "reason": "læst forkert"}], "anna",
                            corrections=True)  # fmt: skip
    assert result.corrected == (case,)
    history = study.assessments(current_only=False)
    assert history["supersedes"].iloc[1] == history["assessment_id"].iloc[0]
    assert history["reason"].iloc[1] == "læst forkert"
    current = study.assessments()
    assert current.set_index("case_id").loc[case, "health_assessment"] == "kan_med_skaanehensyn"
    details = " ".join(study.audit_log()["details"])
    assert "læst forkert" not in details and "kan_med" not in details


def test_ineligible_case_activates_next_reserve_for_same_reviewer(tmp_path):
    """Ineligible → the stratum's lowest-order unused reserve is activated and assigned, audited."""
    study = make_study(tmp_path)
    units = study.units().set_index("case_id")
    case = cases_of(study, "anna")[0]
    stratum = units.loc[case, "stratum"]
    reserves = units[(units["stratum"] == stratum) & (units["role"] == "reserve")]
    expected = reserves.sort_values("draw_order").index[0]
    result = import_entries(study, [entry(case, ineligible=True)], "anna")
    assert [(a.ineligible_case, a.reserve_case) for a in result.activations] == [(case, expected)]
    assert expected in set(study.open_cases("anna")["case_id"])
    assert expected in set(study.export()["case_id"])
    assert "activate_reserve" in set(study.audit_log()["action"])
    strata = study.strata().set_index("stratum")
    assert strata.loc[stratum, "reserves_used"] == 1
    # importing the same entry again activates nothing more
    again = import_entries(study, [entry(case, ineligible=True)], "anna")
    assert again.activations == ()
    assert study.strata().set_index("stratum").loc[stratum, "reserves_used"] == 1


def test_second_reviewer_finding_ineligible_activates_nothing(tmp_path):
    """Only the first reviewer's finding decides eligibility and activation."""
    study = make_study(tmp_path)
    a = study.assignments()
    second = a[a["review_slot"] == 2].iloc[0]
    result = import_entries(study, [entry(second["case_id"], ineligible=True)], second["reviewer"])
    assert result.activations == ()
    assert study.strata()["reserves_used"].sum() == 0


def test_census_stratum_without_reserves_says_so(tmp_path):
    """An ineligible case in a stratum with no reserves is reported, and status shows 0 left."""
    study = make_study(tmp_path)
    units = study.units().set_index("case_id")
    census = next(c for c in cases_of(study, "anna") if units.loc[c, "kommune_code"] == "825")
    result = import_entries(study, [entry(census, ineligible=True)], "anna")
    assert result.activations[0].reserve_case is None
    assert "no reserves left" in result.summary()
    status = study.status()
    assert status[status["kommune_code"] == "825"]["reserves_left"].eq(0).all()
    assert status["unreplaced"].sum() == 1
    assert "no_reserve" in set(study.audit_log()["action"])


def test_another_reviewers_worklist_is_refused_in_one_line(tmp_path):
    """bo's filled worklist imported as anna: one line naming bo, not a problem per row."""
    study = make_study(tmp_path)
    path = write_entries_csv(tmp_path / "bo.csv", [entry(c) for c in cases_of(study, "bo")])
    with pytest.raises(ImportRowsError) as refused:
        import_assessments(study, path, "anna")
    message = str(refused.value)
    assert "\n" not in message and "belongs to reviewer bo" in message
    assert "import it as bo (--reviewer bo)" in message
    assert n_assessments(study) == 0


def test_unknown_reviewer_is_refused(tmp_path):
    """Importing for a reviewer not in the study is refused naming the known ones."""
    study = make_study(tmp_path)
    with pytest.raises(StoreError, match="expected one of anna, bo"):
        import_entries(study, [entry("c0001")], "carl")


def test_filled_xlsx_worklist_imports_with_date_cells(tmp_path):
    """An xlsx worklist filled in Excel (dates as date cells, ids as text) imports cleanly."""
    study = make_study(tmp_path)
    path = write_worklist(study, "anna", tmp_path / "w.xlsx").path
    wb = openpyxl.load_workbook(path)
    ws = wb["Sager"]
    header = [c.value for c in ws[1]]
    col = {name: i + 1 for i, name in enumerate(header)}
    for field, value in entry("x").items():
        if field not in ("case_id", "review_date") and value is not None:
            ws.cell(row=2, column=col[field], value=value)
    ws.cell(row=2, column=col["review_date"], value=datetime(2026, 11, 24))
    wb.save(path)
    wb.close()
    result = import_assessments(study, path, "anna")
    assert len(result.new) == 1
    assert study.assessments()["review_date"].iloc[0] == yesterday()
    assert result.empty_rows == len(cases_of(study, "anna") + cases_of(study, "anna", 2)) - 1


def test_xlsx_problems_name_the_sheet(tmp_path):
    """Problems in an xlsx import name the sheet as well as row and column."""
    study = make_study(tmp_path)
    path = write_worklist(study, "anna", tmp_path / "w.xlsx").path
    wb = openpyxl.load_workbook(path)
    ws = wb["Sager"]
    ws.cell(row=3, column=5, value="maaske")  # eligible of the second case
    wb.save(path)
    wb.close()
    with pytest.raises(ImportRowsError, match="sheet 'Sager', row 3, column 'eligible'"):
        import_assessments(study, path, "anna")


def test_record_one_case(tmp_path):
    """The one-line form records a case with the same checks as an import."""
    study = make_study(tmp_path)
    case = cases_of(study, "bo")[0]
    values = {k: v for k, v in entry(case).items() if k != "case_id"}
    result = record_assessment(study, "bo", case, values)
    assert result.new == (case,)
    with pytest.raises(ImportRowsError, match="column 'eligible'"):
        record_assessment(study, "bo", cases_of(study, "bo")[1], {**values, "eligible": "x"})


def interactive_answers(*cases):
    """Answers for eligible (1 = ja) with all choices 1, or ineligible (2 = nej, reason 3)."""
    lines = []
    for kind in cases:
        if kind == "ja":
            lines += ["1", "1", "1", "1", "1", "1", "1", "", "en note"]
        else:
            lines += ["2", "3", "", ""]
    return "\n".join(lines) + "\n"


def test_interactive_saves_each_case_and_keeps_them_on_eof(tmp_path):
    """Each completed case is saved at once; end of input stops without losing saved cases."""
    study = make_study(tmp_path)
    out = io.StringIO()
    text = interactive_answers("ja", "nej") + "1\n1\n"  # third case left half done
    result = record_interactive(study, "anna", io.StringIO(text), out)
    assert len(result.saved) == 2 and not result.finished
    assert n_assessments(study) == 2
    current = study.assessments().set_index("case_id")
    first, second = result.saved
    assert current.loc[first, "health_assessment"] == "for_syg"
    assert current.loc[first, "note"] == "en note"
    assert current.loc[second, "ineligible_reason"] == "fraflyttet"
    assert pd.isna(current.loc[second, "health_assessment"])
    assert "reservesag" in out.getvalue()
    assert len(result.activations) == 1


def test_interactive_asks_only_fields_that_apply(tmp_path):
    """An ineligible case is asked eligible, reason, date and note only."""
    study = make_study(tmp_path)
    out = io.StringIO()
    record_interactive(study, "anna", io.StringIO("2\n3\n\n\nq\n"), out)
    text = out.getvalue()
    assert "Årsag til at sagen ikke er omfattet" in text
    assert "Helbredsvurdering" not in text
    assert "Stoppet" in text


def test_interactive_reasks_invalid_choice(tmp_path):
    """An invalid answer is asked again, not saved."""
    study = make_study(tmp_path)
    out = io.StringIO()
    text = "9\n" + interactive_answers("ja") + "q\n"
    result = record_interactive(study, "anna", io.StringIO(text), out)
    assert len(result.saved) == 1
    assert "Skriv et tal fra 1 til 2" in out.getvalue()


class InterruptAfter(io.StringIO):
    """An input stream that raises KeyboardInterrupt (Ctrl-C) when it runs out."""

    def readline(self, *args):
        line = super().readline(*args)
        if not line:
            raise KeyboardInterrupt
        return line


def test_interactive_ctrl_c_keeps_saved_cases(tmp_path):
    """Ctrl-C in the middle of a case loses nothing saved before it."""
    study = make_study(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        record_interactive(study, "anna", InterruptAfter(interactive_answers("ja") + "1\n"),
                           io.StringIO())  # fmt: skip
    assert n_assessments(study) == 1


CORRUPTIONS = {
    "none": {},
    "bad_code": {"evidence": "rygte"},
    "missing": {"confidence": None},
    "bad_date": {"review_date": "2026-13-01"},
    "not_applicable": {"ineligible_reason": "doed"},
}


@settings(deadline=None, max_examples=scaled(15), suppress_health_check=[HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(sorted(CORRUPTIONS)), min_size=1, max_size=6))
def test_import_is_all_or_nothing(tmp_path_factory, kinds):
    """Any mix of good and bad rows: everything is written, or (any bad row) nothing."""
    study = make_study(tmp_path_factory.mktemp("p"))
    cases = cases_of(study, "anna")
    rows = [entry(c, **CORRUPTIONS[k]) for c, k in zip(cases, kinds, strict=False)]
    if all(k == "none" for k in kinds[: len(rows)]):
        assert len(import_entries(study, rows, "anna").new) == len(rows)
        assert n_assessments(study) == len(rows)
    else:
        with pytest.raises(ImportRowsError):
            import_entries(study, rows, "anna")
        assert n_assessments(study) == 0


def test_csv_worklist_filled_and_saved_with_semicolons_imports(tmp_path):
    """The csv worklist, filled and saved as Danish Excel does (; separated, BOM), imports."""
    study = make_study(tmp_path)
    path = write_worklist(study, "bo", tmp_path / "bo.csv").path
    sheet = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    for field, value in entry("x").items():
        if field != "case_id":
            sheet[field] = value or ""
    sheet.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    result = import_assessments(study, path, "bo")
    assert len(result.new) == len(sheet)


# ---- reading xlsx -------------------------------------------------------------------------


def _openpyxl_rows(path):
    """The reference: openpyxl's read-only reader (sheet 'Sager'), each cell as the import
    keeps it (_cell: stripped text, whole numbers without '.0', dates as YYYY-MM-DD)."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = wb["Sager"] if "Sager" in wb.sheetnames else wb.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        columns = tuple("" if h is None else str(h).strip() for h in next(it, ()))
        return columns, [
            (n, {c: _cell(v) for c, v in zip(columns, values, strict=False)})
            for n, values in enumerate(it, start=2)
        ]
    finally:
        wb.close()


def _as_imported(rows):
    return rows.columns, [(n, {c: _cell(v) for c, v in r.items()}) for n, r in rows.rows]


def test_xlsx_reader_gives_what_openpyxl_gives(tmp_path):
    """The calamine reader gives the import the same cells as openpyxl's read-only reader:
    text typed as text stays text ('0123'), numbers, date cells (any date format),
    booleans, gaps as empty rows; sheet 'Sager' is read even when it is not the first. (A
    formula without a saved value, which openpyxl reads as empty, is refused: see
    test_a_formula_cell_reads_as_its_saved_value_or_is_refused.)"""
    wb = openpyxl.Workbook()
    wb.active.title = "Andet"
    wb.active.append(["not", "this"])
    ws = wb.create_sheet("Sager")
    ws.append(["case_id", "eligible", "review_date", "n", "x", "flag", "g", "formula", "ae"])
    ws.append(["0123", "ja", datetime(2026, 11, 20), 12, 1.5, True, "extra", "1+1", "Ærø & <ø>"])
    ws.append([123, None, date(2026, 1, 2), 1e20, -0.25, False, None, None, " mellem rum "])
    ws.cell(row=6, column=1, value="later")
    ws["C3"].number_format = "dd-mm-yyyy"
    ws["D2"].number_format = "@"
    wb.save(tmp_path / "t.xlsx")
    rows = read_rows(tmp_path / "t.xlsx")
    assert _as_imported(rows) == _openpyxl_rows(tmp_path / "t.xlsx")
    assert rows.sheet == "Sager" and [n for n, _ in rows.rows] == [2, 3, 4, 5, 6]
    row2 = _as_imported(rows)[1][0][1]
    assert row2["case_id"] == "0123" and row2["review_date"] == "2026-11-20"
    assert row2["ae"] == "Ærø & <ø>" and row2["formula"] == "1+1"
    assert _as_imported(rows)[1][1][1]["case_id"] == "123"


def _minimal_xlsx(path, sheet_xml: str, shared: list[str], date1904: bool = False):
    """A hand-written xlsx as Excel writes it: shared strings (one with rich-text runs), a
    custom date format (style 1), the 1904 calendar when asked."""
    import zipfile

    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "http://schemas.openxmlformats.org/package/2006/content-types"
    sml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    calendar = ' date1904="1"' if date1904 else ""
    si = "".join(
        f"<si><r><t>{s[:2]}</t></r><r><rPr><b/></rPr><t>{s[2:]}</t></r></si>"
        if i == 0 else f"<si><t>{s}</t></si>"
        for i, s in enumerate(shared)
    )  # fmt: skip
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{ct}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{sml}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{sml}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{sml}.sharedStrings+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{sml}.styles+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}">'
        f"<workbookPr{calendar}/>"
        '<sheets><sheet name="Sager" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{pkg}">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/sharedStrings.xml": f'<sst xmlns="{main}">{si}</sst>',
        "xl/styles.xml": f'<styleSheet xmlns="{main}"><numFmts count="1">'
        '<numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/>'
        '<xf numFmtId="49" applyNumberFormat="1"/></cellXfs><cellStyles count="1">'
        '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{sheet_xml}'
        "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


@pytest.mark.parametrize("date1904", [False, True])
def test_xlsx_as_excel_saves_it_shared_strings_and_calendars(tmp_path, date1904):
    """Shared strings (also rich text), a custom date format, both calendars, a number
    typed as text in a text cell, cells without a reference: as openpyxl reads them."""
    serial = 46346 - (1462 if date1904 else 0)  # 2026-11-20
    sheet = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
        '<c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row>'
        f'<row r="2"><c r="A2" t="s"><v>4</v></c><c r="B2" t="s"><v>5</v></c>'
        f'<c r="C2" s="1"><v>{serial}</v></c><c r="D2" s="2" t="s"><v>6</v></c></row>'
        f'<row r="4"><c t="s"><v>7</v></c><c><v>7</v></c><c s="1"><v>{serial + 1}</v></c>'
        '<c t="b"><v>1</v></c></row>'
    )
    shared = ["case_id", "eligible", "review_date", "count", "c0001", "ja", "0042", "c0002"]
    path = _minimal_xlsx(tmp_path / "excel.xlsx", sheet, shared, date1904)
    columns, rows = _as_imported(read_rows(path))
    reference_columns, reference = _openpyxl_rows(path)

    def filled(rows):  # a gap row: openpyxl gives no cells, the reader empty ones
        return [(n, {k: v for k, v in r.items() if v is not None}) for n, r in rows]

    assert filled(rows) == filled(reference) and columns == reference_columns
    assert columns == ("case_id", "eligible", "review_date", "count")
    assert rows[0] == (2, {"case_id": "c0001", "eligible": "ja", "review_date": "2026-11-20",
                           "count": "0042"})  # fmt: skip
    assert rows[1][1]["case_id"] is None  # row 3 is a gap: empty
    assert rows[2][1] == {"case_id": "c0002", "eligible": "7", "review_date": "2026-11-21",
                          "count": "True"}  # fmt: skip


@pytest.mark.parametrize("value", ["<v>0</v>", "<v></v>", "", "<v />"])
def test_a_formula_cell_reads_as_its_saved_value_or_is_refused(tmp_path, value):
    """A formula cell as Excel saves it (with its value, an empty text too) reads as that
    value; one without a saved value (as a script or openpyxl writes it: no <v> or an empty
    <v />) would read as empty, so a note typed as '=HYPERLINK(...)' would be lost
    silently: refused, naming the sheet file and cell, not the formula."""
    saved = value in ("<v>0</v>", "<v></v>")
    sheet = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        f'<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="str"><f>HYPERLINK("x")</f>'
        f"{value}</c></row>"
    )
    path = _minimal_xlsx(tmp_path / "f.xlsx", sheet, ["case_id", "note", "c0001"])
    if saved:
        assert _as_imported(read_rows(path))[1][0][1]["note"] == ("0" if "0" in value else None)
        return
    with pytest.raises(StoreError, match=r"f\.xlsx: sheet file sheet1\.xml, cell B2: a formula "
                       r"without a saved value") as info:  # fmt: skip
        read_rows(path)
    assert "HYPERLINK" not in str(info.value)


def test_xlsx_worklist_round_trip_keeps_text_and_dates(tmp_path):
    """A worklist filled in (dates as date cells, a case id looking like a number typed in a
    text cell) imports with the date as YYYY-MM-DD and the id unchanged."""
    study = make_study(tmp_path)
    path = write_worklist(study, "anna", tmp_path / "w.xlsx").path
    wb = openpyxl.load_workbook(path)
    ws = wb["Sager"]
    col = {c.value: c.column for c in ws[1]}
    for row, day in ((2, datetime(2026, 11, 23)), (3, TODAY)):
        for field, value in entry("x").items():
            if field not in ("case_id", "review_date") and value is not None:
                ws.cell(row=row, column=col[field], value=value)
        ws.cell(row=row, column=col["review_date"], value=day).number_format = "d/m/yy"
    wb.save(path)
    result = import_assessments(study, path, "anna", today=TODAY)
    assert len(result.new) == 2
    dates = sorted(study.assessments()["review_date"])
    assert dates == ["2026-11-23", "2026-11-25"]


def test_correction_back_to_eligible_keeps_the_reserve_consistently(tmp_path):
    """A case found ineligible, replaced by the next reserve, then corrected back to eligible:
    the reserve stays (the sample is the first n_h + 1 cases of the stratum's random list,
    an SRS of that size), so export's sample_size is n_h + 1 and every weight N_h/(n_h + 1);
    status counts it (replaced_eligible, sample_size); nothing is activated twice."""
    from stikprove.estimation import estimate_proportions

    study = make_study(tmp_path)
    key = "461|kvinde|indvandrer_ikke_vestlig"  # N_h 20, n_h 6
    a = study.assignments()
    first = a[(a["stratum"] == key) & (a["review_slot"] == 1)].sort_values("draw_order")
    case, reviewer = first["case_id"].iloc[0], first["reviewer"].iloc[0]
    reserve = import_entries(study, [entry(case, ineligible=True)], reviewer).activations[0]
    result = import_entries(study, [{**entry(case), "reason": "fejllæst"}], reviewer,
                            corrections=True)  # fmt: skip
    assert result.corrected == (case,) and result.activations == ()
    assert result.kept == ((case, reserve.reserve_case),)
    assert "stays in the sample" in result.summary()
    assert "keep_reserve" in set(study.audit_log()["action"])
    table = study.export()
    rows = table[table["stratum"] == key]
    assert len(rows) == 7 and rows["sample_size"].eq(7).all()
    assert rows["weight"].eq(20 / 7).all() and rows["planned_sample_size"].eq(6).all()
    assert reserve.reserve_case in set(rows["case_id"])
    assert rows.set_index("case_id").loc[case, "eligible"] == "ja"
    # the sample is still a prefix of the stratum's list: draw orders 1..7
    assert sorted(rows["draw_order"]) == list(range(1, 8))
    status = study.status()
    mine = status[status["stratum"] == key]
    assert mine["sample_size"].eq(7).all()
    assert mine["ineligible"].sum() == 0 and mine["reserves_used"].sum() == 1
    assert mine["replaced_eligible"].sum() == 1 and mine["unreplaced"].sum() == 0
    assert reserve.reserve_case in set(study.open_cases(reviewer)["case_id"])
    # the table goes straight into estimation (n of the stratum = cases taken)
    est = estimate_proportions(table, outcome="too_ill", strata="stratum",
                               population_size="population_size")  # fmt: skip
    assert est["n"].iloc[0] == 1 and est["estimate"].iloc[0] == 1.0
    # ineligible again: it already has its replacement, nothing more is activated
    again = import_entries(study, [{**entry(case, ineligible=True), "reason": "alligevel"}],
                           reviewer, corrections=True)  # fmt: skip
    assert again.activations[0].reserve_case is None
    assert study.strata().set_index("stratum").loc[key, "reserves_used"] == 1


def test_summary_counts_many_activations_and_lists_the_unreplaced(tmp_path):
    """A national import activates dozens of reserves: past ``detail_limit`` the summary
    counts them per reviewer (every one is in the audit trail) and still names each
    ineligible case left unreplaced."""
    strata = {
        "461|kvinde|indvandrer_ikke_vestlig": ("461", "kvinde", "indvandrer_ikke_vestlig", 80, 24),
        "825|kvinde|dansk_oprindelse": ("825", "kvinde", "dansk_oprindelse", 3, 3),
    }
    study = make_study(tmp_path, strata=strata)
    anna = cases_of(study, "anna")
    units = study.units().set_index("case_id")
    census = [c for c in anna if units.loc[c, "kommune_code"] == "825"][:1]
    big = [c for c in anna if units.loc[c, "kommune_code"] == "461"]
    result = import_entries(study, [entry(c, ineligible=True) for c in [*big, *census]], "anna")
    assert len(result.activations) == len(big) + 1 > 10
    text = result.summary()
    lines = text.splitlines()
    assert len(lines) == 3
    assert f"{len(big) + 1} case(s) found ineligible: {len(big)} replaced" in lines[1]
    assert f"{len(big)} to anna" in lines[1] and "1 not replaced" in lines[1]
    assert lines[2].startswith(f"case {census[0]} is ineligible; stratum 825|")
    full = result.summary(detail_limit=None).splitlines()
    assert len(full) == 1 + len(big) + 1 and "is activated and assigned to anna" in full[1]
    few = import_entries(study, [entry(cases_of(study, "bo")[0], ineligible=True)], "bo").summary()
    assert "is activated and assigned to bo" in few and "found ineligible" not in few


def test_a_windows_1252_csv_is_refused_with_the_row_and_the_fix(tmp_path):
    """A worklist saved by Excel as plain 'CSV (semikolonsepareret)' is Windows-1252: the
    refusal names the row and the byte and says how to save it as UTF-8; nothing written."""
    study = make_study(tmp_path)
    case = cases_of(study, "anna")[0]
    path = tmp_path / "excel.csv"
    frame = pd.DataFrame([entry(case, note="Følger op på sagen")])
    frame.to_csv(path, sep=";", index=False, encoding="cp1252")
    with pytest.raises(StoreError) as info:
        import_assessments(study, path, "anna")
    message = str(info.value)
    assert f"{path}: row 2: got the byte 0xf8, which is not UTF-8" in message
    assert "'CSV UTF-8 (kommasepareret)'" in message and "nothing imported" in message
    assert n_assessments(study) == 0
