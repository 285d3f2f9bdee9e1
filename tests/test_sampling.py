"""The stratified draw, its files and coordination with an earlier study (stikprove.sampling)."""

from __future__ import annotations

import hmac
import json
from dataclasses import replace
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest

import stikprove.sampling as sampling
from stikprove.errors import SamplingError
from stikprove.protocol import parse_protocol
from stikprove.sampling import (
    DrawnSample,
    draw,
    permanent_random_numbers,
    read_sample,
    write_sample,
)
from stikprove.synth import synthesize_frame
from strategies import scaled

PROTOCOL = """
[study]
id = "samp"
title = "Sampling test"
seed = 42

[frame]
path = "frame.csv"

[eligibility]
category = "aktivitetsparat"
kommuner = ["461", "147", "825"]

[strata]
columns = ["kommune_code", "sex", "origin"]

[strata.collapse.origin]
dansk_oprindelse = "dansk"
indvandrer_vestlig = "vestlig"
efterkommer_vestlig = "vestlig"
indvandrer_ikke_vestlig = "ikke_vestlig"
efterkommer_ikke_vestlig = "ikke_vestlig"

[precision]
indicator = "too_ill"
anticipated = 0.2

[budget]
max_reviews = 300
minutes_per_review = 45

[allocation]
method = "proportional"
minimum = 2

[review]
double_review_fraction = 0.1
"""

UNIT_COLUMNS = [
    "case_id",
    "stratum",
    "kommune_code",
    "sex",
    "origin",
    "health_exempt",
    "draw_order",
    "role",
    "inclusion_probability",
    "weight",
    "double_review",
    "prn",
]


def protocol(text: str = PROTOCOL, **replace: str):
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return parse_protocol(text, "/tmp/protocol.toml")


@cache
def _frame() -> pd.DataFrame:
    return synthesize_frame(3, kommuner=["461", "147", "825"]).frame


def frame() -> pd.DataFrame:
    return _frame().copy()


@cache
def _sample() -> DrawnSample:
    return draw(protocol(), frame())


def test_units_follow_the_contract():
    """units has the contract's columns, draw orders, roles, probabilities and weights."""
    s = _sample()
    assert list(s.units.columns) == UNIT_COLUMNS
    eligible = frame().query("category == 'aktivitetsparat'")
    assert len(s.units) == len(eligible) and s.units["case_id"].is_unique
    strata = s.strata.set_index("stratum")
    assert list(s.strata.columns) == [
        "stratum",
        "kommune_code",
        "sex",
        "origin",
        "population_size",
        "sample_size",
    ]
    for key, group in s.units.groupby("stratum"):
        N, n = strata.loc[key, ["population_size", "sample_size"]]
        assert group["draw_order"].tolist() == list(range(1, N + 1))
        assert (group["role"] == "sample").sum() == n
        assert (group.loc[group["draw_order"] <= n, "role"] == "sample").all()
        assert group["inclusion_probability"].eq(n / N).all()
        assert group["weight"].eq(N / n).all()
    assert s.strata["sample_size"].sum() == 300
    assert s.units["prn"].between(0, 1, inclusive="neither").all()


def test_metadata_records_fingerprints_seed_and_version():
    """Metadata has the contract's keys and the protocol's and frame's fingerprints."""
    from stikprove import __version__
    from stikprove.frame import frame_fingerprint

    m = _sample().metadata
    for key in (
        "study_id",
        "round",
        "seed",
        "protocol_fingerprint",
        "frame_fingerprint",
        "package_version",
        "drawn_at",
        "coordination",
    ):
        assert key in m
    assert m["protocol_fingerprint"] == protocol().fingerprint
    assert m["frame_fingerprint"] == frame_fingerprint(frame())
    assert m["seed"] == 42 and m["round"] == 1 and m["package_version"] == __version__
    assert m["drawn_at"].endswith("Z")


def test_same_frame_and_protocol_give_byte_identical_files(tmp_path):
    """Two draws give byte-identical units.csv and strata.csv, also from shuffled rows."""
    shuffled = frame().sample(frac=1.0, random_state=np.random.RandomState(5))
    shuffled = shuffled.reset_index(drop=True)
    a = write_sample(draw(protocol(), frame()), tmp_path / "a")
    b = write_sample(draw(protocol(), shuffled), tmp_path / "b")
    for name in ("units.csv", "strata.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


PINNED_ORDER = ["case6", "case3", "case4", "case1", "case5", "case2", "case0", "case7"]


def tiny_frame(n: int = 8) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": [f"case{i}" for i in range(n)],
            "kommune_code": ["461"] * n,
            "sex": ["kvinde"] * n,
            "origin": ["dansk_oprindelse"] * n,
            "category": ["aktivitetsparat"] * n,
            "health_exempt": [True] * n,
        }
    )


def test_draw_is_pinned_to_known_values():
    """PCG64's raw stream and a tiny draw are pinned (a change means the algorithm changed)."""
    raw = np.random.PCG64(np.random.SeedSequence(42, spawn_key=(0, 1))).random_raw(3)
    assert raw.tolist() == [13941336593269612031, 6559950848197150794, 13565471298777206849]
    p = protocol(**{"max_reviews = 300": "max_reviews = 3", "minimum = 2": "minimum = 0"})
    s = draw(p, tiny_frame(), frame_fingerprint="x")
    assert s.units["case_id"].tolist() == PINNED_ORDER


def test_other_seed_or_round_gives_another_order():
    """Changing the seed or the round changes the sample."""
    base = set(_sample().sample["case_id"])
    other_seed = set(draw(protocol(**{"seed = 42": "seed = 43"}), frame()).sample["case_id"])
    round_two = set(draw(protocol(), frame(), round=2).sample["case_id"])
    assert base != other_seed and base != round_two


def test_double_review_subsample_has_its_own_stream():
    """Double reviews are 10 % of sampled cases, from a stream that leaves the sample alone."""
    s = _sample()
    assert s.units["double_review"].sum() == 30
    assert (s.units.loc[s.units["double_review"], "role"] == "sample").all()
    other = draw(
        protocol(**{"double_review_fraction = 0.1": "double_review_fraction = 0.3"}), frame()
    )
    assert other.units["double_review"].sum() == 90
    assert other.units["case_id"].tolist() == s.units["case_id"].tolist()


def test_permanent_random_numbers_are_hmac_sha256():
    """PRNs are (first 8 bytes of HMAC-SHA256(key, id) + 0.5) / 2^64, for short and long keys."""
    for key in ("seed:1", "k" * 100):
        digest = hmac.digest(key.encode(), b"abc", "sha256")[:8]
        expected = (int.from_bytes(digest, "big") + 0.5) / 2.0**64
        assert permanent_random_numbers(["abc"], key)[0] == pytest.approx(expected, rel=1e-15)


# Numbers given by the hand-written HMAC that stdlib hmac replaced (stikprove before issue 8):
# a study's permanent random numbers must not change with the implementation.
_OLD_IDS = ["0000000001", "K461-000123", "æøå-7", "x" * 200, ""]
_OLD_PRNS = {
    "study-key": [0.001606802716955589, 0.786921704822519, 0.8693482457813747,
                  0.5267759975074369, 0.8217343451346856],
    "k" * 100: [0.7261251343884729, 0.40742330223070533, 0.2938910809036779,
                0.8873128920979582, 0.8297024645279542],
}  # fmt: skip


@pytest.mark.parametrize("key", list(_OLD_PRNS))
def test_permanent_random_numbers_unchanged(key):
    """PRNs equal, bit for bit, those of the hand-written HMAC (short and > 64-byte keys)."""
    assert permanent_random_numbers(_OLD_IDS, key).tolist() == _OLD_PRNS[key]


def test_within_stratum_selection_is_uniform():
    """Over many seeds each case of a stratum is sampled with frequency close to n_h / N_h."""
    small = frame().query("kommune_code == '825'").reset_index(drop=True)
    text = PROTOCOL.replace('kommuner = ["461", "147", "825"]', 'kommuner = ["825"]').replace(
        'columns = ["kommune_code", "sex", "origin"]', 'columns = ["kommune_code"]'
    )
    text = text[: text.index("[strata.collapse.origin]")] + text[text.index("[precision]") :]
    counts: dict[str, int] = {}
    runs = 150
    for seed in range(runs):
        p = parse_protocol(
            text.replace("seed = 42", f"seed = {seed}").replace(
                "max_reviews = 300", "max_reviews = 3"
            ),
            "/tmp/p.toml",
        )
        for case in draw(p, small, frame_fingerprint="x").sample["case_id"]:
            counts[case] = counts.get(case, 0) + 1
    N = int((small["category"] == "aktivitetsparat").sum())
    expected = runs * 3 / N
    freq = np.array(
        [counts.get(c, 0) for c in small.loc[small.category == "aktivitetsparat", "case_id"]]
    )
    # a loose check: every case within 5 binomial standard deviations of n/N
    sd = np.sqrt(runs * (3 / N) * (1 - 3 / N))
    assert np.all(np.abs(freq - expected) < 5 * sd)


def test_avoid_never_reselects_while_strata_are_large_enough():
    """avoid reselects no earlier case where N_h − earlier ≥ n_h, and names other strata."""
    first = _sample()
    follow = protocol(**{"[review]": '[coordination]\nmode = "avoid"\nprevious = "x"\n\n[review]'})
    second = draw(follow, frame(), previous=first)
    prev = set(first.sample["case_id"])
    large_enough = 0
    for key, group in second.units.groupby("stratum"):
        n = (group["role"] == "sample").sum()
        fresh = (~group["case_id"].isin(prev)).sum()
        reselected = group.loc[group["role"] == "sample", "case_id"].isin(prev).sum()
        if fresh >= n:
            large_enough += 1
            assert reselected == 0, key
            assert not any(key + " " in note for note in second.notes)
        else:
            assert reselected == n - fresh, key
            assert any(note.startswith(f"avoid: stratum {key} ") for note in second.notes)
    assert large_enough >= 10


def test_avoid_says_when_it_must_reselect():
    """When a stratum has fewer than n_h cases not sampled before, avoid reselects and says so."""
    census = protocol(**{"max_reviews = 300": "max_reviews = 1400"})
    first = draw(census, frame())
    follow = protocol(
        **{
            "[review]": '[coordination]\nmode = "avoid"\nprevious = "x"\n\n[review]',
            "max_reviews = 300": "max_reviews = 1400",
        }
    )
    second = draw(follow, frame(), previous=first)
    notes = [n for n in second.notes if n.startswith("avoid:")]
    assert notes and "reselected" in notes[0]
    # reselection only where needed: per stratum, fresh cases come first
    prev = set(first.sample["case_id"])
    for _, group in second.units.groupby("stratum"):
        was = group["case_id"].isin(prev).to_numpy()
        assert (np.diff(was.astype(int)) >= 0).all()


def test_overlap_maximises_overlap():
    """With coordination overlap each stratum reuses min(n_h, previously sampled) cases."""
    first = _sample()
    follow = protocol(
        **{
            "[review]": '[coordination]\nmode = "overlap"\nprevious = "x"\n\n[review]',
            "seed = 42": "seed = 99",
        }
    )
    second = draw(follow, frame(), previous=first)
    prev = set(first.sample["case_id"])
    for key, group in second.units.groupby("stratum"):
        n = (group["role"] == "sample").sum()
        available = group["case_id"].isin(prev).sum()
        reused = group.loc[group["role"] == "sample", "case_id"].isin(prev).sum()
        assert reused == min(n, available), key


def test_previous_may_be_a_folder_or_a_csv(tmp_path):
    """The earlier study's sample may be given as its folder or a CSV of case ids."""
    first = _sample()
    folder = write_sample(first, tmp_path / "first")
    ids = tmp_path / "reviewed.csv"
    first.sample[["case_id"]].to_csv(ids, index=False)
    follow = protocol(**{"[review]": '[coordination]\nmode = "avoid"\nprevious = "x"\n\n[review]'})
    a = draw(follow, frame(), previous=folder)
    b = draw(follow, frame(), previous=ids)
    assert a.units["case_id"].tolist() == b.units["case_id"].tolist()
    with pytest.raises(SamplingError, match="does not exist"):
        draw(follow, frame(), previous=tmp_path / "missing")


def test_coordination_with_no_overlap_is_refused():
    """An earlier study none of whose cases is in the frame (another pseudonymisation key)
    stops the draw instead of reporting '0 of n were sampled by the earlier study'."""
    first = _sample()
    other_ids = frame().assign(case_id=lambda f: "x" + f["case_id"].astype(str))
    overlap = '[coordination]\nmode = "overlap"\nprevious = "x"\n\n[review]'
    follow = protocol(**{"[review]": overlap})
    with pytest.raises(SamplingError, match=r"none of the \d+ cases sampled by the earlier"):
        draw(follow, other_ids, previous=first)


def test_coordination_across_keys_is_refused():
    """A frame whose key check value differs from the earlier study's is refused."""
    first = _sample()
    first = replace(first, metadata={**first.metadata, "key_check": "0" * 16})
    follow = protocol(**{"[review]": '[coordination]\nmode = "avoid"\nprevious = "x"\n\n[review]'})
    with pytest.raises(SamplingError, match="another key"):
        draw(follow, frame(), previous=first, key_check="1" * 16)
    same = draw(follow, frame(), previous=first, key_check="0" * 16)
    assert same.metadata["key_check"] == "0" * 16


def test_coordination_without_previous_is_refused():
    """overlap / avoid without an earlier sample at hand raises SamplingError."""
    follow = protocol(
        **{"[review]": '[coordination]\nmode = "avoid"\nprevious = "gone"\n\n[review]'}
    )
    with pytest.raises(SamplingError, match="does not exist"):
        draw(follow, frame())


def test_duplicated_case_ids_are_refused():
    """A frame with duplicated case ids is refused, naming some of them."""
    f = frame()
    f.loc[1, "case_id"] = f.loc[0, "case_id"]
    with pytest.raises(SamplingError, match="duplicated case_id"):
        draw(protocol(), f, frame_fingerprint="x")


def test_bad_round_is_refused():
    """Round numbers start at 1."""
    with pytest.raises(SamplingError, match="round"):
        draw(protocol(), frame(), round=0)


def test_write_and_read_round_trip(tmp_path):
    """read_sample gives back the units, strata, metadata and protocol text."""
    s = _sample()
    back = read_sample(write_sample(s, tmp_path / "s"))
    pd.testing.assert_frame_equal(back.units, s.units, check_dtype=False)
    pd.testing.assert_frame_equal(back.strata, s.strata, check_dtype=False)
    assert back.units["draw_order"].dtype == np.int64
    assert back.units["double_review"].dtype == bool
    assert back.metadata == json.loads(json.dumps(dict(s.metadata)))
    assert back.protocol_text == s.protocol_text


def test_write_refuses_an_existing_folder(tmp_path):
    """A non-empty target folder is refused and left as it was."""
    target = tmp_path / "s"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(SamplingError, match="already exists"):
        write_sample(_sample(), target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_write_is_atomic(tmp_path, monkeypatch):
    """A failure while writing leaves neither the folder nor a temporary folder behind."""
    calls = {"n": 0}
    original = sampling._csv_text

    def failing(df):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return original(df)

    monkeypatch.setattr(sampling, "_csv_text", failing)
    with pytest.raises(OSError, match="disk full"):
        write_sample(_sample(), tmp_path / "s")
    assert list(tmp_path.iterdir()) == []


def test_read_sample_refuses_other_folders(tmp_path):
    """A folder without the sample files is refused, naming what is missing."""
    with pytest.raises(SamplingError, match=r"missing units\.csv"):
        read_sample(tmp_path)


def test_missing_strata_column_is_refused():
    """A frame without a strata column is refused before anything is drawn."""
    from stikprove.errors import ProtocolError

    with pytest.raises(ProtocolError, match="sex"):
        draw(protocol(), frame().drop(columns="sex"), frame_fingerprint="x")


def test_drawn_sample_is_frozen():
    """DrawnSample attributes cannot be reassigned."""
    with pytest.raises(AttributeError):
        _sample().units = None  # type: ignore[misc]


def test_ineligible_rows_do_not_change_the_draw():
    """Cases outside the study (jobparat, other kommuner) do not change the random order."""
    extra = tiny_frame(5).assign(case_id=lambda d: "zz" + d["case_id"], category="jobparat")
    other = tiny_frame(5).assign(case_id=lambda d: "aa" + d["case_id"], kommune_code="101")
    bigger = pd.concat([extra, _frame().copy(), other], ignore_index=True)
    assert draw(protocol(), bigger).units["case_id"].tolist() == _sample().units["case_id"].tolist()


def test_boolean_strata_column_round_trips(tmp_path):
    """health_exempt as a strata column stays boolean in units and strata, also after reading."""
    text = (
        PROTOCOL[: PROTOCOL.index("[strata.collapse.origin]")]
        + PROTOCOL[PROTOCOL.index("[precision]") :]
    )
    p = protocol(text, **{'["kommune_code", "sex", "origin"]': '["kommune_code", "health_exempt"]'})
    s = draw(p, frame(), frame_fingerprint="x")
    assert s.units["health_exempt"].dtype == bool
    assert set(s.strata["stratum"].str.split("|").str[1]) == {"true", "false"}
    back = read_sample(write_sample(s, tmp_path / "s"))
    assert back.strata["health_exempt"].dtype == bool
    assert back.units["health_exempt"].tolist() == s.units["health_exempt"].tolist()


def test_years_on_benefit_bands_rates_and_targets_in_a_draw(tmp_path):
    """Banded time on benefit is a strata column of the sample (kept through its files);
    rates by group and domain targets set the sizes the draw uses."""
    p = protocol(
        **{
            '["kommune_code", "sex", "origin"]': (
                '["kommune_code", "sex", "origin", "years_on_benefit_band"]\n'
                "bands.years_on_benefit = [0, 2, 5]"
            ),
            "anticipated = 0.2": (
                'anticipated = { default = 0.2, by = "origin", values = { ikke_vestlig = 0.1 } }\n'
                'targets = [{ domain = "kommune_code", margin = 0.1 }]'
            ),
            'method = "proportional"': 'method = "precision"',
            "max_reviews = 300": "max_reviews = 2000",
        }
    )
    s = draw(p, frame(), frame_fingerprint="x")
    assert s.strata_columns == ("kommune_code", "sex", "origin", "years_on_benefit_band")
    assert set(s.units["years_on_benefit_band"]) <= {"0-2", "2-5", "5+", "ukendt"}
    assert (s.units["stratum"].str.split("|").str[3] == s.units["years_on_benefit_band"]).all()
    from stikprove.design import design_table

    d = design_table(p, frame())
    assert (d.targets["expected_half_width"] <= d.targets["margin"] + 1e-12).all()
    assert (d.targets["target_met"] == d.targets["publishable"]).all()  # met: publishable too
    assert s.strata["sample_size"].tolist() == d.strata["sample_size"].tolist()
    back = read_sample(write_sample(s, tmp_path / "s"))
    assert back.units["years_on_benefit_band"].tolist() == s.units["years_on_benefit_band"].tolist()


def test_worklist_fields_missing_from_the_frame_are_refused_by_draw():
    """A draw refuses [review] worklist_fields the frame lacks (before drawing anything)."""
    from stikprove.errors import ProtocolError

    p = protocol(**{"double_review_fraction = 0.1": 'worklist_fields = ["age", "shoe_size"]'})
    with pytest.raises(ProtocolError, match=r"worklist_fields names \['shoe_size'\]"):
        draw(p, frame(), frame_fingerprint="x")


# ---------------------------------------------------------------------------------------------
# review of the draw: weights, the double-review stream, coordination as SRS


def test_inclusion_probabilities_sum_to_n_h_and_weights_to_N_h():
    """Per stratum Σ π_i over all cases is n_h and Σ w_i over the sample is N_h."""
    s = _sample()
    strata = s.strata.set_index("stratum")
    for key, group in s.units.groupby("stratum"):
        n_h, N_h = strata.loc[key, "sample_size"], strata.loc[key, "population_size"]
        assert len(group) == N_h
        assert group["inclusion_probability"].sum() == pytest.approx(n_h)
        assert group.loc[group["role"] == "sample", "weight"].sum() == pytest.approx(N_h)
        assert sorted(group["draw_order"]) == list(range(1, N_h + 1))


def test_double_review_fraction_never_changes_the_sample_and_nests():
    """Changing double_review_fraction leaves units, order and roles alone; a larger fraction
    keeps every case a smaller one chose (the same stream, more of it)."""
    base = _sample()
    chosen = {}
    for fraction in ("0.0", "0.05", "0.1", "0.5", "1.0"):
        p = protocol(**{"double_review_fraction = 0.1": f"double_review_fraction = {fraction}"})
        s = draw(p, frame(), frame_fingerprint="x")
        columns = ["case_id", "stratum", "draw_order", "role", "weight", "prn"]
        assert s.units[columns].equals(base.units[columns])
        chosen[fraction] = set(s.units.loc[s.units["double_review"], "case_id"])
    assert chosen["0.0"] == set()
    assert chosen["0.05"] <= chosen["0.1"] <= chosen["0.5"] <= chosen["1.0"]
    assert chosen["1.0"] == set(base.sample["case_id"])
    again = draw(protocol(), frame(), frame_fingerprint="x")
    assert (again.units["double_review"] == base.units["double_review"]).all()


def _one_stratum(mode: str, seed: int, n: int) -> Any:
    text = PROTOCOL.replace('kommuner = ["461", "147", "825"]', 'kommuner = ["825"]').replace(
        'columns = ["kommune_code", "sex", "origin"]', 'columns = ["kommune_code"]'
    )
    text = text[: text.index("[strata.collapse.origin]")] + text[text.index("[precision]") :]
    text = text.replace("seed = 42", f"seed = {seed}").replace(
        "max_reviews = 300", f"max_reviews = {n}"
    )
    if mode != "independent":
        text = text.replace(
            "[review]", f'[coordination]\nmode = "{mode}"\nprevious = "x"\n\n[review]'
        )
    return parse_protocol(text, "/tmp/p.toml")


@pytest.mark.parametrize("mode", ["avoid", "overlap"])
def test_coordinated_draws_are_srs_among_the_earlier_and_the_other_cases(mode):
    """Over many coordination keys (seed:<seed>), with one earlier sample held fixed: under
    avoid every case not sampled before is drawn with frequency ≈ n_h / (N_h − earlier) and
    no earlier case is drawn; under overlap every earlier case is drawn and the others with
    frequency ≈ (n_h − earlier) / (N_h − earlier)."""
    small = (
        frame()
        .query("kommune_code == '147' and category == 'aktivitetsparat'")
        .head(40)
        .assign(kommune_code="825")
        .reset_index(drop=True)
    )
    first = draw(_one_stratum("independent", 1, 4), small, frame_fingerprint="x")
    earlier = set(first.sample["case_id"])
    eligible = small.loc[small["category"] == "aktivitetsparat", "case_id"].tolist()
    others = [c for c in eligible if c not in earlier]
    n, runs = 10, scaled(150, factor=2)  # 300 draws in CI's exhaustive run
    counts = dict.fromkeys(eligible, 0)
    for seed in range(runs):
        s = draw(_one_stratum(mode, seed, n), small, previous=first, frame_fingerprint="x")
        for case in s.sample["case_id"]:
            counts[case] += 1
    share = (n if mode == "avoid" else n - len(earlier)) / len(others)
    freq = np.array([counts[c] for c in others])
    sd = np.sqrt(runs * share * (1 - share))
    assert np.all(np.abs(freq - runs * share) < 5 * sd)
    # and not just in the mean: a chi-square test of equal frequencies
    chi2 = ((freq - freq.mean()) ** 2 / freq.mean()).sum()
    from scipy import stats

    assert stats.chi2.sf(chi2, len(others) - 1) > 1e-4
    assert all(counts[c] == (0 if mode == "avoid" else runs) for c in earlier)


def test_a_coordinated_round_two_says_it_repeats_round_one():
    """Coordinated orders come from the permanent random numbers, not the round's stream:
    round 2 repeats round 1, and the draw says so."""
    first = _sample()
    follow = protocol(**{"[review]": '[coordination]\nmode = "avoid"\nprevious = "x"\n\n[review]'})
    one = draw(follow, frame(), previous=first, frame_fingerprint="x")
    two = draw(follow, frame(), previous=first, round=2, frame_fingerprint="x")
    assert one.units["case_id"].tolist() == two.units["case_id"].tolist()
    assert any(note.startswith("round 2: with coordination avoid") for note in two.notes)
    assert not any(note.startswith("round ") for note in one.notes)
