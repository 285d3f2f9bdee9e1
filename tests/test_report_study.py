"""Reading a study for the reports: strata inside one kommune without a kommune column."""

import pandas as pd
import pytest

from stikprove.errors import StikproveError
from stikprove.reports.content import _with_kommune


def _data(kommuner: dict[str, list[str]]) -> pd.DataFrame:
    rows = [(s, k) for s, codes in kommuner.items() for k in codes]
    return pd.DataFrame(rows, columns=["stratum", "kommune_code"])


def test_strata_inside_one_kommune_take_its_code_from_their_cases():
    """The Odense replication stratifies by sex x origin inside kommune 461: its strata table
    has no kommune column (the report failed with KeyError 'kommune_code')."""
    strata = pd.DataFrame({"stratum": ["kvinde|a", "mand|a"], "population_size": [40, 50]})
    data = _data({"kvinde|a": ["461", "461"], "mand|a": ["461"]})
    out = _with_kommune(strata, data, "odense.sqlite")
    assert out["kommune_code"].tolist() == ["461", "461"]
    assert "kommune_code" not in strata.columns  # the caller's table is left as it was


def test_strata_spanning_kommuner_are_refused_by_name():
    strata = pd.DataFrame({"stratum": ["kvinde", "mand"], "population_size": [40, 50]})
    data = _data({"kvinde": ["461"], "mand": ["461", "147"]})
    with pytest.raises(StikproveError, match=r"national\.sqlite: stratum 'mand' holds cases of 2"):
        _with_kommune(strata, data, "/x/national.sqlite")


def test_strata_with_a_kommune_column_keep_it_as_text():
    strata = pd.DataFrame({"stratum": ["461|k"], "kommune_code": [461]})
    out = _with_kommune(strata, _data({"461|k": ["461"]}), "s.sqlite")
    assert out["kommune_code"].tolist() == ["461"]


def test_comparison_and_agreement_sentences_name_their_level():
    """Both sentences quote an interval: it carries its level as the headline's does (they
    said only 'KI'/'CI', whatever level the report was run at)."""
    from stikprove.reports import text

    compared = {"first": "kvinde", "second": "mand", "difference": 0.05,
                "ci_low_difference": -0.02, "ci_high_difference": 0.12, "p_value": 0.2}  # fmt: skip
    agreed = {"kappa": 0.6, "ci_low": 0.4, "ci_high": 0.8, "percent_agreement": 85.0}
    assert "(90 %-KI \u22122 til 12; p = 0,200)" in text.comparison_sentence(compared, "da", 5, 0.9)
    assert "(90% CI \u22122 to 12; p = 0.200)" in text.comparison_sentence(compared, "en", 5, 0.9)
    assert "kappa 0,60, 99 %-KI 0,40 til 0,80)" in text.agreement_sentence(agreed, "da", 5, 0.99)
    assert "kappa 0.60, 95% CI 0.40 to 0.80)" in text.agreement_sentence(agreed, "en")
