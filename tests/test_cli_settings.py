"""A study's protocol settings are the defaults of the commands that read it
(``Study.protocol``, :func:`stikprove.protocol.parse_stored_protocol`): confidence level,
interval method and disclosure threshold; every table names them, and an option given
overrides and is named."""

import io
from pathlib import Path

import pandas as pd
import pytest

from stikprove.cli import main
from stikprove.estimation.domains import estimate_proportions
from stikprove.protocol import load_protocol
from stikprove.recording import import_entries
from store_fixtures import PROTOCOL_TEXT, entry, make_study

#: Reads today's date through the review entries: run again a year ahead by `make test`.
pytestmark = pytest.mark.clock

ROOT = Path(__file__).resolve().parents[1]
ODENSE = ROOT / "protocols" / "odense-replication.toml"


def _protocol_text(level: float = 0.90, method: str = "korn-graubard", threshold: int = 5):
    """The Odense protocol with the given level, method and threshold."""
    text = ODENSE.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key == "confidence_level":
            line = f"confidence_level = {level}"
        elif key == "interval_method":
            line = f'interval_method = "{method}"'
        elif key == "disclosure_threshold":
            line = f"disclosure_threshold = {threshold}"
        lines.append(line)
    text = "\n".join(lines) + "\n"
    if "interval_method" not in text:
        text = text.replace("[precision]\n", f'[precision]\ninterval_method = "{method}"\n')
    if "confidence_level" not in text:
        text = text.replace("[precision]\n", f"[precision]\nconfidence_level = {level}\n")
    return text


def _reviewed_study(tmp_path, text):
    """A test study storing ``text`` as its protocol, every sampled case reviewed (every
    third one too ill), the double-reviewed ones by both reviewers."""
    study = make_study(tmp_path, protocol_text=text)
    for i, (reviewer, group) in enumerate(study.assignments().groupby("reviewer")):
        rows = [entry(c, review_date="2026-11-20",
                      health_assessment="for_syg" if (i + j) % 3 == 0 else "kan_med_skaanehensyn")
                for j, c in enumerate(group["case_id"])]  # fmt: skip
        import_entries(study, rows, reviewer)
    return study


def test_the_stored_protocol_is_parsed_by_the_protocol_parser(tmp_path):
    """study.protocol of a study storing the Odense protocol gives what load_protocol
    gives (tests/test_study_protocol.py: the refusals)."""
    protocol = load_protocol(ODENSE)
    stored = make_study(tmp_path, protocol_text=protocol.text).protocol
    assert stored.confidence_level == protocol.confidence_level
    assert stored.interval_method == protocol.interval_method
    assert stored.disclosure_threshold == protocol.disclosure_threshold
    assert stored.indicator == protocol.indicator and stored.targets == protocol.targets


def test_estimate_takes_the_protocols_level_and_method_and_says_so(tmp_path, capsys):
    """A protocol with 90 % and korn-graubard: `estimate STUDY` prints the 90 %
    Korn–Graubard interval, and its caption says so and where it came from."""
    study = _reviewed_study(tmp_path, _protocol_text(0.90, "korn-graubard"))
    assert main(["estimate", str(study.path), "--outcome", "too_ill"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(
        "intervals: 90 % confidence level (the study protocol's), method korn-graubard "
        "(the study protocol's)"
    )
    argv = ["estimate", str(study.path), "--outcome", "too_ill", "--format", "csv", "--raw"]
    assert main(argv) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    expected = estimate_proportions(study.export(), "too_ill", "stratum", "population_size",
                                    confidence_level=0.90, method="korn-graubard")  # fmt: skip
    assert printed["ci_low"].iloc[0] == pytest.approx(expected["ci_low"].iloc[0], abs=1e-9)
    assert set(printed["confidence_level"]) == {0.9}
    assert set(printed["method"]) == {"korn-graubard"}


def test_an_option_overrides_the_protocol_and_is_named(tmp_path, capsys):
    """--confidence-level and --method given: used, and named as the caption's source."""
    study = _reviewed_study(tmp_path, _protocol_text(0.90, "korn-graubard"))
    argv = ["estimate", str(study.path), "--outcome", "too_ill",
            "--confidence-level", "0.8", "--method", "wilson"]  # fmt: skip
    assert main(argv) == 0
    caption = capsys.readouterr().out.splitlines()[0]
    assert "80 % confidence level (--confidence-level)" in caption
    assert "method wilson (--method)" in caption


def test_compare_flag_and_agreement_take_the_protocols_level(tmp_path, capsys):
    """compare and agreement use the protocol's level; compare its method for the groups."""
    study = _reviewed_study(tmp_path, _protocol_text(0.90, "korn-graubard"))
    argv = ["compare", str(study.path), "--outcome", "too_ill", "--by", "sex", "--raw"]
    assert main(argv) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines()[1:])
    assert float(lines["confidence_level"]) == 0.9
    assert lines["interval_method"] == "korn-graubard"
    assert main(["flag", str(study.path), "--outcome", "too_ill", "--raw"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("intervals: 90 % confidence level (the study protocol's), "
                             "method korn-graubard")  # fmt: skip
    assert main(["agreement", str(study.path)]) == 0
    assert capsys.readouterr().out.startswith("confidence level 90 % (the study protocol's)")


def test_the_protocols_threshold_is_the_default(tmp_path, capsys):
    """A protocol's disclosure threshold of 10 is used and named; --disclosure-threshold
    overrides it."""
    study = _reviewed_study(tmp_path, _protocol_text(0.95, "korn-graubard", threshold=10))
    argv = ["estimate", str(study.path), "--outcome", "too_ill", "--by", "stratum"]
    assert main(argv) == 0
    assert "counts under 10 suppressed (the study protocol's)" in capsys.readouterr().out
    assert main([*argv, "--disclosure-threshold", "3"]) == 0
    assert "counts under 3 suppressed (--disclosure-threshold)" in capsys.readouterr().out


def test_an_exported_csv_takes_the_defaults_and_says_so(tmp_path, capsys):
    """An exported CSV carries no protocol: the defaults, named as such."""
    study = _reviewed_study(tmp_path, PROTOCOL_TEXT)
    csv = tmp_path / "analysis.csv"
    study.export().to_csv(csv, index=False)
    assert main(["estimate", str(csv), "--outcome", "too_ill"]) == 0
    caption = capsys.readouterr().out.splitlines()[0]
    assert caption.startswith("intervals: 95 % confidence level (the default), method "
                              "pooled-hypergeometric (the default)")  # fmt: skip


@pytest.mark.parametrize(("given", "hint"), [("95", "write 0.95"), ("0", ""), ("1.5", "")])
def test_a_confidence_level_out_of_range_is_refused_with_a_hint(tmp_path, capsys, given, hint):
    """--confidence-level 95 says to write 0.95; any level outside (0, 1) is refused."""
    csv = tmp_path / "analysis.csv"
    _reviewed_study(tmp_path, PROTOCOL_TEXT).export().to_csv(csv, index=False)
    assert main(["estimate", str(csv), "--outcome", "too_ill", "--confidence-level", given]) == 2
    err = capsys.readouterr().err
    assert f"--confidence-level {given}: expected a number between 0 and 1" in err
    assert hint in err
