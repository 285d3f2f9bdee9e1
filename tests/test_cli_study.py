"""The study commands through ``stikprove.cli.main``: assign, worklist, import, record,
status, export, audit, and the whole review flow end to end."""

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from stikprove.cli import main
from stikprove.store import create_study, open_study
from store_fixtures import entry, make_sample, write_entries_csv, yesterday

#: Reads today's date: run again a year ahead by `make test` (see conftest.py).
pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def study_path(tmp_path):
    path = tmp_path / "study.sqlite"
    create_study(path, make_sample())
    return path


def assigned(study_path):
    assert main(["assign", str(study_path), "--reviewers", "anna,bo"]) == 0
    return open_study(study_path)


@pytest.mark.parametrize(
    "command", ["assign", "worklist", "import", "record", "status", "export", "audit"]
)
def test_each_command_has_help(command, capsys):
    """Every study command answers --help."""
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "STUDY" in capsys.readouterr().out


def test_assign_prints_counts(study_path, capsys):
    """assign reports how many cases each reviewer got."""
    assigned(study_path)
    out = capsys.readouterr().out
    assert "13 case(s) assigned to anna, bo" in out


def test_worklist_import_status_export_audit(study_path, tmp_path, capsys):
    """A csv worklist round trip: import it, see it in status, export and audit."""
    study = assigned(study_path)
    out = tmp_path / "anna.csv"
    assert main(["worklist", str(study_path), "--reviewer", "anna", "--out", str(out)]) == 0
    sheet = pd.read_csv(out, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    rows = [entry(c) for c in sheet["case_id"][:2]]
    write_entries_csv(tmp_path / "filled.csv", rows)
    assert main(["import", str(study_path), str(tmp_path / "filled.csv"), "--reviewer",
                 "anna"]) == 0  # fmt: skip
    assert "2 new" in capsys.readouterr().out
    assert main(["status", str(study_path), "--format", "csv"]) == 0
    status = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert status.loc[status["reviewer"] == "anna", "done"].sum() == 2
    assert main(["export", str(study_path)]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert table["reviewed"].sum() == 2 and "note" not in table.columns
    assert main(["export", str(study_path), "--double-reviews"]) == 0
    pairs = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert {"health_assessment_1", "health_assessment_2"} <= set(pairs.columns)
    assert main(["audit", str(study_path)]) == 0
    log = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert log["action"].tolist() == ["create", "assign", "import"]
    assert study.audit_log()["source"].iloc[-1].startswith(str(tmp_path / "filled.csv"))


def test_bad_import_exits_2_and_names_the_place(study_path, tmp_path, capsys):
    """A refused import exits 2 with row and column on stderr, and writes nothing."""
    study = assigned(study_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    path = write_entries_csv(tmp_path / "bad.csv", [entry(case, evidence="rygte")])
    assert main(["import", str(study_path), str(path), "--reviewer", "anna"]) == 2
    err = capsys.readouterr().err
    assert "row 2, column 'evidence'" in err and "nothing imported" in err
    assert study.assessments().empty


def test_record_one_line_and_correction(study_path, capsys):
    """record CASE_ID with flags saves a case; --corrections with --reason corrects it."""
    study = assigned(study_path)
    case = study.open_cases("bo")["case_id"].iloc[0]
    flags = ["--eligible", "ja", "--health", "for_syg", "--track", "uaendret", "--effort",
             "tilbud", "--evidence", "journal", "--new-certificate", "nej", "--confidence",
             "sikker", "--date", yesterday()]  # fmt: skip
    assert main(["record", str(study_path), case, "--reviewer", "bo", *flags]) == 0
    assert "1 new" in capsys.readouterr().out
    changed = [*flags[:2], "--health", "kan_med_skaanehensyn", *flags[4:]]
    assert main(["record", str(study_path), case, "--reviewer", "bo", *changed]) == 2
    assert "--corrections" in capsys.readouterr().err
    assert main(["record", str(study_path), case, "--reviewer", "bo", *changed,
                 "--corrections", "--reason", "forkert valgt"]) == 0  # fmt: skip
    current = study.assessments().set_index("case_id")
    assert current.loc[case, "health_assessment"] == "kan_med_skaanehensyn"
    assert current.loc[case, "version"] == 2


def test_record_interactive_from_stdin(study_path, monkeypatch, capsys):
    """record without CASE_ID runs the interactive session on standard input."""
    study = assigned(study_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("2\n1\n\n\nq\n"))
    assert main(["record", str(study_path), "--reviewer", "anna"]) == 0
    assert "Gemt" in capsys.readouterr().out
    assert study.assessments()["ineligible_reason"].tolist() == [
        "ikke_aktivitetsparat_paa_opgoerelsesdato"
    ]


@pytest.mark.parametrize("content", [b"not a database at all", b""])
def test_foreign_file_as_study_exits_2(tmp_path, content, capsys):
    """A non-store file given as STUDY is refused with a clear error, exit 2."""
    path = tmp_path / "x.sqlite"
    path.write_bytes(content)
    assert main(["status", str(path)]) == 2
    assert "not a study store" in capsys.readouterr().err


def fill_worklist(path: Path, bad_row: int | None = None, leave: str | None = None) -> list[str]:
    """Fill a worklist xlsx like a reviewer in Excel (all rows but case ``leave``)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Sager"]
    col = {c.value: c.column for c in ws[1]}
    filled = []
    for row in range(2, ws.max_row + 1):
        if ws.cell(row=row, column=col["case_id"]).value == leave:
            continue
        values = entry("x", review_date=yesterday())
        values["health_assessment"] = "for_syg" if row % 3 else "kan_med_skaanehensyn"
        if row == bad_row:
            values["health_assessment"] = "rask"
        for name, value in values.items():
            if name != "case_id" and value is not None:
                ws.cell(row=row, column=col[name], value=value)
        filled.append(ws.cell(row=row, column=col["case_id"]).value)
    wb.save(path)
    wb.close()
    return filled


@pytest.mark.slow
def test_end_to_end_review(tmp_path, capsys, monkeypatch):
    """Draw → assign → worklists → bad import refused → fixed import → ineligible → reserve →
    analysis table that estimate_proportions takes."""
    from stikprove.estimation import estimate_proportions
    from stikprove.synth import write_synthetic_frame

    monkeypatch.chdir(tmp_path)
    write_synthetic_frame(tmp_path / "synthetic_data", seed=7, kommuner=["461"], scale=0.15)
    (tmp_path / "protocols").mkdir()
    protocol = tmp_path / "protocols" / "odense.toml"
    protocol.write_text((ROOT / "protocols" / "odense-replication.toml").read_text("utf-8"),
                        encoding="utf-8")  # fmt: skip
    study = str(tmp_path / "odense.sqlite")
    assert main(["draw", str(protocol), "--study", study]) == 0
    assert main(["draw", str(protocol), "--study", study]) == 2  # never drawn over
    assert main(["assign", study, "--reviewers", "anna,bo"]) == 0
    capsys.readouterr()

    sheets = {}
    for reviewer in ("anna", "bo"):
        sheets[reviewer] = tmp_path / f"{reviewer}.xlsx"
        assert main(["worklist", study, "--reviewer", reviewer, "--out",
                     str(sheets[reviewer])]) == 0  # fmt: skip

    # anna leaves one case for later; one of her rows has a value not in the codebook
    store = open_study(study)
    with_reserves = store.strata().query("reserves_left > 0")["stratum"]
    mine = store.open_cases("anna").query("review_slot == 1")
    later = mine[mine["stratum"].isin(with_reserves)]["case_id"].iloc[-1]
    fill_worklist(sheets["anna"], bad_row=3, leave=later)
    assert main(["import", study, str(sheets["anna"]), "--reviewer", "anna"]) == 2
    err = capsys.readouterr().err
    assert "sheet 'Sager', row 3, column 'health_assessment'" in err
    assert open_study(study).assessments().empty  # nothing written

    fill_worklist(sheets["anna"], leave=later)  # fixed
    assert main(["import", study, str(sheets["anna"]), "--reviewer", "anna"]) == 0
    fill_worklist(sheets["bo"])
    assert main(["import", study, str(sheets["bo"]), "--reviewer", "bo"]) == 0
    assert main(["import", study, str(sheets["bo"]), "--reviewer", "bo"]) == 0  # idempotent
    assert " 0 new, 0 corrected" in capsys.readouterr().out

    # anna's remaining case turns out to be ineligible: its reserve appears on her worklist
    assert store.open_cases("anna")["case_id"].tolist() == [later]
    assert main(["record", study, later, "--reviewer", "anna", "--eligible", "nej",
                 "--ineligible-reason", "fraflyttet", "--date", yesterday()]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "reserve" in out and "activated" in out
    reserve = store.open_cases("anna")["case_id"].tolist()
    assert len(reserve) == 1
    assert store.units().set_index("case_id").loc[reserve[0], "role"] == "reserve"
    assert main(["worklist", study, "--reviewer", "anna", "--out",
                 str(tmp_path / "anna2.csv")]) == 0  # fmt: skip
    capsys.readouterr()
    again = pd.read_csv(tmp_path / "anna2.csv", dtype=str, encoding="utf-8-sig")
    assert again["case_id"].tolist() == reserve
    assert main(["status", study, "--format", "csv"]) == 0
    status = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert status["reserves_used"].sum() == 1 and status["ineligible"].sum() == 1

    export = tmp_path / "analysis.csv"
    assert main(["export", study, "--out", str(export)]) == 0
    data = pd.read_csv(export)
    assert reserve[0] in set(data["case_id"].astype(str))
    estimates = estimate_proportions(data, outcome="too_ill", strata="stratum",
                                     population_size="population_size")  # fmt: skip
    assert len(estimates) == 1
    assert 0 < estimates["estimate"].iloc[0] < 1
    assert estimates["n"].iloc[0] == data["too_ill"].notna().sum()


def test_status_notes_strata_without_reserves(study_path, capsys):
    """status says when an ineligible case could not be replaced for lack of reserves."""
    study = assigned(study_path)
    census = study.open_cases("anna").query("kommune_code == '825'")["case_id"].iloc[0]
    assert main(["record", str(study_path), census, "--reviewer", "anna", "--eligible", "nej",
                 "--ineligible-reason", "doed"]) == 0  # fmt: skip
    assert "no reserves left" in capsys.readouterr().out
    assert main(["status", str(study_path)]) == 0
    assert "note: stratum 825|kvinde|dansk_oprindelse: 1 ineligible case(s) not replaced" in (
        capsys.readouterr().out
    )


def test_record_refusal_names_the_flags(study_path, capsys):
    """A refused one-line record speaks of its flags (--ineligible-reason, --date), says
    nothing was recorded, and does not repeat the command name; nothing is written."""
    study = assigned(study_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    assert main(["record", str(study_path), case, "--reviewer", "anna", "--eligible", "nej",
                 "--date", "2999-01-01"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.startswith(f"stikprove record: error: case {case}: nothing recorded: 2 problem")
    assert "  - --ineligible-reason (ineligible_reason): got nothing, expected" in err
    assert "  - --date (review_date): got '2999-01-01', expected a date not in the future" in err
    assert "stikprove record: error: stikprove record" not in err
    assert "nothing imported" not in err
    assert study.assessments().empty
    assert main(["record", str(study_path), "nosuch", "--reviewer", "anna", "--eligible",
                 "nej", "--ineligible-reason", "doed"]) == 2  # fmt: skip
    assert "CASE_ID: got 'nosuch', expected a case_id of this study" in capsys.readouterr().err


def test_record_summary_and_help_metavars(study_path, capsys):
    """record says which case it saved (not an import's 'empty rows skipped'); its --help
    shows --date YYYY-MM-DD and --note TEXT rather than CODE."""
    study = assigned(study_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    capsys.readouterr()
    assert main(["record", str(study_path), case, "--reviewer", "anna", "--eligible", "nej",
                 "--ineligible-reason", "doed", "--date", yesterday()]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith(f"case {case}: recorded for anna (1 new)")
    assert "empty row" not in out
    assert main(["record", str(study_path), case, "--reviewer", "anna", "--eligible", "nej",
                 "--ineligible-reason", "doed", "--date", yesterday()]) == 0  # fmt: skip
    assert "unchanged" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["record", "--help"])
    help_text = capsys.readouterr().out
    assert "--date YYYY-MM-DD" in help_text and "--note TEXT" in help_text
    assert "--date CODE" not in help_text and "--note CODE" not in help_text


def test_status_table_ends_with_totals(study_path, capsys):
    """The status table (thousands of rows for a national study) ends with totals per
    reviewer and for the whole study, stratum figures counted once per stratum."""
    study = assigned(study_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    assert main(["record", str(study_path), case, "--reviewer", "anna", "--eligible", "nej",
                 "--ineligible-reason", "doed", "--date", yesterday()]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["status", str(study_path)]) == 0
    out = capsys.readouterr().out
    status = study.status()
    strata = status.drop_duplicates("stratum")
    assert "totals per reviewer:" in out
    assert (
        f"whole study: {status['kommune_code'].nunique()} kommune(r), {len(strata)} strata, "
        f"{strata['sample_size'].sum()} cases taken ({status['reserves_used'].sum()} of them "
        f"reserves); {status['assigned'].sum()} review(s) assigned, 1 done"
    ) in out
    assert main(["status", str(study_path), "--format", "csv"]) == 0
    assert "totals" not in capsys.readouterr().out


def test_audit_help_says_the_trail_covers_every_round(capsys):
    """audit --round does not filter (the trail is the whole study's); its help says so."""
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "the audit trail is the whole study's, every round" in out
    assert "work on round N" not in out


def test_record_refuses_a_cpr_number_in_the_note(study_path, capsys):
    """record --note with a CPR-like number exits 2, names the column, never shows it, and
    writes nothing."""
    study = assigned(study_path)
    case = study.open_cases("bo")["case_id"].iloc[0]
    flags = ["--eligible", "ja", "--health", "for_syg", "--track", "uaendret", "--effort",
             "tilbud", "--evidence", "journal", "--new-certificate", "nej", "--confidence",
             "sikker", "--date", yesterday(), "--note", "ring CPR 010190 1234"]  # fmt: skip
    assert main(["record", str(study_path), case, "--reviewer", "Bo", *flags]) == 2
    err = capsys.readouterr().err
    assert "--note (note)" in err and "not shown" in err and "1234" not in err
    assert study.assessments().empty


def test_a_formula_note_round_trips_through_a_csv_worklist(study_path, tmp_path, capsys):
    """A note that begins like a formula, in a CSV the package neutralised, is stored as
    typed; export never lets a cell begin like a formula."""
    study = assigned(study_path)
    case = study.open_cases("anna")["case_id"].iloc[0]
    path = tmp_path / "filled.csv"
    from stikprove.cells import write_csv

    write_csv(pd.DataFrame([entry(case, note="=HYPERLINK(\"x\")")]), path)
    assert "'=HYPERLINK" in path.read_text(encoding="utf-8")
    assert main(["import", str(study_path), str(path), "--reviewer", "anna"]) == 0
    stored = study.assessments().set_index("case_id")
    assert stored.loc[case, "note"] == '=HYPERLINK("x")'
