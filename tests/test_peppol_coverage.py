"""Every PEPPOL BIS 3 rule the hub registers is tested both ways, and is the schematron's rule.

Each ``tests/test_peppol_*.py`` rule-test module declares ``COVERED_RULES`` (the ids it has a passing
and a firing case for); this module unions them and checks the union against the registry, so a
rule added without its two cases fails here, and so does a case naming a rule that does not exist.
It also reads OpenPEPPOL's ``PEPPOL-EN16931-UBL.sch`` (the specification; read, never run) to check
that the registry has every live rule of a family with the official id and flag.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from lxml import etree

from invoice_hub.validation.en16931.registry import PEPPOL_FAMILIES, RULES, family_of
from invoice_hub.validation.peppol import check_peppol  # noqa: F401  (imports every PEPPOL rule module)

TESTS = Path(__file__).resolve().parent
SCHEMATRON = TESTS.parents[1] / "shared" / "peppol-bis3-rules" / "PEPPOL-EN16931-UBL.sch"
#: test_peppol_* modules that test no rule of their own, so declare no COVERED_RULES.
NOT_RULE_TESTS = {"test_peppol_coverage", "test_peppol_examples", "test_peppol_identifiers"}
#: Rules that can never fire, with why (none in release 3.0.19: each has a context a document can reach).
NEVER_FIRES: dict[str, str] = {}
#: The families this helper's modules (validation/peppol/core.py, code_lists.py) must cover in full.
CORE_FAMILIES = (
    "PEPPOL-EN16931-R",
    "PEPPOL-EN16931-P",
    "PEPPOL-EN16931-F",
    "PEPPOL-EN16931-CL",
    "PEPPOL-COMMON-R",
)

PEPPOL_RULES = {rule_id: rule for rule_id, rule in RULES.items() if rule.ruleset == "peppol"}


def rule_test_modules() -> list[str]:
    return sorted(p.stem for p in TESTS.glob("test_peppol_*.py") if p.stem not in NOT_RULE_TESTS)


def covered() -> set[str]:
    """The union of every rule-test module's COVERED_RULES."""
    union: set[str] = set()
    for name in rule_test_modules():
        module = importlib.import_module(f"tests.{name}")
        assert hasattr(module, "COVERED_RULES"), f"tests/{name}.py declares no COVERED_RULES"
        union |= set(module.COVERED_RULES)
    return union


@cache
def schematron() -> dict[str, tuple[str, str]]:
    """Live rule id -> (flag, message) of the UBL schematron (commented-out rules are not elements)."""
    ns = {"s": "http://purl.oclc.org/dsdl/schematron"}
    asserts = etree.parse(str(SCHEMATRON)).iterfind(".//s:assert", ns)
    return {a.get("id"): (a.get("flag"), " ".join("".join(a.itertext()).split())) for a in asserts}


def test_every_rule_has_a_passing_and_a_firing_case() -> None:
    missing = sorted(set(PEPPOL_RULES) - covered() - set(NEVER_FIRES))
    assert not missing, f"{len(missing)} PEPPOL rules lack a pass/fire case: {', '.join(missing)}"


def test_the_cases_name_only_registered_rules_that_can_fire() -> None:
    cases = covered()
    assert not cases - set(PEPPOL_RULES), f"unknown rules: {sorted(cases - set(PEPPOL_RULES))}"
    assert not cases & set(NEVER_FIRES)
    assert set(NEVER_FIRES) <= set(PEPPOL_RULES)


def test_the_rule_test_modules_are_found() -> None:
    assert "test_peppol_rules" in rule_test_modules()


def test_every_registered_rule_is_the_schematrons_with_its_flag_and_message() -> None:
    official = schematron()
    for rule_id, rule in PEPPOL_RULES.items():
        assert rule_id in official, f"{rule_id} is not a rule of PEPPOL-EN16931-UBL.sch 3.0.19"
        flag, message = official[rule_id]
        assert rule.flag == flag, rule_id
        if rule.family in CORE_FAMILIES:
            assert rule.message == message, rule_id
        else:  # a national message may drop the official text's "[IT-R-001] " prefix
            assert len(rule.message) > 10 and message.endswith(rule.message), rule_id


def test_a_family_is_registered_whole_or_not_at_all() -> None:
    """The core families always in full; a national family in full once any of its rules is there."""
    official = schematron()
    for prefix, _ in PEPPOL_FAMILIES:
        expected = {rule_id for rule_id in official if family_of(rule_id) == prefix}
        registered = {rule_id for rule_id in PEPPOL_RULES if family_of(rule_id) == prefix}
        if prefix in CORE_FAMILIES or registered:
            assert registered == expected, f"{prefix}: missing {sorted(expected - registered)}"


def test_the_core_families_have_the_release_s_56_rules() -> None:
    core = [rule_id for rule_id in PEPPOL_RULES if family_of(rule_id) in CORE_FAMILIES]
    assert len(core) == 56  # 57 ids in 3.0.19, PEPPOL-COMMON-R048 among them but commented out


def test_the_rules_doc_lists_every_peppol_rule_in_natural_id_order() -> None:
    from invoice_hub.validation.en16931.docs import _order, rules_doc_text

    listed = [line.split(" | ")[0][2:] for line in rules_doc_text().splitlines() if line.startswith("| ")]
    assert set(PEPPOL_RULES) <= set(listed)
    ids = [
        "DE-R-024",
        "DE-R-023-1",
        "PEPPOL-EN16931-P0112",
        "DE-R-023",
        "PEPPOL-EN16931-P0100",
        "BR-10",
        "BR-9",
    ]
    assert sorted(ids, key=_order) == [
        "BR-9",
        "BR-10",
        "DE-R-023",
        "DE-R-023-1",
        "DE-R-024",
        "PEPPOL-EN16931-P0100",
        "PEPPOL-EN16931-P0112",
    ]
