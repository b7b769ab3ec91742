"""EN 16931 validation speed: invoices per second on the shared official examples, beside bare lxml
parsing of the same files in the same run (one core). Target: >= 200 invoices/s for 5-20 KB invoices.

    .venv/bin/python bench/validate.py
"""

from __future__ import annotations

import time
from pathlib import Path

from lxml import etree

from invoice_hub.validation.en16931 import check_en16931

EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "einvoice-examples"
SECONDS = 3.0


def rate(work, documents: list[bytes]) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for document in documents:
            work(document)
        done += len(documents)
    return done / (time.perf_counter() - start)


def main() -> None:
    documents = [p.read_bytes() for p in sorted(EXAMPLES.rglob("*.xml"))]
    sizes = sorted(len(d) // 1024 for d in documents)
    parse = rate(etree.fromstring, documents)
    validate = rate(lambda d: check_en16931(etree.fromstring(d)), documents)
    print(f"{len(documents)} official examples, {sizes[0]}-{sizes[-1]} KB, one core, {SECONDS:.0f} s each")
    print(f"bare lxml parse:          {parse:8.0f} invoices/s")
    print(f"parse + EN 16931 rules:   {validate:8.0f} invoices/s  ({parse / validate:.1f}x the parse time)")
    print(f"target 200 invoices/s:    {'met' if validate >= 200 else 'MISSED'}")


if __name__ == "__main__":
    main()
