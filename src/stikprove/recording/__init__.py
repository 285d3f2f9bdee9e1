"""Recording assessments: strict checks, import of worklists, corrections, interactive entry,
and the activation of a reserve when a case is found ineligible.

Every way in (a filled worklist, the one-line ``record`` command, the interactive session,
a DataFrame from Python) goes through :func:`import_entries`: each row is checked against
the codebook and the study, ALL problems are reported at once (:class:`ImportRowsError`
with sheet, row and column), and either every row is written in one transaction or none.

An entry identical to the reviewer's current one is skipped as unchanged, so importing the
same file twice changes nothing. A different value for a case already entered is a
correction: allowed only when asked for (``corrections=True``) and with a reason; it is a
new row superseding the old one (the store keeps the history).

When a case's first reviewer finds it ineligible, the next unused reserve of its stratum
(lowest draw order) is activated and assigned to the same reviewer(s), in the same
transaction, and audited. A stratum without reserves left is reported (and shown by
``status``).

The package is split along its seams: :mod:`stikprove.recording.read` (reading .xlsx and
CSV worklists), :mod:`stikprove.recording.entries` (checking and writing) and
:mod:`stikprove.recording.interactive` (the prompts).
"""

from stikprove.files import CASES_SHEET, REASON_COLUMN, ROUND_COLUMN
from stikprove.recording.entries import (
    Activation,
    ImportResult,
    check_values,
    import_assessments,
    import_entries,
    record_assessment,
)
from stikprove.recording.interactive import SessionResult, record_interactive
from stikprove.recording.read import Rows, read_rows

__all__ = [
    "CASES_SHEET",
    "REASON_COLUMN",
    "ROUND_COLUMN",
    "Activation",
    "ImportResult",
    "Rows",
    "SessionResult",
    "check_values",
    "import_assessments",
    "import_entries",
    "read_rows",
    "record_assessment",
    "record_interactive",
]
