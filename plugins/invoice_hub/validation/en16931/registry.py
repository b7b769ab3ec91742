"""The rule registry: every rule the hub checks, with its official id, flag and message.

A rule is declared once (:func:`define`) with the text CEN (EN 16931) or OpenPEPPOL (BIS Billing 3.0)
publishes in its UBL validation artefacts, and bound to the function that evaluates it
(:func:`checks`). Which rule set a rule belongs to follows from its id's family. ``docs/validation.md``
is generated from this registry, so the documented list and the checked list cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from invoice_hub.validation.en16931.document import Doc

Flag = Literal["fatal", "warning"]
RuleSet = Literal["en16931", "peppol"]
Check = Callable[["Doc"], None]

#: EN 16931 families in the order docs/validation.md lists them: (id prefix, heading).
FAMILIES: tuple[tuple[str, str], ...] = (
    ("BR-CO-", "Calculation and consistency rules (BR-CO)"),
    ("BR-DEC-", "Decimal rules (BR-DEC)"),
    ("BR-CL-", "Code list rules (BR-CL)"),
    ("BR-S-", "VAT category: standard rated (BR-S)"),
    ("BR-Z-", "VAT category: zero rated (BR-Z)"),
    ("BR-E-", "VAT category: exempt from VAT (BR-E)"),
    ("BR-AE-", "VAT category: reverse charge (BR-AE)"),
    ("BR-IC-", "VAT category: intra-community supply (BR-IC)"),
    ("BR-G-", "VAT category: export outside the EU (BR-G)"),
    ("BR-O-", "VAT category: not subject to VAT (BR-O)"),
    ("BR-AF-", "VAT category: IGIC, Canary Islands (BR-AF, formerly BR-IG)"),
    ("BR-AG-", "VAT category: IPSI, Ceuta and Melilla (BR-AG, formerly BR-IP)"),
    ("BR-B-", "VAT category: split payment (BR-B)"),
    ("BR-", "Core rules (BR)"),
    ("UBL-CR-", "UBL elements EN 16931 does not use (UBL-CR)"),
    ("UBL-SR-", "UBL syntax restrictions (UBL-SR)"),
    ("UBL-DT-", "UBL data type rules (UBL-DT)"),
)

#: OpenPEPPOL BIS Billing 3.0 families (``PEPPOL-EN16931-UBL.sch``), in the order the docs list them.
PEPPOL_FAMILIES: tuple[tuple[str, str], ...] = (
    ("PEPPOL-EN16931-R", "PEPPOL: EN 16931 restrictions (PEPPOL-EN16931-R)"),
    ("PEPPOL-EN16931-P", "PEPPOL: profile and transaction (PEPPOL-EN16931-P)"),
    ("PEPPOL-EN16931-F", "PEPPOL: decimal formats (PEPPOL-EN16931-F)"),
    ("PEPPOL-EN16931-CL", "PEPPOL: code lists (PEPPOL-EN16931-CL)"),
    ("PEPPOL-COMMON-R", "PEPPOL: common rules (PEPPOL-COMMON-R)"),
    ("DE-R-", "PEPPOL national rules: Germany (DE-R)"),
    ("DK-R-", "PEPPOL national rules: Denmark (DK-R)"),
    ("GR-R-", "PEPPOL national rules: Greece (GR-R)"),
    ("GR-S-", "PEPPOL national rules: Greece, warnings (GR-S)"),
    ("IS-R-", "PEPPOL national rules: Iceland (IS-R)"),
    ("IT-R-", "PEPPOL national rules: Italy (IT-R)"),
    ("NL-R-", "PEPPOL national rules: the Netherlands (NL-R)"),
    ("NO-R-", "PEPPOL national rules: Norway (NO-R)"),
    ("SE-R-", "PEPPOL national rules: Sweden (SE-R)"),
)


@dataclass(frozen=True)
class Rule:
    """One rule: ``message`` is the official text without its ``[ID]-`` prefix."""

    id: str
    flag: Flag
    message: str
    check: Check | None = None

    @property
    def family(self) -> str:
        return family_of(self.id)

    @property
    def ruleset(self) -> RuleSet:
        return ruleset_of(self.id)


def family_of(rule_id: str) -> str:
    """The id prefix of the family ``rule_id`` belongs to (PEPPOL's first: ``BR-`` would match none of them)."""
    return next(prefix for prefix, _ in (*PEPPOL_FAMILIES, *FAMILIES) if rule_id.startswith(prefix))


def ruleset_of(rule_id: str) -> RuleSet:
    return "peppol" if any(rule_id.startswith(prefix) for prefix, _ in PEPPOL_FAMILIES) else "en16931"


RULES: dict[str, Rule] = {}
#: The check functions of each rule set, in the order they were bound.
CHECKS: dict[RuleSet, list[Check]] = {"en16931": [], "peppol": []}


def define(rule_id: str, flag: Flag, message: str) -> None:
    """Declare a rule with its official id, flag and message (whitespace as the standard has it, trimmed)."""
    if rule_id in RULES:
        raise ValueError(f"rule {rule_id} is declared twice")
    family_of(rule_id)  # an id of no known family is a typo: StopIteration here, at import
    RULES[rule_id] = Rule(rule_id, flag, " ".join(message.split()))


def checks(*rule_ids: str) -> Callable[[Check], Check]:
    """Bind a check function to the rules it evaluates; each function runs once per document."""

    def bind(function: Check) -> Check:
        (ruleset,) = {ruleset_of(rule_id) for rule_id in rule_ids}  # one check serves one rule set
        for rule_id in rule_ids:
            rule = RULES[rule_id]
            if rule.check is not None:
                raise ValueError(f"rule {rule_id} has two checks")
            RULES[rule_id] = replace(rule, check=function)
        CHECKS[ruleset].append(function)
        return function

    return bind
