"""The publication layer: what may leave the package, protected as one release.

A step between estimation and reports (docs/CONTRACTS.md): it imports estimation and the
steps below it, and reports, exports and the command line's tables read only from it.

- :mod:`stikprove.release.disclosure`: the rules a published cell must pass (small counts,
  implied counts, the NCHS presentation standard for proportions).
- :mod:`stikprove.release.linear`: the release as an intruder sees it (cells as linear
  functions of unknown counts), the one input of the two engines below.
- :mod:`stikprove.release.suppression`: secondary suppression of least cost (an integer
  program over all linked tables at once).
- :mod:`stikprove.release.audit`: the intruder's audit (each hidden cell's feasibility interval).
- :mod:`stikprove.release.build`: every number a study publishes, computed once (raw tables).
- :mod:`stikprove.release.cells`: those numbers as cells of the linear table set.
- :mod:`stikprove.release.release`: the protected release of a study (:func:`study_release`),
  which reports, exports and the command line read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stikprove.release.release import Release, study_release

__all__ = ["Release", "study_release"]


def __getattr__(name: str):
    """``Release`` and ``study_release`` load on first use (the rules in disclosure.py are
    imported without the estimation step behind the release)."""
    if name in __all__:
        from stikprove.release import release as module

        return getattr(module, name)
    raise AttributeError(f"module 'stikprove.release' has no attribute {name!r}")
