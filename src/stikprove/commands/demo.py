"""``stikprove demo``: the whole flow on synthetic data, as a user would run it.

1. a synthetic frame for Odense, Frederiksberg and Læsø (``stikprove synth``), validated;
2. the Odense replication protocol (the shipped template odense-replication.toml) checked,
   its design table printed;
3. the sample drawn into a study store (``stikprove draw``), assigned to two reviewers,
   worklists written (xlsx and csv);
4. the reviewers' answers simulated from the synthetic truth and imported through the strict
   import, round after round until every open case (activated reserves included) is done;
5. status, the analysis table, estimates per group with confidence intervals, a comparison
   of groups, the reviewers' agreement, and the coverage of the interval methods.

Everything is written under ``--out`` (default ``demo-output``), which is replaced on each
run only if it holds an earlier demo (a marker file says so).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from stikprove import packaged
from stikprove.commands import out_dir_argument
from stikprove.errors import StikproveError

MARKER = ".stikprove-demo"
SEED = 2016
KOMMUNER = "461,147,825"
REVIEWERS = ("overlaege_a", "overlaege_b")
PROTOCOL = packaged.protocols_folder() / packaged.PROTOCOL_TEMPLATES["odense"]
NATIONAL_PROTOCOL = packaged.protocols_folder() / packaged.PROTOCOL_TEMPLATES["national"]
REPORT_KOMMUNER = ("461", "101", "751", "851", "825")
"""Odense, København, Aarhus, Aalborg and Læsø: the kommuner the demo renders reports for."""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the whole flow on synthetic data",
        description="Run the whole flow on synthetic data: synthetic frame, protocol, "
        "design, draw, worklists, simulated reviews through the strict import, status, "
        "analysis table, estimates with confidence intervals, comparison, agreement and "
        "coverage. Writes everything under --out.",
    )
    out_dir_argument(p, Path("demo-output"), "output folder")
    p.add_argument("--replications", type=int, default=1000,
                   help="replications of the coverage simulation")  # fmt: skip
    p.add_argument("--no-national", action="store_true",
                   help="skip the national study and its reports")  # fmt: skip
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="reports rendered in parallel, one kernel each")  # fmt: skip
    p.set_defaults(func=run)


def _step(title: str) -> None:
    print(f"\n== {title} ==")


def _prepare(out: Path) -> None:
    if out.exists() and any(out.iterdir()):
        if not (out / MARKER).exists():
            raise StikproveError(
                f"--out {out}: the folder exists and is not an earlier demo's output; "
                "expected a new or empty folder, or one written by 'stikprove demo'"
            )
        shutil.rmtree(out)
    from stikprove.files import private_folder

    private_folder(out)
    (out / MARKER).write_text("written by stikprove demo; replaced on the next run\n")


def _protocol_text(frame_path: Path) -> str:
    text = packaged.protocol_template("odense").read_text(encoding="utf-8")
    old = 'path = "../synthetic_data/frame.csv"'
    if old not in text:
        raise StikproveError(f"{PROTOCOL}: expected the line {old!r} to point the demo's frame")
    return text.replace(old, f'path = "{frame_path.as_posix()}"')


def _relative(frame: Path, protocol: Path) -> Path:
    """The frame's path as the protocol at ``protocol`` reads it: relative to the protocol's
    own folder, so a copied or moved demo folder reads its own frame, not the original's."""
    return Path(os.path.relpath(frame.resolve(), protocol.resolve().parent))


def run(args: argparse.Namespace) -> int:
    from stikprove import cli

    out: Path = args.out.resolve()
    _prepare(out)

    _step("1. Synthetic frame (Odense 461, Frederiksberg 147, Læsø 825)")
    cli_run = _cli_runner(cli)
    cli_run("synth", "--out-dir", str(out / "frame"), "--seed", str(SEED), "--kommuner", KOMMUNER)
    cli_run("validate-frame", str(out / "frame" / "frame.csv"))

    _step("2. Protocol and design")
    protocol_path = out / "odense-replication.toml"
    protocol_path.write_text(
        _protocol_text(_relative(out / "frame" / "frame.csv", protocol_path)), encoding="utf-8"
    )
    cli_run("check-protocol", str(protocol_path))
    cli_run("design", str(protocol_path))

    _step("3. Draw, assign, worklists")
    study = out / "odense.sqlite"
    cli_run("draw", str(protocol_path), "--study", str(study))
    cli_run("assign", str(study), "--reviewers", ",".join(REVIEWERS))
    for reviewer in REVIEWERS:
        cli_run("worklist", str(study), "--reviewer", reviewer,
                "--out", str(out / "worklists" / f"{reviewer}.xlsx"))  # fmt: skip

    _step("4. Simulated reviews through the strict import")
    _simulate_reviewing(out, study)
    cli_run("status", str(study))

    _step("5. Analysis table and estimates")
    analysis = out / "analysis.csv"
    cli_run("export", str(study), "--out", str(analysis))
    print("\nGenuinely too ill (too_ill) by sex and origin, 95 % intervals (the default,")
    print("pooled-hypergeometric), as published: disclosure control and the NCHS standard:")
    cli_run("estimate", str(analysis), "--outcome", "too_ill", "--by", "sex,origin")
    _print_replication_claim(study)
    print("\nToo ill, all health-exempt cases in Odense, with worst/best-case bounds:")
    cli_run("estimate", str(analysis), "--outcome", "too_ill", "--bounds")
    print("\nMisclassified (exempt, but can take part) by sex:")
    cli_run("estimate", str(analysis), "--outcome", "misclassified", "--by", "sex")
    print("\nToo ill: women minus men (difference and ratio):")
    cli_run("compare", str(analysis), "--outcome", "too_ill", "--by", "sex",
            "--groups", "kvinde,mand")  # fmt: skip
    print("\nToo ill: equal rates across origins? (Rao-Scott)")
    cli_run("compare", str(analysis), "--outcome", "too_ill", "--by", "origin", "--test")
    print("\nAgreement of the two reviewers on double-reviewed cases:")
    cli_run("agreement", str(study), "--field", "health_assessment")

    _step("6. Coverage of the interval methods under this design")
    cli_run("simulate", str(protocol_path), "--replications", str(args.replications),
            "--out", str(out / "coverage.csv"))  # fmt: skip
    _print_coverage_summary(out / "coverage.csv")
    if not args.no_national:
        _national(out, cli_run, args.jobs)
    print(f"\nDone. Everything is under {out}")
    return 0


def _national(out: Path, cli_run, jobs: int) -> None:
    """Steps 7-8: the national template study in all 98 kommuner, reviewed, and reports."""
    national = out / "national"
    _step("7. National study: all 98 kommuner (the national template)")
    cli_run("synth", "--out-dir", str(national / "frame"), "--seed", str(SEED))
    text = packaged.protocol_template("national").read_text(encoding="utf-8")
    old = 'path = "../synthetic_data/national/frame.csv"'
    if old not in text:
        raise StikproveError(f"{NATIONAL_PROTOCOL}: expected the line {old!r}")
    protocol_path = national / "national-template.toml"
    frame_path = _relative(national / "frame" / "frame.csv", protocol_path).as_posix()
    protocol_path.write_text(text.replace(old, f'path = "{frame_path}"'), encoding="utf-8")
    study = national / "national.sqlite"
    cli_run("draw", str(protocol_path), "--study", str(study))
    cli_run("assign", str(study), "--reviewers", ",".join(REVIEWERS))
    print("\nsimulated reviews of every sampled case (strict import) ...")
    _simulate_reviewing(national, study, quiet=True)
    print("\nToo ill: kommuner that differ from the national rate (BH-adjusted), first rows:")
    flags = national / "flags.csv"
    cli_run("flag", str(study), "--outcome", "too_ill", "--format", "csv", "--out", str(flags))
    _print_flagged(flags)

    _step("8. Reports: Odense, København, Aarhus, Aalborg, Læsø and the national overview")
    reports = out / "reports"
    cli_run("report", str(study), "--kommune", ",".join(REPORT_KOMMUNER), "--national",
            "--out-dir", str(reports), "--jobs", str(jobs))  # fmt: skip
    _print_headline(study, reports)


def _print_replication_claim(study: Path) -> None:
    """Odense's claim (one in ten immigrant women too ill) against the replication's own
    interval for that group, which the NCHS standard withholds from publication."""
    from stikprove.reports import content, text

    data = content.load_study(study)
    # the report's own estimates of the whole study, raw and as they are published
    args = (data, "too_ill", None, ["sex", "origin"], data.confidence_level, data.interval_method)
    table, published = content.kommune_estimates(*args, None), content.kommune_estimates(
        *args, data.threshold
    )
    group = (table["sex"] == "kvinde") & (table["origin"] == "indvandrer_ikke_vestlig")
    if not group.any():
        return
    row, why = table[group].iloc[0], published.loc[group, "disclosure"].iloc[0]
    level = text.percent(data.confidence_level, "en")
    low, high = (text.percent(row[c], "en") for c in ("ci_low", "ci_high"))
    notes = text.disclosure_notes(why, "en", data.threshold)
    print("\nOdense's claim, one in ten immigrant women too ill, on this replication's sample "
          f"(raw, NOT FOR PUBLICATION): non-Western immigrant women, n = {int(row['n'])}, "
          f"{text.percent(row['estimate'], 'en')} ({level} CI {low}–{high}); the published "
          f"table withholds it: {' '.join(notes) or 'shown'}")


def _print_flagged(path: Path) -> None:
    import pandas as pd

    table = pd.read_csv(path, dtype={"kommune_code": str})
    flagged = table[table["flagged"].astype(str).str.lower() == "true"]
    print(f"{len(flagged)} of {len(table)} kommuner flagged at BH-adjusted 5 % (table: {path})")


def _print_headline(study: Path, reports: Path) -> None:
    from stikprove.reports import content, text

    data = content.load_study(study)
    table = content.estimates_table(data, "too_ill", "461", groupings=[("sex", "origin")])
    row = content.headline_row(table, "kvinde", "ikke_vestlig")
    print("\nOdense headline (national study, women of non-Western origin):")
    print("  " + text.headline(row, "kvinder med ikke-vestlig oprindelse", "Odense", "too_ill",
                               "da", data.confidence_level, data.threshold))  # fmt: skip
    print(f"\nOdense's report: {reports / '461.html'}")
    print(f"National overview: {reports / 'national.html'}")
    print(f"All reports: {reports / 'index.html'}")


def _cli_runner(cli):
    def run_command(*argv: str) -> None:
        print(f"\n$ stikprove {' '.join(argv)}")
        status = cli.main(list(argv))
        if status != 0:
            raise StikproveError(f"demo step 'stikprove {argv[0]}' failed with status {status}")

    return run_command


def _simulate_reviewing(out: Path, study_path: Path, frame_folder: str = "frame",
                        quiet: bool = False) -> None:  # fmt: skip
    """Fill each reviewer's open cases from the synthetic truth and import them, until no
    case is open (marking a case ineligible opens its stratum's next reserve)."""
    import pandas as pd

    from stikprove.recording import import_entries
    from stikprove.store import open_study
    from stikprove.synth import simulate_reviews
    from stikprove.worklist import worklist_table

    truth = pd.read_csv(out / frame_folder / "truth.csv", dtype=str, keep_default_na=False)
    truth = truth.replace("", None)
    study = open_study(study_path)
    for attempt in range(1, 20):
        opened = 0
        for number, reviewer in enumerate(REVIEWERS):
            todo = worklist_table(study, reviewer)
            if todo.empty:
                continue
            # the second reviewer disagrees on some health assessments, as real ones do
            seed = SEED * 100 + attempt * 2 + number
            answers = simulate_reviews(truth, todo["case_id"], seed, disagreement=0.25 * number)
            filled = study_path.parent / "worklists" / f"{reviewer}-filled-{attempt}.csv"
            filled.parent.mkdir(parents=True, exist_ok=True)
            from stikprove.cells import csv_safe  # lazily: --help must not load pandas

            csv_safe(answers).to_csv(filled, index=False)
            result = import_entries(study, answers, reviewer, source=str(filled))
            opened += len(todo)
            if not quiet:
                print(f"round {attempt}: {reviewer}: {result.summary()}")
        if opened == 0:
            return
    raise StikproveError("demo: reviewing did not finish in 19 rounds")


def _print_coverage_summary(path: Path) -> None:
    import pandas as pd

    table = pd.read_csv(path)
    summary = table.groupby("method").agg(
        domains=("domain", "size"),
        lowest_coverage=("coverage", "min"),
        median_coverage=("coverage", "median"),
        mean_width=("mean_width", "mean"),
    )
    print("\nCoverage of nominal 95 % intervals over the strata and the whole study:")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
