"""``stikprove reidentify``: the key holder's lookup list from case ids to CPR numbers."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the sub-command ``reidentify``."""
    p = subparsers.add_parser(
        "reidentify",
        help="the key holder's lookup list: each sampled case's CPR number (logged)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Recompute the keyed pseudonym of every row of the original register extract, "
            "match the study's sampled cases (or one reviewer's open cases) and write a "
            "lookup list for the physician: case_id, the CPR number and the extract columns "
            "asked for, in the worklist's order. Refused, with nothing written, when the key's "
            "check value differs from the one recorded at pseudonymisation, when a case is "
            "missing from the extract or found twice, when the extract's frame fingerprint "
            "differs from the study's, and inside the study's folder or a folder reports or "
            "exports write to. The list (.xlsx, mode 600) is marked confidential inside the "
            "file; each run adds an audit row to the study (never a CPR number). The CPR "
            "numbers never enter the study. See docs/reidentification.md.",
            width=78,
        ),
        epilog="example:\n"
        "  stikprove reidentify odense.sqlite --extract udtraek.csv --column cpr \\\n"
        "      --key-file ~/noegler/studie.key --reviewer overlaege_a \\\n"
        "      --columns navn,sagsnummer --out ~/sikker/opslag-overlaege_a.xlsx",
    )
    p.add_argument("study", metavar="STUDY", type=Path,
                   help="the study store (the .sqlite file made by 'stikprove draw')")  # fmt: skip
    p.add_argument("--round", type=int, default=None, metavar="N",
                   help="round N of the study (default: the latest)")  # fmt: skip
    p.add_argument(
        "--extract",
        required=True,
        type=Path,
        metavar="EXTRACT",
        help="the register extract with the CPR column (.csv/.xlsx/.parquet)",
    )
    p.add_argument("--sheet", help="XLSX sheet of the extract (default: the first sheet)")
    p.add_argument("--column", required=True, help="name of the CPR column, e.g. cpr")
    p.add_argument("--key-file", required=True, type=Path, metavar="KEY",
                   help="the key the frame was pseudonymised with")  # fmt: skip
    p.add_argument(
        "--reviewer",
        default=None,
        help="only this reviewer's open cases (default: every sampled case)",
    )
    p.add_argument("--columns", default="", metavar="A,B",
                   help="extract columns to put on the list, e.g. navn,sagsnummer")  # fmt: skip
    p.add_argument(
        "--key-check",
        type=Path,
        default=None,
        metavar="FILE",
        help="the OUT.keycheck written by 'stikprove pseudonymize', for a study "
        "that records no key check value (drawn before stikprove kept it)",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="LIST.xlsx",
        help="the lookup list to write (new file; never in the study's folder)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stikprove.reidentification import reidentify
    from stikprove.store import open_study

    result = reidentify(
        open_study(args.study, round=args.round),
        args.extract,
        column=args.column,
        key_file=args.key_file,
        out=args.out,
        reviewer=args.reviewer,
        columns=[c for c in args.columns.split(",") if c.strip()],
        sheet=args.sheet,
        key_check_file=args.key_check,
        source="stikprove reidentify",
    )
    whose = f"reviewer {result.reviewer}'s open cases" if result.reviewer else "sampled cases"
    print(f"wrote {result.path} (mode 600, marked confidential): {result.cases} {whose} of "
          f"study {result.study_id}, round {result.round}, with their CPR numbers")  # fmt: skip
    print(f"key check {result.key_check}, checked against {result.key_checked}; frame "
          f"fingerprint {result.fingerprint}")  # fmt: skip
    print(
        "logged in the study's audit trail ('stikprove audit'); the list holds CPR numbers: "
        "keep it inside the kommune's secured environment and delete it when the review "
        "is done"
    )
    return 0
