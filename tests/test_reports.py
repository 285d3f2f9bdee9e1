"""The reports step: notebooks' parameters, report content, rendering, the report command,
and the privacy scan over every output format."""

import base64
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import PIL.Image
import pytest

from report_fixtures import NOTE, make_report_study
from stikprove.cli import main
from stikprove.reports import content
from stikprove.reports.render import NOTEBOOKS, KernelSession, render_notebook

ROOT = Path(__file__).resolve().parents[1]

COUNT_COLUMNS = ("n", "population_size", "sample_size", "taken", "done", "remaining", "n_pairs",
                 "n_missing")  # fmt: skip


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report-study")
    path, frame = make_report_study(folder)
    return path, frame


NATIONAL_KOMMUNER = ("101", "147", "157", "159", "161", "163", "165", "167", "169", "173", "175",
                     "183", "185", "461", "751", "851")  # fmt: skip


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    """A national-template study of 16 kommuner (København, Odense, Aarhus, Aalborg and the
    Capital Region's smaller ones), fully reviewed: most kommune totals are shown."""
    folder = tmp_path_factory.mktemp("national-study")
    path, _ = make_report_study(folder, kommuner=NATIONAL_KOMMUNER, max_reviews=1500)
    return content.load_study(path)


@pytest.mark.parametrize(
    ("notebook", "expected"),
    [
        ("kommune_report.ipynb", {"study", "kommune", "indicators", "confidence_level",
                                  "interval_method", "disclosure_threshold", "language"}),
        ("national_overview.ipynb", {"study", "indicators", "confidence_level",
                                     "interval_method", "disclosure_threshold", "language",
                                     "alpha"}),
        ("design_explorer.ipynb", {"protocol", "max_sample_size", "language"}),
    ],
)  # fmt: skip
def test_notebooks_declare_typed_commented_parameters(notebook, expected):
    """Each notebook has a papermill parameters cell with typed, commented defaults."""
    import papermill

    parameters = papermill.inspect_notebook(str(NOTEBOOKS / notebook))
    assert set(parameters) == expected
    assert all(p["inferred_type_name"] != "None" and p["help"] for p in parameters.values())


def test_notebooks_stay_thin():
    """Notebook code cells only call the package: no function or class defined in them."""
    import nbformat

    for path in NOTEBOOKS.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert not re.search(r"^\s*(def|class) ", cell.source, re.M), path.name


def _counts_shown(table: pd.DataFrame) -> list[int]:
    values = []
    for column in COUNT_COLUMNS:
        if column in table.columns:
            values += [int(v) for v in pd.to_numeric(table[column], errors="coerce").dropna()]
    return values


def test_report_tables_show_no_count_from_one_to_four(study):
    """Every table of a kommune report and the national overview: no count in 1..4."""
    data = content.load_study(study[0])
    tables = [content.kommune_flags(data, "too_ill")]
    for kommune in data.kommuner:
        tables += [content.design_table(data, kommune), content.progress_table(data, kommune),
                   content.agreement_table(data, kommune)]  # fmt: skip
        for indicator in content.INDICATORS:
            tables += [content.estimates_table(data, indicator, kommune),
                       content.bounds_table(data, indicator, kommune)]  # fmt: skip
    shown = [v for t in tables for v in _counts_shown(t)]
    assert shown and not [v for v in shown if 1 <= v <= 4]


def test_a_suppressed_kommune_cell_cannot_be_recovered_from_other_kommuner(study):
    """Kommune reports are disclosed as one table: for each sex, across the kommuner (whose
    sum is the national figure), a hidden n is never the only hidden one."""
    data = content.load_study(study[0])
    rows = []
    for kommune in data.kommuner:
        table = content.estimates_table(data, "too_ill", kommune, groupings=[("sex",)])
        rows.append(table.assign(kommune=kommune))
    every = pd.concat(rows)
    assert every["n"].isna().any()
    for _, group in every.groupby("sex"):
        assert group["n"].isna().sum() != 1


def test_figures_built_on_a_hidden_estimate_are_hidden_with_it(study):
    """Where a kommune's overall estimate is suppressed, its missing-outcome bounds, the
    Rao-Scott test and the comparison of women and men are not shown either."""
    data = content.load_study(study[0])
    checked = 0
    for kommune in data.kommuner:
        total = content.headline_row(content.estimates_table(data, "too_ill", kommune), None,
                                     None)  # fmt: skip
        if pd.notna(total["estimate"]):
            continue
        checked += 1
        bounds = content.bounds_table(data, "too_ill", kommune).iloc[0]
        assert pd.isna(bounds["estimate_missing_as_0"]) and bounds["disclosure"]
        assert content.group_test(data, "too_ill", kommune).empty
        comparison = content.comparison_table(data, "too_ill", kommune)
        assert comparison.empty or pd.isna(comparison["difference"].iloc[0])
    assert checked


def test_comparison_sentence_quotes_the_design_objects_comparison(study):
    """The report's sentence reads the fields of StratifiedSample.compare: difference and
    its interval in percentage points, and the p-value."""
    from stikprove.reports import text

    data = content.load_study(study[0])
    result = content.sample(data, "147").compare("no_effort", by="sex",
                                                 groups=("kvinde", "mand"))  # fmt: skip
    sentence = text.comparison_sentence(result.to_frame().iloc[0], "en")
    low = f"{round(100 * result.ci_low_difference)}".replace("-", "\u2212")  # a true minus
    assert sentence.startswith("The difference between women and men is ")
    assert f"CI {low} to " in sentence and "p = " in sentence


def test_report_estimates_are_the_estimation_step_numbers(study):
    """A shown estimate in a report table is estimate_proportions' number for that domain:
    exactly in the raw table, rounded to the release's 3 decimals (0.1 point) in the
    published one."""
    from stikprove.estimation.domains import estimate_proportions

    data = content.load_study(study[0])
    table = content.estimates_table(data, "too_ill", "147", groupings=[("sex",)])
    sub = data.data[data.data["kommune_code"] == "147"]
    direct = estimate_proportions(sub, "too_ill", "stratum", "population_size", by="sex")
    raw = content.estimates_table(data, "too_ill", "147", groupings=[("sex",)], raw=True)
    for table_, digits in ((raw, None), (table, 3)):
        merged = table_.merge(direct, on="sex", suffixes=("", "_direct"))
        shown = merged["estimate"].notna()
        for column in ("estimate", "ci_low", "ci_high"):
            expected = merged.loc[shown, f"{column}_direct"]
            expected = expected if digits is None else expected.round(digits)
            assert merged.loc[shown, column].tolist() == pytest.approx(
                expected.tolist(), rel=1e-12
            )
    assert raw["estimate"].notna().all()


def test_unknown_kommune_is_refused_with_the_study_kommuner(study):
    """A kommune that is not in the study is refused, listing the study's kommuner."""
    data = content.load_study(study[0])
    with pytest.raises(content.StikproveError, match=r"'461' is not in study.*147, 825"):
        content.check_kommune(data, "461")


def test_report_command_refuses_without_a_choice_of_reports(study, capsys):
    """`stikprove report STUDY` without --kommune, --all or --national exits 2 and says so."""
    assert main(["report", str(study[0])]) == 2
    assert "--kommune CODES, --all or --national" in capsys.readouterr().err


def _scan(paths, case_ids, notes, frame_fields):
    """Every text of every file (xlsx: its unzipped XML), searched for forbidden strings."""
    found = []
    for path in paths:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                text = "".join(archive.read(n).decode("utf-8", "replace")
                               for n in archive.namelist())  # fmt: skip
        else:
            text = path.read_text(encoding="utf-8-sig", errors="replace")
        found += [(path.name, s) for s in (*case_ids, *notes) if s in text]
        found += [(path.name, f) for f in frame_fields if re.search(rf"\b{f}\b", text)]
    return found


@pytest.mark.slow
def test_rendered_reports_and_exports_hold_no_case_id_note_or_frame_field(study, tmp_path):
    """Render a kommune report (Danish) and the national overview (English) in one kernel,
    export estimate/flag/compare tables as csv, csv-da and xlsx, and scan every HTML, ipynb, CSV and
    XLSX: no case id, no note, no identifying frame field appears; the HTML embeds
    its figures and loads no script from the network."""
    path, frame = study
    out = tmp_path / "reports"
    with KernelSession(cwd=tmp_path) as session:
        params = {"study": str(path), "kommune": "147"}
        reports = [render_notebook("kommune", params, out, session=session),
                   render_notebook("national", {"study": str(path), "language": "en"}, out,
                                   name="national", session=session)]  # fmt: skip
    html = reports[0].html.read_text(encoding="utf-8")
    # in this two-kommune study the release withholds Frederiksberg's rates (with the
    # nation's they would give Læsø's): the report stands, without them
    assert "Frederiksberg" in html and "data:image/png;base64" in html
    assert "Foreløbige resultater" not in html  # fully reviewed: no preliminary section
    assert not re.search(r"<script[^>]+src=", html)
    for page in (html, reports[1].html.read_text(encoding="utf-8")):  # the figures decode
        images = re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', page)
        assert len(images) == 1  # the forest plot; the funnel plot
        with PIL.Image.open(io.BytesIO(base64.b64decode(images[0]))) as image:
            # a drawn figure (or the note that the release withholds what it would draw)
            assert image.format == "PNG" and image.size[0] >= 300 and image.size[1] >= 200
    national = reports[1].html.read_text(encoding="utf-8")
    assert "National estimates per group" in national
    # the national overview too: the headline sentence, the synthetic-data notice, the
    # glossary, and the indicator that restates another given as a sentence, not a table
    # the headline first (this two-kommune study's release withholds the national rate, which
    # with Frederiksberg's would give Læsø's; the national study of 16 kommuner shows it)
    assert re.search(r'class="stikprove-lead">', national)
    assert "stikprove-notice" in national and "Glossary" in national
    assert "is not shown as a finding of its own" in national
    assert _open_in_chromium([r.html for r in reports]) == []
    exports = []
    for fmt, suffix in (("csv", ".csv"), ("csv-da", ".csv"), ("xlsx", ".xlsx")):
        for command, by in (("estimate", "kommune_code,sex,origin"), ("flag", "kommune_code"),
                            ("compare", "sex")):  # fmt: skip
            target = tmp_path / f"{command}-{fmt}{suffix}"
            argv = [command, str(path), "--outcome", "too_ill", "--by", by, "--format", fmt,
                    "--out", str(target)]  # fmt: skip
            assert main(argv) == 0
            exports.append(target)
    files = [*out.glob("*.html"), *out.glob("*.ipynb"), *exports]
    notes = [NOTE.format(c) for c in frame["case_id"]]
    dates = [d for d in frame["last_effort_date"].dropna().astype(str).unique() if d]
    found = _scan(files, list(frame["case_id"]), [*notes, *dates],
                  ("case_id", "last_effort_date", "years_on_benefit", "note"))  # fmt: skip
    assert found == []
    for target in exports:
        table = (pd.read_excel(target, engine="calamine") if target.suffix == ".xlsx" else
                 pd.read_csv(target, sep=";" if "csv-da" in target.name else ",",
                             decimal="," if "csv-da" in target.name else "."))  # fmt: skip
        counts = [c for c in table.columns if c in ("n", "n_first", "n_second")
                  or str(c).endswith("(n)")]  # fmt: skip
        assert counts, target.name
        values = pd.to_numeric(table[counts].melt()["value"], errors="coerce").dropna()
        assert not values.between(1, 4).any()


def _open_in_chromium(files) -> list[str]:
    """What goes wrong when headless Chromium (Debian's, as the web form's browser tests)
    opens rendered reports from disk: a request leaving the file, a console error, an image
    that does not draw, a page without one. Empty when every report opens whole and
    self-contained."""
    from playwright.sync_api import sync_playwright

    from web_fixtures import launch_chromium

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for html in files:
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            name = html.name
            page.on("request", lambda r, name=name: r.url.startswith(("file:", "data:"))
                    or problems.append(f"{name}: request {r.url}"))  # fmt: skip
            page.on("console", lambda m, name=name: m.type != "error"
                    or problems.append(f"{name}: console {m.text}"))  # fmt: skip
            page.goto(html.resolve().as_uri())
            drawn = page.eval_on_selector_all(
                "img", "images => images.map(i => i.complete && i.naturalWidth > 0)"
            )
            problems.extend(f"{name}: image {i} not drawn" for i, ok in enumerate(drawn) if not ok)
            problems.extend([] if drawn else [f"{name}: no image"])
            page.close()
        browser.close()
    return problems


@pytest.mark.slow
def test_batch_collects_every_failure_and_exits_non_zero(study, tmp_path, capsys):
    """A report that fails does not stop the batch: every failure is listed, exit status 1."""
    argv = ["report", str(study[0]), "--kommune", "147,825", "--indicators", "sex",
            "--out", str(tmp_path), "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "2 report(s) failed" in err
    assert "147: " in err and "825: " in err and "must hold 0/1" in err
    assert "147: 147:" not in err and "825: 825:" not in err  # each name once
    assert "must hold 0/1" in (tmp_path / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--indicators", "nonexistent", "indicator(s) ['nonexistent'] not in study"),
        ("--method", "exakt", "interval method must be one of"),
        ("--confidence-level", "95", "confidence level must be between 0 and 1"),
    ],
)
def test_bad_report_parameters_are_refused_once_before_any_report(
    study, tmp_path, capsys, option, value, expected
):
    """A bad indicator, method or confidence level is refused with one line and exit 2
    before a kernel starts or a folder is made (it used to fail every kommune in turn)."""
    out = tmp_path / "reports"
    argv = ["report", str(study[0]), "--all", option, value, "--out", str(out), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_forest_plot_aligns_indicators_with_different_groups():
    """One indicator may lack a group (no case in its scope): the panels share the union of
    the groups, and a suppressed group is written as such instead of a point."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from stikprove.reports.plots import forest_plot

    nan = float("nan")
    first = pd.DataFrame({"group": ["A", "B"], "estimate": [0.2, nan], "ci_low": [0.1, nan],
                          "ci_high": [0.3, nan]})  # fmt: skip
    second = pd.DataFrame({"group": ["A", "B", "C"], "estimate": [0.5, 0.4, 0.3],
                           "ci_low": [0.4, 0.3, 0.2], "ci_high": [0.6, 0.5, 0.4]})  # fmt: skip
    figure = forest_plot({"x": first, "y": second}, "da")
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["A", "B", "C"]
    assert "udeladt" in [t.get_text() for t in figure.axes[0].texts]
    plt.close(figure)


@pytest.mark.parametrize(
    ("method", "says", "not_says"),
    [
        ("pooled-hypergeometric", ["exact hypergeometric interval", "Wright 1991",
                                   "borrows the group's rate"], ["svyciprop"]),
        ("korn-graubard", ["Korn–Graubard intervals", "svyciprop"], ["hypergeometric"]),
        ("logit", ["logit intervals"], ["hypergeometric", "svyciprop"]),
    ],
)  # fmt: skip
def test_methods_section_names_the_interval_the_tables_show(method, says, not_says):
    """The methods paragraph says which interval is computed (the default is no longer
    Korn–Graubard), names the strata of the study and keeps the NCHS sentence."""
    from stikprove.reports import text

    paragraph = text.methods("en", 5, method, ("kommune_code", "sex", "origin")).split("\n")[0]
    assert all(s in paragraph for s in says) and not any(s in paragraph for s in not_says)
    assert "(strata: kommune × sex × origin)" in paragraph
    assert "Korn–Graubard interval with the design effect floored at 1" in paragraph
    danish = text.methods("da", 5, method, ("sex", "origin"))
    assert "(strata: køn × herkomst)" in danish and "Wright" in danish  # reference list


def test_every_interval_method_has_its_methods_sentence_in_both_languages():
    """A report can be rendered with any domain interval method: each has its sentence."""
    from stikprove.methods import DOMAIN_INTERVAL_METHODS
    from stikprove.reports import text

    for method in DOMAIN_INTERVAL_METHODS:
        assert set(text.INTERVAL_METHODS[method]) == set(text.LANGUAGES), method
    with pytest.raises(content.StikproveError, match=r"interval method must be one of .*'x'"):
        text.methods("en", 5, "x")


def test_notebooks_and_report_help_name_the_default_interval_method(capsys):
    """The interval_method parameter and `report --help` name the current default."""
    import papermill

    from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD

    for name in ("kommune_report.ipynb", "national_overview.ipynb"):
        parameter = papermill.inspect_notebook(str(NOTEBOOKS / name))["interval_method"]
        assert DEFAULT_DOMAIN_INTERVAL_METHOD in parameter["help"], name
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "usually pooled-hypergeometric" in " ".join(capsys.readouterr().out.split())


def test_comparison_and_kommune_table_take_the_reports_level_and_method(study):
    """The comparison sentence and the national overview's kommune table use the report's
    confidence level and interval method (they used the protocol's whatever was asked)."""
    data = content.load_study(study[0])
    wide = content.comparison_table(data, "no_effort", "147", threshold=1)
    narrow = content.comparison_table(data, "no_effort", "147", threshold=1,
                                      confidence_level=0.8)  # fmt: skip
    assert narrow["confidence_level"].iloc[0] == 0.8
    width = lambda t: t["ci_high_difference"].iloc[0] - t["ci_low_difference"].iloc[0]  # noqa: E731
    assert width(narrow) < width(wide)
    default = content.kommune_flags(data, "no_effort", threshold=1)
    logit = content.kommune_flags(data, "no_effort", threshold=1, confidence_level=0.8,
                                  method="logit")  # fmt: skip
    direct = content.sample(data).estimate("no_effort", by="kommune_code", confidence_level=0.8,
                                           method="logit")  # fmt: skip
    shown = logit["ci_low"].notna().to_numpy()  # Læsø's rate fails the NCHS standard
    assert shown.any()
    assert logit["ci_low"][shown].tolist() == pytest.approx(  # as published: 3 decimals
        direct["ci_low"][shown].round(3).tolist(), rel=1e-12
    )
    assert logit["ci_low"][shown].tolist() != pytest.approx(default["ci_low"][shown].tolist())


def test_compare_writes_csv_danish_csv_and_xlsx_like_estimate_and_flag(study, tmp_path, capsys):
    """`compare --format csv|csv-da|xlsx --out FILE` writes the disclosed one-row table (it
    only printed); --raw marks it not for publication; --test writes the Rao-Scott row."""
    path = str(study[0])
    # threshold 1: the formats, not the suppression, are under test (this small study's
    # release hides the national rates by sex to protect Læsø's)
    base = ["compare", path, "--outcome", "no_effort", "--by", "sex", "--groups", "kvinde,mand",
            "--disclosure-threshold", "1"]  # fmt: skip
    assert main([*base, "--format", "csv-da", "--out", str(tmp_path / "c.csv")]) == 0
    danish = pd.read_csv(tmp_path / "c.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert {"Forskel", "Vurderede personer, første (n)", "Note"} <= set(danish.columns)
    assert danish["Forskel"].dtype.kind == "f" and len(danish) == 1
    assert main([*base, "--format", "xlsx", "--out", str(tmp_path / "c.xlsx")]) == 0
    sheet = pd.read_excel(tmp_path / "c.xlsx", engine="calamine")
    assert sheet["Forskel"].iloc[0] == pytest.approx(danish["Forskel"].iloc[0])
    assert main([*base, "--raw", "--format", "csv"]) == 0
    raw = capsys.readouterr().out
    assert raw.startswith("publication,") and "NOT FOR PUBLICATION" in raw
    assert main([*base[:6], "--test", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("statistic,")


def test_readme_report_walkthrough_commands_parse_and_name_the_demo_study():
    """Every `stikprove report` line of the README's walkthrough is a valid command on the
    study `make demo` writes (they named a national.sqlite that nothing wrote)."""
    import shlex
    from pathlib import Path

    from stikprove.cli import build_parser

    root = ROOT
    readme = (root / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in readme.splitlines()
             if line.strip().startswith("stikprove report ")]  # fmt: skip
    assert len(lines) >= 3
    make_demo = (root / "Makefile").read_text(encoding="utf-8")
    assert "stikprove demo --out demo-output" in make_demo
    for line in lines:
        args = build_parser().parse_args(shlex.split(line)[1:])
        assert args.study == Path("demo-output/national/national.sqlite"), line
        assert args.kommune or args.all


def test_a_worker_that_cannot_start_stops_the_batch_with_an_error(tmp_path):
    """With jobs > 1, a worker whose kernel cannot start (here: its folder is missing; in
    practice a script that cannot be re-imported) raises a ReportError saying what to do;
    multiprocessing.Pool started a new worker for ever and the batch hung."""
    from stikprove.reports.render import ReportError, _run

    task = ("kommune", {"study": "x", "kommune": "147"}, str(tmp_path), "147", "reuse")
    with pytest.raises(ReportError, match=r"jobs=2: a worker process could not start.*"
                                          r"if __name__ == \"__main__\""):  # fmt: skip
        list(_run([task, task], 2, tmp_path / "missing", "reuse"))


def test_index_keeps_the_reports_an_earlier_run_left_in_the_folder(tmp_path):
    """Rerunning one kommune into the folder of an --all run keeps every report listed in
    index.html (it listed only the rerun one); a failed kommune is listed as failed."""
    from stikprove.reports.render import RenderedReport, write_index

    for name in ("101", "461", "825", "national"):
        (tmp_path / f"{name}.html").write_text("<html></html>")
        (tmp_path / f"{name}.ipynb").write_text("{}")
    (tmp_path / "notes.html").write_text("not a report")
    rerun = RenderedReport("461", tmp_path / "461.ipynb", tmp_path / "461.html", 1.0)
    index = write_index(tmp_path, [rerun], [("825", "EstimationError: x")], "en")
    page = index.read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', page)
    assert links == ["101.html", "461.html", "national.html"]
    assert "København (101)" in page and "The whole country" in page
    assert "825: EstimationError: x" in page and "notes.html" not in page


def test_design_explorer_uses_the_protocols_threshold_and_the_report_language():
    """The design explorer's allocation table is disclosed with the protocol's threshold and
    its footnote says that threshold ("Fewer than 1 cases" before); headers follow the
    language."""
    from stikprove.reports import design_explorer, tables

    protocol = ROOT / "protocols" / "odense-replication.toml"
    threshold = design_explorer.disclosure_threshold(protocol)
    assert threshold == 5
    allocations = design_explorer.allocations(protocol)
    assert allocations["disclosure"].eq("small").any()
    english = tables.gt_table(allocations, "en", threshold=threshold).as_raw_html()
    assert "Fewer than 5 people" in english and ">Equal<" in english


def test_design_explorer_hours_say_what_each_allocation_buys(tmp_path):
    """The three allocations split the same total (same hours), so the table also gives the
    expected precision each buys: the study's half-width is the design step's for those n_h,
    and equal allocation trades overall precision for its least precise stratum's (with a
    minimum of 5 per group: the Odense protocol's 42 leaves the three nothing to share)."""
    from stikprove.design import DESIGN_METHOD_OF, domain_half_width
    from stikprove.protocol import load_protocol
    from stikprove.reports import design_explorer

    odense = (ROOT / "protocols" / "odense-replication.toml").read_text(encoding="utf-8")
    frame = (ROOT / "synthetic_data" / "frame.csv").as_posix()
    path = tmp_path / "odense.toml"
    path.write_text(re.sub(r"minimum = \d+", "minimum = 5", odense).replace(
        '"../synthetic_data/frame.csv"', f'"{frame}"'), encoding="utf-8")
    hours = design_explorer.review_hours(path).set_index("allocation")
    assert len(set(hours["hours"])) == 1
    protocol = load_protocol(path)
    strata = design_explorer._allocations(path)
    equal = domain_half_width(strata["population_size"], strata["equal"], strata["anticipated"],
                              protocol.confidence_level,
                              DESIGN_METHOD_OF[protocol.interval_method])  # fmt: skip
    assert hours.loc["equal", "half_width_all"] == pytest.approx(equal, rel=1e-12)
    assert hours.loc["equal", "half_width_all"] > hours.loc["proportional", "half_width_all"]
    assert hours.loc["equal", "half_width_widest"] < hours.loc["proportional", "half_width_widest"]
    danish = design_explorer.review_hours(path, "da")["allocation"].tolist()
    assert danish == ["Protokollens fordeling", "Proportional", "Lige store", "Neyman"]


@pytest.mark.slow  # the 16-kommune study's release is solved once: tens of seconds
@pytest.mark.parametrize("method", [None, "korn-graubard", "wilson"])
def test_effective_n_is_one_number_in_kommune_report_and_national_overview(national, method):
    """A kommune's total has one effective n: the kommune report's "I alt" row and the
    national overview's kommune row show the same n_eff (issue 17: Odense showed 328.1 in its
    report and 338.4 in the national overview), under any interval method, raw and disclosed."""
    flags = content.kommune_flags(national, "too_ill", method=method).set_index("kommune_code")
    behind = content.sample(national).flag("too_ill", by="kommune_code", method="korn-graubard",
                                           confidence_level=national.confidence_level)  # fmt: skip
    behind = behind.set_index("kommune_code")
    shown = 0
    for kommune in national.kommuner:
        raw = content.estimates_table(national, "too_ill", kommune, groupings=[()],
                                      method=method, raw=True)["n_eff"].iloc[0]  # fmt: skip
        assert raw == pytest.approx(behind.loc[kommune, "n_eff"], rel=1e-12)
        table = content.estimates_table(national, "too_ill", kommune, groupings=[()],
                                        method=method)  # fmt: skip
        ours, theirs = table["n_eff"].iloc[0], flags.loc[kommune, "n_eff"]
        assert pd.isna(ours) == pd.isna(theirs)
        if not pd.isna(ours):
            assert ours == pytest.approx(theirs, rel=1e-12) and ours == pytest.approx(raw)
            shown += 1
    assert shown >= 5


@pytest.mark.slow  # the 16-kommune study's release is solved once: tens of seconds
def test_bounds_count_only_eligible_cases_without_an_outcome(national, tmp_path, capsys):
    """Cases found ineligible (replaced by reserves) are outside the indicator, not missing:
    the report's n_missing (and `estimate --bounds`'s) counts the eligible cases that could
    not be assessed (issue 17: Odense's 28 "missing" held 12 ineligible), and the report
    says how many."""
    from stikprove.reports import text

    data = national.data
    eligible = data["eligible"].ne("nej")
    differs = 0
    for kommune in national.kommuner:
        mine = data["kommune_code"].eq(kommune)
        row = content.bounds_table(national, "too_ill", kommune).iloc[0]
        expected = int((mine & eligible & data["too_ill"].isna()).sum())
        if not pd.isna(row["n_missing"]):
            assert row["n_missing"] == expected
            differs += expected < int((mine & data["too_ill"].isna()).sum())
            if not pd.isna(row["estimate_missing_as_0"]):
                assert f"{expected} berettigede personer" in text.bounds_sentence(row, "da")
    assert differs >= 1
    row = content.bounds_table(national, "too_ill").iloc[0]
    assert row["n_missing"] == int((eligible & data["too_ill"].isna()).sum())
    argv = ["estimate", str(national.path), "--outcome", "too_ill", "--bounds",
            "--format", "csv"]  # fmt: skip
    assert main(argv) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert printed["n_missing"].iloc[0] == row["n_missing"]


@pytest.mark.slow  # the 16-kommune study's release is solved once: tens of seconds
@pytest.mark.parametrize("language", ["da", "en"])
def test_funnel_plot_and_flags_tell_one_story(national, language):
    """For every kommune drawn in the national funnel plot: outside the plotted limit ⇔
    flagged (issue 17: Skive outside the 99.8 % limit was "Afviger: nej", Viborg inside was
    red); both occur; the axes are labelled and the legend explains the limit, the national
    line and both colours."""
    import matplotlib.pyplot as plt
    import numpy as np

    from stikprove.reports import plots

    seen = set()
    for indicator in ("too_ill", "no_effort"):
        flags = content.kommune_flags(national, indicator)
        points = content.funnel_points(flags)
        rate = content.national_rate(national, indicator)
        assert rate == flags.attrs["national_rate"]
        figure = plots.funnel_plot(points, rate, language, indicator)
        ax = figure.axes[0]
        limit = next(line for line in ax.get_lines()
                     if str(line.get_label()).startswith(("Grænse", "Limit")))  # fmt: skip
        upper = ax.get_lines()[ax.get_lines().index(limit) + 1]
        x = points["n_eff"].to_numpy(float)
        low = np.interp(x, limit.get_xdata(), limit.get_ydata())
        high = np.interp(x, upper.get_xdata(), upper.get_ydata())
        outside = (points["estimate"] < low) | (points["estimate"] > high)
        assert outside.tolist() == points["flagged"].tolist()
        # the blue points are the kommuner not flagged, the red ones the flagged
        inside, red = (np.asarray(c.get_offsets()) for c in ax.collections[:2])
        flagged = points["flagged"].to_numpy()
        np.testing.assert_array_equal(inside[:, 0], x[~flagged])
        np.testing.assert_array_equal(red[:, 0] if len(red) else [], x[flagged])
        seen.update(points["flagged"].tolist())
        assert ax.get_xlabel() and indicator in ax.get_ylabel()
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        expected = (("Grænse for afvigelse", "Landstal", "inden for grænsen", "uden for grænsen")
                    if language == "da" else
                    ("Limit for differing", "National rate", "inside the limit",
                     "outside the limit"))  # fmt: skip
        for words in expected:
            assert any(words in entry for entry in legend), (words, legend)
        plt.close(figure)
    assert seen == {True, False}


# ---------------------------------------------------------------------------------------------
# what a reader sees (issue 17, item 5): plain words, true minus signs, a glossary, where the
# figures come from, and a short report for a kommune too small for figures of its own


@pytest.mark.parametrize(
    ("row", "language", "expected"),
    [
        ({"sex": "kvinde", "origin": "dansk_oprindelse"}, "da", "kvinder af dansk oprindelse"),
        ({"sex": "mand", "origin": "dansk"}, "da", "mænd af dansk oprindelse"),
        ({"sex": "kvinde", "origin": "ikke_vestlig"}, "da", "kvinder af ikke-vestlig oprindelse"),
        ({"sex": "kvinde", "origin": "indvandrer_ikke_vestlig"}, "da",
         "kvindelige indvandrere fra ikke-vestlige lande"),
        ({"sex": "mand", "origin": "efterkommer_vestlig"}, "da",
         "mandlige efterkommere fra vestlige lande"),
        ({"origin": "indvandrer_vestlig"}, "da", "indvandrere fra vestlige lande"),
        ({"sex": "kvinde", "origin": "dansk_oprindelse"}, "en", "women of Danish origin"),
        ({"sex": "mand", "origin": "indvandrer_ikke_vestlig"}, "en",
         "male immigrants from non-Western countries"),
    ],
)  # fmt: skip
def test_groups_are_named_in_danmarks_statistiks_words(row, language, expected):
    """A group reads as Danmarks Statistik names it ("kvinder af dansk oprindelse"), not as
    a list of codes' labels ("kvinder, dansk oprindelse")."""
    from stikprove.reports import text

    assert text.group_phrase(row, language) == expected


def test_report_tables_label_their_rows_in_those_words(study):
    """The estimates table's group column uses the same words, capitalised."""
    table = content.estimates_table(content.load_study(study[0]), "too_ill", "147")
    assert "Kvinder af dansk oprindelse" in set(table["group"])
    assert "Mænd af ikke-vestlig oprindelse" in set(table["group"])
    assert not table["group"].str.contains(r", dansk", regex=True).any()


def test_numbers_are_written_with_a_true_minus_sign():
    """Negative numbers and differences carry U+2212, never the hyphen-minus; no "−0"."""
    from stikprove.reports import text

    assert text.number(-3.25, "da", 1) == "\u22123,2" or text.number(-3.25, "da", 1) == "\u22123,3"
    assert text.percent(-0.125, "en", 1) == "\u221212.5%"
    assert text.percent(-0.001, "da") == "0 %" and text.number(-0.2, "da") == "0"
    row = {"first": "kvinde", "second": "mand", "difference": -0.07,
           "ci_low_difference": -0.15, "ci_high_difference": 0.01, "p_value": 0.08}  # fmt: skip
    sentence = text.comparison_sentence(row, "da")
    assert "\u22127 procentpoint" in sentence and "\u221215 til 1" in sentence
    assert not re.search(r"-\d", sentence)


def test_the_headline_sentence_gives_the_place_its_interval_and_the_rates_beside_it():
    """One sentence: the kommune's rate of persons with its interval, then the region's and
    the nation's; a hidden rate is said in plain words, and the others are still given."""
    from stikprove.reports import text

    row = {"estimate": 0.184, "ci_low": 0.141, "ci_high": 0.232, "disclosure": ""}
    da = text.lead_sentence(row, "Odense", "too_ill", "da", 0.95,
                            [("Region Syddanmark", 0.19), ("hele landet", 0.211)])  # fmt: skip
    assert da == ("I Odense vurderes 18 % af personerne at være for syge til en "
                  "beskæftigelsesrettet indsats (95 %-KI 14–23 %); i Region Syddanmark er "
                  "andelen 19 % og i hele landet 21 %.")  # fmt: skip
    en = text.lead_sentence(row, "Odense", "too_ill", "en", 0.95, [("the whole country", 0.2)])
    assert en.startswith("In Odense, 18% of the people are assessed too ill")
    assert en.endswith("; in the whole country it is 20%.")
    hidden = text.lead_sentence({"estimate": None, "disclosure": "small"}, "Læsø", "too_ill",
                                "da", 0.95, [("hele landet", 0.21)])  # fmt: skip
    assert hidden == ("I Læsø er for få personer med i undersøgelsen til at vise et tal; "
                      "i hele landet er andelen 21 %.")  # fmt: skip
    assert text.lead_sentence(row, "Odense", "too_ill").endswith("(95 %-KI 14–23 %).")


def test_glossary_explains_the_four_terms_in_both_languages():
    """Konfidensinterval, effektiv stikprøvestørrelse, NCHS and Rao–Scott, in both languages."""
    from stikprove.reports import text

    da, en = text.glossary("da"), text.glossary("en")
    for term in ("Konfidensinterval", "Effektiv stikprøvestørrelse", "NCHS", "Rao–Scott"):
        assert f"**{term}" in da
    for term in ("Confidence interval", "Effective sample size", "The NCHS", "Rao–Scott"):
        assert f"**{term}" in en
    assert "30" in da and "30 percentage points" in en


def test_an_indicator_that_restates_another_is_found(study):
    """In a study of health-exempt cases only, 'misclassified' is exactly 1 − 'too_ill' (the
    same cases, the complementary answer): found, so the report does not show it as a second
    finding; 'no_effort' (another question) is not."""
    from stikprove.reports import text

    data = content.load_study(study[0])
    both = data.data[["too_ill", "misclassified"]].dropna()
    assert len(both) and ((both["too_ill"] + both["misclassified"]) == 1).all()
    assert content.complement_of(data, "misclassified", ["too_ill"]) == "too_ill"
    assert content.complement_of(data, "no_effort", ["too_ill", "misclassified"]) is None
    assert content.complement_of(data, "too_ill", []) is None
    sentence = text.complement_sentence("misclassified", "too_ill", "da")
    assert "100 % minus" in sentence and "vises ikke som et fund for sig" in sentence


def test_region_estimates_are_the_regions_cases(study):
    """A kommune alone in its region in the study: the region's figures are the kommune's
    (same n and estimate, disclosed by the same rules); its region is the kommuner table's."""
    data = content.load_study(study[0])
    region = content.region_estimates(data, "too_ill", "147")
    own = content.estimates_table(data, "too_ill", "147")
    pd.testing.assert_frame_equal(region, own)
    assert content.region_estimates(data, "too_ill", "825")["n"].isna().all()  # Læsø alone


def test_published_rows_leave_out_groups_under_the_threshold():
    """A row hidden for its own small count is not shown at all (its existence would say
    "1 to 4"); a row hidden to protect another stays, dashed."""
    from stikprove.reports import tables

    table = pd.DataFrame({"group": ["a", "b", "c"], "n": [None, None, 40],
                          "disclosure": ["small", "complementary", "nchs_df"]})  # fmt: skip
    assert tables.published_rows(table)["group"].tolist() == ["b", "c"]


def test_about_names_date_source_protocol_version_and_synthetic_data(study):
    """The provenance of the fixture study: its protocol id and fingerprint, the frame's file
    name and fingerprint (no path), the draw's date, and synthetic data (the frame has synth's
    truth.csv beside it), with the notice."""
    from datetime import date

    from stikprove.reports import about
    from stikprove.store import open_study

    facts = about.about(study[0])
    rounds = open_study(study[0]).rounds()
    assert facts.study_id == "national-template" and facts.synthetic
    assert facts.protocol_version == rounds["protocol_fingerprint"].iloc[-1][:12]
    text_da = facts.markdown("da", today=date(2027, 3, 1))
    assert "**Dato:** 1. marts 2027" in text_da
    assert f"**Protokol:** national-template, version {facts.protocol_version}" in text_da
    assert "**Datakilde:** syntetisk registerudtræk frame.csv (fingeraftryk " in text_da
    assert str(study[0].parent) not in text_da
    assert "Syntetiske data" in facts.notice_html("da")
    assert "Synthetic data" in facts.notice_html("en")
    real = about.ReportAbout("x", "abc", "extract.csv", "def", None, False, "1.0")
    assert real.notice_html("da") == "" and "registerudtræk extract.csv" in real.markdown("da")


def test_index_page_is_styled_like_the_reports(tmp_path):
    """index.html carries the reports' own style sheet and layout, and a title that says
    what the reports are."""
    from stikprove.reports.render import TEMPLATES, RenderedReport, write_index

    (tmp_path / "461.html").write_text("<html></html>")
    report = RenderedReport("461", tmp_path / "461.ipynb", tmp_path / "461.html", 1.0)
    page = write_index(tmp_path, [report], [], "da").read_text(encoding="utf-8")
    css = (TEMPLATES / "stikprove" / "stikprove.css").read_text(encoding="utf-8")
    assert css in page and '<main class="stikprove-page">' in page
    assert "<title>Genvurdering af aktivitetsparate kontanthjælpsmodtagere: rapporter" in page
    assert 'href="461.html">Odense (461)<' in page


def _visible(html: str):
    """The text a reader sees in a rendered report (no style sheet, no script), and the
    page's parts as BeautifulSoup."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for hidden in soup(["style", "script"]):
        hidden.decompose()
    return " ".join(soup.get_text(" ").split()), soup


@pytest.fixture(scope="module")
def three_kommuner(tmp_path_factory):
    """Odense (461) beside Frederiksberg (147), Læsø (825, a handful of cases) and
    Frederikshavn (813, Læsø's region)."""
    folder = tmp_path_factory.mktemp("three-kommuner")
    return make_report_study(folder, kommuner=("461", "147", "825", "813"), max_reviews=450)


@pytest.mark.slow
def test_a_reader_sees_the_headline_first_in_plain_words(three_kommuner, tmp_path):
    """Odense's report (Danish) and Frederiksberg's (English), rendered: the browser title
    names the kommune; the first thing after the title and the synthetic-data notice is one
    sentence with the kommune's rate of persons and the region's and the nation's beside it;
    groups in Danmarks Statistik's words; no complement indicator as a second finding; a
    glossary; date, data source, protocol id and version; no hyphen-minus before a number."""
    path, frame = three_kommuner
    out = tmp_path / "reports"
    with KernelSession(cwd=tmp_path) as session:
        odense = render_notebook("kommune", {"study": str(path), "kommune": "461"}, out,
                                 session=session)  # fmt: skip
        english = render_notebook("kommune", {"study": str(path), "kommune": "147",
                                              "language": "en"}, out, session=session)  # fmt: skip
    html = odense.html.read_text(encoding="utf-8")
    seen, soup = _visible(html)
    assert soup.title.string.startswith("Genvurdering af aktivitetsparate") and "Odense" in (
        soup.title.string)
    notice = soup.select_one(".stikprove-notice")
    assert notice is not None and "Syntetiske data" in notice.get_text()
    lead = soup.select_one(".stikprove-lead")
    assert lead is not None
    sentence = lead.get_text()
    assert re.fullmatch(r"I Odense vurderes \d+ % af personerne at være for syge til en "
                        r"beskæftigelsesrettet indsats \(95 %-KI \d+–\d+ %\); i Region "
                        r"Syddanmark er andelen \d+ % og i hele landet \d+ %\.", sentence)
    assert html.index("stikprove-lead") < html.index("<table")  # the headline before any table
    assert "Kvinder af dansk oprindelse" in seen and "kvinder af dansk oprindelse" in seen
    assert "alle sager" not in seen and "Sager i alt" not in seen
    assert "Vurderede personer (n)" in seen
    assert "Fritaget af helbredsgrunde, men kan deltage" not in seen.replace(
        '"fritaget af helbredsgrunde, men kan deltage"', "")  # only named in its sentence
    assert "vises ikke som et fund for sig" in seen
    for term in ("Ordforklaring", "Konfidensinterval", "Effektiv stikprøvestørrelse",
                 "NCHS' standard", "Rao–Scotts test"):  # fmt: skip
        assert term in seen
    assert re.search(r"Dato: \d{1,2}\. [a-zæøå]+ \d{4}", seen)
    assert "Datakilde: syntetisk registerudtræk frame.csv" in seen
    assert re.search(r"Protokol: national-template, version [0-9a-f]{12}", seen)
    assert not re.search(r"(?<![\w.])-\d", seen)  # a minus is U+2212
    assert "Færre end 5 personer" not in seen  # no row for a group under the threshold
    page = english.html.read_text(encoding="utf-8")
    seen_en, soup_en = _visible(page)
    assert "Frederiksberg" in soup_en.title.string
    assert soup_en.select_one(".stikprove-lead").get_text().startswith("In Frederiksberg, ")
    assert "Women of Danish origin" in seen_en and "Glossary" in seen_en
    assert "Synthetic data" in seen_en and "Protocol: national-template, version" in seen_en
    assert _scan([odense.html, odense.notebook, english.html], list(frame["case_id"]), [],
                 ("case_id",)) == []  # fmt: skip


@pytest.mark.slow
def test_a_kommune_too_small_for_any_figure_gets_a_short_report(three_kommuner, tmp_path):
    """Læsø (a handful of cases): the report says in one sentence that the kommune is too
    small for figures of its own and gives its region's (where shown) and the nation's; no
    table of the kommune's own groups (no row for a group under the threshold), no
    "fewer than 5" footnote, and no case id."""
    path, frame = three_kommuner
    data = content.load_study(path)
    own = content.estimates_table(data, "too_ill", "825")
    assert own["estimate"].isna().all()  # too small for any figure
    assert content.too_small(data, "825") and not content.too_small(data, "147")
    report = render_notebook("kommune", {"study": str(path), "kommune": "825"}, tmp_path)
    html = report.html.read_text(encoding="utf-8")
    seen, soup = _visible(html)
    assert "Læsø" in soup.title.string
    lead = soup.select_one(".stikprove-lead").get_text()
    # the region's figure where the release shows it (in this four-kommune study it hides
    # Region Nordjylland's: with Frederikshavn's and the nation's it would give Læsø's)
    assert re.fullmatch(r"I Læsø er for få personer med i undersøgelsen til at vise et tal; i "
                        r"(Region Nordjylland er andelen \d+ % og i hele landet|hele landet er "
                        r"andelen) \d+ %\.", lead)  # fmt: skip
    assert "Læsø har for få personer i undersøgelsen" in seen
    assert "hele landet" in seen
    for section in ("Stikprøvens design", "Fremdrift i genvurderingen", "Resultater pr. gruppe",
                    "Sammenligning af grupper"):  # fmt: skip
        assert section not in seen
    assert "Færre end 5 personer" not in seen and "Ordforklaring" in seen
    rows = [r.get_text(" ", strip=True) for r in soup.select("table tbody tr")]
    assert rows and not any(r.startswith("–") for r in rows)
    notebook = report.notebook.read_text(encoding="utf-8")
    assert _scan([report.html], list(frame["case_id"]), [], ("case_id",)) == []
    assert not any(c in notebook for c in frame["case_id"])


def test_design_explorer_shows_the_protocols_allocation_its_target_and_what_is_publishable():
    """Beside the alternatives, the protocol's own allocation (the design table's n_h); each
    group in words; per group whether the plan is publishable (the design table's verdict);
    the curves say from which n a group is publishable; the target is the protocol's margin;
    a title and an explanation naming the protocol's numbers."""
    from stikprove.design import design_table
    from stikprove.protocol import load_protocol, load_study_frame
    from stikprove.reports import design_explorer

    path = ROOT / "protocols" / "odense-replication.toml"
    protocol = load_protocol(path)
    design = design_table(protocol, load_study_frame(protocol))
    shown = design_explorer.allocations(path, "da")
    assert list(shown.columns[:3]) == ["group", "population_size", "protocol"]
    assert "Kvindelige indvandrere fra ikke-vestlige lande" in set(shown["group"])
    visible = shown["disclosure"] == ""
    assert (shown.loc[visible, "protocol"].astype(int).to_numpy()
            == design.strata.loc[visible.to_numpy(), "sample_size"].to_numpy()).all()  # fmt: skip
    verdict = design_explorer.publishability(path, "en")
    assert "Women of Danish origin" in set(verdict["group"])
    both = verdict["disclosure"] == ""
    assert (verdict.loc[both, "publishable"].astype(bool).to_numpy()
            == design.strata.loc[both.to_numpy(), "publishable"].to_numpy()).all()  # fmt: skip
    assert str(verdict["publishable_sample_size"].dtype) == "Int64"
    curves = design_explorer.precision_curves(path, 200, "da")
    assert "personer af dansk oprindelse" in set(curves["group"])
    for _, part in curves.groupby("group"):
        flags = part["publishable"].tolist()
        assert flags == sorted(flags)  # once publishable, publishable at every larger n
    assert design_explorer.target(path) == protocol.margin == 0.13
    assert design_explorer.title(path, "da").startswith("Designudforsker: Odense")
    warned = design_explorer.warning(path, "da")
    missed = verdict.loc[~verdict["publishable"].fillna(False).astype(bool), "group"]
    assert warned.startswith("**Advarsel:** 2 af 10 grupper kan ikke offentliggøres")
    assert "Kvindelige efterkommere fra vestlige lande" in warned and len(missed) == 2
    intro = design_explorer.intro(path, "da")
    assert "±13 procentpoint" in intro and f"{int(design.summary['reviews'])} genvurderinger" in (
        intro)


@pytest.mark.parametrize("language", ["da", "en"])
def test_small_kommune_sentence_names_the_model_section_only_when_the_report_has_one(language):
    from stikprove.reports import text

    heading = text.SECTIONS["model"][language]
    with_model = text.small_kommune_sentence("Læsø", "Region Nordjylland", language, 5,
                                             model_based=True)
    without = text.small_kommune_sentence("Læsø", "Region Nordjylland", language, 5)
    assert heading in with_model and "Region Nordjylland" in with_model
    assert heading not in without and "Region Nordjylland" in without
    assert ("modelbaserede" if language == "da" else "model-based") in with_model
