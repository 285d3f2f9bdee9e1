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
    assert p.interval_method == "korn-graubard"
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
    from stikprove.protocol import _SCHEMA

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
