"""Every EN 16931 rule the hub registers is tested both ways: on a document where it holds and on one
where it fires. The tables of the rule tests declare the rule ids they exercise; this is their union,
checked against the registry, so a rule added without its two cases fails here."""

from __future__ import annotations

from invoice_hub.validation.en16931 import RULES as ALL_RULES
from invoice_hub.validation.en16931.core import ALWAYS_TRUE
from tests import test_en16931_categories as categories
from tests import test_en16931_occurrences as occurrences
from tests import test_en16931_rules as rules

#: Rules that can never fire, with why; each keeps a test that it does not (test_always_true_rules_never_fire).
NEVER_FIRES = {
    "BR-CO-05": "its test in the CEN artefacts is true(): no mechanical check of reason code against reason",
    "BR-CO-06": "its test in the CEN artefacts is true(): no mechanical check of reason code against reason",
    "BR-CO-07": "its test in the CEN artefacts is true(): no mechanical check of reason code against reason",
    "BR-CO-08": "its test in the CEN artefacts is true(): no mechanical check of reason code against reason",
}


#: The EN 16931 rules only (the registry also holds PEPPOL's, which test_peppol_coverage checks).
RULES = {rule_id: rule for rule_id, rule in ALL_RULES.items() if rule.ruleset == "en16931"}


def covered() -> dict[str, int]:
    """Rule id -> how many pass-and-fire cases the rule tests have for it."""
    ids = [
        *(rule_id for rule_id, _ in rules.PLAIN_CR),
        *(rule_id for rule_id, _ in rules.CASES),
        *(rule_id for rule_id, _ in rules._DT_ATTRIBUTE_CASES),
        *occurrences.STAGED,
        *categories.CASES,
    ]
    return {rule_id: ids.count(rule_id) for rule_id in set(ids)}


def test_every_rule_has_a_passing_and_a_firing_case() -> None:
    missing = sorted(set(RULES) - set(covered()) - set(NEVER_FIRES))
    assert not missing, f"{len(missing)} rules lack a pass/fire case: {', '.join(missing)}"


def test_the_cases_name_only_registered_rules_that_can_fire() -> None:
    assert not set(covered()) - set(RULES)
    assert not set(covered()) & set(NEVER_FIRES)
    assert set(NEVER_FIRES) == set(ALWAYS_TRUE)
    assert len(covered()) == len(RULES) - len(NEVER_FIRES) == 975
