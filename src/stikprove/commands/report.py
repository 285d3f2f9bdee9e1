"""``stikprove report``: render the kommune reports and the national overview.

``stikprove report STUDY --kommune 461 [--out DIR]``, ``--all [--jobs N]``, ``--national``.
Each report is an executed notebook (.ipynb) and a self-contained .html (code hidden, figures
embedded), plus an index.html. A kommune that fails does not stop the others; the failures
are listed at the end and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stikprove.commands import confidence_level_argument, method_argument, out_dir_argument
from stikprove.errors import StikproveError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="render kommune reports and the national overview (HTML)",
        description="Run the report notebooks (the shipped ones, or your own with "
        "--notebook) for one kommune, several, "
        "all of the study's kommuner or the whole country, and write NAME.ipynb, NAME.html "
        "and index.html under --out. Counts under the protocol's disclosure threshold are "
        "suppressed and proportions failing the NCHS presentation standard are suppressed "
        "or flagged in every table. One kernel per job is reused across reports.",
    )
    p.add_argument("study", metavar="STUDY", type=Path, help="the study store (.sqlite)")
    which = p.add_argument_group("which reports (at least one)")
    which.add_argument("--kommune", default=None, metavar="CODES",
                       help="kommune code(s), comma-separated, e.g. 461 or 461,101")  # fmt: skip
    which.add_argument("--all", action="store_true", help="every kommune of the study")
    which.add_argument("--national", action="store_true", help="the national overview")
    out_dir_argument(p, Path("reports"), "output folder")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="reports rendered in parallel, one kernel each")  # fmt: skip
    p.add_argument("--language", choices=("da", "en"), default="da",
                   help="report language: da (default) or en")  # fmt: skip
    p.add_argument("--indicators", default=None,
                   help="indicators, comma-separated (default: too_ill,misclassified,no_effort)")
    confidence_level_argument(p)
    method_argument(p)
    p.add_argument("--disclosure-threshold", type=int, default=None, metavar="K",
                   help="suppress counts under this (default: the protocol's, usually 5)")
    p.add_argument("--engine", choices=("reuse", "papermill"), default="reuse",
                   help="reuse one kernel per job (default) or papermill's kernel per report "
                   "(one report at a time, for comparison)")
    p.add_argument("--notebook", type=Path, default=None, metavar="PATH",
                   help="your own edited notebook (from 'stikprove notebooks --out DIR') "
                   "instead of the shipped one: a kommune report or national overview "
                   "notebook, told by its parameters, or a folder holding them")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stikprove.reports.render import render_reports

    if not (args.kommune or args.all or args.national):
        raise StikproveError("report: say which reports: --kommune CODES, --all or --national")
    if args.kommune and args.all:
        raise StikproveError("report: --kommune and --all exclude each other")
    if args.jobs < 1:
        raise StikproveError(f"--jobs {args.jobs}: expected a whole number ≥ 1")
    if args.disclosure_threshold is not None and args.disclosure_threshold < 1:
        raise StikproveError(
            f"--disclosure-threshold {args.disclosure_threshold}: expected a whole number ≥ 1"
        )
    if args.kommune:
        kommuner = [c.strip() for c in args.kommune.split(",") if c.strip()]
    elif args.all:
        kommuner = None
    else:
        kommuner = []
    indicators = None
    if args.indicators:
        indicators = [i.strip() for i in args.indicators.split(",") if i.strip()]
    _require_a_review(args.study)
    # the study's protected release, solved once here: each report's kernel reads its pattern
    # (bad parameters are refused by the renderer below, with its own messages)
    import contextlib

    from stikprove.release.release import study_release

    with contextlib.suppress(StikproveError):
        study_release(args.study, args.disclosure_threshold, args.confidence_level, args.method)
    result = render_reports(
        args.study, kommuner, args.out, national=args.national, jobs=args.jobs,
        progress=not args.no_progress, engine=args.engine, language=args.language,
        indicators=indicators, confidence_level=args.confidence_level,
        interval_method=args.method, disclosure_threshold=args.disclosure_threshold,
        notebook=args.notebook,
    )  # fmt: skip
    count = len(result.reports)
    print(f"rendered {count} report(s) in {result.seconds:.1f} s under {args.out}")
    if result.index is not None:
        print(f"open {result.index}")
    if result.failures:
        print(f"{len(result.failures)} report(s) failed:", file=sys.stderr)
        for name, message in result.failures:
            print(f"  {name}: {message}", file=sys.stderr)
        return 1
    return 0


def _require_a_review(path: Path) -> None:
    """Refuse a report of a study in which no case is reviewed yet, naming the next step
    (the reports would otherwise fail one by one on an empty estimate)."""
    from stikprove.store import open_study

    if not Path(path).is_file():  # render_reports refuses it, after checking --notebook
        return
    study = open_study(path)
    if study.export()["reviewed"].astype(bool).any():
        return
    raise StikproveError(
        f"{path}: no case is reviewed yet, so there is nothing to report. The review comes "
        "first: 'stikprove worklist STUDY --reviewer NAME --out NAME.xlsx', then 'stikprove "
        "import STUDY NAME.xlsx --reviewer NAME' (or 'stikprove serve STUDY' for the web "
        "form); 'stikprove status STUDY' shows the progress"
    )
