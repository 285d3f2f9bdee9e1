"""The NCHS presentation standard for proportions: its cut-offs and decision steps.

Parker et al. (2017) decide from three numbers whether a proportion may be presented: its
effective sample size, the absolute width of its (Korn–Graubard) confidence interval and
that width relative to the proportion. The cut-offs and the decision live here, below every
step, because two steps apply them: the design step *plans* with them (will the planned
precision be publishable? :func:`stikprove.design.expected_presentation`) and the release
*applies* them to estimates (:func:`stikprove.release.disclosure.nchs_presentation`, which
adds the review flags of a presented proportion; a test holds the two to one verdict).

Written by hand: the standard is published as a decision diagram; its authors' own
implementation (CDC's R package surveytable) is R.

>>> verdict = presentation([0.2, 0.2, 0.2], [30, 29, 30], [0.29, 0.2, 0.30])
>>> verdict["present"].tolist(), verdict["nchs"].tolist()
([False, False, False], ['nchs_relative_width', 'nchs_n_eff', 'nchs_width'])

References
----------
Parker, J. D., Talih, M., Malec, D. J., et al. (2017). National Center for Health Statistics
Data Presentation Standards for Proportions. Vital and Health Statistics 2(175).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MAX_RELATIVE_WIDTH",
    "MAX_WIDTH",
    "MIN_EFFECTIVE_N",
    "NARROW_WIDTH",
    "SUPPRESSING_STEPS",
    "presentation",
]

MIN_EFFECTIVE_N = 30
"""A proportion whose effective sample size is under this is suppressed (step 1)."""

NARROW_WIDTH = 0.05
"""An interval at most this wide (5 percentage points) is presented at once (step 2)."""

MAX_WIDTH = 0.30
"""An interval this wide or wider (30 percentage points) is suppressed (step 3): a planned
half-width of exactly 0.15 is not enough."""

MAX_RELATIVE_WIDTH = 1.30
"""An interval wider than 130 % of the proportion is suppressed (step 4)."""

SUPPRESSING_STEPS = ("nchs_n_eff", "nchs_width", "nchs_relative_width")
"""The codes of the suppressing steps, in the order they are checked (the disclosure codes
of :mod:`stikprove.release.disclosure`)."""


def presentation(estimate: Any, n_eff: Any, width: Any) -> pd.DataFrame:
    """Steps 1–4 of the standard, per row (vectorised).

    ``estimate`` the proportion p, ``n_eff`` its effective sample size (the caller caps it
    at n, as the standard does), ``width`` the absolute width of its Korn–Graubard interval.
    At p = 0 or 1 the width counts as 0 (the standard flags such a proportion for review
    instead). A missing p or n_eff is not presented (code ``nchs_n_eff``).

    Returns a DataFrame with ``relative_width`` (width / p), ``present`` (bool) and ``nchs``:
    the first suppressing step that applies (one of :data:`SUPPRESSING_STEPS`), "" when
    presented.
    """
    p, n_eff, width = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(a, dtype=float)) for a in (estimate, n_eff, width))
    )
    edge = (p == 0) | (p == 1)
    width = np.where(edge, 0.0, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(edge, 0.0, width / p)
    small = ~np.isfinite(p) | ~np.isfinite(n_eff) | ~(n_eff >= MIN_EFFECTIVE_N)
    narrow = ~small & (width <= NARROW_WIDTH)
    wide = ~small & ~narrow & ~(width < MAX_WIDTH)
    relatively_wide = ~small & ~narrow & ~wide & (relative > MAX_RELATIVE_WIDTH)
    codes = np.select([small, wide, relatively_wide], list(SUPPRESSING_STEPS), default="")
    return pd.DataFrame(
        {
            "relative_width": relative,
            "present": ~(small | wide | relatively_wide),
            "nchs": codes.astype(object),
        }
    )
