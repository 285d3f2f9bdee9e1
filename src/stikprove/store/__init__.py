"""The study store: one SQLite file per study, readable by its owner only.

It holds everything a study needs after the draw: the protocol text and fingerprint, the
codebook text, the frame fingerprint, the strata (N_h, n_h), the sampled units and reserves
in their draw order, reviewer assignments, assessments and an audit log.

Assessments, activations of reserves and the audit log are append-only: triggers abort
any UPDATE or DELETE. A correction is a new assessment row that supersedes the old one and
gives a reason; a case's *current* assessment by a reviewer is the one nothing supersedes.

The package is split along its seams:

- :mod:`stikprove.store.schema`: tables, triggers, migrations (``MIGRATIONS``), connections
  and the audit row;
- :mod:`stikprove.store.study`: the :class:`Study` object and its queries;
- :mod:`stikprove.store.rounds`: creating and opening a store, and adding rounds;
- :mod:`stikprove.store.assignment`: dealing the cases to reviewers.

Connections are short-lived: every read or write opens the file, does its work in one
transaction (``BEGIN IMMEDIATE`` for writes, waiting up to :data:`BUSY_TIMEOUT_S` for
another writer) and closes it, so several processes can work on one study at a time.
"""

from stikprove.store.assignment import assign_reviewers
from stikprove.store.rounds import (
    ALWAYS_ON_WORKLISTS,
    add_round,
    create_study,
    open_study,
    read_stored_sample,
    store_drawn_sample,
    stored_rounds,
)
from stikprove.store.schema import (
    APPLICATION_ID,
    APPLICATION_NAME,
    BUSY_TIMEOUT_S,
    MIGRATIONS,
    RESERVED_NAMES,
    SCHEMA_VERSION,
    SQLITE_MAGIC,
    STRATA_COLUMNS,
    UNIT_COLUMNS,
    audit,
    check_codebook_for_store,
    now_utc,
    os_user,
)
from stikprove.store.study import Study

__all__ = [
    "ALWAYS_ON_WORKLISTS",
    "APPLICATION_ID",
    "APPLICATION_NAME",
    "BUSY_TIMEOUT_S",
    "MIGRATIONS",
    "RESERVED_NAMES",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "STRATA_COLUMNS",
    "UNIT_COLUMNS",
    "Study",
    "add_round",
    "assign_reviewers",
    "audit",
    "check_codebook_for_store",
    "create_study",
    "now_utc",
    "open_study",
    "os_user",
    "read_stored_sample",
    "store_drawn_sample",
    "stored_rounds",
]
