"""The synthetic national frame and its latent truth (stikprove.synth)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stikprove.codebook import default_codebook
from stikprove.errors import StikproveError
from stikprove.frame import FRAME_COLUMNS, frame_fingerprint, load_frame, looks_like_cpr
from stikprove.synth import (
    TRUTH_COLUMNS,
    expected_sizes,
    synthesize_frame,
    write_synthetic_frame,
)

SMALL = ["825", "741", "563", "147"]


@pytest.fixture(scope="module")
def nation():
    return synthesize_frame(seed=1)


@pytest.fixture(scope="module")
def joined(nation):
    return nation.frame.merge(nation.truth, on="case_id", validate="one_to_one")


def too_ill_rate(cases: pd.DataFrame) -> float:
    assessable = cases[
        (cases["eligible"] == "ja") & (cases["health_assessment"] != "kan_ikke_vurderes")
    ]
    return float((assessable["health_assessment"] == "for_syg").mean())


def test_same_seed_gives_byte_identical_files(tmp_path):
    """Writing twice with the same seed gives byte-identical frame.csv and truth.csv."""
    write_synthetic_frame(tmp_path / "a", seed=7, kommuner=SMALL)
    write_synthetic_frame(tmp_path / "b", seed=7, kommuner=SMALL)
    for name in ("frame.csv", "truth.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_committed_example_is_what_the_readme_command_writes(tmp_path):
    """synthetic_data/ holds exactly what `stikprove synth --seed 2016 --kommuner 461,147,825`
    writes (regenerate it with that command if this fails after a change to synth)."""
    committed = Path(__file__).parent.parent / "synthetic_data"
    write_synthetic_frame(tmp_path, seed=2016, kommuner=["461", "147", "825"])
    for name in ("frame.csv", "truth.csv"):
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes()


def test_different_seed_gives_different_files(tmp_path):
    """Another seed gives another frame and another truth."""
    write_synthetic_frame(tmp_path / "a", seed=7, kommuner=SMALL)
    write_synthetic_frame(tmp_path / "b", seed=8, kommuner=SMALL)
    for name in ("frame.csv", "truth.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()


def test_global_numpy_random_state_is_untouched():
    """Synthesis uses its own generators and leaves numpy's global state alone."""
    # The legacy global state is what this test is about.
    np.random.seed(123)  # noqa: NPY002
    before = np.random.random()  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    synthesize_frame(seed=3, kommuner=["825"])
    assert np.random.random() == before  # noqa: NPY002


def test_national_total_is_between_60_and_80_thousand(nation):
    """At scale 1 the nation has 60,000-80,000 cases in all 98 kommuner."""
    assert 60_000 <= len(nation.frame) <= 80_000
    assert nation.frame["kommune_code"].nunique() == 98
    assert expected_sizes().sum() == pytest.approx(70_000)


def test_odense_has_about_3400_cases_846_of_them_non_western_immigrant_women(nation):
    """Odense has 3,000-3,800 cases, about 846 of them non-Western immigrant women."""
    odense = nation.frame[nation.frame["kommune_code"] == "461"]
    assert 3_000 <= len(odense) <= 3_800
    women = (odense["sex"] == "kvinde") & (odense["origin"] == "indvandrer_ikke_vestlig")
    assert 700 <= women.sum() <= 1_000


def test_small_island_kommuner_have_a_handful(nation):
    """Læsø has under 30 cases; Samsø, Fanø and Ærø under 80."""
    sizes = nation.frame["kommune_code"].value_counts()
    assert sizes.get("825", 0) < 30
    for code in ("741", "563", "492"):
        assert sizes.get(code, 0) < 80
    assert sizes["101"] > sizes["461"] > sizes["147"] > sizes["825"]


def test_non_western_immigrants_are_about_a_quarter_more_in_big_cities(nation):
    """Non-Western immigrants are 20-30 % nationally and more in København, Aarhus, Odense."""
    frame = nation.frame
    nwi = frame["origin"] == "indvandrer_ikke_vestlig"
    assert 0.20 <= nwi.mean() <= 0.30
    by_kommune = nwi.groupby(frame["kommune_code"]).mean()
    for code in ("101", "751", "461"):
        assert by_kommune[code] > nwi.mean()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_too_ill_among_non_western_immigrant_women_in_odense_is_about_10_percent(seed):
    """Genuinely too ill is 6-14 % among non-Western immigrant women in Odense (3 seeds)."""
    odense = synthesize_frame(seed=seed, kommuner=["461"])
    cases = odense.frame.merge(odense.truth, on="case_id")
    group = cases[(cases["sex"] == "kvinde") & (cases["origin"] == "indvandrer_ikke_vestlig")]
    assert 0.06 <= too_ill_rate(group) <= 0.14


def test_too_ill_is_higher_among_long_term_danish_origin(joined):
    """Too ill is clearly higher among Danish-origin cases with 8+ years on benefit."""
    danish_long = joined[
        (joined["origin"] == "dansk_oprindelse") & (joined["years_on_benefit"] >= 8)
    ]
    nwi_women = joined[
        (joined["origin"] == "indvandrer_ikke_vestlig") & (joined["sex"] == "kvinde")
    ]
    assert too_ill_rate(danish_long) > too_ill_rate(nwi_women) + 0.15


def test_no_effort_in_a_year_varies_from_about_10_to_45_percent_by_kommune(joined):
    """No effort in 12 months, among eligible cases, lies in 10-45 % (±3) in kommuner of 500+."""
    eligible = joined[(joined["eligible"] == "ja") & (joined["effort_last_12_months"] != "ukendt")]
    rate = (eligible["effort_last_12_months"] == "ingen").groupby(eligible["kommune_code"]).mean()
    big = eligible["kommune_code"].value_counts()
    rate = rate[big[big >= 500].index]
    assert rate.between(0.07, 0.48).all()
    assert rate.max() - rate.min() > 0.2


def test_a_few_percent_are_ineligible_with_codebook_reasons(joined):
    """2-6 % of cases are ineligible at review, each with a reason; the others have none."""
    ineligible = joined["eligible"] == "nej"
    assert 0.02 <= ineligible.mean() <= 0.06
    assert joined.loc[ineligible, "ineligible_reason"].notna().all()
    assert joined.loc[~ineligible, "ineligible_reason"].isna().all()
    assert {"sag_afsluttet", "fraflyttet"} <= set(joined["ineligible_reason"].dropna())


def test_truth_uses_exactly_the_codebook_codes_where_the_codebook_requires_them(nation):
    """Each truth field holds codebook codes, filled exactly when the codebook requires it."""
    codebook = default_codebook()
    truth = nation.truth
    assert tuple(truth.columns) == TRUTH_COLUMNS
    for name in TRUTH_COLUMNS[1:]:
        field = codebook.field(name)
        assert set(truth[name].dropna()) <= set(field.codes), name
        required = truth["eligible"].map(field.is_required)
        assert (truth[name].notna() == required).all(), name


def test_truth_never_enters_the_frame(nation):
    """The frame has exactly the frame columns; the truth lies in its own table, same cases."""
    assert tuple(nation.frame.columns) == FRAME_COLUMNS
    assert list(nation.truth["case_id"]) == list(nation.frame["case_id"])


def test_case_ids_are_unique_16_hex_characters_and_never_cpr_like(nation):
    """case_id is 16 lowercase hex characters, unique, never ten digits or CPR-like."""
    ids = nation.frame["case_id"]
    assert ids.is_unique
    assert ids.str.fullmatch(r"[0-9a-f]{16}").all()
    assert not ids.map(looks_like_cpr).any()


def test_frame_is_a_valid_frame_in_canonical_dtypes(nation):
    """load_frame accepts the synthetic frame and returns it unchanged."""
    loaded = load_frame(nation.frame)
    pd.testing.assert_frame_equal(loaded, nation.frame)


def test_frame_file_is_sorted_and_loads_to_the_same_fingerprint(tmp_path):
    """frame.csv is sorted by kommune then case_id, with one-decimal years, and reads back
    to the same data (same fingerprint)."""
    written = write_synthetic_frame(tmp_path, seed=5, kommuner=SMALL)
    text = (tmp_path / "frame.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(FRAME_COLUMNS)
    assert "\r" not in text
    loaded = load_frame(tmp_path / "frame.csv")
    keys = list(zip(loaded["kommune_code"], loaded["case_id"], strict=True))
    assert keys == sorted(keys)
    assert frame_fingerprint(loaded) == frame_fingerprint(written.frame)
    years = pd.read_csv(tmp_path / "frame.csv", dtype=str)["years_on_benefit"]
    assert years.str.fullmatch(r"\d+\.\d").all()


def test_a_kommune_alone_is_the_same_as_within_the_nation(nation):
    """A kommune's cases do not depend on which other kommuner are asked for."""
    alone = synthesize_frame(seed=1, kommuner=["147", "825"])
    within = nation.frame[nation.frame["kommune_code"].isin(["147", "825"])]
    pd.testing.assert_frame_equal(alone.frame, within.reset_index(drop=True))


def test_kommuner_may_be_given_as_codes_ints_or_names():
    """'461', 461 and 'Odense' name the same kommune."""
    frames = [synthesize_frame(2, kommuner=[k], scale=0.1).frame for k in ("461", 461, "Odense")]
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])


def test_scale_multiplies_the_sizes():
    """scale=0.1 gives about a tenth of the cases."""
    full = len(synthesize_frame(4, kommuner=["461", "751"]).frame)
    tenth = len(synthesize_frame(4, kommuner=["461", "751"], scale=0.1).frame)
    assert 0.08 * full <= tenth <= 0.12 * full


def test_last_effort_date_lies_before_the_frame_date_and_fits_the_truth(joined):
    """Dates lie before 2017-01-01; cases with effort in the last year have a date within it."""
    dates = joined["last_effort_date"]
    assert (dates.dropna() < pd.Timestamp("2017-01-01")).all()
    recent = dates > pd.Timestamp("2016-01-01")  # within the 365 days before 2017-01-01
    had_effort = joined["effort_last_12_months"].isin(["tilbud", "mentor", "begge"])
    assert not (joined["effort_last_12_months"].eq("ingen") & recent).any()
    assert (recent[had_effort & dates.notna()]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed must be a non-negative whole number"),
        ({"seed": 1.5}, "seed must be a non-negative whole number"),
        ({"seed": 1, "scale": 0}, "scale must be a positive number"),
        ({"seed": 1, "kommuner": ["999"]}, "kommune '999' is not one of the 98"),
        ({"seed": 1, "kommuner": []}, "expected at least one kommune"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    """A negative or fractional seed, a non-positive scale, an unknown or empty kommune list."""
    with pytest.raises(StikproveError, match=message):
        synthesize_frame(**kwargs)


def test_out_must_be_a_folder(tmp_path):
    """write_synthetic_frame refuses a file as its folder."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(StikproveError, match="expected a folder"):
        write_synthetic_frame(tmp_path / "file", seed=1, kommuner=["825"])


def test_write_synthetic_frame_replace_false_refuses_another_frame(tmp_path):
    """replace=False refuses a folder holding another frame and writes nothing; the default
    (replace=True, the Python API as before) replaces it."""
    write_synthetic_frame(tmp_path, seed=1, kommuner=["825"])
    before = (tmp_path / "frame.csv").read_bytes()
    write_synthetic_frame(tmp_path, seed=1, kommuner=["825"], replace=False)
    with pytest.raises(StikproveError, match=r"frame\.csv and truth\.csv already hold"):
        write_synthetic_frame(tmp_path, seed=2, kommuner=["825"], replace=False)
    assert (tmp_path / "frame.csv").read_bytes() == before
    write_synthetic_frame(tmp_path, seed=2, kommuner=["825"])
    assert (tmp_path / "frame.csv").read_bytes() != before
