"""stikprove: sampling and re-assessment studies in Danish kommuner.

The flow, one module (or sub-package) per step, each importing only lower steps (the layer
table of docs/CONTRACTS.md, which tests/test_imports.py holds):

frame → protocol → design → sampling → store → estimation → reports

The public API is re-exported here lazily, so ``import stikprove`` stays fast
and the command line starts quickly. Type checkers and IDEs read the same names from the
explicit imports under ``TYPE_CHECKING`` below (kept equal to ``_EXPORTS`` by a test), and the
package ships ``py.typed``. Every error derives from :class:`StikproveError`, itself a
``ValueError``, so ``except ValueError`` catches bad input as it does for scipy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stikprove._version import __version__ as __version__
from stikprove.lazy import lazy_exports, provide

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
    "NotEstimableError": "stikprove.errors",
    "MissingFileError": "stikprove.errors",
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
    "record_assessment": "stikprove.recording",
    "ImportResult": "stikprove.recording",
    "reidentify": "stikprove.reidentification",
    # estimation
    "StratifiedSample": "stikprove.estimation.stratified_sample",
    "proportion_ci": "stikprove.estimation.intervals",
    "ConfidenceInterval": "stikprove.estimation.intervals",
    "PROPORTION_METHODS": "stikprove.estimation.intervals",
    "design_ci": "stikprove.estimation.design_intervals",
    "DESIGN_METHODS": "stikprove.estimation.design_intervals",
    "estimate_proportions": "stikprove.estimation.domains",
    "estimate_categories": "stikprove.estimation.domains",
    "outcome_bounds": "stikprove.estimation.domains",
    "partial_coverage": "stikprove.estimation.partial",
    "domain_linearization": "stikprove.estimation.linearization",
    "DomainLinearization": "stikprove.estimation.linearization",
    "simulate_coverage": "stikprove.estimation.coverage",
    "compare_proportions": "stikprove.estimation.comparison",
    "rao_scott_test": "stikprove.estimation.rao_scott",
    "GroupComparison": "stikprove.estimation.comparison",
    "RaoScottTest": "stikprove.estimation.rao_scott",
    "mover_ratio": "stikprove.estimation.comparison",
    "flag_differences": "stikprove.estimation.multiplicity",
    "funnel_limits": "stikprove.estimation.multiplicity",
    "reviewer_agreement": "stikprove.estimation.agreement",
    "confidence_sequence": "stikprove.estimation.sequential",
    "ConfidenceSequence": "stikprove.estimation.sequential",
    "SEQUENCE_METHODS": "stikprove.estimation.sequential",
    "interim_results": "stikprove.estimation.interim",
    "stopping_plan": "stikprove.estimation.interim",
    "ReviewerAgreement": "stikprove.estimation.agreement",
    # small area
    "small_area_estimates": "stikprove.small_area.kommuner",
    "fit_fay_herriot": "stikprove.small_area.model",
    "fit_arcsine_fay_herriot": "stikprove.small_area.arcsine",
    # reports
    "render_report": "stikprove.reports.render",
    "render_reports": "stikprove.reports.render",
    "RenderedReport": "stikprove.reports.render",
    "BatchResult": "stikprove.reports.render",
    "disclose_estimates": "stikprove.release.disclosure",
    "disclose_counts": "stikprove.release.disclosure",
    "nchs_presentation": "stikprove.release.disclosure",
    "write_table": "stikprove.reports.tables",
}


if TYPE_CHECKING:  # the lazy exports, spelled out for type checkers and IDEs
    from stikprove.assignment import (
        assign_reviewers as assign_reviewers,
    )
    from stikprove.codebook import (
        Codebook as Codebook,
    )
    from stikprove.codebook import (
        default_codebook as default_codebook,
    )
    from stikprove.codebook import (
        load_codebook as load_codebook,
    )
    from stikprove.design import (
        Allocation as Allocation,
    )
    from stikprove.design import (
        DesignTable as DesignTable,
    )
    from stikprove.design import (
        DomainTarget as DomainTarget,
    )
    from stikprove.design import (
        allocate as allocate,
    )
    from stikprove.design import (
        design_table as design_table,
    )
    from stikprove.design import (
        domain_half_width as domain_half_width,
    )
    from stikprove.design import (
        expected_half_width as expected_half_width,
    )
    from stikprove.design import (
        sample_size as sample_size,
    )
    from stikprove.errors import (
        DesignError as DesignError,
    )
    from stikprove.errors import (
        EstimationError as EstimationError,
    )
    from stikprove.errors import (
        FrameError as FrameError,
    )
    from stikprove.errors import (
        ImportRowsError as ImportRowsError,
    )
    from stikprove.errors import (
        MissingFileError as MissingFileError,
    )
    from stikprove.errors import (
        NotEstimableError as NotEstimableError,
    )
    from stikprove.errors import (
        PrivacyError as PrivacyError,
    )
    from stikprove.errors import (
        ProtocolError as ProtocolError,
    )
    from stikprove.errors import (
        SamplingError as SamplingError,
    )
    from stikprove.errors import (
        StikproveError as StikproveError,
    )
    from stikprove.errors import (
        StoreError as StoreError,
    )
    from stikprove.estimation.agreement import (
        ReviewerAgreement as ReviewerAgreement,
    )
    from stikprove.estimation.agreement import (
        reviewer_agreement as reviewer_agreement,
    )
    from stikprove.estimation.comparison import (
        GroupComparison as GroupComparison,
    )
    from stikprove.estimation.comparison import (
        compare_proportions as compare_proportions,
    )
    from stikprove.estimation.comparison import (
        mover_ratio as mover_ratio,
    )
    from stikprove.estimation.coverage import (
        simulate_coverage as simulate_coverage,
    )
    from stikprove.estimation.design_intervals import (
        DESIGN_METHODS as DESIGN_METHODS,
    )
    from stikprove.estimation.design_intervals import (
        design_ci as design_ci,
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
    from stikprove.estimation.interim import (
        interim_results as interim_results,
    )
    from stikprove.estimation.interim import (
        stopping_plan as stopping_plan,
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
    from stikprove.estimation.linearization import (
        DomainLinearization as DomainLinearization,
    )
    from stikprove.estimation.linearization import (
        domain_linearization as domain_linearization,
    )
    from stikprove.estimation.multiplicity import (
        flag_differences as flag_differences,
    )
    from stikprove.estimation.multiplicity import (
        funnel_limits as funnel_limits,
    )
    from stikprove.estimation.partial import (
        partial_coverage as partial_coverage,
    )
    from stikprove.estimation.rao_scott import (
        RaoScottTest as RaoScottTest,
    )
    from stikprove.estimation.rao_scott import (
        rao_scott_test as rao_scott_test,
    )
    from stikprove.estimation.sequential import (
        SEQUENCE_METHODS as SEQUENCE_METHODS,
    )
    from stikprove.estimation.sequential import (
        ConfidenceSequence as ConfidenceSequence,
    )
    from stikprove.estimation.sequential import (
        confidence_sequence as confidence_sequence,
    )
    from stikprove.estimation.stratified_sample import (
        StratifiedSample as StratifiedSample,
    )
    from stikprove.frame import (
        FRAME_COLUMNS as FRAME_COLUMNS,
    )
    from stikprove.frame import (
        frame_fingerprint as frame_fingerprint,
    )
    from stikprove.frame import (
        load_frame as load_frame,
    )
    from stikprove.frame import (
        looks_like_cpr as looks_like_cpr,
    )
    from stikprove.frame import (
        read_table as read_table,
    )
    from stikprove.frame import (
        validate_frame as validate_frame,
    )
    from stikprove.kommuner import (
        kommune as kommune,
    )
    from stikprove.kommuner import (
        kommune_table as kommune_table,
    )
    from stikprove.protocol import (
        Protocol as Protocol,
    )
    from stikprove.protocol import (
        load_protocol as load_protocol,
    )
    from stikprove.protocol import (
        load_study_frame as load_study_frame,
    )
    from stikprove.protocol import (
        parse_protocol as parse_protocol,
    )
    from stikprove.protocol import (
        study_population as study_population,
    )
    from stikprove.pseudonymization import (
        new_key as new_key,
    )
    from stikprove.pseudonymization import (
        pseudonymize as pseudonymize,
    )
    from stikprove.pseudonymization import (
        pseudonymize_file as pseudonymize_file,
    )
    from stikprove.recording import (
        ImportResult as ImportResult,
    )
    from stikprove.recording import (
        import_assessments as import_assessments,
    )
    from stikprove.recording import (
        record_assessment as record_assessment,
    )
    from stikprove.reidentification import (
        reidentify as reidentify,
    )
    from stikprove.release.disclosure import (
        disclose_counts as disclose_counts,
    )
    from stikprove.release.disclosure import (
        disclose_estimates as disclose_estimates,
    )
    from stikprove.release.disclosure import (
        nchs_presentation as nchs_presentation,
    )
    from stikprove.reports.render import (
        BatchResult as BatchResult,
    )
    from stikprove.reports.render import (
        RenderedReport as RenderedReport,
    )
    from stikprove.reports.render import (
        render_report as render_report,
    )
    from stikprove.reports.render import (
        render_reports as render_reports,
    )
    from stikprove.reports.tables import (
        write_table as write_table,
    )
    from stikprove.sampling import (
        DrawnSample as DrawnSample,
    )
    from stikprove.sampling import (
        draw as draw,
    )
    from stikprove.sampling import (
        permanent_random_numbers as permanent_random_numbers,
    )
    from stikprove.sampling import (
        read_sample as read_sample,
    )
    from stikprove.sampling import (
        write_sample as write_sample,
    )
    from stikprove.small_area.arcsine import (
        fit_arcsine_fay_herriot as fit_arcsine_fay_herriot,
    )
    from stikprove.small_area.kommuner import (
        small_area_estimates as small_area_estimates,
    )
    from stikprove.small_area.model import (
        fit_fay_herriot as fit_fay_herriot,
    )
    from stikprove.store import (
        Study as Study,
    )
    from stikprove.store import (
        create_study as create_study,
    )
    from stikprove.store import (
        open_study as open_study,
    )
    from stikprove.store import (
        store_drawn_sample as store_drawn_sample,
    )
    from stikprove.synth import (
        SyntheticFrame as SyntheticFrame,
    )
    from stikprove.synth import (
        synthesize_frame as synthesize_frame,
    )
    from stikprove.synth import (
        write_synthetic_frame as write_synthetic_frame,
    )
    from stikprove.worklist import (
        worklist_table as worklist_table,
    )
    from stikprove.worklist import (
        write_worklist as write_worklist,
    )


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

# What a lower step offers but a higher step computes, bound here, above every step, so that
# the lower step never imports the higher one (docs/CONTRACTS.md): Study.sample() (store)
# returns the estimation step's design object.
provide("study.sample", "stikprove.estimation.stratified_sample:StratifiedSample.from_study")

__all__ = sorted(_EXPORTS)  # resolved lazily by __getattr__
