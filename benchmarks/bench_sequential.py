"""Benchmark: confidence sequences (estimation/sequential.py) and `status --interim`.

    .venv/bin/python benchmarks/run.py sequential
    .venv/bin/python benchmarks/bench_sequential.py --quick   # fewer replications

1. Speed: the whole sequence (all t) for a stratum of N = 600 (target: at most 20 ms) and
   for a census stratum of 5,000.
2. Simulation (the larger run of tests/test_sequential.py): for populations with known rates,
   including 0 %, 100 % and small strata, many random review orders; the share of orders in
   which the sequence ever misses the rate (at most 5 % at level 95 %) beside the fixed-n
   Wilson and fixed-n hypergeometric (exact, finite population) intervals recomputed after
   every case; mean widths at t = N/4, N/2, N of the sequence and of the fixed-n
   hypergeometric interval.
3. Ineligible cases in the run: the stratum's population for the indicator taken as N_h less
   the cases seen outside it (estimation/interim.py), recomputed at every look.
4. Domains: a kommune of 10 strata and a national domain of 572 strata at the end of the
   review: the width of both combinations (product of martingales, Bonferroni split) against
   the fixed-time Korn-Graubard interval of estimate_proportions; and, for a domain of five
   strata reviewed in a random interleaving, how often each ever misses the domain's rate.
5. `stikprove status STUDY --interim` on a national study (protocols/national-template.toml
   on a synthetic frame of 98 kommuner: 572 strata, 6,000 cases, half of them reviewed in
   random order; target: at most 2 s).

Seeds are fixed (numpy.random.default_rng); figures vary only with the machine's load.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove import confidence_sequence, estimate_proportions, proportion_ci
from stikprove.estimation.sequential import combine_strata

ROOT = Path(__file__).resolve().parents[1]
LEVEL = 0.95


def _timing() -> dict:
    rng = np.random.default_rng(600)
    figures = {}
    for big_n in (600, 5000):
        x = (rng.random(big_n) < 0.3).astype(int)
        confidence_sequence(x, big_n)
        runs = []
        for _ in range(30):
            start = time.perf_counter()
            confidence_sequence(x, big_n)
            runs.append(time.perf_counter() - start)
        figures[f"N{big_n}_ms"] = round(1000 * float(np.median(runs)), 2)
    print(f"whole sequence (all t), median of 30: N = 600 {figures['N600_ms']} ms "
          f"(target <= 20 ms); census N = 5,000 {figures['N5000_ms']} ms")  # fmt: skip
    return figures


def _coverage(reps: int) -> dict:
    print(f"\never missed the rate over all t ({reps} review orders each; level {LEVEL:.0%}); "
          "mean widths at t = N/4, N/2, N")  # fmt: skip
    print(f"{'N':>5} {'M':>5} | {'sequence':>8} {'Wilson':>7} {'hypergeo':>8} | "
          f"{'sequence widths':>20} | {'fixed-n hypergeometric widths':>30}")  # fmt: skip
    rng = np.random.default_rng(20261201)
    worst = 0.0
    for big_n, m in [(8, 0), (8, 3), (8, 8), (30, 0), (30, 6), (30, 30), (60, 3), (60, 15),
                     (60, 60), (200, 10), (200, 50), (200, 100), (600, 150)]:  # fmt: skip
        n_reps = reps if big_n < 600 else max(reps // 4, 50)
        t = np.arange(1, big_n + 1)
        population = np.r_[np.ones(m), np.zeros(big_n - m)].astype(int)
        p = m / big_n
        misses = np.zeros(3)
        widths = np.zeros((2, big_n))
        for _ in range(n_reps):
            x = rng.permutation(population)
            s = np.cumsum(x)
            cs = confidence_sequence(x, big_n, LEVEL)
            wilson = proportion_ci(s, t, LEVEL, "wilson")
            hyper = proportion_ci(s, t, LEVEL, "hypergeometric", population_size=big_n)
            for i, (low, high) in enumerate([(cs.low, cs.high), wilson, hyper]):
                misses[i] += bool(np.any((low > p + 1e-12) | (high < p - 1e-12)))
            widths += [cs.high - cs.low, hyper.high - hyper.low]
        misses /= n_reps
        widths /= n_reps
        worst = max(worst, misses[0])
        at = [max(big_n // 4, 1) - 1, max(big_n // 2, 1) - 1, big_n - 1]
        seq_w = " ".join(f"{w:.3f}" for w in widths[0][at])
        fix_w = " ".join(f"{w:.3f}" for w in widths[1][at])
        print(f"{big_n:5d} {m:5d} | {misses[0]:8.3f} {misses[1]:7.3f} {misses[2]:8.3f} | "
              f"{seq_w:>20} | {fix_w:>30}")  # fmt: skip
    return {"worst_ever_missed": round(worst, 4)}


def _ineligible(reps: int) -> dict:
    """N = 60 with 12 ineligible cases, 10 of the 48 eligible positive: at each look the
    sequence is recomputed with the population N less the ineligible cases seen so far."""
    rng = np.random.default_rng(12)
    big_n, out, m = 60, 12, 10
    population = np.r_[np.ones(m), np.zeros(big_n - out - m), np.full(out, np.nan)]
    p = m / (big_n - out)
    missed = 0
    for _ in range(reps):
        x = rng.permutation(population)
        hit = False
        for look in range(1, big_n + 1):
            seen = x[:look]
            y = seen[~np.isnan(seen)].astype(int)
            if len(y) == 0:
                continue
            size = big_n - int(np.isnan(seen).sum())
            cs = confidence_sequence(y, size, LEVEL)
            hit |= bool(cs.low[-1] > p + 1e-12 or cs.high[-1] < p - 1e-12)
        missed += hit
    print(f"\nineligible cases in the run (N = 60, 12 ineligible, rate 10/48), sequence "
          f"recomputed at each look: ever missed {missed / reps:.3f} ({reps} orders)")  # fmt: skip
    return {"ineligible_ever_missed": round(missed / reps, 4)}


def _domains() -> dict:
    """Width at the end of the review: combined sequences vs fixed-time Korn-Graubard."""
    rng = np.random.default_rng(98)
    figures = {}
    for name, strata in (("kommune, 10 strata", 10), ("national, 572 strata", 572)):
        sizes = np.maximum(rng.lognormal(4.2, 0.9, strata).astype(int), 3)
        if strata == 10:
            taken = np.minimum(np.maximum(sizes // 6, 3), sizes)
        else:  # about 6,000 cases, as the national template allocates
            taken = np.minimum(np.maximum(np.round(sizes * 6000 / sizes.sum()), 3), sizes)
        taken = taken.astype(int)
        rates = rng.uniform(0.1, 0.3, strata)
        outcomes, rows = [], []
        for h in range(strata):
            m = int(np.round(rates[h] * sizes[h]))
            x = rng.permutation(np.r_[np.ones(m), np.zeros(sizes[h] - m)])[: taken[h]]
            outcomes.append(x.astype(int))
            rows.append(pd.DataFrame({"stratum": h, "N": sizes[h], "y": x}))
        fixed = estimate_proportions(pd.concat(rows), "y", "stratum", "N",
                                     method="korn-graubard")
        fixed_width = float(fixed["ci_high"].iloc[0] - fixed["ci_low"].iloc[0])
        widths = {}
        for method in ("product", "bonferroni"):
            low, high = combine_strata(outcomes, sizes, method=method)
            widths[method] = float(high[0] - low[0])
            figures[f"{name.split(',')[0]}_{method}_width_ratio"] = round(
                widths[method] / fixed_width, 2)
        print(f"{name}: {int(taken.sum())} of {int(sizes.sum())} cases reviewed; width at the "
              f"end: product {widths['product']:.3f} ({widths['product'] / fixed_width:.1f} "
              f"times), Bonferroni {widths['bonferroni']:.3f} "
              f"({widths['bonferroni'] / fixed_width:.1f} times), fixed-time Korn-Graubard "
              f"{fixed_width:.3f}")  # fmt: skip
    return figures


def _domain_coverage(reps: int) -> dict:
    """Five strata reviewed in a random interleaving, the domain checked after every case."""
    rng = np.random.default_rng(55)
    sizes = np.array([150, 80, 40, 20, 8])
    counts = np.array([15, 24, 0, 20, 3])
    taken = np.array([50, 30, 20, 20, 8])
    rate = counts.sum() / sizes.sum()
    misses = {"product": 0, "bonferroni": 0}
    for _ in range(reps):
        orders = [rng.permutation(np.r_[np.ones(m), np.zeros(n - m)]).astype(int)[:k]
                  for n, m, k in zip(sizes, counts, taken, strict=True)]  # fmt: skip
        looks = rng.permutation(np.repeat(np.arange(5), taken))
        seen = np.stack([np.cumsum(looks == h) for h in range(5)], axis=1)
        prefixes = [orders[h][: seen[i, h]] for i in range(len(seen)) for h in range(5)]
        domains = np.repeat(np.arange(len(seen)), 5)
        for method in misses:
            low, high = combine_strata(prefixes, np.tile(sizes, len(seen)), domains=domains,
                                       method=method)  # fmt: skip
            misses[method] += bool(np.any((low > rate + 1e-9) | (high < rate - 1e-9)))
    print(f"domain of 5 strata (N = 298, rate {rate:.3f}), random interleaving, checked after "
          f"every case, {reps} reviews: ever missed: product {misses['product'] / reps:.3f}, "
          f"Bonferroni {misses['bonferroni'] / reps:.3f}")  # fmt: skip
    return {f"domain_ever_missed_{m}": round(v / reps, 4) for m, v in misses.items()}


def _national_status() -> dict:
    from stikprove.cli import main as cli
    from stikprove.estimation.interim import interim_status
    from stikprove.recording import import_entries
    from stikprove.store import open_study
    from stikprove.synth import simulate_reviews
    from stikprove.worklist import worklist_table

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        quiet = contextlib.redirect_stdout(io.StringIO())
        with quiet, contextlib.redirect_stderr(io.StringIO()):
            cli(["synth", "--out", str(folder / "frame"), "--seed", "7"])
            text = (ROOT / "protocols" / "national-template.toml").read_text(encoding="utf-8")
            text = text.replace('path = "../synthetic_data/national/frame.csv"',
                                f'path = "{(folder / "frame" / "frame.csv").as_posix()}"')
            (folder / "national.toml").write_text(text, encoding="utf-8")
            study_path = folder / "national.sqlite"
            cli(["draw", str(folder / "national.toml"), "--study", str(study_path)])
            cli(["assign", str(study_path), "--reviewers", "a,b,c,d"])
        truth = pd.read_csv(folder / "frame" / "truth.csv", dtype=str, keep_default_na=False)
        truth = truth.replace("", None)
        study = open_study(study_path)
        rng = np.random.default_rng(3)
        for i, reviewer in enumerate("abcd"):
            todo = worklist_table(study, reviewer)
            take = todo["case_id"][rng.random(len(todo)) < 0.5]
            import_entries(study, simulate_reviews(truth, take, 10 + i), reviewer)
        interim_status(study)  # warm-up
        start = time.perf_counter()
        status = interim_status(study)
        python_s = time.perf_counter() - start
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            cli(["status", str(study_path), "--interim"])
        cli_s = time.perf_counter() - start
    print(f"\nstatus --interim, national study ({len(status.plan)} strata, "
          f"{int(status.plan['sample_size'].sum())} cases, "
          f"{int(status.plan['in_run'].sum())} in the runs, "
          f"{int(status.plan['waiting'].sum())} waiting): interim_status {python_s:.2f} s, "
          f"the command {cli_s:.2f} s (target <= 2 s)")  # fmt: skip
    return {"interim_status_s": round(python_s, 3), "status_interim_cli_s": round(cli_s, 3)}


def main(quick: bool = False) -> dict:
    reps = 300 if quick else 2000
    figures = _timing()
    figures.update(_coverage(reps))
    figures.update(_ineligible(100 if quick else 500))
    print()
    figures.update(_domains())
    figures.update(_domain_coverage(60 if quick else 400))
    figures.update(_national_status())
    return figures


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
