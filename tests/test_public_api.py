"""The public API re-exported from ``stikprove``."""

import importlib

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
