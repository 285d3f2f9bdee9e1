"""Benchmarking: kommune estimates that add up (population-weighted) to the national one.

With population shares w_d = N_d/Σ N (every kommune, with or without a sample) and the
national direct estimate p̂, the benchmarked estimates satisfy Σ w_d θ̃_d = p̂:

- ``"ratio"``: θ̃_d = θ̂_d · p̂/Σ w_d θ̂_d (keeps a zero at zero; can exceed 1 in principle,
  refused when it does);
- ``"difference"``: θ̃_d = θ̂_d + (p̂ - Σ w_d θ̂_d) (the same shift for every kommune;
  refused when an estimate leaves [0, 1]).

The MSEs are not changed: the adjustment is of the order of the national estimate's error,
small beside a kommune's MSE (Rao & Molina 2015, section 6.3.2; the benchmarked estimator's
extra MSE term is left out, as sae and emdi leave it out).
"""

from __future__ import annotations

import numpy as np

from stikprove.small_area.model import SmallAreaError

__all__ = ["BENCHMARK_METHODS", "benchmark"]

BENCHMARK_METHODS = ("ratio", "difference")


def benchmark(estimates: np.ndarray, population_size: np.ndarray, target: float,
              method: str = "ratio") -> np.ndarray:  # fmt: skip
    """The benchmarked estimates (module docstring): population-weighted sum = ``target``."""
    if method not in BENCHMARK_METHODS:
        raise SmallAreaError(
            f"benchmark {method!r}: expected one of {', '.join(BENCHMARK_METHODS)}"
        )
    est = np.asarray(estimates, dtype=float)
    size = np.asarray(population_size, dtype=float)
    if est.shape != size.shape or not np.isfinite(est).all():
        raise SmallAreaError("benchmark: expected one finite estimate per kommune")
    if not (np.isfinite(size).all() and (size >= 0).all() and size.sum() > 0):
        raise SmallAreaError("benchmark: population sizes must be >= 0 with a positive sum")
    if not 0 <= target <= 1:
        raise SmallAreaError(f"benchmark target {target!r}: expected a proportion in [0, 1]")
    weights = size / size.sum()
    total = float(weights @ est)
    if method == "ratio":
        if total <= 0:
            raise SmallAreaError("benchmark 'ratio': the weighted sum of the estimates is 0")
        out = est * (target / total)
    else:
        out = est + (target - total)
    if (out < 0).any() or (out > 1).any():
        raise SmallAreaError(
            f"benchmark {method!r}: an estimate leaves [0, 1] after benchmarking (target "
            f"{target:.4f}, weighted sum {total:.4f}); try the other method"
        )
    return out
