"""Cells: nothing the package writes runs as a formula, text round-trips, identifiers are
bounded and printable."""

import csv
import io
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.cells import (
    FORMULA_STARTS,
    IDENTIFIER_MAX_LENGTH,
    identifier_key,
    identifier_problem,
    neutralize,
    restore,
    write_csv,
    write_xlsx,
)
from strategies import scaled

PAYLOADS = ["=HYPERLINK(\"http://x\",\"klik\")", "=cmd|' /C calc'!A0", "+1+2", "-2+3",
            "@SUM(A1:A2)", "\t=1", "\r=1", "'=1", "''+1", "'plain", "-", "=", "'"]  # fmt: skip
texts = st.text(alphabet=st.sampled_from(list("=+-@'\t\rab1 .,")), max_size=8)


@settings(max_examples=scaled(100))
@given(texts)
def test_neutralize_round_trips_and_defuses(text):
    """restore(neutralize(s)) == s, and a neutralised text never begins like a formula
    (unless it is a plain number)."""
    out = neutralize(text)
    assert restore(out) == text
    if out.startswith(FORMULA_STARTS):
        assert out == text and out.lstrip("+-").replace(".", "").replace(",", "").isdigit()


def test_csv_cells_round_trip_through_a_file(tmp_path):
    """Formula payloads are written with a leading apostrophe and read back unchanged."""
    df = pd.DataFrame({"payload": PAYLOADS, "n": range(len(PAYLOADS))})
    path = tmp_path / "out.csv"
    write_csv(df, path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    assert not any(r[0].startswith(FORMULA_STARTS) for r in rows)
    assert [restore(r[0]) for r in rows] == PAYLOADS
    assert [int(r[1]) for r in rows] == list(range(len(PAYLOADS)))


def test_xlsx_cells_are_text_never_formulas(tmp_path):
    """No cell of a written workbook is a formula; the text comes back unchanged."""
    df = pd.DataFrame({"=header": PAYLOADS, "n": range(len(PAYLOADS))})
    path = tmp_path / "out.xlsx"
    write_xlsx(df, path)
    sheet = openpyxl.load_workbook(path).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    as_xlsx_holds_it = [p.replace("\r", "\n") for p in PAYLOADS]  # XML has no bare CR
    assert [c.value for c in sheet["A"]] == ["=header", *as_xlsx_holds_it]
    assert sheet["A2"].quotePrefix


@pytest.mark.parametrize(
    ("name", "ok"),
    [("anna", True), ("Anna Hansen", True), ("Åse Ørum-Berg", True), ("dr.bo_2", True),
     ("a3f09c", True), ("=1+1", False), ("-x", False), ("@x", False), (" ", False), ("", False),
     ("anna\x1b[31m", False), ("anna\ttab", False), ("a;b", False), ("a" * 65, False),
     ("a\u200bb", False), (None, False)],
)  # fmt: skip
def test_identifiers_are_bounded_and_printable(name, ok):
    """Letters, digits, space, _ . - only; a letter or digit first; at most 64 characters."""
    assert (identifier_problem(name) is None) is ok
    assert IDENTIFIER_MAX_LENGTH == 64


def test_identifier_key_joins_case_and_unicode_forms():
    """anna/Anna and NFC/NFD Åse compare as one name."""
    assert identifier_key("anna") == identifier_key("Anna ")
    assert identifier_key("\u00c5se") == identifier_key("A\u030ase") == identifier_key("åse")
    assert identifier_key("anna") != identifier_key("anne")


def test_csv_header_and_text_columns_only(tmp_path):
    """Numbers stay numbers; the header is neutralised too."""
    buffer = io.StringIO()
    write_csv(pd.DataFrame({"=a": [-1.5], "b": ["-1.5"]}), buffer)
    assert buffer.getvalue() == "'=a,b\r\n-1.5,-1.5\r\n"


@settings(max_examples=scaled(40))
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                        min_size=1, max_size=12), min_size=1, max_size=5))  # fmt: skip
def test_any_text_round_trips_through_a_written_and_read_csv(texts):
    """write_csv, then the strict reader (stikprove.tables) and restore: every text comes
    back exactly as written, whatever it begins with or holds (quotes, delimiters, line
    breaks, apostrophes)."""
    from stikprove.errors import StoreError
    from stikprove.tables import read_csv_table

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        write_csv(pd.DataFrame({"text": texts}), path)
        table = read_csv_table(path, StoreError)
    assert [restore(cells[0]) for _, cells in table.rows] == texts
