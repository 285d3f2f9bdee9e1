"""The documentation site builds in strict mode (no broken link or anchor, no missing API
reference, no other warning), so a change anywhere that breaks it fails here, not in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_documentation_site_builds_strictly(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(tmp_path / "site")], cwd=ROOT, env=env, capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    site = tmp_path / "site"
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "stikprove init" in cli and "stikprove report" in cli
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "load_protocol" in api and "render_report" in api
    for guide in ("researcher", "socialoverlaege", "analyst"):
        assert (site / "guides" / guide / "index.html").is_file()
