"""The public seams between the modules of stikprove.estimation (design_coding, domain_summary,
linearization, the coded twins of the module functions) and the shared conventions of the
estimates: one error for "cannot be estimated here", one default method, one argument order.

The numbers behind these seams are checked against R in test_domains.py, test_comparison.py
and test_multiplicity.py; here each seam is held to its contract and to the module function it
serves (the same numbers exactly)."""

from __future__ import annotations

import inspect
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stikprove.errors import EstimationError, NotEstimableError
from stikprove.estimation import comparison, domains, linearization, rao_scott
from stikprove.estimation.comparison import compare_proportions
from stikprove.estimation.design_coding import (
    CodedDesign,
    CodedStrata,
    as_columns,
    binary_outcome,
    check_design_columns,
    code_design,
    code_domains,
    code_sample,
    code_strata,
    in_scope_mask,
    require_columns,
)
from stikprove.estimation.domain_summary import (
    DEGENERATE_STRATA,
    check_degenerate_strata,
    exact_domain_bounds,
    summarise_domains,
)
from stikprove.estimation.domains import estimate_proportions
from stikprove.estimation.rao_scott import rao_scott_test
from stikprove.estimation.stratified_sample import StratifiedSample
from stikprove.exact_bounds import hypergeometric_interval
from stikprove.methods import DEFAULT_DOMAIN_INTERVAL_METHOD, old_positional_order

DATA = Path(__file__).parent / "fixtures" / "r" / "comparison_data.csv"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    """238 cases in 10 strata of 4 kommuner (tests/fixtures/r/comparison.R), some outcomes
    missing."""
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def coded(data) -> CodedStrata:
    return code_strata(data, "stratum", "N")


# ------------------------------------------------------------------------------ design_coding


def test_as_columns_gives_a_list():
    """None, one name or several: always a list of names."""
    assert (as_columns(None), as_columns("a"), as_columns(("a", "b"))) == ([], ["a"], ["a", "b"])


def test_require_columns_names_the_role_and_the_closest_column(data):
    """A missing column is refused with its role and a suggestion."""
    require_columns(data, "outcome", ["y"])
    with pytest.raises(EstimationError, match=r"by column 'komune'.*did you mean 'kommune'"):
        require_columns(data, "by", ["komune"])


def test_binary_outcome_reads_0_1_and_missing_and_refuses_the_rest():
    """0/1, bool and missing are read (NaN for missing); 2 is refused with its row."""
    frame = pd.DataFrame({"y": [1, 0, None], "b": [True, False, True], "z": [0, 2, 1]})
    np.testing.assert_array_equal(binary_outcome(frame, "y"), [1.0, 0.0, np.nan])
    np.testing.assert_array_equal(binary_outcome(frame, "b"), [1.0, 0.0, 1.0])
    with pytest.raises(EstimationError, match=r"'z' must hold 0/1.*got 2 at row 2"):
        binary_outcome(frame, "z")


def test_check_design_columns_refuses_before_anything_is_coded(data):
    """A missing strata value and a frame without rows are refused; the lists are returned."""
    assert check_design_columns(data, "y", "stratum", "N", "kommune") == (["stratum"], ["kommune"])
    with pytest.raises(EstimationError, match="strata column 'stratum' has a missing value"):
        check_design_columns(data.assign(stratum=None), "y", "stratum", "N", None)
    with pytest.raises(EstimationError, match="no rows"):
        check_design_columns(data.iloc[0:0], None, "stratum", "N", None)


def test_code_strata_codes_each_row_and_checks_n_h(data, coded):
    """One code per row, N_h and rows per stratum; N_h below the rows is refused."""
    assert len(coded) == data["stratum"].nunique() and coded.columns == ("stratum",)
    first = data["stratum"].sort_values().iloc[0]
    h = int(coded.code[np.flatnonzero(data["stratum"].to_numpy() == first)[0]])
    assert h == 0 and coded.names[0] == first
    assert coded.population[0] == data.loc[data["stratum"] == first, "N"].iloc[0]
    assert coded.rows.sum() == len(data)
    with pytest.raises(EstimationError, match="smaller than its"):
        code_strata(data.assign(N=1), "stratum", "N")


def test_code_domains_drops_missing_outcomes_and_codes_the_domains(data, coded):
    """Cases with a NaN outcome are dropped; n_h counts the others; domains are sorted."""
    y = binary_outcome(data, "y")
    design = code_domains(data, coded, y, "kommune")
    assert isinstance(design, CodedDesign)
    assert len(design.y) == np.count_nonzero(~np.isnan(y)) == design.sample.sum()
    assert design.keys["kommune"].tolist() == sorted(data["kommune"].unique())
    np.testing.assert_array_equal(design.rows, np.flatnonzero(~np.isnan(y)))
    with pytest.raises(EstimationError, match="one entry per row"):
        code_domains(data, coded, y[:-1], "kommune")


def test_code_design_and_code_sample_give_the_same_design(data, coded):
    """code_design on coded strata = code_sample from the frame; no outcome at all is
    NotEstimableError (valid input, nothing to estimate)."""
    one = code_design(data, coded, "y", "origin")
    two = code_sample(data, "y", "stratum", "N", "origin")
    for field in ("y", "stratum", "population", "sample", "domain", "rows"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    pd.testing.assert_frame_equal(one.keys, two.keys)
    with pytest.raises(NotEstimableError, match="no non-missing values"):
        code_design(data.assign(y=np.nan), coded, "y")


def test_in_scope_mask_reads_a_column_or_one_flag_per_row(data):
    """None: every row; a boolean column; refused: a non-boolean value, a wrong length."""
    assert in_scope_mask(data, None).all()
    flags = (data.index % 2 == 0).tolist()
    np.testing.assert_array_equal(in_scope_mask(data.assign(s=flags), "s"), flags)
    with pytest.raises(EstimationError, match="True or False"):
        in_scope_mask(data.assign(s=1), "s")
    with pytest.raises(EstimationError, match="one value per row"):
        in_scope_mask(data, [True])


# ----------------------------------------------------------------------------- domain_summary


def test_check_degenerate_strata_follows_the_method():
    """None: pooled for the default method, standard otherwise; unknown values refused."""
    assert check_degenerate_strata(None, DEFAULT_DOMAIN_INTERVAL_METHOD) == "pooled"
    assert check_degenerate_strata(None, "korn-graubard") == "standard"
    assert all(check_degenerate_strata(v) == v for v in DEGENERATE_STRATA)
    with pytest.raises(EstimationError, match="degenerate_strata must be one of"):
        check_degenerate_strata("certainty")


@pytest.mark.parametrize("variance", DEGENERATE_STRATA)
def test_summarise_domains_is_the_table_s_estimate_and_se(data, variance):
    """The summary's n, estimate, se and df are estimate_proportions' columns."""
    design = code_sample(data, "y", "stratum", "N", "kommune")
    summary = summarise_domains(design, variance)
    table = estimate_proportions(data, "y", "stratum", "N", "kommune", degenerate_strata=variance)
    for column in ("n", "estimate", "se", "df"):
        np.testing.assert_array_equal(summary[column], table[column].to_numpy(dtype=float))


def test_exact_domain_bounds_is_the_hypergeometric_interval_of_a_whole_stratum(data):
    """For domains that are whole strata: x of n drawn from N_h."""
    design = code_sample(data, "y", "stratum", "N", "stratum")
    summary = summarise_domains(design)
    mask = np.ones(len(design.keys), dtype=bool)
    low, high = exact_domain_bounds(summary, mask, 0.05)
    expected = hypergeometric_interval(summary["x"], summary["n"], design.population, 0.05)
    np.testing.assert_allclose(low, expected[0], rtol=0, atol=0)
    np.testing.assert_allclose(high, expected[1], rtol=0, atol=0)


# ------------------------------------------------------------------------------ linearization


def test_linearize_and_outcome_linearization_are_domain_linearization(data, coded):
    """The coded paths give the module function's linearization exactly."""
    expected = linearization.domain_linearization(data, "y", "stratum", "N", by="origin")
    design = code_design(data, coded, "y", "origin")
    for lin in (
        linearization.linearize(design),
        linearization.linearize(design, summarise_domains(design)),
        linearization.outcome_linearization(data, coded, "y", "origin"),
    ):
        np.testing.assert_array_equal(lin.covariance(), expected.covariance())
        np.testing.assert_array_equal(lin.influence, expected.influence)


# ---------------------------------------------------------------------------- domains' twins


def test_check_domain_method_accepts_the_domain_methods_only():
    """The default and the design methods pass; a proportion-only method is refused."""
    assert domains.check_domain_method(DEFAULT_DOMAIN_INTERVAL_METHOD) == (
        DEFAULT_DOMAIN_INTERVAL_METHOD)  # fmt: skip
    with pytest.raises(EstimationError):
        domains.check_domain_method("agresti-coull")


def test_domain_table_from_a_summary_is_estimate_proportions(data):
    """domain_table(design, summary, level, method) is the module function's table."""
    design = code_sample(data, "y", "stratum", "N", "kommune")
    table = domains.domain_table(design, summarise_domains(design), 0.9, "wilson")
    expected = estimate_proportions(data, "y", "stratum", "N", "kommune", 0.9, "wilson")
    pd.testing.assert_frame_equal(table, expected)


def test_coded_twins_give_the_module_functions_tables(data, coded):
    """proportions_table, bounds_table and categories_table on coded strata equal
    estimate_proportions, outcome_bounds and estimate_categories."""
    pd.testing.assert_frame_equal(
        domains.proportions_table(data, coded, "y", "kommune"),
        estimate_proportions(data, "y", "stratum", "N", "kommune"),
    )
    scope = (data.index % 3 != 0).tolist()
    pd.testing.assert_frame_equal(
        domains.bounds_table(data, coded, "y", "origin", in_scope=scope),
        domains.outcome_bounds(data, "y", "stratum", "N", "origin", in_scope=scope),
    )
    pd.testing.assert_frame_equal(
        domains.categories_table(data, coded, "origin", "kommune"),
        domains.estimate_categories(data, "origin", "stratum", "N", "kommune"),
    )


def test_comparison_twins_give_the_module_functions_results(data, coded):
    """compare_coded and rao_scott_coded on coded strata equal the module functions; the
    comparison module re-exports the Rao–Scott test."""
    assert comparison.rao_scott_test is rao_scott_test
    assert comparison.compare_coded(data, coded, "y", "kommune", groups=("k1", "k3")) == (
        compare_proportions(data, "y", "stratum", "N", "kommune", groups=("k1", "k3")))  # fmt: skip
    assert rao_scott.rao_scott_coded(data, coded, "y", "origin") == rao_scott_test(
        data, "y", "stratum", "N", "origin"
    )


# ------------------------------------------------------------------ cannot be estimated here


def test_not_estimable_is_an_estimation_error():
    """Existing `except EstimationError` code keeps catching it."""
    assert issubclass(NotEstimableError, EstimationError)


def _census(data: pd.DataFrame) -> pd.DataFrame:
    """The cases with an outcome, each stratum a census of them."""
    kept = data.dropna(subset=["y"])
    return kept.assign(N=kept.groupby("stratum")["N"].transform("size"))


@pytest.mark.parametrize(
    "call",
    [
        lambda d: estimate_proportions(d.assign(y=np.nan), "y", "stratum", "N"),
        lambda d: compare_proportions(d, "y", "stratum", "N", "kommune", groups=("k1", "k9")),
        lambda d: compare_proportions(d.assign(g="a"), "y", "stratum", "N", "g"),
        lambda d: rao_scott_test(d.assign(g="a"), "y", "stratum", "N", "g"),
        lambda d: rao_scott_test(d.assign(y=0.0), "y", "stratum", "N", "origin"),
        lambda d: rao_scott_test(_census(d), "y", "stratum", "N", "origin"),
        lambda d: domains.outcome_bounds(d, "y", "stratum", "N", in_scope=[False] * len(d)),
        lambda d: domains.estimate_categories(d.assign(c=None), "c", "stratum", "N"),
        lambda d: StratifiedSample(d[d["kommune"] == "k1"], "stratum", "N").flag("y", "kommune"),
    ],
)
def test_nothing_to_estimate_is_not_estimable(data, call):
    """No case with an outcome, a group without data, a single group or outcome value, no
    variance, a single domain to flag: NotEstimableError."""
    with pytest.raises(NotEstimableError):
        call(data)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: estimate_proportions(d, "nope", "stratum", "N"),
        lambda d: estimate_proportions(d.assign(y=2), "y", "stratum", "N"),
        lambda d: estimate_proportions(d, "y", "stratum", "N", method="nope"),
        lambda d: compare_proportions(d, "y", "stratum", "N", "kommune", groups=("k1", "k1")),
        lambda d: rao_scott_test(d, "y", "stratum", "N", "origin", statistic="nope"),
        lambda d: rao_scott_test(d, "y", "stratum", "N", "origin", degenerate_strata="pooled"),
    ],
)
def test_bad_input_stays_an_estimation_error(data, call):
    """Bad input is an EstimationError, and not the 'cannot be estimated' one."""
    with pytest.raises(EstimationError) as caught:
        call(data)
    assert not isinstance(caught.value, NotEstimableError)


def test_reports_hide_only_what_cannot_be_estimated(monkeypatch):
    """The report's comparison and test are empty when nothing can be estimated, and let bad
    input through."""
    from types import SimpleNamespace

    from stikprove.reports import content

    frame = pd.DataFrame({"y": [1.0, 0.0], "sex": ["kvinde", "mand"], "g": ["a", "b"]})
    study = SimpleNamespace(data=frame, confidence_level=0.95, interval_method="wilson",
                            threshold=3)  # fmt: skip
    monkeypatch.setattr(content, "_total_hidden", lambda *a: "")
    for error, empty in ((NotEstimableError, True), (EstimationError, False)):

        def fail(*args, error=error, **kwargs):
            raise error("no")

        fake = SimpleNamespace(compare=fail, rao_scott=fail)
        monkeypatch.setattr(content, "sample", lambda *a, fake=fake: fake)
        for table in (partial(content.comparison_table, study, "y", domain="sex"),
                      partial(content.group_test, study, "y", group="g")):  # fmt: skip
            if empty:
                assert table().empty
            else:
                with pytest.raises(EstimationError):
                    table()


# ------------------------------------------------------------ one default, one argument order


def _leading(function, skip: int = 0) -> list[str]:
    return [
        p.name
        for p in list(inspect.signature(function).parameters.values())[skip:]
        if p.kind is p.POSITIONAL_OR_KEYWORD
    ]


def test_siblings_take_estimate_proportions_order():
    """compare_proportions and rao_scott_test begin as estimate_proportions does; the design
    object's methods as its estimate."""
    order = _leading(estimate_proportions)
    assert _leading(compare_proportions) == order[:6]
    assert _leading(rao_scott_test) == order[:5]
    method_order = _leading(StratifiedSample.estimate, skip=1)
    for method in (StratifiedSample.compare, StratifiedSample.flag, StratifiedSample.bounds):
        leading = _leading(method, skip=1)
        assert leading == method_order[: len(leading)]


def test_siblings_take_the_default_method(data):
    """Every interval method default is DEFAULT_DOMAIN_INTERVAL_METHOD; a comparison's groups
    then have estimate_proportions' default estimates, se and intervals."""
    for function in (
        estimate_proportions, domains.outcome_bounds, domains.estimate_categories,
        StratifiedSample.estimate, StratifiedSample.bounds, StratifiedSample.categories,
        StratifiedSample.flag,
    ):  # fmt: skip
        assert inspect.signature(function).parameters["method"].default == (
            DEFAULT_DOMAIN_INTERVAL_METHOD)  # fmt: skip
    for function in (compare_proportions, StratifiedSample.compare):
        parameters = inspect.signature(function).parameters
        assert parameters["interval_method"].default == DEFAULT_DOMAIN_INTERVAL_METHOD
        assert parameters["degenerate_strata"].default is None
    result = compare_proportions(data, "y", "stratum", "N", "kommune", groups=("k1", "k2"))
    table = estimate_proportions(data, "y", "stratum", "N", "kommune").set_index("kommune")
    assert (result.se_second, result.ci_low_second, result.ci_high_second) == tuple(
        table.loc["k2", ["se", "ci_low", "ci_high"]]
    )
    assert result == compare_proportions(
        data, "y", "stratum", "N", "kommune", groups=("k1", "k2"),
        interval_method=DEFAULT_DOMAIN_INTERVAL_METHOD, degenerate_strata="pooled",
    )  # fmt: skip
    assert rao_scott_test(data, "y", "stratum", "N", "origin") == rao_scott_test(
        data, "y", "stratum", "N", "origin", degenerate_strata="standard"
    )


def test_old_argument_orders_work_with_a_warning(data):
    """The old positional orders give the same results, each with a DeprecationWarning; the
    new order does not warn."""
    sample = StratifiedSample(data, "stratum", "N")
    new = compare_proportions(data, "y", "stratum", "N", "kommune", 0.9,
                              groups=("k1", "k3"), method="linearization")  # fmt: skip
    with pytest.warns(DeprecationWarning, match="old order"):
        old = compare_proportions(data, "y", "stratum", "N", "kommune", ("k1", "k3"), 0.9,
                                  "linearization")  # fmt: skip
    assert old == new
    with pytest.warns(DeprecationWarning, match="old order"):
        assert sample.compare("y", "kommune", ("k1", "k3"), 0.9, "linearization") == new
    test = rao_scott_test(data, "y", "stratum", "N", "origin", statistic="Chisq")
    for old_call in (
        lambda: rao_scott_test(data, "y", "origin", "stratum", "N"),
        lambda: rao_scott_test(data, "y", "origin", "stratum", "N", "Chisq"),
        lambda: rao_scott_test(data, "y", "origin", strata="stratum", population_size="N"),
        lambda: sample.rao_scott("y", "origin", "Chisq"),
    ):
        with pytest.warns(DeprecationWarning, match="old order"):
            result = old_call()
        assert (result.pearson, result.mean_design_effect) == (
            test.pearson, test.mean_design_effect)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rao_scott_test(data, "y", "stratum", "N", "origin")
        sample.compare("y", "kommune", 0.9, groups=("k1", "k3"))


def test_old_positional_order_maps_by_the_old_names():
    """A call the predicate calls old is passed by the old names, with a warning; a name given
    twice is a TypeError."""

    @old_positional_order(("b", "a"), lambda args, kwargs: isinstance(args[0], str))
    def f(a, b="x"):
        return a, b

    assert f(1, "y") == (1, "y")
    with pytest.warns(DeprecationWarning, match=r"f\(\): positional arguments in the old order"):
        assert f("y", 1) == (1, "y")
    with pytest.raises(TypeError, match="multiple values"):
        f("y", b="z")
    assert list(inspect.signature(f).parameters) == ["a", "b"]
