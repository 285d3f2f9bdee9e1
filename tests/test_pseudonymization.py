"""Pseudonymizing CPR numbers with a keyed HMAC (stikprove.pseudonymization)."""

import os
import stat
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.errors import FrameError, PrivacyError, StikproveError
from stikprove.frame import cpr_columns, load_frame
from stikprove.pseudonymization import (
    ID_LENGTH,
    key_check_value,
    new_key,
    normalize_cpr,
    pseudonymize,
    pseudonymize_file,
    read_key,
    read_key_check,
)
from strategies import scaled

# two fixed keys drawn once with secrets.token_bytes(32) (a test must not depend on chance)
KEY = bytes.fromhex("5b0e8c3f1a97d2446e21b8f0c95d7a3e02f4c6a8195b3d7e6c0a2f8e4b1d9c37")
OTHER_KEY = bytes.fromhex("c41f7a0e93b25d68e7015fa2c8b34d9610e6a5f27bd83c4e9f201a6b5c8d7e03")

cprs = st.builds(
    lambda d, m, y, s: f"{d:02d}{m:02d}{y:02d}{s:04d}",
    st.integers(1, 28),
    st.integers(1, 12),
    st.integers(0, 99),
    st.integers(0, 9999),
)


def extract(values=("010190-1234", "0202851111", "150370-2222")) -> pd.DataFrame:
    """A register extract with a CPR column and one other column."""
    return pd.DataFrame({"cpr": list(values), "kommune_code": ["461"] * len(values)})


def test_case_id_replaces_the_cpr_column_in_place_with_20_hex_characters():
    """The CPR column becomes case_id (20 lowercase hex), at the same position."""
    out = pseudonymize(extract(), "cpr", KEY)
    assert list(out.columns) == ["case_id", "kommune_code"]
    assert out["case_id"].str.fullmatch(r"[0-9a-f]{20}").all()
    assert ID_LENGTH == 20


def test_dashed_and_plain_cpr_give_the_same_id():
    """010190-1234 and 0101901234 (and ' 010190 1234') link to the same case_id."""
    out = pseudonymize(extract(["010190-1234", "0101901234", " 010190 1234"]), "cpr", KEY)
    assert len(set(out["case_id"])) == 1


def test_a_cpr_stored_as_a_number_gets_its_leading_zero_back():
    """A nine-digit value (Excel dropped the leading 0) links to the ten-digit CPR."""
    assert normalize_cpr("101901234") == "0101901234"
    numbers = pd.DataFrame({"cpr": [101901234, 1503702222]})
    text = pd.DataFrame({"cpr": ["0101901234", "150370-2222"]})
    assert pseudonymize(numbers, "cpr", KEY).equals(pseudonymize(text, "cpr", KEY))


def test_same_key_same_ids_so_a_later_extract_links_up():
    """Two runs with the same key give the same ids; another key gives others."""
    first = pseudonymize(extract(), "cpr", KEY)["case_id"]
    later = pseudonymize(extract()[::-1].reset_index(drop=True), "cpr", KEY)["case_id"]
    assert set(first) == set(later)
    assert set(pseudonymize(extract(), "cpr", OTHER_KEY)["case_id"]).isdisjoint(first)


@settings(max_examples=scaled(50), deadline=None)
@given(st.lists(cprs, min_size=1, max_size=40, unique=True))
def test_pseudonymize_is_deterministic_and_injective_on_distinct_cprs(values):
    """Distinct CPR numbers give distinct ids; the same input gives the same ids."""
    out = pseudonymize(pd.DataFrame({"cpr": values}), "cpr", KEY)
    assert out["case_id"].is_unique
    again = pseudonymize(pd.DataFrame({"cpr": values}), "cpr", KEY)
    assert out["case_id"].tolist() == again["case_id"].tolist()


@settings(max_examples=scaled(50), deadline=None)
@given(cprs)
def test_the_output_holds_no_cpr_like_value(cpr):
    """No value of the output looks like a CPR number."""
    out = pseudonymize(extract([cpr, cpr[:6] + "-" + cpr[6:]]), "cpr", KEY)
    assert cpr_columns(out) == {}
    assert cpr not in out.to_csv()


def test_a_value_that_is_not_a_cpr_is_refused_without_showing_it():
    """A malformed or empty CPR is refused by row; the value is never echoed."""
    with pytest.raises(PrivacyError) as info:
        pseudonymize(extract(["010190-1234", "01019O-1234", None]), "cpr", KEY)
    message = str(info.value)
    assert "row 3" in message and "row 4" in message
    assert "01019O" not in message and "010190" not in message


def test_a_missing_column_is_refused():
    """--column must name a column of the input."""
    with pytest.raises(FrameError, match="--column 'personnummer': no such column"):
        pseudonymize(extract(), "personnummer", KEY)


def test_an_existing_case_id_column_is_refused():
    """The new id column must not overwrite an existing one."""
    with pytest.raises(FrameError, match="already has a column 'case_id'"):
        pseudonymize(extract().assign(case_id="x"), "cpr", KEY)


def test_another_cpr_column_is_refused_so_the_output_holds_no_cpr():
    """If a second column holds CPR numbers, nothing is returned."""
    df = extract().assign(cpr_partner=["0101801234", "", ""])
    with pytest.raises(PrivacyError, match="'cpr_partner' also hold CPR-like values"):
        pseudonymize(df, "cpr", KEY)


def test_a_short_key_is_refused():
    """A key under 16 bytes is refused."""
    with pytest.raises(PrivacyError, match="at least 16 bytes"):
        pseudonymize(extract(), "cpr", b"short")


def test_blank_rows_are_dropped():
    """A row with no values at all (a trailing Excel row) is left out, not refused."""
    df = pd.concat([extract(), pd.DataFrame({"cpr": [None], "kommune_code": [None]})])
    assert len(pseudonymize(df, "cpr", KEY)) == 3


# --- keys -------------------------------------------------------------------------------------


def test_new_key_is_created_with_mode_0600_and_reads_back(tmp_path):
    """new_key writes 32 random bytes as hex, readable by the owner only."""
    key = new_key(tmp_path / "k.key")
    assert len(key) == 32
    assert stat.S_IMODE(os.stat(tmp_path / "k.key").st_mode) == 0o600
    assert read_key(tmp_path / "k.key") == key
    assert new_key(tmp_path / "k2.key") != key


def test_new_key_refuses_to_overwrite_an_existing_key(tmp_path):
    """An existing key file is never overwritten."""
    new_key(tmp_path / "k.key")
    before = (tmp_path / "k.key").read_bytes()
    with pytest.raises(PrivacyError, match="already exists: refusing to overwrite"):
        new_key(tmp_path / "k.key")
    assert (tmp_path / "k.key").read_bytes() == before


def test_read_key_refuses_a_missing_key(tmp_path):
    """A missing key file points to --new-key."""
    with pytest.raises(PrivacyError, match=r"not found.*--new-key"):
        read_key(tmp_path / "none.key")


def test_read_key_refuses_a_malformed_key(tmp_path):
    """A key file that is not at least 32 hex characters is refused."""
    path = tmp_path / "bad.key"
    path.write_text("not hex at all\n")
    path.chmod(0o600)
    with pytest.raises(PrivacyError, match="at least 32 hex characters"):
        read_key(path)


def test_read_key_refuses_a_key_others_can_read(tmp_path):
    """A key file with mode 644 is refused with the chmod to fix it."""
    new_key(tmp_path / "k.key")
    (tmp_path / "k.key").chmod(0o644)
    with pytest.raises(PrivacyError, match="chmod 600"):
        read_key(tmp_path / "k.key")


# --- files ------------------------------------------------------------------------------------


def frame_extract(tmp_path):
    """A synthetic frame whose case_id column is replaced by CPR numbers, as a CSV."""
    from stikprove.synth import synthesize_frame

    frame = synthesize_frame(3, kommuner=["825", "563"]).frame
    cpr = [
        f"{(i % 28) + 1:02d}0{(i % 9) + 1}{60 + i % 30}-{1000 + i:04d}" for i in range(len(frame))
    ]
    raw = frame.drop(columns="case_id")
    raw.insert(0, "cpr", cpr)
    raw.to_csv(tmp_path / "extract.csv", index=False)
    return tmp_path / "extract.csv", cpr


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_pseudonymize_file_writes_a_loadable_frame_without_cpr(tmp_path, suffix):
    """The output (CSV, XLSX or Parquet) loads as a frame and its bytes hold no CPR."""
    source, cpr = frame_extract(tmp_path)
    new_key(tmp_path / "k.key")
    out = tmp_path / f"frame{suffix}"
    pseudonymize_file(source, out, "cpr", tmp_path / "k.key")
    frame = load_frame(out)
    assert len(frame) == len(cpr)
    if suffix == ".csv":
        text = out.read_text(encoding="utf-8")
        assert not any(c in text or c.replace("-", "") in text for c in cpr)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["extract.csv", "k.key", out.name, out.name + ".keycheck"]
    )  # no temporary file left behind
    assert read_key_check(out) == key_check_value(read_key(tmp_path / "k.key"))


def test_pseudonymize_file_with_a_new_key_writes_nothing_on_bad_input(tmp_path):
    """With create_key and a wrong --column, neither the key nor the output is written."""
    source, _ = frame_extract(tmp_path)
    with pytest.raises(FrameError):
        pseudonymize_file(
            source, tmp_path / "out.csv", "cprnr", tmp_path / "k.key", create_key=True
        )
    assert not (tmp_path / "k.key").exists()
    assert not (tmp_path / "out.csv").exists()


def test_pseudonymize_file_links_two_runs_with_the_same_key(tmp_path):
    """A first run with a new key and a later run with it give the same ids."""
    source, _ = frame_extract(tmp_path)
    first = pseudonymize_file(
        source, tmp_path / "a.csv", "cpr", tmp_path / "k.key", create_key=True
    )
    later = pseudonymize_file(source, tmp_path / "b.csv", "cpr", tmp_path / "k.key")
    assert first["case_id"].tolist() == later["case_id"].tolist()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_pseudonymize_file_refuses_to_write_over_its_input(tmp_path):
    """OUT may not be IN (the extract is never overwritten)."""
    source, _ = frame_extract(tmp_path)
    new_key(tmp_path / "k.key")
    with pytest.raises(StikproveError, match="is the input file"):
        pseudonymize_file(source, source, "cpr", tmp_path / "k.key")


def test_pseudonymize_file_refuses_an_unknown_output_type(tmp_path):
    """OUT must end in .csv, .xlsx or .parquet; nothing is written otherwise."""
    source, _ = frame_extract(tmp_path)
    new_key(tmp_path / "k.key")
    with pytest.raises(StikproveError, match=r"unknown output type '\.json'"):
        pseudonymize_file(source, tmp_path / "out.json", "cpr", tmp_path / "k.key")
    assert not (tmp_path / "out.json").exists()


def test_pseudonymize_file_refuses_a_key_file_that_is_the_input_or_output(tmp_path):
    """--key-file may be neither IN nor OUT."""
    source, _ = frame_extract(tmp_path)
    with pytest.raises(StikproveError, match="must not be the input or the output file"):
        pseudonymize_file(source, tmp_path / "out.csv", "cpr", tmp_path / "out.csv")


def test_pseudonymize_file_refuses_an_output_folder_that_does_not_exist(tmp_path):
    """OUT in a missing folder is refused before anything is written (the new key included)."""
    source, _ = frame_extract(tmp_path)
    out = tmp_path / "missing" / "out.csv"
    with pytest.raises(StikproveError, match="does not exist"):
        pseudonymize_file(source, out, "cpr", tmp_path / "k.key", create_key=True)
    assert not (tmp_path / "k.key").exists()


CATALOGUE = tomllib.loads(
    (Path(__file__).parent / "catalogue/cpr_forms.toml").read_text(encoding="utf-8")
)


@pytest.mark.parametrize("form", CATALOGUE["found"])
def test_every_cpr_form_in_another_column_is_refused(form):
    """The output may hold no CPR-like number in any form: another column holding one is
    refused, and the message does not show it."""
    df = extract().assign(note=["", form, ""][: len(extract())])
    with pytest.raises(PrivacyError) as info:
        pseudonymize(df, "cpr", KEY)
    assert "'note'" in str(info.value) and "1234" not in str(info.value)


@pytest.mark.parametrize(
    "form", ["010190-1234", "CPR: 010190 1234", "010190\u00a01234", "01.01.90-1234",
             "cpr-nr. 0101901234", "101901234", " 010190 - 1234 "],
)  # fmt: skip
def test_every_form_of_one_cpr_gives_one_case_id(form):
    """Spacing, dots, a prefix or a lost leading zero do not change the case_id."""
    assert normalize_cpr(form) == "0101901234"


@pytest.mark.parametrize(
    ("key", "why"),
    [(bytes(32), "all bytes equal"), (bytes(range(32)), "counting"),
     (b"\x01\x02" * 16, "repeated block"), (bytes([1, 2, 3, 4, 5, 6, 7] * 4 + [1] * 4), "distinct"),
     (b"\x11" * 8, "8 bytes")],
)  # fmt: skip
def test_weak_keys_are_refused(tmp_path, key, why):
    """All zeros, counting, a repeated block, few distinct bytes, short: refused, both from
    a key file and in the Python call."""
    path = tmp_path / "weak.key"
    path.write_text(key.hex() + "\n")
    path.chmod(0o600)
    with pytest.raises(PrivacyError, match=r"weak key|at least"):
        read_key(path)
    with pytest.raises(PrivacyError, match=why if len(key) >= 16 else "at least"):
        pseudonymize(extract(), "cpr", key)


def test_the_key_check_value_tells_keys_apart_without_revealing_them():
    """Same key, same check value; another key, another; the key is not in it."""
    assert key_check_value(KEY) == key_check_value(bytes(KEY))
    assert key_check_value(KEY) != key_check_value(OTHER_KEY)
    assert key_check_value(KEY) not in KEY.hex()
