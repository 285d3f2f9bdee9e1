"""One version: `_version.py`, read by pyproject, the command line, the study file, every
report, and named in CHANGELOG.md."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from packaging.version import Version

from stikprove._version import __version__
from stikprove.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_a_pep440_version_read_by_pyproject():
    import tomllib

    Version(__version__)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "stikprove._version.__version__"}  # fmt: skip


def test_changelog_follows_keep_a_changelog_and_names_this_version():
    """CHANGELOG.md has an Unreleased section, then released versions newest first with ISO
    dates; a development version is listed under Unreleased, a release under its own
    heading."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n") and "keepachangelog.com" in text
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, flags=re.M)
    assert headings[0] == ("Unreleased", "")
    released = [Version(v) for v, _ in headings[1:]]
    assert released == sorted(released, reverse=True) and Version("0.1.0") in released
    assert all(date for _, date in headings[1:])
    version = Version(__version__)
    if version.is_devrelease or version.is_prerelease:
        assert version.base_version in text.split("## [", 2)[1]  # named under Unreleased
        assert all(v < version for v in released)
    else:
        assert version in released
    sections = set(re.findall(r"^### (\w+)$", text, flags=re.M))
    assert sections <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}


def test_version_option(capsys):
    try:
        main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    assert capsys.readouterr().out.strip() == f"stikprove {__version__}"


def test_the_study_file_records_the_version_that_made_it(tmp_path):
    """The store's meta table and each round's metadata name the stikprove version."""
    import json

    from store_fixtures import make_study

    study = make_study(tmp_path)
    con = sqlite3.connect(study.path)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        rounds = [json.loads(m) for (m,) in con.execute("SELECT metadata FROM rounds")]
    finally:
        con.close()
    assert meta["stikprove_version"] == __version__
    assert rounds and all("package_version" in r for r in rounds)
