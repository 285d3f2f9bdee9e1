"""Loading, validating and fingerprinting a frame (stikprove.frame)."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.errors import FrameError, PrivacyError
from stikprove.frame import (
    FRAME_COLUMNS,
    cpr_columns,
    frame_fingerprint,
    load_frame,
    looks_like_cpr,
    read_table,
    validate_frame,
)
from stikprove.synth import synthesize_frame
from strategies import scaled


def raw_frame(n: int = 4) -> pd.DataFrame:
    """A small valid frame as a register extract would hold it: everything as text."""
    text = """\
a01,461,kvinde,indvandrer_ikke_vestlig,45,3.5,aktivitetsparat,ja,2016-05-03
a02,101,mand,dansk_oprindelse,38,10.0,aktivitetsparat,nej,
a03,825,kvinde,dansk_oprindelse,59,0.4,jobparat,true,2015-11-30
a04,147,mand,efterkommer_ikke_vestlig,27,,aktivitetsparat,0,"""
    rows = [line.split(",") for line in text.splitlines()]
    return pd.DataFrame(rows[:n], columns=list(FRAME_COLUMNS))


@pytest.fixture(scope="module")
def synthetic():
    return synthesize_frame(seed=11, kommuner=["461", "147", "825"], scale=0.2).frame


def problems_of(df: pd.DataFrame, **kwargs) -> list[tuple]:
    return [(p.row, p.column, p.value) for p in validate_frame(df, **kwargs)]


# --- loading and canonical dtypes -----------------------------------------------------------


def test_load_frame_returns_canonical_dtypes():
    """Codes are strings, age Int64, years float, health_exempt bool, dates datetime64."""
    frame = load_frame(raw_frame())
    assert list(frame.columns) == list(FRAME_COLUMNS)
    assert frame["age"].dtype == "Int64"
    assert frame["years_on_benefit"].dtype == float
    assert frame["health_exempt"].dtype == bool
    assert str(frame["last_effort_date"].dtype).startswith("datetime64")
    assert pd.api.types.is_string_dtype(frame["kommune_code"])
    assert frame["health_exempt"].tolist() == [True, False, True, False]
    assert frame["last_effort_date"].isna().tolist() == [False, True, False, True]
    assert pd.isna(frame.loc[3, "years_on_benefit"])


def test_kommune_codes_as_int_or_string_become_three_digit_strings():
    """kommune_code 101 (int), '101', '0101', '825.0' and ' 147 ' become 3-digit strings."""
    df = raw_frame()
    df["kommune_code"] = [461, 101, 825, 147]
    assert load_frame(df)["kommune_code"].tolist() == ["461", "101", "825", "147"]
    df["kommune_code"] = ["461", "0101", "825.0", " 147 "]
    assert load_frame(df)["kommune_code"].tolist() == ["461", "101", "825", "147"]


def test_health_exempt_accepts_true_false_1_0_ja_nej_in_any_case():
    """true/false, 1/0 and ja/nej (any case) parse as booleans."""
    df = pd.concat([raw_frame()] * 2, ignore_index=True)
    df["case_id"] = [f"c{i}" for i in range(8)]
    df["health_exempt"] = ["TRUE", "False", "1", "0", "Ja", "NEJ", "true", "nej"]
    assert load_frame(df)["health_exempt"].tolist() == [True, False, True, False] * 2


def test_decimal_comma_danish_dates_and_case_of_codes_are_accepted():
    """'2,5' years, DD-MM-YYYY dates and 'Kvinde' parse; codes come back in canonical case."""
    df = raw_frame(1)
    df.loc[0, ["years_on_benefit", "last_effort_date", "sex"]] = ["2,5", "03-05-2016", "Kvinde"]
    frame = load_frame(df)
    assert frame.loc[0, "years_on_benefit"] == 2.5
    assert frame.loc[0, "last_effort_date"] == pd.Timestamp("2016-05-03")
    assert frame.loc[0, "sex"] == "kvinde"


def test_extra_columns_pass_through_as_strings_after_the_frame_columns():
    """A column the frame does not know is kept, as strings, after the known ones."""
    df = raw_frame().assign(jobcenter=["Vest", "Øst", "Nord", "Syd"])
    frame = load_frame(df)
    assert list(frame.columns) == [*FRAME_COLUMNS, "jobcenter"]
    assert frame["jobcenter"].tolist() == ["Vest", "Øst", "Nord", "Syd"]


def test_load_frame_reads_csv_xlsx_and_parquet(tmp_path):
    """A frame file in each format loads to the same canonical frame."""
    raw = raw_frame()
    raw.to_csv(tmp_path / "f.csv", index=False)
    raw.to_excel(tmp_path / "f.xlsx", index=False)
    raw.to_parquet(tmp_path / "f.parquet", index=False)
    frames = [load_frame(tmp_path / f"f.{ext}") for ext in ("csv", "xlsx", "parquet")]
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame, frames[0])


# --- refusals, each with row, column, value and expectation ---------------------------------


def test_missing_required_column_is_reported():
    """A frame without 'origin' is refused, naming the column and the columns found."""
    problems = validate_frame(raw_frame().drop(columns="origin"))
    assert [(p.row, p.column) for p in problems] == [(None, "origin")]
    assert "columns found: case_id, kommune_code, sex" in problems[0].expected


def test_duplicate_case_id_is_reported_with_both_rows():
    """A repeated case_id is reported at its second row, pointing to the first."""
    df = raw_frame()
    df.loc[2, "case_id"] = "a01"
    problems = validate_frame(df)
    assert [(p.row, p.column, p.value) for p in problems] == [(4, "case_id", "a01")]
    assert "row 2" in problems[0].expected


def test_empty_case_id_is_reported():
    """A blank case_id is refused."""
    df = raw_frame()
    df.loc[1, "case_id"] = "  "
    assert problems_of(df) == [(3, "case_id", "")]


def test_unknown_kommune_code_999_is_reported():
    """Kommune code 999 is not one of the 98 kommuner."""
    df = raw_frame()
    df.loc[1, "kommune_code"] = "999"
    problems = validate_frame(df)
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "kommune_code", "999")]
    assert "98 official 3-digit kommune codes" in problems[0].expected


def test_christiansoe_411_is_refused_with_a_hint():
    """411 Christiansø is named as not being a kommune."""
    df = raw_frame().assign(kommune_code=["411", "461", "461", "461"])
    assert "411 Christiansø is not a kommune" in validate_frame(df)[0].expected


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("sex", "k", "one of kvinde, mand"),
        ("origin", "ikke_vestlig", "one of dansk_oprindelse"),
        ("category", "ledig", "one of aktivitetsparat, jobparat"),
        ("age", "45 år", "an age in whole years from 15 to 100"),
        ("age", "7", "an age in whole years from 15 to 100"),
        ("age", "", "an age in whole years"),
        ("years_on_benefit", "lang", "a number of years from 0 to 90"),
        ("years_on_benefit", "-1", "a number of years from 0 to 90"),
        ("health_exempt", "måske", "true/false, 1/0 or ja/nej"),
        ("health_exempt", "", "true/false, 1/0 or ja/nej"),
        ("last_effort_date", "2016-02-30", "a date YYYY-MM-DD"),
        ("last_effort_date", "maj 2016", "a date YYYY-MM-DD"),
    ],
)
def test_a_value_that_does_not_parse_is_reported(column, value, expected):
    """Each bad value is reported with its file row, column, value and what was expected."""
    df = raw_frame()
    df.loc[2, column] = value
    problems = validate_frame(df)
    assert len(problems) == 1
    assert (problems[0].row, problems[0].column) == (4, column)
    assert problems[0].value == value.strip()
    assert expected in problems[0].expected


def test_protocol_may_declare_allowed_values_and_required_columns():
    """allowed_values overrides a column's values and makes a new column required."""
    df = raw_frame().drop(columns=["last_effort_date", "years_on_benefit"])
    df["varighed"] = ["kort", "lang", "lang", "kort"]
    columns = ["case_id", "kommune_code", "sex", "origin", "age", "category", "health_exempt"]
    frame = load_frame(df, required_columns=columns, allowed_values={"varighed": ["kort", "lang"]})
    assert frame["varighed"].tolist() == ["kort", "lang", "lang", "kort"]
    problems = validate_frame(df, allowed_values={"sex": ["kvinde"], "region": ["x"]})
    found = {(p.row, p.column) for p in problems}
    assert {(3, "sex"), (5, "sex"), (None, "region"), (None, "last_effort_date")} <= found


def test_a_frame_without_data_rows_is_refused(tmp_path):
    """A file with only a header (or only blank lines) is not a frame."""
    (tmp_path / "f.csv").write_text(",".join(FRAME_COLUMNS) + "\n\n", encoding="utf-8")
    with pytest.raises(FrameError, match="got 'no data rows', expected at least one case"):
        load_frame(tmp_path / "f.csv")


def test_case_id_and_kommune_code_are_always_required():
    """required_columns cannot drop case_id or kommune_code."""
    problems = validate_frame(raw_frame().drop(columns="kommune_code"), required_columns=["sex"])
    assert [p.column for p in problems] == ["kommune_code"]


def test_load_frame_raises_frame_error_listing_every_problem():
    """load_frame raises FrameError; the message lists each problem and the full list is kept."""
    df = raw_frame()
    df.loc[0, "kommune_code"] = "999"
    df.loc[1, "sex"] = "x"
    with pytest.raises(FrameError) as info:
        load_frame(df)
    message = str(info.value)
    assert "2 problem(s)" in message
    assert "row 2, column 'kommune_code': got '999'" in message
    assert "row 3, column 'sex': got 'x', expected one of kvinde, mand" in message
    assert len(info.value.problems) == 2


def test_problems_shown_are_capped_at_20_with_the_total():
    """With 30 bad rows, 20 are shown and the total (30) is given."""
    df = pd.concat([raw_frame(1)] * 30, ignore_index=True)
    df["case_id"] = [f"c{i}" for i in range(30)]
    df["kommune_code"] = "999"
    with pytest.raises(FrameError) as info:
        load_frame(df)
    message = str(info.value)
    assert "30 problem(s)" in message
    assert message.count("got '999'") == 20
    assert "and 10 more (showing the first 20)" in message


def test_row_numbers_are_as_in_the_file_and_blank_lines_are_skipped(tmp_path):
    """Header is row 1; a blank line keeps its number and is dropped from the frame."""
    raw = raw_frame()
    text = raw.to_csv(index=False, lineterminator="\n").splitlines()
    text.insert(2, "")  # a blank line as file row 3
    text[4] = text[4].replace("825", "999")  # third data row, now file row 5
    (tmp_path / "f.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    problems = validate_frame(read_table(tmp_path / "f.csv"))
    assert [(p.row, p.column) for p in problems] == [(5, "kommune_code")]
    (tmp_path / "g.csv").write_text("\n".join([*raw.to_csv(index=False).splitlines()[:2], ""]))
    assert len(load_frame(tmp_path / "g.csv")) == 1


def test_validate_frame_returns_no_problems_for_a_valid_frame(synthetic):
    """A valid frame gives an empty list."""
    assert validate_frame(synthetic) == []
    assert validate_frame(raw_frame()) == []


# --- CPR numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("010190-1234", True),
        ("0101901234", True),
        (" 3112991234 ", True),
        ("290296-0001", True),
        ("2902971234", False),  # 29 February 1997 is no date
        ("3204901234", False),  # no 32nd day
        ("0113901234", False),  # no 13th month
        ("999999-9999", False),  # no date: not CPR-like (tests/catalogue/cpr_forms.toml)
        ("010190123", False),  # nine digits: 0010190123 has no day 00
        ("101901234", True),  # nine digits: 0101901234 whose leading zero was dropped
        ("01019012345", False),
        ("a1b2c3d4e5", False),
        ("12345678901234567", False),
    ],
)
def test_looks_like_cpr(value, expected):
    """A valid date DDMMYY and four digits (or nine digits, a lost leading zero) look like
    CPR numbers."""
    assert looks_like_cpr(value) is expected


def test_a_cpr_column_is_refused_naming_the_column_but_never_the_values():
    """A 'cpr' column makes loading fail with PrivacyError that points to pseudonymize."""
    cprs = ["010190-1234", "0202851111", "1503702222", "3112993333"]
    df = raw_frame().assign(cpr=cprs)
    with pytest.raises(PrivacyError) as info:
        load_frame(df)
    message = str(info.value)
    assert "'cpr'" in message
    assert "stikprove pseudonymize" in message
    assert "4 value(s)" in message
    for cpr in cprs:
        assert cpr not in message
        assert cpr.replace("-", "") not in message


def test_cpr_numbers_in_case_id_are_refused_before_other_checks():
    """CPR numbers used as case_id are refused as CPR, not listed as values of other problems."""
    df = raw_frame().assign(case_id=["0101901234"] * 4, kommune_code="999")
    with pytest.raises(PrivacyError) as info:
        load_frame(df)
    assert "0101901234" not in str(info.value)


def test_a_single_cpr_value_is_enough_to_refuse_the_column():
    """One CPR-like value in an otherwise harmless column is refused, inside text too."""
    df = raw_frame().assign(note=["", "ring 0101901234", "0101901234", ""])
    assert cpr_columns(df) == {"note": [1, 2]}


def test_validate_frame_reports_a_cpr_column_without_its_values():
    """The non-raising form lists the CPR column as one problem, values not shown."""
    df = raw_frame().assign(personnummer=["010190-1234"] * 4)
    problems = validate_frame(df)
    assert [(p.row, p.column) for p in problems] == [(None, "personnummer")]
    assert "010190" not in str(problems[0])
    assert "pseudonymize" in problems[0].expected


def test_ten_digit_numbers_that_are_not_dates_pass():
    """A column of ten-digit numbers that do not start with a date is not CPR."""
    df = raw_frame().assign(journal_nr=["9900000001", "9900000002", "9900000003", "9900000004"])
    assert validate_frame(df) == []


# --- fingerprint ------------------------------------------------------------------------------


def test_fingerprint_is_the_same_for_csv_xlsx_and_parquet(tmp_path, synthetic):
    """The same data as CSV, XLSX and Parquet give the same fingerprint."""
    frame = synthetic.head(300)
    frame.to_csv(tmp_path / "f.csv", index=False)
    frame.to_excel(tmp_path / "f.xlsx", index=False)
    frame.to_parquet(tmp_path / "f.parquet", index=False)
    prints = {
        frame_fingerprint(load_frame(tmp_path / f"f.{ext}")) for ext in ("csv", "xlsx", "parquet")
    }
    assert prints == {frame_fingerprint(frame)}


def test_fingerprint_is_the_same_for_text_and_typed_parquet(tmp_path):
    """A Parquet file with typed columns (int kommune, int age, bool) fingerprints as the text."""
    typed = load_frame(raw_frame()).assign(kommune_code=[461, 101, 825, 147])
    typed.to_parquet(tmp_path / "t.parquet", index=False)
    assert frame_fingerprint(load_frame(tmp_path / "t.parquet")) == frame_fingerprint(
        load_frame(raw_frame())
    )


def test_fingerprint_ignores_column_order_but_sees_every_value(synthetic):
    """Reordering columns keeps the fingerprint; changing one value or dropping a row changes it."""
    base = frame_fingerprint(synthetic)
    assert frame_fingerprint(synthetic[list(reversed(synthetic.columns))]) == base
    changed = synthetic.copy()
    changed.loc[5, "age"] = changed.loc[5, "age"] + 1
    assert frame_fingerprint(changed) != base
    assert frame_fingerprint(synthetic.iloc[1:]) != base
    assert len(base) == 64


@settings(max_examples=scaled(30), deadline=None)
@given(st.randoms(use_true_random=False))
def test_fingerprint_is_invariant_under_row_permutation(random):
    """Any order of the rows gives the same fingerprint."""
    frame = load_frame(raw_frame())
    order = list(range(len(frame)))
    random.shuffle(order)
    assert frame_fingerprint(frame.iloc[order]) == frame_fingerprint(frame)


# --- reading files ----------------------------------------------------------------------------


def test_read_table_reads_semicolon_csv_with_bom_as_strings(tmp_path):
    """A Danish Excel CSV (UTF-8 with BOM, ';' separator, decimal comma) reads as text."""
    text = "\ufeffcase_id;kommune_code;years_on_benefit\nx1;0461;2,5\nx2;101;\n"
    (tmp_path / "f.csv").write_text(text, encoding="utf-8")
    table = read_table(tmp_path / "f.csv")
    assert list(table.columns) == ["case_id", "kommune_code", "years_on_benefit"]
    assert table["kommune_code"].tolist() == ["0461", "101"]
    assert table["years_on_benefit"].tolist()[0] == "2,5"
    assert pd.isna(table["years_on_benefit"].tolist()[1])


def test_read_table_turns_excel_numbers_into_plain_text(tmp_path):
    """Excel numbers read as '461' (not '461.0'), booleans as 'true', dates as 'YYYY-MM-DD'."""
    df = pd.DataFrame(
        {"k": [461.0, 101.0], "b": [True, False], "d": pd.to_datetime(["2016-05-03", None])}
    )
    df.to_excel(tmp_path / "f.xlsx", index=False)
    table = read_table(tmp_path / "f.xlsx")
    assert table["k"].tolist() == ["461", "101"]
    assert table["b"].tolist() == ["true", "false"]
    assert table["d"].tolist()[0] == "2016-05-03"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("f.txt.gz", b"x", "unknown file type '.gz'"),
        ("f.csv", "case_id\nø\n".encode("latin-1"), "row 2: got the byte 0xf8, which is not UTF-8"),
        ("f.csv", b"", "the file is empty"),
    ],
)
def test_read_table_refuses_unreadable_files(tmp_path, name, content, message):
    """An unknown suffix, a non-UTF-8 CSV and an empty file are refused with a FrameError."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(FrameError, match=message):
        read_table(tmp_path / name)


def test_read_table_refuses_a_missing_file(tmp_path):
    """A path that does not exist is a FrameError naming it."""
    with pytest.raises(FrameError, match="no such file"):
        load_frame(tmp_path / "nowhere.csv")


def test_a_cpr_column_beside_case_id_says_to_remove_it():
    """A frame that has its case_id and also a CPR-like column: the fix is to remove the
    column (pseudonymize as suggested for a bare extract refuses a file with case_id)."""
    df = raw_frame().assign(personnummer=["010190-1234"] * 4)
    with pytest.raises(PrivacyError) as info:
        load_frame(df)
    message = str(info.value)
    assert "remove the column(s) 'personnummer'" in message
    assert "--id-column NAME" in message and "010190-1234" not in message
    bare = raw_frame().drop(columns="case_id").assign(cpr=["010190-1234"] * 4)
    with pytest.raises(PrivacyError) as info:
        load_frame(bare)
    assert "remove the column" not in str(info.value)
    assert "stikprove pseudonymize IN OUT --column cpr --key-file KEY" in str(info.value)
