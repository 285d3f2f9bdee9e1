"""Preliminary results of a kommune report while its review is still running.

While not every sampled case of a kommune is reviewed, its report shows, besides the
ordinary design-based estimates, the interim analysis of
:func:`stikprove.estimation.interim.interim_from_export`: per group of the estimates table
(sex × origin, sex, origin, all; only groups that are unions of whole strata) the current
interval of the confidence sequence, which stays valid however often the report is rerun
and looked at. Once every sampled case of the kommune is reviewed the section is left out
and the design-based intervals are the result (:func:`is_open`).

Disclosure control is that of the report's estimates tables (:func:`disclose_interim`, over
all kommuner at once, so a kommune's suppressed cell cannot be recovered from the other
kommuner's reports): a group with 1 to threshold − 1 analysed cases, or whose share implies
1 to threshold − 1 cases with or without the outcome (2 of 20), is suppressed with its
complements, its estimate and interval hidden with it. The NCHS presentation standard is
not applied here: it is defined on fixed-sample (Korn–Graubard) intervals with a standard
error and degrees of freedom, which a confidence sequence has not; the sequence's width is
shown as it is, under the label that the figures are preliminary.

The tables hold counts and interval limits only, never a case id or a case-level row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from stikprove.estimation.interim import interim_from_export
from stikprove.release import disclosure as dc
from stikprove.reports.content import (
    GROUPINGS,
    StudyData,
    cached_study,
    kommune_rows,
    stack_groups,
    study_threshold,
)

__all__ = ["INTERIM_TABLE_COLUMNS", "InterimProgress", "ReviewShare", "disclose_interim",
           "interim_progress", "interim_table", "is_open", "review_share"]  # fmt: skip

INTERIM_TABLE_COLUMNS = ["group", "sex", "origin", "n", "estimate", "ci_low", "ci_high",
                         "disclosure"]  # fmt: skip
"""Columns of :func:`interim_table`:

- ``group``: the row's label in the report language;
- ``sex``, ``origin``: the group's codes (missing for a margin);
- ``n``: cases analysed (in the unbroken run from the top of their stratum's list, with
  an outcome for the indicator);
- ``estimate``: the stratified share of positives among them (missing while a stratum of
  the group has no analysed case);
- ``ci_low``, ``ci_high``: the confidence sequence's current interval for the group's rate;
- ``disclosure``: "small", "complementary" or "" (see
  :data:`stikprove.release.disclosure.DISCLOSURE_CODES`).
"""


def _kommune_rows(study: StudyData, kommune: str) -> pd.DataFrame:
    return study.data[study.data["kommune_code"].astype(str) == str(kommune)]


def is_open(study: StudyData, kommune: str) -> bool:
    """True while some sampled case of the kommune (planned or activated reserve) is not yet
    reviewed: its report then shows the preliminary results."""
    rows = _kommune_rows(study, kommune)
    return bool(len(rows)) and not bool(rows["reviewed"].astype(bool).all())


def _groupings(study: StudyData) -> list[list[str]]:
    """The report's groupings that are unions of whole strata (interim domains must be)."""
    strata = set(study.strata_columns)
    return [list(by) for by in GROUPINGS if set(by) <= strata]


@lru_cache(maxsize=32)
def _interim_all(path: str, mtime: float, outcome: str, by: tuple[str, ...], level: float,
                 threshold: int) -> pd.DataFrame:  # fmt: skip
    """Interim results for every kommune × ``by`` group of the study, disclosed as one table
    over all kommuner (cached: a batch of kommune reports computes it once)."""
    study = cached_study(path, mtime)
    table = interim_from_export(study.data, outcome, by=["kommune_code", *by],
                                confidence_level=level)  # fmt: skip
    table["kommune_code"] = table["kommune_code"].astype(str)
    return disclose_interim(table, ["kommune_code", *by], threshold)


def disclose_interim(table: pd.DataFrame, by: Sequence[str], threshold: int) -> pd.DataFrame:
    """An :func:`~stikprove.estimation.interim.interim_from_export` table made fit to publish,
    by the rule of the report's estimates tables
    (:func:`stikprove.release.disclosure.disclose_estimates` without the NCHS standard): a
    group is suppressed, with its complements over ``by``, when its analysed cases ``n``,
    or the cases with or without the outcome that ``n`` and the estimate imply
    (round(estimate × n): within a stratum the exact count), are from 1 to threshold − 1;
    its estimate and interval are hidden with it.

    Columns: the ``by`` columns, ``n`` (the analysed cases), ``estimate``, ``ci_low``,
    ``ci_high``, ``disclosure``."""
    shown = table[[*by, "analysed", "estimate", "ci_low", "ci_high"]]
    shown = shown.rename(columns={"analysed": "n"})
    return dc.disclose_estimates(shown, by, threshold, nchs=False)


def interim_table(
    study: StudyData,
    outcome: str,
    kommune: str,
    *,
    threshold: int | None = None,
    language: str = "da",
    confidence_level: float | None = None,
) -> pd.DataFrame:
    """The kommune's preliminary results for ``outcome`` per group, disclosed; columns
    :data:`INTERIM_TABLE_COLUMNS`. The level defaults to the protocol's."""
    level = study.confidence_level if confidence_level is None else confidence_level
    threshold = study_threshold(study, threshold)
    tables = [
        (by, kommune_rows(
            _interim_all(str(study.path), study.mtime, outcome, tuple(by), level, threshold),
            str(kommune),
        ))
        for by in _groupings(study)
    ]  # fmt: skip
    return stack_groups(tables, INTERIM_TABLE_COLUMNS, language)


@dataclass(frozen=True)
class InterimProgress:
    """The counts the preliminary section's sentence quotes for a kommune: ``analysed``
    (cases in the interim analysis: the unbroken runs from the top of the lists) and
    ``waiting`` (reviewed cases that wait on an earlier case of their list). A count from 1
    to threshold − 1 is None (suppressed). The progress table publishes the reviewed cases,
    and reviewed − analysed = waiting: while ``waiting`` is suppressed, ``analysed`` is
    published rounded down to a multiple of the threshold (the sentence says "at least"), so
    that the difference spans the threshold's number of values and cannot be pinned to 1..4."""

    analysed: int | None
    waiting: int | None
    threshold: int


def _shown(count: int, threshold: int) -> int | None:
    return None if bool(dc.primary_suppression(np.array([count]), threshold)[0]) else count


def interim_progress(
    study: StudyData, kommune: str, threshold: int | None = None
) -> InterimProgress:
    """How many of the kommune's cases are analysed and how many wait on an earlier case,
    small counts suppressed (:class:`InterimProgress`)."""
    threshold = study_threshold(study, threshold)
    rows = _kommune_rows(study, kommune)
    in_run = rows["in_complete_run"].astype(bool)
    waiting = rows["reviewed"].astype(bool) & ~in_run
    analysed, waits = int(in_run.sum()), _shown(int(waiting.sum()), threshold)
    if waits is None:
        analysed -= analysed % threshold
    return InterimProgress(_shown(analysed, threshold), waits, threshold)


@dataclass(frozen=True)
class ReviewShare:
    """What an open review's report leads with (:func:`review_share`): ``reviewed``, the
    share of the kommune's sampled cases reviewed (None when the count of reviewed cases is
    from 1 to threshold − 1: suppressed), and ``covered``, the share of the kommune's
    population in strata with a case with an outcome for the indicator (what its overall
    figure covers; :func:`stikprove.estimation.partial.partial_coverage`)."""

    reviewed: float | None
    covered: float


def review_share(
    study: StudyData, kommune: str, outcome: str, threshold: int | None = None
) -> ReviewShare:
    """The share reviewed and the share of the population covered for the kommune's lead
    sentence while its review is open (:class:`ReviewShare`)."""
    from stikprove.estimation.partial import partial_coverage

    rows = _kommune_rows(study, kommune)
    done = int(rows["reviewed"].astype(bool).sum())
    reviewed = None if _shown(done, study_threshold(study, threshold)) is None else done / len(rows)
    coverage = partial_coverage(rows, outcome, "stratum", "population_size")
    return ReviewShare(reviewed, float(coverage["population_share_covered"].iloc[0]))
