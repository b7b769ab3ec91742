"""``invoice-hub``: the command line of the invoice hub."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


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


def _schema(args: argparse.Namespace) -> int:
    from invoice_hub.config.schema import schema_path, schema_text

    target = Path(args.output) if args.output else schema_path()
    text = schema_text()
    if args.check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is out of date; run: invoice-hub schema", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


def _check_connection(args: argparse.Namespace) -> int:
    from invoice_hub.config import load_folder
    from invoice_hub.settings import integrations_dir
    from invoice_hub.transports import TransportError, open_transport

    entries = [
        e
        for e in load_folder([Path(args.folder)] if args.folder else [integrations_dir()])
        if e.integration is not None and e.integration.name == args.integration
    ]
    if not entries:
        print(
            f"no valid integration named {args.integration!r} (see invoice-hub check-config)", file=sys.stderr
        )
        return 2
    entry = entries[0]
    integration = entry.integration
    assert integration is not None
    endpoints = [("source", integration.source, False)]
    endpoints += [(f"destinations[{i}]", d, True) for i, d in enumerate(integration.destinations)]
    failed = 0
    for name, endpoint, as_destination in endpoints:
        if endpoint is None:
            continue
        label = (
            f"{name} ({endpoint.type}{':' + endpoint.conn_id if getattr(endpoint, 'conn_id', None) else ''})"
        )
        try:
            with open_transport(endpoint, entry.path.parent) as transport:
                result = transport.probe(getattr(endpoint, "path", "/"), as_destination=as_destination)
        except TransportError as exc:
            failed += 1
            print(f"{label}: FAILED: {exc}")
            continue
        except Exception as exc:  # a connection that is not defined, a provider error: say it plainly
            failed += 1
            print(f"{label}: FAILED: {type(exc).__name__}: {exc}")
            continue
        print(f"{label}: OK: {result}")
    return 1 if failed else 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="invoice-hub", description="Invoice exchanges as Airflow DAGs.")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser(
        "check-config", help="check integration files; one line per problem: FILE: KEY.PATH: message"
    )
    check.add_argument("paths", nargs="*", help="files or folders (default: the integrations folder)")
    check.set_defaults(run=_check_config)

    schema = commands.add_parser("schema", help="write the JSON Schema of integration files")
    schema.add_argument("-o", "--output", help="where to write (default include/integrations/schema.json)")
    schema.add_argument("--check", action="store_true", help="exit 1 if the committed schema is out of date")
    schema.set_defaults(run=_schema)

    connection = commands.add_parser(
        "check-connection", help="log in to every source and destination of one integration; OK or why not"
    )
    connection.add_argument("integration", help="the integration's name")
    connection.add_argument("--folder", help="integrations folder (default: the configured one)")
    connection.set_defaults(run=_check_connection)

    demo = commands.add_parser(
        "demo-partner", help="the demo's partners: sample UBL invoices into folders, and an SFTP server"
    )
    demo.add_argument("outbox", nargs="+", help="folders to drop invoices into")
    demo.add_argument("--every", type=float, default=20.0, help="seconds between invoices (default 20)")
    demo.add_argument("--count", type=int, help="stop after this many rounds (default: never)")
    demo.add_argument("--sftp-root", help="also serve this folder over SFTP on 127.0.0.1")
    demo.add_argument("--sftp-port", type=int, default=2222, help="port of the SFTP server (default 2222)")
    demo.add_argument("--state", default=".demo", help="where the SFTP host key and password are kept")
    demo.set_defaults(run=_demo_partner)

    demo_conn = commands.add_parser(
        "demo-sftp-connection", help="the Airflow connection (JSON) of the demo partner's SFTP server"
    )
    demo_conn.add_argument("--sftp-port", type=int, default=2222)
    demo_conn.add_argument("--state", default=".demo")
    demo_conn.set_defaults(run=_demo_sftp_connection)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
