"""The frame step's command line: synth, validate-frame, pseudonymize."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stikprove.cli import main

STIKPROVE = Path(sys.executable).parent / "stikprove"
SMALL = "461,147,825"


@pytest.fixture
def synth_dir(tmp_path):
    """A small synthetic frame written by the command line."""
    assert main(["synth", "--out", str(tmp_path / "x"), "--seed", "1", "--kommuner", SMALL]) == 0
    return tmp_path / "x"


def write_bad_frame(synth_dir: Path, change) -> Path:
    """frame.csv with a change applied, written as bad.csv beside it."""
    frame = pd.read_csv(synth_dir / "frame.csv", dtype=str, keep_default_na=False)
    change(frame)
    path = synth_dir / "bad.csv"
    frame.to_csv(path, index=False)
    return path


def test_synth_twice_gives_identical_files(tmp_path, capsys):
    """`stikprove synth --out DIR --seed 1` twice writes byte-identical files."""
    for name in ("a", "b"):
        assert (
            main(["synth", "--out", str(tmp_path / name), "--seed", "1", "--kommuner", SMALL]) == 0
        )
    for name in ("frame.csv", "truth.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert "cases in 3 kommuner" in capsys.readouterr().out


def test_validate_frame_prints_rows_kommuner_and_fingerprint(synth_dir, capsys):
    """validate-frame on a synthetic frame succeeds and prints the summary."""
    assert main(["validate-frame", str(synth_dir / "frame.csv")]) == 0
    out = capsys.readouterr().out
    assert "a valid frame" in out
    assert "kommuner:       3" in out
    rows = len(pd.read_csv(synth_dir / "frame.csv"))
    assert f"rows (cases):   {rows:,}" in out
    assert "fingerprint:" in out


def test_validate_frame_refuses_a_duplicate_case_id(synth_dir, capsys):
    """A repeated case_id exits 2 with the row, column and value."""

    def duplicate(frame):
        frame.loc[3, "case_id"] = frame.loc[0, "case_id"]

    bad = write_bad_frame(synth_dir, duplicate)
    assert main(["validate-frame", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 5, column 'case_id'" in err
    assert "a unique case_id (the same case_id is in row 2)" in err


def test_validate_frame_refuses_kommune_999(synth_dir, capsys):
    """Kommune code 999 exits 2 naming the row and what was expected."""

    def unknown(frame):
        frame.loc[0, "kommune_code"] = "999"

    assert main(["validate-frame", str(write_bad_frame(synth_dir, unknown))]) == 2
    err = capsys.readouterr().err
    assert "row 2, column 'kommune_code': got '999'" in err
    assert "98 official 3-digit kommune codes" in err


def test_validate_frame_refuses_a_cpr_column_without_echoing_it(synth_dir, capsys):
    """A CPR column exits 2, names the column and pseudonymize, never shows the numbers."""

    def add_cpr(frame):
        frame["cpr"] = [f"0{1 + i % 9}0190-{i % 10000:04d}" for i in range(len(frame))]

    assert main(["validate-frame", str(write_bad_frame(synth_dir, add_cpr))]) == 2
    err = capsys.readouterr().err
    assert "'cpr'" in err
    assert "stikprove pseudonymize" in err
    assert "0190-" not in err


def test_validate_frame_refuses_a_missing_file(tmp_path, capsys):
    """A file that does not exist exits 2."""
    assert main(["validate-frame", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kommuner", "461,999"], "kommune '999' is not one of the 98"),
        (["--kommuner", ","], "--kommuner: expected codes"),
        (["--scale", "-1"], "scale must be a positive number"),
    ],
)
def test_synth_refuses_bad_arguments_and_writes_nothing(tmp_path, capsys, args, message):
    """An unknown kommune, an empty list or a negative scale exits 2 with nothing written."""
    assert main(["synth", "--out", str(tmp_path / "x"), "--seed", "1", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def cpr_extract(synth_dir: Path) -> Path:
    """The synthetic frame with case_id replaced by a CPR column, as a register extract."""
    frame = pd.read_csv(synth_dir / "frame.csv", dtype=str, keep_default_na=False)
    frame["case_id"] = [
        f"{1 + i % 28:02d}{1 + i % 12:02d}{i % 100:02d}-{i:04d}" for i in range(len(frame))
    ]
    frame = frame.rename(columns={"case_id": "cpr"})
    frame.to_csv(synth_dir / "extract.csv", index=False)
    return synth_dir / "extract.csv"


def test_pseudonymize_with_a_new_key_gives_a_valid_frame(synth_dir, tmp_path, capsys):
    """pseudonymize --new-key writes a 0600 key and a frame that validates and holds no CPR."""
    extract = cpr_extract(synth_dir)
    key = tmp_path / "keys" / "study.key"
    key.parent.mkdir()
    out = synth_dir / "pseudo.csv"
    args = ["pseudonymize", str(extract), str(out), "--column", "cpr", "--key-file", str(key)]
    assert main([*args, "--new-key"]) == 0
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert "no CPR numbers" in capsys.readouterr().out
    assert main(["validate-frame", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "-0001" not in text and "cpr" not in text.splitlines()[0]
    first = out.read_bytes()
    assert main(args) == 0  # the same key again: the same ids
    assert out.read_bytes() == first


def test_pseudonymize_refuses_to_run_without_a_key(synth_dir, capsys):
    """Without --key-file it exits 2 with a clear message and writes nothing."""
    out = synth_dir / "pseudo.csv"
    assert main(["pseudonymize", str(cpr_extract(synth_dir)), str(out), "--column", "cpr"]) == 2
    assert "a key is required: give --key-file KEY" in capsys.readouterr().err
    assert not out.exists()


def test_pseudonymize_refuses_a_missing_key_file(synth_dir, tmp_path, capsys):
    """A --key-file that does not exist (without --new-key) exits 2."""
    args = [
        "pseudonymize",
        str(cpr_extract(synth_dir)),
        str(synth_dir / "o.csv"),
        "--column",
        "cpr",
    ]
    assert main([*args, "--key-file", str(tmp_path / "none.key")]) == 2
    assert "not found" in capsys.readouterr().err


def test_pseudonymize_new_key_refuses_to_overwrite_a_key(synth_dir, tmp_path, capsys):
    """--new-key with an existing key file exits 2 and leaves the key as it was."""
    key = tmp_path / "study.key"
    key.write_text("00" * 32 + "\n")
    args = [
        "pseudonymize",
        str(cpr_extract(synth_dir)),
        str(synth_dir / "o.csv"),
        "--column",
        "cpr",
    ]
    assert main([*args, "--key-file", str(key), "--new-key"]) == 2
    assert "refusing to overwrite a key" in capsys.readouterr().err
    assert key.read_text() == "00" * 32 + "\n"
    assert not (synth_dir / "o.csv").exists()


@pytest.mark.parametrize("command", ["synth", "validate-frame", "pseudonymize"])
def test_each_command_has_help(command, capsys):
    """--help describes each command and exits 0."""
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: stikprove {command}" in capsys.readouterr().out


def test_installed_command_runs_synth(tmp_path, capsys):
    """The installed `stikprove` script writes a synthetic frame that then validates."""
    run = [str(STIKPROVE), "synth", "--out", str(tmp_path), "--seed", "3", "--kommuner", "825"]
    done = subprocess.run(run, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "frame.csv" in done.stdout
    assert main(["validate-frame", str(tmp_path / "frame.csv")]) == 0


def test_synth_refuses_to_replace_another_frame_without_force(tmp_path, capsys):
    """synth into a folder holding another synthetic frame (a study may have been drawn
    from it) is refused, nothing written; the same seed again is fine; --force replaces."""
    out = tmp_path / "x"
    assert main(["synth", "--out", str(out), "--seed", "1", "--kommuner", SMALL]) == 0
    before = (out / "frame.csv").read_bytes(), (out / "truth.csv").read_bytes()
    assert main(["synth", "--out", str(out), "--seed", "1", "--kommuner", SMALL]) == 0
    capsys.readouterr()
    assert main(["synth", "--out", str(out), "--seed", "2", "--kommuner", SMALL]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: frame.csv and truth.csv already hold(s) another synthetic" in err
    assert "--force" in err and "nothing was written" in err
    assert ((out / "frame.csv").read_bytes(), (out / "truth.csv").read_bytes()) == before
    assert sorted(p.name for p in out.iterdir()) == ["frame.csv", "truth.csv"]
    argv = ["synth", "--out", str(out), "--seed", "2", "--kommuner", SMALL, "--force"]
    assert main(argv) == 0
    assert (out / "frame.csv").read_bytes() != before[0]


def test_folders_created_for_out_are_private(tmp_path):
    """synth --out a/b creates a and b with mode 0700 (whatever the umask); a folder that
    exists already keeps its mode."""
    tmp_path.chmod(0o755)
    old = os.umask(0o022)
    try:
        assert main(["synth", "--out", str(tmp_path / "a" / "b"), "--seed", "1",
                     "--kommuner", "825"]) == 0  # fmt: skip
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755
