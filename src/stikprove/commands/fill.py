"""``stikprove fill-worklist``: fill a worklist from the synthetic truth, in the physician's
place, so that the whole flow can be tried on synthetic data from the command line (the
README's walkthrough does). For synthetic frames only: a real study's worklists are filled
by its physicians.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stikprove.errors import StikproveError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fill-worklist",
        help="fill a worklist from the synthetic truth (synthetic data only)",
        description="Write a filled copy of a reviewer's worklist (xlsx or csv, as "
        "'stikprove worklist' writes it) with the re-assessments the synthetic truth gives "
        "(truth.csv, written by 'stikprove synth' beside the frame), ready for 'stikprove "
        "import'. For trying the flow on synthetic data only: a real study's worklists are "
        "filled by its physicians.",
    )
    p.add_argument("worklist", metavar="WORKLIST", type=Path, help="the worklist (xlsx or csv)")
    p.add_argument("--truth", type=Path, required=True, metavar="FILE",
                   help="the synthetic truth (truth.csv beside the synthetic frame)")  # fmt: skip
    p.add_argument("--out", type=Path, required=True, metavar="FILE",
                   help="the filled worklist to write (CSV)")  # fmt: skip
    p.add_argument("--seed", type=int, default=1, metavar="N",
                   help="seed of the drawn fields (evidence, certificate, confidence)")
    p.add_argument("--disagreement", type=float, default=0.0, metavar="SHARE",
                   help="share of eligible cases given another health assessment, as a "
                   "second reviewer who disagrees")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from stikprove.cells import csv_safe
    from stikprove.files import atomic_write
    from stikprove.recording.read import read_rows
    from stikprove.synth import simulate_reviews

    if not 0 <= args.disagreement <= 1:
        raise StikproveError(f"--disagreement {args.disagreement}: expected a share in [0, 1]")
    if not args.truth.is_file():
        raise StikproveError(f"--truth {args.truth}: no such file; expected the truth.csv "
                             "that 'stikprove synth' writes beside the frame")  # fmt: skip
    rows = read_rows(args.worklist)
    if "case_id" not in rows.columns:
        raise StikproveError(f"{args.worklist}: no case_id column; expected a worklist written "
                             "by 'stikprove worklist'")  # fmt: skip
    cases = [str(cells["case_id"]) for _, cells in rows.rows if cells.get("case_id")]
    truth = pd.read_csv(args.truth, dtype=str, keep_default_na=False).replace("", None)
    answers = simulate_reviews(truth, cases, args.seed, disagreement=args.disagreement)
    atomic_write(args.out, lambda tmp: csv_safe(answers).to_csv(tmp, index=False))
    print(f"wrote {args.out}: {len(answers)} case(s) filled from the synthetic truth",
          file=sys.stderr)  # fmt: skip
    return 0
