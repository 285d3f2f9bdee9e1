"""Run the interval study (interval_study.py beside this file) and write its tables to docs/.

    .venv/bin/python research/run_interval_study.py            # the full grid (docs/intervals.md)
    .venv/bin/python research/run_interval_study.py --designs 40 --replications 2000  # quicker
    .venv/bin/python research/run_interval_study.py --from-csv  # summary and plots from the CSV
    .venv/bin/python research/run_interval_study.py --designs 0 --cut-designs 60  # cut domains
    .venv/bin/python research/run_interval_study.py --out /tmp/study  # elsewhere than docs/

Runs :func:`interval_study.run_study` on :func:`interval_study.study_grid` (300 random
designs and 60 whose domains cut strata by default), applies :func:`choose_default` and writes

- docs/interval_study.csv: one row per (design, domain, method), the columns of ``run_study``;
- docs/interval_study_summary.md: the per-method summary table and the chosen method, and the
  summary over the domains that cut strata alone;
- docs/interval_tradeoff.png: each method's lowest coverage against its cells too wide;
- docs/interval_twins.csv: the same columns for the twins of the cells where the chosen method
  is more than 15 % wider than R's Korn–Graubard (``twin_designs``);
- docs/interval_coverage.png: coverage against the true rate, one panel per method.

It prints its run time and never fails on a figure (research/README.md: what it reproduces
and how long it takes).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from interval_study import (
    choose_default,
    run_study,
    study_grid,
    summarise_study,
    twin_designs,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _plot(table, path: Path, threshold: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(table["method"]))
    columns = 3
    rows = -(-len(methods) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 3.2 * rows), sharex=True,
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, method in zip(axes.ravel(), methods, strict=False):
        sub = table[table["method"] == method]
        multi = sub["domain_strata"] > 1
        for mask, colour, label in ((~multi, "tab:blue", "one stratum"),
                                    (multi, "tab:orange", "several strata")):  # fmt: skip
            rate = np.maximum(sub.loc[mask, "true_proportion"], 1e-3)
            shown = sub.loc[mask, "coverage"].clip(lower=0.80)  # below 0.80 drawn at 0.80
            ax.scatter(rate, shown, s=6, alpha=0.5, color=colour, label=label)
        ax.axhline(0.95, color="black", linewidth=0.8)
        ax.axhline(threshold, color="red", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_ylim(0.80, 1.001)
        ax.set_title(f"{method}  (min {sub['coverage'].min():.3f})", fontsize=9)
    for ax in axes.ravel()[len(methods) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("true rate (log scale; 0 shown at 0.001)")
    for ax in axes[:, 0]:
        ax.set_ylabel("coverage (nominal 0.95)")
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Coverage per design and domain (points below 0.80 drawn at 0.80)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _tradeoff_plot(summary, path: Path, threshold: float) -> None:
    """Each candidate's lowest coverage against the cells in which it is more than 15 % wider
    than R's Korn–Graubard (where that covers): issue 13's two targets on one plot. Methods
    whose lowest coverage is under 0.88 are listed below the plot instead."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    floor = 0.88
    shown = summary[summary["min_coverage"] >= floor].sort_values("wider_15pct")
    hidden = summary[summary["min_coverage"] < floor]
    fig, ax = plt.subplots(figsize=(8, 5.2))
    ax.scatter(shown["wider_15pct"], shown["min_coverage"], color="tab:blue")
    for i, row in enumerate(shown.itertuples(False)):
        ax.annotate(row.method, (row.wider_15pct, row.min_coverage), textcoords="offset points",
                    xytext=(5, 7 if i % 2 else -11), fontsize=7)  # fmt: skip
    ax.axhline(threshold, color="red", linewidth=0.8, linestyle="--")
    ax.axvline(0, color="red", linewidth=0.8, linestyle="--")
    ax.set_ylim(floor, 0.96)
    ax.set_xlim(-5, max(10, float(summary["wider_15pct"].max())) * 1.15)
    ax.set_xlabel("cells more than 15 % wider than korn-graubard (where that covers)")
    ax.set_ylabel("lowest coverage over the whole-strata cells")
    ax.set_title("Issue 13's two targets meet in the top left corner (red lines); "
                 "no candidate reaches it", fontsize=9)  # fmt: skip
    if len(hidden):
        names = ", ".join(f"{r.method} ({r.min_coverage:.2f})" for r in hidden.itertuples(False))
        fig.text(0.01, 0.01, f"lowest coverage under {floor}: {names}", fontsize=6.5, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(frame) -> str:
    """A DataFrame as a Markdown table (floats to 4 decimals), without the tabulate package."""

    def cell(value) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]  # fmt: skip
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def _width_comparison(table, chosen: str, reference: str = "korn-graubard") -> list[str]:
    """How the chosen method's mean width compares with R's Korn–Graubard where that covers."""
    ref = table[table["method"] == reference].set_index(["design", "domain"])
    mine = table[table["method"] == chosen].set_index(["design", "domain"])
    covers = ref["coverage"] >= 0.945
    ratio = (mine["mean_width"] / ref["mean_width"])[covers]
    ratio = ratio[np.isfinite(ratio)]
    wide = ratio > 1.15
    multi = ref.loc[ratio.index, "domain_strata"] > 1
    q = ratio.quantile([0.5, 0.9, 0.99]).round(3).tolist()
    overall = mine.loc[ratio.index, "mean_width"].sum() / ref.loc[ratio.index, "mean_width"].sum()
    return [
        f"Where `{reference}` covers at least 94.5 % ({int(covers.sum())} of {len(ref)} cells), "
        f"`{chosen}`'s mean width over `{reference}`'s: median {q[0]}, 90th percentile {q[1]}, "
        f"99th {q[2]}, largest {ratio.max():.3f}; summed over these cells {overall:.3f} of "
        f"`{reference}`'s; within 15 % in {int((~wide).sum())} cells "
        f"({(~wide).mean():.1%}), wider by more than 15 % in {int(wide.sum())} "
        f"({int((wide & multi).sum())} of them domains of several strata; median true rate "
        f"{ref.loc[ratio.index[wide], 'true_proportion'].median():.3f}, where `{reference}` "
        f"itself covered {ref.loc[ratio.index[wide], 'coverage'].median():.3f} at the median). "
        f"Where `{reference}` covers less than 94.5 % ({int((~covers).sum())} cells), "
        f"`{chosen}` covers {mine.loc[~covers, 'coverage'].min():.4f} at the least.",
    ]


def _cuts(table) -> pd.Series:
    """Which rows are domains that cut strata (none in a CSV written before there were any)."""
    if "cuts_strata" not in table:
        return pd.Series(False, index=table.index)
    return table["cuts_strata"].astype(bool)


def cut_summary(table, reference: str = "korn-graubard") -> pd.DataFrame:
    """:func:`summarise_study` over the domains that cut strata alone."""
    return summarise_study(table[_cuts(table)], reference)


TWIN_METHODS = ("korn-graubard", "pooled-hypergeometric", "pooled-all", "pooled-0.5")
"""Methods run on the twins of the cells where the default is too wide."""


def twin_study(table, designs, replications: int, chosen: str, seed: int = 2027):
    """The twins (``twin_designs``) of the cells where ``chosen`` is more than 15 % wider than
    R's Korn–Graubard, run with :data:`TWIN_METHODS`."""
    twins = twin_designs(table, designs, chosen)
    if not twins:
        return None
    methods = list(dict.fromkeys([*TWIN_METHODS, chosen]))
    return run_study(twins, methods=methods, replications=replications, seed=seed)


def _twin_lines(twins, chosen: str) -> list[str]:
    if twins is None:
        return []
    wide = twins.pivot_table(index=["design", "domain"], columns="method", values="coverage")
    rows = []
    for method in wide.columns:
        rows.append({"method": method, "twins": len(wide),
                     "min_coverage": float(wide[method].min()),
                     "median_coverage": float(wide[method].median()),
                     "below_945": int((wide[method] < 0.945).sum())})  # fmt: skip
    return [
        f"Twins of the cells where `{chosen}` is more than 15 % wider than `korn-graubard` "
        "(the domain's stratum with the largest variance term raised to nine times the lowest "
        "other rate, at most 50 %; `twin_designs`): coverage there.",
        "",
        _markdown(pd.DataFrame(rows)),
        "",
    ]


def report(table, replications: int, seconds: float | None = None, twins=None) -> str:
    """The Markdown summary of a study table (docs/interval_study_summary.md)."""
    choice = choose_default(table)
    chosen = choice.method
    cells = table.groupby(["design", "domain"]).ngroups
    whole = table[~_cuts(table)]
    timing = f" Run time {seconds:.0f} s." if seconds is not None else ""
    lines = [
        f"Grid: {table['design'].nunique()} designs, {cells} design × domain cells, "
        f"{replications} replications each (Monte Carlo standard error of a coverage of 0.95: "
        f"{np.sqrt(0.95 * 0.05 / replications):.4f}).{timing}",
        "",
        f"Chosen by the rule: **{chosen}** (every cell at least {choice.threshold:.3f}"
        f"{', relaxed threshold' if choice.relaxed else ''}; over all cells, and only among "
        "the methods with a row in every cell).",
        "",
        f"Domains made of whole strata ({whole['design'].nunique()} designs, "
        f"{whole.groupby(['design', 'domain']).ngroups} cells; every candidate):",
        "",
        _markdown(summarise_study(whole)),
        "",
    ]
    if chosen is not None:
        lowest = table[table["method"] == chosen].nsmallest(5, "coverage")
        columns = ["design", "domain", "domain_strata", "population_size", "sample_size",
                   "true_proportion", "coverage", "mc_se", "below", "above"]  # fmt: skip
        lines += [
            f"The five cells where `{chosen}` covers least:",
            "",
            _markdown(lowest[columns]),
            "",
            *_width_comparison(whole, chosen),
            "",
            *_twin_lines(twins, chosen),
        ]
    if _cuts(table).any():
        cut = table[_cuts(table)]
        lines += [
            f"Domains that cut strata ({cut['design'].nunique()} designs, "
            f"{cut.groupby(['design', 'domain']).ngroups} cells; the study-only candidates, "
            "`beta-binomial` and `pooled-*`, have no rows there; `replications` counts the "
            "samples with a domain member):",
            "",
            _markdown(cut_summary(table)),
            "",
        ]
    issue = table[table["design"].str.startswith("issue")]
    keep = ["korn-graubard", "korn-graubard-conservative", "korn-graubard-deff1", chosen]
    issue = issue[issue["method"].isin(keep)]
    wide = issue.pivot_table(index=["design", "domain"], columns="method",
                             values=["coverage", "mean_width"])  # fmt: skip
    wide.columns = [f"{method} {value}" for value, method in wide.columns]
    lines += [
        "Issue 13's designs (coverage and mean width):",
        "",
        _markdown(wide.reset_index()),
        "",
    ]
    return "\n".join(lines)


def main(
    designs: int = 300,
    replications: int = 20_000,
    out: Path = DOCS,
    from_csv: bool = False,
    cut_designs: int = 60,
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    seconds = None
    if from_csv:
        table = pd.read_csv(out / "interval_study.csv")
        replications = int(table["replications"].iloc[0])
    else:
        start = time.perf_counter()
        grid = study_grid(designs, cut_designs=cut_designs)
        table = run_study(grid, replications=replications, seed=2026)
        seconds = time.perf_counter() - start
        table.to_csv(out / "interval_study.csv", index=False, float_format="%.6g")
    choice = choose_default(table)
    twins = None
    if choice.method is not None:
        # twins are whole-strata designs: of the cells that do not cut strata
        whole = table[~_cuts(table)]
        twins = twin_study(whole, study_grid(designs), replications, choice.method)
        if twins is not None:
            twins.to_csv(out / "interval_twins.csv", index=False, float_format="%.6g")
    _plot(table, out / "interval_coverage.png", choice.threshold)
    whole = summarise_study(table[~_cuts(table)])
    _tradeoff_plot(whole, out / "interval_tradeoff.png", choice.threshold)
    text = report(table, replications, seconds, twins)
    (out / "interval_study_summary.md").write_text(text, encoding="utf-8")
    print(text)
    return {"seconds": seconds, "designs": int(table["design"].nunique()),
            "chosen": choice.method}  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=300)
    parser.add_argument("--replications", type=int, default=20_000)
    parser.add_argument("--cut-designs", type=int, default=60,
                        help="designs whose domains cut strata (c001, ...)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DOCS)
    parser.add_argument(
        "--from-csv", action="store_true", help="summary and plot from OUT/interval_study.csv"
    )
    args = parser.parse_args()
    main(args.designs, args.replications, args.out, args.from_csv, args.cut_designs)
