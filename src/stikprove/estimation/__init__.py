"""Estimation: proportions with honest confidence intervals, per domain, from a stratified sample.

Public names (re-exported here; the modules hold the documentation):

- :func:`proportion_ci`, :class:`ConfidenceInterval`, :data:`PROPORTION_METHODS` (intervals.py)
- :func:`design_ci`, :data:`DESIGN_METHODS` (design_intervals.py)
- :func:`estimate_proportions`, :func:`outcome_bounds`, :func:`estimate_categories` (domains.py)
- :func:`simulate_coverage` (coverage.py)
- :class:`StratifiedSample`, the design object every analysis takes (stratified_sample.py)
"""

from stikprove.estimation.coverage import simulate_coverage
from stikprove.estimation.design_intervals import DESIGN_METHODS, design_ci
from stikprove.estimation.domains import (
    ESTIMATE_COLUMNS,
    estimate_categories,
    estimate_proportions,
    outcome_bounds,
)
from stikprove.estimation.intervals import PROPORTION_METHODS, ConfidenceInterval, proportion_ci
from stikprove.estimation.stratified_sample import StratifiedSample

__all__ = [
    "DESIGN_METHODS",
    "ESTIMATE_COLUMNS",
    "PROPORTION_METHODS",
    "ConfidenceInterval",
    "StratifiedSample",
    "design_ci",
    "estimate_categories",
    "estimate_proportions",
    "outcome_bounds",
    "proportion_ci",
    "simulate_coverage",
]
