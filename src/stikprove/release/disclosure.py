"""Disclosure control: the one gate every aggregate passes before it leaves the package.

Two rules, applied to the tables of the reports and of the ``estimate``, ``compare`` and
``flag`` commands and to every exported result file (docs/reports.md):

1. **Small counts**. A count from 1 to ``threshold - 1`` (the
   protocol's ``disclosure_threshold``, default 5) is suppressed, and so are the percentages
   and intervals built on it. Zero is shown. *Complementary (secondary) suppression* then
   hides further cells so that no suppressed count can be recovered by subtraction from a
   total and the other cells of its group: whenever a group of rows that adds up to a
   published total has exactly one hidden member, the smallest non-zero shown member is
   hidden too, until no group has exactly one (:func:`complementary_suppression`). A
   suppressed row has all its counts and estimates hidden.
2. **Reliability of proportions** (Parker et al. 2017, the NCHS Data Presentation
   Standards for Proportions), :func:`nchs_presentation`, as the standard's authors' own R
   package surveytable applies it: judged on the Korn–Graubard interval with the design
   effect floored at 1 (effective n capped at n), whatever interval a table shows; a
   proportion is suppressed when its effective sample size is under 30, or its interval is 30
   percentage points wide or more, or its interval is wider than 5 points and more than
   130 % of the estimate; a shown proportion is flagged for review when the interval is more
   than 130 % of its complement, when its degrees of freedom are under 8, or when it is 0 %
   or 100 %.

Written by hand: no maintained Python library implements either rule for survey tables
(sdcMicro and surveytable, which implements the NCHS standard, are R). The NCHS rule is
checked against surveytable's own code (tests/reference/nchs_surveytable.R).

The functions return new DataFrames and never change their input. Every disclosed table
carries a column ``disclosure`` with one code per row (:data:`DISCLOSURE_CODES`; several
joined by ``","``) that :mod:`stikprove.reports.text` turns into footnotes in Danish or
English.

References
----------
Parker, J. D., Talih, M., Malec, D. J., et al. (2017). National Center for Health Statistics
Data Presentation Standards for Proportions. Vital and Health Statistics 2(175). Hyattsville,
MD: National Center for Health Statistics.

Strashny, A. (2026). surveytable: Streamlining Complex Survey Estimation and Reliability
Assessment in R. R package version 0.10.0 (CDC/NCHS), https://CRAN.R-project.org/package=surveytable
(R/svyciprop_adjusted.R ``svyciprop_adjusted``, R/z_lpe.R ``.lpe_percents``, R/tab.R ``tab``).

Hundepool, A., et al. (2012). Statistical Disclosure Control. Wiley (ch. 4, primary and
secondary cell suppression in frequency tables).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stikprove.errors import StikproveError

__all__ = [
    "DEFAULT_THRESHOLD",
    "DISCLOSURE_CODES",
    "ESTIMATE_VALUE_COLUMNS",
    "NOT_FOR_PUBLICATION",
    "DisclosureError",
    "check_grouping",
    "check_threshold",
    "complementary_suppression",
    "disclose_comparison",
    "disclose_counts",
    "disclose_estimates",
    "mark_raw",
    "nchs_presentation",
    "primary_suppression",
]

DEFAULT_THRESHOLD = 5
"""Counts under this are suppressed unless the protocol says otherwise (docs/reports.md)."""

NOT_FOR_PUBLICATION = "NOT FOR PUBLICATION: raw table without disclosure control"
"""The mark a raw table carries (column ``publication``, or a header line)."""

DISCLOSURE_CODES = {
    "": "shown",
    "small": "count under the threshold: suppressed",
    "complementary": "suppressed so that a small count cannot be recovered from a total",
    "nchs_n_eff": "effective sample size under 30 (NCHS): percentage suppressed",
    "nchs_width": "interval 30 percentage points wide or more (NCHS): percentage suppressed",
    "nchs_relative_width": "interval wider than 130 % of the estimate (NCHS): suppressed",
    "nchs_complement": "interval wider than 130 % of the complement (NCHS): review",
    "nchs_df": "fewer than 8 degrees of freedom (NCHS): review",
    "nchs_zero": "estimate of 0 % or 100 % (NCHS): review",
    "model_rounded": "model-based estimate rounded to 1 percentage point so that it cannot "
    "reveal a suppressed count",
    "model_synthetic": "model-based estimate from the covariates alone (synthetic), as the "
    "model-based estimate could reveal a suppressed count",
}
"""Codes of the ``disclosure`` column and what each means (English; Danish in text.py)."""

SUPPRESSING_CODES = frozenset({"small", "complementary", "nchs_n_eff", "nchs_width",
                               "nchs_relative_width"})  # fmt: skip

ESTIMATE_VALUE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff")
"""Columns of an estimates table that are hidden with a suppressed proportion."""


class DisclosureError(StikproveError):
    """A table or threshold that disclosure control cannot work with."""


def check_threshold(threshold: object) -> int:
    """The disclosure threshold as an int ≥ 1, or a clear error."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)):
        raise DisclosureError(f"disclosure threshold must be a whole number ≥ 1; got {threshold!r}")
    if threshold < 1:
        raise DisclosureError(f"disclosure threshold must be a whole number ≥ 1; got {threshold}")
    return int(threshold)


def _check_columns(table: pd.DataFrame, columns: Sequence[str], role: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DisclosureError(
            f"{role} column(s) {missing} not in the table; columns are {list(table.columns)}"
        )


# ---- rule 1: small counts -----------------------------------------------------------------


def primary_suppression(counts: np.ndarray, threshold: int = DEFAULT_THRESHOLD) -> np.ndarray:
    """True where a count is from 1 to ``threshold - 1`` (missing counts are not suppressed).

    >>> primary_suppression(np.array([0, 1, 4, 5, 12]), 5).tolist()
    [False, True, True, False, False]
    """
    threshold = check_threshold(threshold)
    counts = np.asarray(counts, dtype=float)
    with np.errstate(invalid="ignore"):
        return (counts >= 1) & (counts < threshold)


def complementary_suppression(
    counts: np.ndarray,
    suppressed: np.ndarray,
    groups: Sequence[Sequence[int]],
) -> np.ndarray:
    """Extend ``suppressed`` so that no group reveals a hidden count by subtraction.

    Each group lists the rows whose counts add up to a total that is (or may be) published;
    a published total row can itself be a member (``sum(cells) - total = 0`` is the same kind
    of relation). While some group has exactly one hidden member, the shown member of that
    group with the smallest non-zero count (the first on ties) is hidden too; zeros are never
    chosen, because hiding a zero does not hide the difference. A group whose other members are
    all zero cannot protect its hidden member: its total must then not be published, which the
    caller handles by putting the total row into the group (it is hidden like any member).

    Returns a new boolean array; ``suppressed`` is not changed.

    >>> complementary_suppression(np.array([3, 40, 12]), np.array([True, False, False]),
    ...                           [[0, 1, 2]]).tolist()
    [True, False, True]
    """
    counts = np.asarray(counts, dtype=float)
    hidden = np.array(suppressed, dtype=bool, copy=True)
    members = [np.asarray(g, dtype=int) for g in groups if len(g) > 1]
    changed = True
    while changed:
        changed = False
        for group in members:
            if hidden[group].sum() != 1:
                continue
            candidates = group[~hidden[group] & (counts[group] > 0)]
            if candidates.size == 0:
                continue
            pick = candidates[np.argmin(counts[candidates])]
            hidden[pick] = True
            changed = True
    return hidden


def _partitions(table: pd.DataFrame, by: Sequence[str], total: np.ndarray | None) -> list:
    """Groups of rows that add up to a published total: for each ``by`` column, the rows that
    share the values of the other ``by`` columns (the margins of a cross-table), plus the
    ``total`` rows (if any) in the group of all other rows."""
    rows = np.arange(len(table))
    is_total = np.zeros(len(table), dtype=bool) if total is None else np.asarray(total, bool)
    cells = rows[~is_total]
    groups: list[np.ndarray] = []
    if len(by) == 0:
        groups.append(rows)
        return groups
    frame = table.iloc[cells][list(by)].astype(str)
    for column in by:
        others = [c for c in by if c != column]
        if not others:
            groups.append(np.concatenate([cells, rows[is_total]]))
            continue
        for _, index in frame.groupby(others, sort=False).indices.items():
            groups.append(cells[index])
    if len(by) > 1 and is_total.any():
        groups.append(np.concatenate([cells, rows[is_total]]))
    return groups


def disclose_counts(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    by: Sequence[str] = (),
    threshold: int = DEFAULT_THRESHOLD,
    *,
    total: Sequence[bool] | np.ndarray | None = None,
    hide_columns: Sequence[str] = (),
) -> pd.DataFrame:
    """A copy of ``table`` with small counts and their complements suppressed.

    Parameters
    ----------
    table
        One row per cell; the ``by`` columns name the cell, ``count_columns`` hold its counts
        (e.g. population_size and sample_size of a stratum).
    count_columns
        Counts checked for the threshold; a row is suppressed when any of them is from 1 to
        ``threshold - 1``. The first one decides which row is suppressed as a complement.
    by
        The columns that span the table (its margins are the published totals).
    threshold
        The protocol's disclosure threshold.
    total
        Optional boolean mask of rows that are totals of all the other rows.
    hide_columns
        Further columns hidden (set missing) in suppressed rows, e.g. percentages.

    Returns
    -------
    pandas.DataFrame
        The same rows and columns, counts as nullable integers (``<NA>`` where suppressed),
        ``hide_columns`` missing where suppressed, and a column ``disclosure`` ("small",
        "complementary" or "").
    """
    threshold = check_threshold(threshold)
    count_columns, by = list(count_columns), list(by)
    _check_columns(table, [*count_columns, *by, *hide_columns], "disclosure")
    out = table.copy().reset_index(drop=True)
    counts = out[count_columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    primary = primary_suppression(counts, threshold).any(axis=1) if len(out) else np.array([])
    hidden = complementary_suppression(counts[:, 0], primary, _partitions(out, by, total))
    codes = np.where(primary, "small", np.where(hidden, "complementary", ""))
    for column in count_columns:
        values = pd.to_numeric(out[column], errors="coerce").round().astype("Int64")
        out[column] = values.mask(pd.Series(hidden))
    for column in hide_columns:
        out[column] = out[column].mask(pd.Series(hidden))
    out["disclosure"] = _join_codes(out.get("disclosure"), codes)
    return out


def _join_codes(existing: pd.Series | None, new: np.ndarray) -> pd.Series:
    new = pd.Series(new, dtype=object)
    if existing is None:
        return new
    old = existing.reset_index(drop=True).fillna("").astype(str)
    return pd.Series([",".join(c for c in (a, b) if c) for a, b in zip(old, new, strict=True)])


# ---- rule 2: NCHS presentation standards for proportions -------------------------------------


def nchs_presentation(
    estimate: np.ndarray | Sequence[float],
    se: np.ndarray | Sequence[float],
    n: np.ndarray | Sequence[float],
    df: np.ndarray | Sequence[float],
    deff: np.ndarray | Sequence[float] | None = None,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """The NCHS Data Presentation Standards for Proportions (Parker et al. 2017) for each
    domain, as CDC's R package surveytable (by the standard's authors at NCHS) applies them
    with ``set_opts(mode = "nchs")`` (``lpe = TRUE``, ``adj = "nchs"``).

    The one verdict per (domain, indicator, confidence level): it depends on the estimate, its
    design effect, n and df, never on the interval a table shows (``--method``).

    1. The interval judged is the Korn–Graubard interval with the design effect floored at 1
       (:func:`stikprove.estimation.design_intervals.nchs_korn_graubard`, surveytable's
       ``svyciprop_adjusted(adj = "nchs")`` in R/svyciprop_adjusted.R and the edge rules of
       ``tab()`` in R/tab.R): effective sample size n_eff = min(n, n/deff · (t_{n-1}/t_df)²)
       (0 when df ≤ 0; n when p is 0 or 1 or the domain has no sampling error), and the
       Beta quantiles at x = p·n_eff.
    2. The decision steps of surveytable's ``.lpe_percents`` (R/z_lpe.R), in its order:
       n_eff < 30: **suppress** (``nchs_n_eff``); else width w = high − low (taken as 0 when
       p is 0 or 1) ≤ 0.05: **present**; else w ≥ 0.30: **suppress** (``nchs_width``); else
       w/p > 1.30: **suppress** (``nchs_relative_width``); else **present**.
    3. A presented proportion is **flagged for review** (surveytable's footnotes): w/(1 − p)
       > 1.30 when step 2 reached the relative width (``Pc``, ``nchs_complement``); df < 8
       (``Pdf``, ``nchs_df``); p is 0 or 1 (``P0``, ``nchs_zero``).

    Parameters
    ----------
    estimate, n, df
        The domain's proportion, its cases with an outcome, and its design degrees of freedom
        (cases minus strata in the domain, R's ``degf`` of the domain subset).
    se, deff
        The precision of the estimate. ``deff`` is the design effect n·v/(p(1-p)) of R's
        linearization variance v (the ``deff`` column of
        :func:`~stikprove.estimation.estimate_proportions`, the same under every interval
        method; 0 for a domain without sampling error). When ``deff`` is None it is taken
        from ``se``, as n·se²/(p(1-p)) (surveytable's p(1-p)/SE²): pass ``deff`` whenever the
        table's se is not R's (the default method's pooled variance), or the verdict would
        follow the method.
    confidence_level
        The level of the interval judged (surveytable's ``tab()`` uses 0.95).

    Returns
    -------
    pandas.DataFrame
        One row per domain: ``nchs_low``, ``nchs_high`` (the interval judged), ``n_eff`` (the
        effective sample size judged, the one published), ``ci_width`` and
        ``relative_width`` (as judged: 0 where p is 0 or 1), ``present`` (bool) and ``nchs``
        (the codes of :data:`DISCLOSURE_CODES` that apply, joined by ","). A missing
        estimate is not presented (``nchs_n_eff``).

    Examples
    --------
    A stratum of N = 60 with n = 40 drawn and 6 events: deff = 40/117, so the unfloored
    effective n is 117 (interval 9.1-22.8 %, relative width 0.91), but the standard floors the
    design effect at 1: n_eff = 40, interval 5.7-29.8 %, relative width 1.61, suppressed.

    >>> r = nchs_presentation([0.15], [0.0330], [40], [39], deff=[40 / 117]).iloc[0]
    >>> float(r["n_eff"]), round(float(r["relative_width"]), 2), r["nchs"]
    (40.0, 1.61, 'nchs_relative_width')
    """
    from stikprove.estimation.design_intervals import design_effect, nchs_korn_graubard

    p = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    n = np.asarray(n, dtype=float)
    df = np.asarray(df, dtype=float)
    lengths = {len(np.atleast_1d(a)) for a in (p, se, n, df)}
    if deff is not None:
        deff = np.asarray(deff, dtype=float)
        lengths.add(len(np.atleast_1d(deff)))
    if len(lengths) != 1:
        raise DisclosureError(
            "estimate, se, n, df and deff must have one value per domain each; got lengths "
            f"{sorted(lengths)}"
        )
    p, se, n, df = (np.atleast_1d(a) for a in (p, se, n, df))
    if deff is None:
        deff = design_effect(p, se**2, n)
    deff = np.atleast_1d(deff)
    interval = nchs_korn_graubard(p, deff, df, n, confidence_level)
    n_eff = np.asarray(interval.n_eff, dtype=float)
    low, high = np.asarray(interval.low, float), np.asarray(interval.high, float)
    edge = (p == 0) | (p == 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(edge, 0.0, high - low)
        relative = np.where(edge, 0.0, width / p)
        complement = np.where(edge, 0.0, width / (1 - p))
    missing = ~np.isfinite(p) | ~np.isfinite(n_eff)
    small = missing | (n_eff < 30)
    narrow = ~small & (width <= 0.05)
    wide = ~small & ~narrow & (width >= 0.30)
    relatively_wide = ~small & ~narrow & ~wide & (relative > 1.30)
    present = ~(small | wide | relatively_wide)
    review_complement = present & ~narrow & (complement > 1.30)
    review_df = present & ~(df >= 8)
    review_zero = present & edge
    names = ("nchs_n_eff", "nchs_width", "nchs_relative_width", "nchs_complement", "nchs_df",
             "nchs_zero")  # fmt: skip
    hits = np.column_stack([small, wide, relatively_wide, review_complement, review_df,
                            review_zero])  # fmt: skip
    codes = [",".join(name for name, hit in zip(names, row, strict=True) if hit) for row in hits]
    return pd.DataFrame(
        {
            "nchs_low": low,
            "nchs_high": high,
            "n_eff": n_eff,
            "ci_width": width,
            "relative_width": relative,
            "present": present,
            "nchs": codes,
        }
    )


# ---- the two rules on the package's tables ---------------------------------------------------


def disclose_estimates(
    estimates: pd.DataFrame,
    by: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    *,
    total: Sequence[bool] | np.ndarray | None = None,
    nchs: bool = True,
    confidence_level: float = 0.95,
) -> pd.DataFrame:
    """An estimates table (:func:`stikprove.estimate_proportions`) made fit to publish.

    Rows whose ``n`` is under ``threshold``, or whose estimate implies from 1 to
    ``threshold - 1`` cases with or without the outcome (round(estimate × n), e.g. 2 % of
    200), are suppressed with their complements (:func:`disclose_counts`; all value columns
    hidden); then, with ``nchs`` (default), the
    proportions failing :func:`nchs_presentation` lose their estimate, se, interval,
    n_eff and deff, while ``n`` stays. Further columns that hold counts (``n_*``, e.g. of
    bounds) or values built on the estimate (``estimate_*``, ``p_*``, ``flagged``) are
    hidden with the row. The column ``disclosure`` says why (see :data:`DISCLOSURE_CODES`).

    ``by`` defaults to the columns before ``n``. The NCHS verdict is
    :func:`nchs_presentation` on the rows' ``estimate``, ``se``, ``n``, ``df`` and ``deff``
    (the design effect of R's variance, the same under every interval method) at
    ``confidence_level`` (the table's): it does not depend on the interval the table shows.
    The table's ``n_eff`` becomes the effective sample size the verdict judged.
    """
    if "n" not in estimates.columns:
        raise DisclosureError(
            f"an estimates table needs the column 'n'; columns are {list(estimates.columns)}"
        )
    by = list(estimates.columns[: list(estimates.columns).index("n")]) if by is None else list(by)
    values = [
        c for c in estimates.columns
        if c not in (*by, "n", "disclosure")
        and (c in ESTIMATE_VALUE_COLUMNS or str(c).startswith(("estimate", "ci_", "p_", "se"))
             or c in ("flagged", "tested", "df", "t", "z", "statistic", "difference"))
    ]  # fmt: skip
    counts = ["n", *[c for c in estimates.columns if str(c).startswith("n_") and c != "n_eff"]]
    standard = None
    if nchs and "estimate" in estimates.columns:
        standard = _nchs_on(estimates.reset_index(drop=True), confidence_level)
    # a percentage the NCHS rule hides discloses no count; the others are checked
    published = None if standard is None else standard["present"].to_numpy()
    implied = _implied_counts(estimates, published)
    out = disclose_counts(
        pd.concat([estimates.reset_index(drop=True), implied], axis=1),
        [*counts, *implied.columns], by, threshold, total=total, hide_columns=values,
    ).drop(columns=list(implied.columns))  # fmt: skip
    if standard is None:
        return out
    if "n_eff" in out.columns:
        out["n_eff"] = standard["n_eff"].where(out["n_eff"].notna())
    shown = out["disclosure"].eq("")
    fails = shown & ~standard["present"]
    estimate_values = [c for c in values if c not in ("df",)]
    for column in estimate_values:
        out[column] = out[column].mask(fails)
    codes = standard["nchs"].where(shown, "")
    out["disclosure"] = _join_codes(out["disclosure"], codes.to_numpy())
    return out


def _nchs_on(table: pd.DataFrame, confidence_level: float) -> pd.DataFrame:
    """:func:`nchs_presentation` on an estimates table's rows (``deff`` from the table when it
    has the column, else from ``se``)."""
    _check_columns(table, ["se", "df"], "NCHS standard")
    deff = pd.to_numeric(table["deff"], errors="coerce") if "deff" in table.columns else None
    return nchs_presentation(
        pd.to_numeric(table["estimate"], errors="coerce"),
        pd.to_numeric(table["se"], errors="coerce"),
        pd.to_numeric(table["n"], errors="coerce"),
        pd.to_numeric(table["df"], errors="coerce"),
        deff, confidence_level,
    )  # fmt: skip


def _implied_counts(estimates: pd.DataFrame, published: np.ndarray | None) -> pd.DataFrame:
    """The counts a reader derives from a row's ``n`` and ``estimate``: the cases with the
    outcome, round(estimate × n), and those without, n minus that. Within a stratum (every
    case weighted alike) they are the exact counts, so 2 % of n = 200 discloses 4 cases; they
    are checked against the threshold like ``n`` itself. Missing where there is no estimate
    or where ``published`` (one bool per row, None for all) says it is not shown."""
    columns = ["_implied_with", "_implied_without"]
    if "estimate" not in estimates.columns:
        return pd.DataFrame(columns=columns, index=range(len(estimates)), dtype=float)
    n = pd.to_numeric(estimates["n"], errors="coerce").to_numpy(dtype=float)
    p = pd.to_numeric(estimates["estimate"], errors="coerce").to_numpy(dtype=float)
    with_outcome = np.round(p * n)
    # a weighted share can round to no case (1.07 % of 37 is 0.4): any share strictly between
    # 0 and 1 stands for at least one case with and one without the outcome
    with_outcome = np.where((p > 0) & (p < 1), np.clip(with_outcome, 1, np.maximum(n - 1, 1)),
                            with_outcome)
    if published is not None:
        with_outcome = np.where(published, with_outcome, np.nan)
    return pd.DataFrame({columns[0]: with_outcome, columns[1]: n - with_outcome})


def disclose_comparison(row: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """A one-row comparison (:meth:`GroupComparison.to_frame`) with everything but the group
    names and the method hidden when either group has fewer than ``threshold`` cases, or
    when a group's estimate implies from 1 to ``threshold - 1`` cases with or without the
    outcome (round(estimate × n), as :func:`disclose_estimates` checks it)."""
    threshold = check_threshold(threshold)
    _check_columns(row, ["n_first", "n_second"], "comparison")
    out = row.copy().reset_index(drop=True)
    counts = [out[["n_first", "n_second"]].to_numpy(dtype=float)]
    for group in ("first", "second"):
        if f"estimate_{group}" in out.columns:
            pair = out[[f"n_{group}", f"estimate_{group}"]].set_axis(["n", "estimate"], axis=1)
            counts.append(_implied_counts(pair, None).to_numpy(dtype=float))
    small = primary_suppression(np.hstack(counts), threshold)
    hidden = small.any(axis=1)
    keep = {"first", "second", "method", "confidence_level", "interval_method"}
    for column in out.columns:
        if column not in keep:
            out[column] = out[column].astype(object).mask(pd.Series(hidden))
    out["disclosure"] = np.where(hidden, "small", "")
    return out


IDENTIFYING_COLUMNS = frozenset({"case_id", "cpr", "name", "navn", "note", "sagsnummer"})
"""Columns that name a case: never a grouping, raw or not."""


def check_grouping(data: pd.DataFrame, by: Sequence[str], threshold: int = DEFAULT_THRESHOLD
                   ) -> None:  # fmt: skip
    """Refuse a grouping by an identifying column: a case id, or any column with nearly one
    value per case (more than half as many values as rows), whose table would list cases
    one by one (raw or not).

    >>> check_grouping(pd.DataFrame({"sex": ["kvinde", "mand"] * 5}), ["sex"])
    """
    check_threshold(threshold)
    for column in by:
        if column in IDENTIFYING_COLUMNS:
            raise DisclosureError(
                f"--by {column}: identifies cases one by one; a grouping must hold groups of "
                f"cases (e.g. kommune_code, sex, origin)"
            )
        if column in data.columns and len(data) >= 2 * threshold:
            values = data[column].nunique(dropna=True)
            if values > len(data) / 2:
                raise DisclosureError(
                    f"--by {column}: {values} values for {len(data)} cases, nearly one per "
                    "case: a table by it would list cases; expected a grouping of cases (e.g. "
                    "kommune_code, sex, origin)"
                )


def mark_raw(table: pd.DataFrame) -> pd.DataFrame:
    """A raw table marked as not for publication (a first column ``publication``)."""
    out = table.copy()
    out.insert(0, "publication", NOT_FOR_PUBLICATION)
    return out
