"""The README's Python example runs as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_python_example_runs_as_written(tmp_path, monkeypatch, capsys):
    """The one ```python block of README.md, run from a copy of the repository's top folder
    (protocols/ and synthetic_data/), prints the estimates by origin."""
    blocks = _python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) == 1
    for folder in ("protocols", "synthetic_data"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert "indvandrer_ikke_vestlig" in printed and "ci_low" in printed
    assert (tmp_path / "odense-python.sqlite").is_file()
