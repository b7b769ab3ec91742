"""The check-digit and format functions of OpenPEPPOL's BIS 3 schematron, natively.

``PEPPOL-EN16931-UBL.sch`` (release 3.0.19) declares them as XSLT ``<function>`` elements in the
``u:`` namespace; the PEPPOL-EN16931/COMMON and national rules call them. Each Python function here
names the schematron function it implements and keeps its XPath semantics where they differ from the
obvious Python (``mod`` takes the dividend's sign, ``number()`` of a non-number is NaN so every
comparison with it is false, ``xs:integer`` casting trims whitespace and accepts a sign), so a rule
built on them fires exactly when OpenPEPPOL's does. Where the XSLT would stop with a dynamic error
(casting a non-number), the function answers "not valid": the identifier is wrong either way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal

__all__ = [
    "abn",
    "check_cf",
    "check_cf16",
    "check_codice_ipa",
    "check_piva",
    "check_piva_se_it",
    "check_seorgnr",
    "gln",
    "mod11",
    "mod97_0208",
    "slack",
    "tin_verification",
    "xs_number",
]

_XS_DOUBLE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_XS_INTEGER = re.compile(r"[ \t\n\r]*[+-]?[0-9]+[ \t\n\r]*")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_ASCII_DIGITS = "0123456789"


def xs_number(value: str) -> float:
    """XPath ``number()`` of a string: its ``xs:double`` value, NaN when it is none (never an error)."""
    text = value.strip(" \t\n\r")
    if _XS_DOUBLE.fullmatch(text):
        return float(text)
    return {"INF": math.inf, "+INF": math.inf, "-INF": -math.inf}.get(text, math.nan)


def _castable_as_integer(value: str) -> bool:
    """XPath ``$value castable as xs:integer``: digits with an optional sign, whitespace around allowed."""
    return _XS_INTEGER.fullmatch(value) is not None


def _mod(dividend: int, divisor: int) -> int:
    """XPath ``mod`` on integers: the remainder takes the dividend's sign (Python's ``%`` the divisor's)."""
    return int(math.fmod(dividend, divisor))


def _weighted_check(value: str, weight_of: Callable[[int], int], modulus: int) -> bool:
    """The body ``u:gln`` and ``u:mod11`` share: weights from the right over all but the last character.

    The schematron maps each character to ``codepoint - 48`` without checking it is a digit, so this
    does too (the rules test the ``^[0-9]+$`` format before calling).
    """
    body = value[:-1]
    weighted = sum((ord(char) - 48) * weight_of(i) for i, char in enumerate(reversed(body)))
    return _mod(modulus - _mod(weighted, modulus), modulus) == xs_number(value[-1:])


def gln(value: str) -> bool:
    """``u:gln``: the GS1 check digit of a GLN (weights 3, 1, 3, … from the right of the body)."""
    return _weighted_check(value, lambda i: 1 + ((i + 1) % 2) * 2, 10)


def mod11(value: str) -> bool:
    """``u:mod11``: the modulus-11 check digit of a Norwegian organisation number (weights 2…7 from the right).

    The schematron also requires ``number($val) > 0``: an all-zero number is not an organisation.
    """
    return xs_number(value) > 0 and _weighted_check(value, lambda i: (i % 6) + 2, 11)


def mod97_0208(value: str) -> bool:
    """``u:mod97-0208``: the Belgian enterprise number (ICD 0208): digits 9-10 are 97 - (digits 1-8 mod 97)."""
    head = value[:8]
    if not _castable_as_integer(head):
        return False  # the XSLT's xs:integer cast is a dynamic error here
    return xs_number(value[8:10]) == 97 - _mod(int(head), 97)


def check_codice_ipa(value: str | None) -> bool:
    """``u:checkCodiceIPA``: an Italian IPA office code is exactly six ASCII letters or digits."""
    value = value or ""
    return len(value) == 6 and all(char in _ALNUM for char in value)


def check_cf16(value: str | None) -> bool:
    """``u:checkCF16``: the shape of a 16-character Italian codice fiscale (letters and digits in place).

    Positions (1-based): 1-6 letters, 7-8 an integer, 9 a letter, 10-11 an integer, 12-14 anything,
    15 a digit, 16 a letter. ``translate`` leaves nothing of an empty substring, so a short value
    passes the letter tests as the schematron's does.
    """
    value = value or ""

    def letters(text: str) -> bool:
        return all(char in _LETTERS for char in text)

    return (
        letters(value[0:6])
        and _castable_as_integer(value[6:8])
        and letters(value[8:9])
        and _castable_as_integer(value[9:11])
        and _castable_as_integer(value[14:15])
        and letters(value[15:16])
    )


def check_cf(value: str | None) -> bool:
    """``u:checkCF``: an Italian codice fiscale: 16 characters shaped as :func:`check_cf16`, or an 11-digit integer."""
    value = value or ""
    if len(value) == 16:
        return check_cf16(value)
    return len(value) == 11 and _castable_as_integer(value)


def _add_piva(value: str) -> int | None:
    """``u:addPIVA``: the Luhn-like digit sum of an Italian partita IVA (every second digit mapped).

    The schematron recurses one character at a time while the rest is ``castable as xs:integer``;
    ``None`` stands for its dynamic error (a rest that casts but starts with a sign or blank).
    """
    total, even = 0, False
    while _castable_as_integer(value):
        first = value[0]
        if first not in _ASCII_DIGITS:
            return None
        total += int("0246813579"[int(first)]) if even else int(first)
        value, even = value[1:], not even
    return total


def check_piva(value: str | None) -> int:
    """``u:checkPIVA``: 0 for a valid partita IVA check sum, anything else for an invalid one."""
    value = value or ""
    if not _castable_as_integer(value):
        return 1
    total = _add_piva(value)
    return 1 if total is None else _mod(total, 10)


def check_piva_se_it(value: str) -> bool:
    """``u:checkPIVAseIT``: an ``IT`` VAT number has 11 characters after the prefix with a valid check sum.

    Any other country's number passes: the function checks only the Italian ones.
    """
    country, code = value[:2], value[2:]
    if country in ("IT", "it"):
        return len(code) == 11 and check_piva(code) == 0
    return True


def abn(value: str) -> bool:
    """``u:abn``: the Australian Business Number: weighted sum (first digit less one) divisible by 89.

    A value shorter than 11 characters makes the schematron's arithmetic an empty sequence, so false.
    """
    if len(value) < 11:
        return False
    weights = (10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    total = (ord(value[0]) - 49) * 10 + sum(
        (ord(char) - 48) * w for char, w in zip(value[1:11], weights[1:], strict=True)
    )
    return total % 89 == 0


def tin_verification(value: str) -> bool:
    """``u:TinVerification``: the check digit (9th) of a Greek tax number (weights 256…2 on digits 1-8).

    Each character goes through ``number()``: a missing or non-digit one is NaN and makes it false.
    """
    numbers = [xs_number(char) for char in value[:9]]
    if len(numbers) < 9 or any(math.isnan(n) for n in numbers):
        return False
    checksum = sum(n * 2 ** (8 - i) for i, n in enumerate(numbers[:8]))
    return math.fmod(math.fmod(checksum, 11), 10) == numbers[8]


def check_seorgnr(value: str) -> bool:
    """``u:checkSEOrgnr``: a Swedish organisation number (ICD 0007): digits with a Luhn check digit 10th.

    XPath's ``\\d`` admits any Unicode digit, but ``number()`` reads only ASCII ones: the schematron
    would stop on a non-ASCII digit, so those fail here.
    """
    if not re.fullmatch(r"\d+", value):
        return False
    if not all(char in _ASCII_DIGITS for char in value):
        return False
    main, check = value[:9], value[9:10]
    total = 0
    for pos, char in enumerate(reversed(main), start=1):
        digit = int(char)
        total += (digit * 2) % 10 + (digit * 2) // 10 if pos % 2 == 1 else digit
    return (10 - total % 10) % 10 == xs_number(check)


def slack(expected: Decimal, value: Decimal, tolerance: Decimal) -> bool:
    """``u:slack``: ``value`` lies within ``tolerance`` of ``expected`` (both ends inclusive)."""
    return expected - tolerance <= value <= expected + tolerance
