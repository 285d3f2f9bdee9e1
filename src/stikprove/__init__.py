"""stikprove: sampling and re-assessment studies in Danish kommuner.

The flow, one module (or sub-package) per step, each importing only lower steps:

frame → protocol → design → sampling → store → estimation → reports

The public API is re-exported here lazily, so ``import stikprove`` stays fast
and the command line starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

from stikprove._version import __version__ as __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "StikproveError": "stikprove.errors",
    "FrameError": "stikprove.errors",
    "PrivacyError": "stikprove.errors",
    "ProtocolError": "stikprove.errors",
    "DesignError": "stikprove.errors",
    "SamplingError": "stikprove.errors",
    "StoreError": "stikprove.errors",
    "ImportRowsError": "stikprove.errors",
    "EstimationError": "stikprove.errors",
    # kommuner
    "kommune_table": "stikprove.kommuner",
    "kommune": "stikprove.kommuner",
    # codebook
    "Codebook": "stikprove.codebook",
    "load_codebook": "stikprove.codebook",
    "default_codebook": "stikprove.codebook",
    # frame
    "load_frame": "stikprove.frame",
    "validate_frame": "stikprove.frame",
    "frame_fingerprint": "stikprove.frame",
    "read_table": "stikprove.frame",
    "looks_like_cpr": "stikprove.frame",
    "FRAME_COLUMNS": "stikprove.frame",
    "synthesize_frame": "stikprove.synth",
    "write_synthetic_frame": "stikprove.synth",
    "SyntheticFrame": "stikprove.synth",
    "pseudonymize": "stikprove.pseudonymization",
    "pseudonymize_file": "stikprove.pseudonymization",
    "new_key": "stikprove.pseudonymization",
    "read_key": "stikprove.pseudonymization",
    # protocol
    "Protocol": "stikprove.protocol",
    "load_protocol": "stikprove.protocol",
    "parse_protocol": "stikprove.protocol",
    "load_study_frame": "stikprove.protocol",
    "study_population": "stikprove.protocol",
    # design
    "sample_size": "stikprove.design",
    "allocate": "stikprove.design",
    "Allocation": "stikprove.design",
    "expected_half_width": "stikprove.design",
    "design_table": "stikprove.design",
    "DomainTarget": "stikprove.design",
    "domain_half_width": "stikprove.design",
    "DesignTable": "stikprove.design",
    # sampling
    "draw": "stikprove.sampling",
    "DrawnSample": "stikprove.sampling",
    "write_sample": "stikprove.sampling",
    "read_sample": "stikprove.sampling",
    "permanent_random_numbers": "stikprove.sampling",
    # store and recording
    "create_study": "stikprove.store",
    "open_study": "stikprove.store",
    "Study": "stikprove.store",
    "store_drawn_sample": "stikprove.store",
    "assign_reviewers": "stikprove.assignment",
    "write_worklist": "stikprove.worklist",
    "worklist_table": "stikprove.worklist",
    "import_assessments": "stikprove.recording",
    "import_entries": "stikprove.recording",
    "record_assessment": "stikprove.recording",
    "record_interactive": "stikprove.recording",
    "ImportResult": "stikprove.recording",
    # estimation
    "proportion_ci": "stikprove.estimation.intervals",
    "ConfidenceInterval": "stikprove.estimation.intervals",
    "PROPORTION_METHODS": "stikprove.estimation.intervals",
    "design_ci": "stikprove.estimation.design_intervals",
    "DESIGN_METHODS": "stikprove.estimation.design_intervals",
    "estimate_proportions": "stikprove.estimation.domains",
    "estimate_categories": "stikprove.estimation.domains",
    "outcome_bounds": "stikprove.estimation.domains",
    "domain_linearization": "stikprove.estimation.domains",
    "DomainLinearization": "stikprove.estimation.domains",
    "simulate_coverage": "stikprove.estimation.coverage",
    "compare_proportions": "stikprove.estimation.comparison",
    "rao_scott_test": "stikprove.estimation.comparison",
    "GroupComparison": "stikprove.estimation.comparison",
    "RaoScottTest": "stikprove.estimation.comparison",
    "mover_ratio": "stikprove.estimation.comparison",
    "flag_differences": "stikprove.estimation.multiplicity",
    "funnel_limits": "stikprove.estimation.multiplicity",
    "reviewer_agreement": "stikprove.estimation.agreement",
    "ReviewerAgreement": "stikprove.estimation.agreement",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stikprove' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)  # resolved lazily by __getattr__
