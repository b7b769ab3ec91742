"""The schematron's ``u:`` functions (validation/peppol/identifiers.py): a valid and an invalid value each.

The values are real identifiers (GS1's, Brønnøysund's, the ABR's…) or the official examples' ones,
and each invalid one differs from its valid twin in the check digit only, so the test fails when
the check-digit arithmetic is wrong, not merely when the format is.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from invoice_hub.validation.peppol import identifiers as ids

CASES = [
    # (function, valid, invalid)
    (ids.gln, "5790000435975", "5790000435976"),
    (ids.gln, "7300010000001", "7300010000002"),
    (ids.mod11, "974760673", "974760674"),
    (ids.mod11, "123456785", "123456789"),
    (ids.mod97_0208, "0203201340", "0203201341"),
    (ids.abn, "51824753556", "51824753557"),
    (ids.check_seorgnr, "5560360793", "5560360794"),
    (ids.check_piva_se_it, "IT01234567897", "IT01234567890"),
    (ids.tin_verification, "094019245", "094019246"),
    (ids.check_cf, "RSSMRA85T10A562S", "RSSMRA85T10A5622"),
    (ids.check_cf, "12345678901", "1234567890A"),
    (ids.check_cf16, "RSSMRA85T10A562S", "RSSMRA8XT10A562S"),
    (ids.check_codice_ipa, "UFXYZ1", "UFXYZ-"),
]


@pytest.mark.parametrize(("function", "valid", "invalid"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_valid_passes_and_invalid_fails(function, valid, invalid):
    assert function(valid) is True
    assert function(invalid) is False


def test_check_piva_is_zero_only_for_a_valid_check_sum():
    assert ids.check_piva("01234567897") == 0
    assert ids.check_piva("01234567890") != 0
    assert ids.check_piva("0123456789X") == 1  # not an integer: the schematron's 1


def test_check_piva_se_it_leaves_other_countries_alone():
    assert ids.check_piva_se_it("SE556036079301") is True
    assert ids.check_piva_se_it("IT0123456789") is False  # 10 digits after IT


def test_mod11_rejects_an_all_zero_number_whose_check_digit_matches():
    assert ids.mod11("000000000") is False


def test_short_values_are_invalid_not_errors():
    for function in (ids.gln, ids.mod11, ids.mod97_0208, ids.abn, ids.check_seorgnr, ids.tin_verification):
        assert function("") is False
    assert ids.abn("5182475355") is False
    assert ids.check_seorgnr("556036079") is False  # no check digit


def test_check_seorgnr_rejects_non_ascii_digits():
    assert ids.check_seorgnr("556036079\u0663") is False


def test_slack_is_inclusive_on_both_ends():
    assert ids.slack(Decimal("10.00"), Decimal("10.02"), Decimal("0.02"))
    assert ids.slack(Decimal("10.00"), Decimal("9.98"), Decimal("0.02"))
    assert not ids.slack(Decimal("10.00"), Decimal("10.03"), Decimal("0.02"))
    assert not ids.slack(Decimal("10.00"), Decimal("9.97"), Decimal("0.02"))


def test_xs_number_is_xpath_number():
    assert ids.xs_number(" 12 ") == 12
    assert ids.xs_number("1e2") == 100
    assert ids.xs_number("-INF") == -math.inf
    assert math.isnan(ids.xs_number("1,5"))
    assert math.isnan(ids.xs_number(""))
