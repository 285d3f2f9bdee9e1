"""Design: sample sizes for a precision target and their allocation to strata.

The design step sits below estimation in the flow (frame → protocol → design → sampling →
store → estimation), so it does not import :mod:`stikprove.estimation`; the exact bounds and
the stratified variance it plans with are the ones estimation reports
(:mod:`stikprove.exact_bounds`, :mod:`stikprove.variance`). Three modules:

- :mod:`stikprove.design.precision`: interval half-widths, :func:`sample_size`, and whether
  a planned domain will be publishable under the NCHS standard (:func:`expected_presentation`);
- :mod:`stikprove.design.allocation`: :func:`allocate` and domain targets;
- :mod:`stikprove.design.table`: the design table of a protocol on its frame.

>>> sample_size(0.05)
385
>>> sample_size(0.05, population_size=1000)
278
>>> allocate([100, 300, 600], total=100).sample_sizes.tolist()
[10, 30, 60]
"""

from stikprove.design.allocation import Allocation, DomainTarget, allocate, domain_half_width
from stikprove.design.precision import (
    DESIGN_METHOD_OF,
    SAMPLE_SIZE_METHODS,
    expected_half_width,
    expected_presentation,
    publishable_sample_size,
    sample_size,
)
from stikprove.design.table import (
    DesignTable,
    design_from_population,
    design_table,
    double_review_count,
    protocol_allocation,
    protocol_targets,
)
from stikprove.methods import ALLOCATION_METHODS, MARGIN_LIMIT

__all__ = [
    "ALLOCATION_METHODS",
    "DESIGN_METHOD_OF",
    "MARGIN_LIMIT",
    "SAMPLE_SIZE_METHODS",
    "Allocation",
    "DesignTable",
    "DomainTarget",
    "allocate",
    "design_from_population",
    "design_table",
    "domain_half_width",
    "double_review_count",
    "expected_half_width",
    "expected_presentation",
    "protocol_allocation",
    "protocol_targets",
    "publishable_sample_size",
    "sample_size",
]
