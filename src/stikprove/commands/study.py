"""Commands on a study store: assign, worklist, import, record, status, export, audit."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from stikprove.commands import format_argument
from stikprove.errors import ImportRowsError, StoreError

# one-line `record` flags: option names -> codebook field (default codebook)
RECORD_FLAGS: dict[str, tuple[str, ...]] = {
    "eligible": ("--eligible",),
    "ineligible_reason": ("--ineligible-reason",),
    "health_assessment": ("--health", "--health-assessment"),
    "recommended_track": ("--track", "--recommended-track"),
    "effort_last_12_months": ("--effort", "--effort-last-12-months"),
    "evidence": ("--evidence",),
    "new_certificate_requested": ("--new-certificate", "--new-certificate-requested"),
    "confidence": ("--confidence",),
    "review_date": ("--date", "--review-date"),
    "note": ("--note",),
}

RECORD_METAVARS: dict[str, tuple[str, str]] = {
    "review_date": ("YYYY-MM-DD", "codebook field review_date (default: today)"),
    "note": ("TEXT", "codebook field note: free text, kept in the study store only"),
}

STUDY_HELP = "the study store (the .sqlite file made by 'stikprove draw ... --study')"


def _study_arg(p: argparse.ArgumentParser, round_help: str | None = None) -> None:
    p.add_argument("study", metavar="STUDY", type=Path, help=STUDY_HELP)
    p.add_argument("--round", type=int, default=None, metavar="N",
                   help=round_help or "work on round N of the study (default: the latest "
                   "round)")  # fmt: skip


def _open(args: argparse.Namespace):
    from stikprove.store import open_study

    return open_study(args.study, round=args.round)


def register(subparsers: argparse._SubParsersAction) -> None:

    p = subparsers.add_parser(
        "assign",
        help="assign the sampled cases to reviewers",
        description="Split the not yet assigned cases among the named reviewers, balanced "
        "within each stratum (round-robin in draw order with a rotating start). "
        "Double-review cases get a second, different reviewer. Running it again "
        "assigns only new cases.",
    )
    _study_arg(p)
    p.add_argument("--reviewers", required=True, metavar="A,B,C",
                   help="comma-separated reviewer names (letters, digits, _ . -)")  # fmt: skip
    p.set_defaults(func=run_assign)

    p = subparsers.add_parser(
        "worklist",
        help="write a reviewer's worklist (xlsx or csv)",
        description="Write the reviewer's open cases in draw order with one column per "
        "codebook field (drop-down lists in xlsx) and sheets with the codebook and "
        "instructions. The csv form writes the codebook to NAME_kodebog.csv beside it.",
    )
    _study_arg(p)
    p.add_argument("--reviewer", required=True, help="reviewer name")
    p.add_argument("--format", choices=("xlsx", "csv"), default=None,
                   help="file format (default: from --out's suffix, else xlsx)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="output file (default: worklist-STUDYID-REVIEWER.FORMAT here)")  # fmt: skip
    p.set_defaults(func=run_worklist)

    p = subparsers.add_parser(
        "import",
        help="import a filled worklist (all rows or none)",
        description="Check every row of a filled worklist and import all of them in one "
        "transaction, or none if any row has a problem (all problems are listed with "
        "sheet, row and column). Rows already imported unchanged are skipped; empty rows "
        "are not yet reviewed. A changed value for an entered case needs --corrections "
        "and a reason in the 'reason' column.",
    )
    _study_arg(p)
    p.add_argument("file", metavar="FILE", type=Path, help="the filled worklist (.xlsx or .csv)")
    p.add_argument("--reviewer", required=True, help="whose worklist it is")
    p.add_argument("--corrections", action="store_true",
                   help="allow changed values for entered cases (each needs a reason)")  # fmt: skip
    p.set_defaults(func=run_import)

    p = subparsers.add_parser(
        "record",
        help="enter assessments interactively, or one case from the command line",
        description="Without CASE_ID: walk through the reviewer's open cases, asking each "
        "codebook field with numbered choices; each case is saved when complete, so "
        "stopping (q, Ctrl-D, Ctrl-C) loses nothing saved. With CASE_ID: record that case "
        "from the flags (review date defaults to today).",
    )
    _study_arg(p)
    p.add_argument("case_id", metavar="CASE_ID", nargs="?", help="record this case only")
    p.add_argument("--reviewer", required=True, help="reviewer name")
    for field, flags in RECORD_FLAGS.items():
        metavar, what = RECORD_METAVARS.get(field, ("CODE", f"codebook field {field}"))
        p.add_argument(*flags, dest=f"field_{field}", metavar=metavar, help=what)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="any codebook field (for codebooks other than the default)")  # fmt: skip
    p.add_argument("--corrections", action="store_true",
                   help="correct the reviewer's entry for CASE_ID (needs --reason)")  # fmt: skip
    p.add_argument("--reason", default=None, help="the reason for a correction")
    p.set_defaults(func=run_record)

    p = subparsers.add_parser(
        "status",
        help="progress per kommune, stratum and reviewer",
        description="Assigned, done, remaining, unassigned, ineligible, reserves used, "
        "double reviews done and reserves left, per kommune, stratum and reviewer; the "
        "table form ends with totals per reviewer and for the whole study.",
    )
    _study_arg(p)
    format_argument(p)
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write the table to FILE instead of stdout")  # fmt: skip
    p.add_argument("--interim", action="store_true",
                   help="interim results instead: each stratum's and domain's confidence "
                   "sequence (valid however often it is looked at), whether its precision "
                   "target is met (safe to stop), and which strata need reviews most; with "
                   "--format csv the per-stratum table")  # fmt: skip
    p.set_defaults(func=run_status)

    p = subparsers.add_parser(
        "export",
        help="export the analysis table (one row per sampled case)",
        description="Write the analysis table that estimate_proportions takes (one row per "
        "sampled case incl. activated reserves, with N_h and the indicators; notes are "
        "never exported) as CSV, or the double reviews for agreement analysis.",
    )
    _study_arg(p)
    format_argument(p, default="csv")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write to FILE instead of stdout")  # fmt: skip
    p.add_argument("--double-reviews", action="store_true",
                   help="export both reviewers' entries of the double-reviewed cases")  # fmt: skip
    p.set_defaults(func=run_export)

    p = subparsers.add_parser(
        "audit",
        help="the audit trail as CSV",
        description="Write the study's audit trail (who, when, what, from which file or "
        "command) as CSV: the whole study's trail, all rounds.",
    )
    _study_arg(p, round_help="only checks that the study has round N: the audit trail is "
               "the whole study's, every round")  # fmt: skip
    format_argument(p, default="csv")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write to FILE instead of stdout")  # fmt: skip
    p.set_defaults(func=run_audit)


def run_assign(args: argparse.Namespace) -> int:
    from stikprove.assignment import assign_reviewers

    study = _open(args)
    result = assign_reviewers(study, args.reviewers.split(","), source="stikprove assign")
    print(f"{result.first_reviews} case(s) assigned to {', '.join(result.reviewers)}; "
          f"{result.second_reviews} second review(s).")  # fmt: skip
    if not result.assignments.empty:
        print(result.assignments.groupby(["reviewer", "review_slot"]).size()
              .rename("cases").reset_index().to_string(index=False))  # fmt: skip
    return 0


def run_worklist(args: argparse.Namespace) -> int:
    from stikprove.worklist import write_worklist

    study = _open(args)
    result = write_worklist(study, args.reviewer, args.out, args.format)
    extra = f" and {result.codebook_path}" if result.codebook_path else ""
    print(f"wrote {result.path}{extra}: {result.cases} open case(s) for {args.reviewer}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from stikprove.recording import import_assessments

    study = _open(args)
    result = import_assessments(study, args.file, args.reviewer, corrections=args.corrections)
    print(result.summary())
    extra = _columns_not_imported(study, args.file, result.reviewer)
    if extra:
        print(f"note: column(s) {', '.join(map(repr, extra))} are not on the worklist and were "
              "not imported (free text goes in 'note', which never leaves the study store)",
              file=sys.stderr)  # fmt: skip
    return 0


def _columns_not_imported(study, path: Path, reviewer: str) -> list[str]:
    """The columns of an imported file that neither the worklist nor the import knows: a
    column a physician added is not silently dropped without a word."""
    from stikprove.recording.read import read_rows
    from stikprove.worklist import worklist_table

    known = {*worklist_table(study, reviewer).columns, *study.codebook.field_names, "reason",
             "case_id", "round"}  # fmt: skip
    return [c for c in read_rows(path).columns if c and c not in known]


def run_record(args: argparse.Namespace) -> int:
    from stikprove.recording import record_assessment, record_interactive

    study = _open(args)
    given = {f: getattr(args, f"field_{f}") for f in RECORD_FLAGS}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise StoreError(f"--set {item!r}: expected FIELD=VALUE")
        given[name.strip()] = value.strip()
    unknown = [f for f, v in given.items() if v is not None and f not in study.codebook.field_names]
    if unknown:
        raise StoreError(f"fields {', '.join(unknown)} are not in this study's codebook: "
                         f"expected some of {', '.join(study.codebook.field_names)}")  # fmt: skip
    if args.case_id is None:
        if any(v is not None for v in given.values()):
            raise StoreError("field flags need a CASE_ID: stikprove record STUDY CASE_ID ...")
        record_interactive(study, args.reviewer, sys.stdin, sys.stdout)
        return 0
    if given.get("review_date") is None and "review_date" in study.codebook.field_names:
        given["review_date"] = date.today().isoformat()
    try:
        result = record_assessment(
            study, args.reviewer, args.case_id, given, corrections=args.corrections,
            reason=args.reason, source="stikprove record",
        )  # fmt: skip
    except ImportRowsError as error:
        raise _record_refused(args.case_id, error) from None
    print(_record_summary(args.case_id, args.reviewer, result))
    return 0


def _flag_of(column: str | None) -> str:
    """The command-line flag of a codebook column in ``record`` (or the column itself)."""
    if column in RECORD_FLAGS:
        return f"{RECORD_FLAGS[column][0]} ({column})"
    if column == "reason":
        return "--reason"
    if column == "case_id":
        return "CASE_ID"
    return f"--set {column}=..." if column else "input"


def _record_refused(case_id: str, error: ImportRowsError) -> StoreError:
    """``record``'s refusal in its own terms: the flags, not a worklist's columns."""
    problems = getattr(error, "problems", None)
    if not problems:
        return error
    lines = [f"case {case_id}: nothing recorded: {len(problems)} problem(s)"]
    for p in problems:
        got = "nothing" if p.value is None else repr(p.value)
        lines.append(f"  - {_flag_of(p.column)}: got {got}, expected {p.expected}")
    refused = StoreError("\n".join(lines))
    refused.problems = list(problems)  # type: ignore[attr-defined]
    return refused


def _record_summary(case_id: str, reviewer: str, result) -> str:
    """One line for the recorded case, then the reserve lines of the import summary."""
    if result.new:
        head = f"case {case_id}: recorded for {reviewer} (1 new)"
    elif result.corrected:
        head = f"case {case_id}: corrected for {reviewer} (1 corrected)"
    else:
        head = f"case {case_id}: unchanged (the same as already recorded; nothing written)"
    return "\n".join([head, *result.summary().splitlines()[1:]])


def run_status(args: argparse.Namespace) -> int:
    from stikprove.estimation.interim import interim_status, waiting_cases
    from stikprove.release.disclosure import NOT_FOR_PUBLICATION, mark_raw

    # the study team's working figures, per stratum and unprotected: never for publication
    # (the published progress is the release's: stikprove release, the reports)
    study = _open(args)
    if args.interim:
        interim = interim_status(study)
        if args.format != "table" or args.out is not None:
            _write_table(mark_raw(interim.plan), args)
        else:
            print(NOT_FOR_PUBLICATION)
            print(interim.summary())
        return 0
    status = study.status()
    if args.format != "table" or args.out is not None:
        _write_table(mark_raw(status), args)
    else:
        print(NOT_FOR_PUBLICATION)
        print(status.to_string(index=False) if not status.empty else "(no sampled cases)")
        short = status[status["unreplaced"] > 0].groupby("stratum")["unreplaced"].sum()
        for stratum, n in short.items():
            print(f"note: stratum {stratum}: {n} ineligible case(s) not replaced, "
                  "no reserves left")  # fmt: skip
        back = status[status["replaced_eligible"] > 0].groupby("stratum")["replaced_eligible"]
        for stratum, n in back.sum().items():
            print(f"note: stratum {stratum}: {n} case(s) corrected back to eligible keep "
                  "their reserve in the sample (sample_size counts both)")  # fmt: skip
        waiting = waiting_cases(study.export())
        for row in waiting.itertuples():
            print(f"note: stratum {row.stratum}: {row.waiting} reviewed case(s) wait on case "
                  f"{row.first_open} of its list (interim analyses use the unbroken run of "
                  "reviewed cases from the top)")  # fmt: skip
        if not status.empty:
            print(_status_totals(status))
    return 0


STATUS_ADDITIVE = ("assigned", "done", "remaining", "unassigned", "ineligible", "unreplaced",
                   "reserves_used", "double_reviews_done", "replaced_eligible")  # fmt: skip


def _status_totals(status: pd.DataFrame) -> str:
    """Totals under the status table (a national study's table has thousands of rows):
    per reviewer, and for the whole study (stratum figures counted once per stratum)."""
    per = status.groupby("reviewer", sort=True)[list(STATUS_ADDITIVE)].sum().reset_index()
    per["reviewer"] = per["reviewer"].replace("", "(unassigned)")
    strata = status.drop_duplicates("stratum")
    total = status[list(STATUS_ADDITIVE)].sum()
    return (
        "\ntotals per reviewer:\n"
        + per.to_string(index=False)
        + f"\nwhole study: {status['kommune_code'].nunique()} kommune(r), "
        f"{len(strata)} strata, {int(strata['sample_size'].sum())} cases taken "
        f"({int(total['reserves_used'])} of them reserves); {int(total['assigned'])} "
        f"review(s) assigned, {int(total['done'])} done, {int(total['remaining'])} "
        f"remaining, {int(total['unassigned'])} case(s) unassigned; "
        f"{int(total['ineligible'])} ineligible, {int(total['unreplaced'])} not replaced; "
        f"{int(strata['reserves_left'].sum())} reserves left"
    )


def _write_csv(df: pd.DataFrame, out: Path | None) -> None:
    from stikprove.cells import csv_safe
    from stikprove.files import atomic_write

    df = csv_safe(df)  # no cell can run as a formula in a spreadsheet
    if out is None:
        df.to_csv(sys.stdout, index=False)
        return
    atomic_write(out, lambda tmp: df.to_csv(tmp, index=False))
    print(f"wrote {out}: {len(df)} row(s)", file=sys.stderr)


def _write_table(table: pd.DataFrame, args: argparse.Namespace) -> None:
    """A table as ``--format`` asks (the estimation commands' writer); plain CSV as before."""
    if args.format == "csv" and (args.out is None or args.out.suffix.lower() != ".xlsx"):
        _write_csv(table, args.out)
        return
    from stikprove.commands.estimation import write_result

    write_result(table, args)


def run_export(args: argparse.Namespace) -> int:
    study = _open(args)
    table = study.export_double_reviews() if args.double_reviews else study.export()
    _write_table(table, args)
    return 0


def run_audit(args: argparse.Namespace) -> int:
    _write_table(_open(args).audit_log(), args)
    return 0
