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
"""
