"""The estimation commands: estimate, compare, simulate (agreement is in the demo test)."""

import io
from pathlib import Path

import pandas as pd
import pytest

from stikprove.cli import main
from stikprove.estimation.comparison import compare_proportions, rao_scott_test
from stikprove.estimation.domains import estimate_proportions

FIXTURES = Path(__file__).parent / "fixtures" / "r"
DOMAINS = FIXTURES / "domains_data.csv"
COMPARISON = FIXTURES / "comparison_data.csv"
PROTOCOL = Path(__file__).resolve().parents[1] / "protocols" / "odense-replication.toml"


def _settings_popped(printed: pd.DataFrame, level=0.95, method="pooled-hypergeometric"):
    """The printed table without the columns naming its level and method, which must be
    the ones expected."""
    assert set(printed.pop("confidence_level")) == {level}
    assert set(printed.pop("method")) == {method}
    return printed


def test_estimate_csv_output_is_the_python_function_disclosed(capsys):
    """`stikprove estimate --format csv` prints estimate_proportions after disclosure control."""
    from stikprove.release.disclosure import disclose_estimates

    argv = ["estimate", str(DOMAINS), "--outcome", "y", "--by", "sex",
            "--population-size", "N", "--format", "csv"]  # fmt: skip
    assert main(argv) == 0
    printed = _settings_popped(pd.read_csv(io.StringIO(capsys.readouterr().out),
                                           keep_default_na=False, na_values=[""]))
    raw = estimate_proportions(pd.read_csv(DOMAINS), "y", "stratum", "N", by="sex")
    expected = disclose_estimates(raw, ["sex"], 5)
    expected["disclosure"] = expected["disclosure"].replace("", float("nan"))
    pd.testing.assert_frame_equal(printed, expected, check_dtype=False)


def test_estimate_raw_is_the_python_function_marked_not_for_publication(capsys):
    """--raw prints every number of estimate_proportions, each row marked not for publication."""
    from stikprove.release.disclosure import NOT_FOR_PUBLICATION

    argv = ["estimate", str(DOMAINS), "--outcome", "y", "--by", "sex",
            "--population-size", "N", "--format", "csv", "--raw"]  # fmt: skip
    assert main(argv) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(printed.pop("publication")) == {NOT_FOR_PUBLICATION}
    printed = _settings_popped(printed)
    expected = estimate_proportions(pd.read_csv(DOMAINS), "y", "stratum", "N", by="sex")
    pd.testing.assert_frame_equal(printed, expected.reset_index(drop=True), check_dtype=False)


def test_estimate_writes_out_file_with_bounds(tmp_path):
    """--bounds adds the worst/best-case columns; --out writes the table to a file."""
    out = tmp_path / "est.csv"
    argv = ["estimate", str(DOMAINS), "--outcome", "y", "--population-size", "N",
            "--bounds", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert {"estimate", "ci_low", "ci_high", "estimate_missing_as_0"} <= set(table.columns)
    assert len(table) == 1


@pytest.mark.parametrize("where", ["cell", "column name"])
def test_an_analysis_table_holding_a_cpr_number_is_refused(tmp_path, capsys, where):
    """An analysis CSV with a CPR-like number in a (domain) column or a column name is
    refused with exit 2, naming the column and rows, never the number: a result table
    would otherwise print it as a domain's label."""
    table = pd.read_csv(DOMAINS)
    if where == "cell":
        table["grp"] = ["CPR 010190 1234" if i % 2 else "x" for i in range(len(table))]
    else:
        table["0101901234"] = "x"
    table.to_csv(tmp_path / "a.csv", index=False)
    argv = ["estimate", str(tmp_path / "a.csv"), "--outcome", "y", "--population-size", "N"]
    assert main(argv + (["--by", "grp"] if where == "cell" else [])) == 2
    captured = capsys.readouterr()
    assert "CPR" in captured.err and "a.csv" in captured.err and captured.out == ""
    assert "1234" not in captured.err


def test_compare_prints_the_difference_of_two_groups(capsys):
    """`stikprove compare --groups` gives the same difference as compare_proportions."""
    argv = ["compare", str(COMPARISON), "--outcome", "y", "--by", "kommune",
            "--groups", "k1,k3", "--population-size", "N"]  # fmt: skip
    assert main(argv) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    data = pd.read_csv(COMPARISON)
    result = compare_proportions(data, "y", "stratum", "N", "kommune", groups=("k1", "k3"))
    assert lines["interval_method"] == "pooled-hypergeometric"
    assert float(lines["ci_low_first"]) == pytest.approx(result.ci_low_first, abs=5e-5)
    assert float(lines["difference"]) == pytest.approx(result.difference, abs=5e-5)


def test_compare_test_prints_rao_scott(capsys):
    """`stikprove compare --test` prints the Rao-Scott statistic and p-value."""
    argv = ["compare", str(COMPARISON), "--outcome", "y", "--by", "origin", "--test",
            "--population-size", "N"]  # fmt: skip
    assert main(argv) == 0
    lines = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    data = pd.read_csv(COMPARISON)
    result = rao_scott_test(data, "y", "stratum", "N", "origin")
    assert float(lines["p_value"]) == pytest.approx(result.p_value, abs=5e-5)


def test_compare_refuses_groups_that_are_not_values(capsys):
    """A --groups value that is not in the column is named, with the values expected."""
    argv = ["compare", str(COMPARISON), "--outcome", "y", "--by", "kommune",
            "--groups", "k1,k9", "--population-size", "N"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "['k9'] not values of 'kommune'" in err and "'k1'" in err


def test_estimate_refuses_a_missing_table(tmp_path, capsys):
    """A table that does not exist is named."""
    assert main(["estimate", str(tmp_path / "nope.csv"), "--outcome", "y"]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "the file is empty"),
        ("a,b\n1,2\n3,4,5,6\n", "not a readable CSV"),
        (None, "is a folder, expected a study store (.sqlite) or a CSV file"),
    ],
)
def test_estimate_refuses_an_empty_malformed_or_folder_table_in_one_line(
    tmp_path, capsys, content, expected
):
    """An empty CSV (a traceback before), a malformed one (its message had a line break) and
    a folder (reported as "no such file") each end with one line naming the path, exit 2."""
    path = tmp_path / "table.csv"
    if content is None:
        path.mkdir()
    else:
        path.write_text(content)
    assert main(["estimate", str(path), "--outcome", "a"]) == 2
    err = capsys.readouterr().err
    assert expected in err and str(path) in err
    assert len(err.strip().splitlines()) == 1, err


def test_estimate_refuses_an_unknown_outcome_column(capsys):
    """An outcome column that is not in the table is an error naming it."""
    argv = ["estimate", str(DOMAINS), "--outcome", "too_ill", "--population-size", "N"]
    assert main(argv) == 2
    assert "too_ill" in capsys.readouterr().err


def test_flag_tests_each_domain_against_the_whole_population(capsys):
    """`stikprove flag` equals flag_differences with the design-based contrast."""
    from stikprove.estimation.domains import domain_linearization
    from stikprove.estimation.multiplicity import flag_differences

    argv = ["flag", str(COMPARISON), "--outcome", "y", "--by", "kommune",
            "--population-size", "N", "--format", "csv"]  # fmt: skip
    assert main(argv) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out))
    data = pd.read_csv(COMPARISON)
    estimates = estimate_proportions(data, "y", "stratum", "N", by="kommune")
    design = domain_linearization(data, "y", "stratum", "N", by="kommune")
    expected = flag_differences(estimates, design=design)
    # k3 (p = 0.385, n = 44) fails the NCHS standard on its floored Korn-Graubard interval
    # (n_eff capped at 44: 30 points wide): its test is hidden with its percentage
    shown = printed["disclosure"].fillna("").eq("").to_numpy()
    assert printed.loc[~shown, "disclosure"].tolist() == ["nchs_width"]
    assert printed["p_adjusted"][shown].tolist() == pytest.approx(
        expected["p_adjusted"][shown].tolist())  # fmt: skip
    assert printed["flagged"][shown].tolist() == expected["flagged"][shown].tolist()


def test_simulate_reports_coverage_per_method(tmp_path):
    """`stikprove simulate PROTOCOL` gives coverage and mean width per domain and method."""
    out = tmp_path / "coverage.csv"
    argv = ["simulate", str(PROTOCOL), "--replications", "200", "--out", str(out)]
    assert main(argv) == 0
    table = pd.read_csv(out)
    assert {"domain", "method", "coverage", "mean_width"} <= set(table.columns)
    assert "all" in set(table["domain"])
    assert table["coverage"].between(0, 1).all()
    # the default method (docs/intervals.md) first, beside the others
    assert table["method"].iloc[0] == "pooled-hypergeometric"
    assert {"korn-graubard", "logit", "wald", "wilson"} <= set(table["method"])


def _health_table(tmp_path: Path) -> Path:
    """A small analysis table whose health_assessment includes kan_ikke_vurderes."""
    ill, able, fit, unknown = (
        "for_syg", "kan_med_skaanehensyn", "ingen_vaesentlig_barriere", "kan_ikke_vurderes"
    )  # fmt: skip
    values = [ill, able, unknown, ill, fit, None, able, unknown, ill, fit, able, ill]
    data = pd.DataFrame({
        "case_id": [f"c{i}" for i in range(12)],
        "stratum": ["a"] * 6 + ["b"] * 6,
        "population_size": [40] * 6 + [90] * 6,
        "sex": ["kvinde", "mand"] * 6,
        "health_assessment": values,
    })  # fmt: skip
    path = tmp_path / "analysis.csv"
    data.to_csv(path, index=False)
    return path


def test_estimate_categories_drops_not_assessable_as_the_codebook_says(tmp_path, capsys):
    """--categories on a codebook field: kan_ikke_vurderes is a missing outcome (as for
    too_ill), not a category, and the categories come in codebook order; --missing ''
    counts it as a category again."""
    from stikprove.estimation.domains import estimate_categories

    path = _health_table(tmp_path)
    argv = ["estimate", str(path), "--outcome", "health_assessment", "--by", "sex",
            "--categories", "--format", "csv", "--raw"]  # fmt: skip
    assert main(argv) == 0
    printed = pd.read_csv(io.StringIO(capsys.readouterr().out)).drop(columns="publication")
    printed = _settings_popped(printed)
    order = ["for_syg", "kan_med_skaanehensyn", "ingen_vaesentlig_barriere"]
    expected = estimate_categories(
        pd.read_csv(path), "health_assessment", "stratum", "population_size", by="sex",
        categories=order, missing_values=["kan_ikke_vurderes"],
    )  # fmt: skip
    pd.testing.assert_frame_equal(printed, expected.reset_index(drop=True), check_dtype=False)
    assert "kan_ikke_vurderes" not in set(printed["category"])
    assert printed["category"].tolist()[:3] == order
    assert main([*argv, "--missing", ""]) == 0
    every = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert "kan_ikke_vurderes" in set(every["category"])


def test_printed_counts_are_whole_and_tiny_p_values_are_not_zero():
    """Counts and degrees of freedom print whole (4956, not 4956.0000); a p-value below
    1e-4 prints in scientific notation instead of 0.0000; other floats keep 4 decimals."""
    from stikprove.commands.estimation import _shown

    assert _shown("df_difference", 4956.0) == "4956"
    assert _shown("n_pairs", 287.0) == "287"
    assert _shown("n_eff", 91.98876) == "91.9888"
    assert _shown("p_value", 5.3e-67) == "5.3e-67"
    assert _shown("p_adjusted", 0.0) == "0.0000"
    assert _shown("kappa", 0.66361) == "0.6636"
    assert _shown("method", "newcombe") == "newcombe"


def test_agreement_field_errors_list_the_fields(tmp_path, capsys):
    """agreement --field note says the note never leaves the store (it is a codebook field,
    not an unknown one); both refusals list the fields that can be compared."""
    from store_fixtures import make_study

    study_path = make_study(tmp_path).path
    for field, why in (("note", "free text, which never leaves the study store"),
                       ("helth", "not a codebook field of this study")):  # fmt: skip
        assert main(["agreement", str(study_path), "--field", field]) == 2
        err = capsys.readouterr().err
        assert f"--field {field!r}: {why}; expected one of eligible, " in err
        assert "health_assessment" in err and "review_date" not in err


def test_flag_refuses_a_one_kommune_study(tmp_path, capsys):
    """One kommune is the whole nation: flag refuses to compare it with itself (exit 2)."""
    data = pd.read_csv(COMPARISON)
    one = tmp_path / "one.csv"
    data[data["kommune"] == "k1"].to_csv(one, index=False)
    argv = ["flag", str(one), "--outcome", "y", "--by", "kommune", "--population-size", "N"]
    assert main(argv) == 2
    assert "single domain (kommune k1)" in capsys.readouterr().err


def test_compare_keeps_domain_as_a_hidden_alias_of_by(capsys):
    """The old flag --domain still works and gives the same output as --by."""
    base = ["compare", str(COMPARISON), "--outcome", "y", "--groups", "k1,k3",
            "--population-size", "N"]  # fmt: skip
    assert main([*base, "--by", "kommune"]) == 0
    new = capsys.readouterr().out
    assert main([*base, "--domain", "kommune"]) == 0
    assert capsys.readouterr().out == new


METHODS = ["pooled-hypergeometric", "korn-graubard", "korn-graubard-deff1", "jeffreys", "logit",
           "wald", "wilson"]  # fmt: skip


def test_estimate_verdict_and_effective_n_do_not_change_with_method(capsys):
    """Issue 17: a domain suppressed under the default method was presented under
    --method korn-graubard. Now every --method shows the same NCHS verdict (disclosure
    codes), the same n and n_eff, and hides the same percentages; only the interval differs.
    The fixture's domain-by-sex groups include both verdicts."""
    tables = {}
    for method in METHODS:
        argv = ["estimate", str(DOMAINS), "--outcome", "y", "--by", "dom,sex",
                "--population-size", "N", "--format", "csv", "--method", method]  # fmt: skip
        assert main(argv) == 0
        tables[method] = pd.read_csv(io.StringIO(capsys.readouterr().out),
                                     keep_default_na=False, na_values=[""])  # fmt: skip
    first = tables[METHODS[0]]
    assert first["disclosure"].isna().any() and first["disclosure"].notna().any()
    for method in METHODS[1:]:
        table = tables[method]
        assert table["disclosure"].fillna("").tolist() == first["disclosure"].fillna("").tolist()
        assert table["estimate"].isna().tolist() == first["estimate"].isna().tolist()
        pd.testing.assert_series_equal(table["n_eff"], first["n_eff"])
