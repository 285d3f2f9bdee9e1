"""Worklists: the reviewer's open cases in draw order, drop-downs from the codebook."""

import os
import stat

import openpyxl
import pandas as pd
import pytest

from stikprove.codebook import default_codebook, parse_codebook
from stikprove.errors import StoreError
from stikprove.recording import import_entries
from stikprove.store import create_study
from stikprove.worklist import (
    CODEBOOK_SHEET,
    INSTRUCTIONS_SHEET,
    LISTS_SHEET,
    worklist_table,
    write_worklist,
)
from store_fixtures import entry, make_sample, make_study, protocol_text

FIXED = ["case_id", "kommune_code", "kommune_name", "stratum"]


def test_table_lists_own_open_cases_in_draw_order(tmp_path):
    """The table has the reviewer's open cases by stratum and draw order, fixed columns first."""
    study = make_study(tmp_path)
    table = worklist_table(study, "anna")
    fields = list(default_codebook().field_names)
    assert list(table.columns) == [*FIXED, *fields, "reason"]
    mine = study.assignments().query("reviewer == 'anna'")
    assert sorted(table["case_id"]) == sorted(mine["case_id"])
    units = study.units().set_index("case_id")
    keys = [(units.loc[c, "stratum"], units.loc[c, "draw_order"]) for c in table["case_id"]]
    assert keys == sorted(keys)
    assert table[fields].isna().all().all()


def test_done_cases_leave_the_worklist(tmp_path):
    """A case entered by the reviewer is no longer on their worklist."""
    study = make_study(tmp_path)
    first = worklist_table(study, "anna")["case_id"].iloc[0]
    import_entries(study, [entry(first)], "anna")
    assert first not in set(worklist_table(study, "anna")["case_id"])


def test_second_reviewer_never_sees_first_entry(tmp_path):
    """A double-review case stays open and blank for its second reviewer after the first's entry."""
    study = make_study(tmp_path)
    a = study.assignments()
    second = a[a["review_slot"] == 2].iloc[0]
    first_reviewer = a[(a["case_id"] == second["case_id"]) & (a["review_slot"] == 1)]
    import_entries(study, [entry(second["case_id"], note="hemmelig")],
                   first_reviewer["reviewer"].iloc[0])  # fmt: skip
    table = worklist_table(study, second["reviewer"]).set_index("case_id")
    assert second["case_id"] in table.index
    assert table.loc[second["case_id"], list(default_codebook().field_names)].isna().all()


def test_frame_fields_only_when_protocol_allows(tmp_path):
    """Frame fields (age) appear only when the protocol's [review] worklist_fields names them."""
    plain = create_study(tmp_path / "a.sqlite", make_sample(extra_columns=True),
                         reviewers=["anna", "bo"])  # fmt: skip
    assert "age" not in worklist_table(plain, "anna").columns
    text = protocol_text(review={"worklist_fields": '["age"]'})
    allowed = create_study(tmp_path / "b.sqlite",
                           make_sample(extra_columns=True, protocol_text=text),
                           reviewers=["anna", "bo"])  # fmt: skip
    assert list(worklist_table(allowed, "anna").columns[:5]) == [*FIXED, "age"]


def test_xlsx_has_dropdowns_codebook_and_instructions(tmp_path):
    """The xlsx worklist has list validations with the codebook's codes and Danish sheets."""
    study = make_study(tmp_path)
    result = write_worklist(study, "anna", tmp_path / "w.xlsx")
    wb = openpyxl.load_workbook(result.path)
    try:
        assert wb.sheetnames[0] == "Sager"
        assert {CODEBOOK_SHEET, INSTRUCTIONS_SHEET, LISTS_SHEET} <= set(wb.sheetnames)
        assert wb[LISTS_SHEET].sheet_state == "hidden"
        ws = wb["Sager"]
        header = [c.value for c in ws[1]]
        assert header[:4] == FIXED
        assert ws.max_row == result.cases + 1
        formulas = {dv.formula1 for dv in ws.data_validations.dataValidation}
        assert '"ja,nej"' in formulas
        assert '"sikker,nogen_tvivl"' in formulas
        assert all(dv.type == "list" for dv in ws.data_validations.dataValidation)
        codes = {r[3] for r in wb[CODEBOOK_SHEET].iter_rows(min_row=2, values_only=True)}
        assert "for_syg" in codes
        assert "Vejledning" in wb[INSTRUCTIONS_SHEET]["A1"].value
    finally:
        wb.close()


def test_long_value_lists_use_a_hidden_sheet_range(tmp_path):
    """A drop-down longer than Excel's 255-character inline limit refers to the hidden sheet."""
    text = default_codebook().text.replace(
        '  { code = "uaendret", da = "Uændret", en = "Unchanged" },',
        '  { code = "uaendret", da = "Uændret", en = "Unchanged" },\n'
        + "\n".join(f'  {{ code = "langt_forloebsnavn_nummer_{i:02d}" }},' for i in range(12)),
    )
    codebook = parse_codebook(text)
    study = create_study(tmp_path / "s.sqlite", make_sample(), codebook=codebook,
                         reviewers=["anna", "bo"])  # fmt: skip
    path = write_worklist(study, "anna", tmp_path / "w.xlsx").path
    wb = openpyxl.load_workbook(path)
    try:
        formulas = [dv.formula1 for dv in wb["Sager"].data_validations.dataValidation]
        ranged = [f for f in formulas if f.startswith(LISTS_SHEET)]
        assert len(ranged) == 1
        column = [c.value for c in wb[LISTS_SHEET]["D"] if c.value]
        assert column[0] == "recommended_track" and len(column) == 1 + 7 + 12
    finally:
        wb.close()


def test_csv_worklist_writes_codebook_beside_it(tmp_path):
    """The csv worklist has the same columns; its codebook goes to NAME_kodebog.csv."""
    study = make_study(tmp_path)
    result = write_worklist(study, "bo", tmp_path / "bo.csv")
    table = pd.read_csv(result.path, dtype=str, encoding="utf-8-sig")
    assert list(table.columns) == list(worklist_table(study, "bo").columns)
    assert result.codebook_path == tmp_path / "bo_kodebog.csv"
    book = pd.read_csv(result.codebook_path, encoding="utf-8-sig")
    assert {"field", "code", "label_da"} <= set(book.columns)


def test_worklist_file_is_private_and_written_atomically(tmp_path):
    """The worklist is mode 0600 and no temporary file is left behind."""
    study = make_study(tmp_path)
    out = tmp_path / "out"
    write_worklist(study, "anna", out / "w.xlsx")
    assert os.listdir(out) == ["w.xlsx"]
    assert stat.S_IMODE(os.stat(out / "w.xlsx").st_mode) == 0o600


def test_unknown_reviewer_and_format_are_refused(tmp_path):
    """An unknown reviewer or format is a StoreError naming the expected values."""
    study = make_study(tmp_path)
    with pytest.raises(StoreError, match="anna, bo"):
        write_worklist(study, "carl", tmp_path / "w.xlsx")
    with pytest.raises(StoreError, match="xlsx, csv"):
        write_worklist(study, "anna", tmp_path / "w.ods")


def test_worklists_carry_their_round_and_import_checks_it(tmp_path):
    """After a new round the worklist shows the round (and its file name does); a round-1
    worklist is refused in round 2 unless imported into round 1 (--round 1)."""
    from stikprove.assignment import assign_reviewers
    from stikprove.recording import import_assessments
    from stikprove.store import add_round, open_study
    from store_fixtures import next_round

    sample = make_sample()
    study = create_study(tmp_path / "s.sqlite", sample, reviewers=["anna", "bo"])
    old = write_worklist(study, "anna", tmp_path / "r1.csv").path
    table = pd.read_csv(old, dtype=str, encoding="utf-8-sig")
    table.loc[0, list(entry("x"))[1:]] = pd.Series(entry("x")).iloc[1:].to_numpy()
    table.to_csv(old, index=False)
    add_round(study.path, next_round(sample))
    assign_reviewers(study, ["anna", "bo"])
    with pytest.raises(StoreError, match=r"worklist of round 1.*--round 1"):
        import_assessments(study, old, "anna")
    assert study.assessments().empty
    result = import_assessments(open_study(study.path, round=1), old, "anna")
    assert len(result.new) == 1 and study.for_round(1).export()["reviewed"].sum() == 1
    new = worklist_table(study, "anna")
    assert list(new.columns[:5]) == [*FIXED, "round"] and set(new["round"]) == {2}
    from stikprove.worklist import default_path

    assert default_path(study, "anna", "xlsx").name == "worklist-test-study-round2-anna.xlsx"
    path = write_worklist(study, "anna", tmp_path / "r2.xlsx").path
    with pytest.raises(StoreError, match=r"worklist of round 2.*into round 1"):
        import_assessments(study.for_round(1), path, "anna")
    assert import_assessments(study, path, "anna").empty_rows == len(new)


PAYLOADS = ['=HYPERLINK("http://x","klik")', "+1+2", "-2+3", "@SUM(A1)", "\t=1",
            "=cmd|' /C calc'!A0"]  # fmt: skip


def test_formula_payloads_in_frame_fields_never_become_formulas(tmp_path):
    """Frame fields carrying formula payloads: openpyxl finds no formula cell in any sheet
    of the xlsx worklist (the drop-downs' sources are validations, not cells), the text is
    kept as written, and no CSV cell begins like a formula."""
    text = protocol_text(review={"worklist_fields": '["bemaerkning"]'})
    sample = make_sample(protocol_text=text)
    ids = sample.units["case_id"]
    values = pd.DataFrame({"case_id": ids,
                           "bemaerkning": [PAYLOADS[i % len(PAYLOADS)] for i in range(len(ids))]})
    study = create_study(tmp_path / "s.sqlite", sample, reviewers=["anna", "bo"],
                         worklist_fields=("bemaerkning",), worklist_values=values)  # fmt: skip
    result = write_worklist(study, "anna", tmp_path / "w.xlsx")
    book = openpyxl.load_workbook(result.path)
    formulas = [(ws.title, c.coordinate) for ws in book for row in ws.iter_rows() for c in row
                if c.data_type == "f"]  # fmt: skip
    assert formulas == []
    shown = [c.value for c in book["Sager"]["E"][1:]]
    assert set(shown) <= set(PAYLOADS) and len(shown) == result.cases
    write_worklist(study, "anna", tmp_path / "w.csv")
    for name in ("w.csv", "w_kodebog.csv"):
        cells = pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False,
                            encoding="utf-8-sig").to_numpy().ravel()  # fmt: skip
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
