"""The small-area simulation with the conditional MSE (``small_area_estimates(...,
mse="conditional")``), on the harness of benchmarks/sim_small_area.py: the same population,
replicates and seeds, so its figures compare with docs/small_area_simulation.md's table.

    .venv/bin/python research/sim_conditional_mse.py too_ill 500
    .venv/bin/python research/sim_conditional_mse.py no_effort 400

Prints the headline figures of the direct estimator and of the linear EBLUP (REML, ML, AMRL)
with the conditional MSE; the point estimates are those of the benchmark's ``eblup_*`` fits,
only the intervals differ. It is a check, not a test: it writes nothing.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import sim_small_area as sim

from stikprove.small_area import (
    SmallAreaError,
    ZeroRandomEffectWarning,
    small_area_estimates,
)

FITS = (("eblup_reml_cond", "REML"), ("eblup_ml_cond", "ML"), ("eblup_amrl_cond", "AMRL"))
COLUMNS = ["estimator", "small_rmse_reduction", "coverage", "coverage_small", "coverage_large",
           "lowest_coverage", "lowest_coverage_kommune", "kommuner_under_85"]  # fmt: skip


def conditional_estimators(replicate: sim.Replicate) -> pd.DataFrame:
    """The linear fits of the benchmark (study covariates) with ``mse="conditional"``."""
    sets = getattr(replicate.population.protocol, "small_area_covariates", None)
    options = {} if sets is None else {"covariates": sets}
    parts = []
    for name, method in FITS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ZeroRandomEffectWarning)
                result = small_area_estimates(
                    replicate.sample, replicate.population.study_frame, replicate.outcome,
                    model="linear", method=method, mse="conditional",
                    confidence_level=replicate.confidence_level, **options,
                )  # fmt: skip
        except SmallAreaError:
            continue
        parts.append(sim._rows(name, result.table))
    out = pd.concat(parts, ignore_index=True)
    out.attrs["diagnostics"] = {}
    return out


def main(argv: list[str]) -> pd.DataFrame:
    outcome = argv[0] if argv else sim.OUTCOME
    replicates = int(argv[1]) if len(argv) > 1 else sim.REPLICATES
    start = time.perf_counter()
    population = sim.national_population()
    estimators = {"direct": sim.direct_estimator, "conditional": conditional_estimators}
    results = sim.run_simulation(population, replicates, outcome, estimators, jobs=2)
    top = sim.headline(sim.summarise(population, results, outcome), results)[COLUMNS]
    print(top.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"{replicates} replicates, {time.perf_counter() - start:.0f} s")
    return top


if __name__ == "__main__":
    main(sys.argv[1:])
