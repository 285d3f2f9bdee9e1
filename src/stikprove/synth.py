"""A synthetic national frame of aktivitetsparate kontanthjælpsmodtagere, with its latent truth.

:func:`synthesize_frame` makes, for each of the 98 kommuner (or a chosen few), a frame of
cases with the columns of a register extract (see :data:`stikprove.frame.FRAME_COLUMNS`) and,
apart from it, the *truth* a re-assessment would find for each case (the codebook fields
``eligible``, ``ineligible_reason``, ``health_assessment``, ``recommended_track`` and
``effort_last_12_months``). The truth is for simulated reviews only and never enters the frame.

Sizes and rates are approximate public figures (docs/frame.md, "Synthetic frame"): about
70,000 cases nationally, Odense about 3,400 (of them about 846 non-Western immigrant women),
the small island kommuner a handful; non-Western immigrants about a quarter of recipients,
more in the big cities; genuinely too ill about 10 % among non-Western immigrant women and
more among long-term recipients of Danish origin; no effort in a year between 10 % and 45 %
by kommune; a few percent ineligible at review.

Randomness: every kommune has its own stream ``Generator(PCG64(SeedSequence(seed,
spawn_key=(code,))))``, so a kommune's cases are the same whether it is made alone or with
the whole nation (at the same ``scale``), and the same seed gives byte-identical files.

>>> synthetic = synthesize_frame(seed=1, kommuner=["825"])
>>> list(synthetic.frame.columns) == list(FRAME_COLUMNS)
True
>>> bool(synthetic.frame["case_id"].str.fullmatch(r"[0-9a-f]{16}").all())
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from stikprove.errors import StikproveError
from stikprove.files import atomic_write_text, private_folder
from stikprove.frame import ALLOWED_VALUES, FRAME_COLUMNS, frame_to_csv_text  # noqa: F401 (doctest)
from stikprove.kommuner import kommune

TRUTH_COLUMNS = (
    "case_id",
    "eligible",
    "ineligible_reason",
    "health_assessment",
    "recommended_track",
    "effort_last_12_months",
)
"""Columns of the truth file, in order (codes as in the default codebook)."""

FRAME_DATE = date(2017, 1, 1)
"""The reference date of the synthetic extract (last_effort_date lies before it)."""

NATIONAL_TOTAL = 70_000
"""Expected number of cases nationally at ``scale=1``."""

# Approximate kommune populations (about 2017, rounded; public knowledge), a relative rate of
# aktivitetsparate kontanthjælp per inhabitant (1 = national average; higher in socially
# burdened kommuner, lower in affluent ones), and the share of non-Western immigrants among
# the recipients. Roughly right is all that is asked: the figures make realistic sizes.
# code  population  rate  non_western_immigrant_share
_KOMMUNE_TABLE = """
101 613000 1.20 0.33
147 104000 0.80 0.26
151 48000 1.00 0.32
153 35000 1.60 0.48
155 14000 0.45 0.12
157 75000 0.35 0.20
159 68000 0.90 0.32
161 23000 1.10 0.35
163 28000 1.10 0.35
165 28000 1.50 0.45
167 53000 1.20 0.30
169 50000 1.30 0.42
173 55000 0.50 0.22
175 40000 1.20 0.33
183 23000 1.60 0.50
185 43000 0.90 0.25
187 16000 0.80 0.35
190 40000 0.55 0.18
201 25000 0.45 0.12
210 40000 0.90 0.22
217 62000 1.10 0.22
219 50000 0.80 0.18
223 25000 0.40 0.15
230 56000 0.35 0.18
240 43000 0.50 0.12
250 45000 0.90 0.12
253 50000 0.90 0.28
259 60000 1.00 0.25
260 31000 1.30 0.10
265 87000 0.80 0.20
269 22000 0.55 0.15
270 41000 0.80 0.08
306 33000 1.40 0.08
316 71000 1.10 0.18
320 36000 1.10 0.10
326 49000 1.30 0.16
329 34000 1.10 0.20
330 79000 1.40 0.22
336 22000 1.00 0.08
340 30000 1.00 0.12
350 27000 0.60 0.08
360 42000 1.80 0.12
370 82000 1.20 0.18
376 61000 1.40 0.14
390 45000 1.30 0.10
400 40000 1.20 0.06
410 38000 0.80 0.12
420 41000 1.00 0.10
430 51000 1.00 0.10
440 24000 1.00 0.10
450 32000 1.10 0.15
461 200000 1.43 0.455
479 59000 1.20 0.16
480 29000 1.00 0.08
482 12500 1.50 0.06
492 6200 0.50 0.04
510 56000 1.10 0.16
530 26500 0.70 0.14
540 75000 1.00 0.20
550 38000 1.00 0.08
561 116000 1.20 0.22
563 3400 0.50 0.05
573 50000 0.70 0.10
575 43000 0.80 0.14
580 59000 1.10 0.16
607 51000 1.20 0.25
615 88000 1.05 0.25
621 92000 1.00 0.25
630 114000 0.90 0.25
657 88000 0.90 0.20
661 58000 0.90 0.18
665 20000 0.70 0.06
671 21000 1.00 0.12
706 42000 0.90 0.08
707 37000 1.30 0.10
710 48000 0.55 0.08
727 22500 0.60 0.08
730 97000 1.20 0.22
740 92000 0.80 0.16
741 3700 0.50 0.04
746 60000 0.55 0.10
751 340000 1.10 0.38
756 41000 0.90 0.18
760 57000 0.60 0.08
766 46000 0.70 0.10
773 20500 1.10 0.06
779 46000 1.00 0.10
787 43500 0.90 0.08
791 96000 0.80 0.15
810 36000 0.90 0.08
813 60000 1.20 0.12
820 37000 1.00 0.10
825 1800 0.50 0.04
840 29500 0.70 0.08
846 42000 1.00 0.12
849 38500 0.90 0.08
851 212000 1.20 0.28
860 65000 1.10 0.12
"""


@dataclass(frozen=True)
class _KommuneFigures:
    code: str
    population: int
    rate: float
    non_western_share: float


def _kommune_figures() -> dict[str, _KommuneFigures]:
    rows = [line.split() for line in _KOMMUNE_TABLE.strip().splitlines()]
    return {
        code: _KommuneFigures(code, int(pop), float(rate), float(share))
        for code, pop, rate, share in rows
    }


def expected_sizes(scale: float = 1.0) -> pd.Series:
    """Expected number of cases per kommune (index: 3-digit code), summing to 70,000 × scale.

    Each kommune's count in a synthetic frame is Poisson with this mean.
    """
    figures = _kommune_figures()
    weight = pd.Series({c: f.population * f.rate for c, f in figures.items()}, dtype=float)
    return weight / weight.sum() * NATIONAL_TOTAL * scale


@dataclass(frozen=True, eq=False)
class SyntheticFrame:
    """A synthetic frame and, kept apart, the latent truth for each of its cases."""

    frame: pd.DataFrame
    """One row per case, columns :data:`stikprove.frame.FRAME_COLUMNS` in canonical dtypes,
    sorted by kommune_code then case_id."""
    truth: pd.DataFrame
    """One row per case, columns :data:`TRUTH_COLUMNS` (strings; empty where the codebook
    leaves a field out, e.g. the health fields of an ineligible case), in the frame's order."""
    seed: int
    scale: float
    kommuner: tuple[str, ...]
    """The kommune codes asked for (all 98 by default)."""


def _kommune_rng(seed: int, code: str) -> np.random.Generator:
    """The random stream of one kommune: PCG64 seeded by (seed, kommune code)."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(int(code),)))
    )


def _case_ids(seed: int, code: str, n: int) -> list[str]:
    """Pseudonymous case ids: 16 hex characters of SHA-256 of (seed, kommune, serial number)."""
    return [
        hashlib.sha256(f"stikprove-synth|{seed}|{code}|{i}".encode()).hexdigest()[:16]
        for i in range(n)
    ]


def _choose(rng: np.random.Generator, codes: tuple[str, ...], probs: np.ndarray) -> np.ndarray:
    """One code per row of ``probs`` (rows sum to 1), drawn by inverse CDF."""
    cumulative = np.cumsum(probs, axis=1)
    cumulative[:, -1] = 1.0
    u = rng.random(len(probs))[:, None]
    index = (u > cumulative).sum(axis=1)
    return np.asarray(codes, dtype=object)[index]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


ORIGINS = ALLOWED_VALUES["origin"]
HEALTH = ("for_syg", "kan_med_skaanehensyn", "ingen_vaesentlig_barriere", "kan_ikke_vurderes")
INELIGIBLE_REASONS = (
    "ikke_aktivitetsparat_paa_opgoerelsesdato",
    "sag_afsluttet",
    "fraflyttet",
    "doed",
    "andet",
)
TRACKS = (
    "jobparat",
    "aktivitetsparat_med_indsats",
    "ressourceforloeb",
    "fleksjob",
    "foertidspension",
    "yderligere_afklaring",
    "uaendret",
)
EFFORTS = ("tilbud", "mentor", "begge", "ingen", "ukendt")

# P(recommended_track | health_assessment), rows in HEALTH order, columns in TRACKS order.
_TRACK_GIVEN_HEALTH = np.array(
    [
        [0.00, 0.05, 0.30, 0.05, 0.35, 0.15, 0.10],  # for_syg
        [0.05, 0.45, 0.15, 0.15, 0.00, 0.05, 0.15],  # kan_med_skaanehensyn
        [0.45, 0.40, 0.00, 0.00, 0.00, 0.05, 0.10],  # ingen_vaesentlig_barriere
        [0.00, 0.00, 0.00, 0.00, 0.00, 0.80, 0.20],  # kan_ikke_vurderes
    ]
)


def _synthesize_kommune(seed: int, code: str, mean_size: float) -> dict[str, np.ndarray]:
    """The frame and truth columns of one kommune, from its own random stream."""
    figures = _kommune_figures()[code]
    rng = _kommune_rng(seed, code)
    n = int(rng.poisson(mean_size))

    # Kommune-level latent rates.
    no_effort_rate = rng.uniform(0.12, 0.43)
    ineligible_rate = rng.uniform(0.02, 0.06)
    health_effect = rng.normal(0.0, 0.10)
    exempt_effect = rng.normal(0.0, 0.30)

    # Origin and sex.
    s = figures.non_western_share
    origin_probs = np.array([1 - s - 0.25 * s - 0.046, 0.040, s, 0.006, 0.25 * s])
    origin = _choose(rng, ORIGINS, np.tile(origin_probs, (n, 1)))
    nwi = origin == "indvandrer_ikke_vestlig"
    danish = origin == "dansk_oprindelse"
    descendant = np.isin(origin, ("efterkommer_vestlig", "efterkommer_ikke_vestlig"))
    woman = rng.random(n) < np.where(nwi, 0.55, 0.47)
    sex = np.where(woman, "kvinde", "mand")

    # Age (whole years) and years on benefit (one decimal, at most age - 18).
    age = 20 + rng.beta(2.0, 2.3, n) * 44 + np.where(nwi, 3.0, 0.0) - np.where(descendant, 6.0, 0.0)
    age = np.clip(np.rint(age), 18, 66).astype(int)
    years = rng.gamma(1.3, np.where(danish, 4.2, 3.2))
    years = np.clip(np.round(years, 1), 0.1, age - 18 + 0.1)
    years = np.round(years, 1)

    # Latent health: too ill is ~10 % among non-Western immigrant women, more among men and
    # among long-term recipients of Danish origin.
    base = np.select(
        [nwi & woman, nwi, danish & woman, danish],
        [_logit(0.09), _logit(0.12), _logit(0.17), _logit(0.19)],
        default=_logit(0.14),
    )
    slope = np.where(danish, 0.12, 0.03)
    p_ill = _sigmoid(base + slope * (years - 4.5) + 0.02 * (age - 42) + health_effect)
    p_unknown = np.full(n, 0.04)
    p_accommodate = (1 - p_ill - p_unknown) * np.clip(0.45 + 0.01 * (age - 42), 0.2, 0.8)
    p_none = 1 - p_ill - p_unknown - p_accommodate
    health = _choose(rng, HEALTH, np.column_stack([p_ill, p_accommodate, p_none, p_unknown]))

    # Health exemption at the frame date: mostly the genuinely ill, but far from only them.
    exempt_logit = np.select(
        [
            health == "for_syg",
            health == "kan_med_skaanehensyn",
            health == "ingen_vaesentlig_barriere",
        ],
        [_logit(0.92), _logit(0.55), _logit(0.30)],
        default=_logit(0.60),
    )
    exempt_logit = exempt_logit + np.where(nwi & woman, 0.4, 0.0) + exempt_effect
    health_exempt = rng.random(n) < _sigmoid(exempt_logit)

    # Eligibility at review.
    eligible = rng.random(n) >= ineligible_rate
    reason = _choose(rng, INELIGIBLE_REASONS, np.tile([0.20, 0.40, 0.25, 0.05, 0.10], (n, 1)))

    # Recommended track given health.
    track_probs = _TRACK_GIVEN_HEALTH[[HEALTH.index(h) for h in health]]
    track = _choose(rng, TRACKS, track_probs.reshape(n, len(TRACKS)))

    # Effort in the last 12 months: the kommune's no-effort rate, higher for exempted cases.
    p_no = no_effort_rate * np.where(health_exempt, 1.1, 0.9)
    p_unknown_effort = np.full(n, 0.03)
    rest = 1 - p_no - p_unknown_effort
    effort = _choose(
        rng,
        EFFORTS,
        np.column_stack([0.50 * rest, 0.20 * rest, 0.30 * rest, p_no, p_unknown_effort]),
    )

    # Last effort date in the register: within the year before the frame date if there was
    # effort; older or missing if not.
    days_back = np.where(
        np.isin(effort, ("tilbud", "mentor", "begge")),
        rng.integers(1, 366, n),
        rng.integers(366, 1500, n),
    )
    on_benefit_days = np.ceil(years * 365.25).astype(int)
    missing_date = (days_back > on_benefit_days) | (rng.random(n) < 0.05)
    frame_day = np.datetime64(FRAME_DATE.isoformat(), "D")
    last_effort = np.where(missing_date, np.datetime64("NaT", "D"), frame_day - days_back)

    blank = np.full(n, None, dtype=object)
    return {
        "case_id": np.asarray(_case_ids(seed, code, n), dtype=object),
        "kommune_code": np.full(n, code, dtype=object),
        "sex": sex,
        "origin": origin,
        "age": age,
        "years_on_benefit": years.astype(float),
        "category": np.full(n, "aktivitetsparat", dtype=object),
        "health_exempt": health_exempt.astype(bool),
        "last_effort_date": last_effort,
        "eligible": np.where(eligible, "ja", "nej").astype(object),
        "ineligible_reason": np.where(eligible, blank, reason),
        "health_assessment": np.where(eligible, health, blank),
        "recommended_track": np.where(eligible, track, blank),
        "effort_last_12_months": np.where(eligible, effort, blank),
    }


def _tables(columns: dict[str, np.ndarray]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame (canonical dtypes) and the truth (strings) from the generated columns."""
    frame = pd.DataFrame(
        {
            "case_id": pd.Series(columns["case_id"], dtype="str"),
            "kommune_code": pd.Series(columns["kommune_code"], dtype="str"),
            "sex": pd.Series(columns["sex"], dtype="str"),
            "origin": pd.Series(columns["origin"], dtype="str"),
            "age": pd.array(columns["age"], dtype="Int64"),
            "years_on_benefit": columns["years_on_benefit"],
            "category": pd.Series(columns["category"], dtype="str"),
            "health_exempt": columns["health_exempt"],
            "last_effort_date": pd.Series(columns["last_effort_date"]).astype("datetime64[ns]"),
        }
    )
    truth = pd.DataFrame({c: pd.Series(columns[c], dtype="str") for c in TRUTH_COLUMNS})
    return frame, truth


def _kommune_list(kommuner: Iterable[str | int] | None) -> tuple[str, ...]:
    """The 3-digit codes asked for, checked and de-duplicated, in code order."""
    figures = _kommune_figures()
    if kommuner is None:
        return tuple(sorted(figures))
    if isinstance(kommuner, str | int):
        kommuner = [kommuner]
    codes = sorted({kommune(k).code for k in kommuner})
    if not codes:
        raise StikproveError("kommuner: expected at least one kommune code, e.g. ['461']")
    return tuple(codes)


def synthesize_frame(
    seed: int, kommuner: Iterable[str | int] | None = None, scale: float = 1.0
) -> SyntheticFrame:
    """Make a synthetic frame (and its latent truth) for the given kommuner (default: all 98).

    ``seed`` fixes everything; ``kommuner`` takes codes or names ('461', 461, 'Odense');
    ``scale`` multiplies every kommune's expected size (1.0: about 70,000 cases nationally).
    A kommune's cases do not depend on which other kommuner are asked for.
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise StikproveError(f"seed must be a non-negative whole number, got {seed!r}")
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise StikproveError(f"scale must be a positive number, got {scale!r}")
    codes = _kommune_list(kommuner)
    means = expected_sizes(scale)
    parts = [_synthesize_kommune(int(seed), code, float(means[code])) for code in codes]
    frame, truth = _tables({c: np.concatenate([p[c] for p in parts]) for c in parts[0]})
    if not frame["case_id"].is_unique:  # pragma: no cover (2^64 ids; never seen)
        raise StikproveError(f"seed {seed}: synthetic case ids collided; try another seed")
    order = frame.sort_values(["kommune_code", "case_id"], kind="stable").index
    frame = frame.loc[order].reset_index(drop=True)
    truth = truth.loc[order].reset_index(drop=True)
    return SyntheticFrame(frame=frame, truth=truth, seed=int(seed), scale=scale, kommuner=codes)


def truth_to_csv_text(truth: pd.DataFrame) -> str:
    """The truth table as CSV text (UTF-8, ``\\n`` line ends, empty cells for missing)."""
    return truth.loc[:, list(TRUTH_COLUMNS)].to_csv(index=False, lineterminator="\n")


def write_synthetic_frame(
    directory: str | Path,
    seed: int,
    kommuner: Iterable[str | int] | None = None,
    scale: float = 1.0,
    replace: bool = True,
) -> SyntheticFrame:
    """Make a synthetic frame and write ``frame.csv`` and ``truth.csv`` into ``directory``.

    The folder is created if missing; each file is written atomically. The same arguments
    give byte-identical files. With ``replace=False`` an existing ``frame.csv`` or
    ``truth.csv`` that differs from what would be written is refused (StikproveError) and
    nothing is written: a study drawn from that frame would no longer match it (``draw
    --check`` and ``--new-round`` refuse a changed frame). Returns the
    :class:`SyntheticFrame` written.
    """
    synthetic = synthesize_frame(seed, kommuner=kommuner, scale=scale)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise StikproveError(f"--out {directory}: expected a folder, but it is a file")
    texts = {
        "frame.csv": frame_to_csv_text(synthetic.frame),
        "truth.csv": truth_to_csv_text(synthetic.truth),
    }
    if not replace:
        differing = [
            name
            for name, text in texts.items()
            if (directory / name).exists()
            and (directory / name).read_bytes() != text.encode("utf-8")
        ]
        if differing:
            raise StikproveError(
                f"--out {directory}: {' and '.join(differing)} already hold(s) another "
                "synthetic frame (other seed, kommuner or scale); a study drawn from it would "
                "no longer match its frame. Choose another folder, or give --force to "
                "replace it (nothing was written)"
            )
    private_folder(directory)
    for name, text in texts.items():
        atomic_write_text(directory / name, text, private=False)
    return synthetic


def simulate_reviews(
    truth: pd.DataFrame,
    case_ids: Iterable[str],
    seed: int,
    disagreement: float = 0.0,
    review_date: date = date(2017, 3, 1),
) -> pd.DataFrame:
    """Simulated re-assessments of ``case_ids`` by a reviewer who sees the latent truth.

    For demos and tests only: returns one row per case with every codebook field a reviewer
    fills in (no ``note``), as a filled worklist would hold them. The latent truth gives
    eligibility, the health assessment, the recommended track and the effort; evidence,
    certificate and confidence are drawn. With ``disagreement`` > 0 that share of eligible
    cases gets another health assessment (a second reviewer who disagrees), so that
    reviewer agreement is not trivially perfect. Randomness comes from ``seed`` only.
    """
    ids = pd.Index([str(c) for c in case_ids], name="case_id")
    known = truth.set_index("case_id")
    unknown = ids.difference(known.index)
    if len(unknown):
        raise StikproveError(
            f"simulate_reviews: {len(unknown)} case ids are not in the synthetic truth "
            f"(e.g. {unknown[0]!r}); expected cases of the same synthetic frame"
        )
    rows = known.loc[ids].reset_index()
    rng = np.random.Generator(np.random.PCG64(seed))
    eligible = rows["eligible"].eq("ja").to_numpy()
    n = len(rows)
    health = rows["health_assessment"].to_numpy(dtype=object).copy()
    flip = eligible & (rng.random(n) < disagreement)
    health[flip] = rng.choice(np.array(HEALTH[:3], dtype=object), size=int(flip.sum()))
    out = pd.DataFrame(
        {
            "case_id": rows["case_id"],
            "eligible": rows["eligible"],
            "ineligible_reason": rows["ineligible_reason"].where(~eligible, None),
            "health_assessment": np.where(eligible, health, None),
            "recommended_track": rows["recommended_track"].where(eligible, None),
            "effort_last_12_months": rows["effort_last_12_months"].where(eligible, None),
            "evidence": np.where(
                eligible,
                rng.choice(
                    np.array(["LAE265", "statusattest", "journal", "samtale", "ingen"]),
                    size=n,
                    p=[0.45, 0.15, 0.25, 0.1, 0.05],
                ),
                None,
            ),
            "new_certificate_requested": np.where(
                eligible, np.where(rng.random(n) < 0.3, "ja", "nej"), None
            ),
            "confidence": np.where(
                eligible, np.where(rng.random(n) < 0.8, "sikker", "nogen_tvivl"), None
            ),
            "review_date": review_date.isoformat(),
        }
    )
    return out.astype(object).where(out.notna(), None)
