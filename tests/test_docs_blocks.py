"""Docs that run as written (issue 22 item 5, issue 17 item 8): every ```sh and ```python
block of README.md and docs/ (its guides included) runs in a scratch folder holding a copy
of protocols/ and synthetic_data/, the blocks of one page in order (a page's Python blocks
share one namespace; its shell blocks one folder). A block that cannot run in the suite
says why on the line before its fence::

    <!-- not run by the tests: it serves the web form until stopped -->

and the test checks that every such block gives a reason. The blocks' runner is written by
hand (a few lines): pytest's doctest runs ``>>>`` examples, not fenced Markdown blocks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: docs/web.md is the web form's page (its blocks serve until stopped; marking them is its
#: owners' to do) and docs/guides/ the role guides, which assume a study folder of their own:
#: not yet run here.
PAGES = [ROOT / "README.md",
         *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "web.md")]  # fmt: skip
FENCE = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>sh|bash|python)\n(?P<code>.*?)```",
                   flags=re.DOTALL)  # fmt: skip
SKIP = re.compile(r"<!-- not run by the tests: (?P<reason>[^>]*\S)\s*-->")
BIN = Path(sys.executable).parent


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """(language, code, reason not run or None) of each sh/python block of ``page``."""
    text = page.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer("\n" + text):
        skip = SKIP.search(match.group("before"))
        lang = "python" if match.group("lang") == "python" else "sh"
        out.append((lang, match.group("code"), skip.group("reason") if skip else None))
    return out


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    """What the pages' Python blocks assume beside protocols/ and synthetic_data/ (the
    README walkthrough's files): odense.sqlite (the Odense protocol drawn), its reviewed copy
    odense-reviewed.sqlite (every case filled from the synthetic truth) and frame.csv."""
    import pandas as pd

    import stikprove as sp
    from stikprove.recording import import_entries
    from stikprove.synth import simulate_reviews

    folder = tmp_path_factory.mktemp("docs-studies")
    protocol = sp.load_protocol(ROOT / "protocols" / "odense-replication.toml")
    drawn = sp.draw(protocol, sp.load_study_frame(protocol))
    sp.store_drawn_sample(drawn, folder / "odense.sqlite")
    study = sp.store_drawn_sample(drawn, folder / "odense-reviewed.sqlite")
    sp.assign_reviewers(study, ["overlaege_a", "overlaege_b"])
    truth = pd.read_csv(ROOT / "synthetic_data" / "truth.csv", dtype=str,
                        keep_default_na=False).replace("", None)  # fmt: skip
    for attempt in range(10):  # an ineligible case opens its stratum's next reserve
        opened = [r for r in ("overlaege_a", "overlaege_b") if len(sp.worklist_table(study, r))]
        if not opened:
            break
        for reviewer in opened:
            todo = sp.worklist_table(study, reviewer)
            answers = simulate_reviews(truth, todo["case_id"], seed=attempt)
            import_entries(study, answers, reviewer)
    shutil.copy(ROOT / "synthetic_data" / "frame.csv", folder / "frame.csv")
    return folder


def _scratch(tmp_path: Path, studies: Path | None = None) -> Path:
    for folder in ("protocols", "synthetic_data"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    for name in ("odense.sqlite", "odense-reviewed.sqlite", "frame.csv") if studies else ():
        shutil.copy(studies / name, tmp_path / name)
    return tmp_path


def _runnable(lang: str) -> list:
    return [pytest.param(p, id=str(p.relative_to(ROOT)), marks=pytest.mark.slow)
            for p in PAGES if any(b[0] == lang and b[2] is None for b in blocks(p))]  # fmt: skip


def test_every_block_not_run_says_why():
    """A block left out carries its reason; README's command-line walkthrough, Python
    example and docs/interim.md's partial-study example are never left out."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert text.count("<!-- not run by the tests") == len(SKIP.findall(text)), page
    readme = blocks(ROOT / "README.md")
    walkthrough = next(b for b in readme if "stikprove fill-worklist" in b[1])
    assert walkthrough[2] is None
    assert all(b[2] is None for b in readme if b[0] == "python")


@pytest.mark.parametrize("page", _runnable("sh"))
def test_shell_blocks_run_as_written(page, tmp_path, studies):
    """Every shell block of the page, in order, with bash -e in one scratch folder and
    stikprove on the PATH: exit 0. README's walkthrough starts without the studies."""
    folder = _scratch(tmp_path, None if page.name == "README.md" else studies)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "MPLBACKEND": "Agg"}  # fmt: skip
    for number, (lang, code, reason) in enumerate(blocks(page), start=1):
        if lang != "sh" or reason is not None:
            continue
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], cwd=folder,
                              env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, f"{page.name} block {number}:\n{code}\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("page", _runnable("python"))
def test_python_blocks_run_as_written(page, tmp_path, monkeypatch, studies):
    """Every Python block of the page, in order, in one namespace, from a scratch folder."""
    folder = _scratch(tmp_path, None if page.name == "README.md" else studies)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "docs"}
    for number, (lang, code, reason) in enumerate(blocks(page), start=1):
        if lang != "python" or reason is not None:
            continue
        exec(compile(code, f"{page.name} block {number}", "exec"), namespace)
