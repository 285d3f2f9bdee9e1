"""Rendering every kommune report of a national study: where the time goes.

    .venv/bin/python benchmarks/bench_reports.py [STUDY] [--jobs 2] [--papermill 4]

Without STUDY it builds the demo's national study (all 98 kommuner; about 20 s) under a
temporary folder. It renders all kommune reports with one reused kernel per job (what
`stikprove report STUDY --all --jobs N` does) and prints the wall time, the time per report
amortised, and per report on average: kernel start (once per job), imports, computation,
tables, plots (cell time in the kernel, by cell tag), HTML export and writing. With
``--papermill K`` it also renders K reports with papermill's own engine (a new kernel per
report) for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path


def national_study(folder: Path) -> Path:
    from stikprove import cli
    from stikprove.commands.demo import NATIONAL_PROTOCOL, REVIEWERS, _simulate_reviewing

    cli.main(["synth", "--out", str(folder / "frame"), "--seed", "2016"])
    text = NATIONAL_PROTOCOL.read_text(encoding="utf-8").replace(
        'path = "../synthetic_data/national/frame.csv"',
        f'path = "{(folder / "frame" / "frame.csv").as_posix()}"',
    )
    (folder / "protocol.toml").write_text(text, encoding="utf-8")
    study = folder / "national.sqlite"
    cli.main(["draw", str(folder / "protocol.toml"), "--study", str(study)])
    cli.main(["assign", str(study), "--reviewers", ",".join(REVIEWERS)])
    _simulate_reviewing(folder, study, quiet=True)
    return study


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (workers, kernels)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args, **kwargs):
    cpu = cpu_seconds()
    result = function(*args, **kwargs)
    return result, cpu_seconds() - cpu


def summarise(label: str, result, jobs: int, cpu: float) -> None:
    reports = result.reports
    n = len(reports)
    print(f"\n{label}: {n} reports, {len(result.failures)} failures, "
          f"{result.seconds:.1f} s wall with {jobs} job(s): {result.seconds / max(n, 1):.2f} s "
          "per report amortised")  # fmt: skip
    print(f"  CPU time {cpu:.1f} s in all: {cpu / max(n, 1):.2f} CPU s per report "
          f"(on {jobs} idle cores about {cpu / max(n, 1) / jobs:.2f} s wall per report); "
          f"load average now {os.getloadavg()[0]:.1f}")  # fmt: skip
    for name, message in result.failures:
        print(f"  failed: {name}: {message}")
    if result.kernel_start:
        print(f"  kernel start (once per job):  {result.kernel_start:.2f} s")
    keys = ("imports", "computation", "tables", "plots", "other", "html", "write", "execute")
    first, rest = reports[:jobs], reports[jobs:] or reports
    for key in keys:
        later = statistics.mean(r.timings.get(key, 0.0) for r in rest)
        warm = statistics.mean(r.timings.get(key, 0.0) for r in first)
        print(f"  {key:<12} first report per job {warm:6.2f} s   later reports {later:6.2f} s")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark (``argv`` as on the command line; none from benchmarks/run.py)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--papermill", type=int, default=0, metavar="K")
    parser.add_argument("--kommuner", type=int, default=0, help="only the first K kommuner")
    args = parser.parse_args([] if argv is None else argv)
    from stikprove.reports.content import load_study
    from stikprove.reports.render import render_reports

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        study = args.study or national_study(folder / "study")
        if args.study is None:
            print(f"built the national study in {time.perf_counter() - started:.1f} s")
        codes = load_study(study).kommuner
        codes = codes[: args.kommuner] if args.kommuner else codes
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        result, cpu = timed(render_reports, study, codes, folder / "reuse", jobs=args.jobs)
        summarise("reused kernel per job", result, args.jobs, cpu)
        figures = {"reports": len(result.reports), "wall_s": round(result.seconds, 1),
                   "per_report_s": round(result.seconds / max(len(result.reports), 1), 2),
                   "cpu_per_report_s": round(cpu / max(len(result.reports), 1), 2)}  # fmt: skip
        if args.papermill:
            result, cpu = timed(render_reports, study, codes[: args.papermill],
                                folder / "papermill", jobs=1, engine="papermill",
                                progress=False)  # fmt: skip
            summarise("papermill, a new kernel per report (1 job)", result, 1, cpu)
            figures["papermill_per_report_s"] = round(
                result.seconds / max(len(result.reports), 1), 2
            )
    return figures


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
