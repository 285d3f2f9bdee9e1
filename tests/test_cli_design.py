"""The check-protocol, design and draw commands, end to end on a synthetic frame."""

from __future__ import annotations

import html
import json
import re
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from stikprove.cli import main
from stikprove.commands.sampling import load_saved_sample, saved_rounds
from stikprove.sampling import write_sample
from stikprove.synth import write_synthetic_frame

ROOT = Path(__file__).resolve().parents[1]
ODENSE = ROOT / "protocols" / "odense-replication.toml"


@cache
def _frame_text() -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        write_synthetic_frame(folder, seed=11, kommuner=["461", "147", "825"])
        return (Path(folder) / "frame.csv").read_text(encoding="utf-8")


@pytest.fixture
def study(tmp_path: Path) -> Path:
    """A folder with data/frame.csv (synthetic: 461, 147, 825) and the Odense protocol beside
    it, its frame path pointing at data/frame.csv."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "frame.csv").write_text(_frame_text(), encoding="utf-8")
    text = ODENSE.read_text(encoding="utf-8").replace(
        '"../synthetic_data/frame.csv"', '"data/frame.csv"'
    )
    (tmp_path / "odense.toml").write_text(text, encoding="utf-8")
    return tmp_path


def run(*argv: str | Path) -> int:
    return main([str(a) for a in argv])


def test_check_protocol_summarises_a_good_protocol(study, capsys):
    """A valid protocol exits 0 and prints its summary and the eligible cases in the frame."""
    assert run("check-protocol", study / "odense.toml") == 0
    out = capsys.readouterr().out
    assert "protocol OK" in out and "odense-replication" in out
    assert "eligible" in out and "10 strata" in out


def test_check_protocol_names_every_problem(study, capsys):
    """A protocol with several faults exits 2 and names each one with its expected form."""
    text = (study / "odense.toml").read_text(encoding="utf-8")
    text = (
        text.replace("seed = 20161121", "seed = -1")
        .replace('method = "precision"', 'method = "clever"')
        .replace("[budget]", "[budget]\nhours = 3")
    )
    (study / "bad.toml").write_text(text, encoding="utf-8")
    assert run("check-protocol", study / "bad.toml") == 2
    err = capsys.readouterr().err
    assert "3 problem(s)" in err
    assert "seed = -1: expected a whole number >= 0" in err
    assert "method = 'clever': expected one of proportional, equal, neyman, precision" in err
    assert "[budget] unknown key 'hours'" in err


def test_check_protocol_without_frame_checks_the_protocol_only(tmp_path, capsys):
    """A protocol whose frame is not there yet is still checked (with a note)."""
    (tmp_path / "p.toml").write_text(ODENSE.read_text(encoding="utf-8"), encoding="utf-8")
    assert run("check-protocol", tmp_path / "p.toml") == 0
    assert "not found; only the protocol was checked" in capsys.readouterr().out


def test_design_table_formats(study, capsys):
    """design prints a table, a CSV of the strata, or JSON with strata, domains and summary."""
    assert run("design", study / "odense.toml") == 0
    out = capsys.readouterr().out
    assert "physician hours" in out and "expected_half_width" in out
    assert run("design", study / "odense.toml", "--format", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("stratum,sex,origin,population_size,sample_size")
    assert len(lines) == 11
    assert run("design", study / "odense.toml", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["reviews"] == sum(s["sample_size"] for s in doc["strata"])
    assert [d["domain"] for d in doc["domains"]] == ["461", "all"]


def test_design_explorer_renders_from_the_design_command(study, capsys):
    """design --explore DIR executes notebooks/design_explorer.ipynb for the protocol (the
    one test that runs it): a self-contained page with its precision figure, the allocations
    and the hours table,
    in the language asked for, beside the design table; with --frame it is refused."""
    out = study / "explore"
    assert run("design", study / "odense.toml", "--explore", out, "--language", "en") == 0
    assert f"design explorer: {out / 'design_explorer.html'}" in capsys.readouterr().out
    page = (out / "design_explorer.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<img[^>]+src="data:image/png;base64,', page)) == 1
    assert "Physician hours" in page and "Expected ± whole study" in page and "Neyman" in page
    assert "Traceback" not in page and not re.search(r"<script[^>]+src=", page)
    # a title naming the protocol, an explanation, the protocol's own allocation beside the
    # others, which groups will be publishable, and groups in words, not stratum codes
    assert "<title>Design explorer: Odense: genvurdering" in page
    words = html.unescape(page)
    assert "Before the sample is drawn" in words and "The protocol's allocation" in words
    assert "Which groups can be published?" in page and "Women of Danish origin" in page
    assert "Warning:</strong> 2 of 10 groups cannot be published" in page
    assert "kvinde|dansk_oprindelse" not in page
    frame = study / "data" / "frame.csv"
    assert run("design", study / "odense.toml", "--explore", out, "--frame", frame) == 2
    assert "leave out --frame" in capsys.readouterr().err


def test_draw_twice_in_new_folders_gives_identical_files(study, capsys):
    """Two draws into two new studies give byte-identical units.csv and strata.csv."""
    assert run("draw", study / "odense.toml", "--study", study / "s1") == 0
    assert run("draw", study / "odense.toml", "--study", study / "s2") == 0
    out = capsys.readouterr().out
    assert "drew round 1" in out
    a = write_sample(load_saved_sample(study / "s1", 1), study / "a")
    b = write_sample(load_saved_sample(study / "s2", 1), study / "b")
    for name in ("units.csv", "strata.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    units = pd.read_csv(a / "units.csv", dtype=str)
    assert set(units["role"]) == {"sample", "reserve"}


def test_drawing_again_is_refused_without_new_round(study, capsys):
    """A second draw into a study with a sample exits 2 and writes nothing."""
    assert run("draw", study / "odense.toml", "--study", study / "s") == 0
    before = (study / "s").read_bytes()
    assert run("draw", study / "odense.toml", "--study", study / "s") == 2
    assert "already has a sample (round 1)" in capsys.readouterr().err
    assert (study / "s").read_bytes() == before


def test_check_redraws_and_compares(study, capsys):
    """--check redraws the saved round from the same frame and finds it identical."""
    assert run("draw", study / "odense.toml", "--study", study / "s") == 0
    assert saved_rounds(study / "s") == [1]
    assert run("draw", study / "odense.toml", "--study", study / "s", "--check") == 0
    assert "round 1 redrawn from the same frame is identical" in capsys.readouterr().out


def test_new_round_is_stored_beside_the_first(study, capsys):
    """--new-round adds round 2 to the study store; round 1's entries stay; --check reads
    round 2 back from the store; export and status take --round."""
    from stikprove.store import open_study

    s = study / "s.sqlite"
    assert run("draw", study / "odense.toml", "--study", s) == 0
    assert run("assign", s, "--reviewers", "anna,bo") == 0
    one = open_study(s)
    case = one.open_cases("anna")["case_id"].iloc[0]
    flags = ["--eligible", "ja", "--health", "for_syg", "--track", "uaendret", "--effort",
             "ingen", "--evidence", "journal", "--new-certificate", "nej", "--confidence",
             "sikker", "--date", "2026-11-20"]  # fmt: skip
    assert run("record", s, case, "--reviewer", "anna", *flags) == 0
    before = one.for_round(1).assessments(current_only=False)
    assert run("draw", study / "odense.toml", "--study", s, "--new-round") == 0
    assert "drew round 2" in capsys.readouterr().out
    assert saved_rounds(s) == [1, 2]
    first, second = load_saved_sample(s, 1), load_saved_sample(s, 2)
    assert first.metadata["round"] == 1 and second.metadata["round"] == 2
    assert first.metadata["frame_fingerprint"] == second.metadata["frame_fingerprint"]
    assert set(first.units["case_id"]) == set(second.units["case_id"])
    assert first.units["case_id"].tolist() != second.units["case_id"].tolist()
    import pandas.testing as pdt

    pdt.assert_frame_equal(open_study(s, round=1).assessments(current_only=False), before)
    assert run("draw", study / "odense.toml", "--study", s, "--check") == 0
    assert "round 2 redrawn from the same frame is identical" in capsys.readouterr().out
    assert run("export", s, "--round", "1", "--out", study / "e1.csv") == 0
    assert run("export", s, "--out", study / "e2.csv") == 0
    e1 = pd.read_csv(study / "e1.csv", dtype={"case_id": str})
    e2 = pd.read_csv(study / "e2.csv", dtype={"case_id": str})
    assert e1["reviewed"].sum() == 1 and e2["reviewed"].sum() == 0
    assert set(e2["case_id"]) == set(second.units.query("role == 'sample'")["case_id"])
    assert run("status", s, "--round", "1", "--format", "csv") == 0
    status = capsys.readouterr().out
    assert run("status", s, "--round", "3") == 2
    assert "holds no round 3" in capsys.readouterr().err
    assert "anna" in status


@pytest.mark.parametrize(
    "fields", [(), ("age", "years_on_benefit"), ("health_exempt", "kommune_code")]
)
def test_worklists_show_only_the_protocols_frame_fields(study, capsys, fields):
    """The draw keeps the frame fields the protocol lists in [review] worklist_fields for
    worklists, and only those: case_id, kommune and stratum always, health_exempt only when
    listed; --check still finds the stored sample identical to the redraw."""
    from stikprove.store import open_study
    from stikprove.worklist import worklist_table

    text = (study / "odense.toml").read_text(encoding="utf-8")
    if fields:
        listed = ", ".join(f'"{f}"' for f in fields)
        text = text.replace("# worklist_fields = [", f"worklist_fields = [{listed}]  # [")
    (study / "p.toml").write_text(text, encoding="utf-8")
    s = study / "s.sqlite"
    assert run("draw", study / "p.toml", "--study", s) == 0
    assert run("assign", s, "--reviewers", "anna,bo") == 0
    table = worklist_table(open_study(s), "anna")
    shown = [f for f in fields if f != "kommune_code"]
    codebook = list(open_study(s).codebook.field_names)
    assert list(table.columns) == ["case_id", "kommune_code", "kommune_name", "stratum",
                                   *shown, *codebook, "reason"]  # fmt: skip
    frame = pd.read_csv(study / "data" / "frame.csv", dtype={"case_id": str}).set_index("case_id")
    for f in shown:
        expected = frame.loc[table["case_id"], f].tolist()
        got = table[f].tolist()
        if f == "health_exempt":
            expected = [str(v).lower() in ("true", "1", "ja") for v in expected]
        assert got == pytest.approx(expected) if f != "health_exempt" else got == expected
    assert run("draw", study / "p.toml", "--study", s, "--check") == 0
    assert "identical" in capsys.readouterr().out


def test_changed_frame_is_refused_for_a_new_round(study, capsys):
    """A changed frame is refused (--new-round, --check), naming fingerprints; nothing written."""
    assert run("draw", study / "odense.toml", "--study", study / "s") == 0
    before = (study / "s").read_bytes()
    frame = study / "data" / "frame.csv"
    lines = frame.read_text(encoding="utf-8").splitlines(keepends=True)
    frame.write_text("".join(lines[:-1]), encoding="utf-8")  # one case fewer
    assert run("draw", study / "odense.toml", "--study", study / "s", "--new-round") == 2
    err = capsys.readouterr().err
    assert "has changed since round 1 was drawn" in err and "fingerprint" in err
    assert run("draw", study / "odense.toml", "--study", study / "s", "--check") == 2
    assert "has changed since round 1 was drawn" in capsys.readouterr().err
    assert (study / "s").read_bytes() == before


def test_flags_need_an_existing_sample(study, capsys):
    """--new-round on a study without a sample is refused."""
    assert run("draw", study / "odense.toml", "--study", study / "s", "--new-round") == 2
    assert "has no sample yet" in capsys.readouterr().err
    assert not (study / "s").exists()


def test_missing_strata_column_is_refused_and_nothing_written(study, capsys):
    """A frame without a strata column exits 2 naming the column; no study is created."""
    frame = pd.read_csv(study / "data" / "frame.csv", dtype=str, keep_default_na=False)
    text = (
        (study / "odense.toml")
        .read_text(encoding="utf-8")
        .replace('"data/frame.csv"', '"data/small.csv"')
        .replace("[frame]\n", '[frame]\ncolumns = { sex = "koen" }\n')
    )
    (study / "p.toml").write_text(text, encoding="utf-8")
    frame.drop(columns="sex").to_csv(study / "data" / "small.csv", index=False)
    assert run("draw", study / "p.toml", "--study", study / "s") == 2
    assert "koen" in capsys.readouterr().err
    assert not (study / "s").exists()


def test_budget_below_minimums_is_refused_and_nothing_written(study, capsys):
    """A budget smaller than strata × minimum exits 2 naming both; no study is created."""
    text = (
        (study / "odense.toml")
        .read_text(encoding="utf-8")
    )
    text = re.sub(r"max_reviews = \d+", "max_reviews = 20", text)
    text = re.sub(r"minimum = \d+", "minimum = 4", text)
    (study / "p.toml").write_text(text, encoding="utf-8")
    assert run("design", study / "p.toml") == 2
    assert run("draw", study / "p.toml", "--study", study / "s") == 2
    err = capsys.readouterr().err
    assert "budget of 20 reviews is smaller than the minimum per stratum" in err
    assert not (study / "s").exists()


def test_follow_up_study_avoids_the_first(study, capsys):
    """A follow-up with coordination avoid runs and reports reselection where strata force it."""
    assert run("draw", study / "odense.toml", "--study", study / "first") == 0
    text = (study / "odense.toml").read_text(encoding="utf-8")
    text = text.replace('id = "odense-replication"', 'id = "odense-follow-up"').replace(
        'mode = "independent"            # first study: nothing to coordinate with',
        'mode = "avoid"\nprevious = "first"',
    )
    (study / "follow.toml").write_text(text, encoding="utf-8")
    assert run("draw", study / "follow.toml", "--study", study / "second") == 0
    out = capsys.readouterr().out
    assert "coordination avoid:" in out
    first = load_saved_sample(study / "first", 1).units
    second = load_saved_sample(study / "second", 1).units
    reused = set(first.query("role == 'sample'").case_id) & set(
        second.query("role == 'sample'").case_id
    )
    if reused:
        assert "avoid: stratum" in out


def test_draw_with_a_bad_protocol_writes_nothing(study, capsys):
    """A protocol with an unknown key is refused by draw (exit 2) and no study appears."""
    text = (
        (study / "odense.toml")
        .read_text(encoding="utf-8")
        .replace("[allocation]", "[allocation]\nstrategy = 'fast'")
    )
    (study / "bad.toml").write_text(text, encoding="utf-8")
    assert run("draw", study / "bad.toml", "--study", study / "s") == 2
    assert "[allocation] unknown key 'strategy': expected one of method, minimum" in (
        capsys.readouterr().err
    )
    assert not (study / "s").exists()


def test_check_reports_a_changed_protocol(study, capsys):
    """--check after the seed was edited reports that the redraw differs and why."""
    assert run("draw", study / "odense.toml", "--study", study / "s") == 0
    text = (study / "odense.toml").read_text(encoding="utf-8")
    (study / "odense.toml").write_text(text.replace("seed = 20161121", "seed = 1"), "utf-8")
    assert run("draw", study / "odense.toml", "--study", study / "s", "--check") == 2
    err = capsys.readouterr().err
    assert "differs from the sample saved" in err and "protocol changed" in err


def test_check_protocol_refuses_worklist_fields_missing_from_the_frame(study, capsys):
    """[review] worklist_fields must name columns of the frame: check-protocol exits 2."""
    text = (study / "odense.toml").read_text(encoding="utf-8")
    good = text.replace("[review]", '[review]\nworklist_fields = ["age", "years_on_benefit"]')
    (study / "good.toml").write_text(good, encoding="utf-8")
    assert run("check-protocol", study / "good.toml") == 0
    assert "age, years_on_benefit" in capsys.readouterr().out
    bad = text.replace("[review]", '[review]\nworklist_fields = ["age", "shoe_size"]')
    (study / "bad.toml").write_text(bad, encoding="utf-8")
    assert run("check-protocol", study / "bad.toml") == 2
    assert "worklist_fields names ['shoe_size']" in capsys.readouterr().err


def test_design_shows_domain_targets_and_rates_by_group(study, capsys):
    """design prints each target's domains with their expected half-width and whether met."""
    text = (study / "odense.toml").read_text(encoding="utf-8")
    text = re.sub(
        r"\nmargin = [0-9.]+",
        "\nmargin = 0.13\ntargets = ["
        '{ domain = "sex", margin = 0.1 }, { domain = "all", margin = 0.05 }]',
        text,
    ).replace(
        "anticipated = 0.2 ",
        'anticipated = { default = 0.2, by = "origin", '
        "values = { indvandrer_ikke_vestlig = 0.1 } } ",
    )
    (study / "targets.toml").write_text(text, encoding="utf-8")
    assert run("design", study / "targets.toml") == 0
    out = capsys.readouterr().out
    assert "target half-width 0.1 per sex:" in out and "target half-width 0.05 per all:" in out
    assert run("design", study / "targets.toml", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = {t["domain_type"] for t in doc["targets"]}
    assert kinds == {"stratum", "sex", "all"}
    assert all(isinstance(t["target_met"], bool) for t in doc["targets"])
    assert all(isinstance(t["publishable"], bool) for t in doc["targets"])
    assert all(t["publishable"] for t in doc["targets"] if t["target_met"])
    assert doc["summary"]["anticipated_by"] == ["origin"]
    assert {s["anticipated"] for s in doc["strata"]} == {0.1, 0.2}


def test_check_protocol_computes_the_design_and_refuses_a_budget_below_the_minimums(study, capsys):
    """With the frame present, check-protocol also allocates: it prints the reviews, and a
    budget below strata × minimum (a DesignError) exits 2 naming both."""
    assert run("check-protocol", study / "odense.toml") == 0
    assert "design     " in capsys.readouterr().out
    text = (study / "odense.toml").read_text(encoding="utf-8")
    text = re.sub(r"max_reviews = \d+", "max_reviews = 15", text)
    text = re.sub(r"minimum = \d+", "minimum = 5", text)
    (study / "tight.toml").write_text(text, encoding="utf-8")
    assert run("check-protocol", study / "tight.toml") == 2
    err = capsys.readouterr().err
    assert "budget of 15 reviews is smaller than the minimum per stratum" in err


def test_draw_creates_the_study_folder_only_when_it_saves(study, capsys):
    """`draw ... --study studies/x.sqlite` (protocols/README.md) makes the new folder, as
    worklist and export do, instead of failing after the draw; a refused draw makes none."""
    text = (study / "odense.toml").read_text(encoding="utf-8")
    (study / "bad.toml").write_text(text.replace("[allocation]", "[allocation]\nx = 1"), "utf-8")
    assert run("draw", study / "bad.toml", "--study", study / "nope" / "x.sqlite") == 2
    assert not (study / "nope").exists()
    assert run("draw", study / "odense.toml", "--study", study / "studies" / "x.sqlite") == 0
    assert "drew round 1" in capsys.readouterr().out
    assert saved_rounds(study / "studies" / "x.sqlite") == [1]


def test_design_counts_a_target_met_only_when_publishable_and_warns(study, capsys):
    """The old Odense plan (±15 points per group, 220 reviews, at least 5 per group) meets its
    half-widths but would have every group suppressed under NCHS (interval 30 points or
    wider, or effective n under 30): design no longer says "10 of 10 domains met", and warns
    per group with the sample it would need; the JSON output says the same, the warnings on
    standard error. The shipped protocol plans every group of 30 or more to be publishable."""
    text = (study / "odense.toml").read_text(encoding="utf-8")
    old = re.sub(r"\nmargin = [0-9.]+", "\nmargin = 0.15", text)
    old = re.sub(r"max_reviews = \d+", "max_reviews = 220", old)
    old = re.sub(r"minimum = \d+", "minimum = 5", old)
    (study / "old.toml").write_text(old, encoding="utf-8")
    assert run("design", study / "old.toml") == 0
    out = capsys.readouterr().out
    assert re.search(r"target half-width 0.15 per stratum: 0 of 10 domains met .*10 within", out)
    assert "warning: 10 of 10 stratum domains will not be publishable" in out
    assert "publishable from n = 42" in out and "too few cases even in a census" in out
    assert run("design", study / "old.toml", "--format", "json") == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert not any(s["publishable"] or s["target_met"] for s in doc["strata"])
    assert all(s["expected_half_width"] <= 0.15 for s in doc["strata"])
    assert "warning: 10 of 10 stratum domains" in captured.err and doc["warnings"]
    assert run("design", study / "odense.toml", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    big = [s for s in doc["strata"] if s["population_size"] >= 30]
    assert big and all(s["publishable"] and s["target_met"] for s in big)
    small = [s for s in doc["strata"] if s["population_size"] < 30]
    assert all(not s["publishable"] and s["publishable_sample_size"] is None for s in small)
