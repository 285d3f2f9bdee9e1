"""Benchmark: the small-area (Fay–Herriot) model for the 98 kommuner of a national study.

Inputs: ``tests/reference/fay_herriot_national_data.csv`` (the kommune direct estimates, GVF
variances and covariates of a deterministic national demo study; how it is made is in
``tests/reference/fay_herriot_national_data.py``). Timed (a benchmark, not a test; figures
printed, not asserted):

- ``fit_fay_herriot`` REML with the Prasad–Rao MSE, and ML with the Datta–Lahiri MSE (median
  of 20 runs; target < 1 s);
- ``fit_arcsine_fay_herriot`` with the parametric bootstrap, B = 200 (median of 3 runs;
  target < 30 s on 2 cores);
- end to end on the national study itself (``make_report_study`` over all 98 kommuner, 6,000
  reviews; building it is not timed): ``small_area_estimates`` (arcsine, B = 200) and
  ``stikprove estimate --small-area``;
- samplics' ``EblupAreaModel`` (PyPI; the area-level model of svy's predecessor) on the same
  inputs, REML, when it is installed: its time and its largest differences from stikprove's
  EBLUP and MSE. Skipped with the reason when it is missing.

Run: ``.venv/bin/python benchmarks/bench_small_area.py`` or ``benchmarks/run.py small_area``.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the national demo study of the report tests

from stikprove.small_area import fit_arcsine_fay_herriot, fit_fay_herriot  # noqa: E402

INPUTS = HERE.parent / "tests" / "reference" / "fay_herriot_national_data.csv"
COVARIATES = ["share_women", "share_origin_ikke_vestlig", "share_origin_vestlig", "mean_age",
              "mean_years_on_benefit"]  # fmt: skip


def _median_time(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _samplics(data: pd.DataFrame, ours: pd.DataFrame) -> dict:
    try:
        from samplics.sae import EblupAreaModel
        from samplics.utils.types import FitMethod
    except ImportError as error:
        print(f"samplics: skipped ({error})")
        return {}
    model = EblupAreaModel(method=FitMethod.reml)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(yhat=data["direct"].to_numpy(), X=data[COVARIATES].to_numpy(),
                  area=data["kommune_code"].to_numpy(), error_std=np.sqrt(data["variance"]),
                  intercept=True, tol=1e-10)  # fmt: skip
        model.predict(X=data[COVARIATES].to_numpy(), area=data["kommune_code"].to_numpy(),
                      intercept=True)  # fmt: skip
    seconds = time.perf_counter() - start
    eblup = np.array([model.area_est[a] for a in data["kommune_code"]])
    mse = np.array([model.area_mse[a] for a in data["kommune_code"]])
    diff_est = float(np.max(np.abs(eblup - ours["eblup"].to_numpy())))
    diff_mse = float(np.max(np.abs(mse - ours["mse"].to_numpy())))
    print(f"samplics EblupAreaModel REML: {seconds:.3f} s; max |EBLUP diff| {diff_est:.2e}, "
          f"max |MSE diff| {diff_mse:.2e}")  # fmt: skip
    return {"samplics_seconds": seconds, "samplics_max_eblup_diff": diff_est,
            "samplics_max_mse_diff": diff_mse}  # fmt: skip


def _national_study() -> dict:
    from report_fixtures import make_report_study
    from stikprove.cli import main as cli
    from stikprove.estimation import StratifiedSample
    from stikprove.kommuner import kommune_codes
    from stikprove.small_area import small_area_estimates
    from stikprove.store import open_study

    with tempfile.TemporaryDirectory() as folder:
        path, _ = make_report_study(Path(folder), kommuner=tuple(kommune_codes()),
                                    max_reviews=6000)  # fmt: skip
        study = open_study(path)
        start = time.perf_counter()
        sample = StratifiedSample.from_study(study)
        result = small_area_estimates(sample, study.units(), "too_ill", bootstrap=200)
        end_to_end = time.perf_counter() - start
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            status = cli(["estimate", str(path), "--outcome", "too_ill", "--by", "kommune_code",
                          "--small-area"])  # fmt: skip
        command = time.perf_counter() - start
    t = result.table
    direct_rmse = t["direct_se"].where(t["direct_se"] > 0)
    small = t["n"] < 40
    ratio = float((t.loc[small, "rmse"] / direct_rmse[small]).median())
    print(f"national study, {len(t)} kommuner: small_area_estimates (arcsin, B=200) "
          f"{end_to_end:.2f} s; stikprove estimate --small-area {command:.2f} s (status "
          f"{status}); kommuner with n < 40: median rmse / direct se = {ratio:.2f}")
    return {"end_to_end_seconds": end_to_end, "command_seconds": command,
            "median_rmse_ratio_small": ratio}  # fmt: skip


def main() -> dict:
    data = pd.read_csv(INPUTS, dtype={"kommune_code": str})
    figures: dict[str, float] = {}
    for method in ("REML", "ML"):
        seconds = _median_time(lambda m=method: fit_fay_herriot(data, COVARIATES, method=m), 20)
        figures[f"fit_{method}_seconds"] = seconds
        mse = "Prasad–Rao" if method == "REML" else "Datta–Lahiri"
        print(f"fit_fay_herriot {method} with the {mse} MSE, 98 kommuner: {seconds * 1000:.1f} ms "
              "(target < 1 s)")  # fmt: skip
    seconds = _median_time(
        lambda: fit_arcsine_fay_herriot(data, COVARIATES, bootstrap=200, seed=1), 3
    )
    figures["arcsine_bootstrap_200_seconds"] = seconds
    print(f"fit_arcsine_fay_herriot, bootstrap B=200: {seconds:.2f} s (target < 30 s)")
    ours = fit_fay_herriot(data, COVARIATES).estimates()
    figures.update(_samplics(data, ours))
    figures.update(_national_study())
    return figures


if __name__ == "__main__":
    main()
