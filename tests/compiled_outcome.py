"""What a build of the conversion modules makes of one document, in a form two processes can compare.

tests/test_compiled.py runs :func:`outcome` in its own process (the compiled copies) and in a worker
started with ``INVOICE_HUB_PURE_PYTHON=1`` (the sources, interpreted): both must say exactly the same
of every document. The worker (``python -m tests.compiled_outcome``) reads one JSON request a line,
``{"name": ..., "data": base64}``, and answers with one JSON line.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from invoice_hub.compiled import COMPILED_MODULES
from invoice_hub.formats import read_document
from invoice_hub.formats.ap_agility import read_ap_agility, write_ap_agility
from invoice_hub.formats.loss import element_counts, element_findings, losses
from invoice_hub.formats.ubl_writer import write_peppol_bis3, write_ubl
from invoice_hub.formats.xml import parse_xml


def _attempt(make: Callable[[], bytes]) -> str:
    """The output's digest, or the error it raised (type and message: both builds must agree)."""
    try:
        return hashlib.sha256(make()).hexdigest()
    except Exception as error:  # whatever it is, the other build must raise it too
        return f"{type(error).__name__}: {error}"


def _ap_agility(invoice: object) -> bytes:
    sink = io.BytesIO()
    write_ap_agility(invoice, sink)  # type: ignore[arg-type]
    return sink.getvalue()


def outcome(data: bytes, name: str, folder: Path) -> dict[str, object]:
    """Everything the compiled modules decide about ``data``: the format, the structural findings,
    the model read, each writer's output (or refusal), the AP Agility read-back and the losses."""
    path = folder / name
    path.write_bytes(data)
    document = read_document(path, "any", name, validate="structure")
    result: dict[str, object] = {
        "format": document.format,
        "findings": [[f.rule, f.severity, f.message, f.location] for f in document.findings],
    }
    if document.root is not None:
        result["elements"] = sorted(element_counts(document.root).items())
    for index, invoice in enumerate(document.invoices):
        ap_agility = _attempt(lambda invoice=invoice: _ap_agility(invoice))
        written = {
            "model": invoice.model_dump_json(),
            "ubl": _attempt(lambda invoice=invoice: write_ubl(invoice)),
            "peppol_bis3": _attempt(lambda invoice=invoice: write_peppol_bis3(invoice)),
            "ap_agility": ap_agility,
        }
        try:
            back = read_ap_agility(_ap_agility(invoice), f"{name} as AP Agility")
        except Exception as error:
            written["read_back"] = f"{type(error).__name__}: {error}"
        else:
            written["read_back"] = back.model_dump_json()
            written["losses"] = [repr(loss) for loss in losses(invoice, back)]
        if document.root is not None and document.format == "ubl":
            try:  # what validate_transform compares: the source's elements with the UBL output's
                carried = element_counts(parse_xml(write_ubl(invoice), f"{name} as UBL"))
            except Exception as error:
                written["extension_findings"] = f"{type(error).__name__}: {error}"
            else:
                source = element_counts(document.root)
                findings = element_findings(source, carried, "ubl", "warning")
                written["extension_findings"] = [str(f) for f in findings]
        result[f"invoice {index}"] = written
    return result


def main() -> None:
    # First line: where the conversion modules came from, for the test to see which build answers.
    print(json.dumps({name: importlib.import_module(name).__file__ for name in COMPILED_MODULES}), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for line in sys.stdin:
            request = json.loads(line)
            answer = outcome(base64.b64decode(request["data"]), request["name"], Path(folder))
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
