"""Confidence intervals for a single proportion from plain counts.

:func:`proportion_ci` gives the interval for ``successes`` out of ``n`` by one of the
methods in :data:`PROPORTION_METHODS`. Each method is a small pure function of numpy
arrays, cited in its docstring, and registered in that one dict.

Where statsmodels implements a method (``statsmodels.stats.proportion.proportion_confint``:
wald as ``normal``, wilson, agresti-coull, clopper-pearson as ``beta``) it is used as is.
Written by hand, and why:

- ``wilson-cc``: statsmodels has no continuity-corrected score interval; the closed form is
  Newcombe (1998), method 4.
- ``jeffreys``: statsmodels omits the boundary modification of Brown, Cai & DasGupta (2001),
  section 4.1.2 (lower bound 0 at x = 0, upper bound 1 at x = n), which we want.
- ``hypergeometric``: neither scipy nor statsmodels inverts the hypergeometric tail tests for
  sampling without replacement from a finite population, which is what a stratum of a small
  kommune is. Konijn (1973), Buonaccorsi (1987) and Wright (1991) describe it; it lives with
  Clopper–Pearson in :mod:`stikprove.exact_bounds`, which the design step plans with too.

References
----------
Agresti, A. & Coull, B. A. (1998). Approximate is better than "exact" for interval estimation of
binomial proportions. The American Statistician 52, 119-126.

Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval estimation for a binomial proportion.
Statistical Science 16, 101-133.

Buonaccorsi, J. P. (1987). A note on confidence intervals for proportions in finite populations.
The American Statistician 41, 215-218.

Clopper, C. J. & Pearson, E. S. (1934). The use of confidence or fiducial limits illustrated in
the case of the binomial. Biometrika 26, 404-413.

Konijn, H. S. (1973). Statistical Theory of Sample Survey Design and Analysis. North-Holland.

Newcombe, R. G. (1998). Two-sided confidence intervals for the single proportion: comparison of
seven methods. Statistics in Medicine 17, 857-872.

Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
JASA 22, 209-212.

Wright, T. (1991). Exact Confidence Bounds when Sampling from Small Finite Universes. Lecture
Notes in Statistics 66, Springer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from stikprove.errors import EstimationError
from stikprove.exact_bounds import (
    clopper_pearson_interval,
    hypergeometric_bounds,
    hypergeometric_interval,
)
from stikprove.methods import PROPORTION_INTERVAL_METHODS

__all__ = [
    "PROPORTION_METHODS",
    "ConfidenceInterval",
    "check_confidence_level",
    "hypergeometric_bounds",
    "proportion_ci",
]


@dataclass(frozen=True)
class ConfidenceInterval:
    """A two-sided confidence interval: ``low`` and ``high`` (floats, or numpy arrays).

    Unpacks as a pair: ``low, high = proportion_ci(3, 40)``.
    """

    low: float | np.ndarray
    high: float | np.ndarray

    def __iter__(self) -> Iterator[float | np.ndarray]:
        yield self.low
        yield self.high

    def _repr_html_(self) -> str:
        return f"<code>ConfidenceInterval(low={self.low!r}, high={self.high!r})</code>"


def check_confidence_level(confidence_level: float) -> float:
    """Return ``confidence_level`` as a float, or raise EstimationError if not in (0, 1)."""
    try:
        level = float(confidence_level)
    except (TypeError, ValueError):
        raise EstimationError(
            f"confidence_level must be a number in (0, 1), got {confidence_level!r}"
        ) from None
    if not 0.0 < level < 1.0:
        raise EstimationError(f"confidence_level must be in (0, 1), got {confidence_level!r}")
    return level


# --- the methods: (x, n, alpha, population_size) -> (low, high), float arrays ---------------


def _wald(x: np.ndarray, n: np.ndarray, alpha: float, population_size: np.ndarray | None):
    """Wald interval p ± z·sqrt(p(1-p)/n), clipped to [0, 1] (Newcombe 1998, method 1).

    Computed by statsmodels ``proportion_confint(method="normal")``. Known to undercover badly
    near 0 and 1 (Brown, Cai & DasGupta 2001); kept for comparison only.
    """
    return proportion_confint(x, n, alpha=alpha, method="normal")


def _wilson(x: np.ndarray, n: np.ndarray, alpha: float, population_size: np.ndarray | None):
    """Wilson (1927) score interval (Newcombe 1998, method 3; Brown, Cai & DasGupta 2001).

    Computed by statsmodels ``proportion_confint(method="wilson")``.
    """
    return proportion_confint(x, n, alpha=alpha, method="wilson")


def _wilson_cc(x: np.ndarray, n: np.ndarray, alpha: float, population_size: np.ndarray | None):
    """Wilson score interval with continuity correction, Newcombe (1998) method 4.

    Closed form (Newcombe 1998, p. 861, with z the 1 - alpha/2 normal quantile, p = x/n):
    L = (2np + z² - 1 - z·sqrt(z² - 2 - 1/n + 4p(n(1-p) + 1))) / (2(n + z²)), L = 0 if p = 0;
    U = (2np + z² + 1 + z·sqrt(z² + 2 - 1/n + 4p(n(1-p) - 1))) / (2(n + z²)), U = 1 if p = 1.
    Written by hand: statsmodels and scipy do not offer it. Equals R's ``prop.test(correct=TRUE)``.
    """
    z = stats.norm.isf(alpha / 2)
    z2 = z * z
    p = x / n
    denom = 2 * (n + z2)
    with np.errstate(invalid="ignore"):
        root_low = np.sqrt(z2 - 2 - 1 / n + 4 * p * (n * (1 - p) + 1))
        root_high = np.sqrt(z2 + 2 - 1 / n + 4 * p * (n * (1 - p) - 1))
        low = (2 * n * p + z2 - 1 - z * root_low) / denom
        high = (2 * n * p + z2 + 1 + z * root_high) / denom
    low = np.where(x == 0, 0.0, np.clip(low, 0.0, 1.0))
    high = np.where(x == n, 1.0, np.clip(high, 0.0, 1.0))
    return low, high


def _agresti_coull(x: np.ndarray, n: np.ndarray, alpha: float, population_size: np.ndarray | None):
    """Agresti & Coull (1998) 'add z²/2 successes and failures' interval, clipped to [0, 1].

    Computed by statsmodels ``proportion_confint(method="agresti_coull")``; see Brown, Cai &
    DasGupta (2001), section 4.1.1.
    """
    return proportion_confint(x, n, alpha=alpha, method="agresti_coull")


def _jeffreys(x: np.ndarray, n: np.ndarray, alpha: float, population_size: np.ndarray | None):
    """Jeffreys equal-tailed interval, Beta(x + 1/2, n - x + 1/2) quantiles.

    With the boundary modification of Brown, Cai & DasGupta (2001), section 4.1.2: the lower
    bound is 0 when x = 0 and the upper bound 1 when x = n. Written by hand for that modification.
    """
    low = stats.beta.ppf(alpha / 2, x + 0.5, n - x + 0.5)
    high = stats.beta.isf(alpha / 2, x + 0.5, n - x + 0.5)
    return np.where(x == 0, 0.0, low), np.where(x == n, 1.0, high)


def _clopper_pearson(
    x: np.ndarray, n: np.ndarray, alpha: float, population_size: np.ndarray | None
):
    """Clopper & Pearson (1934) 'exact' interval (Newcombe 1998, method 5); equals R's
    ``binom.test``. See :func:`stikprove.exact_bounds.clopper_pearson_interval`."""
    return clopper_pearson_interval(x, n, alpha)


def _hypergeometric(x: np.ndarray, n: np.ndarray, alpha: float, population_size: np.ndarray | None):
    """Exact interval for M/N under sampling without replacement (Konijn 1973; Buonaccorsi 1987;
    Wright 1991). See :func:`stikprove.exact_bounds.hypergeometric_bounds`. Needs
    ``population_size``.
    """
    if population_size is None:
        raise EstimationError(
            "method 'hypergeometric' needs population_size (the N the n cases were drawn from)"
        )
    return hypergeometric_interval(x, n, population_size, alpha)


_Method = Callable[
    [np.ndarray, np.ndarray, float, "np.ndarray | None"], tuple[np.ndarray, np.ndarray]
]

PROPORTION_METHODS: dict[str, _Method] = dict(
    zip(
        PROPORTION_INTERVAL_METHODS,
        (_wald, _wilson, _wilson_cc, _agresti_coull, _jeffreys, _clopper_pearson, _hypergeometric),
        strict=True,
    )
)
"""Interval methods for plain counts: name -> function(x, n, alpha, population_size)."""


def _fmt(value: float) -> str:
    """A number as the user wrote it: 8 rather than np.float64(8.0)."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _as_counts(value: object, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise EstimationError(f"{name} must be whole numbers >= 0, got {value!r}") from None
    bad = ~np.isfinite(array) | (array < 0) | (array != np.round(array))
    if np.any(bad):
        first = array[bad].flat[0] if array.ndim else array.item()
        raise EstimationError(f"{name} must be whole numbers >= 0, got {_fmt(first)}")
    return array


def proportion_ci(
    successes: int | np.ndarray,
    n: int | np.ndarray,
    confidence_level: float = 0.95,
    method: str = "wilson",
    population_size: int | np.ndarray | None = None,
) -> ConfidenceInterval:
    """Confidence interval for a proportion from ``successes`` out of ``n``.

    Parameters
    ----------
    successes, n
        Counts (whole numbers, 0 <= successes <= n, n >= 1); scalars or arrays that broadcast.
    confidence_level
        In (0, 1).
    method
        One of ``wald``, ``wilson`` (default), ``wilson-cc``, ``agresti-coull``, ``jeffreys``,
        ``clopper-pearson``, ``hypergeometric``; see :data:`PROPORTION_METHODS` and the
        docstrings of the functions there for the formulas and references.
    population_size
        N, the finite population the n cases were drawn from without replacement; required by
        (and only used by) ``hypergeometric``, whose bounds are then multiples of 1/N.

    Returns
    -------
    ConfidenceInterval
        ``low`` and ``high`` within [0, 1]: floats for scalar input, else arrays of the
        broadcast shape.

    Examples
    --------
    >>> ci = proportion_ci(81, 263, method="wilson")
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.2553, 0.3662)
    >>> proportion_ci(3, 40, population_size=40, method="hypergeometric")
    ConfidenceInterval(low=0.075, high=0.075)
    """
    if method not in PROPORTION_METHODS:
        raise EstimationError(
            f"method must be one of {', '.join(map(repr, PROPORTION_METHODS))}; got {method!r}"
        )
    level = check_confidence_level(confidence_level)
    x = _as_counts(successes, "successes")
    size = _as_counts(n, "n")
    big_n = None if population_size is None else _as_counts(population_size, "population_size")
    arrays = (x, size) if big_n is None else (x, size, big_n)
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        names = "successes, n" + ("" if big_n is None else ", population_size")
        raise EstimationError(
            f"{names} must broadcast to one shape (scalars or arrays of matching shape), "
            f"got shapes {shapes}"
        ) from None
    # Own copies, not read-only broadcast views (statsmodels writes into its inputs).
    x, size = (np.array(np.broadcast_to(a, shape)) for a in (x, size))
    if np.any(size < 1):
        raise EstimationError(f"n must be >= 1, got {_fmt(size[size < 1].flat[0])}")
    if np.any(x > size):
        i = np.flatnonzero(x > size)[0]
        raise EstimationError(
            f"successes must be <= n, got successes={_fmt(x.flat[i])} with n={_fmt(size.flat[i])}"
        )
    if big_n is not None:
        big_n = np.array(np.broadcast_to(big_n, shape))
        if np.any(big_n < size):
            i = np.flatnonzero(big_n < size)[0]
            raise EstimationError(
                f"population_size must be >= n, got population_size={_fmt(big_n.flat[i])} "
                f"with n={_fmt(size.flat[i])}"
            )
    low, high = PROPORTION_METHODS[method](x, size, 1.0 - level, big_n)
    # Guard against rounding (statsmodels' Wilson gives 1e-18 at x = 0): low <= x/n <= high.
    estimate = x / size
    low = np.clip(np.minimum(np.asarray(low, dtype=float), estimate), 0.0, 1.0)
    high = np.clip(np.maximum(np.asarray(high, dtype=float), estimate), 0.0, 1.0)
    if low.ndim == 0:
        return ConfidenceInterval(float(low), float(high))
    return ConfidenceInterval(low, high)
