"""Assigning cases to reviewers: balanced by stratum, second reviewers differ."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove.assignment import assign_reviewers, check_reviewer_names, deal
from stikprove.errors import StoreError
from stikprove.store import create_study
from store_fixtures import make_sample
from strategies import scaled


@given(
    n_reviewers=st.integers(1, 5),
    sizes=st.lists(st.integers(0, 13), min_size=1, max_size=6),
)
def test_deal_balances_within_strata_and_in_total(n_reviewers, sizes):
    """Round-robin with a rotating start: within a stratum and in total, counts differ by ≤ 1."""
    reviewers = [f"r{i}" for i in range(n_reviewers)]
    cases = {f"s{i}": [f"s{i}c{j}" for j in range(n)] for i, n in enumerate(sizes)}
    dealt = deal(reviewers, cases)
    totals = [list(dealt.values()).count(r) for r in reviewers]
    assert max(totals) - min(totals) <= 1
    for ids in cases.values():
        counts = [sum(dealt[c] == r for c in ids) for r in reviewers]
        assert max(counts) - min(counts) <= 1


def test_deal_follows_draw_order():
    """Within a stratum, cases are dealt in the given (draw) order."""
    assert deal(["a", "b"], {"s": ["1", "2", "3"]}) == {"1": "a", "2": "b", "3": "a"}


@settings(deadline=None, max_examples=scaled(10))
@given(n_reviewers=st.integers(2, 4), double_every=st.integers(1, 4))
def test_assign_gives_second_reviews_to_a_different_reviewer(tmp_path_factory, n_reviewers,
                                                             double_every):  # fmt: skip
    """Every double-review case has two different reviewers; others have exactly one."""
    path = tmp_path_factory.mktemp("a") / "s.sqlite"
    sample = make_sample(double_every=double_every)
    study = create_study(path, sample)
    reviewers = [f"r{i}" for i in range(n_reviewers)]
    result = assign_reviewers(study, reviewers)
    a = study.assignments()
    per_case = a.groupby("case_id")["reviewer"].agg(list)
    doubles = set(sample.units.loc[sample.units["double_review"], "case_id"])
    for case, names in per_case.items():
        assert len(names) == (2 if case in doubles else 1)
        assert len(set(names)) == len(names)
    assert result.second_reviews == len(doubles)
    firsts = a[a["review_slot"] == 1]["reviewer"].value_counts()
    assert firsts.max() - firsts.min() <= 1


def test_assign_again_assigns_nothing_new(tmp_path):
    """Running assign twice keeps the first assignment (idempotent)."""
    study = create_study(tmp_path / "s.sqlite", make_sample())
    assign_reviewers(study, ["anna", "bo"])
    before = study.assignments()
    again = assign_reviewers(study, ["anna", "bo"])
    assert again.first_reviews == 0 and again.second_reviews == 0
    assert study.assignments().equals(before)


def test_assign_double_reviews_need_two_reviewers(tmp_path):
    """With double-review cases, a single reviewer is refused and nothing is assigned."""
    study = create_study(tmp_path / "s.sqlite", make_sample())
    with pytest.raises(StoreError, match="at least two reviewers"):
        assign_reviewers(study, ["anna"])
    assert study.assignments().empty
    assert study.reviewers() == ()


@pytest.mark.parametrize("names", [[""], ["a,b"], ["anna", "anna"], ["../x"], ["a b"]])
def test_bad_reviewer_names_are_refused(names):
    """Reviewer names become file names: empty, duplicate or odd names are refused."""
    with pytest.raises(StoreError, match="reviewer"):
        check_reviewer_names(names)


def test_assignment_is_audited(tmp_path):
    """The audit log records who assigned how many cases to whom."""
    study = create_study(tmp_path / "s.sqlite", make_sample())
    assign_reviewers(study, ["anna", "bo"])
    log = study.audit_log()
    assert log["action"].tolist() == ["create", "assign"]
    assert "anna,bo" in log["details"].iloc[-1]


@pytest.mark.parametrize(
    "names", [["anna", "Anna"], ["\u00c5se", "A\u030ase"], ["ÅSE", "åse"], ["0101901234"]]
)
def test_names_that_mean_one_person_are_refused(names):
    """anna/Anna, an NFC and an NFD Åse, and ÅSE/åse are one reviewer: refused as given
    twice; a CPR-like name is refused without showing it."""
    with pytest.raises(StoreError, match=r"one person|given twice|CPR-like") as info:
        check_reviewer_names(names)
    assert "0101901234" not in str(info.value)


def test_a_name_whose_worklist_would_take_another_reviewers_codebook_file_is_refused():
    """A CSV worklist's codebook is written beside it as NAME_kodebog.csv: a reviewer named
    'anna_kodebog' would have anna's codebook file as the default name of her worklist (on
    any file system, case-insensitive ones included), so such a name is refused."""
    with pytest.raises(StoreError, match="_kodebog"):
        check_reviewer_names(["anna", "Anna_Kodebog"])


def test_a_known_reviewer_in_another_spelling_is_the_same_reviewer(tmp_path):
    """Assigning 'Anna' to a study that has 'anna' adds no reviewer; worklists and imports
    find 'anna' by any case or Unicode form."""
    from stikprove.store.assignment import reviewer_of

    study = create_study(tmp_path / "s.sqlite", make_sample())
    assign_reviewers(study, ["anna", "A\u030ase"])
    assign_reviewers(study, ["ANNA", "\u00c5SE"])
    assert study.reviewers() == ("anna", "\u00c5se")
    assert reviewer_of(study, "Anna") == "anna" and reviewer_of(study, "åse") == "\u00c5se"
    with pytest.raises(StoreError, match="not in this study"):
        reviewer_of(study, "bo")
