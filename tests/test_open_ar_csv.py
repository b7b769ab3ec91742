"""The open-AR CSV reader and writer on real files: partners' layouts, every finding, the round trip."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from invoice_hub.formats import read_document
from invoice_hub.formats.open_ar_csv import (
    COLUMNS,
    HEADERS,
    CsvOptions,
    OpenArReport,
    canonical_column,
    read_open_ar_csv,
    read_open_ar_report,
    report_to_invoices,
    write_open_ar_csv,
)
from invoice_hub.formats.xml import FormatError
from invoice_hub.model import Contact, Identifier, Invoice, Party, Totals
from invoice_hub.validation.findings import Finding

KOLLENO = (
    "Invoice Number,Customer ID,Customer Name,Customer Email,Issue Date,Due Date,Currency,Amount,"
    "Open Amount,Order Reference\n"
    "INV-001,CUST-1,Acme Ltd,ap@acme.test,2024-01-31,2024-02-29,EUR,1500.00,1500.00,PO-77\n"
    'INV-002,CUST-2,"Smith, Jones & Co",,2024-02-01,2024-03-02,GBP,250.10,100.05,\n'
    "INV-003,CUST-1,Acme Ltd,ap@acme.test,2024-02-15,2024-03-16,EUR,-99.99,-99.99,\n"
)


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def fatal(report: OpenArReport) -> list[Finding]:
    return [f for f in report.findings if f.severity == "fatal"]


def only(report: OpenArReport, rule: str) -> Finding:
    found = [f for f in report.findings if f.rule == rule]
    assert len(found) == 1, report.findings
    return found[0]


# -- partners' layouts ----------------------------------------------------------------------------


def test_kolleno_template(tmp_path: Path) -> None:
    report = read_open_ar_report(write(tmp_path, "open_ar.csv", KOLLENO))

    assert report.findings == []
    assert (report.encoding, report.delimiter, report.decimal) == ("utf-8", ",", ".")
    assert report.rows == [2, 3, 4]
    assert list(report.frame.columns) == list(COLUMNS)
    first = report.frame.iloc[0]
    assert first["amount"] == Decimal("1500.00") and isinstance(first["amount"], Decimal)
    assert first["issue_date"] == dt.date(2024, 1, 31)
    assert report.frame.iloc[1]["customer_email"] is None
    assert report.frame.iloc[1]["customer_name"] == "Smith, Jones & Co"
    assert all(dtype == np.dtype(object) for dtype in report.frame.dtypes)

    invoices = report_to_invoices(report)
    assert invoices[0] == Invoice(
        number="INV-001",
        issue_date=dt.date(2024, 1, 31),
        due_date=dt.date(2024, 2, 29),
        currency="EUR",
        order_reference="PO-77",
        buyer=Party(name="Acme Ltd", ids=[Identifier(value="CUST-1")], contact=Contact(email="ap@acme.test")),
        totals=Totals(tax_inclusive=Decimal("1500.00"), payable=Decimal("1500.00")),
    )
    assert invoices[1].buyer.contact is None
    assert invoices[1].totals.payable == Decimal("100.05")
    assert invoices[2].totals.payable == Decimal("-99.99")


def test_european_export_semicolon_decimal_comma_cp1252(tmp_path: Path) -> None:
    text = (
        "Rechnungsnummer;Kundennummer;Kunde;Rechnungsdatum;Fälligkeitsdatum;Währung;Betrag;Offener Betrag\n"
        "RE-2024-001;10001;Bäckerei Müller GmbH;31.01.2024;01.03.2024;EUR;1.234,56;1.000,00\n"
        "RE-2024-002;10002;Café Hélène;05.02.2024;06.03.2024;EUR;99,90;99,9\n"
        "RE-2024-003;10003;Jürgen Groß KG;13.02.2024;14.03.2024;CHF;-12,5;-12,50\n"
    )
    path = write(tmp_path, "export.csv", text.replace("\n", "\r\n"), "cp1252")  # a Windows export
    report = read_open_ar_report(path)

    assert report.findings == []
    assert (report.delimiter, report.decimal) == (";", ",")
    assert report.encoding in ("cp1252", "latin-1", "latin_1", "iso8859-1", "iso8859_15")
    invoices = read_open_ar_csv(path)
    assert invoices[0].buyer.name == "Bäckerei Müller GmbH"
    assert invoices[1].buyer.name == "Café Hélène"
    assert invoices[0].totals.tax_inclusive == Decimal("1234.56")
    assert invoices[0].totals.payable == Decimal("1000.00")
    assert invoices[1].totals.payable == Decimal("99.9")
    assert invoices[2].totals.tax_inclusive == Decimal("-12.5")
    assert invoices[0].issue_date == dt.date(2024, 1, 31)
    assert invoices[2].due_date == dt.date(2024, 3, 14)
    assert invoices[0].buyer.ids == [Identifier(value="10001")]


def test_european_export_with_english_headers_and_latin1(tmp_path: Path) -> None:
    text = (
        "Invoice No;Customer Name;Invoice Date;Due Date;Amount\n"
        "R-1;Bäcker AG;01.02.2024;01.03.2024;1.234.567,89\n"
        "R-2;Ärzte OHG;02.02.2024;02.03.2024;0,5\n"
    )
    invoices = read_open_ar_csv(write(tmp_path, "eu.csv", text, "latin-1"))
    assert [i.buyer.name for i in invoices] == ["Bäcker AG", "Ärzte OHG"]
    assert [i.totals.tax_inclusive for i in invoices] == [Decimal("1234567.89"), Decimal("0.5")]


def test_tab_delimited_with_utf8_bom(tmp_path: Path) -> None:
    text = (
        "\ufeffInvoice Number\tCustomer Name\tDue Date\tOpen Amount\n"
        "T-1\tÅsa Öberg AB\t2024-05-31\t1,234.50\n"
    )
    report = read_open_ar_report(write(tmp_path, "tab.csv", text))
    assert report.findings == []
    assert (report.encoding, report.delimiter) == ("utf-8-sig", "\t")
    assert list(report.frame.columns) == ["invoice_number", "customer_name", "due_date", "open_amount"]
    assert report.frame.iloc[0].to_dict() == {
        "invoice_number": "T-1",
        "customer_name": "Åsa Öberg AB",
        "due_date": dt.date(2024, 5, 31),
        "open_amount": Decimal("1234.50"),
    }


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "u16.csv", "Invoice Number,Balance\nU-1,12.00\n", "utf-16")
    report = read_open_ar_report(path)
    assert (report.encoding, report.findings) == ("utf-16", [])
    assert report.frame.iloc[0]["open_amount"] == Decimal("12.00")


def test_header_aliases(tmp_path: Path) -> None:
    text = (
        "Invoice No.,Debtor ID,Debtor Name,E-mail,Invoice Date,Date Due,CCY,Total,Balance,PO Number\n"
        "A-1,D1,Debtor One,one@example.test,2024-01-01,2024-01-31,usd,10.00,5.00,PO-1\n"
    )
    report = read_open_ar_report(write(tmp_path, "aliases.csv", text))
    assert report.findings == []
    assert list(report.frame.columns) == list(COLUMNS)
    row = report.frame.iloc[0]
    assert (row["customer_id"], row["customer_email"], row["currency"]) == ("D1", "one@example.test", "USD")
    assert (row["amount"], row["open_amount"]) == (Decimal("10.00"), Decimal("5.00"))
    assert canonical_column("  INVOICE_no ") == "invoice_number"
    assert canonical_column("Status") is None


def test_aliases_are_unambiguous() -> None:
    seen: dict[str, str] = {}
    for column, aliases in COLUMNS.items():
        for alias in aliases:
            assert seen.setdefault(alias, column) == column, alias
        assert canonical_column(HEADERS[column]) == column


def test_explicit_columns_override_aliases(tmp_path: Path) -> None:
    text = "Doc,Invoice Number,Kunde X,Saldo offen\nD-1,internal-9,Foo,12.00\nD-2,internal-10,Bar,3\n"
    options = CsvOptions(
        columns={"invoice_number": "Doc", "customer_name": "kunde x", "open_amount": "Saldo offen"}
    )
    report = read_open_ar_report(write(tmp_path, "explicit.csv", text), options=options)
    assert report.findings == []
    assert list(report.frame.columns) == ["invoice_number", "customer_name", "open_amount", "Invoice Number"]
    invoices = report_to_invoices(report)
    assert [i.number for i in invoices] == ["D-1", "D-2"]
    assert invoices[0].custom_fields == {"Invoice Number": "internal-9"}
    assert invoices[1].totals.payable == Decimal("3")


def test_explicit_column_not_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "explicit.csv", "Doc,Open Amount\nD-1,1\n")
    report = read_open_ar_report(path, options=CsvOptions(columns={"invoice_number": "Document"}))
    finding = only(report, "CSV-HEADER")
    assert finding.severity == "fatal"
    assert str(path) in finding.message and "'Document'" in finding.message and "'Doc'" in finding.message


def test_options_are_validated() -> None:
    with pytest.raises(ValidationError, match="unknown column"):
        CsvOptions(columns={"invoice_no": "Doc"})
    with pytest.raises(ValidationError, match="unknown encoding"):
        CsvOptions(encoding="klingon")
    with pytest.raises(ValidationError, match="delimiter"):
        CsvOptions(delimiter=";;")
    with pytest.raises(ValidationError):
        CsvOptions(decimal="'")
    with pytest.raises(ValidationError):
        CsvOptions(separator=",")
    assert CsvOptions(delimiter="tab").delimiter == "\t"


def test_configured_options_win_over_detection(tmp_path: Path) -> None:
    text = "Invoice Number|Issue Date|Amount\nP-1|03/04/2024|1,500\n"
    options = CsvOptions(delimiter="|", decimal=",", date_format="%d/%m/%Y", encoding="ascii")
    report = read_open_ar_report(write(tmp_path, "pipe.csv", text), options=options)
    assert report.findings == []
    assert report.frame.iloc[0]["issue_date"] == dt.date(2024, 4, 3)
    assert report.frame.iloc[0]["amount"] == Decimal("1.500")


# -- values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1234.56", "1234.56"),
        ('"1,234.56"', "1234.56"),
        ("-12.5", "-12.5"),
        ("(12.50)", "-12.50"),
        ("€12.00", "12.00"),
        ("$-3.00", "-3.00"),
        ("-$3.00", "-3.00"),
        ('"£1,234.56"', "1234.56"),
        ("EUR 12.00", "12.00"),
        ("12.00 EUR", "12.00"),
        ("(USD 7.25)", "-7.25"),
        ("12.50-", "-12.50"),
        ('"1,234,567"', "1234567"),
        ("1'234.5", "1234.5"),
        (".5", "0.5"),
        ("0.10", "0.10"),
    ],
)
def test_amount_formats_with_decimal_point(tmp_path: Path, cell: str, expected: str) -> None:
    report = read_open_ar_report(write(tmp_path, "a.csv", f"Invoice Number,Amount\nA,{cell}\nB,1.25\n"))
    assert report.findings == []
    value = report.frame.iloc[0]["amount"]
    assert isinstance(value, Decimal) and value == Decimal(expected)
    assert str(value) == expected  # exact: the digits as written, never through float


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("1.234,56", "1234.56"), ("1 234,56", "1234.56"), ("-12,5", "-12.5"), ("(1.000,00)", "-1000.00")],
)
def test_amount_formats_with_decimal_comma(tmp_path: Path, cell: str, expected: str) -> None:
    text = f"Invoice Number;Open Amount\nA;{cell}\nB;0,99\n"
    report = read_open_ar_report(write(tmp_path, "a.csv", text))
    assert (report.findings, report.decimal) == ([], ",")
    assert report.frame.iloc[0]["open_amount"] == Decimal(expected)


def test_open_amount_defaults_to_amount(tmp_path: Path) -> None:
    invoices = read_open_ar_csv(write(tmp_path, "a.csv", "Invoice Number,Amount\nA,10.00\nB,\n"))
    assert [i.totals.payable for i in invoices] == [Decimal("10.00"), None]
    assert [i.totals.tax_inclusive for i in invoices] == [Decimal("10.00"), None]
    invoices = read_open_ar_csv(write(tmp_path, "b.csv", "Invoice Number,Open Amount\nA,10.00\n"))
    assert invoices[0].totals.tax_inclusive is None


@pytest.mark.parametrize(
    ("dates", "expected", "warned"),
    [
        (["2024-01-02", "2024-03-04"], [dt.date(2024, 1, 2), dt.date(2024, 3, 4)], False),
        (["02.01.2024", "04.03.2024"], [dt.date(2024, 1, 2), dt.date(2024, 3, 4)], False),
        (["02/01/2024", "24/03/2024"], [dt.date(2024, 1, 2), dt.date(2024, 3, 24)], False),
        (["01/02/2024", "03/24/2024"], [dt.date(2024, 1, 2), dt.date(2024, 3, 24)], False),
        (["01/02/2024", "03/04/2024"], [dt.date(2024, 1, 2), dt.date(2024, 3, 4)], True),
    ],
)
def test_date_order_is_decided_from_the_data(
    tmp_path: Path, dates: list[str], expected: list[dt.date], warned: bool
) -> None:
    text = "Invoice Number,Invoice Date,Amount\n" + "".join(f"N{i},{d},1\n" for i, d in enumerate(dates))
    report = read_open_ar_report(write(tmp_path, "d.csv", text))
    assert fatal(report) == []
    assert report.frame["issue_date"].tolist() == expected
    warnings = [f for f in report.findings if f.severity == "warning"]
    assert [f.rule for f in warnings] == (["CSV-DATE"] if warned else [])
    if warned:
        assert "%d/%m/%Y" in warnings[0].message


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    text = "\nInvoice Number,Open Amount\nA,1\n\n,\nB,2\n\n"
    report = read_open_ar_report(write(tmp_path, "blank.csv", text))
    assert report.findings == []
    assert report.frame["invoice_number"].tolist() == ["A", "B"]
    assert report.rows == [3, 6]


def test_multiline_values_count_as_one_row(tmp_path: Path) -> None:
    text = 'Invoice Number,Customer Name,Open Amount\nA,"Line one\nline two",1\nB,X,zero\n'
    report = read_open_ar_report(write(tmp_path, "multi.csv", text))
    assert report.frame.iloc[0]["customer_name"] == "Line one\nline two"
    assert only(report, "CSV-AMOUNT").location == "row 3, column Open Amount"


def test_unrecognised_columns_are_kept_as_custom_fields(tmp_path: Path) -> None:
    text = "Invoice Number,Open Amount,Status,Sales Rep,Notes\nA,1,open,Kim,\nB,2,disputed,,  spaced  \n"
    report = read_open_ar_report(write(tmp_path, "custom.csv", text))
    assert report.findings == []
    assert list(report.frame.columns) == ["invoice_number", "open_amount", "Status", "Sales Rep", "Notes"]
    invoices = report_to_invoices(report)
    assert invoices[0].custom_fields == {"Status": "open", "Sales Rep": "Kim"}
    assert invoices[1].custom_fields == {"Status": "disputed", "Notes": "  spaced  "}


def test_repeated_unknown_headers_lose_nothing(tmp_path: Path) -> None:
    text = "Invoice Number,Open Amount,Note,Note\nA,1,first,second\n"
    report = read_open_ar_report(write(tmp_path, "notes.csv", text))
    assert fatal(report) == []
    assert only(report, "CSV-HEADER").severity == "warning"
    assert report_to_invoices(report)[0].custom_fields == {"Note": "first", "Note (column 4)": "second"}


def test_trailing_delimiters_are_harmless(tmp_path: Path) -> None:
    report = read_open_ar_report(write(tmp_path, "t.csv", "Invoice Number,Open Amount\nA,1,\nB,2,,\n"))
    assert report.findings == []
    assert list(report.frame.columns) == ["invoice_number", "open_amount"]


def test_ascii_start_then_cp1252_falls_back_with_a_warning(tmp_path: Path) -> None:
    rows = "".join(f"INV-{i:05d},Customer {i},10.00\n" for i in range(3000))  # > 64 KiB of ASCII
    text = "Invoice Number,Customer Name,Open Amount\n" + rows + "INV-X,Jürgen Müller,5.00\n"
    path = write(tmp_path, "late.csv", text, "cp1252")
    assert path.stat().st_size > 64 * 1024
    report = read_open_ar_report(path)
    finding = only(report, "CSV-ENCODING")
    assert (finding.severity, finding.location) == ("warning", "row 3002")
    assert report.encoding == "cp1252"
    assert report.frame.iloc[-1]["customer_name"] == "Jürgen Müller"


# -- findings -------------------------------------------------------------------------------------


def test_encoding_error(tmp_path: Path) -> None:
    text = "Invoice Number,Customer Name,Open Amount\nA,Plain,1\nB,Bäcker,2\n"
    path = write(tmp_path, "enc.csv", text, "cp1252")
    report = read_open_ar_report(path, options=CsvOptions(encoding="utf-8"))
    finding = only(report, "CSV-ENCODING")
    assert (finding.severity, finding.location) == ("fatal", "row 3")
    offset = text.encode("cp1252").index("ä".encode("cp1252"))
    assert f"byte {offset}" in finding.message and str(path) in finding.message
    assert "encoding:" in finding.message
    assert report.frame.empty


def test_missing_invoice_number_column(tmp_path: Path) -> None:
    path = write(tmp_path, "nohdr.csv", "Number,Customer,Open Amount\n1,X,2\n")
    report = read_open_ar_report(path)
    finding = only(report, "CSV-HEADER")
    assert (finding.severity, finding.location) == ("fatal", "row 1")
    for part in (str(path), "invoice_number", "'invoice no'", "'Number'", "'Customer'", "columns:", "Rename"):
        assert part in finding.message


def test_missing_amount_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "noamt.csv", "Invoice Number,Customer\n1,X\n")
    finding = only(read_open_ar_report(path), "CSV-HEADER")
    assert finding.severity == "fatal"
    assert (
        "open_amount" in finding.message
        and "'outstanding'" in finding.message
        and "'total'" in finding.message
    )


def test_wrong_delimiter_is_named_in_the_header_finding(tmp_path: Path) -> None:
    path = write(tmp_path, "semi.csv", "Invoice Number;Open Amount\nA;1\n")
    report = read_open_ar_report(path, options=CsvOptions(delimiter=","))
    assert all("semicolon" in f.message for f in report.findings)
    assert {f.rule for f in report.findings} == {"CSV-HEADER"}


def test_two_headers_for_one_column(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "Invoice No,Invoice Number,Balance\nA,A,1\n")
    finding = only(read_open_ar_report(path), "CSV-HEADER")
    assert (finding.severity, finding.location) == ("fatal", "row 1, column Invoice Number")
    assert "'Invoice No'" in finding.message and "invoice_number" in finding.message


def test_empty_invoice_number(tmp_path: Path) -> None:
    report = read_open_ar_report(write(tmp_path, "req.csv", "Invoice Number,Open Amount\nA,1\n  ,2\n"))
    finding = only(report, "CSV-REQUIRED")
    assert (finding.severity, finding.location) == ("fatal", "row 3, column Invoice Number")


@pytest.mark.parametrize("cell", ["abc", "12.5.0", "1,5", "--3", "-(3)", "(3", "12 EUR USD x", "1e5"])
def test_not_an_amount(tmp_path: Path, cell: str) -> None:
    text = f'Invoice Number,Amount,Open Amount\nA,1.00,1.00\nB,2.50,"{cell}"\n'
    report = read_open_ar_report(write(tmp_path, "amt.csv", text))
    finding = only(report, "CSV-AMOUNT")
    assert (finding.severity, finding.location) == ("fatal", "row 3, column Open Amount")
    assert repr(cell) in finding.message
    assert report.frame.iloc[1]["open_amount"] is None


def test_decimal_comma_amount_in_a_decimal_point_file(tmp_path: Path) -> None:
    text = 'Invoice Number,Open Amount\nA,1.50\nB,2.25\nC,"3,5"\n'
    finding = only(read_open_ar_report(write(tmp_path, "mixed.csv", text)), "CSV-AMOUNT")
    assert finding.location == "row 4, column Open Amount"
    assert "decimal" in finding.message


def test_not_a_date(tmp_path: Path) -> None:
    text = "Invoice Number,Issue Date,Due Date,Open Amount\nA,2024-01-31,2024-02-30,1\nB,2024-02-01,soon,1\n"
    report = read_open_ar_report(write(tmp_path, "date.csv", text))
    findings = [f for f in report.findings if f.rule == "CSV-DATE"]
    assert [(f.severity, f.location) for f in findings] == [
        ("fatal", "row 2, column Due Date"),
        ("fatal", "row 3, column Due Date"),
    ]
    assert "YYYY-MM-DD" in findings[0].message


def test_not_a_date_in_the_configured_format(tmp_path: Path) -> None:
    text = "Invoice Number,Issue Date,Open Amount\nA,31/01/2024,1\nB,2024-02-01,1\n"
    report = read_open_ar_report(
        write(tmp_path, "date.csv", text), options=CsvOptions(date_format="%d/%m/%Y")
    )
    assert only(report, "CSV-DATE").location == "row 3, column Issue Date"
    assert report.frame.iloc[0]["issue_date"] == dt.date(2024, 1, 31)


def test_not_a_currency(tmp_path: Path) -> None:
    text = "Invoice Number,Currency,Open Amount\nA,EUR,1\nB,EURO,1\nC,,1\n"
    finding = only(read_open_ar_report(write(tmp_path, "cur.csv", text)), "CSV-CURRENCY")
    assert (finding.severity, finding.location) == ("fatal", "row 3, column Currency")


def test_duplicate_invoice_number(tmp_path: Path) -> None:
    text = "Invoice Number,Open Amount\nA,1\nB,2\nA,3\n"
    finding = only(read_open_ar_report(write(tmp_path, "dup.csv", text)), "CSV-DUPLICATE")
    assert (finding.severity, finding.location) == ("fatal", "row 4, column Invoice Number")
    assert "rows 2 and 4" in finding.message


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    rows = "".join(f"N{i},1.00\n" for i in range(60))  # rows 3-62; the first 50 records are the sample
    text = "Invoice Number,Open Amount\nA,1,50\n" + rows + "Z,2,000,75\nY,oops\n"  # unquoted commas
    report = read_open_ar_report(write(tmp_path, "wide.csv", text))
    findings = [f for f in report.findings if f.rule == "CSV-SYNTAX"]
    # Row 2 is in the sample, so a third column is read and found filled; row 63 is wider than anything
    # in the sample and pandas skips it. Both are fatal, and the rows after keep their numbers.
    assert [(f.severity, f.location) for f in findings] == [("fatal", "row 2"), ("fatal", "row 63")]
    assert "double quotes" in findings[0].message
    assert only(report, "CSV-AMOUNT").location == "row 64, column Open Amount"
    assert report.rows[-1] == 64 and "Z" not in report.frame["invoice_number"].tolist()


def test_unclosed_quote(tmp_path: Path) -> None:
    report = read_open_ar_report(write(tmp_path, "q.csv", 'Invoice Number,Open Amount\nA,1\nB,"2\nC,3\n'))
    finding = only(report, "CSV-SYNTAX")
    assert (finding.severity, finding.location) == ("fatal", "row 3")


def test_empty_file(tmp_path: Path) -> None:
    assert only(read_open_ar_report(write(tmp_path, "empty.csv", "")), "CSV-HEADER").severity == "fatal"


def test_header_only_is_an_empty_report(tmp_path: Path) -> None:
    report = read_open_ar_report(write(tmp_path, "h.csv", "Invoice Number,Open Amount\n"))
    assert (report.findings, report.rows, report_to_invoices(report)) == ([], [], [])


def test_many_bad_cells_are_summarised(tmp_path: Path) -> None:
    text = "Invoice Number,Open Amount\n" + "".join(f"N{i},x\n" for i in range(80))
    findings = read_open_ar_report(write(tmp_path, "many.csv", text)).findings
    assert len(findings) == 51
    assert "30 more rows" in findings[-1].message


def test_read_open_ar_csv_raises_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.csv", "Invoice Number,Open Amount\nA,1\nA,x\n")
    with pytest.raises(FormatError) as raised:
        read_open_ar_csv(path, source="sftp://partner/broken.csv")
    message = str(raised.value)
    assert message.startswith("sftp://partner/broken.csv: ")
    assert "[CSV-AMOUNT] fatal" in message and "row 3, column Open Amount" in message
    assert "[CSV-DUPLICATE] fatal" in message


def test_read_document_uses_the_report(tmp_path: Path) -> None:
    document = read_document(write(tmp_path, "open_ar.csv", KOLLENO))
    assert (document.format, document.valid, len(document.invoices)) == ("open_ar_csv", True, 3)
    bad = read_document(write(tmp_path, "bad.csv", "Invoice Number,Amount\n,1\n"), "open_ar_csv")
    assert not bad.valid and bad.invoices == [] and bad.findings[0].rule == "CSV-REQUIRED"


# -- writing --------------------------------------------------------------------------------------


def sample_invoices() -> list[Invoice]:
    return [
        Invoice(
            number="INV-1",
            issue_date=dt.date(2024, 1, 31),
            due_date=dt.date(2024, 2, 29),
            currency="EUR",
            order_reference="PO-1",
            buyer=Party(
                name='Smith, "Jones" & Co\nLondon',
                ids=[Identifier(value="C-1")],
                contact=Contact(email="ar@smith.test"),
            ),
            totals=Totals(tax_inclusive=Decimal("1234.50"), payable=Decimal("0.10")),
            custom_fields={"Status": "open", "Region": "EU; West"},
        ),
        Invoice(
            number="INV-2",
            currency="GBP",
            buyer=Party(name="Bäckerei Ærø"),
            totals=Totals(tax_inclusive=Decimal("-5"), payable=Decimal("-5.000")),
            custom_fields={"Sales Rep": "Kim", "Status": "disputed"},
        ),
        Invoice(number="007", totals=Totals(payable=Decimal("1E+3"))),
    ]


def test_writer_layout() -> None:
    sink = io.BytesIO()
    write_open_ar_csv(sample_invoices(), sink)
    data = sink.getvalue()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    lines = data.decode("utf-8").split("\n")
    assert lines[0] == (
        "Invoice Number,Customer ID,Customer Name,Customer Email,Issue Date,Due Date,Currency,Amount,"
        "Open Amount,Order Reference,Status,Region,Sales Rep"
    )
    assert lines[1] == 'INV-1,C-1,"Smith, ""Jones"" & Co'
    assert lines[3] == "INV-2,,Bäckerei Ærø,,,,GBP,-5,-5.000,,disputed,,Kim"
    assert lines[4] == "007,,,,,,,,1000,,,,"
    assert data.endswith(b"\n")


def test_round_trip(tmp_path: Path) -> None:
    invoices = sample_invoices()
    path = tmp_path / "out.csv"
    with path.open("wb") as sink:
        write_open_ar_csv(invoices, sink)
    report = read_open_ar_report(path)
    assert report.findings == []
    assert read_open_ar_csv(path) == invoices


def test_round_trip_of_a_partner_file(tmp_path: Path) -> None:
    partner = KOLLENO.replace("\n", ",x\n").replace("Order Reference,x", "Order Reference,Extra")
    invoices = read_open_ar_csv(write(tmp_path, "in.csv", partner))
    path = tmp_path / "out.csv"
    with path.open("wb") as sink:
        write_open_ar_csv(invoices, sink)
    assert read_open_ar_csv(path) == invoices
    assert invoices[0].custom_fields == {"Extra": "x"}


def test_writer_custom_field_named_like_a_column() -> None:
    invoice = Invoice(number="A", custom_fields={"Open Amount": "see contract"})
    sink = io.BytesIO()
    write_open_ar_csv([invoice], sink)
    assert sink.getvalue().decode().split("\n")[1] == "A,,,,,,,,see contract,"
    with pytest.raises(ValueError, match=r"'Balance'.*open_amount"):
        write_open_ar_csv([Invoice(number="A", custom_fields={"Balance": "1"})], io.BytesIO())


def test_bom_read_as_text_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeffStatus,Invoice Number,Open Amount\nopen,A,1\n")
    report = read_open_ar_report(path, options=CsvOptions(encoding="utf-8"))
    assert report.findings == []
    assert report_to_invoices(report)[0].custom_fields == {"Status": "open"}
