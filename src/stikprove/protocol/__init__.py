"""Study protocols: the TOML file that fixes a study's design before the sample is drawn.

The format is documented in ``protocols/README.md`` with two commented examples
(``protocols/odense-replication.toml``, ``protocols/national-template.toml``).
:func:`load_protocol` checks every key and reports every problem at once
(:class:`~stikprove.errors.ProtocolError` lists them); relative paths are resolved
against the protocol file's folder. The protocol's ``fingerprint`` is the SHA-256 of its
text, recorded with every sample drawn from it.

:func:`parse_stored_protocol` reads the protocol a study store keeps (``Study.protocol``):
the one reader of a stored study's settings, refusing a stored value it cannot read rather
than taking a default; :func:`setting_default` gives a key's default, the one place
defaults live.

:func:`study_population` applies a protocol to a frame: the eligibility and kommune filters,
the collapsing of strata values, and the stratum key of each case.

The package is split along its seams: :mod:`stikprove.protocol.model` (the frozen Protocol
and the names it may use), :mod:`stikprove.protocol.schema` (the TOML schema and its check)
and :mod:`stikprove.protocol.population` (the study population).
"""

from stikprove.methods import ALLOCATION_METHODS, MARGIN_LIMIT
from stikprove.protocol.model import (
    BAND_SUFFIX,
    BAND_UNKNOWN,
    BANDABLE,
    COLLAPSIBLE,
    COORDINATION_MODES,
    DOMAIN_ALL,
    DOMAIN_STRATUM,
    FRAME_VALUES,
    INTERVAL_METHODS,
    STRATIFIERS,
    STRATUM_SEPARATOR,
    PrecisionTarget,
    Protocol,
    band_labels,
    band_values,
)
from stikprove.protocol.population import (
    anticipated_rates,
    check_worklist_fields,
    joined_values,
    load_study_frame,
    study_population,
)
from stikprove.protocol.schema import (
    load_protocol,
    parse_protocol,
    parse_stored_protocol,
    setting_default,
)

__all__ = [
    "ALLOCATION_METHODS",
    "BANDABLE",
    "BAND_SUFFIX",
    "BAND_UNKNOWN",
    "COLLAPSIBLE",
    "COORDINATION_MODES",
    "DOMAIN_ALL",
    "DOMAIN_STRATUM",
    "FRAME_VALUES",
    "INTERVAL_METHODS",
    "MARGIN_LIMIT",
    "STRATIFIERS",
    "STRATUM_SEPARATOR",
    "PrecisionTarget",
    "Protocol",
    "anticipated_rates",
    "band_labels",
    "band_values",
    "check_worklist_fields",
    "joined_values",
    "load_protocol",
    "load_study_frame",
    "parse_protocol",
    "parse_stored_protocol",
    "setting_default",
    "study_population",
]
