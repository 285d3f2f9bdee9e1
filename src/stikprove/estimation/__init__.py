"""Estimation: proportions with honest confidence intervals, per domain, from a stratified sample.

Public names (re-exported here; the modules hold the documentation):

- :func:`proportion_ci`, :class:`ConfidenceInterval`, :data:`PROPORTION_METHODS` (intervals.py)
- :func:`design_ci`, :data:`DESIGN_METHODS` (design_intervals.py)
- :func:`estimate_proportions`, :func:`outcome_bounds`, :func:`estimate_categories` (domains.py)
- :func:`simulate_coverage` (coverage.py)
- :func:`partial_coverage`: what an estimate covers while a review is under way (partial.py)
- :class:`StratifiedSample`, the design object every analysis takes (stratified_sample.py)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stikprove.lazy import lazy_exports

_EXPORTS = {
    "DESIGN_METHODS": "stikprove.estimation.design_intervals",
    "ESTIMATE_COLUMNS": "stikprove.estimation.domains",
    "PROPORTION_METHODS": "stikprove.estimation.intervals",
    "ConfidenceInterval": "stikprove.estimation.intervals",
    "StratifiedSample": "stikprove.estimation.stratified_sample",
    "design_ci": "stikprove.estimation.design_intervals",
    "estimate_categories": "stikprove.estimation.domains",
    "estimate_proportions": "stikprove.estimation.domains",
    "outcome_bounds": "stikprove.estimation.domains",
    "partial_coverage": "stikprove.estimation.partial",
    "proportion_ci": "stikprove.estimation.intervals",
    "simulate_coverage": "stikprove.estimation.coverage",
}
"""Public name -> module. Loaded on first use, so that a command needing one module (the
interim results of ``status --interim``) does not import the coverage simulation with it."""

if TYPE_CHECKING:  # the lazy exports, spelled out for type checkers and IDEs
    from stikprove.estimation.coverage import simulate_coverage as simulate_coverage
    from stikprove.estimation.design_intervals import (
        DESIGN_METHODS as DESIGN_METHODS,
    )
    from stikprove.estimation.design_intervals import (
        design_ci as design_ci,
    )
    from stikprove.estimation.domains import (
        ESTIMATE_COLUMNS as ESTIMATE_COLUMNS,
    )
    from stikprove.estimation.domains import (
        estimate_categories as estimate_categories,
    )
    from stikprove.estimation.domains import (
        estimate_proportions as estimate_proportions,
    )
    from stikprove.estimation.domains import (
        outcome_bounds as outcome_bounds,
    )
    from stikprove.estimation.intervals import (
        PROPORTION_METHODS as PROPORTION_METHODS,
    )
    from stikprove.estimation.intervals import (
        ConfidenceInterval as ConfidenceInterval,
    )
    from stikprove.estimation.intervals import (
        proportion_ci as proportion_ci,
    )
    from stikprove.estimation.partial import (
        partial_coverage as partial_coverage,
    )
    from stikprove.estimation.stratified_sample import (
        StratifiedSample as StratifiedSample,
    )


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

__all__ = sorted(_EXPORTS)  # resolved lazily by __getattr__
