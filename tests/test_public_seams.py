"""The functions one module of the package takes from another, each tested on its own (issue
21 item 2: what another module needs is a documented public function of the module that owns
it, never a ``_name``; tests/test_imports.py checks that no ``_name`` crosses modules), and
the late binding by which the store offers ``study.sample()`` without importing estimation."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from stikprove import lazy
from stikprove.codebook import default_codebook
from stikprove.design.allocation import domain_half_width, target_half_widths, total_variance_terms
from stikprove.design.precision import (
    check_margin,
    check_method,
    expected_half_width,
    normal_quantile,
    smallest_sizes,
)
from stikprove.errors import DesignError, StikproveError, StoreError
from stikprove.recording.entries import value_problem
from stikprove.reports.content import kommune_rows, study_threshold
from stikprove.store.schema import (
    SCHEMA_VERSION,
    connect,
    migrate,
    quote_identifier,
    restrict_side_files,
)

# -- design.precision --------------------------------------------------------------------------


def test_normal_quantile_is_the_two_sided_z():
    """1.959964 at 0.95 (R: qnorm(0.975)), 2.575829 at 0.99 (qnorm(0.995))."""
    assert normal_quantile(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.99) == pytest.approx(2.575829, abs=1e-6)


def test_check_margin_accepts_a_half_width_below_one_half():
    """0.05 passes through; 0.5 and 0 are refused naming the argument."""
    assert check_margin("margin", 0.05) == 0.05
    with pytest.raises(DesignError, match=r"margin must be below 0\.5"):
        check_margin("margin", 0.5)
    with pytest.raises(DesignError, match="target 'x' margin"):
        check_margin("target 'x' margin", 0)


def test_check_method_names_the_methods():
    with pytest.raises(DesignError, match="method 'nope' must be one of 'wald'"):
        check_method("nope")
    check_method("wald")


@pytest.mark.parametrize("method", ["wald", "clopper-pearson"])
def test_smallest_sizes_is_the_first_n_that_meets_the_margin(method):
    """Each n meets the margin and n − 1 does not, elementwise."""
    p = np.array([0.1, 0.3, 0.5])
    N = np.array([400.0, 5000.0, 2000.0])
    n = smallest_sizes(0.08, p, N, 0.95, method)
    for i in range(3):
        meets = expected_half_width(n[i], p[i], 0.95, N[i], method)
        misses = expected_half_width(n[i] - 1, p[i], 0.95, N[i], method)
        assert meets <= 0.08 < misses


# -- design.allocation -------------------------------------------------------------------------


def test_total_variance_terms_is_the_stratified_variance_of_a_total():
    """N² (1 − n/N) S²/n with S² = N/(N − 1) p q; 0 for a census."""
    N, n, p = np.array([100.0, 50.0]), np.array([20.0, 50.0]), np.array([0.2, 0.4])
    terms = total_variance_terms(N, n, p)
    assert terms[0] == pytest.approx(100**2 * (1 - 20 / 100) * (100 / 99 * 0.2 * 0.8) / 20)
    assert terms[1] == 0


def test_target_half_widths_is_domain_half_width_of_each_domain():
    """Two domains (one of two strata, one of one) at once, as domain_half_width gives them."""
    codes = np.array([0, 0, 1])
    sizes, n, p = np.array([300.0, 500.0, 200.0]), np.array([40.0, 60.0, 30.0]), np.full(3, 0.3)
    widths = target_half_widths(codes, 2, sizes, n, p, 0.95, "wald")
    assert widths[0] == pytest.approx(domain_half_width(sizes[:2], n[:2], 0.3, 0.95, "wald"))
    assert widths[1] == pytest.approx(domain_half_width(sizes[2:], n[2:], 0.3, 0.95, "wald"))


# -- recording.entries -------------------------------------------------------------------------


def test_value_problem_says_what_the_field_expects():
    """A code not in a choice field's list, a malformed or future date; None when good."""
    codebook = default_codebook()
    choice = next(f for f in codebook.fields if f.kind == "choice")
    dated = next(f for f in codebook.fields if f.kind == "date")
    today = date(2026, 11, 25)
    assert value_problem(choice, choice.codes[0], today) is None
    assert value_problem(choice, "nonsense", today).startswith("one of ")
    assert value_problem(dated, "25-11-2026", today) == "a date YYYY-MM-DD"
    assert "not in the future" in value_problem(dated, "2026-11-26", today)
    assert value_problem(dated, "2026-11-25", today) is None


# -- reports.content ---------------------------------------------------------------------------


def test_kommune_rows_keeps_one_kommune_without_its_column():
    table = pd.DataFrame({"kommune_code": [461, 147, 461], "n": [1, 2, 3]})
    assert kommune_rows(table, "461").to_dict("list") == {"n": [1, 3]}


def test_study_threshold_is_the_given_or_the_study_s_own():
    """None takes the study's threshold; a bad one is refused."""
    study = SimpleNamespace(threshold=5)
    assert study_threshold(study, None) == 5 and study_threshold(study, 3) == 3
    with pytest.raises(StikproveError, match="whole number"):
        study_threshold(study, 0)


# -- store.schema ------------------------------------------------------------------------------


def test_quote_identifier_doubles_inner_quotes():
    assert quote_identifier("too_ill") == '"too_ill"'
    assert quote_identifier('a"b') == '"a""b"'


def test_migrate_and_connect(tmp_path):
    """migrate brings an empty file to the current schema; connect opens it with foreign
    keys on, and refuses a file that is not a database (StoreError), never creating one."""
    path = tmp_path / "s.sqlite"
    con = sqlite3.connect(path, isolation_level=None)
    migrate(con, 0, default_codebook())
    con.close()
    con = connect(path)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        stored = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert stored == (str(SCHEMA_VERSION),)
    finally:
        con.close()
    (tmp_path / "notes.sqlite").write_text("not a database " * 100)
    with pytest.raises(StoreError, match="not a stikprove study store"):
        connect(tmp_path / "notes.sqlite").execute("SELECT 1")
    with pytest.raises(sqlite3.OperationalError):
        connect(tmp_path / "absent.sqlite")
    assert not (tmp_path / "absent.sqlite").exists()


def test_restrict_side_files_makes_them_owner_only(tmp_path):
    """Owner-only side files (the store runs on POSIX systems, where file modes hold)."""
    path = tmp_path / "s.sqlite"
    side = tmp_path / "s.sqlite-wal"
    side.write_text("")
    side.chmod(0o644)
    restrict_side_files(path)  # -shm and -journal are absent: no error
    assert stat.S_IMODE(side.stat().st_mode) == 0o600


# -- lazy: provide / provider ------------------------------------------------------------------


def test_provider_resolves_a_dotted_attribute_on_first_use(monkeypatch):
    monkeypatch.setattr(lazy, "_PROVIDERS", {})
    lazy.provide("demo.role", "stikprove.codebook:Codebook.field")
    from stikprove.codebook import Codebook

    assert lazy.provider("demo.role") is Codebook.field
    with pytest.raises(LookupError, match="nothing provides 'other'"):
        lazy.provider("other")
    with pytest.raises(ValueError, match=r"package\.module:attribute"):
        lazy.provide("demo.role", "stikprove.codebook")


def test_study_sample_is_bound_by_the_package_root():
    """The root names estimation's StratifiedSample.from_study for study.sample()."""
    from stikprove.estimation.stratified_sample import StratifiedSample

    assert lazy.provider("study.sample") == StratifiedSample.from_study


def test_the_store_loads_without_estimation():
    """Importing the store (and the rest of its step) imports no module of estimation."""
    code = (
        "import sys, stikprove.store, stikprove.recording, stikprove.worklist\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('stikprove.estimation'))\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
