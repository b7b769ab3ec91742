"""The code lists the BR-CL rules (and a few others) check against.

ISO 3166 countries and ISO 4217 currencies come from pycountry, the well-kept package the hub already
uses; every other list is a data file in ``codelists/`` (one per list, with its source and version),
read from the installed package so nothing is fetched at run time.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

#: Codes the EN 16931 country list (BR-CL-14/15) has beyond ISO 3166-1 alpha-2:
#: 1A (Kosovo, as the standard lists it) and XI (Northern Ireland, after Brexit).
EXTRA_COUNTRIES = frozenset({"1A", "XI"})
#: VAT identifier prefixes (BR-CO-09): the countries plus EL, the prefix Greece uses.
EXTRA_VAT_PREFIXES = frozenset({"EL"})


@cache
def code_list(name: str) -> frozenset[str]:
    """The codes of ``codelists/<name>.txt`` (comment lines start with ``#``)."""
    text = files("invoice_hub.validation.en16931").joinpath("codelists", f"{name}.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@cache
def countries() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_2 for c in pycountry.countries) | EXTRA_COUNTRIES


@cache
def currencies() -> frozenset[str]:
    import pycountry

    return frozenset(c.alpha_3 for c in pycountry.currencies)


@cache
def vat_prefixes() -> frozenset[str]:
    return countries() | EXTRA_VAT_PREFIXES


@cache
def vat_prefix_list() -> str:
    """The prefixes as BR-CO-09's test spells them, ``' 1A AD AE ... ZW '``: the rule is
    ``contains(list, substring(cbc:CompanyID, 1, 2))``, a substring test, so a one-character
    identifier passes when some code contains that character ('A') and fails otherwise ('x')."""
    return f" {' '.join(sorted(vat_prefixes()))} "
