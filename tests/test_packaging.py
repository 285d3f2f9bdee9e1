"""The package as installed: its data files, its extras, ``python -m stikprove``."""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from stikprove import packaged
from stikprove.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "stikprove"


def _package_data_patterns() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["tool"]["setuptools"]["package-data"]["stikprove"]


def _tracked_data_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "src/stikprove"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.split()  # fmt: skip
    return [str(Path(f).relative_to("src/stikprove")) for f in listed if not f.endswith(".py")]


def test_every_data_file_of_the_package_goes_into_the_wheel():
    """Each non-Python file under src/stikprove matches a package-data pattern of
    pyproject.toml (a file left out works in a checkout and fails from a wheel)."""
    patterns = _package_data_patterns()
    files = _tracked_data_files()
    assert "notebooks/kommune_report.ipynb" in files
    assert "protocols/odense-replication.toml" in files
    assert "reports/templates/stikprove/index.html.j2" in files
    left_out = [f for f in files if not any(fnmatch.fnmatch(f, p) for p in patterns)]
    assert left_out == []


def test_notebooks_and_templates_are_read_from_the_package():
    """The report notebooks and protocol templates are the package's own files, not a
    checkout's; the checkout's notebooks/ and protocols/ are links to them."""
    for kind in packaged.NOTEBOOKS:
        assert packaged.notebook(kind).parent == PACKAGE / "notebooks"
    for name in packaged.PROTOCOL_TEMPLATES:
        assert packaged.protocol_template(name).parent == PACKAGE / "protocols"
    assert (ROOT / "notebooks").resolve() == PACKAGE / "notebooks"
    assert (ROOT / "protocols").resolve() == PACKAGE / "protocols"


def test_no_command_looks_for_a_source_checkout():
    """No module of the package reaches above itself for notebooks or protocols."""
    offenders = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")
                 if "parents[3]" in p.read_text(encoding="utf-8")
                 or "source checkout" in p.read_text(encoding="utf-8")]  # fmt: skip
    assert offenders == []


def _private_uses_of_stikprove(path: Path) -> list[str]:
    """Names with a leading underscore that a file takes from stikprove: imported from it,
    a module of it imported, or read as an attribute of a name imported from it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, bound = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "stikprove":
            names = [*node.module.split("."), *(alias.name for alias in node.names)]
            found += [f"{node.module}: {n}" for n in names if n.startswith("_")]
            bound |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "stikprove":
                    found += [alias.name for n in alias.name.split(".") if n.startswith("_")]
                    bound.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                and node.value.id in bound):  # fmt: skip
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_research_code_is_beside_the_package_and_uses_its_public_names_only():
    """The interval study lives in research/ (not in the package users install: the wheel
    is src/stikprove only, and .ci/wheel-check looks inside it), takes no private name of
    stikprove, so the package may change its internals freely, and neither the package nor
    its docs name the module it once was."""
    assert importlib.util.find_spec("stikprove.estimation.interval_study") is None
    research = sorted((ROOT / "research").glob("*.py"))
    assert {p.name for p in research} >= {"interval_study.py", "run_interval_study.py"}
    assert (ROOT / "research" / "README.md").is_file()
    uses = {p.name: _private_uses_of_stikprove(p) for p in research}
    assert {name: found for name, found in uses.items() if found} == {}
    old = "stikprove.estimation.interval_study"
    texts = [*PACKAGE.rglob("*.py"), *(ROOT / "docs").rglob("*.md"), ROOT / "mkdocs.yml",
             ROOT / "README.md"]  # fmt: skip
    assert [str(p.relative_to(ROOT)) for p in texts if old in p.read_text(encoding="utf-8")] == []
    sample = ROOT / "tests" / "test_coverage.py"  # the check itself sees a private import
    assert "stikprove.estimation.coverage: _domain_intervals" in _private_uses_of_stikprove(sample)


def test_an_unknown_notebook_or_template_is_refused():
    from stikprove.errors import StikproveError

    with pytest.raises(StikproveError, match=r"report kind must be one of .*'kommune'.*'x'"):
        packaged.notebook("x")
    with pytest.raises(StikproveError, match=r"protocol template must be one of .*'odense'"):
        packaged.protocol_template("kommunal")


def test_serve_without_the_web_extra_names_the_pip_install(monkeypatch, tmp_path, capsys):
    """`stikprove serve` in a base install (no Flask) says which pip install brings it,
    exit status 2, before touching the study."""
    import importlib.util

    from stikprove import extras

    real = importlib.util.find_spec
    monkeypatch.setattr(extras.importlib.util, "find_spec",
                        lambda name: None if name == "flask" else real(name))  # fmt: skip
    assert main(["serve", str(tmp_path / "missing.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'stikprove[web]'" in err and "missing: flask" in err
    assert "stikprove serve" in err


def test_an_unknown_extra_is_refused():
    from stikprove.errors import StikproveError
    from stikprove.extras import missing_modules

    with pytest.raises(StikproveError, match=r"extra must be one of \('web', 'lab'\); got 'gui'"):
        missing_modules("gui")


def test_the_base_commands_do_not_import_the_web_stack():
    """Building the command line and running a base command import no Flask, waitress or
    cheroot (the base install has none of them)."""
    code = ("import sys; from stikprove.cli import main; main(['check-protocol', "
            f"{str(ROOT / 'protocols' / 'odense-replication.toml')!r}]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'flask_wtf', 'wtforms', 'waitress', 'cheroot', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.strip().splitlines()[-1] == "[]"


def test_python_dash_m_runs_the_command_line():
    """`python -m stikprove` is the same command line as `stikprove`."""
    from stikprove._version import __version__

    done = subprocess.run([sys.executable, "-m", "stikprove", "--version"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout.strip() == f"stikprove {__version__}"
    usage = subprocess.run([sys.executable, "-m", "stikprove", "draw", "--help"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert usage.startswith("usage: stikprove draw")
