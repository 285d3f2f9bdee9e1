"""Commands of the publication step: ``release`` and ``audit-release``.

``stikprove release STUDY --out-dir DIR`` writes every table the study publishes, protected as one
release (the same numbers as every report); ``stikprove audit-release STUDY`` plays the
intruder over all of it and exits 1 when a hidden small count can be worked out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stikprove.errors import StikproveError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "release",
        help="write every table the study publishes, protected as one release",
        description="Build the study's release (every number of every report, the national "
        "overview and the command line's tables, protected jointly: counts under the "
        "protocol's disclosure threshold and the percentages that imply them hidden, with the "
        "least costly secondary suppression over all tables at once; proportions failing the "
        "NCHS standard withheld) and write its tables (design, progress, estimates, bounds, "
        "agreement, flags, and for a study of ten kommuner or more the model-based small_area and "
        "small_area_model) to --out-dir.",
    )
    p.add_argument("study", metavar="STUDY", type=Path, help="the study store (.sqlite)")
    p.add_argument("--out-dir", type=Path, required=True, metavar="DIR",
                   help="folder for the tables, one file each (created; existing tables are "
                   "replaced)")  # fmt: skip
    p.add_argument("--format", choices=("table", "csv", "csv-da", "xlsx"), default="csv",
                   help="csv (default), csv-da (';' and decimal comma), xlsx, or table "
                   "(aligned text, .txt)")  # fmt: skip
    p.add_argument("--disclosure-threshold", type=int, default=None, metavar="K",
                   help="suppress counts under K (default: the protocol's, usually 5)")
    p.add_argument("--raw", action="store_true",
                   help="every value unprotected, each file marked NOT FOR PUBLICATION "
                   "(quality checks only)")  # fmt: skip
    p.set_defaults(func=run_release)

    p = subparsers.add_parser(
        "audit-release",
        help="play the intruder over everything the study publishes",
        description="For every hidden cell of the study's release, the interval its value can "
        "take given everything the release shows (all tables, all kommuner, the region and "
        "national tables, percentages within their rounding, and what the model-based "
        "estimates tell about each kommune's direct estimate), by linear programming. Exits 1 "
        "when a hidden count of 1 to threshold-1 can be narrowed to within 1..threshold-1 or "
        "to fewer than threshold values.",
    )
    p.add_argument("study", metavar="STUDY", type=Path, help="the study store (.sqlite)")
    p.add_argument("--disclosure-threshold", type=int, default=None, metavar="K",
                   help="the threshold to audit (default: the protocol's, usually 5)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="also write the audit's table (one row per hidden cell) as CSV")
    p.add_argument("--exact", action="store_true",
                   help="the exact interval of every hidden cell (slower; the verdicts are "
                   "the same)")  # fmt: skip
    p.set_defaults(func=run_audit)


def run_release(args: argparse.Namespace) -> int:
    from stikprove.files import atomic_write_text
    from stikprove.release.release import TABLES, study_release
    from stikprove.reports.tables import danish_csv_text, plain_csv_text, write_table

    release = study_release(args.study, args.disclosure_threshold)
    folder = args.out_dir
    if folder.exists() and not folder.is_dir():
        raise StikproveError(f"--out-dir {folder}: is a file; expected a folder for the tables")
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        table = release.raw(name) if args.raw else release.table(name)
        if args.format == "xlsx":
            write_table(table, folder / f"{name}.xlsx", "xlsx", "da", threshold=release.threshold)
        elif args.format == "csv-da":
            atomic_write_text(folder / f"{name}.csv",
                              "\ufeff" + danish_csv_text(table, "da", release.threshold))
        elif args.format == "csv":
            atomic_write_text(folder / f"{name}.csv", plain_csv_text(table))
        else:
            atomic_write_text(folder / f"{name}.txt", table.to_string(index=False) + "\n")
    state = "RAW, NOT FOR PUBLICATION" if args.raw else "protected"
    print(f"wrote {len(TABLES)} {state} tables of {release!r} to {folder}", file=sys.stderr)
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from stikprove.release.release import study_release

    release = study_release(args.study, args.disclosure_threshold)
    audit = release.audit(exact=args.exact)
    print(audit)
    if args.out is not None:
        from stikprove.files import atomic_write
        from stikprove.reports.tables import plain_csv_text

        text = plain_csv_text(audit.table)
        atomic_write(args.out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        print(f"wrote {len(audit.table)} rows to {args.out}", file=sys.stderr)
    return 0 if audit.ok else 1
