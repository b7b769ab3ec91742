"""The EN 16931 rule registry: every rule the hub checks, with its official id, flag and message.

A rule is declared once (:func:`define`) with the text CEN publishes in its UBL validation artefacts,
and bound to the function that evaluates it (:func:`checks`). ``docs/validation.md`` is generated from
this registry, so the documented list and the checked list cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from invoice_hub.validation.en16931.document import Doc

Flag = Literal["fatal", "warning"]
Check = Callable[["Doc"], None]

#: Families in the order docs/validation.md lists them: (id prefix, heading).
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


@dataclass(frozen=True)
class Rule:
    """One rule: ``message`` is the official text without its ``[ID]-`` prefix."""

    id: str
    flag: Flag
    message: str
    check: Check | None = None

    @property
    def family(self) -> str:
        return next(prefix for prefix, _ in FAMILIES if self.id.startswith(prefix))


RULES: dict[str, Rule] = {}
CHECKS: list[Check] = []


def define(rule_id: str, flag: Flag, message: str) -> None:
    """Declare a rule with its official id, flag and message (whitespace as the standard has it, trimmed)."""
    if rule_id in RULES:
        raise ValueError(f"rule {rule_id} is declared twice")
    RULES[rule_id] = Rule(rule_id, flag, " ".join(message.split()))


def checks(*rule_ids: str) -> Callable[[Check], Check]:
    """Bind a check function to the rules it evaluates; each function runs once per document."""

    def bind(function: Check) -> Check:
        for rule_id in rule_ids:
            rule = RULES[rule_id]
            if rule.check is not None:
                raise ValueError(f"rule {rule_id} has two checks")
            RULES[rule_id] = replace(rule, check=function)
        CHECKS.append(function)
        return function

    return bind
