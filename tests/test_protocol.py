"""Study protocols: loading, checking every key, and applying them to a frame."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from stikprove.errors import ProtocolError
from stikprove.protocol import load_protocol, parse_protocol, study_population

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """
[study]
id = "mini"
title = "A minimal protocol"
seed = 7

[frame]
path = "data/frame.csv"

[strata]
columns = ["kommune_code", "sex", "origin"]

[strata.collapse.origin]
dansk_oprindelse = "dansk"
indvandrer_vestlig = "vestlig"
efterkommer_vestlig = "vestlig"
indvandrer_ikke_vestlig = "ikke_vestlig"
efterkommer_ikke_vestlig = "ikke_vestlig"

[precision]
indicator = "misclassified"
anticipated = 0.3

[budget]
max_reviews = 50
minutes_per_review = 40
"""


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def frame() -> pd.DataFrame:
    origins = [
        "dansk_oprindelse",
        "indvandrer_vestlig",
        "indvandrer_ikke_vestlig",
        "efterkommer_vestlig",
        "efterkommer_ikke_vestlig",
    ]
    return pd.DataFrame(
        {
            "case_id": [f"id{i:03d}" for i in range(40)],
            "kommune_code": ["461", "147", "825", "101"] * 10,
            "sex": ["kvinde", "mand"] * 20,
            "origin": origins * 8,
            "category": ["aktivitetsparat"] * 36 + ["jobparat"] * 4,
            "health_exempt": [True, True, False, True] * 10,
        }
    )


def test_example_protocols_load():
    """The two committed example protocols load without problems."""
    odense = load_protocol(ROOT / "protocols" / "odense-replication.toml")
    assert odense.kommuner == ("461",)
    assert odense.strata == ("sex", "origin")
    national = load_protocol(ROOT / "protocols" / "national-template.toml")
    assert national.kommuner is None
    assert set(national.collapse["origin"].values()) == {"dansk", "vestlig", "ikke_vestlig"}


def test_defaults_and_relative_paths(tmp_path):
    """Defaults fill optional keys and the frame path resolves against the protocol's folder."""
    p = load_protocol(write(tmp_path, MINIMAL))
    assert p.frame_path == (tmp_path / "data" / "frame.csv").resolve()
    assert p.confidence_level == 0.95
    assert p.interval_method == "pooled-hypergeometric"  # the default chosen in docs/intervals.md
    assert p.disclosure_threshold == 5
    assert p.coordination == "independent"
    assert p.allocation == "proportional"
    assert p.eligibility["category"] == ("aktivitetsparat",)
    assert p.codebook_path is None and p.codebook.indicator("misclassified")


def test_text_and_fingerprint_are_kept(tmp_path):
    """The protocol keeps its text and the SHA-256 of it."""
    p = load_protocol(write(tmp_path, MINIMAL))
    assert p.text == MINIMAL
    assert p.fingerprint == hashlib.sha256(MINIMAL.encode()).hexdigest()


def test_every_problem_is_named_at_once(tmp_path):
    """Unknown, missing and wrong keys are all listed in one error with the expected form."""
    text = (
        MINIMAL.replace('title = "A minimal protocol"\n', "")
        .replace("seed = 7", 'seed = "seven"\ncolour = "blue"')
        .replace("anticipated = 0.3", "anticipated = 3")
        + '\n[extras]\nx = 1\n[allocation]\nmethod = "optimal"\n'
    )
    with pytest.raises(ProtocolError) as caught:
        load_protocol(write(tmp_path, text))
    message = str(caught.value)
    assert "[study] missing key 'title': expected a non-empty string" in message
    assert "[study] seed = 'seven': expected a whole number >= 0" in message
    assert "[study] unknown key 'colour'" in message
    assert "[precision] anticipated = 3: expected a rate in (0, 1)" in message
    assert "unknown section [extras]" in message
    assert "[allocation] method = 'optimal': expected one of proportional" in message
    assert "6 problem(s)" in message


def test_missing_sections_name_their_required_keys(tmp_path):
    """An empty protocol names each required section and key."""
    with pytest.raises(ProtocolError) as caught:
        load_protocol(write(tmp_path, "\n"))
    message = str(caught.value)
    for expected in (
        "missing section [study]",
        "[study] missing key 'id'",
        "[frame] missing key 'path'",
        "[strata] missing key 'columns'",
        "[precision] missing key 'indicator'",
        "[budget] missing key 'minutes_per_review'",
    ):
        assert expected in message


def test_unknown_indicator_and_strata_column_are_refused(tmp_path):
    """A non-codebook indicator and a non-frame strata column are named with the choices."""
    text = MINIMAL.replace('"misclassified"', '"happy"').replace(
        '["kommune_code", "sex", "origin"]', '["kommune_code", "sex", "origin", "shoe_size"]'
    )
    with pytest.raises(ProtocolError) as caught:
        load_protocol(write(tmp_path, text))
    message = str(caught.value)
    assert "indicator = 'happy': expected a codebook indicator, one of too_ill" in message
    assert "columns = ['kommune_code', 'sex', 'origin', 'shoe_size']" in message


def test_collapse_must_map_every_value(tmp_path):
    """A collapse mapping that leaves a value unmapped (or maps an unknown one) is refused."""
    text = MINIMAL.replace('efterkommer_ikke_vestlig = "ikke_vestlig"\n', "")
    unmapped = r"not mapped to a group: \['efterkommer_ikke_vestlig'\]"
    with pytest.raises(ProtocolError, match=unmapped):
        load_protocol(write(tmp_path, text))
    text = MINIMAL.replace("dansk_oprindelse =", "danish =")
    with pytest.raises(ProtocolError, match=r"unknown values \['danish'\]"):
        load_protocol(write(tmp_path, text))


def test_cross_key_requirements(tmp_path):
    """Keys that other keys require (margin, max_reviews, previous) are asked for."""
    text = MINIMAL.replace("max_reviews = 50\n", "") + '[coordination]\nmode = "avoid"\n'
    with pytest.raises(ProtocolError) as caught:
        load_protocol(write(tmp_path, text))
    assert "'max_reviews'" in str(caught.value) and "'previous'" in str(caught.value)
    text = MINIMAL + '[allocation]\nmethod = "precision"\n'
    with pytest.raises(ProtocolError, match="needs the target half-width"):
        load_protocol(write(tmp_path, text))


def test_invalid_toml_and_missing_file_are_errors(tmp_path):
    """Broken TOML and a missing file raise ProtocolError naming the file."""
    with pytest.raises(ProtocolError, match="not valid TOML"):
        load_protocol(write(tmp_path, "[study\n"))
    with pytest.raises(ProtocolError, match="cannot read protocol"):
        load_protocol(tmp_path / "nope.toml")


def test_kommune_codes_are_checked(tmp_path):
    """Kommune filters accept only the 98 official codes (411 is refused)."""
    text = MINIMAL.replace("[strata]", '[eligibility]\nkommuner = ["461", "411"]\n\n[strata]')
    with pytest.raises(ProtocolError, match="kommuner = \\['461', '411'\\]"):
        load_protocol(write(tmp_path, text))


def test_study_population_filters_collapses_and_keys(tmp_path):
    """Eligibility and kommune filters apply; collapsed values and stratum keys are built."""
    text = MINIMAL.replace(
        "[strata]", '[eligibility]\nhealth_exempt = true\nkommuner = ["461", "147"]\n\n[strata]'
    )
    p = parse_protocol(text, tmp_path / "p.toml")
    pop = study_population(p, frame())
    assert set(pop["kommune_code"]) == {"461", "147"}
    assert pop["health_exempt"].all() and (pop["category"] == "aktivitetsparat").all()
    assert set(pop["origin"]) <= {"dansk", "vestlig", "ikke_vestlig"}
    first = pop.iloc[0]
    assert first["stratum"] == f"{first['kommune_code']}|{first['sex']}|{first['origin']}"
    assert pop.index.isin(frame().index).all()


def test_study_population_names_missing_frame_columns(tmp_path):
    """Strata columns missing from the frame are named, with the frame's columns."""
    p = parse_protocol(MINIMAL, tmp_path / "p.toml")
    with pytest.raises(ProtocolError, match=r"lacks column\(s\) \['origin'\]"):
        study_population(p, frame().drop(columns="origin"))


def test_boolean_strata_keys(tmp_path):
    """health_exempt as a strata column gives 'true'/'false' in the key and keeps booleans."""
    text = MINIMAL.replace('["kommune_code", "sex", "origin"]', '["health_exempt"]').replace(
        "[strata.collapse.origin]", "[unused]"
    )
    text = text[: text.index("[unused]")] + text[text.index("[precision]") :]
    p = parse_protocol(text, tmp_path / "p.toml")
    pop = study_population(p, frame())
    assert set(pop["stratum"]) == {"true", "false"}
    assert pop["health_exempt"].dtype == bool


def test_summary_mentions_key_settings(tmp_path):
    """The summary names the study, strata, budget and fingerprint."""
    p = load_protocol(write(tmp_path, MINIMAL))
    text = p.summary()
    assert "mini" in text and "kommune_code × sex × origin" in text
    assert "50 reviews" in text and p.fingerprint in text


def test_readme_documents_every_key():
    """protocols/README.md names every section and key the loader accepts."""
    from stikprove.protocol.schema import _SCHEMA

    text = (ROOT / "protocols" / "README.md").read_text(encoding="utf-8")
    for section, keys in _SCHEMA.items():
        assert f"`[{section}]`" in text, section
        for key in keys:
            assert f"| `{key}` |" in text, (section, key)


def test_worklist_fields_default_and_given(tmp_path):
    """[review] worklist_fields defaults to none and is kept as a tuple in the given order."""
    assert load_protocol(write(tmp_path, MINIMAL)).worklist_fields == ()
    text = MINIMAL + '\n[review]\nworklist_fields = ["years_on_benefit", "age"]\n'
    p = load_protocol(write(tmp_path, text))
    assert p.worklist_fields == ("years_on_benefit", "age")
    assert "years_on_benefit, age" in p.summary()


@pytest.mark.parametrize(
    "value", ['"age"', '["age", "age"]', '["age", ""]', "[1]", "true"], ids=repr
)
def test_worklist_fields_form_is_checked(tmp_path, value):
    """worklist_fields must be a list of distinct non-empty names."""
    text = MINIMAL + f"\n[review]\nworklist_fields = {value}\n"
    with pytest.raises(ProtocolError, match=r"\[review\] worklist_fields = .*expected a list"):
        load_protocol(write(tmp_path, text))


def test_worklist_fields_must_be_frame_columns(tmp_path):
    """check_worklist_fields (check-protocol, draw) names fields the frame lacks."""
    from stikprove.protocol import check_worklist_fields

    text = MINIMAL + '\n[review]\nworklist_fields = ["health_exempt", "shoe_size"]\n'
    p = parse_protocol(text, tmp_path / "p.toml")
    with pytest.raises(ProtocolError, match=r"worklist_fields names \['shoe_size'\]"):
        check_worklist_fields(p, frame())
    check_worklist_fields(p, frame().assign(shoe_size=42))  # an extra frame column is fine


# --------------------------------------------------------------------------------------------
# Time on benefit (and age) in bands

BANDED = MINIMAL.replace(
    '["kommune_code", "sex", "origin"]', '["kommune_code", "sex", "years_on_benefit_band"]'
).replace("[strata.collapse.origin]", "[strata.bands]\nyears_on_benefit = [0, 1, 3, 5]\n[unused]")
BANDED = BANDED[: BANDED.index("[unused]")] + BANDED[BANDED.index("[precision]") :]


def test_band_labels_are_left_closed_intervals():
    """[0, 1, 3, 5] gives 0-1, 1-3, 3-5, 5+; a value on a break opens the next band."""
    from stikprove.protocol import band_labels, band_values

    assert band_labels([0, 1, 3, 5]) == ("0-1", "1-3", "3-5", "5+")
    assert band_labels([0, 0.5, 2]) == ("0-0.5", "0.5-2", "2+")
    years = pd.Series([0.0, 0.99, 1.0, 2.9, 3.0, 5.0, 40.0, float("nan")], name="years")
    assert band_values(years, [0, 1, 3, 5]).tolist() == [
        "0-1",
        "0-1",
        "1-3",
        "1-3",
        "3-5",
        "5+",
        "5+",
        "ukendt",
    ]
    with pytest.raises(ProtocolError, match="1 case\\(s\\) have years below the first break"):
        band_values(pd.Series([0.5, 2.0], name="years"), [1, 3])


def test_years_on_benefit_bands_as_strata(tmp_path):
    """bands.years_on_benefit makes years_on_benefit_band a strata column in stratum keys."""
    p = parse_protocol(BANDED, tmp_path / "p.toml")
    assert p.bands == {"years_on_benefit": (0.0, 1.0, 3.0, 5.0)}
    assert "years_on_benefit in bands 0-1, 1-3, 3-5, 5+" in p.summary()
    f = frame().assign(years_on_benefit=[0.2, 1.0, 4.5, 12.0] * 10)
    pop = study_population(p, f)
    assert set(pop["years_on_benefit_band"]) == {"0-1", "1-3", "3-5", "5+"}
    assert (pop["years_on_benefit"] == f.loc[pop.index, "years_on_benefit"]).all()  # kept
    first = pop.iloc[0]
    assert first["stratum"] == (
        f"{first['kommune_code']}|{first['sex']}|{first['years_on_benefit_band']}"
    )
    with pytest.raises(ProtocolError, match=r"lacks column\(s\) \['years_on_benefit'\]"):
        study_population(p, frame())


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ("years_on_benefit = [0, 3, 1]", "expected a strictly increasing list"),
        ("years_on_benefit = [1]", "at least two numbers"),
        ("years_on_benefit = [-1, 2]", "numbers >= 0"),
        ('years_on_benefit = ["0", "2"]', "strictly increasing list"),
        ("kommune_code = [0, 2]", "'kommune_code' cannot be banded: expected one of"),
        ("years_on_benefit = [0, 2]\nage = [18, 30]", "'age_band' is not a strata column"),
    ],
)
def test_bad_bands_are_refused(tmp_path, bands, message):
    """Bands must be increasing numbers >= 0 of a numeric column used among the strata."""
    text = BANDED.replace("years_on_benefit = [0, 1, 3, 5]", bands)
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(text, tmp_path / "p.toml")


def test_band_column_needs_its_bands(tmp_path):
    """years_on_benefit_band among the strata without bands.years_on_benefit is refused."""
    text = BANDED.replace("[strata.bands]\nyears_on_benefit = [0, 1, 3, 5]\n", "")
    with pytest.raises(ProtocolError, match="'years_on_benefit_band' needs its bands"):
        parse_protocol(text, tmp_path / "p.toml")
    text = BANDED.replace(
        "[strata.bands]", "[strata.collapse.years_on_benefit_band]\nx = 'y'\n[strata.bands]"
    )
    with pytest.raises(ProtocolError, match="cannot be collapsed"):
        parse_protocol(text, tmp_path / "p.toml")


# --------------------------------------------------------------------------------------------
# Anticipated rates by group


def with_anticipated(value: str) -> str:
    return MINIMAL.replace("anticipated = 0.3", f"anticipated = {value}")


def test_anticipated_rates_by_a_collapsed_column(tmp_path):
    """A table of rates by (collapsed) origin group, with a default for the others."""
    from stikprove.protocol import anticipated_rates

    text = with_anticipated(
        '{ default = 0.2, by = "origin", values = { ikke_vestlig = 0.1, dansk = 0.35 } }'
    )
    p = parse_protocol(text, tmp_path / "p.toml")
    assert p.anticipated == 0.2 and p.anticipated_by == ("origin",)
    assert dict(p.anticipated_values) == {"ikke_vestlig": 0.1, "dansk": 0.35}
    assert "anticipated by origin: ikke_vestlig 0.1, dansk 0.35, otherwise 0.2" in p.summary()
    pop = study_population(p, frame())
    rates = anticipated_rates(p, pop)
    expected = pop["origin"].map({"ikke_vestlig": 0.1, "dansk": 0.35}).fillna(0.2)
    assert rates.tolist() == expected.tolist()


def test_anticipated_rates_by_several_columns_as_a_table(tmp_path):
    """by may list several strata columns; keys join their values with '|'."""
    from stikprove.protocol import anticipated_rates

    text = MINIMAL.replace("anticipated = 0.3\n", "") + (
        '\n[precision.anticipated]\ndefault = 0.25\nby = ["sex", "origin"]\n'
        'values = { "kvinde|ikke_vestlig" = 0.1 }\n'
    )
    p = parse_protocol(text, tmp_path / "p.toml")
    assert p.anticipated_by == ("sex", "origin")
    table = pd.DataFrame({"sex": ["kvinde", "mand"], "origin": ["ikke_vestlig", "ikke_vestlig"]})
    assert anticipated_rates(p, table).tolist() == [0.1, 0.25]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{ by = "origin", values = { dansk = 0.3 } }', "default = None: expected the rate"),
        ('{ default = 0.2, by = "shoe", values = { a = 0.3 } }', "by = 'shoe': expected a strata"),
        ('{ default = 0.2, by = "origin", values = { dansk = 1.5 } }', "values = .*rate in"),
        (
            '{ default = 0.2, by = "origin", values = { dansk_oprindelse = 0.3 } }',
            "'dansk_oprindelse' in 'dansk_oprindelse' is not a value of origin: expected one of "
            "dansk, vestlig, ikke_vestlig",
        ),
        (
            '{ default = 0.2, by = "kommune_code", values = { "411" = 0.3 } }',
            "'411' .* is not a value of kommune_code",
        ),
        (
            '{ default = 0.2, by = ["sex", "origin"], values = { kvinde = 0.3 } }',
            "key 'kvinde' has 1 part",
        ),
        ('{ default = 0.2, by = "sex", values = { mand = 0.3 }, x = 1 }', r"unknown key\(s\)"),
        ("1.5", "anticipated = 1.5: expected a rate in"),
    ],
)
def test_bad_anticipated_tables_are_refused(tmp_path, value, message):
    """Every part of an anticipated table is checked against the strata."""
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(with_anticipated(value), tmp_path / "p.toml")


def test_anticipated_by_health_exempt_and_bands(tmp_path):
    """Booleans are keyed true/false and bands by their labels."""
    from stikprove.protocol import anticipated_rates

    text = BANDED.replace(
        "anticipated = 0.3",
        'anticipated = { default = 0.3, by = "years_on_benefit_band", values = { "5+" = 0.5 } }',
    )
    p = parse_protocol(text, tmp_path / "p.toml")
    pop = study_population(p, frame().assign(years_on_benefit=[0.2, 1.0, 4.5, 12.0] * 10))
    rates = anticipated_rates(p, pop)
    assert (rates[pop["years_on_benefit_band"].to_numpy() == "5+"] == 0.5).all()
    bad = text.replace('"5+" = 0.5', '"6+" = 0.5')
    with pytest.raises(ProtocolError, match="expected one of 0-1, 1-3, 3-5, 5\\+, ukendt"):
        parse_protocol(bad, tmp_path / "p.toml")


# --------------------------------------------------------------------------------------------
# Precision targets per domain


def with_targets(targets: str, margin: str = "") -> str:
    return MINIMAL.replace("anticipated = 0.3", f"anticipated = 0.3\n{margin}targets = {targets}")


def test_precision_targets_are_parsed_and_normalised(tmp_path):
    """Domains are 'stratum', 'all', a strata column or a list of them (in strata order)."""
    text = with_targets(
        '[{ domain = ["sex", "kommune_code"], margin = 0.1 }, { domain = "all", margin = 0.03 },'
        ' { domain = "kommune_code", margin = 0.08 }]',
        margin="margin = 0.15\n",
    )
    p = parse_protocol(text, tmp_path / "p.toml")
    assert [(t.domain, t.columns, t.margin) for t in p.targets] == [
        ("stratum", ("kommune_code", "sex", "origin"), 0.15),
        ("kommune_code × sex", ("kommune_code", "sex"), 0.1),
        ("all", (), 0.03),
        ("kommune_code", ("kommune_code",), 0.08),
    ]
    assert p.margin == 0.15
    assert "half-width 0.08 per kommune_code" in p.summary()


def test_a_stratum_target_is_the_margin(tmp_path):
    """targets = [{ domain = "stratum" }] sets margin and allows allocation 'precision'."""
    text = with_targets('[{ domain = "stratum", margin = 0.2 }]') + (
        '[allocation]\nmethod = "precision"\n'
    )
    p = parse_protocol(text, tmp_path / "p.toml")
    assert p.margin == 0.2 and p.allocation == "precision"
    text = with_targets('[{ domain = "all", margin = 0.05 }]') + (
        '[allocation]\nmethod = "precision"\n'
    )
    assert parse_protocol(text, tmp_path / "p.toml").margin is None


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ('[{ domain = "shoe", margin = 0.1 }]', 'domain = \'shoe\': expected "stratum", "all"'),
        ('[{ domain = "sex", margin = 1.1 }]', r"targets\[1\] margin = 1.1: expected"),
        ('[{ domain = "sex" }]', "margin = None"),
        ('[{ domain = "sex", margin = 0.1, weight = 2 }]', r"unknown key\(s\) \['weight'\]"),
        (
            '[{ domain = "sex", margin = 0.1 }, { domain = ["sex"], margin = 0.2 }]',
            "a second target for the sex domains",
        ),
        ('[{ domain = "stratum", margin = 0.1 }]', "the per-stratum margin counts as one"),
        ('[{ domain = ["sex", "sex"], margin = 0.1 }]', 'expected "stratum"'),
        ('{ domain = "sex", margin = 0.1 }', "targets = .*expected a list of tables"),
    ],
)
def test_bad_targets_are_refused(tmp_path, targets, message):
    """Targets name strata columns, a margin in (0, 1), and each domain once."""
    with pytest.raises(ProtocolError, match=message):
        parse_protocol(with_targets(targets, margin="margin = 0.2\n"), tmp_path / "p.toml")


# ---------------------------------------------------------------------------------------------
# review: many problems at once, each with its key, the expected form and what is wrong

MALFORMED = """
[study]
id = "bad id"
title = 5
seed = "42"

[eligibility]
kommuner = [461, "999"]

[strata]
columns = ["kommune_code", "sexx", "age"]

[strata.collapse.origin]
dansk_oprindelse = "dansk"

[precision]
indicator = "too_ill"
anticipated = 0.2
margin = 0.5
confidence_level = 95
targets = [{ domain = "kommune", margin = 0.1 }]

[budget]
max_reviews = 200.5
minutes_per_review = "45"

[allocation]
method = "optimal"
minimum = -1

[review]
double_review_fraction = 10

[coordination]
mode = "avoid"
previous = 3
"""


def test_ten_malformed_keys_are_all_reported_with_key_and_form(tmp_path):
    """Wrong types, a missing [frame], a seed in quotes, 95 for 0.95, a strata column typo,
    a numeric column without bands, an unknown kommune, margin 0.5: each named once with its
    key, the expected form and a hint, and no problem that only follows from another."""
    with pytest.raises(ProtocolError) as caught:
        load_protocol(write(tmp_path, MALFORMED))
    message = str(caught.value)
    expected = [
        "[study] id = 'bad id': expected a short id",
        "[study] title = 5: expected a non-empty string",
        "[study] seed = '42': expected a whole number >= 0 (a number, written without quotes)",
        "missing section [frame]",
        "[frame] missing key 'path'",
        "[eligibility] kommuner = [461, '999']: expected \"all\" or a list of official 3-digit "
        "kommune codes, e.g. [\"461\"]; not kommune codes: '999'",
        "'sexx' is not a strata column (did you mean 'sex'?)",
        "'age' is numeric: use 'age_band' with bands.age = [...]",
        "[precision] margin = 0.5: expected the target half-width per stratum, in (0, 0.5)",
        "[precision] confidence_level = 95: expected a number in [0.5, 1), e.g. 0.95 "
        "(if 95 is a percentage, write 0.95)",
        "[budget] max_reviews = 200.5: expected a whole number of reviews >= 1",
        "[budget] minutes_per_review = '45': expected minutes per review, > 0 (a number, "
        "written without quotes)",
        "[allocation] method = 'optimal': expected one of proportional, equal, neyman, precision",
        "[allocation] minimum = -1: expected a whole number >= 0",
        "[review] double_review_fraction = 10: expected a fraction in [0, 1]",
        "[coordination] previous = 3: expected the earlier study's sample folder",
        # checked against the valid strata columns, not against none
        "[strata.collapse.origin]: 'origin' is not a strata column (strata columns: kommune_code)",
        '[precision] targets[1] domain = \'kommune\': expected "stratum", "all", a strata '
        "column or a list of strata columns (strata columns: kommune_code)",
    ]
    for text in expected:
        assert text in message, text
    assert "17 problem(s)" in message
    # a refused value is not also "missing"
    assert "missing key 'max_reviews'" not in message
    assert "missing key 'previous'" not in message


def test_margins_of_half_or_more_are_refused_in_protocols(tmp_path):
    """margin and target margins must be below 0.5 (a half-width [0, 1] already has)."""
    with pytest.raises(ProtocolError, match=r"margin = 0\.6: expected .* in \(0, 0\.5\)"):
        parse_protocol(MINIMAL.replace("anticipated = 0.3", "anticipated = 0.3\nmargin = 0.6"))
    text = MINIMAL.replace(
        "anticipated = 0.3", 'anticipated = 0.3\ntargets = [{ domain = "all", margin = 0.5 }]'
    )
    with pytest.raises(ProtocolError, match=r"targets\[1\] margin = 0\.5: expected .*\(0, 0\.5\)"):
        parse_protocol(text)
    with pytest.raises(ProtocolError, match=r"if 5 is a percentage, write 0\.05"):
        parse_protocol(MINIMAL.replace("anticipated = 0.3", "anticipated = 0.3\nmargin = 5"))


def test_a_missing_key_is_asked_for_only_when_absent(tmp_path):
    """max_reviews missing for a valid method is asked for; a refused max_reviews or method
    is reported once, as refused; a strata column given as a string gets a hint."""
    text = MINIMAL.replace("max_reviews = 50\n", "")
    with pytest.raises(ProtocolError, match="missing key 'max_reviews'"):
        parse_protocol(text)
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(MINIMAL.replace("max_reviews = 50", "max_reviews = 0"))
    assert "1 problem(s)" in str(caught.value)
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text + '[allocation]\nmethod = "optimal"\n')
    assert "1 problem(s)" in str(caught.value) and "method = 'optimal'" in str(caught.value)
    text = MINIMAL.replace('["kommune_code", "sex", "origin"]', '"origin"')
    with pytest.raises(ProtocolError, match=r'\(a list, e\.g\. \["origin"\]\)') as caught:
        parse_protocol(text)
    assert "1 problem(s)" in str(caught.value)  # the collapse of origin is still checked, fine


def test_previous_with_independent_coordination_is_refused(tmp_path):
    """[coordination] previous would be ignored with mode independent: refused, saying so."""
    text = MINIMAL + '[coordination]\nprevious = "../earlier"\n'
    with pytest.raises(ProtocolError, match=r"previous = '\.\./earlier': used only with mode"):
        parse_protocol(text)
    ok = parse_protocol(text.replace("[coordination]", '[coordination]\nmode = "avoid"'))
    assert ok.coordination == "avoid" and ok.previous is not None


@pytest.mark.parametrize(
    "change",
    [('title = "', 'title = "sag 010190-1234 '), ("seed = ", "# CPR: 0101901234\nseed = ")],
)
def test_a_cpr_number_anywhere_in_a_protocol_is_refused(change):
    """A CPR-like number in a value or a comment is refused by line, never shown."""
    text = MINIMAL.replace(*change, 1)
    with pytest.raises(ProtocolError, match="holds a CPR-like number") as info:
        parse_protocol(text)
    assert "1234" not in str(info.value)


@pytest.mark.parametrize(
    "change",
    [
        ('title = "', 'title = """sag 0101\\\n    901234 ', '"""'),  # a line continuation
        ('title = "', 'title = "sag 0101\\u0039\\u00301234 ', '"'),  # escaped digits
    ],
    ids=["line-continuation", "escaped-digits"],
)
def test_a_cpr_number_made_by_toml_escapes_is_refused_by_its_key(change):
    """A CPR-like number that appears only once TOML has read the string (split over a line
    continuation, digits written as escapes) is refused by its key, never shown."""
    before, after, close = change
    head, rest = MINIMAL.split(before, 1)
    title, tail = rest.split('"', 1)
    text = head + after + title + close + tail
    with pytest.raises(ProtocolError, match="CPR-like number") as info:
        parse_protocol(text)
    assert "1234" not in str(info.value)


def test_a_long_study_id_is_refused():
    """A study id is bounded (it becomes part of file names)."""
    with pytest.raises(ProtocolError, match="at most 64"):
        parse_protocol(MINIMAL.replace('id = "', 'id = "' + "x" * 70, 1))


def test_a_control_character_in_a_protocol_string_is_refused():
    """An escape sequence in a title (or any string) is refused, by its place."""
    with pytest.raises(ProtocolError, match=r"'study.title': holds a control character"):
        parse_protocol(MINIMAL.replace('title = "', 'title = "\\u001b[2J', 1))
