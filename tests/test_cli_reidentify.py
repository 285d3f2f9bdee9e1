"""``stikprove reidentify`` through ``stikprove.cli.main``: the round trip on the synthetic
demo data, the refusals (exit 2, nothing written), the audit, and that no file of the study,
its exports or its reports holds a CPR number afterwards."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pandas as pd
import pytest

from reid_fixtures import OTHER_KEY, demo_data, keyed_study, write_key
from stikprove.cli import main
from stikprove.cpr import contains_cpr
from stikprove.reidentification import HEADER_ROW, LOOKUP_SHEET


def read_list(path: Path) -> pd.DataFrame:
    return pd.read_excel(path, sheet_name=LOOKUP_SHEET, header=HEADER_ROW - 1, dtype=str,
                         engine="openpyxl")  # fmt: skip


def cli_flow(folder: Path) -> tuple[Path, Path, Path, pd.DataFrame]:
    """The physician's path from the command line up to the lookup list: synthetic demo
    extract -> pseudonymize (new key) -> draw -> assign -> reidentify for overlaege_a.
    Returns the key holder's folder, the study, the list and the extract."""
    secure, study_dir, extract = demo_data(folder)
    key = secure / "studie.key"
    study = study_dir / "odense.sqlite"
    assert main(["pseudonymize", str(secure / "udtraek.csv"), str(study_dir / "frame.csv"),
                 "--column", "cpr", "--key-file", str(key), "--new-key"]) == 0  # fmt: skip
    assert main(["draw", str(study_dir / "odense.toml"), "--study", str(study)]) == 0
    assert main(["assign", str(study), "--reviewers", "overlaege_a,overlaege_b"]) == 0
    out = secure / "opslag-overlaege_a.xlsx"
    assert main(["reidentify", str(study), "--extract", str(secure / "udtraek_fuld.csv"),
                 "--column", "cpr", "--key-file", str(key), "--reviewer", "overlaege_a",
                 "--columns", "navn,sagsnummer", "--out", str(out)]) == 0  # fmt: skip
    return secure, study, out, extract


def test_round_trip_from_the_command_line(tmp_path, capsys):
    """The list holds overlaege_a's worklist cases, in its order, with exactly the CPR
    numbers, names and case numbers of those persons; mode 600; the audit shows the run."""
    _, study, out, extract = cli_flow(tmp_path)
    printed = capsys.readouterr().out
    assert "frame fingerprint matched" in printed and "marked confidential" in printed
    worklist = tmp_path / "worklist.xlsx"
    assert main(["worklist", str(study), "--reviewer", "overlaege_a", "--out", str(worklist)]) == 0
    cases = pd.read_excel(worklist, sheet_name="Sager", dtype=str, engine="openpyxl")["case_id"]
    table = read_list(out)
    assert table["case_id"].tolist() == cases.tolist()
    frame = pd.read_csv(study.parent / "frame.csv", dtype=str)
    person = extract.assign(case_id=frame["case_id"]).set_index("case_id").loc[cases]
    assert table["cpr"].tolist() == person["cpr"].tolist()
    assert table["sagsnummer"].str.fullmatch(r"S-\d{5}").all()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["audit", str(study)]) == 0
    log = capsys.readouterr().out
    row = next(line for line in log.splitlines() if ",reidentify," in line)
    assert f"reviewer overlaege_a's open cases; {len(cases)} case(s)" in row
    assert "stikprove reidentify" in row and not contains_cpr(log)


def test_the_commands_of_the_physicians_path_parse():
    """Every `stikprove pseudonymize` and `stikprove reidentify` command of
    docs/reidentification.md (English and Danish) is a valid command line."""
    import shlex

    from stikprove.cli import build_parser

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "reidentification.md").read_text(encoding="utf-8")
    text = re.sub(r"\\?\n\s*", " ", text)  # one line: continuations and wrapped lines joined
    lines = re.findall(r"stikprove pseudonymize [^`]*--new-key|stikprove reidentify [^`]*\.xlsx",
                       text)  # fmt: skip
    assert len(lines) == 4, lines  # each command in both languages
    for line in lines:
        args = build_parser().parse_args(shlex.split(line)[1:])
        assert args.key_file.name == "studie.key", line


def test_reidentify_has_help(capsys):
    """--help names every option of the issue's command."""
    with pytest.raises(SystemExit) as exit_:
        main(["reidentify", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--extract", "--column", "--key-file", "--reviewer", "--columns", "--out"):
        assert option in text


@pytest.fixture
def keyed(tmp_path):
    study, persons = keyed_study(tmp_path)
    secure = tmp_path / "secure"
    secure.mkdir(mode=0o700)
    persons.drop(columns="case_id").to_csv(secure / "extract.csv", index=False)
    write_key(secure / "study.key")
    write_key(secure / "other.key", OTHER_KEY)
    first = study.units(in_sample_only=True)["case_id"].iloc[0]
    persons[persons["case_id"] != first].drop(columns="case_id").to_csv(
        secure / "missing.csv", index=False
    )
    pd.concat([persons, persons.iloc[:1]]).drop(columns="case_id").to_csv(
        secure / "doubled.csv", index=False
    )
    return study, secure


@pytest.mark.parametrize(
    ("extract", "key", "out", "message"),
    [
        ("extract.csv", "other.key", "secure", "not the key the study's frame"),
        ("missing.csv", "study.key", "secure", "1 of 13 case\\(s\\) not found"),
        ("doubled.csv", "study.key", "secure", "found 2 times: rows 2, 37"),
        ("extract.csv", "study.key", "study", "refused: .* is the study's folder"),
    ],
)
def test_refusals_exit_2_with_nothing_written(keyed, capsys, extract, key, out, message):
    """A wrong key, a missing and a duplicated person, the study's folder: exit status 2,
    one message, no file and no audit row."""
    study, secure = keyed
    folder = secure if out == "secure" else study.path.parent
    before = {p.name for p in folder.iterdir()}
    code = main(
        [
            "reidentify",
            str(study.path),
            "--extract",
            str(secure / extract),
            "--column",
            "cpr",
            "--key-file",
            str(secure / key),
            "--out",
            str(folder / "list.xlsx"),
        ]
    )
    assert code == 2
    assert re.search(message, capsys.readouterr().err)
    assert {p.name for p in folder.iterdir()} == before
    assert "reidentify" not in set(study.audit_log()["action"])


@pytest.mark.slow
def test_no_file_of_the_study_its_exports_or_reports_holds_a_cpr_number(tmp_path):
    """After re-identification, every file beside the study (the store, its -wal, the
    frame), the export, the audit trail, a worklist and a rendered kommune report: the
    package's detector finds no CPR-like number, and none of the extract's CPR numbers
    appears in any spelling."""
    from stikprove.reports.render import KernelSession, render_notebook
    from stikprove.store import open_study
    from stikprove.synth import simulate_reviews

    _, study, out, extract = cli_flow(tmp_path)
    assert len(read_list(out)) > 0
    folder = study.parent
    truth = pd.read_csv(tmp_path / "synth" / "truth.csv", dtype=str, keep_default_na=False)
    frame = pd.read_csv(folder / "frame.csv", dtype=str)
    truth = truth.assign(case_id=truth["case_id"].map(
        dict(zip(pd.read_csv(tmp_path / "synth" / "frame.csv", dtype=str)["case_id"],
                 frame["case_id"], strict=True))))  # fmt: skip
    for reviewer in ("overlaege_a", "overlaege_b"):
        todo = open_study(study).open_cases(reviewer)["case_id"]
        filled = simulate_reviews(truth.replace("", None), todo, seed=1)
        filled.to_csv(folder / f"{reviewer}.csv", index=False)
        assert main(["import", str(study), str(folder / f"{reviewer}.csv"), "--reviewer",
                     reviewer]) == 0  # fmt: skip
    assert main(["export", str(study), "--out", str(folder / "analysis.csv")]) == 0
    assert main(["audit", str(study), "--out", str(folder / "audit.csv")]) == 0
    assert main(["worklist", str(study), "--reviewer", "overlaege_a",
                 "--out", str(folder / "worklists" / "a.xlsx")]) == 0  # fmt: skip
    reports = folder / "reports"
    with KernelSession(cwd=tmp_path) as session:
        render_notebook("kommune", {"study": str(study), "kommune": "461"}, reports,
                        session=session)  # fmt: skip
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files) and any(p.name == "analysis.csv" for p in files)
    spellings = {s for c in extract["cpr"] for s in (c, c.replace("-", ""))}
    digits = re.compile(r"(?=(\d{6}-?\d{4}))")  # every ten-digit run, overlapping
    for path in files:
        text = path.read_bytes().decode("latin-1")
        if path.suffix == ".xlsx":  # a zip: scan the unpacked sheets
            import zipfile

            with zipfile.ZipFile(path) as archive:
                text = " ".join(archive.read(n).decode("utf-8") for n in archive.namelist()
                                if n.endswith(".xml"))  # fmt: skip
        assert not contains_cpr(text), path.name
        assert spellings.isdisjoint(digits.findall(text)), path.name
