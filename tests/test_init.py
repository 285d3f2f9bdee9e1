"""`stikprove init`, the placeholders a template leaves, and `stikprove notebooks`."""

from __future__ import annotations

import re
import shlex
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.cli import build_parser, main
from stikprove.commands.init import TEMPLATES, init_study
from stikprove.errors import ProtocolError, StikproveError
from stikprove.protocol import load_protocol
from stikprove.protocol.placeholders import MARKER, placeholders
from strategies import scaled, toml_documents, toml_scalars

FILLED = {"[study] title": '"Genvurdering i Odense"', "[budget] max_reviews": "200",
          "[eligibility] kommuner": '["461"]'}  # fmt: skip


def _fill(path: Path) -> None:
    """Fill in every placeholder of a fresh kommune protocol as a researcher would."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'^title = "FILL IN[^"]*"', f"title = {FILLED['[study] title']}", text,
                  flags=re.M)  # fmt: skip
    text = re.sub(r'^max_reviews = "FILL IN[^"]*"', "max_reviews = 200", text, flags=re.M)
    text = re.sub(r'^kommuner = \["FILL IN[^"]*"\]', 'kommuner = ["461"]', text, flags=re.M)
    path.write_text(text, encoding="utf-8")


def _left(capsys) -> list[str]:
    err = capsys.readouterr().err
    return [line.strip()[2:] for line in err.splitlines() if line.strip().startswith("- ")]


def test_init_makes_the_folder_layout_readme_gitignore_and_protocol(tmp_path, capsys):
    """A fresh kommune study: protocol.toml, README.md, .gitignore, frame/, worklists/ and
    reports/; the frame and worklist folders and the study folder readable by their owner
    only."""
    folder = tmp_path / "Odense 2027"
    assert main(["init", str(folder), "--seed", "11"]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == [".gitignore", "README.md", "frame", "protocol.toml", "reports", "worklists"]
    for private in (folder, folder / "frame", folder / "worklists"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
    doc = tomllib.loads((folder / "protocol.toml").read_text(encoding="utf-8"))
    assert doc["study"]["id"] == "odense-2027" and doc["study"]["seed"] == 11
    assert doc["frame"]["path"] == "frame/frame.csv"
    assert "protocol.toml" in capsys.readouterr().out


def test_check_protocol_on_a_fresh_init_lists_exactly_what_is_left(tmp_path, capsys):
    """check-protocol on a fresh kommune study names the title, the kommune, the budget and
    the missing frame, and nothing else (exit 2)."""
    init_study(tmp_path / "s", seed=1)
    assert main(["check-protocol", str(tmp_path / "s" / "protocol.toml")]) == 2
    left = _left(capsys)
    assert [line.split(":")[0] for line in left] == [
        "[study] title", "[eligibility] kommuner", "[budget] max_reviews",
        "[frame] path = 'frame/frame.csv'"]  # fmt: skip
    assert "e.g. 461" in left[1] and "stikprove pseudonymize" in left[3]


def test_a_filled_in_protocol_checks_and_the_kommune_can_be_given_at_init(tmp_path, capsys):
    """--kommune fills the kommune in; once the title and budget are filled in, the protocol
    loads and check-protocol says only that the frame is not there yet."""
    init_study(tmp_path / "s", kommune="Odense", seed=3)
    path = tmp_path / "s" / "protocol.toml"
    assert main(["check-protocol", str(path)]) == 2
    assert [line.split(":")[0] for line in _left(capsys)] == [
        "[study] title", "[budget] max_reviews", "[frame] path = 'frame/frame.csv'"]  # fmt: skip
    _fill(path)
    protocol = load_protocol(path)
    assert protocol.kommuner == ("461",) and protocol.max_reviews == 200
    assert main(["check-protocol", str(path)]) == 0
    out = capsys.readouterr().out
    assert "protocol OK" in out and f"note: frame {tmp_path / 's' / 'frame' / 'frame.csv'}" in out


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_gives_a_protocol_that_loads_once_filled_in(tmp_path, template):
    """Each template's protocol, with its placeholders filled in, loads; its frame is the
    folder's frame/frame.csv and its seed the one given."""
    init_study(tmp_path / "s", template, seed=5)
    path = tmp_path / "s" / "protocol.toml"
    _fill(path)
    protocol = load_protocol(path)
    assert protocol.frame_path == tmp_path / "s" / "frame" / "frame.csv"
    assert protocol.seed == 5 and protocol.study_id == "s"
    assert "Written by stikprove" in protocol.text


def test_init_writes_a_random_seed_that_is_never_cpr_like(tmp_path, monkeypatch):
    """Without --seed, init draws one; a draw that reads as a CPR number (2101901234: the
    protocol would refuse it) is drawn again."""
    from stikprove.commands import init
    from stikprove.cpr import contains_cpr

    draws = iter([2101901233, 1234567])  # + 1 each: 2101901234 reads as a CPR number
    assert contains_cpr("2101901234")
    monkeypatch.setattr(init.secrets, "randbelow", lambda _: next(draws))
    init_study(tmp_path / "a", "odense")
    assert load_protocol(tmp_path / "a" / "protocol.toml").seed == 1234568


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_study_readme_commands_are_valid_commands(tmp_path, template):
    """Every `stikprove` line of the study README parses (options and order as the command
    line has them), in the order of the flow."""
    init_study(tmp_path / "s", template, seed=1)
    readme = (tmp_path / "s" / "README.md").read_text(encoding="utf-8")
    lines = [line for line in readme.splitlines() if line.startswith("stikprove ")]
    commands = [shlex.split(line)[1] for line in lines]
    assert commands == ["pseudonymize", "validate-frame", "check-protocol", "design", "design",
                        "draw", "assign", "worklist", "import", "status", "report"]  # fmt: skip
    for line in lines:
        build_parser().parse_args(shlex.split(line)[1:])


def test_gitignore_keeps_personal_data_out_of_version_control(tmp_path):
    """In a git repository, the frame, keys, the study store, worklists and case-level
    exports are ignored; the protocol, README and reports are not."""
    folder = init_study(tmp_path / "s", seed=1)
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    ignored = ["frame/frame.csv", "keys/studie.key", "studie.key", "study.sqlite",
               "study.sqlite-journal", "worklists/overlaege_a.xlsx", "analysis.csv",
               "export.parquet"]  # fmt: skip
    kept = ["protocol.toml", "README.md", "reports/461.html", "reports/461.ipynb",
            "reports/design/design_explorer.html"]  # fmt: skip
    done = subprocess.run(["git", "check-ignore", "--no-index", *ignored, *kept], cwd=folder,
                          capture_output=True, text=True)  # fmt: skip
    assert done.stdout.split() == ignored


def test_init_refusals_write_nothing(tmp_path):
    """A folder that holds files, --kommune with another template, an unknown kommune, a
    negative seed: refused, and no folder is made."""
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("x")
    with pytest.raises(StikproveError, match=r"busy: exists and is not an empty folder"):
        init_study(busy)
    with pytest.raises(StikproveError, match=r"--kommune 461: only with --template kommune"):
        init_study(tmp_path / "a", "odense", kommune="461")
    with pytest.raises(StikproveError, match=r"kommune '411' is not one of the 98 kommuner"):
        init_study(tmp_path / "b", kommune="411")
    with pytest.raises(StikproveError, match=r"--seed must be a whole number ≥ 0; got -1"):
        init_study(tmp_path / "c", seed=-1)
    with pytest.raises(StikproveError, match=r"--template must be one of kommune"):
        init_study(tmp_path / "d", "regional")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


def test_init_into_an_empty_folder_is_allowed(tmp_path):
    (tmp_path / "s").mkdir()
    init_study(tmp_path / "s", seed=2)
    assert (tmp_path / "s" / "protocol.toml").is_file()


def test_a_placeholder_refuses_the_protocol_wherever_it_is_loaded(tmp_path):
    """draw and design load the protocol as check-protocol does: a value still to fill in
    is named, not reported as a wrong value of its key."""
    init_study(tmp_path / "s", kommune="461", seed=1)
    with pytest.raises(ProtocolError, match=r"not filled in yet.*\n  - \[study\] title: to "
                                            r"fill in \(the study's title"):  # fmt: skip
        load_protocol(tmp_path / "s" / "protocol.toml")


placeholder_values = st.text(max_size=8).map(lambda hint: f"{MARKER}: {hint}")


@settings(max_examples=scaled(30))
@given(toml_documents(toml_scalars.filter(
    lambda v: not (isinstance(v, str) and v.strip().upper().startswith(MARKER)))))
def test_a_document_without_placeholders_has_none(doc):
    assert placeholders(doc) == []


@settings(max_examples=scaled(30))
@given(toml_documents(st.one_of(toml_scalars.filter(
    lambda v: not (isinstance(v, str) and v.strip().upper().startswith(MARKER))),
    placeholder_values)))  # fmt: skip
def test_every_placeholder_is_found_once(doc):
    """placeholders() finds each marked value once, wherever it is nested."""

    def count(value) -> int:
        if isinstance(value, str):
            return int(value.startswith(MARKER))
        if isinstance(value, dict):
            return sum(count(v) for v in value.values())
        if isinstance(value, list):
            return sum(count(v) for v in value)
        return 0

    found = placeholders(doc)
    assert len(found) == count(doc)
    assert all(key.startswith("[") or " " not in key for key, _ in found)


def test_notebooks_copies_the_shipped_notebooks_and_never_overwrites(tmp_path, capsys):
    """`stikprove notebooks --out DIR` copies the three notebooks and their README; a
    second run is refused, naming the files, and changes nothing."""
    from stikprove.packaged import notebook

    out = tmp_path / "mine"
    assert main(["notebooks", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "design_explorer.ipynb", "kommune_report.ipynb",
                     "national_overview.ipynb"]  # fmt: skip
    assert (out / "kommune_report.ipynb").read_bytes() == notebook("kommune").read_bytes()
    (out / "kommune_report.ipynb").write_text("edited")
    capsys.readouterr()
    assert main(["notebooks", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"already holds {out / 'kommune_report.ipynb'}" in err
    assert (out / "kommune_report.ipynb").read_text() == "edited"
