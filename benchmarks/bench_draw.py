"""Benchmark: drawing a national sample from the synthetic national frame.

The frame: ``stikprove.synth.synthesize_frame(seed=1)`` (all 98 kommuner, about 70,000
aktivitetsparate cases). The protocol: every aktivitetsparat case, strata kommune × sex ×
origin (all five origin groups: about 900 non-empty strata), 6,000 reviews allocated
proportionally with at least 2 per stratum, 10 % double review, Korn–Graubard planning.

Timed (median of 5 runs each; a benchmark, not a test):

- ``stikprove.sampling.draw`` with the frame fingerprint passed in (the draw itself:
  eligibility, strata, allocation, permanent random numbers, the vectorised sort);
- ``frame_fingerprint`` of the frame (part of an end-to-end draw; owned by frame.py);
- ``design_table`` alone;
- ``design_table`` with precision allocation, anticipated rates by origin, time on benefit
  in four bands (about 3,000 strata) and targets per stratum, kommune, kommune × sex and
  nationally (the domain-target search);
- ``write_sample`` into a new folder;
- a second draw with coordination "avoid" against the first.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

PROTOCOL = """
[study]
id = "bench-national"
title = "Benchmark: national draw"
seed = 2026

[frame]
path = "frame.csv"

[eligibility]
category = "aktivitetsparat"

[strata]
columns = ["kommune_code", "sex", "origin"]

[precision]
indicator = "too_ill"
anticipated = 0.25
margin = 0.1

[budget]
max_reviews = 6000
minutes_per_review = 45

[allocation]
method = "proportional"
minimum = 2

[review]
double_review_fraction = 0.1
"""

RUNS = 5


def _median_seconds(function, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> dict:
    from stikprove.design import design_table
    from stikprove.frame import frame_fingerprint
    from stikprove.protocol import parse_protocol
    from stikprove.sampling import draw, write_sample
    from stikprove.synth import synthesize_frame

    frame = synthesize_frame(1).frame
    protocol = parse_protocol(PROTOCOL, "/tmp/bench-national.toml")
    avoid = parse_protocol(
        PROTOCOL.replace('id = "bench-national"', 'id = "bench-follow-up"')
        + '\n[coordination]\nmode = "avoid"\nprevious = "first"\n',
        "/tmp/bench-follow-up.toml",
    )
    targeted = parse_protocol(
        PROTOCOL.replace(
            'columns = ["kommune_code", "sex", "origin"]',
            'columns = ["kommune_code", "sex", "origin", "years_on_benefit_band"]\n'
            "bands.years_on_benefit = [0, 1, 3, 5]",
        )
        .replace(
            "anticipated = 0.25",
            'anticipated = { default = 0.25, by = "origin", '
            "values = { indvandrer_ikke_vestlig = 0.1, dansk_oprindelse = 0.35 } }",
        )
        .replace(
            "margin = 0.1",
            "margin = 0.2\ntargets = ["
            '{ domain = "kommune_code", margin = 0.08 }, '
            '{ domain = ["kommune_code", "sex"], margin = 0.12 }, '
            '{ domain = "all", margin = 0.01 }]',
        )
        .replace('method = "proportional"', 'method = "precision"')
        .replace("max_reviews = 6000", "max_reviews = 30000"),
        "/tmp/bench-targets.toml",
    )
    fingerprint = frame_fingerprint(frame)
    sample = draw(protocol, frame, frame_fingerprint=fingerprint)
    figures = {
        "cases": len(sample.units),
        "strata": len(sample.strata),
        "sample_size": int(sample.metadata["sample_size"]),
        "draw_seconds": _median_seconds(
            lambda: draw(protocol, frame, frame_fingerprint=fingerprint)
        ),
        "frame_fingerprint_seconds": _median_seconds(lambda: frame_fingerprint(frame), 3),
        "design_table_seconds": _median_seconds(lambda: design_table(protocol, frame)),
        "design_targets_seconds": _median_seconds(lambda: design_table(targeted, frame), 3),
        "draw_avoid_seconds": _median_seconds(
            lambda: draw(avoid, frame, previous=sample, frame_fingerprint=fingerprint)
        ),
    }
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(RUNS))
        figures["write_sample_seconds"] = _median_seconds(
            lambda: write_sample(sample, Path(folder) / f"s{next(counter)}")
        )
    print(
        f"national draw: {figures['cases']} cases, {figures['strata']} strata, "
        f"n = {figures['sample_size']}"
    )
    for key in (
        "draw",
        "draw_avoid",
        "design_table",
        "design_targets",
        "frame_fingerprint",
        "write_sample",
    ):
        print(f"  {key:20s} {figures[key + '_seconds'] * 1000:8.0f} ms (median)")
    return {"draw": figures}


if __name__ == "__main__":
    main()
