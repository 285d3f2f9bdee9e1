"""The NCHS presentation standard's cut-offs and decision steps (stikprove.nchs)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stikprove import nchs
from stikprove.release.disclosure import nchs_presentation
from strategies import scaled


@pytest.mark.parametrize(
    ("p", "n_eff", "width", "present", "code"),
    [
        (0.2, 30, 0.25, True, ""),  # n_eff of exactly 30 is enough
        (0.2, 29.99, 0.25, False, "nchs_n_eff"),
        (0.5, 100, 0.30, False, "nchs_width"),  # a half-width of 0.15 is not enough
        (0.5, 100, 0.2999, True, ""),
        (0.2, 100, 0.26, True, ""),  # 130 % of the rate exactly is presented
        (0.2, 100, 0.2601, False, "nchs_relative_width"),
        (0.02, 100, 0.05, True, ""),  # at most 5 points wide: presented whatever the rate
        (0.02, 100, 0.0501, False, "nchs_relative_width"),
        (0.0, 30, 0.4, True, ""),  # 0 % and 100 %: the width counts as 0 (flagged elsewhere)
        (1.0, 29, 0.0, False, "nchs_n_eff"),
        (np.nan, 100, 0.1, False, "nchs_n_eff"),
    ],
)  # fmt: skip
def test_each_step_at_its_cut_off(p, n_eff, width, present, code):
    """Each cut-off of Parker et al. (2017) on the side the standard puts it."""
    verdict = nchs.presentation(p, n_eff, width)
    assert bool(verdict["present"].iloc[0]) is present
    assert verdict["nchs"].iloc[0] == code


@settings(max_examples=scaled(200), deadline=None)
@given(
    p=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.001, 0.999)),
    n=st.integers(1, 400),
    deff=st.floats(0.0, 4),
    strata=st.integers(1, 5),
)
def test_the_releases_verdict_is_the_standards(p, n, deff, strata):
    """The release's NCHS verdict presents exactly what stikprove.nchs presents on the
    effective n and interval it judges, with the same suppressing code first (the design
    step plans with the one, the release applies the other)."""
    se = np.sqrt(p * (1 - p) * deff / n)
    release = nchs_presentation([p], [se], [n], [n - strata], deff=[deff]).iloc[0]
    verdict = nchs.presentation(p, release["n_eff"], release["nchs_high"] - release["nchs_low"])
    assert bool(verdict["present"].iloc[0]) == bool(release["present"])
    first = release["nchs"].split(",")[0]
    expected = first if first in nchs.SUPPRESSING_STEPS else ""
    assert verdict["nchs"].iloc[0] == expected
