"""Method names and limits shared by every step: one list per kind of method.

The protocol check (:mod:`stikprove.protocol`), the design step (:mod:`stikprove.design`) and
estimation (:mod:`stikprove.estimation`) all name their methods from here, so a name accepted
in one place is accepted in the others. The functions behind the names live with their step
(each registry maps these names to functions). This module sits below every step.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "ALLOCATION_METHODS",
    "DEFAULT_DOMAIN_INTERVAL_METHOD",
    "DEPRECATED_METHOD_NAMES",
    "DESIGN_INTERVAL_METHODS",
    "DOMAIN_INTERVAL_METHODS",
    "MARGIN_LIMIT",
    "PLANNING_METHOD_OF",
    "PROPORTION_INTERVAL_METHODS",
    "SAMPLE_SIZE_METHODS",
    "canonical_method",
    "old_positional_order",
    "renamed_argument",
]

MARGIN_LIMIT = 0.5
"""Margins (target half-widths) must be below this: the interval [0, 1] has half-width 0.5."""

ALLOCATION_METHODS = ("proportional", "equal", "neyman", "precision")
"""Allocation methods of :func:`stikprove.design.allocate` and a protocol's ``allocation``."""

SAMPLE_SIZE_METHODS = ("wald", "wilson", "clopper-pearson", "hypergeometric")
"""Interval methods :func:`stikprove.design.sample_size` plans with."""

PROPORTION_INTERVAL_METHODS = (
    "wald",
    "wilson",
    "wilson-cc",
    "agresti-coull",
    "jeffreys",
    "clopper-pearson",
    "hypergeometric",
)
"""Interval methods for plain counts (:func:`stikprove.proportion_ci`)."""

DESIGN_INTERVAL_METHODS = (
    "wald",
    "logit",
    "korn-graubard",
    "wilson",
    "korn-graubard-deff1",
    "jeffreys",
)
"""Design-based interval methods from (estimate, se, df, n) (:func:`stikprove.design_ci`)."""

DEFAULT_DOMAIN_INTERVAL_METHOD = "pooled-hypergeometric"
"""The default interval of a domain estimate, chosen by the simulation study of
docs/intervals.md: the exact hypergeometric interval for a domain inside one stratum,
Korn–Graubard on the ``pooled`` variance for a domain across strata."""

DOMAIN_INTERVAL_METHODS = (
    DEFAULT_DOMAIN_INTERVAL_METHOD,
    *DESIGN_INTERVAL_METHODS,
    "hypergeometric",
)
"""Interval methods for a domain estimate: the default, the design-based ones and the exact
hypergeometric interval for a domain inside one stratum (the same name and interval as in
proportion_ci)."""

DEPRECATED_METHOD_NAMES = {"exact": "hypergeometric"}
"""Old method names still accepted, with a DeprecationWarning (scipy's ``exact`` is
Clopper–Pearson, so the hypergeometric interval is no longer called ``exact``)."""

PLANNING_METHOD_OF = {
    DEFAULT_DOMAIN_INTERVAL_METHOD: "hypergeometric",
    "korn-graubard": "clopper-pearson",
    "korn-graubard-deff1": "clopper-pearson",
    "jeffreys": "wilson",
    "hypergeometric": "hypergeometric",
    "exact": "hypergeometric",
    "wilson": "wilson",
    "wald": "wald",
    "logit": "wald",
}
"""The sample-size method that plans each domain interval method of a protocol.

In a stratum (an SRSWOR, design effect 1) Korn–Graubard is Clopper–Pearson at the effective
sample size; the default (``pooled-hypergeometric``) is the exact hypergeometric interval for a
domain inside one stratum, and is planned with it; the design-based Jeffreys interval is about
as wide as Wilson's; the logit interval has no simple half-width and is planned with Wald's.
"""


def canonical_method(method: str, stacklevel: int = 3) -> str:
    """``method`` under its current name: a deprecated name warns and gives the new one."""
    new = DEPRECATED_METHOD_NAMES.get(method) if isinstance(method, str) else None
    if new is None:
        return method
    warnings.warn(
        f"method {method!r} is deprecated; use {new!r} (the same interval)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return new


def renamed_argument(name: str, value: object, old_name: str, old_value: object) -> object:
    """The value of argument ``name``, given either under it or, with a DeprecationWarning,
    under its old name (``domain`` and ``group`` are now ``by``). Both at once is an error."""
    if old_value is None:
        if value is None:
            raise TypeError(f"missing required argument {name!r}")
        return value
    if value is not None:
        raise TypeError(f"give {name!r} or its deprecated name {old_name!r}, not both")
    warnings.warn(
        f"argument {old_name!r} is deprecated; use {name!r}",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value


def old_positional_order(
    old_order: Sequence[str], is_old: Callable[[tuple, dict], bool]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a function whose positional arguments were reordered so that a call in the old
    order keeps working, with a DeprecationWarning.

    ``old_order`` names the positional parameters as they were (``self`` first for a method);
    ``is_old(args, kwargs)`` says whether a call's arguments are in that order. Such a call
    has its positional arguments passed by their old names; any other call goes through as it
    is. The decorated function keeps its new signature (``inspect.signature``).

    >>> @old_positional_order(("b", "a"), lambda args, kwargs: isinstance(args[0], str))
    ... def f(a, b="x"):
    ...     return a, b
    >>> f(1, "y")
    (1, 'y')
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not is_old(args, kwargs):
                return function(*args, **kwargs)
            name = function.__qualname__
            if len(args) > len(old_order):
                raise TypeError(
                    f"{name}() takes at most {len(old_order)} positional arguments in its old "
                    f"order, got {len(args)}"
                )
            named = dict(zip(old_order, args, strict=False))
            both = sorted(named.keys() & kwargs.keys())
            if both:
                raise TypeError(f"{name}() got multiple values for argument {both[0]!r}")
            shown = [n for n in old_order[: len(args)] if n != "self"]
            warnings.warn(
                f"{name}(): positional arguments in the old order ({', '.join(shown)}) are "
                f"deprecated: pass them by name, or in the order of estimate_proportions "
                f"(help({name}) shows it)",
                DeprecationWarning,
                stacklevel=2,
            )
            return function(**named, **kwargs)

        return wrapper

    return decorate
