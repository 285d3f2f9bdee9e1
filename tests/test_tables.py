"""Result tables for Excel: xlsx with Danish headers and percent format, Danish CSV."""

import pandas as pd
import pytest

from stikprove.release.disclosure import DisclosureError
from stikprove.reports.tables import danish_csv_text, write_table
from stikprove.reports.text import column_label

TABLE = pd.DataFrame({"sex": ["kvinde", "=HYPERLINK(1)"], "n": pd.array([40, pd.NA], "Int64"),
                      "estimate": [0.125, float("nan")], "disclosure": ["", "small"]})  # fmt: skip


def test_xlsx_has_danish_headers_percent_numbers_and_no_formulas(tmp_path):
    """Danish headers; a proportion is the number 0.125 shown as 12.5 %; a suppressed cell is
    empty; a text that looks like a formula stays text."""
    from openpyxl import load_workbook

    path = write_table(TABLE, tmp_path / "t.xlsx", "xlsx", "da")
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[1]] == ["Køn", "Vurderede personer (n)", "Andel", "Note"]
    assert sheet["C2"].value == 0.125 and sheet["C2"].number_format == "0.0%"
    assert sheet["B3"].value is None and sheet["C3"].value is None
    assert sheet["A3"].data_type == "s" and sheet["A3"].value == "=HYPERLINK(1)"


def test_xlsx_header_that_looks_like_a_formula_stays_text(tmp_path):
    """A domain column of the user's analysis table named like a formula is a text header,
    and no cell of the sheet is a formula."""
    from openpyxl import load_workbook

    table = TABLE.rename(columns={"sex": '=HYPERLINK("http://x")'})
    sheet = load_workbook(write_table(table, tmp_path / "t.xlsx", "xlsx", "da")).active
    assert sheet["A1"].data_type == "s" and sheet["A1"].value == '=HYPERLINK("http://x")'
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_english_xlsx_headers(tmp_path):
    """language="en" gives English headers."""
    from openpyxl import load_workbook

    sheet = load_workbook(write_table(TABLE, tmp_path / "t.xlsx", language="en")).active
    assert sheet["C1"].value == "Proportion"


def test_danish_csv_uses_semicolons_decimal_comma_bom_and_defuses_formulas(tmp_path):
    """csv-da: ';' between fields, '0,125', a byte-order mark, a formula-like text prefixed
    with an apostrophe."""
    path = write_table(TABLE, tmp_path / "t.csv", "csv-da")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[1] == "kvinde;40;0,125;"
    assert "'=HYPERLINK(1)" in danish_csv_text(TABLE)


def test_unknown_format_is_refused_and_nothing_written(tmp_path):
    """An unknown format names itself and the formats; no file is left behind."""
    with pytest.raises(DisclosureError, match=r"one of \('csv', 'csv-da', 'xlsx'\); got 'pdf'"):
        write_table(TABLE, tmp_path / "t.pdf", "pdf")
    assert list(tmp_path.iterdir()) == []


def test_html_table_writes_flags_as_words_and_suppressed_cells_as_dashes():
    """gt_table: True/False as ja/nej (yes/no in English), a hidden cell as "–", and the
    disclosure code as a footnote in the report language."""
    from stikprove.reports.tables import gt_table

    table = pd.DataFrame({"kommune_name": ["A", "B"], "n": pd.array([40, pd.NA], "Int64"),
                          "flagged": [True, None], "disclosure": ["", "small"]})  # fmt: skip
    danish = gt_table(table, "da").as_raw_html()
    assert ">ja<" in danish and "True" not in danish and "–" in danish
    assert "Færre end 5 personer" in danish
    assert ">yes<" in gt_table(table, "en").as_raw_html()


def test_html_footnote_marks_are_letters_not_counts():
    """A suppressed row's footnote mark sits beside its cell; a digit mark ("Læsø¹") reads
    like a count from 1 to 4, which the report must never show, so the marks are letters."""
    import re

    from stikprove.reports.tables import gt_table

    table = pd.DataFrame({"kommune_name": ["A", "B", "C"], "n": pd.array([40, pd.NA, 33], "Int64"),
                          "disclosure": ["", "small", "nchs_df"]})  # fmt: skip
    html = gt_table(table, "da").as_raw_html()
    marks = re.findall(r'class="gt_footnote_marks"[^>]*>([^<]*)<', html)
    assert marks and not any(any(ch.isdigit() for ch in mark) for mark in marks)


@pytest.mark.parametrize("language", ["da", "en"])
def test_flag_table_has_every_header_in_the_language_and_whole_degrees_of_freedom(
    tmp_path, language
):
    """Every column of a flag table (stikprove flag --format xlsx) has a header in the report
    language, not its code name; degrees of freedom are whole numbers, not 5158.000."""
    from openpyxl import load_workbook

    from stikprove.estimation.multiplicity import flag_differences

    estimates = pd.DataFrame({"kommune_code": ["101", "461"], "n": [300, 120],
                              "estimate": [0.10, 0.30], "se": [0.02, 0.05],
                              "df": [200, 80]})  # fmt: skip
    table = flag_differences(estimates, national_rate=0.12)
    sheet = load_workbook(write_table(table, tmp_path / "f.xlsx", "xlsx", language)).active
    headers = [c.value for c in sheet[1]]
    assert not set(headers) & (set(table.columns) - {"n"}), headers
    df_column = headers.index(column_label("df_difference", language)) + 1
    assert sheet.cell(row=2, column=df_column).number_format == "0"


def test_notes_are_words_in_the_language_in_xlsx_and_csv_da_codes_in_plain_csv(tmp_path):
    """A Danish analyst's sheet says why a cell is empty in Danish (with the threshold the
    table was disclosed with), not "small"; plain csv keeps the code for programs."""
    from openpyxl import load_workbook

    sheet = load_workbook(write_table(TABLE, tmp_path / "t.xlsx", "xlsx", threshold=3)).active
    assert sheet["D2"].value is None
    assert sheet["D3"].value == "Færre end 3 personer: tallet er udeladt af hensyn til diskretion."
    english = load_workbook(write_table(TABLE, tmp_path / "e.xlsx", "xlsx", "en")).active
    assert english["D3"].value == "Fewer than 5 people: suppressed for confidentiality."
    danish = write_table(TABLE, tmp_path / "t.csv", "csv-da").read_text("utf-8-sig")
    assert danish.splitlines()[2].endswith(
        ";Færre end 5 personer: tallet er udeladt af hensyn til diskretion."
    )
    plain = write_table(TABLE, tmp_path / "p.csv", "csv").read_text("utf-8")
    assert plain.splitlines()[2].endswith(",small")


def test_html_percentages_follow_the_language_like_the_summary_text():
    """Danish tables write "12,5 %" (with a space, as the report's sentences and Danish
    usage do; they wrote "12,5%"); English tables write "12.5%"."""
    from stikprove.reports.tables import gt_table

    table = pd.DataFrame({"sex": ["kvinde"], "n": [40], "estimate": [0.125]})
    danish = gt_table(table, "da").as_raw_html()
    assert "12,5\u00a0%" in danish or "12,5 %" in danish
    assert "12,5%" not in danish
    assert "12.5%" in gt_table(table, "en").as_raw_html()


def test_too_small_headline_has_no_nested_parentheses():
    """A group hidden by the NCHS rule gets one plain sentence: the reason after a colon, so
    the reason's own parentheses are not nested inside another pair."""
    from stikprove.reports.text import headline

    for language in ("da", "en"):
        row = {"estimate": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
               "disclosure": "nchs_n_eff"}  # fmt: skip
        sentence = headline(row, "kvinder", "Læsø", "too_ill", language=language)
        assert sentence.count("(") == sentence.count(")") <= 1, sentence
        assert ": " in sentence and sentence.endswith(".")


def test_danish_csv_writes_a_decimal_comma_in_numbers_held_as_objects():
    """A disclosed comparison holds its numbers in object columns (masked cells): csv-da
    still writes them with a decimal comma (it wrote 0.125)."""
    table = pd.DataFrame({"n_first": [12], "estimate_first": [0.125], "first": ["kvinde"]})
    text = danish_csv_text(table.astype(object))
    assert text.splitlines()[1] == "12;0,125;kvinde"


def test_a_complementary_suppression_is_not_called_too_small():
    """A group hidden only to protect another group's small count may be large: its sentence
    says the figure is not shown and why, not that the group is too small."""
    from stikprove.reports.text import headline

    row = {"estimate": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
           "disclosure": "complementary"}  # fmt: skip
    english = headline(row, "women", "Odense", "too_ill", language="en")
    assert english == ("For women in Odense the figure is not shown: suppressed so that a "
                       "suppressed small count cannot be derived from the total.")  # fmt: skip
    danish = headline(row, "kvinder", "Odense", "too_ill", language="da")
    assert danish.startswith("For kvinder i Odense vises tallet ikke: udeladt, så ")
    small = headline({**row, "disclosure": "small"}, "women", "Læsø", "too_ill", language="en")
    assert "too small to conclude anything: fewer than 5 people" in small
