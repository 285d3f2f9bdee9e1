"""Messages that say what to do (issue 22 item 4): no class names, "did you mean" for the
names a user types, the next command before any review, relative protocol paths explained."""

import shutil
from pathlib import Path

import pytest

from stikprove.cli import main
from stikprove.errors import EstimationError, Problem, did_you_mean
from stikprove.recording import import_entries
from store_fixtures import entry, make_study, write_entries_csv

#: Reads today's date through the review entries: run again a year ahead by `make test`.
pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[1]


def _first_cases(study, reviewer="anna", count=2):
    first = study.assignments().query("review_slot == 1 and reviewer == @reviewer")
    return first["case_id"].tolist()[:count]


def test_did_you_mean_finds_other_case_and_close_names():
    """The same name in other case first, then a close one; nothing for a far one."""
    assert did_you_mean("Ja", ["ja", "nej"]) == " (did you mean 'ja'?)"
    assert did_you_mean("46", ["461", "825"]) == " (did you mean '461'?)"
    assert did_you_mean("zzz", ["ja", "nej"]) == ""


def test_an_empty_cell_is_called_one():
    """A problem with an empty cell says "an empty cell", not None."""
    assert "got an empty cell, expected" in str(Problem(3, "eligible", None, "ja or nej"))


def test_import_suggests_the_code_meant(tmp_path, capsys):
    """`Ja` in the eligible column: refused, with "did you mean 'ja'"."""
    study = make_study(tmp_path)
    rows = [entry(c, review_date="2026-11-20") for c in _first_cases(study)]
    rows[0]["eligible"] = "Ja"
    path = write_entries_csv(tmp_path / "anna.csv", rows)
    assert main(["import", str(study.path), str(path), "--reviewer", "anna"]) == 2
    assert "got 'Ja', expected one of ja, nej (did you mean 'ja'?)" in capsys.readouterr().err


def test_import_names_a_column_it_did_not_import(tmp_path, capsys):
    """A column the physician added is named, not silently dropped."""
    study = make_study(tmp_path)
    rows = [dict(entry(c, review_date="2026-11-20"), kommentar="se journal")
            for c in _first_cases(study)]  # fmt: skip
    path = write_entries_csv(tmp_path / "anna.csv", rows)
    assert main(["import", str(study.path), str(path), "--reviewer", "anna"]) == 0
    err = capsys.readouterr().err
    assert "'kommentar' are not on the worklist and were not imported" in err


def test_estimate_suggests_the_outcome_meant(tmp_path, capsys):
    """--outcome too_il names too_ill and the indicators."""
    study = make_study(tmp_path)
    import_entries(study, [entry(c, review_date="2026-11-20") for c in _first_cases(study)],
                   "anna")  # fmt: skip
    assert main(["estimate", str(study.path), "--outcome", "too_il"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'too_ill'?" in err and "too_ill, misclassified, no_effort" in err


def test_the_python_api_suggests_the_column_meant():
    """estimate_proportions with a mistyped outcome names the column meant."""
    import pandas as pd

    from stikprove import estimate_proportions

    d = pd.DataFrame({"stratum": ["a"], "N": [3], "too_ill": [1.0]})
    with pytest.raises(EstimationError, match="did you mean 'too_ill'"):
        estimate_proportions(d, "too_il", "stratum", "N")


def test_report_before_any_review_says_so_and_names_the_next_command(tmp_path, capsys):
    """No review yet: exit 2, no "rendered 0 reports", no class name; worklist, import and
    status named."""
    study = make_study(tmp_path)
    argv = ["report", str(study.path), "--kommune", "461", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "no case is reviewed yet" in captured.err and "stikprove worklist" in captured.err
    assert "stikprove status" in captured.err and "Error" not in captured.err
    assert "rendered" not in captured.out and not (tmp_path / "r").exists()


def test_a_failed_report_gives_the_message_without_the_class_name():
    """A report failure from the package's own error shows its message only."""
    from stikprove.reports.render import _error_message

    assert _error_message(EstimationError("outcome too_ill: none")) == "outcome too_ill: none"


def test_design_of_a_study_store_says_it_is_not_a_protocol(tmp_path, capsys):
    """A .sqlite given to design is named as a study store, not "expected UTF-8 text"."""
    study = make_study(tmp_path)
    assert main(["design", str(study.path)]) == 2
    err = capsys.readouterr().err
    assert "is a study store (SQLite), not a protocol" in err and "UTF-8" not in err


def test_a_missing_frame_explains_relative_paths(tmp_path, capsys):
    """A protocol whose relative frame path does not resolve: the message says the path is
    relative to the protocol's own folder."""
    folder = tmp_path / "protocols"
    folder.mkdir()
    text = (ROOT / "protocols" / "odense-replication.toml").read_text(encoding="utf-8")
    text = text.replace('path = "../synthetic_data/frame.csv"', 'path = "data/frame.csv"')
    (folder / "study.toml").write_text(text, encoding="utf-8")
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "synthetic_data" / "frame.csv", tmp_path / "data" / "frame.csv")
    assert main(["design", str(folder / "study.toml")]) == 2
    err = capsys.readouterr().err
    assert '[frame] path = "data/frame.csv"' in err
    assert "relative to the protocol's own folder" in err


def test_report_suggests_the_kommune_meant(tmp_path, capsys):
    """--kommune 46 names 461."""
    study = make_study(tmp_path)
    import_entries(study, [entry(c, review_date="2026-11-20") for c in _first_cases(study)],
                   "anna")  # fmt: skip
    argv = ["report", str(study.path), "--kommune", "46", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    assert "did you mean '461'?" in capsys.readouterr().err
