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
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from invoice_hub.compiled import COMPILED_MODULES
from invoice_hub.formats import read_document
from invoice_hub.formats.ap_agility import read_ap_agility, write_ap_agility
from invoice_hub.formats.loss import element_counts, element_findings, losses
from invoice_hub.formats.ubl_writer import write_peppol_bis3, write_ubl
from invoice_hub.formats.xml import parse_xml
from invoice_hub.model import Invoice


def _attempt(make: Callable[[], object]) -> object:
    """What ``make`` returns, or the error it raised as text (type and message: both builds must
    agree on it)."""
    try:
        return make()
    except Exception as error:  # whatever it is, the other build must raise it too
        return f"{type(error).__name__}: {error}"


def _comparable(output: object) -> object:
    """An output's digest (bytes are compared by it), else the output or the error itself."""
    return hashlib.sha256(output).hexdigest() if isinstance(output, bytes) else output


def _ap_agility(invoice: Invoice) -> bytes:
    sink = io.BytesIO()
    write_ap_agility(invoice, sink)
    return sink.getvalue()


def _written(invoice: Invoice, name: str, root: etree._Element | None) -> dict[str, object]:
    """One invoice's model, each writer's output (written once), the AP Agility read-back and its
    losses, and, for UBL, the elements its UBL output does not carry."""
    ubl = _attempt(lambda: write_ubl(invoice))
    ap_agility = _attempt(lambda: _ap_agility(invoice))
    written: dict[str, object] = {
        "model": invoice.model_dump_json(),
        "ubl": _comparable(ubl),
        "peppol_bis3": _comparable(_attempt(lambda: write_peppol_bis3(invoice))),
        "ap_agility": _comparable(ap_agility),
    }
    if isinstance(ap_agility, bytes):
        back = _attempt(lambda: read_ap_agility(ap_agility, f"{name} as AP Agility"))
        if isinstance(back, Invoice):
            written["read_back"] = back.model_dump_json()
            written["losses"] = [repr(loss) for loss in losses(invoice, back)]
        else:
            written["read_back"] = back
    if root is not None and isinstance(ubl, bytes):
        # what validate_transform compares: the source's elements with the UBL output's
        carried = _attempt(lambda: element_counts(parse_xml(ubl, f"{name} as UBL")))
        if isinstance(carried, Counter):
            findings = element_findings(element_counts(root), carried, "ubl", "warning")
            written["extension_findings"] = [str(f) for f in findings]
        else:
            written["extension_findings"] = carried
    return written


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
    ubl_root = document.root if document.format == "ubl" else None
    for index, invoice in enumerate(document.invoices):
        result[f"invoice {index}"] = _written(invoice, name, ubl_root)
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
