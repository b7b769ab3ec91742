"""The demo partners of ``make demo``: a supplier that drops a new UBL invoice into its outbox now and then.

Everything runs on this machine; the invoices are made up here, not copied from anywhere.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import secrets
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

#: (name, VAT number, street, city, postcode, country, standard VAT rate): made-up sellers.
SUPPLIERS = [
    ("Nordic Paper AB", "SE556677889901", "Pappersgatan 4", "Göteborg", "41101", "SE", "25"),
    ("Acme Office Supplies BV", "NL123456789B01", "Kantoorweg 12", "Utrecht", "3511 AB", "NL", "21"),
    ("Fjord Logistics AS", "NO987654321MVA", "Bryggen 7", "Bergen", "5003", "NO", "25"),
]
#: The one buyer of the demo: the company whose ERP inbox receives the invoices.
BUYER = ("Demo Buyer Ltd", "DK12345678", "Havnegade 1", "København", "1058", "DK")
ITEMS = [
    ("A4 paper, 500 sheets", "4.95"),
    ("Toner cartridge", "89.00"),
    ("Pallet transport", "145.00"),
    ("Archive box", "2.40"),
    ("Desk lamp", "39.90"),
]


def _party(name: str, vat_id: str, street: str, city: str, postcode: str, country: str) -> str:
    """A UBL party with what EN 16931 asks of a seller or buyer (BG-4/BG-7): name, postal address
    with its country (BT-40/BT-55), VAT identifier, in the order of the UBL 2.1 schema."""
    return f"""<cac:Party>
    <cac:PartyName><cbc:Name>{escape(name)}</cbc:Name></cac:PartyName>
    <cac:PostalAddress>
      <cbc:StreetName>{escape(street)}</cbc:StreetName>
      <cbc:CityName>{escape(city)}</cbc:CityName>
      <cbc:PostalZone>{escape(postcode)}</cbc:PostalZone>
      <cac:Country><cbc:IdentificationCode>{country}</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>{escape(vat_id)}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>{escape(name)}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party>"""


def sample_invoice(number: str, issue_date: dt.date, rng: random.Random) -> bytes:
    """A small UBL 2.1 invoice (PEPPOL BIS 3 style) with one to four lines, valid by EN 16931
    (``invoice-hub validate --level en16931``), so the demo's integrations can read and check it."""
    *seller, rate = rng.choice(SUPPLIERS)
    percent = Decimal(rate)
    lines = []
    net_total = Decimal(0)
    for line_no in range(1, rng.randint(1, 4) + 1):
        item, price = rng.choice(ITEMS)
        quantity = Decimal(rng.randint(1, 20))
        amount = (quantity * Decimal(price)).quantize(Decimal("0.01"))
        net_total += amount
        lines.append(f"""  <cac:InvoiceLine>
    <cbc:ID>{line_no}</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">{quantity}</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="EUR">{amount}</cbc:LineExtensionAmount>
    <cac:Item>
      <cbc:Name>{escape(item)}</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{percent}</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">{price}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>""")
    tax = (net_total * percent / 100).quantize(Decimal("0.01"))
    due = issue_date + dt.timedelta(days=30)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
         xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
         xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>{issue_date.isoformat()}</cbc:IssueDate>
  <cbc:DueDate>{due.isoformat()}</cbc:DueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cbc:BuyerReference>DEMO-PO-{rng.randint(1000, 9999)}</cbc:BuyerReference>
  <cac:AccountingSupplierParty>{_party(*seller)}</cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>{_party(*BUYER)}</cac:AccountingCustomerParty>
  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="EUR">{tax}</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="EUR">{net_total}</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">{tax}</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{percent}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">{net_total}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">{net_total}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">{net_total + tax}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">{net_total + tax}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
{chr(10).join(lines)}
</Invoice>
""".encode()


def drop_invoice(folder: Path, sequence: int, rng: random.Random) -> Path:
    """Write one invoice the way a partner should: under a temporary name, then renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    today = dt.datetime.now(dt.UTC).date()
    number = f"INV-{today:%Y%m%d}-{sequence:05d}"
    target = folder / f"{number}.xml"
    temporary = folder / f".{number}.xml.part"
    temporary.write_bytes(sample_invoice(number, today, rng))
    os.replace(temporary, target)
    return target


class _DemoSftpServer:
    """Password login for the one demo user; everything else is asyncssh's SFTP server."""

    def __init__(self, password: str) -> None:
        self.password = password

    def factory(self):
        import asyncssh

        password = self.password

        class Server(asyncssh.SSHServer):
            def begin_auth(self, username: str) -> bool:
                return True

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, given: str) -> bool:
                return username == DEMO_SFTP_USER and secrets.compare_digest(given, password)

        return Server


DEMO_SFTP_USER = "supplier"


def prepare_sftp_partner(state: Path) -> dict[str, str]:
    """Host key and password of the demo partner's SFTP server, made once and kept in ``state``."""
    import asyncssh

    state.mkdir(parents=True, exist_ok=True)
    key_file, password_file = state / "sftp_host_key", state / "sftp_password"
    if not key_file.exists():
        key = asyncssh.generate_private_key("ssh-ed25519")
        key_file.write_bytes(key.export_private_key())
        key_file.chmod(0o600)
        password_file.write_text(secrets.token_urlsafe(12))
        password_file.chmod(0o600)
    key = asyncssh.read_private_key(str(key_file))
    public = key.export_public_key().decode().split()
    return {
        "host_key": f"{public[0]} {public[1]}",
        "password": password_file.read_text().strip(),
        "key_file": str(key_file),
    }


async def _serve(
    outboxes: list[Path],
    sftp_root: Path | None,
    port: int,
    state: Path,
    every: float,
    count: int | None,
    initial: int,
) -> None:
    if sftp_root is not None:
        import asyncssh

        partner = prepare_sftp_partner(state)
        sftp_root.mkdir(parents=True, exist_ok=True)
        await asyncssh.create_server(
            _DemoSftpServer(partner["password"]).factory(),
            "127.0.0.1",
            port,
            server_host_keys=[partner["key_file"]],
            sftp_factory=lambda channel: asyncssh.SFTPServer(
                channel,
                # asyncssh annotates chroot as bytes, but takes any local path (os.fsencode).
                chroot=str(sftp_root),  # type: ignore[arg-type]  # see above
            ),
        )
        print(f"demo partner: SFTP server on 127.0.0.1:{port}, root {sftp_root}", flush=True)
    rng = random.Random()  # noqa: S311 - made-up invoice contents, not secrets
    sequence = _last_sequence(outboxes)
    written = 0
    while count is None or written < count:
        for outbox in outboxes:
            sequence += 1
            path = drop_invoice(outbox, sequence, rng)
            print(f"demo partner: dropped {path}", flush=True)
        written += 1
        if written >= initial:
            await asyncio.sleep(every)
    if sftp_root is not None:
        await asyncio.Event().wait()  # the invoices are sent; keep serving them until stopped


def _last_sequence(outboxes: list[Path]) -> int:
    numbers = [
        int(p.stem.rsplit("-", 1)[-1])
        for outbox in outboxes
        if outbox.is_dir()
        for p in outbox.rglob("INV-*.xml")
        if p.stem.rsplit("-", 1)[-1].isdigit()
    ]
    return max(numbers, default=0)


def run_partner(
    outboxes: list[Path],
    every: float,
    count: int | None = None,
    initial: int = 3,
    sftp_root: Path | None = None,
    sftp_port: int = 2222,
    state: Path | None = None,
) -> None:
    """The demo partners: drop ``initial`` invoices into each outbox at once, then one each every
    ``every`` seconds (``count`` rounds, or forever); with ``sftp_root``, also serve that folder over
    SFTP on 127.0.0.1 until stopped (an outbox inside it is what the SFTP partner sends)."""
    asyncio.run(_serve(outboxes, sftp_root, sftp_port, state or Path(".demo"), every, count, initial))
