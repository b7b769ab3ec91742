"""``invoice-hub``: the command line of the invoice hub."""

from __future__ import annotations

import argparse
import contextlib
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from urllib.parse import SplitResult

    from invoice_hub.config.loader import IntegrationFile
    from invoice_hub.config.models import Destination, Source, Webhook

#: What a command needs of Airflow (``set_defaults(airflow=...)``): its connections, or also the
#: ledger under its home. Commands without it never import Airflow (check-config stays fast).
CONNECTIONS, LEDGER = "connections", "ledger"
#: A command that stages files as a run does (``convert``): Airflow's object storage, no connection.
STAGING = "staging"


def _check_config(args: argparse.Namespace) -> int:
    from invoice_hub.config import load_folder
    from invoice_hub.settings import integrations_dir

    paths = [Path(p) for p in args.paths] or [integrations_dir()]
    missing = [p for p in paths if not p.exists()]
    for path in missing:
        print(f"{path}: (file): no such file or folder", file=sys.stderr)
    files = load_folder([p for p in paths if p.exists()])
    problems = [problem for entry in files for problem in entry.problems]
    for problem in problems:
        print(problem)
    valid = sum(entry.integration is not None for entry in files)
    print(f"{valid} of {len(files)} integration file(s) valid, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems or missing or not files else 0


def _write_generated(target: Path, text: str, check: bool, command: str) -> int:
    """Write a generated file, or with ``check`` exit 1 when the committed one differs from ``text``."""
    if check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is out of date; run: invoice-hub {command}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


def _schema(args: argparse.Namespace) -> int:
    from invoice_hub.config.schema import schema_path, schema_text

    target = Path(args.output) if args.output else schema_path()
    return _write_generated(target, schema_text(), args.check, "schema")


def _terms(args: argparse.Namespace) -> int:
    from invoice_hub.formats.terms_doc import terms_doc_path, terms_doc_text

    target = Path(args.output) if args.output else terms_doc_path()
    current = target.read_text(encoding="utf-8") if target.is_file() else ""
    return _write_generated(target, terms_doc_text(current), args.check, "terms")


def _rules(args: argparse.Namespace) -> int:
    from invoice_hub.validation.en16931.docs import rules_doc_path, rules_doc_text

    target = Path(args.output) if args.output else rules_doc_path()
    return _write_generated(target, rules_doc_text(), args.check, "rules")


def _integration_file(
    name: str, folder: str | None = None, kind: str | None = None
) -> IntegrationFile | None:
    """The valid integration file named ``name`` (of ``kind``); None, said on stderr, when there is none."""
    from invoice_hub.config import load_folder
    from invoice_hub.settings import integrations_dir

    for entry in load_folder([Path(folder)] if folder else [integrations_dir()]):
        integration = entry.integration
        if integration is not None and integration.name == name and kind in (None, integration.kind):
            return entry
    what = f"{kind} integration" if kind else "integration"
    print(f"no valid {what} named {name!r} (see invoice-hub check-config)", file=sys.stderr)
    return None


def _check_connection(args: argparse.Namespace) -> int:
    from invoice_hub.redaction import redact
    from invoice_hub.transports import TransportError, open_transport

    entry = _integration_file(args.integration, args.folder)
    if entry is None:
        return 2
    integration = entry.integration
    assert integration is not None
    endpoints: list[tuple[str, Source | Destination | Webhook | None, bool]] = [
        ("source", integration.source, False)
    ]
    # "destinations.0" is shown as the YAML reader writes it: destinations[0]
    endpoints += [(re.sub(r"\.(\d+)", r"[\1]", key), d, True) for key, d in integration.destinations_by_id()]
    notify = integration.notify
    recipients = sorted({*notify.on_failure, *notify.on_rejection, *notify.on_success})
    if recipients:  # a notification that cannot go out should be found now, not on the first bad day
        from invoice_hub.config.models import EmailDestination
        from invoice_hub.notifications import notification_conn_id

        smtp = EmailDestination(type="email", conn_id=notification_conn_id(), to=recipients)
        endpoints.append(("notify", smtp, True))
    if notify.webhook is not None:  # checked without posting: a test message would reach the chat
        endpoints.append(("notify", notify.webhook, True))
    failed = 0
    for name, endpoint, as_destination in endpoints:
        if endpoint is None:
            continue
        kind = getattr(endpoint, "type", "webhook")  # a webhook is no transport: it has no type
        conn_id = getattr(endpoint, "conn_id", None)
        label = f"{name} ({kind}{':' + conn_id if conn_id else ''})"
        try:
            if endpoint is integration.accounting_source:
                result = _probe_accounting_source(endpoint)
            elif endpoint is notify.webhook:
                result = _probe_webhook(cast("Webhook", endpoint).conn_id)
            else:
                with open_transport(endpoint, entry.path.parent) as transport:
                    result = transport.probe(getattr(endpoint, "path", "/"), as_destination=as_destination)
        except TransportError as exc:
            failed += 1
            print(f"{label}: FAILED: {exc}")
            continue
        except Exception as exc:  # a connection that is not defined, a provider error: say it plainly
            failed += 1
            print(f"{label}: FAILED: {type(exc).__name__}: {redact(str(exc))}")
            continue
        print(f"{label}: OK: {result}")
    return 1 if failed else 0


def _probe_accounting_source(source: Any) -> str:
    """An accounting system's token tried by reading the organisation (its books' owner)."""
    from invoice_hub.accounting import AccountingError, open_source
    from invoice_hub.transports import TransportError

    try:
        accounting = open_source(source.type, source.conn_id)
        try:
            seller = accounting.organization()
        finally:
            accounting.close()
    except AccountingError as exc:
        raise TransportError(str(exc)) from exc
    return f"the token reads the books of {seller.name!r}"


#: The connection types Airflow's HttpHook (behind the HttpNotifier a webhook posts with) is for.
WEBHOOK_CONN_TYPES = frozenset({"http", "https"})


def _probe_webhook(conn_id: str) -> str:
    """A webhook's connection checked as far as it can be without posting (a post would be a message
    in the team's chat): it exists, is an HTTP connection, its URL (built as the HttpHook builds it)
    parses, and its host resolves. The URL's path is not shown: it often holds the webhook's token."""
    from invoice_hub.redaction import register_connection
    from invoice_hub.transports import TransportError, _connection

    connection = _connection("webhook", conn_id)
    register_connection(connection)  # an error below must not quote its password
    if (connection.conn_type or "") not in WEBHOOK_CONN_TYPES:
        raise TransportError(
            f"a {connection.conn_type or 'typeless'} connection; the webhook is posted with Airflow's "
            f"HttpNotifier, which needs conn_type http (its host the webhook's URL)"
        )
    url = _webhook_url(conn_id)
    host = url.hostname
    if host is None:
        raise TransportError("its URL has no host (set the connection's host to the webhook's URL)")
    if str(connection.extra_dejson.get("srv_lookup", "")).lower() == "true":
        return f"HTTP connection to {url.scheme}://{host} (an SRV name, not resolved here); nothing posted"
    addresses = _resolved(host, url.port or (443 if url.scheme == "https" else 80))
    return f"HTTP connection to {url.scheme}://{host} (resolves to {', '.join(addresses)}); nothing posted"


def _webhook_url(conn_id: str) -> SplitResult:
    """The URL the notification would be posted to, parsed, as Airflow's HttpHook builds it from the
    connection (host, or schema://host, then the port; the session from its extras) without sending."""
    from urllib.parse import urlsplit

    from airflow.providers.http.hooks.http import HttpHook

    from invoice_hub.transports import TransportError

    hook = HttpHook(method="POST", http_conn_id=conn_id)
    try:
        hook.get_conn().close()  # a session only: nothing is sent
        url = urlsplit(hook.base_url)
        url.port  # noqa: B018 -- raises for a port that is not a number
    except ValueError as exc:
        raise TransportError(f"its URL does not parse: {exc}") from None
    if url.scheme not in ("http", "https"):
        raise TransportError(f"its URL's scheme is {url.scheme!r}, not http or https")
    return url


def _resolved(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (at most three shown); a name that does not is an error."""
    import socket

    from invoice_hub.transports import TransportError

    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"its host {host!r} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    return addresses[:3] + ([f"+{len(addresses) - 3} more"] if len(addresses) > 3 else [])


def _demo_partner(args: argparse.Namespace) -> int:
    from invoice_hub.demo import run_partner

    run_partner(
        [Path(p) for p in args.outbox],
        every=args.every,
        count=args.count,
        sftp_root=Path(args.sftp_root) if args.sftp_root else None,
        sftp_port=args.sftp_port,
        state=Path(args.state),
    )
    return 0


def _demo_sftp_connection(args: argparse.Namespace) -> int:
    import json

    from invoice_hub.demo import DEMO_SFTP_USER, prepare_sftp_partner

    partner = prepare_sftp_partner(Path(args.state))
    print(
        json.dumps(
            {
                "conn_type": "sftp",
                "host": "127.0.0.1",
                "port": args.sftp_port,
                "login": DEMO_SFTP_USER,
                "password": partner["password"],
                "extra": {"host_key": partner["host_key"], "look_for_keys": "false"},
            }
        )
    )
    return 0


def _input_files(paths: Sequence[str]) -> list[Path]:
    """Files as given; folders as the files in them (sorted, not recursive, hidden ones skipped)."""
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")))
        else:
            files.append(path)
    return files


def _validate(args: argparse.Namespace) -> int:
    import json

    from invoice_hub.formats import read_document
    from invoice_hub.validation.findings import Finding

    any_invalid = False
    for path in _input_files(args.inputs):
        if path.is_file():
            document = read_document(path, args.input, str(path), validate=args.level, read=False)
            findings, valid = document.findings, document.valid
        else:
            findings = [Finding(rule="FILE", severity="fatal", message="no such file", location="")]
            valid = False
        any_invalid |= not valid
        if args.json:
            print(
                json.dumps(
                    {"file": str(path), "valid": valid, "findings": [f.model_dump() for f in findings]}
                )
            )
            continue
        print(f"{path}: {'valid' if valid else 'INVALID'}")
        for finding in findings:
            print(f"  {finding}")
    return 1 if any_invalid else 0


def _convert(args: argparse.Namespace) -> int:
    """One file converted as the ``validate_transform`` task converts it (``exchange.transform``: read,
    validate, map, write, then the output's rules and the loss check), so that what the command
    prints is what an integration would deliver or fail. Outputs are staged in a temporary folder
    and copied out only when the file did not fail."""
    import datetime as dt
    import hashlib
    import shutil
    import tempfile

    from invoice_hub.config.models import Transform
    from invoice_hub.exchange.transform import Target, transform_file
    from invoice_hub.staging import Staging, local_file

    source = Path(args.input)
    if not source.is_file():
        print(f"{source}: no such file", file=sys.stderr)
        return 2
    mapping = None
    if args.mapping:
        from invoice_hub.config.mappings import load_mapping
        from invoice_hub.settings import mappings_dir

        mapping_path = Path(args.mapping)
        if not mapping_path.is_file() and (mappings_dir() / args.mapping).is_file():
            mapping_path = mappings_dir() / args.mapping
        loaded = load_mapping(mapping_path)
        if loaded.mapping is None:
            for problem in loaded.problems:
                print(problem, file=sys.stderr)
            return 2
        mapping = (loaded.mapping, mapping_path)
    transform = Transform.model_validate(
        {"input": args.input_format, "validate": args.validate, "output": args.to, "on_loss": args.on_loss}
    )
    with source.open("rb") as file:
        sha256 = hashlib.file_digest(file, "sha256").hexdigest()  # fills {sha8}, as in a run
    with tempfile.TemporaryDirectory(prefix="invoice-hub-convert-") as folder:
        staging = Staging("convert", "cli", base_url=Path(folder).as_uri())
        target = Target(staging, "convert", source.name, sha256, dt.datetime.now(dt.UTC))
        outcome = transform_file(source, str(source), transform, target, mapping=mapping)
        for finding in outcome.findings:
            print(f"{source}: {finding}", file=sys.stderr)
        if outcome.failed:
            print(f"{source}: not converted [{outcome.reason}]: {outcome.message}", file=sys.stderr)
            return 1
        output = Path(args.output) if args.output else None
        if output is None and len(outcome.outputs) != 1:
            print(
                f"{source} holds {len(outcome.outputs)} invoices; give -o FOLDER to write one file each",
                file=sys.stderr,
            )
            return 2
        for written in outcome.outputs:
            with local_file(written.url) as staged, staged.open("rb") as copy:
                if output is None:
                    shutil.copyfileobj(copy, sys.stdout.buffer)
                    continue
                path = output
                if output.is_dir() or args.output.endswith("/") or len(outcome.outputs) > 1:
                    output.mkdir(parents=True, exist_ok=True)
                    path = output / written.name
                with path.open("wb") as sink:
                    shutil.copyfileobj(copy, sink)
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _receivables(args: argparse.Namespace) -> int:
    """The reconciliation state as CSV for people: every receivable, or one invoice's history of
    changes (cells quoted, formula prefixes neutralised: a partner's report fills them)."""
    from invoice_hub.ledger.receivables import Receivables
    from invoice_hub.ledger.tables import as_utc
    from invoice_hub.reconciliation.outputs import amount_text
    from invoice_hub.spreadsheet import people_csv_writer, people_row

    receivables = Receivables()
    out = people_csv_writer(sys.stdout)
    if args.ref:
        history = receivables.history(args.integration, args.ref)
        if not history:
            print(f"{args.integration}: no receivable {args.ref!r} in the ledger", file=sys.stderr)
            return 1
        out.writerow(
            ("changed_at", "change", "previous_open_amount", "open_amount", "currency", "snapshot_id")
        )
        for c in history:
            out.writerow(people_row(
                (as_utc(c.changed_at).isoformat(), c.change, amount_text(c.previous_amount), amount_text(c.open_amount),
                 c.currency, c.snapshot_id)
            ))  # fmt: skip
        return 0
    out.writerow(
        ("invoice_ref", "status", "open_amount", "currency", "customer", "customer_name", "due_date",
         "opened_at", "paid_at", "needs_review")
    )  # fmt: skip
    for i in receivables.invoices(args.integration, None if args.status == "all" else args.status):
        out.writerow(people_row(
            (i.invoice_ref, i.status, amount_text(i.open_amount), i.currency, i.customer,
             i.customer_name, i.due_date, as_utc(i.opened_at).isoformat(),
             as_utc(i.paid_at).isoformat() if i.paid_at else "", str(i.needs_review).lower())
        ))  # fmt: skip
    return 0


def _find_invoices(args: argparse.Namespace) -> int:
    """An export's invoices as CSV for people, each ``not activated``, ``not exported``, ``exported``
    or (an accounting record that is no invoice) ``cannot be exported``."""
    from invoice_hub.exchange.find import find_export_invoices
    from invoice_hub.ledger.database import get_engine
    from invoice_hub.spreadsheet import people_csv_writer, people_row

    entry = _integration_file(args.integration, kind="export")
    if entry is None:
        return 2
    integration = entry.integration
    assert integration is not None
    found = find_export_invoices(
        integration, get_engine(), customer=args.customer, date_from=args.date_from, date_to=args.date_to
    )
    out = people_csv_writer(sys.stdout)
    out.writerow(
        (
            "invoice_number",
            "type",
            "issue_date",
            "received_at",
            "customer",
            "state",
            "exported_to",
            "exported_at",
        )
    )
    for invoice in found:
        if invoice.reason:
            print(f"{invoice.number}: cannot be exported {invoice.reason}", file=sys.stderr)
        received, when = invoice.received_at, invoice.exported_at
        out.writerow(people_row(
            (invoice.number, invoice.type, invoice.issue_date or "",
             received.isoformat(timespec="seconds") if received else "", invoice.customer or "",
             invoice.state.value, " ".join(invoice.exported_to), when.isoformat(timespec="seconds") if when else "")
        ))  # fmt: skip
    return 0


def _customers(args: argparse.Namespace) -> int:
    """An export's accounting system's customers as CSV, with their activation and own settings."""
    from invoice_hub.accounting import open_source
    from invoice_hub.exchange.select import activated
    from invoice_hub.spreadsheet import people_csv_writer, people_row

    entry = _integration_file(args.integration, kind="export")
    if entry is None:
        return 2
    integration = entry.integration
    assert integration is not None
    source = integration.accounting_source
    if source is None:
        print(
            f"{integration.name} exports the ledger's received invoices: it has no accounting system "
            "whose customers to list (source: {type: billy, conn_id: ...})",
            file=sys.stderr,
        )
        return 2
    own = {c.id: c for c in integration.customers}
    accounting = open_source(source.type, source.conn_id)
    try:
        customers = sorted(accounting.customers(), key=lambda c: (c.name.casefold(), c.id))
    finally:
        accounting.close()
    out = people_csv_writer(sys.stdout)
    out.writerow(
        ("customer", "name", "number", "registration_no", "gln", "country", "archived", "state", "output",
         "destinations", "mapping")
    )  # fmt: skip
    transform = integration.transform
    for customer in customers:
        settings = own.get(customer.id)
        state = "activated" if activated(integration, customer.id) else "not activated"
        if settings is not None and not settings.active:
            state = "not activated (active: false)"
        targets = (
            [f"customers.{customer.id}.destinations.{i}" for i, _ in enumerate(settings.destinations)]
            if settings is not None and settings.destinations
            else [f"destinations.{i}" for i, _ in enumerate(integration.destinations)]
        )
        out.writerow(people_row(
            (customer.id, customer.name, customer.number or "", customer.registration_no or "",
             customer.gln or "", customer.country or "", str(customer.archived).lower(), state,
             (settings.output if settings else None) or transform.output, " ".join(targets),
             (settings.mapping if settings else None) or transform.mapping or "")
        ))  # fmt: skip
    listed = {c.id for c in customers}
    for missing in sorted(set(own) - listed):
        print(
            f"{integration.name}: customers: {missing!r} is not a customer in {source.type} "
            f"(connection {source.conn_id}); the ids are in the first column",
            file=sys.stderr,
        )
    return 0


def _invoice_status(args: argparse.Namespace) -> int:
    """Mark received invoices open, paid or cancelled in the ledger (exports select by it)."""
    from invoice_hub.ledger.invoices import Invoices

    matched = Invoices().set_status(args.numbers, args.status, args.source)
    for number, count in matched.items():
        where = f" received by {args.source}" if args.source else ""
        print(
            f"{number}: {args.status} ({count} invoice(s){where})"
            if count
            else f"{number}: not in the ledger{where}"
        )
    return 0 if all(matched.values()) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="invoice-hub",
        description="Invoice exchanges as Airflow DAGs. Data goes to stdout, logs (warnings) to stderr.",
        epilog="Without AIRFLOW_HOME, the Airflow home is the .airflow/ folder of the current folder or one "
        "above it, else the project's, else ~/airflow if Airflow was set up there.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log at INFO (on stderr), not only warnings"
    )
    # -v after the command too (invoice-hub receivables NAME -v); SUPPRESS keeps the one given before it
    verbosity = argparse.ArgumentParser(add_help=False)
    verbosity.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="as above")
    subparsers = parser.add_subparsers(dest="command", required=True)

    def command(name: str, **options: Any) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[verbosity], **options)

    check = command(
        "check-config", help="check integration files; one line per problem: FILE: KEY.PATH: message"
    )
    check.add_argument("paths", nargs="*", help="files or folders (default: the integrations folder)")
    check.set_defaults(run=_check_config)

    schema = command("schema", help="write the JSON Schema of integration files")
    schema.add_argument("-o", "--output", help="where to write (default include/integrations/schema.json)")
    schema.add_argument("--check", action="store_true", help="exit 1 if the committed schema is out of date")
    schema.set_defaults(run=_schema)

    rules = command("rules", help="write docs/validation.md: every EN 16931 rule the hub checks")
    rules.add_argument("-o", "--output", help="where to write (default docs/validation.md)")
    rules.add_argument("--check", action="store_true", help="exit 1 if the committed list is out of date")
    rules.set_defaults(run=_rules)
    terms = command("terms", help="write the business term table of docs/formats.md (EN 16931 bindings)")
    terms.add_argument("-o", "--output", help="the file whose term table to write (default docs/formats.md)")
    terms.add_argument("--check", action="store_true", help="exit 1 if the committed table is out of date")
    terms.set_defaults(run=_terms)

    connection = command(
        "check-connection", help="log in to every source and destination of one integration; OK or why not"
    )
    connection.add_argument("integration", help="the integration's name")
    connection.add_argument("--folder", help="integrations folder (default: the configured one)")
    connection.set_defaults(run=_check_connection, airflow=CONNECTIONS)

    formats = ("ubl", "ap_agility", "open_ar_csv", "any")
    validate = command(
        "validate", help="validate invoice files; one result per file (--json: one JSON object per line)"
    )
    validate.add_argument("inputs", nargs="+", help="files, or folders of files")
    validate.add_argument(
        "--level",
        choices=("structure", "en16931", "peppol"),
        default="structure",
        help="what to check: structure, the EN 16931 rule set, or EN 16931 plus PEPPOL BIS 3 (UBL)",
    )
    validate.add_argument(
        "--input", choices=formats, default="any", help="the files' format (default: detect)"
    )
    validate.add_argument("--json", action="store_true", help='JSON Lines: {"file", "valid", "findings"}')
    validate.set_defaults(run=_validate)

    convert = command("convert", help="convert an invoice file to another format")
    convert.add_argument("input", help="the file; its format is detected unless --from is given")
    convert.add_argument("--to", required=True, choices=("ubl", "peppol_bis3", "ap_agility", "open_ar_csv"))
    convert.add_argument("--from", dest="input_format", choices=formats, default="any")
    convert.add_argument("--mapping", help="a mapping file (a path, or a name in the mappings folder)")
    convert.add_argument(
        "--validate", choices=("none", "structure", "en16931", "peppol"), default="structure"
    )
    convert.add_argument(
        "-o", "--output", help="the file to write, or a folder for one file per invoice (default: stdout)"
    )
    convert.add_argument(
        "--on-loss",
        choices=("warn", "fail"),
        help="a value the output cannot hold: a warning (the file is written) or a failure (exit 1); "
        "default as in an integration: fail for ubl and peppol_bis3, warn otherwise",
    )
    convert.set_defaults(run=_convert, airflow=STAGING)

    receivables = command(
        "receivables", help="a reconciliation's receivables as CSV (open, paid, paid at), or one's history"
    )
    receivables.add_argument("integration", help="the open_ar_reconciliation integration's name")
    receivables.add_argument("--status", choices=("open", "paid", "all"), default="all")
    receivables.add_argument("--ref", help="one invoice reference: its changes and amounts, oldest first")
    receivables.set_defaults(run=_receivables, airflow=LEDGER)

    find = command(
        "find-invoices",
        help="an export's invoices as CSV: not activated / not exported / exported (where, when); an "
        "export reading an accounting system reads the range there first",
    )
    find.add_argument("integration", help="the export integration's name")
    find.add_argument("--customer", help="one customer's invoices")
    find.add_argument("--from", dest="date_from", help="from this date (YYYY-MM-DD, the select date field)")
    find.add_argument("--to", dest="date_to", help="to this date, inclusive")
    find.set_defaults(run=_find_invoices, airflow=LEDGER)

    customers = command(
        "customers",
        help="an export's accounting system's customers as CSV: activated or not, format, destinations",
    )
    customers.add_argument("integration", help="the export integration's name (source: billy)")
    customers.set_defaults(run=_customers, airflow=CONNECTIONS)

    status = command(
        "invoice-status", help="mark received invoices open, paid or cancelled (exports select by status)"
    )
    status.add_argument("numbers", nargs="+", help="invoice numbers")
    status.add_argument("--status", required=True, choices=("open", "paid", "cancelled"))
    status.add_argument("--source", help="only invoices received by this integration")
    status.set_defaults(run=_invoice_status, airflow=LEDGER)

    demo = command(
        "demo-partner", help="the demo's partners: sample UBL invoices into folders, and an SFTP server"
    )
    demo.add_argument("outbox", nargs="+", help="folders to drop invoices into")
    demo.add_argument("--every", type=float, default=20.0, help="seconds between invoices (default 20)")
    demo.add_argument("--count", type=int, help="stop after this many rounds (default: never)")
    demo.add_argument("--sftp-root", help="also serve this folder over SFTP on 127.0.0.1")
    demo.add_argument("--sftp-port", type=int, default=2222, help="port of the SFTP server (default 2222)")
    demo.add_argument("--state", default=".demo", help="where the SFTP host key and password are kept")
    demo.set_defaults(run=_demo_partner)

    demo_conn = command(
        "demo-sftp-connection", help="the Airflow connection (JSON) of the demo partner's SFTP server"
    )
    demo_conn.add_argument("--sftp-port", type=int, default=2222)
    demo_conn.add_argument("--state", default=".demo")
    demo_conn.set_defaults(run=_demo_sftp_connection)
    return parser


def _choose_airflow_home(uses: str) -> int | None:
    """Before Airflow is imported: the Airflow home, found and said on stderr when ``AIRFLOW_HOME``
    is not set, never a new one made silently; the exit code when the command cannot run."""
    import os

    from invoice_hub.settings import find_airflow_home

    if not os.environ.get("AIRFLOW_HOME"):
        found = find_airflow_home()
        if found is not None:
            home, why = found
            os.environ["AIRFLOW_HOME"] = str(home)
            print(
                f"invoice-hub: Airflow home {home} ({why}); set AIRFLOW_HOME to use another", file=sys.stderr
            )
        elif uses == LEDGER and not os.environ.get("AIRFLOW_CONN_INVOICE_HUB_DB"):
            print(
                "invoice-hub: no Airflow home, so no ledger: AIRFLOW_HOME is not set, there is no .airflow/ "
                "folder here or above (make demo prepares one) and ~/airflow has no airflow.cfg. Set "
                "AIRFLOW_HOME to your hub's Airflow home, or AIRFLOW_CONN_INVOICE_HUB_DB to its ledger.",
                file=sys.stderr,
            )
            return 2
        else:
            print(
                "invoice-hub: AIRFLOW_HOME is not set and no Airflow home was found: Airflow's default "
                "~/airflow applies; set AIRFLOW_HOME to use another",
                file=sys.stderr,
            )
    return None


@contextlib.contextmanager
def _as_airflow_server_process() -> Iterator[None]:
    """Connections looked up as `airflow connections get/test` do: this process may read the
    metadata database, so they are found in secrets backends, ``AIRFLOW_CONN_*`` variables and the
    database alike (outside a task the Task SDK otherwise looks only at the first two)."""
    import os

    before = os.environ.get("_AIRFLOW_PROCESS_CONTEXT")
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = "server"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("_AIRFLOW_PROCESS_CONTEXT", None)
        else:
            os.environ["_AIRFLOW_PROCESS_CONTEXT"] = before


def _log_to_stderr(verbose: bool) -> None:
    """Airflow's, Alembic's and the hub's logs on stderr (warnings only, unless ``-v``): stdout is the
    command's data (``invoice-hub receivables ... > file.csv``)."""
    # Importing airflow configures its logging (to stdout) once; this reconfigures it after that.
    from airflow.sdk.log import configure_logging

    configure_logging(log_level="INFO" if verbose else "WARNING", output=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # as a command: stop quietly when the reader of stdout goes (| head)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    uses = getattr(args, "airflow", None)
    if uses is None:
        return args.run(args)
    if (code := _choose_airflow_home(uses)) is not None:
        return code
    if argv is None:  # the process is this command's own: its logging too
        _log_to_stderr(args.verbose)
    with _as_airflow_server_process():
        return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
