"""Interim results of a running review (estimation/interim.py) and `stikprove status
--interim`: the complete-run rule, the domain tables, the stopping plan, the refusals."""

import io
import itertools

import numpy as np
import pandas as pd
import pytest
import time_machine
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import CLOCK_START
from stikprove import EstimationError, confidence_sequence, interim_results, stopping_plan
from stikprove.cli import main
from stikprove.estimation.interim import (
    INTERIM_COLUMNS,
    PLAN_COLUMNS,
    interim_from_export,
    interim_status,
    stopping_plan_from_export,
    study_interim_settings,
    waiting_cases,
)
from stikprove.estimation.sequential import combine_strata
from stikprove.protocol import PrecisionTarget
from stikprove.recording import import_entries
from store_fixtures import entry, make_study, protocol_text
from strategies import scaled

REVIEW_DATE = "2026-11-20"  # the fixtures' draw date: no test here reads today's date

ODENSE_WOMEN = "461|kvinde|indvandrer_ikke_vestlig"  # N = 20, n = 6
ODENSE_MEN = "461|mand|dansk_oprindelse"  # N = 12, n = 4
LAESOE = "825|kvinde|dansk_oprindelse"  # census: N = n = 3
STRATA = ("kommune_code", "sex", "origin")


def review(study, cases, **values):
    """Enter the first reviewer's assessment of ``cases`` (defaults: eligible, for_syg)."""
    first = study.assignments().query("review_slot == 1")
    for reviewer, group in first[first["case_id"].isin(cases)].groupby("reviewer"):
        entries = [entry(c, **{"review_date": REVIEW_DATE, **values}) for c in group["case_id"]]
        import_entries(study, entries, reviewer)


def list_of(study, stratum):
    units = study.units(in_sample_only=True)
    return units.loc[units["stratum"] == stratum, "case_id"].tolist()


def reviewed_study(folder):
    """Odense women: case 1 ineligible (reserve 7 activated), 2 too ill, 3 not, 4 too ill,
    6 reviewed out of order (waits on 5); Læsø: every case reviewed, one too ill."""
    study = make_study(folder)
    women = list_of(study, ODENSE_WOMEN)
    review(study, women[:1], ineligible=True)
    review(study, [women[1], women[3]])
    review(study, [women[2], women[5]], health_assessment="kan_med_skaanehensyn")
    laesoe = list_of(study, LAESOE)
    review(study, laesoe[:1])
    review(study, laesoe[1:], health_assessment="ingen_vaesentlig_barriere")
    return study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """:func:`reviewed_study`, built once for the tests that only read it (on the suite's
    clock, as each test is)."""
    with time_machine.travel(CLOCK_START, tick=False):
        return reviewed_study(tmp_path_factory.mktemp("interim"))


def test_the_run_from_the_top_is_analysed(study):
    """A case reviewed below an open one waits; the ineligible case in the run is left out
    and the stratum's population for the indicator is N_h less it."""
    table = interim_results(study).set_index("stratum")
    women = table.loc[ODENSE_WOMEN]
    assert (women["sample_size"], women["reviewed"], women["in_run"]) == (7, 5, 4)
    assert (women["waiting"], women["analysed"], women["successes"]) == (1, 3, 2)
    expected = confidence_sequence([1, 0, 1], 19, 0.95)
    assert (women["ci_low"], women["ci_high"]) == (expected.low[-1], expected.high[-1])
    assert women["estimate"] == pytest.approx(2 / 3)
    men = table.loc[ODENSE_MEN]
    assert (men["analysed"], men["ci_low"], men["ci_high"]) == (0, 0.0, 1.0)
    assert np.isnan(men["estimate"])
    assert list(table.columns) == list(INTERIM_COLUMNS)


def test_a_reviewed_census_stratum_gives_the_exact_rate(study):
    """Every case of a census stratum in the run: the interval is the exact rate."""
    row = interim_results(study).set_index("stratum").loc[LAESOE]
    assert row["complete"] and row["ci_low"] == row["ci_high"] == pytest.approx(1 / 3)


def test_domains_combine_their_strata(study):
    """A kommune's interval is combine_strata of its strata's runs (weights N_h); a domain of
    one stratum keeps the stratum's own sequence; both combinations are offered."""
    for combination in ("product", "bonferroni"):
        table = interim_results(study, by="kommune_code", combination=combination)
        odense = table.set_index("kommune_code").loc["461"]
        low, high = combine_strata([[1, 0, 1], []], [19, 12], weights=[20, 12],
                                   method=combination)  # fmt: skip
        assert (odense["ci_low"], odense["ci_high"]) == pytest.approx((low[0], high[0]))
        assert odense["strata"] == 2 and odense["confidence_level"] == 0.95
    laesoe = table.set_index("kommune_code").loc["825"]
    assert laesoe["ci_low"] == laesoe["ci_high"] == pytest.approx(1 / 3)
    whole = interim_results(study, by=None)
    assert len(whole) == 1 and whole["strata"].iloc[0] == 3
    assert list(whole.columns) == list(INTERIM_COLUMNS)


def test_waiting_cases_name_the_case_they_wait_on(study):
    """status's count of reviewed cases that wait, and the list position they wait on."""
    waiting = waiting_cases(study.export())
    assert waiting.to_dict("records") == [{"stratum": ODENSE_WOMEN, "waiting": 1,
                                           "first_open": 5}]  # fmt: skip


def test_reviewing_the_open_case_releases_the_waiting_one(tmp_path):
    """Once case 5 is in, case 6 joins the run: the sequence moves on and narrows; then the
    activated reserve joins it too."""
    study = reviewed_study(tmp_path)
    before = interim_results(study).set_index("stratum").loc[ODENSE_WOMEN]
    review(study, [list_of(study, ODENSE_WOMEN)[4]], health_assessment="kan_med_skaanehensyn")
    after = interim_results(study).set_index("stratum").loc[ODENSE_WOMEN]
    assert (after["in_run"], after["waiting"], after["analysed"]) == (6, 0, 5)
    assert after["ci_low"] >= before["ci_low"] and after["ci_high"] <= before["ci_high"]
    assert after["half_width"] < before["half_width"]
    # the reserve that replaced the ineligible case 1 comes last in the list, and keeps the rule
    reserve = list_of(study, ODENSE_WOMEN)[6]
    review(study, [reserve])
    done = interim_results(study).set_index("stratum").loc[ODENSE_WOMEN]
    assert (done["in_run"], done["analysed"], done["successes"], done["complete"]) == (
        7, 6, 3, True)
    expected = confidence_sequence([1, 0, 1, 0, 0, 1], 19, 0.95)
    assert (done["ci_low"], done["ci_high"]) == (expected.low[-1], expected.high[-1])


def test_plan_marks_targets_met_and_ranks_the_rest(study):
    """A stratum whose interval is within its target may stop, with the reason; a complete
    one may stop; the others are ranked by need."""
    export = study.export()
    targets = [PrecisionTarget("stratum", STRATA, 0.45),
               PrecisionTarget("kommune_code", ("kommune_code",), 0.4)]  # fmt: skip
    plan = stopping_plan_from_export(export, "too_ill", targets).set_index("stratum")
    assert list(plan.reset_index().columns) == list(PLAN_COLUMNS)
    women, men, laesoe = plan.loc[ODENSE_WOMEN], plan.loc[ODENSE_MEN], plan.loc[LAESOE]
    assert women["half_width"] <= 0.45 and not women["target_met"]  # Odense misses 0.4
    assert not men["safe_to_stop"] and men["priority"] == 1 and women["priority"] == 2
    assert laesoe["safe_to_stop"] and laesoe["reason"] == "all sampled cases reviewed"
    assert pd.isna(laesoe["priority"])
    assert women["targets"] == "stratum 0.45; kommune_code 0.4"
    loose = [PrecisionTarget("stratum", STRATA, 0.45)]
    plan = stopping_plan_from_export(export, "too_ill", loose).set_index("stratum")
    assert plan.loc[ODENSE_WOMEN, "safe_to_stop"] and not plan.loc[ODENSE_WOMEN, "complete"]
    assert plan.loc[ODENSE_WOMEN, "reason"].startswith("half-width 0.4")
    assert plan.loc[ODENSE_WOMEN, "reason"].endswith("<= 0.45 per stratum")


def test_no_targets_no_early_stop(study):
    """Without targets only complete strata may stop; target_met is missing, not False."""
    plan = stopping_plan(study)
    assert plan["target_met"].isna().all()
    assert plan["safe_to_stop"].tolist() == plan["complete"].tolist()


def test_protocol_targets_are_read_from_the_stored_protocol(tmp_path):
    """The [precision] margin and targets of the stored protocol become the interim targets."""
    text = protocol_text(precision={"indicator": '"misclassified"', "margin": "0.2",
                                    "confidence_level": "0.9",
                                    "targets": '[{domain = "kommune_code", margin = 0.1}]'})
    settings_ = study_interim_settings(make_study(tmp_path, protocol_text=text))
    assert settings_.outcome == "misclassified" and settings_.confidence_level == 0.9
    assert settings_.targets == (PrecisionTarget("stratum", STRATA, 0.2),
                                 PrecisionTarget("kommune_code", ("kommune_code",), 0.1))


@pytest.mark.parametrize(
    ("change", "call", "message"),
    [
        (None, lambda e: interim_from_export(e, "too_sick"), "outcome 'too_sick' is not a"),
        ("two", lambda e: interim_from_export(e, "too_ill"),
         r"outcome 'too_ill' is 2.0 in row 1 \(stratum '461\|kvinde"),
        (None, lambda e: interim_from_export(e, "too_ill", by="health_exempt"),
         "by column 'health_exempt' varies within stratum '461|kvinde"),
        (None, lambda e: interim_from_export(e, "too_ill", by="age"), "lacks column"),
        ("drop", lambda e: interim_from_export(e, "too_ill"), "lacks column.*in_complete_run"),
        (None, lambda e: interim_from_export(e, "too_ill", confidence_level=95),
         "confidence_level must be in"),
    ],
)  # fmt: skip
def test_refusals(study, change, call, message):
    """Bad input is refused naming the column, row, stratum and value, and what was expected."""
    export = study.export()
    if change == "two":
        export.loc[0, "too_ill"] = 2.0
    if change == "drop":
        export = export.drop(columns="in_complete_run")
    with pytest.raises(EstimationError, match=message):
        call(export)


@st.composite
def exports(draw: st.DrawFn) -> pd.DataFrame:
    """Export-shaped tables: a few strata, each a list with some cases reviewed in any
    order, outcomes 0, 1 or missing."""
    frames = []
    for h in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 8))
        big_n = draw(st.integers(n, 60))
        reviewed = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
        y = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=n,
                                   max_size=n)))  # fmt: skip
        frames.append(pd.DataFrame({
            "stratum": f"s{h}", "kommune_code": f"{100 + h % 2}", "population_size": big_n,
            "sample_size": n, "reviewed": reviewed, "draw_order": np.arange(1, n + 1),
            "in_complete_run": np.cumprod(reviewed).astype(bool),
            "y": np.where(reviewed, y, np.nan),
        }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def outside_census(census_outcomes=(np.nan,)) -> pd.DataFrame:
    """A kommune (100) of a stratum of 30 cases, 6 sampled, 5 reviewed (two too ill), and a
    census stratum whose every case is reviewed and has no outcome (ineligible or not
    assessable), as the national demo's one-case strata 550|kvinde|vestlig and
    665|mand|vestlig: the census stratum has no case in the indicator's population."""
    k = len(census_outcomes)
    return pd.DataFrame({
        "stratum": ["s0"] * 6 + ["s1"] * k, "kommune_code": "100",
        "population_size": [30] * 6 + [k] * k, "sample_size": [6] * 6 + [k] * k,
        "reviewed": [True] * 5 + [False] + [True] * k,
        "draw_order": [*range(1, 7), *range(1, k + 1)],
        "in_complete_run": [True] * 5 + [False] + [True] * k,
        "y": [1, 0, 0, 1, 0, np.nan, *census_outcomes],
    })  # fmt: skip


def test_a_stratum_without_a_case_of_the_indicator_drops_out_of_its_domains():
    """Regression: `status --interim` on the national demo stopped with "population_size must
    be a whole number >= 1, got 0" (a census stratum whose one case is ineligible). Such a
    stratum adds nothing to its domains (weight 0): the kommune gets the other stratum's
    sequence and estimate; on its own it is complete, with nothing known ([0, 1])."""
    for census in ([np.nan], [np.nan, np.nan]):
        export = outside_census(census)
        s0 = confidence_sequence([1, 0, 0, 1, 0], 30)
        for combination in ("product", "bonferroni"):
            kommune = interim_from_export(export, "y", by="kommune_code",
                                          combination=combination).iloc[0]  # fmt: skip
            assert kommune["estimate"] == pytest.approx(0.4)
            low, high = combine_strata([[1, 0, 0, 1, 0]], [30], method=combination)
            assert (kommune["ci_low"], kommune["ci_high"]) == pytest.approx((low[0], high[0]))
            assert kommune["ci_low"] <= s0.low[-1] and kommune["ci_high"] >= s0.high[-1]
        strata = interim_from_export(export, "y").set_index("stratum")
        assert strata.loc["s1", "complete"] and np.isnan(strata.loc["s1", "estimate"])
        assert (strata.loc["s1", "ci_low"], strata.loc["s1", "ci_high"]) == (0.0, 1.0)
        plan = stopping_plan_from_export(export, "y", [PrecisionTarget("kommune_code",
                                         ("kommune_code",), 0.3)]).set_index("stratum")  # fmt: skip
        assert plan.loc["s1", "safe_to_stop"] and plan.loc["s0", "priority"] == 1
    # a domain none of whose strata has a case of the indicator's population: nothing known
    alone = outside_census().query("stratum == 's1'")
    whole = interim_from_export(pd.concat([alone, alone.assign(stratum="s2")]), "y", by=None)
    assert (whole["ci_low"].iloc[0], whole["ci_high"].iloc[0]) == (0.0, 1.0)
    assert np.isnan(whole["estimate"].iloc[0])


@settings(max_examples=scaled(20))
@given(exports(), st.sampled_from(["stratum", "kommune_code", None]))
@example(outside_census(), "kommune_code")
@example(outside_census(), None)
def test_interim_invariants(export, by):
    """Counts add up and every interval lies in [0, 1] around the analysed share's range."""
    table = interim_from_export(export, "y", by=by)
    assert (table["ci_low"] <= table["ci_high"]).all()
    assert ((table["ci_low"] >= 0) & (table["ci_high"] <= 1)).all()
    assert (table["analysed"] <= table["in_run"]).all()
    assert (table["in_run"] + table["waiting"] == table["reviewed"]).all()
    assert table["sample_size"].sum() == len(export)
    assert (table["half_width"] <= 0.5).all()


def test_status_interim_command(study, capsys):
    """`status --interim` prints the strata, the whole study and the strata in most need;
    plain `status` says which reviewed cases wait; --format csv gives the plan."""
    path = str(study.path)
    assert main(["status", path, "--interim"]) == 0
    out = capsys.readouterr().out
    assert "valid however often they are looked at" in out
    assert ODENSE_WOMEN in out and "whole study" in out and "complete" in out
    assert f"strata that most need reviews next:\n  1. {ODENSE_WOMEN}" in out
    assert "1 of 3 strata may stop" in out and "1 reviewed case(s) wait" in out
    assert "sets no precision target" in out
    assert main(["status", path]) == 0
    assert (f"note: stratum {ODENSE_WOMEN}: 1 reviewed case(s) wait on case 5 of its list"
            in capsys.readouterr().out)  # fmt: skip
    assert main(["status", path, "--interim", "--format", "csv"]) == 0
    csv = capsys.readouterr().out  # the study team's raw figures, marked as such
    assert csv.splitlines()[0] == ",".join(["publication", *PLAN_COLUMNS])
    assert "NOT FOR PUBLICATION" in csv.splitlines()[1]


def test_status_interim_shows_domain_targets(tmp_path, capsys):
    """With a kommune target in the protocol the kommune table shows whether it is met."""
    text = protocol_text(precision={"margin": "0.3",
                                    "targets": '[{domain = "kommune_code", margin = 0.45}]'})
    study = make_study(tmp_path, protocol_text=text)
    review(study, list_of(study, LAESOE))
    status = interim_status(study)
    assert list(status.domains) == ["kommune_code", "all"]
    assert main(["status", str(study.path), "--interim"]) == 0
    out = capsys.readouterr().out
    assert "per kommune_code (target half-width 0.45):" in out
    assert "target_met" in out and "1 of 3 strata may stop" in out


def test_status_interim_marks_a_stratum_that_met_its_target(tmp_path, capsys):
    """Five of six Odense women reviewed, none too ill: the sequence's half-width (0.25) is
    within the stratum target (0.3), so the stratum is marked as one that may stop early."""
    text = protocol_text(precision={"margin": "0.3"})
    study = make_study(tmp_path, protocol_text=text)
    review(study, list_of(study, ODENSE_WOMEN)[:5], health_assessment="kan_med_skaanehensyn")
    assert main(["status", str(study.path), "--interim"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith(ODENSE_WOMEN))
    assert "5/6" in row and "0.000-0.500" in row and "target met: may stop" in row
    assert "1 of 3 strata may stop (1 reached their targets early, 0 complete)" in out


# ---- the Done-when of issue 11, end to end (docs/interim.md walks through it on the demo) --

WALK_STRATA = {  # (kommune_code, sex, origin, N_h, n_h): each reviewer gets 20 + 10 rows
    "461|kvinde|indvandrer_ikke_vestlig": ("461", "kvinde", "indvandrer_ikke_vestlig", 200, 40),
    "461|mand|dansk_oprindelse": ("461", "mand", "dansk_oprindelse", 60, 20),
}
WALK_TOO_ILL = {"461|kvinde|indvandrer_ikke_vestlig": {6, 29},  # draw orders found too ill
                "461|mand|dansk_oprindelse": set(range(1, 21, 2))}  # fmt: skip


def _fill(worklist: pd.DataFrame, rows: int, units: pd.DataFrame) -> pd.DataFrame:
    """The physician's file after ``rows`` rows: those filled in, the rest still empty."""
    filled = worklist.astype(object).copy()
    for i, case in enumerate(filled["case_id"].head(rows)):
        unit = units.loc[case]
        too_ill = unit["draw_order"] in WALK_TOO_ILL[unit["stratum"]]
        values = entry(case, review_date=REVIEW_DATE,
                       health_assessment="for_syg" if too_ill else "kan_med_skaanehensyn")
        fields = [f for f in values if f in filled.columns]
        filled.loc[i, fields] = [values[f] for f in fields]
    return filled


def test_status_interim_after_each_imported_batch(tmp_path, capsys):
    """A user imports the filled worklists in batches with `stikprove import` and runs
    `stikprove status STUDY --interim` after each: every stratum's sequence and the whole
    study's only narrow, the women's stratum is marked "target met: may stop" once its
    half-width reaches the protocol's margin (0.15) with cases still unreviewed, and the
    men's stratum is then the one that most needs reviews; `stikprove estimate` on the study
    names it as stopped early."""
    text = protocol_text(precision={"margin": "0.15"})
    study = make_study(tmp_path, strata=WALK_STRATA, double_every=1000, protocol_text=text)
    path = str(study.path)
    units = study.units(in_sample_only=True).set_index("case_id")
    worklists = {}
    for reviewer in ("anna", "bo"):
        out = tmp_path / f"{reviewer}.csv"
        assert main(["worklist", path, "--reviewer", reviewer, "--out", str(out)]) == 0
        worklists[reviewer] = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    capsys.readouterr()
    women, men = WALK_STRATA
    seen, whole, marked = [], [], []
    for rows in (8, 14, 30):  # rows filled in each reviewer's file
        for reviewer, worklist in worklists.items():
            filled = tmp_path / f"{reviewer}-filled.csv"
            _fill(worklist, rows, units).to_csv(filled, index=False)
            assert main(["import", path, str(filled), "--reviewer", reviewer]) == 0
        assert "new" in capsys.readouterr().out
        assert main(["status", path, "--interim", "--format", "csv"]) == 0
        seen.append(pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("stratum"))
        assert main(["status", path, "--interim"]) == 0
        lines = capsys.readouterr().out.splitlines()
        whole.append(float(lines[lines.index("whole study:") + 2].split()[-1]))
        marked.append(next(line for line in lines if line.strip().startswith(women)))
        if rows == 14:  # the final analysis, were the review to end now, names the early stop
            assert main(["estimate", path, "--outcome", "too_ill"]) == 0
            stopped = capsys.readouterr().err
            assert "1 stratum/strata stopped early" in stopped
            assert f"  {women}: 28 of 40 sampled cases analysed; half-width 0.1" in stopped
    for before, after in itertools.pairwise(seen):  # the sequences only narrow
        assert (after["ci_low"] >= before["ci_low"]).all()
        assert (after["ci_high"] <= before["ci_high"]).all()
        assert (after["in_run"] >= before["in_run"]).all()
    assert all(after < before for before, after in itertools.pairwise(whole))
    assert seen[0].loc[women, "half_width"] > 0.15  # 16 cases: not yet
    early = seen[1].loc[women]  # 28 of 40 cases: the target is met, cases remain
    assert early["half_width"] <= 0.15 and early["safe_to_stop"] and not early["complete"]
    assert early["reason"].endswith("<= 0.15 per stratum") and pd.isna(early["priority"])
    assert "28/40" in marked[1] and marked[1].rstrip().endswith("target met: may stop")
    assert seen[1].loc[men, "priority"] == 1 and seen[1].loc[men, "in_run"] == 0
    last = seen[-1]
    assert last["complete"].all() and (last["in_run"] == last["sample_size"]).all()
    assert "complete" in marked[-1]
