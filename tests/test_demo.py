"""`stikprove demo`: the whole flow on synthetic data, end to end."""

import pandas as pd
import pytest

from stikprove.cli import main


@pytest.mark.slow
def test_demo_runs_the_whole_flow_and_can_run_again(tmp_path, capsys):
    """The demo draws, reviews, exports and estimates; a second run replaces its own output."""
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--replications", "100", "--no-national"]) == 0
    printed = capsys.readouterr().out
    for step in ("synth", "validate-frame", "check-protocol", "design", "draw", "assign",
                 "worklist", "status", "export", "estimate", "compare", "agreement",
                 "simulate"):  # fmt: skip
        assert f"$ stikprove {step}" in printed
    # Odense's claim against the replication's own interval, and why it is not published
    claim = next(line for line in printed.splitlines() if line.startswith("Odense's claim"))
    assert "NOT FOR PUBLICATION" in claim and "95% CI" in claim and "withholds it:" in claim
    analysis = pd.read_csv(out / "analysis.csv", dtype={"case_id": str})
    assert analysis["reviewed"].all()
    assert "note" not in analysis.columns
    assert (out / "odense.sqlite").stat().st_mode & 0o777 == 0o600
    assert (out / "worklists" / "overlaege_a.xlsx").is_file()
    coverage = pd.read_csv(out / "coverage.csv")
    assert set(coverage["method"]) >= {"korn-graubard", "wilson"}
    # the protocol names its frame relative to itself: a copied demo folder reads its own
    protocol = (out / "odense-replication.toml").read_text(encoding="utf-8")
    assert 'path = "frame/frame.csv"' in protocol and str(tmp_path) not in protocol
    assert main(["demo", "--out", str(out), "--replications", "50", "--no-national"]) == 0


def test_demo_refuses_a_folder_it_did_not_write(tmp_path, capsys):
    """An existing folder without the demo's marker is never deleted."""
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "not an earlier demo's output" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"
