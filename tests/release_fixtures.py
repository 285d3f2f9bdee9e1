"""A synthetic release shaped like a national study's, for the engines' tests and benchmark.

Used by tests/test_release_engines.py (a few kommuner) and benchmarks/bench_release.py (all
98). It mirrors what a study publishes, without the study: per stratum (kommune × sex × five
origin groups) the atoms are the cases cross-classified by three 0/1 indicators (8 atoms),
the ineligible sampled cases, the eligible ones without an outcome and the unsampled
population (11 atoms); the cells are seven counts (N, n, ineligible, assessed, events of
each indicator) and three rounded percentages (events / assessed, one decimal), for each
stratum, sex and origin margin, kommune, region and the nation; the relations are the
additive hierarchy of each count. Primary: counts 1..t−1, percentages on them, and
percentages on fewer than 30 assessed (the NCHS rule's effective n, unweighted here).
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from stikprove.release.linear import LinearTableSet

SEXES = ("kvinde", "mand")
ORIGINS = ("dansk", "indv_vest", "indv_ikke_vest", "efterk_vest", "efterk_ikke_vest")
ORIGIN_SHARES = np.array([0.75, 0.04, 0.13, 0.01, 0.07])
INDICATORS = ("too_ill", "misclassified", "no_effort")
COUNTS = ("N", "n", "ineligible", "assessed", *(f"events_{k}" for k in INDICATORS))
UNPUBLISHED = ("no_outcome",)  # counts never shown, only stated in relations
ATOMS_PER_STRATUM = 11  # 8 indicator patterns, ineligible, no outcome, unsampled


def _atom_masks() -> dict[str, np.ndarray]:
    """Which of a stratum's 11 atoms each count sums."""
    patterns = list(itertools.product((0, 1), repeat=3))  # atoms 0..7
    masks = {
        "N": np.ones(11, bool),
        "n": np.r_[np.ones(10, bool), False],
        "ineligible": np.eye(11, dtype=bool)[8],
        "assessed": np.r_[np.ones(8, bool), np.zeros(3, bool)],
        "no_outcome": np.eye(11, dtype=bool)[9],
    }
    for k, indicator in enumerate(INDICATORS):
        masks[f"events_{indicator}"] = np.r_[[p[k] == 1 for p in patterns], np.zeros(3, bool)]
    return masks


def synthetic_release(
    n_kommuner: int = 98,
    *,
    seed: int = 20261125,
    threshold: int = 5,
    n_regions: int = 5,
    unpublished: bool = True,
) -> LinearTableSet:
    """The table set of a synthetic national study (about 10,800 atoms and 17,700 cells for
    98 kommuner). With ``unpublished``, each set of strata also has the count of eligible
    cases without an outcome as a cell that is never shown (primary, cost 0), in the relation
    n = ineligible + assessed + no outcome: the suppression program then knows that n and
    assessed, both shown, bound the ineligible count."""
    counts = COUNTS + (UNPUBLISHED if unpublished else ())
    rng = np.random.default_rng(seed)
    sizes = np.maximum(20, rng.lognormal(np.log(500), 0.8, n_kommuner)).round().astype(int)
    region_of = np.sort(rng.integers(0, n_regions, n_kommuner))
    atoms: list[np.ndarray] = []
    for size in sizes:
        for _sex in SEXES:
            for share in ORIGIN_SHARES:
                big_n = int(rng.poisson(size * share / 2))
                n = min(big_n, max(2, round(big_n * 0.09)) if big_n else 0)
                ineligible = int(rng.binomial(n, 0.05))
                no_outcome = int(rng.binomial(n - ineligible, 0.05))
                assessed = n - ineligible - no_outcome
                rates = rng.uniform(0.1, 0.3, 3)
                probabilities = np.array(
                    [
                        np.prod([r if bit else 1 - r for r, bit in zip(rates, p, strict=True)])
                        for p in itertools.product((0, 1), repeat=3)
                    ]
                )
                patterns = rng.multinomial(assessed, probabilities / probabilities.sum())
                atoms.append(np.r_[patterns, ineligible, no_outcome, big_n - n])
    atom_values = np.concatenate(atoms).astype(np.int64)
    masks = _atom_masks()

    ids: list[str] = []
    tables: list[str] = []
    num_rows: list[np.ndarray] = []  # atom indices of each cell's numerator
    den_rows: list[np.ndarray] = []  # atom indices of each cell's denominator (empty: count)
    level: list[str] = []
    group: list[int] = []
    relations: list[dict[str, float]] = []
    index_of: dict[str, int] = {}

    def add(cell: str, table: str, atom_set: np.ndarray, lvl: str) -> None:
        """The seven counts and three percentages of one set of strata."""
        base = int(len(group) and max(group) + 1)
        for count in counts:
            mask = np.tile(masks[count], len(atom_set) // ATOMS_PER_STRATUM)
            index_of[f"{cell}|{count}"] = len(ids)
            ids.append(f"{cell}|{count}")
            tables.append(f"{table}:{count}")
            num_rows.append(atom_set[mask])
            den_rows.append(np.array([], dtype=np.int64))
            level.append(lvl)
            group.append(base + INDICATORS.index(count[7:]) if count.startswith("events_") else -1)
        assessed = atom_set[np.tile(masks["assessed"], len(atom_set) // ATOMS_PER_STRATUM)]
        for k, indicator in enumerate(INDICATORS):
            mask = np.tile(masks[f"events_{indicator}"], len(atom_set) // ATOMS_PER_STRATUM)
            ids.append(f"{cell}|pct_{indicator}")
            tables.append(f"{table}:pct_{indicator}")
            num_rows.append(atom_set[mask])
            den_rows.append(assessed)
            level.append(lvl)
            group.append(base + k)
        if unpublished:
            relations.append(
                {
                    f"{cell}|n": 1.0,
                    **{f"{cell}|{c}": -1.0 for c in ("ineligible", "assessed", *UNPUBLISHED)},
                }
            )

    def relate(total: str, parts: list[str]) -> None:
        for count in counts:
            relations.append({f"{total}|{count}": 1.0, **{f"{p}|{count}": -1.0 for p in parts}})

    stratum_atoms = np.arange(len(atom_values)).reshape(-1, ATOMS_PER_STRATUM)
    s = 0
    kommune_cells = []
    for k in range(n_kommuner):
        kommune = f"k{k:03d}"
        strata = {}
        for sex, origin in itertools.product(SEXES, ORIGINS):
            strata[(sex, origin)] = stratum_atoms[s]
            add(f"{kommune}|{sex}|{origin}", "stratum", stratum_atoms[s], "stratum")
            s += 1
        for sex in SEXES:
            add(
                f"{kommune}|{sex}|all",
                "sex",
                np.concatenate([strata[(sex, o)] for o in ORIGINS]),
                "margin",
            )
            relate(f"{kommune}|{sex}|all", [f"{kommune}|{sex}|{o}" for o in ORIGINS])
        for origin in ORIGINS:
            add(
                f"{kommune}|all|{origin}",
                "origin",
                np.concatenate([strata[(x, origin)] for x in SEXES]),
                "margin",
            )
            relate(f"{kommune}|all|{origin}", [f"{kommune}|{x}|{origin}" for x in SEXES])
        add(f"{kommune}|all|all", "kommune", np.concatenate(list(strata.values())), "kommune")
        relate(f"{kommune}|all|all", [f"{kommune}|{x}|all" for x in SEXES])
        relate(f"{kommune}|all|all", [f"{kommune}|all|{o}" for o in ORIGINS])
        kommune_cells.append(f"{kommune}|all|all")
    for r in range(n_regions):
        members = [c for c, reg in zip(kommune_cells, region_of, strict=True) if reg == r]
        if not members:
            continue
        member_atoms = np.concatenate(
            [stratum_atoms[k * 10 : (k + 1) * 10].ravel() for k in np.flatnonzero(region_of == r)]
        )
        add(f"region{r}", "region", member_atoms, "region")
        relate(f"region{r}", members)
    regions = [f"region{r}" for r in range(n_regions) if np.any(region_of == r)]
    add("nation", "nation", stratum_atoms.ravel(), "nation")
    relate("nation", regions)

    n_cells, n_atoms = len(ids), len(atom_values)
    lengths = [len(r) for r in num_rows]
    numerator = sp.csr_matrix(
        (np.ones(sum(lengths)), np.concatenate(num_rows), np.r_[0, np.cumsum(lengths)]),
        shape=(n_cells, n_atoms),
    )
    lengths = [len(r) for r in den_rows]
    denominator = sp.csr_matrix(
        (np.ones(sum(lengths)), np.concatenate(den_rows), np.r_[0, np.cumsum(lengths)]),
        shape=(n_cells, n_atoms),
    )
    top = numerator @ atom_values
    bottom = denominator @ atom_values
    has_den = np.diff(denominator.indptr) > 0
    # a percentage of nobody (0 of 0 assessed) is not published
    keep = ~(has_den & (bottom == 0))
    numerator, denominator = numerator[keep], denominator[keep]
    top, bottom, has_den = top[keep], bottom[keep], has_den[keep]
    ids, tables = np.array(ids)[keep], np.array(tables)[keep]
    level, group = np.array(level)[keep], np.array(group)[keep]
    new_index = np.cumsum(keep) - 1
    n_cells = int(keep.sum())
    is_count = ~has_den
    value = np.where(is_count, top, top / np.maximum(bottom, 1))
    shown_pct = np.round(value * 1000) / 1000  # one decimal of a per cent
    low = np.where(is_count, value, np.minimum(np.maximum(shown_pct - 0.0005, 0), value))
    high = np.where(is_count, value, np.maximum(np.minimum(shown_pct + 0.0005, 1), value))
    small_count = is_count & (top >= 1) & (top < threshold)
    small_ratio = has_den & (((top >= 1) & (top < threshold)) | (bottom < 30))
    never_shown = np.array([i.rsplit("|", 1)[1] in UNPUBLISHED for i in ids])
    primary = small_count | small_ratio | never_shown
    cost = 0.1 + np.log1p(np.abs(value))  # a zero shown is worth something too
    cost[~is_count] = 1.0
    cost[level == "margin"] *= 5
    cost[level == "kommune"] = 1000.0
    cost[level == "region"] = 10000.0
    cost[never_shown] = 0.0
    forced = (level == "nation") & ~primary
    rel = sp.lil_matrix((len(relations), n_cells))
    for r, relation in enumerate(relations):
        for cell, coef in relation.items():
            rel[r, new_index[index_of[cell]]] = coef
    return LinearTableSet(
        atom_values=atom_values,
        atom_upper=np.full(n_atoms, np.inf),
        cell_id=ids,
        table=tables,
        numerator=numerator,
        denominator=denominator,
        value=value,
        published_low=low,
        published_high=high,
        is_count=is_count,
        primary=primary,
        cost=cost,
        forced_shown=forced,
        group=group,
        relations=rel.tocsr(),
        threshold=threshold,
    )
