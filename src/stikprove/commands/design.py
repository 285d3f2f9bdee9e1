"""``stikprove design``: the design table of a protocol on its frame."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

FORMATS = ("table", "csv", "csv-da", "xlsx", "json")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "design",
        help="sample sizes, allocation and expected precision of a protocol",
        description="Print the design of a protocol on its frame: per stratum N_h, n_h, "
        "sampling fraction and the expected interval half-width at the anticipated rate; "
        "the expected precision per kommune and overall, and of every precision target's "
        "domains; whether each planned domain will be publishable under the NCHS "
        "presentation standard (effective n at least 30, interval narrower than 30 "
        "percentage points and at most 130 % of the rate), with a warning for each that "
        "will not; a target counts as met only when its domains are publishable; reviews "
        "and physician hours. "
        "--format csv prints the strata table only (warnings on standard error); json prints "
        "everything.",
    )
    p.add_argument("protocol", type=Path, metavar="PROTOCOL", help="the protocol (TOML)")
    p.add_argument("--format", choices=FORMATS, default="table",
                   help="a readable design, the strata table as CSV, Danish CSV or xlsx (needs "
                   "--out FILE.xlsx), or the whole design as json")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write the strata table to FILE instead of stdout")  # fmt: skip
    p.add_argument(
        "--frame", type=Path, default=None, help="use this frame instead of [frame] path"
    )
    p.add_argument(
        "--explore", type=Path, default=None, metavar="DIR",
        help="also render the design explorer (notebooks/design_explorer.ipynb: precision "
        "against sample size per group, allocations side by side, physician hours) as "
        "DIR/design_explorer.html and .ipynb; with the protocol's own [frame] path",
    )  # fmt: skip
    p.add_argument("--language", choices=("da", "en"), default="da",
                   help="language of the design explorer (default da)")  # fmt: skip
    p.set_defaults(func=run)


def _clean(value):
    """JSON-safe values: NaN and infinities as null, numpy scalars as Python numbers."""
    import pandas as pd

    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA:
        return None
    return value


def _records(df):
    return [{k: _clean(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def run(args: argparse.Namespace) -> int:
    from stikprove.design import design_table
    from stikprove.protocol import load_protocol, load_study_frame

    protocol = load_protocol(args.protocol)
    frame = load_study_frame(protocol, args.frame)
    design = design_table(protocol, frame)
    if args.format in ("csv-da", "xlsx") or (args.out is not None and args.format != "json"):
        from stikprove.commands.estimation import write_result

        write_result(design.strata, args)
    elif args.format == "table":
        print(design.to_text())
    elif args.format == "csv":
        from stikprove.cells import csv_safe

        csv_safe(design.strata).to_csv(sys.stdout, index=False, lineterminator="\n")
    else:
        out = {
            "summary": {k: _clean(v) for k, v in design.summary.items()},
            "strata": _records(design.strata),
            "domains": _records(design.domains),
            "targets": _records(design.targets),
            "notes": list(design.notes),
            "warnings": list(design.warnings),
        }
        json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
        print()
    if args.format != "table":  # the table prints them; csv and json keep stdout clean
        for warning in design.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if args.explore is not None:
        _explore(args)
    return 0


def _explore(args: argparse.Namespace) -> None:
    """Render the design explorer for the protocol under ``--explore``."""
    from stikprove.errors import StikproveError
    from stikprove.reports.render import render_notebook

    if args.frame is not None:
        raise StikproveError(
            "--explore reads the frame from the protocol's [frame] path; leave out --frame"
        )
    parameters = {"protocol": str(args.protocol.absolute()), "language": args.language}
    rendered = render_notebook("design", parameters, args.explore, name="design_explorer")
    # csv and json keep stdout for the table itself
    stream = sys.stdout if args.format == "table" else sys.stderr
    print(f"design explorer: {rendered.html}", file=stream)
