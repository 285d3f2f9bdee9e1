"""Sub-commands of the ``stikprove`` command line.

Each module here owns the commands of one step of the flow and defines
``register(subparsers)``, which adds its sub-commands; each sub-command sets
``func=handler`` where ``handler(args) -> int`` returns the exit status.
The command line (``stikprove.cli``) discovers the modules, so adding a step
means adding a module here and nothing else.
"""

from __future__ import annotations

import argparse
from pathlib import Path

TABLE_FORMATS = ("table", "csv", "csv-da", "xlsx")
"""The ``--format`` choices of every command that writes a result table: a readable table,
CSV, Danish CSV (';' and decimal comma) or xlsx."""


def out_dir_argument(p: argparse.ArgumentParser, default: Path | None, what: str) -> None:
    """``--out-dir DIR``: the folder a command writes into (``--out`` is always a file);
    ``--out`` stays accepted, unlisted, for scripts written before."""
    where = p.add_mutually_exclusive_group(required=default is None)
    where.add_argument("--out-dir", type=Path, metavar="DIR", dest="out", default=default,
                       help=what)  # fmt: skip
    where.add_argument("--out", type=Path, dest="out", default=default, help=argparse.SUPPRESS)


def format_argument(p: argparse.ArgumentParser, default: str = "table") -> None:
    """``--format`` with :data:`TABLE_FORMATS`."""
    p.add_argument("--format", choices=TABLE_FORMATS, default=default,
                   help="a readable table, CSV, Danish CSV (';' and decimal comma, Danish "
                   "headers) or xlsx (needs --out FILE.xlsx)")  # fmt: skip


METHOD_HELP = (
    "interval method (default: the study protocol's, usually pooled-hypergeometric, chosen "
    "by simulation in docs/intervals.md; that one for an exported CSV): pooled-hypergeometric, "
    "korn-graubard (as R survey), korn-graubard-deff1, logit, wald, wilson, jeffreys, "
    "hypergeometric (exact)"
)


def confidence_level_argument(p: argparse.ArgumentParser) -> None:
    """``--confidence-level LEVEL``, default the study protocol's, in every command."""
    p.add_argument("--confidence-level", type=float, default=None, metavar="LEVEL",
                   help="confidence level of the intervals, e.g. 0.90 (default: the study "
                   "protocol's; 0.95 for an exported CSV)")  # fmt: skip


def method_argument(p: argparse.ArgumentParser, help: str = METHOD_HELP) -> None:
    """``--method METHOD``, default the study protocol's, in every command."""
    p.add_argument("--method", default=None, metavar="METHOD", help=help)
