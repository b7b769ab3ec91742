"""UBL dates are xs:date: ``YYYY-MM-DD`` with an optional time zone. ``validate: structure`` and the
EN 16931 period rules (BR-29, BR-30) accept what the schema accepts and compare as XPath does; they
refused ``2016-04-04+01:00`` (and BR-29 fired on a valid zoned period)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from invoice_hub.formats import read_document
from invoice_hub.formats.ubl import NS
from invoice_hub.validation.en16931 import check_en16931
from invoice_hub.xsdtypes import xs_date, xs_date_start
from tests.conftest import SHARED

EXAMPLE = SHARED / "einvoice-examples/en16931/ubl-tc434-example2.xml"  # it has an InvoicePeriod


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-04-04", (dt.date(2016, 4, 4), None)),
        ("2016-04-04Z", (dt.date(2016, 4, 4), dt.UTC)),
        ("2016-04-04+01:00", (dt.date(2016, 4, 4), dt.timezone(dt.timedelta(hours=1)))),
        ("2016-04-04-14:00", (dt.date(2016, 4, 4), dt.timezone(-dt.timedelta(hours=14)))),
        (" 2016-04-04 ", (dt.date(2016, 4, 4), None)),
        ("2016-02-30", None),
        ("2016-4-4", None),
        ("04.04.2016", None),
        ("2016-04-04+15:00", None),
        ("2016-04-04+01:60", None),
        ("2016-04-04T10:00:00", None),
        ("2016-04-04+0100", None),
    ],
)
def test_xs_date(text: str, expected: object) -> None:
    assert xs_date(text) == expected


def test_a_zoned_date_starts_at_its_own_midnight() -> None:
    assert xs_date_start("2016-04-04+01:00") == dt.datetime(2016, 4, 3, 23, tzinfo=dt.UTC)
    assert xs_date_start("2016-04-04") == dt.datetime(2016, 4, 4, tzinfo=dt.UTC)
    assert xs_date_start("2016-04-04-05:00") > xs_date_start("2016-04-04+01:00")


def _with_period(tmp_path: Path, start: str, end: str, issue: str | None = None) -> Path:
    root = etree.parse(str(EXAMPLE)).getroot()
    period = root.find("cac:InvoicePeriod", NS)
    period.find("cbc:StartDate", NS).text = start
    period.find("cbc:EndDate", NS).text = end
    if issue is not None:
        root.find("cbc:IssueDate", NS).text = issue
    path = tmp_path / "zoned.xml"
    path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    return path


@pytest.mark.parametrize("level", ["structure", "en16931"])
def test_zoned_dates_pass_as_the_schema_and_cens_rules_accept_them(tmp_path: Path, level: str) -> None:
    path = _with_period(tmp_path, "2013-06-01+01:00", "2013-06-30Z", issue="2013-06-30+02:00")
    document = read_document(path, "ubl", validate=level)
    assert document.valid, [str(f) for f in document.findings]
    assert not [f for f in document.findings if f.rule in ("XML-DATE", "BR-29")]


def test_a_date_that_is_no_xs_date_still_fires(tmp_path: Path) -> None:
    document = read_document(_with_period(tmp_path, "2013-06-01", "2013-06-31"), "ubl", validate="structure")
    assert [f.rule for f in document.findings if f.severity == "fatal"] == ["XML-DATE"]


def test_br29_compares_zoned_dates_as_xpath_does() -> None:
    """The same calendar day: an end in a zone west of the start's ends later (fine); an end before
    the start fires, zones or not."""

    def br29(start: str, end: str) -> bool:
        root = etree.parse(str(EXAMPLE)).getroot()
        period = root.find("cac:InvoicePeriod", NS)
        period.find("cbc:StartDate", NS).text, period.find("cbc:EndDate", NS).text = start, end
        return "BR-29" in {f.rule for f in check_en16931(root)}

    assert not br29("2013-06-01+01:00", "2013-06-01-05:00")
    assert br29("2013-06-01-05:00", "2013-06-01+01:00"), "the end's day starts 6 hours before the start's"
    assert br29("2013-06-30+01:00", "2013-06-01+01:00")
    assert not br29("2013-06-01", "2013-06-30+14:00")
