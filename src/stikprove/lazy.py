"""Lazy re-exports for a package's ``__init__`` (PEP 562), in one place.

A package lists its public names and the modules that define them; the module holding a name
is imported the first time the name is used, so ``import stikprove`` (and the command line)
stays fast and a command loads only the modules it needs. Type checkers read the same names
from explicit imports under ``TYPE_CHECKING`` in the package (kept equal by a test).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` for ``exports`` (public name ->
    defining module); a resolved name is kept in ``namespace`` (the package's globals), so
    it is looked up once. ``__dir__`` lists the public names and the package's own dunders,
    not its helpers."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        dunders = {n for n in namespace if n.startswith("__") and n.endswith("__")}
        return sorted({*exports, *dunders})

    return __getattr__, __dir__


_PROVIDERS: dict[str, str] = {}


def provide(role: str, target: str) -> None:
    """Let ``target`` (``"package.module:attribute"``, the attribute possibly dotted, as
    ``"stikprove.estimation.stratified_sample:StratifiedSample.from_study"``) fill ``role``.
    Called by the package root (``stikprove/__init__.py``), which runs before any module of
    the package; nothing is imported until :func:`provider` asks."""
    module, colon, attribute = target.partition(":")
    if not (module and colon and attribute):
        raise ValueError(f"target must be 'package.module:attribute', got {target!r}")
    _PROVIDERS[role] = target


def provider(role: str) -> Any:
    """The object that fills ``role`` (:func:`provide`), its module imported on first use.
    A role nobody provides raises LookupError naming it."""
    target = _PROVIDERS.get(role)
    if target is None:
        raise LookupError(f"nothing provides {role!r} (stikprove/__init__.py names the providers)")
    module, _, attribute = target.partition(":")
    value: Any = importlib.import_module(module)
    for name in attribute.split("."):
        value = getattr(value, name)
    return value
