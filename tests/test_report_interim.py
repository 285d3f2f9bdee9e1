"""Preliminary results in the kommune report while the review is running
(stikprove.reports.interim): content, disclosure, wording and the rendered report."""

import re

import numpy as np
import pandas as pd
import pytest

from report_fixtures import NOTE, make_report_study
from stikprove.estimation.interim import interim_from_export
from stikprove.reports import content, interim, text
from stikprove.reports.render import KernelSession, render_notebook


@pytest.fixture(scope="module")
def open_study(tmp_path_factory):
    """The report tests' study with only part of its cases reviewed."""
    folder = tmp_path_factory.mktemp("report-study-open")
    return make_report_study(folder, reviews=40)


def test_an_open_kommune_gets_preliminary_results_per_group(open_study):
    """Each group the estimates table shows gets its sequence's interval, the same as
    interim_from_export on the kommune's strata; no count from 1 to 4 is shown."""
    data = content.load_study(open_study[0])
    assert all(interim.is_open(data, k) for k in data.kommuner)
    for kommune in data.kommuner:
        table = interim.interim_table(data, "too_ill", kommune)
        assert list(table.columns) == interim.INTERIM_TABLE_COLUMNS
        estimates = content.estimates_table(data, "too_ill", kommune)
        assert set(estimates["group"]) <= set(table["group"])
        counts = pd.to_numeric(table["n"], errors="coerce").dropna()
        assert not counts.between(1, 4).any()
        hidden = table["disclosure"].ne("")
        assert table.loc[hidden, ["estimate", "ci_low", "ci_high"]].isna().all().all()
        mine = data.data[data.data["kommune_code"] == kommune]
        direct = interim_from_export(mine, "too_ill", by=None)
        total = table[table["group"] == "I alt"].iloc[0]
        if total["disclosure"] == "":
            assert total["n"] == direct["analysed"].iloc[0]
            assert total["ci_low"] == pytest.approx(direct["ci_low"].iloc[0])
            assert total["ci_high"] == pytest.approx(direct["ci_high"].iloc[0])
    shown = pd.concat(interim.interim_table(data, "too_ill", k) for k in data.kommuner)
    assert shown["ci_low"].notna().any(), "the fixture should show some interval"


def test_interim_counts_are_suppressed_like_the_other_tables(open_study):
    """The sentence's counts: a count from 1 to 4 is written "færre end 5", never shown."""
    data = content.load_study(open_study[0])
    for kommune in data.kommuner:
        counts = interim.interim_progress(data, kommune)
        for value in (counts.analysed, counts.waiting):
            assert value is None or not 1 <= value <= 4
    assert interim._shown(3, 5) is None and interim._shown(0, 5) == 0
    sentence = text.interim_sentence(120, None, "da")
    assert "120 sager er analyseret" in sentence and "færre end 5 vurderede" in sentence
    assert "fewer than 5 reviewed" in text.interim_sentence(120, None, "en")
    assert "færre end 5 sager er analyseret" in text.interim_sentence(4, 0, "da")
    assert "and 0 reviewed" in text.interim_sentence(120, 0, "en")


def test_a_fully_reviewed_kommune_has_no_preliminary_section(tmp_path):
    """is_open is False once every sampled case of the kommune is reviewed."""
    frame = pd.DataFrame({"kommune_code": ["147"] * 3 + ["825"] * 2,
                          "reviewed": [True, True, True, True, False]})  # fmt: skip
    data = content.StudyData(path=tmp_path, study_id="s", title="", data=frame,
                             strata=frame, status=frame, pairs=frame, threshold=5,
                             confidence_level=0.95, interval_method="korn-graubard")  # fmt: skip
    assert not interim.is_open(data, "147")
    assert interim.is_open(data, "825")


def test_the_label_reads_as_the_issue_asks():
    assert text.interim_section("da") == (
        "## Foreløbige resultater, gyldige uanset hvor ofte der kigges"
    )
    assert text.interim_section("en") == (
        "## Preliminary results, valid however often they are looked at"
    )


@pytest.mark.slow
def test_rendered_open_report_shows_the_preliminary_section(open_study, tmp_path):
    """An open study's kommune report shows the preliminary section with its label and its
    sentence, and holds no case id or note (the fully reviewed study's report, rendered in
    tests/test_reports.py, is checked there not to show it)."""
    with KernelSession(cwd=tmp_path) as session:
        shown = render_notebook("kommune", {"study": str(open_study[0]), "kommune": "147"},
                                tmp_path / "reports", name="open", session=session)  # fmt: skip
    html = shown.html.read_text(encoding="utf-8")
    assert text.INTERIM_LABEL["da"] in html and "venter på en tidligere sag" in html
    # it leads with the share reviewed, before the preliminary section, never "alle sager"
    lead = html.index("er i gang: ")
    assert "af de udtrukne sager er vurderet" in html[lead:lead + 80]
    assert lead < html.index(text.INTERIM_LABEL["da"]) and "Blandt alle sager" not in html
    frame = open_study[1]
    for path in (shown.html, shown.notebook):
        page = path.read_text(encoding="utf-8")
        assert not [c for c in frame["case_id"] if c in page]
        assert not [c for c in frame["case_id"] if NOTE.format(c) in page]
        assert not re.search(r"\bcase_id\b", page)


def test_estimate_names_the_strata_that_stopped_early():
    """`stikprove estimate` lists strata whose target was met before they were complete,
    with the plan's reason; complete strata and strata still running are not listed."""
    from stikprove.commands.estimation import stopped_early

    plan = pd.DataFrame({
        "stratum": ["147|kvinde|dansk", "147|mand|dansk", "825|kvinde|dansk"],
        "in_run": [30, 50, 10], "sample_size": [60, 50, 40],
        "safe_to_stop": [True, True, False], "complete": [False, True, False],
        "reason": ["half-width 0.090 <= 0.1 per stratum", "all sampled cases reviewed", ""],
    })  # fmt: skip
    assert stopped_early(plan) == [
        "  147|kvinde|dansk: 30 of 60 sampled cases analysed; half-width 0.090 <= 0.1 per "
        "stratum"
    ]


def test_a_share_that_implies_a_small_count_is_suppressed():
    """As in the estimates tables, a group with enough analysed cases whose share implies 1 to
    4 cases with the outcome (2 of 20) or without it (17 of 20 with) is suppressed, interval
    included, and its kommune's other group with it (complementary)."""
    rng = np.random.default_rng(5)  # each stratum's review order
    rows = []
    for stratum, (kommune, sex, outcomes) in {
        "147|kvinde": ("147", "kvinde", [1, 1] + [0] * 18),  # 2 too ill of 20
        "147|mand": ("147", "mand", [1] * 10 + [0] * 10),
        "825|kvinde": ("825", "kvinde", [1] * 17 + [0] * 3),  # 3 not too ill of 20
        "825|mand": ("825", "mand", [1] * 8 + [0] * 12),
    }.items():
        rows.append(pd.DataFrame({
            "stratum": stratum, "kommune_code": kommune, "sex": sex, "population_size": 40,
            "sample_size": 20, "reviewed": True, "draw_order": range(1, 21),
            "in_complete_run": True, "too_ill": rng.permutation(outcomes),
        }))  # fmt: skip
    table = interim_from_export(pd.concat(rows), "too_ill", by=["kommune_code", "sex"])
    shown = interim.disclose_interim(table, ["kommune_code", "sex"], 5).set_index(
        ["kommune_code", "sex"])
    assert shown.loc[("147", "kvinde"), "disclosure"] == "small"
    assert shown.loc[("825", "kvinde"), "disclosure"] == "small"
    assert shown.loc[[("147", "kvinde"), ("825", "kvinde")],
                     ["n", "estimate", "ci_low", "ci_high"]].isna().all().all()
    assert shown.loc[("147", "mand"), "disclosure"] == "complementary"
    assert shown["disclosure"].ne("").all()
