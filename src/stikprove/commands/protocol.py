"""``stikprove check-protocol``: check a study protocol (and its frame, when present)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check-protocol",
        help="check a study protocol (TOML) and summarise it",
        description="Check a study protocol: every unknown, missing or wrong key is named with "
        "the form it expects (exit status 2). On success print a summary and, when the frame "
        "file exists, the number of eligible cases and strata it gives and the number of "
        "reviews its design allocates (a budget below strata × minimum is refused here).",
    )
    p.add_argument("protocol", type=Path, metavar="FILE", help="the protocol (TOML)")
    p.add_argument(
        "--frame", type=Path, default=None, help="check against this frame instead of [frame] path"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stikprove.design import design_from_population
    from stikprove.protocol import (
        check_worklist_fields,
        load_protocol,
        load_study_frame,
        study_population,
    )

    protocol = load_protocol(args.protocol)
    print(f"{args.protocol}: protocol OK")
    print(protocol.summary())
    frame_path = args.frame or protocol.frame_path
    if not frame_path.exists():
        print(f"note: frame {frame_path} not found; only the protocol was checked")
        return 0
    frame = load_study_frame(protocol, frame_path)
    check_worklist_fields(protocol, frame)
    population = study_population(protocol, frame)
    print(
        f"frame      {len(frame)} cases, {len(population)} eligible, "
        f"{population['stratum'].nunique()} strata"
    )
    # the design's own checks (no eligible case, budget below strata × minimum)
    design = design_from_population(protocol, population)
    s = design.summary
    print(
        f"design     {s['reviews']} reviews + {s['double_reviews']} double reviews "
        f"({s['allocation']}); see stikprove design for the table"
    )
    for note in design.notes:
        print(f"note: {note}")
    return 0
