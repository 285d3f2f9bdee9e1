"""The default codebook and the indicators derived from it."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stikprove.codebook import default_codebook, parse_codebook
from stikprove.errors import ProtocolError

ROOT = Path(__file__).resolve().parents[1]


def test_protocols_copy_equals_package_default():
    packaged = default_codebook().text
    assert (ROOT / "protocols" / "codebook.toml").read_text(encoding="utf-8") == packaged


def test_default_codebook_has_design_fields():
    cb = default_codebook()
    assert cb.field("health_assessment").codes == (
        "for_syg",
        "kan_med_skaanehensyn",
        "ingen_vaesentlig_barriere",
        "kan_ikke_vurderes",
    )
    assert "jobafklaringsforloeb" not in cb.field("recommended_track").codes
    assert cb.field("health_assessment").label_of("for_syg", "en").startswith("Too ill")


def test_indicators_follow_design_definitions():
    cb = default_codebook()
    a = pd.DataFrame(
        {
            "eligible": ["ja", "ja", "ja", "nej", None, "ja"],
            "health_assessment": [
                "for_syg",
                "kan_med_skaanehensyn",
                "kan_ikke_vurderes",
                None,
                None,
                "ingen_vaesentlig_barriere",
            ],
            "effort_last_12_months": ["ingen", "tilbud", "ukendt", None, None, "mentor"],
        }
    )
    exempt = pd.Series([True, True, True, True, True, False])
    ind = cb.derive_indicators(a, exempt)
    np.testing.assert_array_equal(ind["too_ill"], [1, 0, np.nan, np.nan, np.nan, 0])
    np.testing.assert_array_equal(ind["misclassified"], [0, 1, np.nan, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(ind["no_effort"], [1, 0, np.nan, np.nan, np.nan, 0])


def test_codebook_without_eligible_is_refused():
    text = '[[fields]]\nname = "x"\nkind = "text"\nrequired = "never"\n'
    with pytest.raises(ProtocolError, match="'eligible'"):
        parse_codebook(text)


def test_indicator_with_unknown_code_is_refused():
    text = default_codebook().text.replace('events = ["for_syg"]', 'events = ["syg"]')
    with pytest.raises(ProtocolError, match="not codes of 'health_assessment'"):
        parse_codebook(text)


def test_a_cpr_number_in_a_codebook_is_refused():
    """A label holding a CPR-like number is refused by line, never shown."""
    text = default_codebook().text.replace('da = "Omfattet', 'da = "Omfattet 010190-1234', 1)
    assert text != default_codebook().text
    with pytest.raises(ProtocolError, match="holds a CPR-like number") as info:
        parse_codebook(text)
    assert "1234" not in str(info.value)


def test_a_cpr_number_built_by_toml_escapes_in_a_codebook_is_refused():
    """A label whose CPR-like number only TOML's escapes make whole (no line shows it) is
    refused by its place, never shown."""
    text = default_codebook().text.replace(
        'da = "Omfattet', 'da = "Omfattet 0101\\u0039\\u00301234', 1
    )
    assert text != default_codebook().text
    with pytest.raises(ProtocolError, match=r"fields\.0\.label\.da holds a CPR-like") as info:
        parse_codebook(text)
    assert "1234" not in str(info.value)


def test_help_texts_are_optional_and_per_language():
    """A field's help text is read per language; a field without one has None."""
    cb = default_codebook()
    assert "manglende svar" in cb.field("health_assessment").help["da"]
    assert "missing answer" in cb.field("health_assessment").help["en"]
    assert cb.field("confidence").help is None
