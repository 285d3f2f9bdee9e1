"""stikprove: sampling and re-assessment studies in Danish kommuner.

The flow, one module (or sub-package) per step, each importing only lower steps:

frame → protocol → design → sampling → store → estimation → reports

The public API is re-exported here lazily, so ``import stikprove`` stays fast
and the command line starts quickly.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "StikproveError": "stikprove.errors",
    # kommuner
    "kommuner": "stikprove.kommuner",
    "kommune": "stikprove.kommuner",
    # codebook
    "Codebook": "stikprove.codebook",
    "load_codebook": "stikprove.codebook",
    "default_codebook": "stikprove.codebook",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stikprove' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = sorted(_EXPORTS)  # noqa: PLE0605 (names resolved lazily by __getattr__)
