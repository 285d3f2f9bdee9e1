"""The study store: schema, creation, opening, append-only history, status and export."""

import os
import sqlite3
import stat
from pathlib import Path

import pandas as pd
import pytest

from stikprove.errors import StoreError
from stikprove.recording import import_entries
from stikprove.store import APPLICATION_ID, SCHEMA_VERSION, create_study, open_study
from store_fixtures import PROTOCOL_TEXT, STRATA, entry, make_sample, make_study, protocol_text

#: Reads today's date: run again a year ahead by `make test` (see conftest.py).
pytestmark = pytest.mark.clock


def raw(study):
    return sqlite3.connect(study.path)


def test_create_writes_owner_only_wal_file_with_ids(tmp_path):
    """The store is mode 0600, in WAL mode, marked with application_id and user_version."""
    study = make_study(tmp_path)
    assert stat.S_IMODE(os.stat(study.path).st_mode) == 0o600
    con = raw(study)
    try:
        assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
    assert study.meta()["schema_version"] == str(SCHEMA_VERSION)


def test_create_stores_protocol_codebook_and_fingerprints(tmp_path):
    """Protocol text, its fingerprint, the codebook text and the frame fingerprint are kept."""
    study = make_study(tmp_path)
    meta = study.meta()
    assert study.protocol_text == PROTOCOL_TEXT
    assert meta["frame_fingerprint"] == "f" * 64
    assert meta["codebook_text"] == study.codebook.text
    assert meta["study_id"] == "test-study"
    assert study.rounds()["protocol_fingerprint"].tolist() == [make_sample().metadata[
        "protocol_fingerprint"]]  # fmt: skip


def test_create_keeps_strata_and_draw_order(tmp_path):
    """Strata keep N_h and n_h; units keep their draw order, role and strata columns."""
    study = make_study(tmp_path)
    strata = study.strata().set_index("stratum")
    for key, (_code, sex, _origin, big_n, n) in STRATA.items():
        assert strata.loc[key, "population_size"] == big_n
        assert strata.loc[key, "sample_size"] == n
        assert strata.loc[key, "sex"] == sex
        assert strata.loc[key, "reserves_left"] == big_n - n
    units = study.units()
    for _, g in units.groupby("stratum"):
        assert g["draw_order"].tolist() == list(range(1, len(g) + 1))
    assert set(units["role"]) == {"sample", "reserve"}


def test_create_refuses_an_existing_file(tmp_path):
    """A study store is never created over an existing file."""
    path = tmp_path / "study.sqlite"
    path.write_text("keep me")
    with pytest.raises(StoreError, match="already exists"):
        create_study(path, make_sample())
    assert path.read_text() == "keep me"


def test_create_refuses_a_sample_without_contract_columns(tmp_path):
    """A sample lacking DrawnSample columns is refused, naming them, and no file is left."""
    sample = make_sample()
    bad = type(sample)(sample.units.drop(columns=["draw_order"]), sample.strata,
                       sample.metadata, sample.protocol_text)  # fmt: skip
    with pytest.raises(StoreError, match="draw_order"):
        create_study(tmp_path / "s.sqlite", bad)
    assert not (tmp_path / "s.sqlite").exists()


def test_open_refuses_missing_file(tmp_path):
    """A missing STUDY is refused with a clear message."""
    with pytest.raises(StoreError, match="does not exist"):
        open_study(tmp_path / "nope.sqlite")


def test_open_refuses_non_sqlite_file(tmp_path):
    """A file that is not SQLite (e.g. a CSV) is refused."""
    path = tmp_path / "frame.csv"
    path.write_text("case_id,kommune_code\n1,461\n")
    with pytest.raises(StoreError, match="not an SQLite database"):
        open_study(path)


def test_open_refuses_foreign_sqlite_file(tmp_path):
    """Another application's SQLite database is refused (application_id differs)."""
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a stikprove study store"):
        open_study(path)


def test_open_refuses_newer_schema(tmp_path):
    """A store written by a newer stikprove (higher user_version) is refused."""
    study = make_study(tmp_path)
    con = raw(study)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        open_study(study.path)


def test_open_refuses_corrupt_file(tmp_path):
    """A store with overwritten pages is refused as corrupt, not opened."""
    study = make_study(tmp_path)
    data = bytearray(study.path.read_bytes())
    page = 4096
    data[page + 100 : len(data)] = b"\xff" * (len(data) - page - 100)
    study.path.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"corrupt|not a study store"):
        open_study(study.path)


@pytest.mark.parametrize("table", ["assessments", "audit"])
def test_history_tables_refuse_update_and_delete(tmp_path, table):
    """Triggers abort any UPDATE or DELETE of assessments and audit rows."""
    study = make_study(tmp_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    import_entries(study, [entry(case)], "anna")
    con = raw(study)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(f"UPDATE {table} SET source = 'x'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute(f"DELETE FROM {table}")
    finally:
        con.close()


def test_check_constraints_come_from_the_codebook(tmp_path):
    """A value outside the codebook's codes cannot be written even with raw SQL."""
    study = make_study(tmp_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    con = raw(study)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            con.execute(
                "INSERT INTO assessments (round, case_id, reviewer, version, eligible, "
                "entered_at, source) VALUES (1, ?, 'anna', 1, 'maybe', 'now', 'test')",
                (case,),
            )
    finally:
        con.close()


def test_foreign_keys_are_enforced(tmp_path):
    """An assessment by a reviewer not assigned to the case is refused by the schema."""
    study = make_study(tmp_path)
    bo_case = study.open_cases("bo")["case_id"].iloc[0]
    con = raw(study)
    con.execute("PRAGMA foreign_keys = ON")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            con.execute(
                "INSERT INTO assessments (round, case_id, reviewer, version, eligible, "
                "entered_at, source) VALUES (1, ?, 'anna', 1, 'ja', 'now', 'test')",
                (bo_case,),
            )
    finally:
        con.close()


def test_status_counts_per_kommune_stratum_reviewer(tmp_path):
    """Status adds up: assigned = done + remaining; every sampled case counted once."""
    study = make_study(tmp_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    import_entries(study, [entry(case)], "anna")
    status = study.status()
    assert list(status.columns) == [
        "kommune_code", "kommune_name", "stratum", "reviewer", "assigned", "done",
        "remaining", "unassigned", "ineligible", "unreplaced", "reserves_used",
        "double_reviews_done", "reserves_left", "replaced_eligible", "sample_size",
    ]  # fmt: skip
    assert (status["assigned"] == status["done"] + status["remaining"]).all()
    assert status["done"].sum() == 1
    n_sampled = sum(v[4] for v in STRATA.values())
    second = int((study.assignments()["review_slot"] == 2).sum())
    assert status["assigned"].sum() == n_sampled + second
    assert "Odense" in set(status["kommune_name"])


def test_status_shows_unassigned_cases(tmp_path):
    """Before assignment, status lists the sampled cases as unassigned."""
    study = create_study(tmp_path / "s.sqlite", make_sample())
    status = study.status()
    assert status["reviewer"].eq("").all()
    assert status["unassigned"].sum() == sum(v[4] for v in STRATA.values())


def test_export_has_contract_columns_and_no_note(tmp_path):
    """The analysis table has the CONTRACTS.md columns, indicators, and never the note."""
    study = make_study(tmp_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    import_entries(study, [entry(case, note="personlig note")], "anna")
    table = study.export()
    for col in ["case_id", "stratum", "sex", "origin", "kommune_code", "population_size",
                "sample_size", "weight", "health_exempt", "reviewed", "eligible",
                "health_assessment", "too_ill", "misclassified", "no_effort"]:  # fmt: skip
        assert col in table.columns
    assert "note" not in table.columns
    assert not table.astype(str).apply(lambda c: c.str.contains("personlig")).any().any()
    row = table.set_index("case_id").loc[case]
    assert row["reviewed"] and row["too_ill"] == 1.0
    assert table["reviewed"].sum() == 1
    assert len(table) == sum(v[4] for v in STRATA.values())
    assert (table["weight"] * table["sample_size"] == table["population_size"]).all()


def test_export_uses_current_assessment_after_correction(tmp_path):
    """After a correction the export shows the new value and the history keeps both."""
    study = make_study(tmp_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    import_entries(study, [entry(case)], "anna")
    import_entries(study, [entry(case, health_assessment="ingen_vaesentlig_barriere",
                                 reason="tastefejl")], "anna", corrections=True)  # fmt: skip
    table = study.export().set_index("case_id")
    assert table.loc[case, "health_assessment"] == "ingen_vaesentlig_barriere"
    history = study.assessments(current_only=False)
    assert history["case_id"].eq(case).sum() == 2
    assert history["version"].tolist() == [1, 2]


def test_export_double_reviews_pairs_both_reviewers(tmp_path):
    """The double-review export has each double case with both reviewers' entries."""
    study = make_study(tmp_path)
    assign = study.assignments()
    double = assign[assign["review_slot"] == 2].iloc[0]
    first = assign[(assign["case_id"] == double["case_id"]) & (assign["review_slot"] == 1)]
    import_entries(study, [entry(double["case_id"])], first["reviewer"].iloc[0])
    import_entries(study, [entry(double["case_id"], health_assessment="kan_med_skaanehensyn")],
                   double["reviewer"])  # fmt: skip
    pairs = study.export_double_reviews().set_index("case_id")
    row = pairs.loc[double["case_id"]]
    assert row["health_assessment_1"] == "for_syg"
    assert row["health_assessment_2"] == "kan_med_skaanehensyn"
    assert row["reviewed_1"] and row["reviewed_2"]
    assert "note_1" not in pairs.columns and "reviewer" not in pairs.columns
    # the main export is the first reviewer's
    assert study.export().set_index("case_id").loc[double["case_id"], "too_ill"] == 1.0


def test_worklist_fields_come_from_protocol(tmp_path):
    """A protocol's [review] worklist_fields are kept; unknown ones are refused."""
    text = protocol_text(review={"worklist_fields": '["age"]'})
    study = create_study(tmp_path / "a.sqlite", make_sample(protocol_text=text,
                                                           extra_columns=True))  # fmt: skip
    assert study.worklist_fields == ("age",)
    with pytest.raises(StoreError, match="not in the sample"):
        create_study(tmp_path / "b.sqlite", make_sample(protocol_text=text))


def test_units_expand_extra_frame_fields(tmp_path):
    """Frame fields beyond the unit columns are kept (as attributes) and read back."""
    study = create_study(tmp_path / "a.sqlite", make_sample(extra_columns=True))
    units = study.units()
    assert "age" in units.columns and "sex" in units.columns
    assert pd.api.types.is_bool_dtype(units["health_exempt"])


def test_draw_sample_round_trips_through_the_store(tmp_path, monkeypatch):
    """A sample from sampling.draw is stored and read back identical (for draw --check)."""
    from stikprove.frame import frame_fingerprint
    from stikprove.protocol import load_protocol, load_study_frame
    from stikprove.sampling import _csv_text, draw
    from stikprove.store import read_stored_sample, store_drawn_sample, stored_rounds
    from stikprove.synth import write_synthetic_frame

    monkeypatch.chdir(tmp_path)
    write_synthetic_frame(tmp_path / "synthetic_data", seed=3, kommuner=["461"], scale=0.1)
    (tmp_path / "p").mkdir()
    root = Path(__file__).resolve().parents[1]
    text = (root / "protocols" / "odense-replication.toml").read_text(encoding="utf-8")
    (tmp_path / "p" / "odense.toml").write_text(text, encoding="utf-8")
    protocol = load_protocol(tmp_path / "p" / "odense.toml")
    frame = load_study_frame(protocol)
    sample = draw(protocol, frame, frame_fingerprint=frame_fingerprint(frame))
    study = store_drawn_sample(sample, tmp_path / "s.sqlite")
    assert stored_rounds(study.path) == [1] and stored_rounds(tmp_path / "none") == []
    back = read_stored_sample(study.path)
    assert _csv_text(back.units) == _csv_text(sample.units)
    assert _csv_text(back.strata) == _csv_text(sample.strata)
    assert back.metadata == dict(sample.metadata) and back.protocol_text == sample.protocol_text
    assert study.strata_columns == ("sex", "origin")
    with pytest.raises(StoreError, match="already has a sample"):
        store_drawn_sample(sample, study.path)


def test_export_marks_the_unbroken_run_of_reviewed_cases(tmp_path):
    """in_complete_run is true only for reviewed cases with no unreviewed case above them."""
    study = make_study(tmp_path)
    key = "461|kvinde|indvandrer_ikke_vestlig"
    a = study.assignments()
    a = a[(a["stratum"] == key) & (a["review_slot"] == 1)]
    by_order = a.set_index("draw_order")
    for order in (1, 2, 4):  # 3 is not reviewed yet
        row = by_order.loc[order]
        import_entries(study, [entry(row["case_id"])], row["reviewer"])
    table = study.export()
    table = table[table["stratum"] == key].set_index("draw_order")
    assert table["in_complete_run"].tolist() == [True, True, False, False, False, False]


# ---- schema version 1 -> 2 ------------------------------------------------------------


def test_version_1_store_migrates_in_place(tmp_path):
    """A version-1 store opens, is migrated in place (audited, once) and keeps every row:
    assessments with their ids, versions and corrections, assignments and activations."""
    from store_fixtures import make_v1_store

    path = make_v1_store(tmp_path / "v1.sqlite")
    study = open_study(path)
    assert study.schema_version == SCHEMA_VERSION == 4
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert not con.execute("SELECT name FROM sqlite_master WHERE name LIKE 'v1_%'").fetchall()
    finally:
        con.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert study.meta()["schema_version"] == str(SCHEMA_VERSION)
    assert study.audit_log()["action"].tolist() == ["migrate"]
    history = study.assessments(current_only=False)
    assert history["assessment_id"].tolist() == [1, 2, 3]
    assert history["version"].tolist() == [1, 2, 1]
    assert history["supersedes"].tolist()[1] == 1
    assert history["reason"].tolist()[1] == "tastefejl"
    table = study.export().set_index("case_id")
    assert table.loc["c0001", "health_assessment"] == "kan_med_skaanehensyn"
    assert table.loc["c0002", "eligible"] == "nej" and table.loc["c0007", "role"] == "reserve"
    units = study.units().set_index("case_id")
    assert units.loc["c0007", "activated"] and units.loc["c0007", "replaces"] == "c0002"
    assert set(study.export_double_reviews()["case_id"]) == {"c0004"}
    # the migrated store works as a new one: append-only, constraints, further entries
    con = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("DELETE FROM assessments")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("UPDATE activations SET replaces = 'c0003'")
    finally:
        con.close()
    result = import_entries(study, [entry("c0003", ineligible=True)], "anna")
    assert result.activations[0].reserve_case == "c0008"
    assert open_study(path).audit_log()["action"].tolist().count("migrate") == 1


# ---- rounds ------------------------------------------------------------------------------


def _assess_some(study):
    """Round 1: anna enters her first two cases, the second one ineligible."""
    first, second = study.open_cases("anna")["case_id"].iloc[:2]
    import_entries(study, [entry(first), entry(second, ineligible=True)], "anna")
    return first, second


def test_a_new_round_lives_beside_the_first(tmp_path):
    """A second round (same case ids, another order) is stored beside the first; the first
    round's assignments, assessments and export are untouched; the study works on round 2."""
    from stikprove.assignment import assign_reviewers
    from stikprove.store import read_stored_sample, store_drawn_sample, stored_rounds
    from store_fixtures import next_round

    sample = make_sample()
    study = create_study(tmp_path / "s.sqlite", sample, reviewers=("anna", "bo"))
    _assess_some(study)
    before = {
        "assessments": study.assessments(current_only=False),
        "assignments": study.assignments(),
        "export": study.export(),
        "status": study.status(),
    }
    round2 = next_round(sample)
    again = store_drawn_sample(round2, study.path)
    assert stored_rounds(study.path) == [1, 2] and again.current_round() == 2
    assert study.current_round() == 2  # a Study follows the latest round
    one = open_study(study.path, round=1)
    pd.testing.assert_frame_equal(one.assessments(current_only=False), before["assessments"])
    pd.testing.assert_frame_equal(one.assignments(), before["assignments"])
    pd.testing.assert_frame_equal(one.export(), before["export"])
    pd.testing.assert_frame_equal(one.status(), before["status"])
    # round 2: its own strata, units in its own order, nothing assigned or entered yet
    units = study.units()
    assert (units["round"] == 2).all() and len(units) == len(sample.units)
    assert units.groupby("stratum")["draw_order"].first().eq(1).all()
    assert study.assignments().empty and study.assessments().empty
    assert study.open_cases("anna").empty
    assert study.strata()["reserves_used"].sum() == 0
    status = study.status()
    assert status["unassigned"].sum() == int(sample.strata["sample_size"].sum())
    assign_reviewers(study, ["anna", "bo"])
    # case ids repeat across rounds: round 2 assigns and assesses them afresh
    a2 = study.assignments()
    assert len(a2) == int(sample.strata["sample_size"].sum())
    assert set(a2["case_id"]) & set(before["assignments"]["case_id"])
    case2 = study.open_cases("bo")["case_id"].iloc[0]
    import_entries(study, [entry(case2)], "bo")
    assert study.export().set_index("case_id").loc[case2, "reviewed"]
    pd.testing.assert_frame_equal(one.export(), before["export"])
    assert open_study(study.path, round=1).export()["reviewed"].sum() == 2
    assert study.export()["reviewed"].sum() == 1
    # each round's sample reads back as drawn (for draw --check)
    back1, back2 = (read_stored_sample(study.path, r) for r in (1, 2))
    assert back1.metadata["round"] == 1 and back2.metadata["round"] == 2
    assert back2.units["draw_order"].tolist() == round2.units["draw_order"].tolist()
    assert back2.units["case_id"].tolist() == round2.units["case_id"].tolist()
    assert back1.units["case_id"].tolist() == sample.units["case_id"].tolist()
    assert "new_round" in study.audit_log()["action"].tolist()


def test_a_round_is_stored_once_and_in_order(tmp_path):
    """The same round again, a skipped round number, another study or another codebook is
    refused with nothing written."""
    from stikprove.codebook import default_codebook
    from stikprove.store import add_round, store_drawn_sample
    from store_fixtures import next_round

    sample = make_sample()
    study = create_study(tmp_path / "s.sqlite", sample)
    with pytest.raises(StoreError, match="already has a sample"):
        store_drawn_sample(sample, study.path)
    with pytest.raises(StoreError, match="expected round 2"):
        store_drawn_sample(next_round(sample, round=3), study.path)
    other = next_round(sample)
    other = type(other)(other.units, other.strata, {**other.metadata, "study_id": "x"},
                        other.protocol_text)  # fmt: skip
    with pytest.raises(StoreError, match="study id 'x'"):
        store_drawn_sample(other, study.path)
    text = default_codebook().text.replace("sikker", "helt_sikker")
    from stikprove.codebook import parse_codebook

    with pytest.raises(StoreError, match="codebook differs"):
        add_round(study.path, next_round(sample), codebook=parse_codebook(text))
    assert study.rounds()["round"].tolist() == [1]
    with study.reading() as con:
        assert con.execute("SELECT count(*) FROM units").fetchone()[0] == len(sample.units)
        assert con.execute("SELECT count(DISTINCT round) FROM strata").fetchone()[0] == 1


def test_open_study_refuses_a_round_it_does_not_hold(tmp_path):
    study = make_study(tmp_path)
    with pytest.raises(StoreError, match="holds no round 2"):
        open_study(study.path, round=2)


def test_strata_counts_reserves_in_one_pass(tmp_path):
    """strata(): reserves used and left per stratum after activations in two strata, read
    without a correlated subquery per stratum (2 s on a national store of 572 strata)."""
    study = make_study(tmp_path)
    units = study.units().set_index("case_id")
    anna = study.open_cases("anna")
    picked = anna.drop_duplicates("stratum").query("kommune_code == '461'")["case_id"]
    import_entries(study, [entry(c, ineligible=True) for c in picked], "anna")
    strata = study.strata().set_index("stratum")
    for key, (_code, _sex, _origin, big_n, n) in STRATA.items():
        used = int(units.loc[list(picked), "stratum"].eq(key).sum()) if big_n > n else 0
        assert strata.loc[key, "reserves_used"] == used
        assert strata.loc[key, "reserves_left"] == big_n - n - used
    assert strata["reserves_used"].sum() == len(picked) == 2
    con = sqlite3.connect(study.path)
    try:
        sql = study.strata.__code__.co_consts
        text = next(c for c in sql if isinstance(c, str) and "FROM strata" in c)
        plan = con.execute("EXPLAIN QUERY PLAN " + text, {"round": 1}).fetchall()
    finally:
        con.close()
    assert not any("CORRELATED" in str(row[-1]) for row in plan)


def test_units_are_stored_column_by_column_as_row_by_row(tmp_path):
    """_insert_units (column-wise since it took 1 s of a national draw) stores every value
    as before: numpy scalars as Python numbers, NaN, NA and NaT as null (not "<NA>" or
    "NaT"), frame dates as YYYY-MM-DD (not 2016-10-01T00:00:00 on worklists)."""
    import json

    sample = make_sample(extra_columns=True)
    units = sample.units.copy()
    units["years_on_benefit"] = [float("nan") if i % 3 else i / 2 for i in range(len(units))]
    units["age"] = pd.array([None if i % 5 == 0 else 30 + i for i in range(len(units))],
                            dtype="Int64")  # fmt: skip
    units["last_effort_date"] = pd.to_datetime("2016-10-01") + pd.to_timedelta(
        range(len(units)), unit="D"
    )
    units.loc[1, "last_effort_date"] = pd.NaT
    units.loc[0, "prn"] = float("nan")
    extra = ["age", "years_on_benefit", "last_effort_date"]
    from stikprove.store.rounds import _insert_units, _json_value

    con = sqlite3.connect(":memory:")
    con.execute(
        "CREATE TABLE units (case_id, stratum, kommune_code, health_exempt, draw_order, "
        "role, inclusion_probability, weight, double_review, prn, round, attributes)"
    )
    _insert_units(con, units, extra, 3)
    stored = con.execute("SELECT * FROM units").fetchall()
    assert len(stored) == len(units)
    for got, rec in zip(stored, units.to_dict("records"), strict=True):
        prn = None if pd.isna(rec["prn"]) else float(rec["prn"])
        attrs = json.dumps({c: _json_value(rec[c]) for c in extra}, ensure_ascii=False)
        assert got == (
            rec["case_id"], rec["stratum"], rec["kommune_code"], int(rec["health_exempt"]),
            rec["draw_order"], rec["role"], rec["inclusion_probability"], rec["weight"],
            int(rec["double_review"]), prn, 3, attrs,
        )  # fmt: skip
    first, second = (json.loads(row[-1]) for row in stored[:2])
    assert first == {"age": None, "years_on_benefit": 0.0,
                     "last_effort_date": "2016-10-01"}  # fmt: skip
    assert second["last_effort_date"] is None and second["years_on_benefit"] is None


def test_a_draw_checkpoints_so_the_sqlite_file_alone_is_whole(tmp_path):
    """While another connection holds the study open (so SQLite keeps its write-ahead log),
    a stored round is checkpointed into the .sqlite file: a copy of that file alone holds
    round 2."""
    import shutil

    from stikprove.store import store_drawn_sample, stored_rounds
    from store_fixtures import next_round

    sample = make_sample()
    store_drawn_sample(sample, tmp_path / "s.sqlite")
    other = sqlite3.connect(tmp_path / "s.sqlite")
    try:
        other.execute("SELECT count(*) FROM units").fetchone()
        store_drawn_sample(next_round(sample), tmp_path / "s.sqlite")
        (tmp_path / "copy").mkdir()
        shutil.copy(tmp_path / "s.sqlite", tmp_path / "copy" / "s.sqlite")
    finally:
        other.close()
    assert stored_rounds(tmp_path / "copy" / "s.sqlite") == [1, 2]


def test_a_read_only_study_folder_is_named_as_such(tmp_path, monkeypatch):
    """A study folder that cannot be written is reported as read-only, with what to do, not
    as 'not a stikprove study store' (tests run as root, who may write anywhere: the
    permission check is simulated)."""
    import stikprove.store.schema as schema

    study = make_study(tmp_path)
    folder = study.path.parent
    monkeypatch.setattr(schema.os, "access", lambda target, mode: Path(target) != folder)
    message = schema.read_only_problem(study.path)
    assert message is not None and "read-only" in message and "chmod u+w" in message
    monkeypatch.undo()
    assert schema.read_only_problem(study.path) is None


def test_a_study_on_a_full_disk_is_named_as_such(tmp_path):
    """A study whose -shm file cannot be written (the process's file-size limit stands in
    for a full disk) is reported as a disk that may be full, not as 'not a stikprove study
    store'."""
    import resource
    import signal

    study = make_study(tmp_path)
    path = study.path
    for side in ("-wal", "-shm"):
        path.with_name(path.name + side).unlink(missing_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with pytest.raises(StoreError) as info:
            open_study(path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    message = str(info.value)
    assert "is the disk full?" in message and "not a stikprove study store" not in message
    assert "\n" not in message


def test_one_reviewers_assignment_and_entries(tmp_path):
    """assignment, current_entry and entered_cases give one reviewer's own view: their
    slot, their current (corrected) entry, never the other reviewer's entry of a
    double-reviewed case."""
    from stikprove.recording import record_assessment
    from store_fixtures import ELIGIBLE_ENTRY, make_study

    study = make_study(tmp_path)
    table = study.assignments()
    double = table.query("review_slot == 2")["case_id"].iloc[0]
    first, second = (table.query("case_id == @double").sort_values("review_slot")["reviewer"]
                     .tolist())  # fmt: skip
    only_first = sorted(set(table.query("reviewer == @first")["case_id"])
                        - set(table.query("reviewer == @second")["case_id"]))[0]  # fmt: skip
    assert study.assignment(double, second)["review_slot"] == 2
    assert study.assignment(only_first, second) is None
    record_assessment(study, first, double, ELIGIBLE_ENTRY)
    changed = {**ELIGIBLE_ENTRY, "confidence": "nogen_tvivl"}
    record_assessment(study, first, double, changed, corrections=True, reason="læst igen")
    assert study.current_entry(double, first)["confidence"] == "nogen_tvivl"
    assert study.current_entry(double, second) is None
    entered = study.entered_cases(first)
    assert entered[["case_id", "version", "confidence"]].to_numpy().tolist() == [
        [double, 2, "nogen_tvivl"]
    ]
    assert study.entered_cases(second).empty


def test_a_study_kept_open_keeps_its_wal_between_transactions(tmp_path):
    """While kept open, a transaction's close is not the last: the WAL file stays (no
    checkpoint and delete at every write); at the end the last close checkpoints it away,
    and the side files are the owner's only."""
    from stikprove.recording import record_assessment
    from store_fixtures import ELIGIBLE_ENTRY

    study = make_study(tmp_path)
    wal = study.path.with_name(study.path.name + "-wal")
    case_id = study.open_cases("anna")["case_id"].iloc[0]
    with study.kept_open():
        record_assessment(study, "anna", case_id, ELIGIBLE_ENTRY)
        assert wal.exists()
        assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600
    assert not wal.exists()
    assert len(study.assessments()) == 1
