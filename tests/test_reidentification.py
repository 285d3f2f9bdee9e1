"""Re-identification by the key holder (stikprove.reidentification): the lookup list, its
checks, its audit row, and that no CPR number reaches the study."""

from __future__ import annotations

import itertools
import stat
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stikprove
from reid_fixtures import KEY, OTHER_KEY, demo_data, keyed_study, synthetic_cpr, write_key
from stikprove.cli import main
from stikprove.cpr import contains_cpr
from stikprove.errors import FrameError, PrivacyError, StikproveError, StoreError
from stikprove.pseudonymization import key_check_path, key_check_value, pseudonymize_file
from stikprove.reidentification import (
    AUDIT_ACTION,
    CONFIDENTIAL,
    HEADER_ROW,
    HEADING_DA,
    HEADING_EN,
    LOOKUP_SHEET,
    forbidden_folder,
    reidentify,
)
from stikprove.store import create_study, open_study
from store_fixtures import entry, make_sample, write_entries_csv
from strategies import scaled


def read_list(path: Path) -> pd.DataFrame:
    """The lookup list's table (below its confidentiality heading)."""
    return pd.read_excel(
        path, sheet_name=LOOKUP_SHEET, header=HEADER_ROW - 1, dtype=str, engine="openpyxl"
    )


@pytest.fixture
def keyed(tmp_path):
    """A study with keyed case ids, its persons' extract (CPR, name, case number) in a
    secured folder apart from the study, and the key file."""
    study, persons = keyed_study(tmp_path)
    secure = tmp_path / "secure"
    secure.mkdir(mode=0o700)
    persons.drop(columns="case_id").to_csv(secure / "extract.csv", index=False)
    return study, persons, secure, write_key(secure / "study.key")


def run(study, secure, key_file, out="list.xlsx", extract="extract.csv", **options):
    return reidentify(study, secure / extract, column="cpr", key_file=key_file,
                      out=secure / out if isinstance(out, str) else out, **options)  # fmt: skip


def audit_rows(study):
    log = study.audit_log()
    return log[log["action"] == AUDIT_ACTION].reset_index(drop=True)


def assert_nothing_written(study, folder: Path, before: set[str], audits: int = 0):
    """No new file (temporary ones included) and no new audit row."""
    assert {p.name for p in folder.iterdir()} == before
    assert len(audit_rows(study)) == audits


# ---- the list --------------------------------------------------------------------------


def test_the_list_gives_every_sampled_case_its_cpr_in_the_worklists_order(keyed):
    """Without --reviewer: every sampled case, in stratum and draw order, with the CPR number
    and the asked-for columns of its person."""
    study, persons, secure, key_file = keyed
    result = run(study, secure, key_file, columns=["navn", "sagsnummer"])
    table = read_list(secure / "list.xlsx")
    units = study.units(in_sample_only=True)
    assert table["case_id"].tolist() == units["case_id"].tolist()
    expected = persons.set_index("case_id").loc[units["case_id"]]
    assert table["cpr"].tolist() == expected["cpr"].tolist()
    assert table["sagsnummer"].tolist() == expected["sagsnummer"].tolist()
    assert list(table.columns) == ["case_id", "cpr", "navn", "sagsnummer"]
    assert (result.cases, result.reviewer, result.round) == (13, None, 1)
    assert result.key_check == key_check_value(KEY)
    assert result.fingerprint.startswith("not compared")  # the extract is no frame


def test_a_reviewers_list_holds_her_open_cases_in_the_order_of_her_worklist(keyed, tmp_path):
    """--reviewer: only her open cases (an entered case drops off), as on her worklist."""
    study, _, secure, key_file = keyed
    first = study.open_cases("anna")["case_id"].iloc[0]
    write_entries_csv(tmp_path / "filled.csv", [entry(first)])
    stikprove.import_assessments(study, tmp_path / "filled.csv", reviewer="anna")
    result = run(study, secure, key_file, reviewer="Anna")
    table = read_list(secure / "list.xlsx")
    worklist = stikprove.worklist_table(study, "anna")
    assert table["case_id"].tolist() == worklist["case_id"].tolist()
    assert first not in set(table["case_id"])
    assert result.reviewer == "anna" and result.cases == len(worklist)


def test_the_list_is_private_and_marked_confidential_inside_the_file(keyed):
    """Mode 0600; a Danish and an English heading above the table, the print header and
    footer, the document's title and keywords say it is confidential."""
    study, _, secure, key_file = keyed
    run(study, secure, key_file, reviewer="bo")
    path = secure / "list.xlsx"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    book = openpyxl.load_workbook(path)
    sheet = book[LOOKUP_SHEET]
    assert sheet["A1"].value == HEADING_DA and sheet["A2"].value == HEADING_EN
    assert HEADING_DA.startswith("FORTROLIGT") and HEADING_EN.startswith("CONFIDENTIAL")
    assert "bo" in sheet["A3"].value and key_check_value(KEY) in sheet["A3"].value
    assert sheet.oddHeader.center.text == CONFIDENTIAL == sheet.oddFooter.center.text
    assert CONFIDENTIAL in book.properties.title and "CPR" in book.properties.keywords
    assert [c.value for c in sheet[HEADER_ROW]] == ["case_id", "cpr"]


def test_each_run_adds_one_audit_row_naming_who_whom_how_many_and_the_key_check(keyed):
    """The audit row: the OS user, the reviewer, the count and the key check value, the
    list's path; never a CPR number."""
    study, _, secure, key_file = keyed
    run(study, secure, key_file, out="a.xlsx", reviewer="anna")
    run(study, secure, key_file, out="all.xlsx")
    rows = audit_rows(study)
    assert len(rows) == 2
    anna, everyone = rows["details"]
    assert "reviewer anna's open cases" in anna and "the sampled cases" in everyone
    assert f"{len(study.open_cases('anna'))} case(s)" in anna and "13 case(s)" in everyone
    assert all(f"key check {key_check_value(KEY)}" in d for d in rows["details"])
    assert str((secure / "a.xlsx").resolve()) in anna
    assert not any(contains_cpr(v) for v in rows.astype(str).to_numpy().ravel())
    assert (rows["source"] == "reidentify").all() and rows["actor"].eq(rows["os_user"]).all()


def test_no_cpr_number_enters_the_study_file(keyed):
    """After re-identification the study's bytes (and its -wal) hold none of the extract's
    CPR numbers in any form, and the package's detector finds no CPR-like number."""
    study, persons, secure, key_file = keyed
    run(study, secure, key_file, columns=["navn"])
    for path in study.path.parent.iterdir():
        text = path.read_bytes().decode("latin-1")
        assert not contains_cpr(text), path.name
        for cpr in persons["cpr"]:
            assert cpr not in text and cpr.replace("-", "") not in text


# ---- refusals: nothing written -----------------------------------------------------------


def test_a_wrong_key_is_refused_before_the_extract_is_read(keyed):
    """Another key's check value differs from the study's: refused, the extract unread."""
    study, _, secure, _ = keyed
    other = write_key(secure / "other.key", OTHER_KEY)
    (secure / "extract.csv").unlink()  # a wrong key is refused before the extract is read
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(PrivacyError, match="not the key the study's frame was pseudonymised"):
        run(study, secure, other)
    assert_nothing_written(study, secure, before)


def test_a_missing_person_is_refused_and_listed(keyed):
    """A requested case not in the extract: refused, its case id listed."""
    study, persons, secure, key_file = keyed
    gone = study.units(in_sample_only=True)["case_id"].iloc[4]
    persons[persons["case_id"] != gone].drop(columns="case_id").to_csv(
        secure / "short.csv", index=False
    )
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(PrivacyError, match=f"1 of 13 case\\(s\\) not found: {gone}"):
        run(study, secure, key_file, extract="short.csv")
    assert_nothing_written(study, secure, before)


def test_a_duplicated_person_is_refused_with_its_rows(keyed):
    """A requested person twice in the extract (here once with, once without the dash):
    refused, naming the case and both rows."""
    study, persons, secure, key_file = keyed
    twice = study.units(in_sample_only=True)["case_id"].iloc[0]
    row = persons[persons["case_id"] == twice].assign(cpr=lambda d: d["cpr"].str.replace("-", ""))
    doubled = pd.concat([persons, row]).drop(columns="case_id")
    doubled.to_csv(secure / "doubled.csv", index=False)
    first = int(persons.index[persons["case_id"] == twice][0]) + 2
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(PrivacyError, match=f"case {twice} found 2 times: rows {first}, "
                       f"{len(persons) + 2}"):  # fmt: skip
        run(study, secure, key_file, extract="doubled.csv")
    assert_nothing_written(study, secure, before)


def test_a_value_that_is_no_cpr_number_is_refused_without_showing_it(keyed):
    """The CPR column must hold CPR numbers: the bad row is named, its value not shown."""
    study, persons, secure, key_file = keyed
    bad = persons.drop(columns="case_id").astype(object)
    bad.loc[3, "cpr"] = "ukendt 12"
    bad.to_csv(secure / "bad.csv", index=False)
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(PrivacyError, match=r"1 value\(s\) are not a CPR number .* row\(s\) 5:"
                       ) as refused:  # fmt: skip
        run(study, secure, key_file, extract="bad.csv")
    assert "ukendt" not in str(refused.value)
    assert_nothing_written(study, secure, before)


@pytest.mark.parametrize(
    "where", ["study", "study_worklists", "reports", "report_index", "export", "estimates"]
)
def test_a_folder_reports_or_exports_write_to_is_refused(keyed, tmp_path, where):
    """The study's folder and the folders inside it, a reports folder (by name, or holding
    index.html) and a folder holding an export of the study or a result table are
    refused."""
    study, _, secure, key_file = keyed
    folder = {
        "study": study.path.parent,
        "study_worklists": study.path.parent / "worklists",
        "reports": tmp_path / "reports" / "odense",
    }.get(where, tmp_path / where)
    folder.mkdir(parents=True, exist_ok=True)
    if where == "report_index":
        (folder / "index.html").write_text("<!DOCTYPE html><title>Rapporter</title>")
    if where == "export":
        study.export().to_csv(folder / "analysis.csv", index=False)
    if where == "estimates":  # as 'stikprove estimate --out' writes a result table
        (folder / "too_ill.csv").write_text("sex,n,estimate,se,df,ci_low,ci_high\n")
    before = {p.name for p in folder.iterdir()}
    with pytest.raises(PrivacyError, match=r"refused: .*(study's folder|reports|export)"):
        run(study, secure, key_file, out=folder / "list.xlsx")
    assert_nothing_written(study, folder, before)
    assert forbidden_folder(secure, study.path) is None


def test_an_existing_output_is_never_overwritten(keyed):
    """A file at --out is refused and left as it was."""
    study, _, secure, key_file = keyed
    (secure / "list.xlsx").write_text("an earlier list")
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(StikproveError, match="already exists"):
        run(study, secure, key_file)
    assert (secure / "list.xlsx").read_text() == "an earlier list"
    assert_nothing_written(study, secure, before)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"out": "list.csv"}, StikproveError, "expected an .xlsx file"),
        ({"out": "list_010190-1234.xlsx"}, PrivacyError, "CPR-like number \\(not shown\\)"),
        ({"out": "missing/list.xlsx"}, StikproveError, "does not exist"),
        ({"columns": ["telefon"]}, FrameError, "'telefon': no such column"),
        ({"columns": ["cpr"]}, StikproveError, "has case_id and the CPR column already"),
        ({"reviewer": "carl"}, StoreError, "reviewer 'carl' is not in this study"),
    ],
)
def test_bad_arguments_are_refused_with_nothing_written(keyed, options, error, message):
    """A list that is no xlsx, a CPR-like or impossible path, unknown columns, an unknown
    reviewer: refused, nothing written."""
    study, _, secure, key_file = keyed
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(error, match=message) as refused:
        run(study, secure, key_file, **options)
    assert "010190" not in str(refused.value)
    assert_nothing_written(study, secure, before)


def test_a_reviewer_with_no_open_case_gets_no_list(keyed, tmp_path):
    """Once every case of hers is entered there is nothing to look up: refused, nothing
    written."""
    study, _, secure, key_file = keyed
    cases = study.open_cases("anna")["case_id"]
    write_entries_csv(tmp_path / "filled.csv", [entry(c) for c in cases])
    stikprove.import_assessments(study, tmp_path / "filled.csv", reviewer="anna")
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(StoreError, match=r"reviewer anna's open cases .*none to look up"):
        run(study, secure, key_file, reviewer="anna")
    assert_nothing_written(study, secure, before)


def test_a_failing_audit_leaves_no_list_behind(keyed, monkeypatch):
    """The audit row and the list are one step: when linking the list fails inside the
    audit's transaction, neither the list nor the audit row remains."""
    import stikprove.reidentification as module

    study, _, secure, key_file = keyed

    def fail(tmp, out):
        raise OSError(28, "No space left on device", str(out))

    monkeypatch.setattr(module, "_link_new", fail)
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(OSError):
        run(study, secure, key_file)
    assert_nothing_written(study, secure, before)


# ---- the frame fingerprint and studies without a key check value -------------------------


@pytest.fixture
def demo(tmp_path):
    return demo_data(tmp_path)


def test_round_trip_from_python_gives_back_the_sampled_persons_cpr_numbers(demo):
    """extract with CPR numbers -> pseudonymize -> draw -> assign -> reidentify: the list
    holds exactly the CPR numbers of the sampled persons, and the frame fingerprint of the
    full extract (names and case numbers dropped) matches the study's."""
    from stikprove.pseudonymization import read_key_check

    secure, study_dir, extract = demo
    pseudonymize_file(secure / "udtraek.csv", study_dir / "frame.csv", "cpr",
                      secure / "studie.key", create_key=True)  # fmt: skip
    protocol = stikprove.load_protocol(study_dir / "odense.toml")
    frame = stikprove.load_study_frame(protocol)
    drawn = stikprove.draw(protocol, frame, frame_fingerprint=stikprove.frame_fingerprint(frame),
                           key_check=read_key_check(study_dir / "frame.csv"))  # fmt: skip
    study = stikprove.store_drawn_sample(drawn, study_dir / "odense.sqlite")
    stikprove.assign_reviewers(study, ["overlaege_a", "overlaege_b"])
    result = stikprove.reidentify(
        study, secure / "udtraek_fuld.csv", column="cpr", key_file=secure / "studie.key",
        columns=["navn", "sagsnummer"], out=secure / "opslag.xlsx",
    )  # fmt: skip
    table = read_list(secure / "opslag.xlsx")
    sampled = study.export()["case_id"]
    by_id = pd.Series(frame.index, index=frame["case_id"])
    assert table["case_id"].tolist() == sampled.tolist()
    assert table["cpr"].tolist() == extract["cpr"].iloc[by_id[sampled]].tolist()
    assert result.fingerprint == "matched" and result.cases == len(sampled) > 50


def test_an_extract_that_is_not_the_studys_frame_is_refused(demo):
    """The same persons with one value changed pseudonymise to another frame: refused by
    the fingerprint, though every case is found."""
    secure, study_dir, extract = demo
    key = secure / "studie.key"
    pseudonymize_file(secure / "udtraek.csv", study_dir / "frame.csv", "cpr", key,
                      create_key=True)  # fmt: skip
    assert main(["draw", str(study_dir / "odense.toml"), "--study",
                               str(study_dir / "s.sqlite")]) == 0  # fmt: skip
    changed = extract.assign(age=extract["age"].where(extract.index != 0, "99"))
    changed.to_csv(secure / "changed.csv", index=False)
    study = open_study(study_dir / "s.sqlite")
    before = {p.name for p in secure.iterdir()}
    with pytest.raises(PrivacyError, match="not the extract the study's frame was made from"):
        reidentify(study, secure / "changed.csv", column="cpr", key_file=key,
                   out=secure / "list.xlsx")  # fmt: skip
    assert_nothing_written(study, secure, before)


def test_a_study_without_a_key_check_value_says_what_to_do(tmp_path):
    """A study drawn before the check value was kept: refused unless the extract's
    fingerprint proves the key or --key-check gives the value written at
    pseudonymisation (a wrong one refused)."""
    study, persons = keyed_study(tmp_path, key_check=False)
    secure = tmp_path / "secure"
    secure.mkdir()
    persons.drop(columns="case_id").to_csv(secure / "extract.csv", index=False)
    key_file = write_key(secure / "study.key")
    with pytest.raises(PrivacyError, match=r"records no key check value.*--key-check FRAME"):
        run(study, secure, key_file)
    assert not (secure / "list.xlsx").exists() and audit_rows(study).empty
    check = secure / "frame.csv.keycheck"
    check.write_text(key_check_value(OTHER_KEY) + "\n")
    with pytest.raises(PrivacyError, match="not the key of"):
        run(study, secure, key_file, key_check_file=check)
    check.write_text(key_check_value(KEY) + "\n")
    hidden = secure / "keycheck_010190-1234"
    hidden.write_text(key_check_value(KEY) + "\n")
    with pytest.raises(PrivacyError, match="a path given holds a CPR-like number") as refused:
        run(study, secure, key_file, key_check_file=hidden)
    assert "010190" not in str(refused.value) and audit_rows(study).empty
    result = run(study, secure, key_file, key_check_file=check)
    assert result.key_checked == f"the check value in {check}"
    assert "checked against the check value in" in audit_rows(study)["details"][0]


# ---- the property ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One keyed study for the property test (each example writes a new list)."""
    folder = tmp_path_factory.mktemp("shared")
    study, persons = keyed_study(folder)
    first = study.open_cases("bo")["case_id"].iloc[:2].tolist()
    write_entries_csv(folder / "filled.csv", [entry(c) for c in first])
    stikprove.import_assessments(study, folder / "filled.csv", reviewer="bo")
    secure = folder / "secure"
    secure.mkdir()
    return study, persons, secure, write_key(secure / "study.key"), itertools.count()


@settings(max_examples=scaled(15), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    reviewer=st.sampled_from([None, "anna", "bo"]),
    order=st.randoms(use_true_random=False),
    strangers=st.integers(0, 30),
    dashless=st.booleans(),
)
def test_the_list_has_exactly_the_requested_cases_in_worklist_order(
    shared, reviewer, order, strangers, dashless
):
    """Whatever the extract's row order, its other persons and the CPR's spelling, the list
    holds each requested case once, in the worklist's order, with its own CPR number."""
    study, persons, secure, key_file, counter = shared
    extract = pd.concat([
        persons.drop(columns="case_id"),
        pd.DataFrame({"cpr": [synthetic_cpr(1000 + i) for i in range(strangers)],
                      "navn": "x", "sagsnummer": "y"}),
    ]).reset_index(drop=True)  # fmt: skip
    rows = list(extract.index)
    order.shuffle(rows)
    extract = extract.loc[rows]
    if dashless:
        extract = extract.assign(cpr=extract["cpr"].str.replace("-", ""))
    name = f"extract{next(counter)}.csv"
    extract.to_csv(secure / name, index=False)
    out = secure / f"{name}.xlsx"
    reidentify(study, secure / name, column="cpr", key_file=key_file, out=out,
               reviewer=reviewer, columns=["sagsnummer"])  # fmt: skip
    table = read_list(out)
    if reviewer is None:
        wanted = study.units(in_sample_only=True)["case_id"].tolist()
    else:
        wanted = stikprove.worklist_table(study, reviewer)["case_id"].tolist()
    assert table["case_id"].tolist() == wanted
    cpr = persons.set_index("case_id").loc[wanted]
    assert table["cpr"].tolist() == cpr["cpr"].tolist()
    assert table["sagsnummer"].tolist() == cpr["sagsnummer"].tolist()


# ---- the alternative: the kommune's case number on the worklist ----------------------------


def test_a_case_number_declared_for_worklists_is_shown_to_reviewers_and_never_exported(tmp_path):
    """A protocol-declared worklist field (the kommune's own case number) appears on the
    reviewer's worklist, and not in the analysis table that reports and exports use."""
    sample = make_sample()
    numbers = sample.units[["case_id"]].assign(sagsnummer=[f"S-{i:05d}" for i in
                                                            range(len(sample.units))])  # fmt: skip
    study = create_study(tmp_path / "s.sqlite", sample, reviewers=("anna", "bo"),
                         worklist_fields=("sagsnummer",), worklist_values=numbers)  # fmt: skip
    worklist = stikprove.worklist_table(study, "anna")
    assert worklist["sagsnummer"].str.startswith("S-").all()
    assert "sagsnummer" not in study.export().columns
    assert "sagsnummer" not in study.export_double_reviews().columns


def test_the_public_face_offers_reidentify():
    """stikprove.reidentify is the module's function."""
    assert stikprove.reidentify is reidentify
    assert key_check_path("frame.csv").name == "frame.csv.keycheck"
