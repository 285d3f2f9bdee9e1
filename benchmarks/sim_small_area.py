"""Design-based simulation of the kommune estimates: direct against small-area (issue 20, item 3).

    .venv/bin/python benchmarks/sim_small_area.py                  # the full run, writes docs/
    .venv/bin/python benchmarks/sim_small_area.py --replicates 40  # quicker, writes nothing
    .venv/bin/python benchmarks/sim_small_area.py --from-csv       # page figures from the CSV

The population is the synthetic nation of ``stikprove demo`` (``synthesize_frame(2016)``: all
98 kommuner, about 70,000 cases; the committed ``synthetic_data/`` holds only three kommuner)
and its latent truth, so every kommune's true rate is known. The study population, strata and
sample sizes are those of the national template (``protocols/national-template.toml``: the
health-exempt aktivitetsparate, kommune × sex × origin group, 6,000 reviews allocated
proportionally with at least 3 per stratum).

Each replicate is one national study drawn as :func:`stikprove.sampling.draw` draws it, round
``r`` of the template's seed (:func:`draw_replicate`; the order within each stratum comes from
the same PCG64 stream, so replicate ``r`` is exactly ``draw(protocol, frame, round=r)``'s
sample, which tests/test_sim_small_area.py checks), reviewed by reviewers who see the truth: an
ineligible sampled case is replaced by its stratum's next reserve, as the study store does, so
a stratum's analysis rows are the shortest prefix of its random order holding n_h eligible
cases. The indicators come from the codebook (:meth:`Codebook.derive_indicators` on the truth),
exactly as the store's analysis table derives them.

Per replicate the direct estimates per kommune are
:func:`stikprove.estimation.estimate_proportions` (default method) and each small-area
estimator is fitted on them (:data:`ESTIMATORS`). Per estimator and kommune the run keeps the
bias, RMSE and the coverage of the nominal 95 % interval against the kommune's true rate (the
rate among the population's cases in the indicator's scope with an assessable truth), with the
Monte Carlo error of coverage, and writes

- docs/small_area_simulation.csv: one row per (estimator, kommune), the columns of
  :func:`summarise`;
- docs/small_area_simulation_summary.csv: one row per estimator (:func:`headline`);
- docs/small_area_simulation_fits.csv: one row per model fit (:func:`fit_summary`);
- the two tables of docs/small_area_simulation.md between their markers (:func:`write_tables`);
- tests/fixtures/small_area_head.csv: the table's rows of three kommuner over the first 20
  replicates (:data:`HEAD_KOMMUNER`), which a slow test reproduces.
- docs/small_area_rmse.png and docs/small_area_coverage.png (:func:`plot`).

It is a benchmark, not a test: it prints its figures and never fails on one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.design import design_from_population
from stikprove.estimation import StratifiedSample, estimate_proportions
from stikprove.protocol import Protocol, load_protocol, study_population

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TEMPLATE = ROOT / "protocols" / "national-template.toml"
POPULATION_SEED = 2016
"""The national demo's synthetic frame (``stikprove demo``: ``synth --seed 2016``)."""
REPLICATES = 500
HEAD_REPLICATES = 20
HEAD_KOMMUNER = ("825", "741", "461")
"""Læsø (4 cases in the sample), Samsø (6) and Odense (206): their rows of the table over the
first :data:`HEAD_REPLICATES` replicates are committed as tests/fixtures/small_area_head.csv,
which a slow test reproduces (every replicate is seeded by its number alone, so the first
ones reproducing means the run does)."""
HEAD_FIXTURE = ROOT / "tests" / "fixtures" / "small_area_head.csv"
OUTCOME = "too_ill"
SMALL = 40
"""Kommuner with fewer than this many cases in the sample are the small ones of the target."""
TARGET_RMSE_REDUCTION = 0.30
TARGET_COVERAGE = 0.92
TARGET_LOWEST_COVERAGE = 0.85
STREAM_ORDER = 0
"""The stream :func:`stikprove.sampling.draw` orders the strata with (its docstring)."""


# --------------------------------------------------------------------------------------------
# The population


@dataclass(frozen=True, eq=False)
class Population:
    """The simulation's fixed population and design, built once by :func:`build_population`."""

    protocol: Protocol
    units: pd.DataFrame
    """The study population sorted by case_id (the order :func:`stikprove.sampling.draw`
    sorts it into): case_id, stratum, kommune_code, stratum_code (row of ``strata``),
    eligible (bool: the truth's eligibility at review), and one float column (1/0/NaN) per
    codebook indicator."""
    strata: pd.DataFrame
    """The design's strata in the draw's order: stratum, kommune_code, population_size (N_h),
    sample_size (n_h)."""
    kommuner: pd.DataFrame
    """One row per kommune, sorted by code: kommune_code, sample_size (Σ n_h, the cases the
    sample holds before replacements), population_size (Σ N_h), and per indicator
    ``true_<indicator>`` (its rate among the kommune's cases in scope with an assessable
    truth) and ``in_scope_<indicator>`` (the number of those cases)."""
    study_frame: pd.DataFrame
    """The study population as :func:`stikprove.protocol.study_population` gives it (origin
    collapsed to the template's groups, as a study's ``units()`` hold it, with the worklist
    fields age and years_on_benefit): what ``stikprove estimate --small-area`` takes its
    covariates from."""
    frame: pd.DataFrame
    """The whole frame (also the cases outside the study population)."""
    indicators: tuple[str, ...]


def build_population(
    frame: pd.DataFrame,
    truth: pd.DataFrame,
    protocol: Protocol | None = None,
    *,
    max_reviews: int | None = None,
) -> Population:
    """The population of ``frame`` (with its latent ``truth``, rows matched by case_id) under
    ``protocol`` (default: the national template), optionally with another review budget."""
    protocol = load_protocol(TEMPLATE) if protocol is None else protocol
    if max_reviews is not None:
        protocol = dataclasses.replace(protocol, max_reviews=int(max_reviews))
    if not frame["case_id"].is_unique or set(frame["case_id"]) != set(truth["case_id"]):
        raise ValueError("frame and truth: expected the same unique case ids in both")
    truth = truth.set_index("case_id").loc[frame["case_id"]].reset_index()
    truth.index = frame.index
    values = truth.where(truth.ne(""), None)
    indicators = protocol.codebook.derive_indicators(values, frame["health_exempt"])
    population = study_population(protocol, frame)
    design = design_from_population(protocol, population)
    population = population.sort_values("case_id", kind="stable")
    strata = design.strata.loc[:, ["stratum", "kommune_code", "population_size", "sample_size"]]
    strata = strata.reset_index(drop=True)
    units = pd.DataFrame(
        {
            "case_id": population["case_id"].astype(str).to_numpy(),
            "stratum": population["stratum"].to_numpy(),
            "kommune_code": population["kommune_code"].astype(str).to_numpy(),
            "stratum_code": pd.Index(strata["stratum"]).get_indexer(population["stratum"]),
            "eligible": truth.loc[population.index, "eligible"].eq("ja").to_numpy(),
        }
    )
    names = tuple(indicators.columns)
    for name in names:
        units[name] = indicators.loc[population.index, name].to_numpy()
    per = units.groupby("kommune_code", sort=True)
    kommuner = pd.DataFrame(
        {
            "sample_size": strata.groupby("kommune_code", sort=True)["sample_size"].sum(),
            "population_size": per.size(),
        }
    )
    for name in names:
        kommuner[f"true_{name}"] = per[name].mean()  # NaN (out of scope) left out
        kommuner[f"in_scope_{name}"] = per[name].count()
    kommuner = kommuner.reset_index()
    study_frame = population.reset_index(drop=True)
    return Population(protocol, units, strata, kommuner, study_frame, frame, names)


def national_population(seed: int = POPULATION_SEED, **kwargs) -> Population:
    """:func:`build_population` on the synthetic nation ``synthesize_frame(seed)``."""
    from stikprove.synth import synthesize_frame

    synthetic = synthesize_frame(seed, **kwargs)
    return build_population(synthetic.frame, synthetic.truth)


# --------------------------------------------------------------------------------------------
# One replicate: the draw, the reviews, the direct estimates


def stratum_order(population: Population, replicate: int) -> np.ndarray:
    """Row numbers of ``population.units`` in the draw's order: by stratum, and within a
    stratum in the random order of :func:`stikprove.sampling.draw`'s round ``replicate``
    (independent coordination): PCG64 seeded by ``SeedSequence(seed, spawn_key=(0, round))``,
    its raw 64-bit outputs as sort keys, ties by position."""
    size = len(population.units)
    bits = np.random.PCG64(
        np.random.SeedSequence(int(population.protocol.seed), spawn_key=(STREAM_ORDER, replicate))
    )
    key = bits.random_raw(size)
    code = population.units["stratum_code"].to_numpy()
    return np.lexsort((np.arange(size), key, code))


def draw_replicate(population: Population, replicate: int) -> pd.DataFrame:
    """The analysis table of one simulated national study (replicate = the draw's round, >= 1).

    Rows: in each stratum the first n_h cases of the random order (the sample) and, for every
    ineligible one among them, the next reserve in turn (so the shortest prefix holding n_h
    eligible cases, or the whole stratum). Columns: case_id, stratum, kommune_code,
    population_size, sample_size, draw_order, role ("sample" | "reserve"), and the indicators
    (NaN for an ineligible or not assessable case, as the store's analysis table has them).
    """
    order = stratum_order(population, replicate)
    units = population.units
    code = units["stratum_code"].to_numpy()[order]
    eligible = units["eligible"].to_numpy()[order]
    sizes = population.strata["population_size"].to_numpy()
    n_h = population.strata["sample_size"].to_numpy()
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    draw_order = np.arange(len(order)) - starts[code] + 1
    cumulative = np.cumsum(eligible)
    before_stratum = np.concatenate([[0], cumulative])[starts][code]
    eligible_before = cumulative - eligible - before_stratum
    keep = eligible_before < n_h[code]
    rows = order[keep]
    table = units.iloc[rows].drop(columns=["stratum_code", "eligible"]).reset_index(drop=True)
    table.insert(3, "population_size", sizes[code[keep]])
    table.insert(4, "sample_size", n_h[code[keep]])
    table.insert(5, "draw_order", draw_order[keep])
    table.insert(6, "role", np.where(draw_order[keep] <= n_h[code[keep]], "sample", "reserve"))
    return table


def direct_estimates(table: pd.DataFrame, outcome: str, confidence_level: float = 0.95):
    """Per kommune: :func:`stikprove.estimation.estimate_proportions` with its default method
    (the columns it documents; kommuner without an assessable case have no row)."""
    return estimate_proportions(table, outcome, "stratum", "population_size",
                                by="kommune_code", confidence_level=confidence_level)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Estimators


@dataclass(frozen=True)
class Replicate:
    """What an estimator sees of one replicate."""

    number: int
    outcome: str
    table: pd.DataFrame
    """The analysis table (:func:`draw_replicate`)."""
    direct: pd.DataFrame
    """The direct estimates per kommune (``sample.estimate(outcome, by="kommune_code")``: the
    table of :func:`direct_estimates`)."""
    population: Population
    sample: StratifiedSample
    """The design object on ``table`` (strata ``stratum``, N_h ``population_size``)."""
    confidence_level: float = 0.95


ESTIMATE_COLUMNS = ("estimator", "kommune_code", "estimate", "ci_low", "ci_high")
"""What an estimator returns: one row per (estimator, kommune) it estimates; a kommune left
out (or with NaN) has no estimate in that replicate."""

Estimator = Callable[[Replicate], pd.DataFrame]


def direct_estimator(replicate: Replicate) -> pd.DataFrame:
    """The direct estimate and its interval (the default method of estimate_proportions)."""
    out = replicate.direct.loc[:, ["kommune_code", "estimate", "ci_low", "ci_high"]].copy()
    out.insert(0, "estimator", "direct")
    return out


COVARIATE_SOURCES = ("study", "register")
"""Whose cases the covariates are aggregated over: ``study``, the study population (what
``estimate --small-area`` uses: the study's units; the health-exempt share is constant there
and dropped); ``register``, every aktivitetsparat case of the frame, exempt or not, origin
uncollapsed (so the kommune's share of health-exempt cases is a covariate)."""


def covariate_cases(population: Population, source: str = "study") -> pd.DataFrame:
    """The cases the covariates are aggregated over (:data:`COVARIATE_SOURCES`)."""
    if source == "study":
        return population.study_frame
    if source == "register":
        frame = population.frame
        codes = set(population.kommuner["kommune_code"])
        return frame[(frame["category"] == "aktivitetsparat")
                     & frame["kommune_code"].astype(str).isin(codes)]  # fmt: skip
    raise ValueError(f"source {source!r}: expected one of {COVARIATE_SOURCES}")


_COVARIATES: dict[tuple[int, str], pd.DataFrame] = {}

BOOTSTRAP = 200
"""B of the arcsine model's parametric bootstrap (the package's default, emdi's advice)."""

MODEL_FITS = (
    ("eblup_reml", "linear", "REML", "study"),
    ("eblup_ml", "linear", "ML", "study"),
    ("eblup_amrl", "linear", "AMRL", "study"),
    ("eblup_reml_register", "linear", "REML", "register"),
    ("arcsine_reml", "arcsin", "REML", "study"),
    ("arcsine_amrl", "arcsin", "AMRL", "study"),
)
"""The model fits of :func:`small_area_estimators`: estimator name, model, method, covariates."""


def _rows(name: str, table: pd.DataFrame, estimate: str = "estimate") -> pd.DataFrame:
    return pd.DataFrame({"estimator": name, "kommune_code": table["kommune_code"].astype(str),
                         "estimate": table[estimate].to_numpy(dtype=float),
                         "ci_low": table["ci_low"].to_numpy(dtype=float),
                         "ci_high": table["ci_high"].to_numpy(dtype=float)})  # fmt: skip


def small_area_estimators(replicate: Replicate, fits=MODEL_FITS) -> pd.DataFrame:
    """The model-based estimates of ``stikprove.small_area.small_area_estimates`` (what
    ``stikprove estimate --small-area`` computes) on the replicate's design object, with the
    protocol's covariate sets and the package's defaults (GVF-smoothed variances, no
    benchmarking), one call per fit of ``fits`` (:data:`MODEL_FITS`):

    - ``eblup_reml``: the linear Fay–Herriot EBLUP, σ²_u by REML, interval EBLUP ± z·√MSE
      (clipped to [0, 1]) with MSE by Prasad–Rao;
    - ``eblup_ml``: the same with σ²_u by ML and MSE by Datta–Lahiri;
    - ``eblup_amrl``: the same with σ²_u by the adjusted REML of Li & Lahiri (never 0) and
      the Prasad–Rao formula;
    - ``eblup_reml_register``: as ``eblup_reml`` with covariates over the register
      (:data:`COVARIATE_SOURCES`; a sensitivity check);
    - ``arcsine_reml``: the arcsine model (the package's default), back-transformed, MSE and
      interval by the parametric bootstrap, B = :data:`BOOTSTRAP`, seeded by the replicate's
      number; ``arcsine_amrl``: the same with σ²_u by AMRL;
    - ``synthetic`` (with ``eblup_reml``): that fit's synthetic estimate x_d'β̂ with the
      interval from the MSE the model gives a kommune without a sample,
      σ̂²_u + x_d'(X'V̂⁻¹X)⁻¹x_d (the fit's ``sigma2_u`` and ``beta_cov``; not clipped): how
      the estimate of an unsampled kommune does.

    A fit that raises ``SmallAreaError`` (e.g. Fisher scoring not converging) gives no
    estimate in that replicate: a user would get the error. ``.attrs["diagnostics"]``: per fit
    σ̂²_u, whether it is 0, whether the fit failed (and the bootstrap's failed refits).
    """
    import warnings

    from scipy import stats

    from stikprove.small_area import (
        SmallAreaError,
        ZeroRandomEffectWarning,
        area_covariates,
        small_area_estimates,
    )

    population = replicate.population
    sets = getattr(population.protocol, "small_area_covariates", None)
    options = {} if sets is None else {"covariates": sets}
    z = float(stats.norm.ppf(0.5 + replicate.confidence_level / 2))
    parts, diagnostics = [], {}
    for name, model, method, source in fits:
        cases = covariate_cases(population, source)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ZeroRandomEffectWarning)
                result = small_area_estimates(
                    replicate.sample, cases, replicate.outcome, model=model, method=method,
                    bootstrap=BOOTSTRAP, seed=replicate.number,
                    confidence_level=replicate.confidence_level, **options,
                )  # fmt: skip
        except SmallAreaError:
            diagnostics[f"{name}_failed"] = 1.0
            continue
        diagnostics[f"{name}_failed"] = 0.0
        diagnostics[f"{name}_sigma2_u"] = result.fit.sigma2_u
        diagnostics[f"{name}_sigma2_u_zero"] = float(result.fit.sigma2_u == 0)
        if model == "arcsin":
            diagnostics[f"{name}_failed_refits"] = float(result.fit.failed_refits)
        parts.append(_rows(name, result.table))
        if name == "eblup_reml":
            fit = result.fit
            key = (id(population), source)
            if key not in _COVARIATES:  # the same aggregation as the fit's, done once
                _COVARIATES[key] = area_covariates(cases, **options)
            covariates = _COVARIATES[key]
            x = covariates.set_index("kommune_code").loc[result.table["kommune_code"]]
            x = np.column_stack([np.ones(len(x)), x[list(result.covariates)].to_numpy(float)])
            mse = fit.sigma2_u + np.einsum("ij,jk,ik->i", x, fit.beta_cov, x)
            synthetic = fit.estimates()["synthetic"].to_numpy()
            half = z * np.sqrt(mse)
            parts.append(pd.DataFrame({
                "estimator": "synthetic", "kommune_code": result.table["kommune_code"],
                "estimate": synthetic, "ci_low": synthetic - half, "ci_high": synthetic + half,
            }))  # fmt: skip
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ESTIMATE_COLUMNS)
    out.attrs["diagnostics"] = diagnostics
    return out


def linear_estimators(replicate: Replicate) -> pd.DataFrame:
    """:func:`small_area_estimators` with the linear fits only (no bootstrap)."""
    return small_area_estimators(replicate, [f for f in MODEL_FITS if f[1] == "linear"])


def arcsine_estimators(replicate: Replicate) -> pd.DataFrame:
    """:func:`small_area_estimators` with the arcsine fit only."""
    return small_area_estimators(replicate, [f for f in MODEL_FITS if f[1] == "arcsin"])


ESTIMATORS: dict[str, Estimator] = {
    "direct": direct_estimator,
    "linear": linear_estimators,
    "arcsine": arcsine_estimators,
}
"""The estimators of the full run, by family name (a family may return several estimators)."""


# --------------------------------------------------------------------------------------------
# The run and its bookkeeping


@dataclass(frozen=True)
class Results:
    """Every replicate's estimates: ``estimate``, ``low``, ``high`` are arrays of shape
    (estimators, replicates, kommuner), NaN where an estimator gave no estimate."""

    estimators: tuple[str, ...]
    replicates: tuple[int, ...]
    kommuner: tuple[str, ...]
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    """Assessable cases per (replicate, kommune) in the analysis table."""
    seconds: dict[str, float]
    """Time spent per estimator family (and ``draw`` and ``direct``), summed over workers."""
    diagnostics: pd.DataFrame
    """One row per replicate: ``replicate`` and what the families report in their output's
    ``.attrs["diagnostics"]`` (e.g. σ̂²_u)."""


def head(results: Results, replicates: int) -> Results:
    """The same results restricted to the first ``replicates`` replicates."""
    k = slice(0, replicates)
    diagnostics = results.diagnostics.iloc[k].reset_index(drop=True)
    return dataclasses.replace(
        results, replicates=results.replicates[k], estimate=results.estimate[:, k],
        low=results.low[:, k], high=results.high[:, k], n=results.n[k], diagnostics=diagnostics,
    )  # fmt: skip


def _one(population: Population, replicate: int, outcome: str,
         estimators: dict[str, Estimator]) -> tuple[pd.DataFrame, pd.Series, dict]:  # fmt: skip
    clock = {}
    start = time.perf_counter()
    table = draw_replicate(population, replicate)
    clock["draw"] = time.perf_counter() - start
    start = time.perf_counter()
    sample = StratifiedSample(table, "stratum", "population_size")
    direct = sample.estimate(outcome, by="kommune_code")
    clock["direct"] = time.perf_counter() - start
    seen = Replicate(replicate, outcome, table, direct, population, sample)
    parts = []
    diagnostics = {"replicate": replicate}
    for name, estimator in estimators.items():
        start = time.perf_counter()
        out = estimator(seen)
        diagnostics.update(out.attrs.get("diagnostics", {}))
        parts.append(out.loc[:, list(ESTIMATE_COLUMNS)])
        clock[name] = clock.get(name, 0.0) + time.perf_counter() - start
    n = direct.set_index("kommune_code")["n"]
    return pd.concat(parts, ignore_index=True), n, clock, diagnostics


_WORKER: dict = {}


def _chunk(replicates: Sequence[int]) -> list:
    population, outcome, estimators = _WORKER["args"]
    return [_one(population, r, outcome, estimators) for r in replicates]


def run_simulation(
    population: Population,
    replicates: Sequence[int] | int,
    outcome: str = OUTCOME,
    estimators: dict[str, Estimator] | None = None,
    jobs: int = 1,
) -> Results:
    """Draw each replicate (an int R means rounds 1..R), estimate, and collect the arrays.

    ``jobs`` > 1 spreads the replicates over that many forked processes (the result does not
    depend on it: each replicate's randomness comes from its number alone).
    """
    estimators = dict(ESTIMATORS if estimators is None else estimators)
    if outcome not in population.indicators:
        raise ValueError(f"outcome {outcome!r}: expected one of {population.indicators}")
    numbers = tuple(range(1, replicates + 1)) if isinstance(replicates, int) else tuple(replicates)
    if not numbers or min(numbers) < 1:
        raise ValueError(f"replicates: expected round numbers >= 1, got {numbers[:5]}")
    _WORKER["args"] = (population, outcome, estimators)
    if jobs > 1:
        import multiprocessing

        chunks = [numbers[i::jobs] for i in range(jobs)]
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            done = list(pool.map(_chunk, chunks))
        by_number = {r: out for chunk, outs in zip(chunks, done, strict=True)
                     for r, out in zip(chunk, outs, strict=True)}  # fmt: skip
        outputs = [by_number[r] for r in numbers]
    else:
        outputs = _chunk(numbers)
    kommuner = tuple(population.kommuner["kommune_code"])
    seen = dict.fromkeys(name for out in outputs for name in out[0]["estimator"])
    order = ["direct", *(f[0] for f in MODEL_FITS)]
    order.insert(order.index("eblup_reml") + 1, "synthetic")
    names = tuple(sorted(seen, key=lambda n: (order.index(n) if n in order else len(order), n)))
    shape = (len(names), len(numbers), len(kommuner))
    arrays = {key: np.full(shape, np.nan) for key in ("estimate", "ci_low", "ci_high")}
    n = np.zeros(shape[1:])
    column = pd.Index(kommuner)
    row = pd.Index(names)
    seconds: dict[str, float] = {}
    for i, (estimates, counts, clock, _) in enumerate(outputs):
        e = row.get_indexer(estimates["estimator"])
        k = column.get_indexer(estimates["kommune_code"].astype(str))
        if (k < 0).any():
            raise ValueError("an estimator returned a kommune outside the population")
        for key, array in arrays.items():
            array[e, i, k] = estimates[key].to_numpy(dtype=float)
        n[i, column.get_indexer(counts.index.astype(str))] = counts.to_numpy()
        for name, value in clock.items():
            seconds[name] = seconds.get(name, 0.0) + value
    diagnostics = pd.DataFrame([out[3] for out in outputs])
    return Results(names, numbers, kommuner, arrays["estimate"], arrays["ci_low"],
                   arrays["ci_high"], n, seconds, diagnostics)  # fmt: skip


SUMMARY_COLUMNS = (
    "outcome", "estimator", "kommune_code", "sample_size", "mean_n", "true_rate",
    "replicates", "estimated", "mean_estimate", "bias", "rmse", "rmse_ratio", "coverage",
    "coverage_mc_se", "mean_width",
)  # fmt: skip
"""The columns of :func:`summarise` (docs/small_area_simulation.csv):

- outcome, estimator, kommune_code;
- sample_size: the kommune's cases in the sample (Σ n_h, before replacements);
- mean_n: mean number of assessable cases in the analysis table;
- true_rate: the kommune's rate in the population (cases in scope with an assessable truth);
- replicates: replicates run; estimated: those in which the estimator gave an estimate (bias,
  RMSE and coverage are over these);
- mean_estimate, bias (mean_estimate - true_rate), rmse (root mean squared error);
- rmse_ratio: rmse / the direct estimator's rmse for the kommune;
- coverage: share of replicates whose interval [ci_low, ci_high] holds true_rate;
  coverage_mc_se: its Monte Carlo standard error sqrt(c (1 - c) / estimated);
- mean_width: mean of ci_high - ci_low.
"""


def summarise(population: Population, results: Results, outcome: str = OUTCOME) -> pd.DataFrame:
    """One row per (estimator, kommune) with the columns of :data:`SUMMARY_COLUMNS`."""
    kommuner = population.kommuner.set_index("kommune_code").loc[list(results.kommuner)]
    truth = kommuner[f"true_{outcome}"].to_numpy()
    rows = []
    rmse_direct = None
    for e, name in enumerate(results.estimators):
        estimate = results.estimate[e]
        seen = np.isfinite(estimate)
        count = seen.sum(axis=0)
        error = np.where(seen, estimate - truth, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nanmean(np.where(seen, estimate, np.nan), axis=0) if seen.any() else truth
            rmse = np.sqrt(np.nansum(error**2, axis=0) / count)
            covered = (results.low[e] <= truth) & (truth <= results.high[e])
            coverage = np.where(seen, covered, False).sum(axis=0) / count
            width = np.nansum(np.where(seen, results.high[e] - results.low[e], 0), axis=0) / count
        if name == "direct":
            rmse_direct = rmse
        rows.append(
            pd.DataFrame(
                {
                    "outcome": outcome,
                    "estimator": name,
                    "kommune_code": list(results.kommuner),
                    "sample_size": kommuner["sample_size"].to_numpy(),
                    "mean_n": results.n.mean(axis=0),
                    "true_rate": truth,
                    "replicates": len(results.replicates),
                    "estimated": count,
                    "mean_estimate": mean,
                    "bias": mean - truth,
                    "rmse": rmse,
                    "coverage": coverage,
                    "coverage_mc_se": np.sqrt(coverage * (1 - coverage) / count),
                    "mean_width": width,
                }
            )
        )
    table = pd.concat(rows, ignore_index=True)
    if rmse_direct is None:
        table["rmse_ratio"] = np.nan
    else:
        direct = pd.Series(rmse_direct, index=list(results.kommuner))
        with np.errstate(invalid="ignore", divide="ignore"):
            table["rmse_ratio"] = table["rmse"] / direct.loc[table["kommune_code"]].to_numpy()
    return table.loc[:, list(SUMMARY_COLUMNS)]


HEADLINE_COLUMNS = (
    "outcome", "estimator", "replicates", "kommuner", "small_kommuner",
    "small_rmse_reduction", "small_rmse_reduction_pooled", "small_rmse_worse", "coverage",
    "coverage_mc_se", "coverage_small", "coverage_large", "lowest_coverage",
    "lowest_coverage_kommune", "kommuner_under_85", "rmse_target_met", "coverage_target_met",
    "lowest_coverage_target_met",
)  # fmt: skip
"""The columns of :func:`headline` (docs/small_area_simulation_summary.csv):

- kommuner: kommuner with an estimate in at least one replicate; small_kommuner: those with
  sample_size < 40;
- small_rmse_reduction: 1 - mean over the small kommuner of rmse_ratio (the target: >= 0.30;
  a kommune sampled whole, whose direct RMSE is 0, is left out of this mean);
  small_rmse_reduction_pooled: 1 - (mean rmse) / (mean direct rmse) over the same kommuner;
  small_rmse_worse: small kommuner whose rmse is above the direct estimator's;
- coverage: over all (replicate, kommune) estimates; coverage_mc_se: its Monte Carlo standard
  error from the spread of the replicates' own coverage (kommuner within a replicate are not
  independent); coverage_small, coverage_large: the same over the kommuner with fewer than 40
  and with at least 40 cases in the sample;
- lowest_coverage and its kommune; kommuner_under_85: kommuner whose coverage is below 0.85;
- the three targets, met or not (True/False).
"""


def headline(summary: pd.DataFrame, results: Results) -> pd.DataFrame:
    """One row per estimator: the figures the targets are stated in (:data:`HEADLINE_COLUMNS`)."""
    rows = []
    for e, name in enumerate(results.estimators):
        part = summary[summary["estimator"] == name]
        part = part[part["estimated"] > 0]
        small = part[part["sample_size"] < SMALL]
        direct = summary[(summary["estimator"] == "direct")
                         & summary["kommune_code"].isin(small["kommune_code"])]  # fmt: skip
        truth = part.set_index("kommune_code")["true_rate"]
        k = pd.Index(results.kommuner).get_indexer(truth.index)
        estimate = results.estimate[e][:, k]
        seen = np.isfinite(estimate)
        covered = (results.low[e][:, k] <= truth.to_numpy()) & (
            truth.to_numpy() <= results.high[e][:, k]
        )
        is_small = (part["sample_size"] < SMALL).to_numpy()
        by_size = [
            (covered & seen)[:, mask].sum() / max(seen[:, mask].sum(), 1)
            for mask in (is_small, ~is_small)
        ]
        hits, counts = (covered & seen).sum(axis=1), seen.sum(axis=1)
        use = counts > 0
        per_replicate = hits[use] / counts[use]
        coverage = hits.sum() / counts.sum()
        mc_se = per_replicate.std(ddof=1) / np.sqrt(use.sum()) if use.sum() > 1 else np.nan
        lowest = part.loc[part["coverage"].idxmin()]
        varies = direct.set_index("kommune_code")["rmse"].gt(0)
        ratios = small.loc[small["kommune_code"].map(varies).fillna(False).astype(bool)]
        reduction = 1 - ratios["rmse_ratio"].mean()
        pooled = 1 - small["rmse"].mean() / direct["rmse"].mean() if len(direct) else np.nan
        rows.append(
            {
                "outcome": part["outcome"].iloc[0],
                "estimator": name,
                "replicates": len(results.replicates),
                "kommuner": len(part),
                "small_kommuner": len(small),
                "small_rmse_reduction": reduction,
                "small_rmse_reduction_pooled": pooled,
                "small_rmse_worse": int((ratios["rmse_ratio"] > 1).sum()),
                "coverage": coverage,
                "coverage_mc_se": mc_se,
                "coverage_small": by_size[0],
                "coverage_large": by_size[1],
                "lowest_coverage": lowest["coverage"],
                "lowest_coverage_kommune": lowest["kommune_code"],
                "kommuner_under_85": int((part["coverage"] < TARGET_LOWEST_COVERAGE).sum()),
                "rmse_target_met": bool(reduction >= TARGET_RMSE_REDUCTION),
                "coverage_target_met": bool(coverage >= TARGET_COVERAGE),
                "lowest_coverage_target_met": bool(lowest["coverage"] >= TARGET_LOWEST_COVERAGE),
            }
        )
    return pd.DataFrame(rows, columns=list(HEADLINE_COLUMNS))


# --------------------------------------------------------------------------------------------
# Figures and the command line


def plot(summary: pd.DataFrame, rmse_path: Path, coverage_path: Path) -> None:
    """RMSE against the kommune's sample size (each estimator beside the direct one), and
    coverage per kommune (kommuner in order of sample size), one PNG each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(summary["estimator"]))
    fig, ax = plt.subplots(figsize=(8, 5))
    for name in names:
        part = summary[summary["estimator"] == name].sort_values("sample_size")
        style = {"color": "black", "marker": "o"} if name == "direct" else {"marker": "."}
        ax.plot(part["sample_size"], part["rmse"], linestyle="none", alpha=0.8, label=name,
                **style)  # fmt: skip
    ax.axvline(SMALL, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("cases in the kommune's sample (log scale)")
    ax.set_ylabel("RMSE of the kommune's rate")
    ax.set_title("RMSE by kommune: direct and small-area estimators")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(rmse_path, dpi=110)
    plt.close(fig)

    fig, (ax, right) = plt.subplots(1, 2, figsize=(13, 5), width_ratios=(3, 2), sharey=True)
    order = (summary[summary["estimator"] == names[0]].sort_values(["sample_size", "kommune_code"])
             ["kommune_code"].tolist())  # fmt: skip
    position = {code: i for i, code in enumerate(order)}
    for name in names:
        part = summary[summary["estimator"] == name]
        x = part["kommune_code"].map(position)
        style = {"color": "black", "marker": "o"} if name == "direct" else {"marker": "."}
        ax.plot(x, part["coverage"], linestyle="none", alpha=0.8, label=name, **style)
    ax.axhline(0.95, color="grey", linewidth=1)
    ax.axhline(TARGET_COVERAGE, color="tab:green", linestyle="--", linewidth=1)
    ax.axhline(TARGET_LOWEST_COVERAGE, color="tab:red", linestyle="--", linewidth=1)
    ax.set_xlabel("kommune, in order of sample size (smallest left)")
    ax.set_ylabel("coverage of the nominal 95 % interval")
    ax.set_title("Coverage by kommune (dashed: the 92 % and 85 % targets)", fontsize=10)
    ax.set_ylim(max(0.0, float(summary["coverage"].min()) - 0.05), 1.005)
    ax.legend(fontsize=8, loc="lower right")
    for name in names:
        part = summary[summary["estimator"] == name]
        style = {"color": "black", "marker": "o"} if name == "direct" else {"marker": "."}
        share = (part["bias"].abs() / part["rmse"]).clip(upper=1.0)
        right.plot(share, part["coverage"], linestyle="none", alpha=0.8, label=name, **style)
    right.axhline(TARGET_LOWEST_COVERAGE, color="tab:red", linestyle="--", linewidth=1)
    right.set_xlabel("|bias| / RMSE of the kommune's estimate")
    right.set_title("Coverage against the bias's share of the error", fontsize=10)
    fig.tight_layout()
    fig.savefig(coverage_path, dpi=110)
    plt.close(fig)


PAGE = DOCS / "small_area_simulation.md"
HEADLINE_START = "<!-- headline table: written by benchmarks/sim_small_area.py -->"
HEADLINE_END = "<!-- end of headline table -->"


def _percent(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{100 * value:.1f} %"


def headline_markdown(top: pd.DataFrame) -> str:
    """The headline table of docs/small_area_simulation.md from the summary CSV's rows."""
    lines = [
        "| estimator | RMSE reduction, kommuner < 40 cases (mean of ratios; pooled) "
        "| of them worse than direct | coverage (MC s.e.) | coverage < 40 cases; ≥ 40 "
        "| lowest kommune | kommuner < 85 % | targets met |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in top.itertuples():
        met = [
            ("RMSE", row.rmse_target_met),
            ("coverage", row.coverage_target_met),
            ("lowest", row.lowest_coverage_target_met),
        ]
        verdict = ", ".join(f"{name} {'yes' if ok else 'no'}" for name, ok in met)
        reduction = f"{_percent(row.small_rmse_reduction)}; "
        reduction += _percent(row.small_rmse_reduction_pooled)
        if row.estimator == "direct":
            reduction = "(reference)"
        lines.append(
            f"| {row.estimator} | {reduction} | {row.small_rmse_worse} | {_percent(row.coverage)} "
            f"({100 * row.coverage_mc_se:.2f}) | {_percent(row.coverage_small)}; "
            f"{_percent(row.coverage_large)} | {_percent(row.lowest_coverage)} "
            f"({row.lowest_coverage_kommune}) | {row.kommuner_under_85} | {verdict} |"
        )
    return "\n".join(lines)


def write_tables(top: pd.DataFrame, fits: pd.DataFrame, page: Path = PAGE) -> None:
    """Replace the page's headline and model fits tables (each between its two markers) by
    :func:`headline_markdown` and :func:`fits_markdown`."""
    text = page.read_text(encoding="utf-8")
    text = _replace_block(text, HEADLINE_START, HEADLINE_END, headline_markdown(top))
    text = _replace_block(text, FITS_START, FITS_END, fits_markdown(fits))
    page.write_text(text, encoding="utf-8")


FITS_START = "<!-- model fits table: written by benchmarks/sim_small_area.py -->"
FITS_END = "<!-- end of model fits table -->"


def fit_summary(results: Results) -> pd.DataFrame:
    """One row per model fit that reports diagnostics: ``fit``, ``replicates``, ``failed``
    (share of replicates whose fit raised), ``sigma2_u_mean`` and ``sigma2_u_median`` (over
    the fits that succeeded), ``sigma2_u_zero`` (share of those with σ̂²_u = 0)."""
    d = results.diagnostics
    fits = [c.removesuffix("_failed") for c in d.columns if c.endswith("_failed")]
    rows = []
    for fit in fits:
        sigma = d.get(f"{fit}_sigma2_u", pd.Series(dtype=float)).dropna()
        rows.append({
            "fit": fit, "replicates": len(d), "failed": float(d[f"{fit}_failed"].mean()),
            "sigma2_u_mean": float(sigma.mean()), "sigma2_u_median": float(sigma.median()),
            "sigma2_u_zero": float((sigma == 0).mean()),
        })  # fmt: skip
    columns = ["fit", "replicates", "failed", "sigma2_u_mean", "sigma2_u_median", "sigma2_u_zero"]
    return pd.DataFrame(rows, columns=columns)


def fits_markdown(fits: pd.DataFrame) -> str:
    """The model fits table of docs/small_area_simulation.md from its CSV's rows."""
    lines = [
        "| fit | replicates | fit failed | mean σ̂²_u | median σ̂²_u | σ̂²_u = 0 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in fits.itertuples():
        lines.append(
            f"| {row.fit} | {row.replicates} | {_percent(row.failed)} | {row.sigma2_u_mean:.5f} "
            f"| {row.sigma2_u_median:.5f} | {_percent(row.sigma2_u_zero)} |"
        )
    return "\n".join(lines)


def outcome_markers(outcome: str) -> tuple[str, str]:
    """The markers of the page's headline table for another outcome than :data:`OUTCOME`
    (written by ``--outcome OUTCOME --write``: its summary CSV and that table only)."""
    return (HEADLINE_START.replace("headline table", f"headline table ({outcome})"),
            HEADLINE_END.replace("headline table", f"headline table ({outcome})"))  # fmt: skip


def _replace_block(text: str, start: str, end: str, block: str) -> str:
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{block}\n{end}{after}"


def main(argv: list[str] | None = None) -> dict:
    """Run the simulation, print the headline table, write docs/ on a full run; return the
    headline figures (``benchmarks/run.py`` prints them)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=REPLICATES)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--outcome", default=OUTCOME)
    parser.add_argument("--write", action="store_true",
                        help="write docs/ also when not the full run")  # fmt: skip
    parser.add_argument("--from-csv", action="store_true",
                        help="only redraw the figures from the docs/ CSV")  # fmt: skip
    args = parser.parse_args([] if argv is None else argv)
    csv = DOCS / "small_area_simulation.csv"
    if args.from_csv:
        plot(pd.read_csv(csv, dtype={"kommune_code": str}), DOCS / "small_area_rmse.png",
             DOCS / "small_area_coverage.png")  # fmt: skip
        return {}
    start = time.perf_counter()
    population = national_population()
    built = time.perf_counter() - start
    results = run_simulation(population, args.replicates, args.outcome, jobs=args.jobs)
    summary = summarise(population, results, args.outcome)
    top = headline(summary, results)
    wall = time.perf_counter() - start
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(top.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"population built in {built:.1f} s; {len(results.replicates)} replicates, "
          f"{args.jobs} jobs: {wall:.1f} s wall")  # fmt: skip
    if len(results.diagnostics.columns) > 1:
        print("diagnostics, mean over replicates: " + ", ".join(
            f"{k} {v:.4g}" for k, v in results.diagnostics.drop(columns="replicate").mean().items()
        ))  # fmt: skip
    print("seconds per family (summed over workers): "
          + ", ".join(f"{k} {v:.1f}" for k, v in results.seconds.items()))  # fmt: skip
    if args.outcome != OUTCOME and args.write:
        other = DOCS / f"small_area_simulation_summary_{args.outcome}.csv"
        top.to_csv(other, index=False, float_format="%.6g", lineterminator="\n")
        text = PAGE.read_text(encoding="utf-8")
        start, end = outcome_markers(args.outcome)
        PAGE.write_text(_replace_block(text, start, end, headline_markdown(top)), encoding="utf-8")
        print(f"wrote {other} and its table in {PAGE.name}")
    elif args.write or args.replicates == REPLICATES:
        summary.to_csv(csv, index=False, float_format="%.6g", lineterminator="\n")
        top.to_csv(DOCS / "small_area_simulation_summary.csv", index=False,
                   float_format="%.6g", lineterminator="\n")  # fmt: skip
        plot(summary, DOCS / "small_area_rmse.png", DOCS / "small_area_coverage.png")
        fits = fit_summary(results)
        fits.to_csv(DOCS / "small_area_simulation_fits.csv", index=False, float_format="%.6g",
                    lineterminator="\n")  # fmt: skip
        write_tables(top, fits)
        few = summarise(population, head(results, HEAD_REPLICATES), args.outcome)
        few = few[few["kommune_code"].isin(HEAD_KOMMUNER)]
        few.to_csv(HEAD_FIXTURE, index=False, float_format="%.10g", lineterminator="\n")
        print(f"wrote {csv} and the summary and figures beside it")
    figures: dict[str, object] = {"wall_seconds": wall, "replicates": len(results.replicates)}
    for row in top.itertuples():
        figures[row.estimator] = {
            "small_rmse_reduction": row.small_rmse_reduction,
            "coverage": row.coverage,
            "lowest_coverage": row.lowest_coverage,
        }
    return figures


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
