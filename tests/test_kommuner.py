"""The 98 kommuner as package data."""

import pytest

from stikprove.errors import StikproveError
from stikprove.kommuner import kommune, kommune_codes, kommune_table


def test_there_are_98_kommuner_with_unique_codes():
    table = kommune_table()
    assert len(table) == 98
    assert table["kommune_code"].is_unique
    assert table["kommune_code"].str.fullmatch(r"\d{3}").all()


def test_lookup_by_code_and_name():
    assert kommune("461").name == "Odense"
    assert kommune(101).name == "København"
    assert kommune("læsø").code == "825"
    assert "851" in kommune_codes()


def test_christiansoe_is_not_a_kommune():
    assert "411" not in kommune_codes()
    with pytest.raises(StikproveError, match="411 Christiansø is not a kommune"):
        kommune("411")


def test_unknown_name_is_refused_with_what_was_expected():
    with pytest.raises(StikproveError, match="expected an official 3-digit code"):
        kommune("Atlantis")
