"""The publication layer: what may leave the package, protected as one release.

A step between estimation and reports (docs/CONTRACTS.md): it imports estimation and the
steps below it, and reports, exports and the command line's tables read only from it.

- :mod:`stikprove.release.disclosure`: the rules a published cell must pass (small counts,
  implied counts, the NCHS presentation standard for proportions).
"""
