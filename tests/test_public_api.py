"""The public API re-exported from ``stikprove``."""

import ast
import importlib
from pathlib import Path

import pytest

import stikprove


@pytest.mark.parametrize("name", sorted(stikprove._EXPORTS))
def test_every_exported_name_resolves_to_its_module(name):
    """Each name in stikprove's export table exists in the module it points to."""
    module = importlib.import_module(stikprove._EXPORTS[name])
    assert getattr(stikprove, name) is getattr(module, name)


def test_unknown_attribute_raises_attribute_error():
    """A name that is not exported is an AttributeError, not a silent None."""
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        stikprove.nonsense  # noqa: B018


def test_dir_lists_each_public_name_once_and_no_helpers():
    """dir(stikprove): the exports and __version__, each once; no importlib, Any, ..."""
    names = dir(stikprove)
    assert len(names) == len(set(names))
    assert set(stikprove._EXPORTS) <= set(names) and "__version__" in names
    assert not {"importlib", "Any", "TYPE_CHECKING", "annotations"} & set(names)
    stikprove.proportion_ci  # noqa: B018  (a resolved name is not listed twice)
    assert dir(stikprove).count("proportion_ci") == 1


def test_internals_are_off_the_top_level():
    """Helpers of the command line and the store are not part of the public face."""
    for name in ("import_entries", "record_interactive", "read_key"):
        assert name not in stikprove._EXPORTS
        with pytest.raises(AttributeError):
            getattr(stikprove, name)


def test_type_checkers_see_every_export():
    """The TYPE_CHECKING imports in __init__.py name exactly the lazy exports, each from its
    module; py.typed ships with the package."""
    source = Path(stikprove.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    guarded = next(
        node for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )  # fmt: skip
    seen = {
        alias.asname or alias.name: node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == stikprove._EXPORTS
    assert (Path(stikprove.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize(
    "name", sorted(n for n in stikprove._EXPORTS if stikprove._EXPORTS[n] == "stikprove.errors")
)
def test_every_error_is_a_value_error(name):
    """Callers used to scipy catch stikprove's refusals with except ValueError."""
    assert issubclass(getattr(stikprove, name), ValueError)


def test_a_missing_file_is_also_a_file_not_found_error(tmp_path):
    """A missing frame, study store or key file is caught as FileNotFoundError (as open()
    raises) and as its step's error."""
    missing = tmp_path / "nope.csv"
    for call, kind in [
        (lambda: stikprove.load_frame(missing), stikprove.FrameError),
        (lambda: stikprove.open_study(tmp_path / "nope.sqlite"), stikprove.StoreError),
    ]:
        with pytest.raises(FileNotFoundError) as caught:
            call()
        assert isinstance(caught.value, kind) and isinstance(caught.value, ValueError)
        assert "nope" in str(caught.value)
