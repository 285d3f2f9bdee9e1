"""Hypothesis strategies shared by the estimation tests (one place, per STYLE.md)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def register_hypothesis_profiles() -> None:
    """The hypothesis profiles, chosen with ``HYPOTHESIS_PROFILE`` (default ``repeatable``).

    ``repeatable`` (``make test`` and CI): derandomized, so a run depends on neither the
    machine nor the order tests run in, no example database, no deadline (2 shared cores
    time badly). ``exhaustive`` (``make test-exhaustive``, also in CI): ten times the examples
    of each test, still derandomized. ``explore``: fresh random examples, for a developer
    hunting new counterexamples.
    """
    base = {"deadline": None, "database": None, "print_blob": True,
            "suppress_health_check": [HealthCheck.too_slow]}  # fmt: skip
    settings.register_profile("repeatable", derandomize=True, **base)
    settings.register_profile("exhaustive", derandomize=True, max_examples=1000, **base)
    settings.register_profile("explore", **base)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def scaled(max_examples: int, factor: int = 10) -> int:
    """A test's example (or replication) count, times ``factor`` under the ``exhaustive``
    profile (CI runs it after ``make test``)."""
    if os.environ.get("HYPOTHESIS_PROFILE") == "exhaustive":
        return max_examples * factor
    return max_examples


confidence_levels = st.sampled_from([0.8, 0.9, 0.95, 0.99])


@st.composite
def counts(draw: st.DrawFn, max_n: int = 500) -> tuple[int, int]:
    """(successes, n) with 0 <= successes <= n, n >= 1, biased towards the edges."""
    n = draw(st.integers(1, max_n))
    x = draw(st.one_of(st.just(0), st.just(n), st.integers(0, n)))
    return x, n


@st.composite
def finite_counts(draw: st.DrawFn, max_population: int = 400) -> tuple[int, int, int]:
    """(successes, n, N) for sampling without replacement: 0 <= x <= n <= N."""
    big_n = draw(st.integers(1, max_population))
    n = draw(st.one_of(st.just(big_n), st.integers(1, big_n)))
    x = draw(st.one_of(st.just(0), st.just(n), st.integers(0, n)))
    return x, n, big_n


@st.composite
def stratified_samples(draw: st.DrawFn, max_strata: int = 5) -> pd.DataFrame:
    """A stratified sample: stratum, N (N_h), y (0/1 or NaN), dom (crosses strata).

    Includes census strata, one-case strata, all-0 and all-1 strata and missing outcomes.
    """
    n_strata = draw(st.integers(1, max_strata))
    frames = []
    for h in range(n_strata):
        n = draw(st.integers(1, 12))
        census = draw(st.booleans())
        big_n = n if census else draw(st.integers(n, 500))
        kind = draw(st.sampled_from(["zeros", "ones", "mixed"]))
        if kind == "zeros":
            y = [0.0] * n
        elif kind == "ones":
            y = [1.0] * n
        else:
            y = draw(st.lists(st.sampled_from([0.0, 1.0, np.nan]), min_size=n, max_size=n))
        dom = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
        frames.append(pd.DataFrame({"stratum": f"s{h}", "N": big_n, "y": y, "dom": dom}))
    data = pd.concat(frames, ignore_index=True)
    if data["y"].isna().all():
        data.loc[0, "y"] = draw(st.sampled_from([0.0, 1.0]))
    return data


@st.composite
def cut_domain_samples(draw):
    """Samples of a domain that cuts 1-3 strata: (outcomes (u, H, 3), N_h, n_h), each sample's
    members sampled, events among them and events among the others per stratum; every sample
    has at least one member (N_h 2-40, n_h 1-N_h, up to four samples)."""
    strata = draw(st.integers(1, 3))
    big = np.array([draw(st.integers(2, 40)) for _ in range(strata)])
    small = np.array([draw(st.integers(1, int(b))) for b in big])
    samples = []
    for _ in range(draw(st.integers(1, 4))):
        rows = []
        for n in small:
            members = draw(st.integers(0, int(n)))
            rows.append((members, draw(st.integers(0, members)),
                         draw(st.integers(0, int(n) - members))))  # fmt: skip
        if sum(r[0] for r in rows) == 0:
            rows[0] = (1, draw(st.integers(0, 1)), min(rows[0][2], int(small[0]) - 1))
        samples.append(rows)
    return np.array(samples, dtype=np.int64), big, small


toml_keys = st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True)
"""A TOML bare key."""

toml_scalars = st.one_of(st.integers(-5, 5), st.booleans(), st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12))
"""Ordinary protocol values (strings never starting with the placeholder marker are kept
apart by the test that uses them)."""


def toml_documents(leaves: st.SearchStrategy) -> st.SearchStrategy[dict]:
    """Nested TOML-like documents (tables of tables, lists of ``leaves``)."""
    def nested(inner: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(st.lists(inner, max_size=3), st.dictionaries(toml_keys, inner, max_size=3))

    values = st.recursive(leaves, nested, max_leaves=12)
    return st.dictionaries(toml_keys, st.dictionaries(toml_keys, values, max_size=4), max_size=4)


@st.composite
def fay_herriot_areas(draw, min_areas: int = 8, max_areas: int = 30) -> pd.DataFrame:
    """Area-level data for a Fay–Herriot model: direct rates in (0, 1), design variances > 0,
    one covariate x and the population size, some areas without a sample (direct NaN)."""
    m = draw(st.integers(min_areas, max_areas))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, m)
    n = rng.integers(3, 200, m)
    true = np.clip(0.2 + 0.3 * x + rng.normal(0, draw(st.sampled_from([0.0, 0.03, 0.1])), m),
                   0.02, 0.98)  # fmt: skip
    direct = np.clip(rng.binomial(n, true) / n, 0.01, 0.99)
    variance = 0.25 / n * rng.uniform(0.5, 1.5, m)
    missing = rng.uniform(size=m) < draw(st.sampled_from([0.0, 0.1]))
    missing[:4] = False  # enough areas in sample for two coefficients
    return pd.DataFrame({
        "area": [f"a{i:03d}" for i in range(m)], "direct": np.where(missing, np.nan, direct),
        "variance": variance, "n": n, "x": x, "population_size": n * rng.integers(5, 50, m),
    })  # fmt: skip
