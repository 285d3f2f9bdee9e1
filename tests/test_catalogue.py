"""The bad-input catalogue (tests/catalogue/bad_files.toml): every file in it is refused
with exit status 2, a message naming the file, no traceback, and nothing written."""

from __future__ import annotations

import errno
import io
import os
import re
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from stikprove.cli import main
from stikprove.cpr import contains_cpr, mask_cpr
from stikprove.frame import FRAME_COLUMNS
from stikprove.store import open_study
from store_fixtures import entry, make_study

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = tomllib.loads((ROOT / "tests/catalogue/bad_files.toml").read_text("utf-8"))["bad"]

FRAME_ROWS = [
    ["a01", "461", "kvinde", "indvandrer_ikke_vestlig", "45", "3.5", "aktivitetsparat", "ja",
     "2016-05-03"],
    ["a02", "461", "mand", "dansk_oprindelse", "38", "10.0", "aktivitetsparat", "ja", ""],
    ["a03", "461", "kvinde", "dansk_oprindelse", "59", "0.4", "aktivitetsparat", "ja", ""],
    ["a04", "461", "mand", "efterkommer_ikke_vestlig", "27", "", "aktivitetsparat", "ja", ""],
    ["a05", "461", "kvinde", "dansk_oprindelse", "33", "1.0", "aktivitetsparat", "ja", ""],
]  # fmt: skip
PROTOCOL = """\
[study]
id = "catalogue"
title = "Katalog"
seed = 1

[frame]
path = "frame.xlsx"

[strata]
columns = ["sex"]

[precision]
indicator = "too_ill"
anticipated = 0.2
margin = 0.3

[budget]
max_reviews = 2
minutes_per_review = 45

[allocation]
method = "proportional"
minimum = 1
"""


# --------------------------------------------------------------------------------------
# recipes: each writes the bad file at `path` (and may return extra arguments)


def _frame(rename=None, replace=None, extra_column=None) -> pd.DataFrame:
    df = pd.DataFrame(FRAME_ROWS, columns=list(FRAME_COLUMNS))
    if extra_column:
        df[extra_column["name"]] = extra_column["value"]
    if replace:
        df = df.replace(replace)
    if rename:
        df.columns = [rename.get(c, c) for c in df.columns]
    return df


def frame_csv(path, rename=None, replace=None, extra_column=None, append_to_row=None,
              encoding="utf-8"):  # fmt: skip
    lines = _frame(rename, replace, extra_column).to_csv(index=False).splitlines()
    if append_to_row:
        lines[append_to_row["row"] - 1] += append_to_row["text"]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def frame_xlsx(path, rename=None, extra_cell=None):
    book = openpyxl.Workbook()
    sheet = book.active
    df = _frame(rename)
    sheet.append(list(df.columns))
    for row in df.itertuples(index=False):
        sheet.append(list(row))
    if extra_cell:
        sheet[extra_cell] = "stray"
    book.save(path)


def truncated_xlsx(path):
    frame_xlsx(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def random_bytes(path):
    path.write_bytes(bytes((i * 7919) % 251 for i in range(4000)))


def ole_file(path):
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088))


def empty_file(path):
    path.write_bytes(b"")


def empty_workbook(path):
    openpyxl.Workbook().save(path)


def far_cell_xlsx(path, ref):
    """A valid frame workbook whose sheet XML gains one cell at ``ref`` (written into the
    XML directly: openpyxl itself stops at Excel's limits)."""
    frame_xlsx(path)
    source = io.BytesIO(path.read_bytes())
    target = io.BytesIO()
    row = re.sub(r"[A-Z]", "", ref)
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                cell = f'<row r="{row}"><c r="{ref}" t="inlineStr"><is><t>x</t></is></c></row>'
                data = data.replace(b"</sheetData>", cell.encode() + b"</sheetData>")
            new.writestr(item, data)
    path.write_bytes(target.getvalue())


def extract_csv(path, note="", output_is_folder=False):
    df = pd.DataFrame({"cpr": ["010190-1234", "020285-1111"], "note": [note, ""]})
    df.to_csv(path, index=False)
    if output_is_folder:
        (path.parent / "out.csv").mkdir()


def _worklist(path, note=None, reason=None):
    """anna's first two cases, filled (the study is made beside ``path``)."""
    study = make_study(path.parent)
    cases = study.open_cases("anna")["case_id"].tolist()[:2]
    rows = [entry(c, note=note if i == 0 else None) for i, c in enumerate(cases)]
    df = pd.DataFrame(rows)
    df["reason"] = [reason, None]
    return df


def worklist_csv(path, note=None, reason=None, extra=None, encoding="utf-8", duplicate=None):
    df = _worklist(path, note, reason)
    if duplicate:
        df.insert(len(df.columns), duplicate, df[duplicate], allow_duplicates=True)
    lines = df.to_csv(index=False).splitlines()
    if extra:
        lines[1] += "," + extra
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


def worklist_xlsx(path, note=None, blank_rows_to=None):
    df = _worklist(path, note)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sager"
    sheet.append(list(df.columns))
    for row in df.itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in row])
    if blank_rows_to:  # rows with an empty text cell each, down to a far row
        for number in range(len(df) + 2, blank_rows_to + 1):
            sheet.cell(row=number, column=1).value = " "
    book.save(path)


def truncated_worklist_xlsx(path):
    worklist_xlsx(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# --------------------------------------------------------------------------------------


def _arguments(entry: dict, path: Path, folder: Path) -> list[str]:
    command = entry["command"]
    if command == "validate-frame":
        return ["validate-frame", str(path)]
    if command == "pseudonymize":
        key = folder / "k.key"
        key.write_text("8f1c2a9e5b7d3f60" * 2 + "1e4a7c2b9d6f0385" * 2 + "\n")
        key.chmod(0o600)
        return ["pseudonymize", str(path), str(folder / "out.csv"), "--column", "cpr",
                "--key-file", str(key)]  # fmt: skip
    if command == "draw":
        (folder / "p.toml").write_text(PROTOCOL.replace("frame.xlsx", path.name))
        return ["draw", str(folder / "p.toml"), "--study", str(folder / "s.sqlite")]
    if command == "import":
        if not (folder / "study.sqlite").exists():
            make_study(folder)
        return ["import", str(folder / "study.sqlite"), str(path), "--reviewer", "anna"]
    raise AssertionError(f"unknown command {command!r} in the catalogue")


def _listing(folder: Path) -> dict[str, object]:
    """What the folder holds: each file's bytes, a study store's included (its SQLite side
    files aside, which opening a store may touch), and a store's assessments and audit log
    as it reads them."""
    out: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        name = str(p.relative_to(folder))
        if name.endswith(("-wal", "-shm")):
            continue
        out[name] = p.read_bytes() if p.is_file() else None
        if p.suffix == ".sqlite":
            study = open_study(p)
            out[name + " (read)"] = (study.assessments().to_csv(), study.audit_log().to_csv())
    return out


@pytest.mark.parametrize("bad", CATALOGUE, ids=[e["name"] for e in CATALOGUE])
def test_each_bad_file_is_refused_with_exit_2_and_nothing_written(bad, tmp_path, capsys):
    """Exit 2; the message names the file and says what was expected; no traceback; the
    folder holds afterwards exactly what it held before."""
    folder = tmp_path / "work"
    folder.mkdir()
    path = folder / bad["file"]
    globals()[bad["make"]](path, **bad.get("args", {}))
    argv = _arguments(bad, path, folder)
    before = _listing(folder)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert _listing(folder) == before
    assert "Traceback" not in captured.err and captured.out == ""
    message = captured.err.strip()
    assert message.startswith(f"stikprove {bad['command']}: error: ")
    assert mask_cpr(path.name) in message or "out.csv" in message
    assert re.search(bad["expect"], message.splitlines()[0] + message), message
    assert not contains_cpr(message)  # never echoes a CPR number


def test_the_catalogue_names_each_entry_once():
    """Every entry has a unique name, a known recipe and a command."""
    names = [e["name"] for e in CATALOGUE]
    assert len(names) == len(set(names))
    for bad in CATALOGUE:
        assert callable(globals().get(bad["make"])), bad["make"]
        assert bad["command"] in ("validate-frame", "pseudonymize", "draw", "import")


@pytest.mark.parametrize(
    ("code", "expected"),
    [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "read-only"),
     (errno.EACCES, "permission denied")],
)  # fmt: skip
def test_an_os_error_on_writing_ends_with_one_line_and_nothing_left(
    code, expected, tmp_path, monkeypatch, capsys
):
    """A full disk, a read-only file system or a refused permission while the output is
    renamed into place: exit 2, one line naming the output, no temporary file left."""
    folder = tmp_path / "work"
    folder.mkdir()
    extract_csv(folder / "extract.csv")
    argv = _arguments({"command": "pseudonymize"}, folder / "extract.csv", folder)
    before = _listing(folder)

    def failing_replace(source, destination):
        raise OSError(code, os.strerror(code), str(source), None, str(destination))

    monkeypatch.setattr(os, "replace", failing_replace)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and expected in err and "out.csv" in err
    assert _listing(folder) == before
