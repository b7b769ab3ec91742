"""The fast paths taken for conversion speed (bench/formats.py) give what the plain code gives."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from invoice_hub.model import as_text, decimal_text

_DECIMALS = st.decimals(allow_nan=False, allow_infinity=False) | st.builds(
    lambda digits, exponent: Decimal(digits).scaleb(exponent),
    st.integers(-(10**25), 10**25),
    st.integers(-40, 40),
)


@given(_DECIMALS)
def test_decimal_text_is_plain_notation(value: Decimal) -> None:
    assert decimal_text(value) == format(value, "f")
    assert as_text(value) == format(value, "f")


def test_decimal_text_never_scientific() -> None:
    for text, plain in (("1E+2", "100"), ("1E-7", "0.0000001"), ("0E-8", "0.00000000")):
        assert decimal_text(Decimal(text)) == plain
    assert decimal_text(Decimal("12.50")) == "12.50"
    assert decimal_text(Decimal("-0.00")) == "-0.00"
