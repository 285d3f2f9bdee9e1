"""Model-based (small-area) figures in the release: the rule of stikprove.release.small_area,
the intruder who inverts the published EBLUP, and one number per figure (docs/release.md)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from report_fixtures import make_report_study
from stikprove.cli import main
from stikprove.release.small_area import (
    COEFFICIENT_DECIMALS,
    decided_model_figures,
    direct_interval,
)

KOMMUNER = ("101", "147", "151", "153", "155", "157", "159", "161", "163", "165", "167", "169")


def _row(direct: float, gamma: float, synthetic: float, half_width: float = 0.1) -> dict:
    """A ModelFigures row of the arcsine model for a kommune with this direct estimate."""
    y = math.asin(math.sqrt(direct))
    theta = gamma * y + (1 - gamma) * synthetic
    return {"in_sample": True, "direct": direct, "gamma": gamma, "theta": theta,
            "theta_synthetic": synthetic, "estimate": math.sin(theta) ** 2,
            "ci_low": math.sin(theta - half_width) ** 2,
            "ci_high": math.sin(theta + half_width) ** 2}  # fmt: skip


def _brute_force(row: dict, decimals: int) -> tuple[float, float]:
    """The intruder by enumeration: every direct estimate on a fine grid whose EBLUP and
    limits, computed with the row's γ, synthetic value and offsets, round to the published
    ones."""
    grid = np.linspace(0, 1, 200_001)
    theta = row["gamma"] * np.arcsin(np.sqrt(grid)) + (1 - row["gamma"]) * row["theta_synthetic"]
    ok = np.ones_like(grid, dtype=bool)
    for column, offset in (("estimate", 0.0), ("ci_low", row["theta"]
                           - math.asin(math.sqrt(row["ci_low"]))),
                           ("ci_high", row["theta"] - math.asin(math.sqrt(row["ci_high"])))):
        value = np.sin(np.clip(theta - offset, 0, math.pi / 2)) ** 2
        ok &= np.round(value, decimals) == round(row[column], decimals)
    return float(grid[ok].min()), float(grid[ok].max())


@pytest.mark.parametrize(("direct", "gamma"), [(0.3, 0.9), (0.3, 0.2), (0.05, 0.5), (0.8, 0.05)])
@pytest.mark.parametrize("decimals", [3, 2])
def test_direct_interval_holds_what_the_intruder_can_learn(direct, gamma, decimals):
    """The interval the rule takes the intruder to learn from a published EBLUP holds the
    true direct estimate and is the set an intruder who enumerates finds consistent (to the
    grid's step: the audit must not assume the intruder knows less); it is wider when
    rounded to 1 pp."""
    row = _row(direct, gamma, synthetic=0.55)
    low, high = direct_interval("arcsin", row, decimals)
    assert low <= direct <= high
    found = _brute_force(row, decimals)
    assert abs(low - found[0]) < 2e-5 and abs(high - found[1]) < 2e-5
    coarse = direct_interval("arcsin", row, decimals - 1)
    assert coarse[1] - coarse[0] > high - low


def test_direct_interval_without_shrinkage_or_sample_tells_nothing():
    row = _row(0.3, 0.0, synthetic=0.55)
    assert direct_interval("arcsin", row, 3) == (0.0, 1.0)
    assert direct_interval("arcsin", {**row, "in_sample": False}, 3) == (0.0, 1.0)


# ---- a study of twelve kommuner (slow: the release is protected and audited) -----------------


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return make_report_study(tmp_path_factory.mktemp("release-small-area"), kommuner=KOMMUNER,
                             max_reviews=700)  # fmt: skip


@pytest.fixture(scope="module")
def released(study):
    from stikprove.release.release import study_release

    return study[0], study_release(study[0])


def _hidden_direct(release) -> pd.DataFrame:
    table = release.table("small_area")
    return table[table["direct"].isna()]


@pytest.mark.slow
def test_intruder_cannot_pin_a_hidden_count_from_the_model_based_figures(released):
    """For every kommune whose direct estimate is hidden, the intruder inverts the published
    model-based figure (knowing γ, the synthetic value and the interval's offsets exactly):
    the direct estimates consistent with it lie within the interval the release's audit adds
    as a shown cell, and with those cells the audit finds every hidden small count protected;
    the model-based figures still say something for most of them (not all synthetic)."""
    _, release = released
    small = release.small_area
    published = release.table("small_area").set_index(["indicator", "kommune_code"])
    cells = {c[0]: c for c in small.cells}
    hidden = _hidden_direct(release)
    assert len(hidden) >= 10
    inverted = 0
    for indicator, code in zip(hidden["indicator"], hidden["kommune_code"], strict=True):
        row = small.figures[indicator].table.set_index("kommune_code").loc[code].to_dict()
        basis = published.loc[(indicator, code), "basis"]
        if basis == "synthetic" or not row["in_sample"]:
            continue
        decimals = 3 if basis == "eblup" else 2
        assert round(row["estimate"], decimals) == published.loc[(indicator, code), "estimate"]
        found = _brute_force(row, decimals)
        cell = cells[f"small_area:{indicator}:{code}"]
        # the audit's intruder knows at least as much as this one (the coefficients'
        # interval may narrow it further)
        assert found[0] - 1e-5 <= cell[2] <= cell[3] <= found[1] + 1e-5
        inverted += 1
    assert inverted >= 5
    audit = release.audit()
    assert audit.ok, str(audit)
    assert main(["audit-release", str(released[0])]) == 0  # the command audits them too
    assert {c[0] for c in small.cells} <= set(
        release.small_area.extend(release.model.tables).cell_id)


@pytest.mark.slow
def test_publishing_every_eblup_with_its_coefficients_is_caught(released):
    """Without the rule (every kommune's EBLUP at 0.1 point with γ and β to 3 decimals) the
    audit finds a hidden small count it can pin: the rule is what protects them."""
    _, release = released
    small = release.small_area
    assert small.unprotected == ()
    assert set(small.basis.values()) - {"eblup"}, "the rule changed nothing on this study"
    naive = decided_model_figures(
        release.model, release.raw_tables.estimates, small.figures,
        dict.fromkeys(small.basis, "eblup"), dict.fromkeys(small.figures, COEFFICIENT_DECIMALS[0]),
    )  # fmt: skip
    audit = dataclasses.replace(release, small_area=naive).audit()
    assert not audit.ok
    assert any(":kommune:" in cell for cell in audit.unprotected)


@pytest.mark.slow
def test_model_based_figures_are_one_number_everywhere(released, capsys, tmp_path):
    """`estimate --small-area` prints the release's small_area rows; the direct column is the
    release's estimates table; the CLI's CSV equals the table."""
    path, release = released
    out = tmp_path / "sae.csv"
    assert main(["estimate", str(path), "--outcome", "too_ill", "--by", "kommune_code",
                 "--small-area", "--format", "csv", "--out", str(out)]) == 0  # fmt: skip
    printed = pd.read_csv(out, dtype={"kommune_code": str}, keep_default_na=False,
                          na_values=[""])  # fmt: skip
    table = release.table("small_area")
    mine = table[table["indicator"].eq("too_ill")].reset_index(drop=True)
    for column in ("estimate", "ci_low", "ci_high", "gamma", "direct"):
        assert np.allclose(printed[column].to_numpy(float), mine[column].to_numpy(float),
                           equal_nan=True), column  # fmt: skip
    assert printed["basis"].tolist() == mine["basis"].tolist()
    estimates = release.table("estimates")
    totals = estimates[estimates["level"].eq("kommune") & estimates["sex"].isna()
                       & estimates["origin"].isna() & estimates["indicator"].eq("too_ill")]
    direct = totals.set_index("kommune_code")["estimate"]
    assert np.allclose(mine["direct"].to_numpy(float),
                       direct.loc[mine["kommune_code"]].to_numpy(float), equal_nan=True)
    # the model's raw table is for quality checks only
    assert main(["estimate", str(path), "--outcome", "too_ill", "--by", "kommune_code",
                 "--small-area", "--raw"]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith("NOT FOR PUBLICATION")


def _text(html: str) -> str:
    """A rendered report's visible text, one space between words."""
    import html as html_module
    import re

    html = re.sub(r"<(style|script)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<img[^>]*>", " [figure] ", html)
    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


@pytest.mark.slow
def test_reports_show_the_model_based_figures_and_keep_suppressed_cells_suppressed(
    study, released, tmp_path
):
    """A kommune report whose direct estimate is hidden leads with the model-based one,
    labelled "modelbaseret" with the plain explanation; a kommune with a shown one keeps its
    lead and shows both; the national overview (English) has the shrinkage plot and the table
    of every kommune with both. Every figure is the release's; no hidden direct estimate
    appears; no case id or note appears."""
    from report_fixtures import NOTE
    from stikprove.reports.render import KernelSession, render_notebook
    from stikprove.reports.text import MODEL_EXPLANATION, percent

    path, frame = study
    _, release = released
    model = release.table("small_area")
    model = model[model["indicator"].eq("too_ill")].set_index("kommune_code")
    raw = release.raw("estimates")
    raw = raw[raw["indicator"].eq("too_ill") & raw["level"].eq("kommune") & raw["sex"].isna()
              & raw["origin"].isna()].set_index("kommune_code")  # fmt: skip
    hidden = [k for k in KOMMUNER if pd.isna(model.loc[k, "direct"])]
    shown = [k for k in KOMMUNER if pd.notna(model.loc[k, "direct"])]
    small, large = hidden[0], shown[0]
    out = tmp_path / "reports"
    with KernelSession(cwd=tmp_path) as session:
        pages = {k: render_notebook("kommune", {"study": str(path), "kommune": k}, out,
                                    session=session).html.read_text(encoding="utf-8")
                 for k in (small, large)}  # fmt: skip
        pages["national"] = render_notebook(
            "national", {"study": str(path), "language": "en"}, out, name="national",
            session=session,
        ).html.read_text(encoding="utf-8")  # fmt: skip
    texts = {k: _text(v) for k, v in pages.items()}
    lead = texts[small].split("Dato:")[0]
    assert "modelbaseret" in texts[small] and "Modelbaserede estimater" in texts[small]
    assert MODEL_EXPLANATION["da"].split(":")[0].replace("**", "") in texts[small]
    row = model.loc[small]
    assert (f"efter et modelbaseret estimat {percent(row['estimate'], 'da')} af personerne"
            in texts[small]), lead  # fmt: skip
    assert percent(row["estimate"], "da", 1) in texts[small]  # the table: the release's
    assert "modelbaseret estimat" not in texts[large].split("Dato:")[0]  # its own figure leads
    assert percent(model.loc[large, "estimate"], "da", 1) in texts[large]
    assert percent(model.loc[large, "direct"], "da", 1) in texts[large]
    national = texts["national"]
    assert "Direct and model-based estimates for every kommune" in national
    assert national.count("[figure]") == 2  # the funnel plot and the shrinkage plot
    for code in KOMMUNER:
        assert percent(model.loc[code, "estimate"], "en", 1) in national
    for code in hidden:  # the direct estimate stays hidden: in the rows of its kommune
        value = raw.loc[code, "estimate"]
        for page, language in ((texts[small], "da"), (national, "en")):
            after = [part[:80] for part in page.split(f" {_name(code)} ")[1:]]
            assert not any(percent(value, language, 1) in part for part in after), (code, after)
    assert percent(raw.loc[small, "estimate"], "da", 1) not in texts[small]
    notes = [NOTE.format(c) for c in frame["case_id"]]
    for page in pages.values():
        assert not any(c in page for c in frame["case_id"])
        assert not any(n in page for n in notes)


def _name(code: str) -> str:
    from stikprove.reports.content import kommune_name

    return kommune_name(code)


def test_published_tables_follow_the_decisions():
    """Each basis is published as the rule says: the EBLUP at 3 decimals with γ beside a shown
    direct estimate, at 2 decimals (model_rounded), or the synthetic estimate without γ
    (model_synthetic); a kommune without a sample is synthetic without a note; the direct
    column is the release's; coefficients at the decided decimals, none where withheld."""
    from stikprove.release.small_area import (
        ModelFigures,
        SmallAreaRelease,
        published_coefficients,
        published_model_table,
    )

    rows = [{**_row(0.3, 0.6, 0.55), "kommune_code": c} for c in ("101", "147", "151")]
    rows.append({**_row(0.3, 0.6, 0.55), "kommune_code": "153", "in_sample": False})
    table = pd.DataFrame(rows).assign(synthetic=0.2712, synthetic_low=0.1, synthetic_high=0.45)
    fig = ModelFigures("too_ill", "arcsin", ("intercept", "share_women"), np.array([0.51234, -0.1]),
                       np.zeros((2, 4)), table)  # fmt: skip
    small = SmallAreaRelease(
        figures={"too_ill": fig}, cells=[],
        basis={("too_ill", "101"): "eblup", ("too_ill", "147"): "eblup_1pp",
               ("too_ill", "151"): "synthetic", ("too_ill", "153"): "synthetic"},
        coefficient_decimals={"too_ill": 2},
    )  # fmt: skip
    estimates = pd.DataFrame({
        "indicator": "too_ill", "level": "kommune", "kommune_code": ["101", "147", "151", "153"],
        "sex": None, "origin": None, "estimate": [0.3, np.nan, 0.3, np.nan],
        "disclosure": ["", "small", "", "complementary"],
    })  # fmt: skip
    out = published_model_table(small, estimates).set_index("kommune_code")
    eblup = _row(0.3, 0.6, 0.55)["estimate"]
    assert out.loc["101", "estimate"] == round(eblup, 3) and out.loc["101", "gamma"] == 0.6
    assert out.loc["147", "estimate"] == round(eblup, 2) and np.isnan(out.loc["147", "gamma"])
    assert out.loc["147", "disclosure"] == "model_rounded"
    assert out.loc["147", "direct_disclosure"] == "small" and np.isnan(out.loc["147", "direct"])
    assert out.loc["151", "estimate"] == 0.271 and np.isnan(out.loc["151", "gamma"])
    assert out.loc["151", "disclosure"] == "model_synthetic"
    assert out.loc["153", "disclosure"] == "" and out.loc["153", "basis"] == "synthetic"
    coefficients = published_coefficients(small)
    assert coefficients["estimate"].tolist() == [0.51, -0.1]
    assert set(coefficients["disclosure"]) == {"model_rounded"}
    withheld = dataclasses.replace(small, coefficient_decimals={"too_ill": None})
    assert published_coefficients(withheld).empty
