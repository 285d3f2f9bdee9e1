"""The protected release of a study: nothing small shown or implied, one number everywhere,
raw figures marked, and the intruder's audit over everything (issue 17's attacks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from report_fixtures import make_report_study
from stikprove.cli import main
from stikprove.release import study_release
from stikprove.release.disclosure import NOT_FOR_PUBLICATION
from stikprove.release.release import TABLES, published_estimates, published_flags
from stikprove.reports import content

THRESHOLD = 5


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    path, _frame = make_report_study(tmp_path_factory.mktemp("release-study"))
    return path


@pytest.fixture(scope="module")
def release(study):
    return study_release(study)


def _small(values) -> list:
    values = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return [v for v in values if 1 <= v < THRESHOLD]


def test_every_table_has_its_columns_and_says_why_a_value_is_missing(release):
    """Each protected table ends in the disclosure column; a hidden row says why."""
    for name in TABLES:
        table = release.table(name)
        assert table.columns[-1] == "disclosure", name
        codes = set(",".join(table["disclosure"]).split(",")) - {""}
        assert codes <= {"small", "complementary", "nchs_n_eff", "nchs_width",
                         "nchs_relative_width", "nchs_complement", "nchs_df", "nchs_zero"}
    with pytest.raises(ValueError, match="expected one of design"):
        release.table("everything")


def test_no_count_from_one_to_four_is_shown_in_any_table(release):
    counts = {"design": ["population_size", "sample_size"],
              "progress": ["taken", "done", "remaining"], "estimates": ["n"],
              "bounds": ["n_missing"], "agreement": ["n_pairs"]}  # fmt: skip
    for name, columns in counts.items():
        table = release.table(name)
        for column in columns:
            assert not _small(table[column]), (name, column)


def test_no_count_from_one_to_four_follows_from_two_shown_numbers(release):
    """The arithmetic of issue 17: percentage × n in a stratum, taken − n, done − n, the
    pairs that disagree: never a count from 1 to 4."""
    est = release.table("estimates")
    cells = est[est["level"].eq("kommune") & est["sex"].notna() & est["origin"].notna()]
    shown = cells[cells["estimate"].notna() & cells["n"].notna()]
    events = (shown["estimate"] * shown["n"].astype(float)).round()
    assert not _small(events) and not _small(shown["n"].astype(float) - events)

    design, progress = release.table("design"), release.table("progress")
    both = design.merge(progress, on="stratum", suffixes=("", "_p"))
    reserves = both["taken"].astype(float) - both["sample_size"].astype(float)
    assert not _small(reserves)
    one = cells.merge(progress, on=["kommune_code", "sex", "origin"])
    assert not _small(one["done"].astype(float) - one["n"].astype(float))

    agreement = release.table("agreement").dropna(subset=["n_pairs", "percent_agreement"])
    agree = (agreement["percent_agreement"] * agreement["n_pairs"].astype(float) / 100).round()
    assert not _small(agree) and not _small(agreement["n_pairs"].astype(float) - agree)


def test_the_intruder_recovers_no_small_count_from_everything_published(release):
    """Linear programming over every published table at once (all kommuner, regions, the
    nation, percentages within their rounding): each hidden small count keeps an interval
    that reaches 0 or the threshold and spans at least threshold − 1 values."""
    audit = release.audit()
    assert audit.ok, str(audit)


def test_one_number_everywhere(study, release):
    """A kommune's total: its report, the national overview's kommune table, `estimate --by
    kommune_code` and `flag` show the same n, estimate, interval and effective n."""
    data = content.load_study(study)
    flags = content.kommune_flags(data, "too_ill").set_index("kommune_code")
    cli = published_estimates(release, "too_ill", ["kommune_code"]).set_index("kommune_code")
    flagged = published_flags(release, "too_ill").set_index("kommune_code")
    columns = ["n", "estimate", "ci_low", "ci_high", "n_eff"]
    for kommune in data.kommuner:
        report = content.estimates_table(data, "too_ill", kommune)
        total = content.headline_row(report, None, None)
        for table in (flags, cli, flagged):
            row = table.loc[kommune]
            for column in columns:
                a, b = total[column], row[column]
                assert (pd.isna(a) and pd.isna(b)) or a == b, (kommune, column)


def test_the_cli_table_is_the_release(study, release, capsys):
    assert main(["estimate", str(study), "--outcome", "too_ill", "--by", "kommune_code",
                 "--format", "csv"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    printed = pd.read_csv(pd.io.common.StringIO(out), dtype={"kommune_code": str}, comment="#")
    expected = published_estimates(release, "too_ill", ["kommune_code"])
    merged = printed.merge(expected, on="kommune_code", suffixes=("", "_release"))
    assert len(merged) == len(expected)
    for column in ("n", "estimate"):
        left = pd.to_numeric(merged[column], errors="coerce")
        right = pd.to_numeric(merged[f"{column}_release"], errors="coerce")
        assert ((left == right) | (left.isna() & right.isna())).all(), column


def test_the_verdict_and_the_pattern_do_not_change_with_the_method(study, release):
    """The NCHS standard is judged on the 95 % Korn–Graubard interval whatever the table
    shows: another method or level gives other intervals on the same hidden cells."""
    other = study_release(study, confidence_level=0.9, interval_method="korn-graubard")
    assert np.array_equal(other.suppressed, release.suppressed)
    a, b = release.table("estimates"), other.table("estimates")
    assert a["disclosure"].tolist() == b["disclosure"].tolist()
    assert a["n_eff"].equals(b["n_eff"])


def test_raw_figures_are_marked_not_for_publication(release, study, capsys):
    assert (release.raw("estimates")["publication"] == NOT_FOR_PUBLICATION).all()
    assert main(["estimate", str(study), "--outcome", "too_ill", "--raw"]) == 0
    assert NOT_FOR_PUBLICATION in capsys.readouterr().out
    assert main(["status", str(study), "--interim"]) == 0
    assert capsys.readouterr().out.startswith(NOT_FOR_PUBLICATION)
    assert main(["status", str(study)]) == 0
    assert capsys.readouterr().out.startswith(NOT_FOR_PUBLICATION)


@pytest.mark.parametrize("raw", [[], ["--raw"]])
def test_a_grouping_by_case_id_is_refused_raw_or_not(study, capsys, raw):
    assert main(["estimate", str(study), "--outcome", "too_ill", "--by", "case_id", *raw]) == 2
    err = capsys.readouterr().err
    assert "identifies cases one by one" in err


def test_a_grouping_outside_the_release_needs_raw(study, capsys):
    assert main(["estimate", str(study), "--outcome", "too_ill", "--by", "health_exempt"]) == 2
    assert "add --raw" in capsys.readouterr().err


def test_the_release_command_writes_every_protected_table(study, tmp_path, capsys):
    out = tmp_path / "release"
    assert main(["release", str(study), "--out-dir", str(out)]) == 0
    assert sorted(p.stem for p in out.iterdir()) == sorted(TABLES)
    estimates = pd.read_csv(out / "estimates.csv")
    assert not _small(estimates["n"])
    assert "case_id" not in " ".join(p.read_text() for p in out.iterdir())


def test_the_pattern_is_solved_once_per_study_state(study, release, tmp_path):
    """The hidden cells are kept beside the study (cell ids, no number); the next build of the
    same table set reads them, another table set (another threshold) solves again."""
    import json

    from stikprove.release.release import _digest, _read_pattern, build_release, pattern_file

    path = pattern_file(study)
    assert path.stat().st_mode & 0o077 == 0
    doc = json.loads(path.read_text(encoding="utf-8"))
    (entry,) = doc.values()
    assert set(entry) == {"hidden", "status", "rounds", "repaired"}
    assert all(isinstance(c, str) for c in entry["hidden"])

    again = build_release(release.raw_tables, cache=path)
    assert again.protection.cached
    assert np.array_equal(again.suppressed, release.suppressed)
    stale = tmp_path / "other.json"
    stale.write_text(json.dumps({"0" * 64: entry}), encoding="utf-8")
    assert _read_pattern(stale, _digest(release.model.tables), release.model.tables) is None


def test_bounds_of_a_one_kommune_table_are_its_kommunes(study, tmp_path, capsys):
    """`estimate TABLE --bounds` on one kommune's cases (the Odense replication's shape): its
    release publishes the kommune only, and the bounds are that kommune's row."""
    from stikprove.store import open_study

    export = open_study(study).export()
    table = tmp_path / "one.csv"
    export[export["kommune_code"].astype(str) == "147"].to_csv(table, index=False)
    assert main(["estimate", str(table), "--outcome", "too_ill", "--bounds",
                 "--format", "csv"]) == 0  # fmt: skip
    printed = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert len(printed) == 1 and "n_missing" in printed.columns
