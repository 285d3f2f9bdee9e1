"""The report figures, with matplotlib: forest plot, funnel plot, precision against sample size.

Each function takes a disclosed table (suppressed rows have no estimate and are drawn as a
note, never as a point) and returns the matplotlib Figure; the notebooks display it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from stikprove.reports.text import percent


def _percent_axis(axis, language: str) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: percent(v, language)))


def forest_plot(tables: Mapping[str, pd.DataFrame], language: str = "da"):
    """Each group's estimate with its interval, one panel per indicator (title -> rows of
    :func:`~stikprove.reports.content.estimates_table`), groups top down and shared between
    the panels; a suppressed group shows the word "udeladt" / "suppressed" instead of a point.
    One figure for all indicators: one PNG to encode instead of one per indicator."""
    import matplotlib.pyplot as plt

    items = list(tables.items())
    labels = list(dict.fromkeys(g for _, t in items for g in t["group"].astype(str)))
    rows = pd.DataFrame({"group": labels})
    height = 0.9 + 0.3 * len(rows)
    fig, axes = plt.subplots(1, len(items), figsize=(3.3 * len(items) + 2.2, height), dpi=90,
                             sharey=True, squeeze=False)  # fmt: skip
    y = np.arange(len(rows))[::-1]
    hidden = "udeladt" if language == "da" else "suppressed"
    for ax, (title, table) in zip(axes[0], items, strict=True):
        # an indicator may lack a group another one has (no case in its scope): align by label
        table = table.assign(group=table["group"].astype(str)).drop_duplicates("group")
        table = table.set_index("group").reindex(labels).reset_index()
        est = pd.to_numeric(table["estimate"], errors="coerce").to_numpy(dtype=float)
        low = pd.to_numeric(table["ci_low"], errors="coerce").to_numpy(dtype=float)
        high = pd.to_numeric(table["ci_high"], errors="coerce").to_numpy(dtype=float)
        shown = np.isfinite(est)
        ax.errorbar(est[shown], y[shown],
                    xerr=[est[shown] - low[shown], high[shown] - est[shown]],
                    fmt="o", color="#1f4e79", ecolor="#5b8db8", capsize=3)  # fmt: skip
        for yy in y[~shown]:
            ax.text(0.02, yy, hidden, va="center", fontsize=8, color="#777777")
        ax.set_xlim(0, 1)
        _percent_axis(ax.xaxis, language)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(title, fontsize=9, wrap=True)
    axes[0][0].set_yticks(y, rows["group"].astype(str).tolist())
    fig.tight_layout()
    return fig


FUNNEL_LABELS = {
    "x": {"da": "Effektiv stikprøvestørrelse (effektiv n)",
          "en": "Effective sample size (effective n)"},
    "y": {"da": "Andel", "en": "Rate"},
    "nation": {"da": "Landstal {rate}", "en": "National rate {rate}"},
    "limit": {"da": "Grænse for afvigelse ({level}; Benjamini–Hochberg, {alpha} falske fund)",
              "en": "Limit for differing ({level}; Benjamini–Hochberg, {alpha} false discoveries)"},
    "inside": {"da": "Kommune inden for grænsen", "en": "Kommune inside the limit"},
    "outside": {"da": "Kommune uden for grænsen: afviger fra landet",
                "en": "Kommune outside the limit: differs from the nation"},
}  # fmt: skip
"""The funnel plot's axis labels and legend entries in Danish and English."""


def funnel_plot(points: pd.DataFrame, national_rate: float, language: str = "da", title: str = ""):
    """Kommune rates (y) against their effective sample size (x, the tables' ``n_eff``), with
    the national rate and the one limit that decides the flag (Spiegelhalter 2005; Jones,
    Ohlssen & Spiegelhalter 2008): normal limits θ ± z·√(θ(1 − θ)/n_eff) at
    ``points.attrs["limit_level"]``, the level at which Benjamini–Hochberg over all kommuner
    separates the flagged kommuner from the others
    (:func:`~stikprove.estimation.multiplicity.funnel_flags`). A kommune drawn outside the
    limit is flagged (red, named) and one inside is not (blue); the legend says so. ``points``
    is :func:`~stikprove.reports.content.funnel_points`; ``title`` is the indicator's name
    (the y axis is its rate); the legend names the false discovery rate the flags used
    (``points.attrs["alpha"]``)."""
    import matplotlib.pyplot as plt

    from stikprove.estimation.multiplicity import funnel_limits

    labels = {k: v["da" if language == "da" else "en"] for k, v in FUNNEL_LABELS.items()}
    if national_rate is None or not np.isfinite(national_rate):
        # the release withholds the national rate (a small study): no funnel can be drawn
        fig, ax = plt.subplots(figsize=(7.5, 3.2), dpi=100)
        ax.axis("off")
        ax.text(0.5, 0.5, "Landsgennemsnittet er skjult af diskretionshensyn: intet "
                "tragtdiagram." if language == "da" else "The national rate is withheld "
                "(disclosure control): no funnel plot.", ha="center", va="center")  # fmt: skip
        return fig
    level = points.attrs.get("limit_level") or 0.998
    alpha = points.attrs.get("alpha") or 0.05
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=100)
    n_eff = points["n_eff"].to_numpy(float)
    top = max(float(n_eff.max()) if len(points) else 10.0, 10.0) * 1.05
    # the curve passes through every kommune's n_eff exactly (no interpolation between them)
    grid = np.union1d(np.linspace(2, top, 200), n_eff)
    limits = funnel_limits(national_rate, grid, levels=(level,), method="normal")
    digits = max(1, int(np.ceil(-np.log10(max(1 - level, 1e-12)))) - 1)
    limit_label = labels["limit"].format(level=percent(level, language, digits),
                                         alpha=percent(alpha, language, 0))  # fmt: skip
    ax.plot(limits["n"], limits["lower"], "-", color="#c00000", lw=1.2, label=limit_label)
    ax.plot(limits["n"], limits["upper"], "-", color="#c00000", lw=1.2)
    ax.axhline(national_rate, color="#444444", lw=1,
               label=labels["nation"].format(rate=percent(national_rate, language, 1)))
    flagged = points["flagged"].fillna(False).astype(bool).to_numpy()
    ax.scatter(n_eff[~flagged], points.loc[~flagged, "estimate"], s=18, color="#1f4e79",
               alpha=0.8, label=labels["inside"])  # fmt: skip
    ax.scatter(n_eff[flagged], points.loc[flagged, "estimate"], s=24, color="#c00000",
               label=labels["outside"])  # fmt: skip
    for _, row in points[flagged].iterrows():
        ax.annotate(str(row["kommune_name"]), (row["n_eff"], row["estimate"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.set_xlabel(labels["x"])
    ax.set_ylabel(f"{labels['y']}: {title}" if title else labels["y"], wrap=True)
    ax.set_ylim(0, 1)
    _percent_axis(ax.yaxis, language)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def precision_plot(curves: pd.DataFrame, language: str = "da", title: str = "",
                   target: float | None = None):  # fmt: skip
    """Expected half-width of the interval against the sample size, one line per group
    (columns group, sample_size, half_width); with ``target``, the protocol's target
    half-width as a dashed line; with a ``publishable`` column, a dot where each group's
    proportion becomes publishable under the NCHS standard."""
    import matplotlib.pyplot as plt

    da = language == "da"
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=100)
    for group, part in curves.groupby("group", sort=False):
        (line,) = ax.plot(part["sample_size"], part["half_width"], label=str(group))
        if "publishable" in part.columns and part["publishable"].any():
            first = part.loc[part["publishable"].astype(bool)].iloc[0]
            ax.plot(first["sample_size"], first["half_width"], "o", color=line.get_color())
    if target is not None:
        points = f"{100 * target:g}".replace(".", "," if da else ".")
        ax.axhline(target, color="0.3", linestyle="--", linewidth=1,
                   label=(f"Protokollens mål: ±{points} procentpoint" if da
                          else f"The protocol's target: ±{points} percentage points"))  # fmt: skip
    if "publishable" in curves.columns and curves["publishable"].any():
        ax.plot([], [], "o", color="0.3", label=("Kan offentliggøres herfra (NCHS)" if da
                                                 else "Publishable from here (NCHS)"))  # fmt: skip
    ax.set_xlabel("Stikprøvestørrelse (n)" if da else "Sample size (n)")
    ax.set_ylabel("Forventet halv intervalbredde" if da else "Expected half-width")
    _percent_axis(ax.yaxis, language)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


SHRINKAGE_LABELS = {
    "x": {"da": "Direkte estimat (kommunens egne vurderinger)",
          "en": "Direct estimate (the kommune's own reviews)"},
    "y": {"da": "Modelbaseret estimat", "en": "Model-based estimate"},
    "same": {"da": "Samme værdi", "en": "Equal"},
    "kommune": {"da": "Kommune (størrelse: vurderede personer)",
                "en": "Kommune (size: people assessed)"},
    "hidden": {"da": "{k} kommuner uden vist direkte estimat er kun i tabellen",
               "en": "{k} kommuner without a shown direct estimate are in the table only"},
}  # fmt: skip
"""The shrinkage plot's labels in Danish and English."""


def shrinkage_plot(table: pd.DataFrame, language: str = "da", title: str = ""):
    """Each kommune's model-based estimate (y) against its direct estimate (x), both as the
    release publishes them (:func:`~stikprove.reports.content.model_table`), with the
    diagonal: a point off the diagonal is pulled (shrunk) towards the model's prediction, the
    more so the fewer the kommune's reviews (point size: n). Only kommuner whose direct
    estimate is shown are drawn; the others are counted in a note."""
    import matplotlib.pyplot as plt

    labels = {k: v["da" if language == "da" else "en"] for k, v in SHRINKAGE_LABELS.items()}
    direct = pd.to_numeric(table["direct"], errors="coerce").to_numpy(dtype=float)
    model = pd.to_numeric(table["model_estimate"], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(table["n"], errors="coerce").to_numpy(dtype=float)
    shown = np.isfinite(direct) & np.isfinite(model)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    ax.plot([0, 1], [0, 1], "--", color="#777777", lw=1, label=labels["same"])  # y = x
    size = 8 + 60 * np.sqrt(np.nan_to_num(n[shown], nan=1.0) / max(np.nanmax(n[shown]), 1.0)) \
        if shown.any() else 10  # fmt: skip
    ax.scatter(direct[shown], model[shown], s=size, color="#1f4e79", alpha=0.7,
               label=labels["kommune"])  # fmt: skip
    hidden = int((~shown).sum())
    if hidden:
        ax.text(0.02, 0.97, labels["hidden"].format(k=hidden), transform=ax.transAxes,
                fontsize=8, va="top", color="#555555")  # fmt: skip
    values = np.r_[direct[shown], model[np.isfinite(model)]]
    low = max(0.0, float(values.min()) - 0.05) if len(values) else 0.0
    high = min(1.0, float(values.max()) + 0.05) if len(values) else 1.0
    ax.set_xlim(low, high)  # the same range on both axes: the diagonal stays the diagonal
    ax.set_ylim(low, high)
    _percent_axis(ax.xaxis, language)
    _percent_axis(ax.yaxis, language)
    ax.set_xlabel(labels["x"])
    ax.set_ylabel(labels["y"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig
