"""The official EN 16931 verdict: CEN's compiled UBL validation XSLT, run on SaxonC-HE (``saxonche``).

The hub's own rules (``invoice_hub.validation.en16931``) are tested against this reference: the
differential test (``tests/test_en16931_differential.py``), the conversion tests ("valid in, valid
out") and ``bench/validate.py`` all ask it for the failed assertions of a document.

Compiling the stylesheet takes about 0.4 s, a transform a few milliseconds, so the executable is
compiled once per process (:func:`reference`, and the session fixture :func:`en16931_xslt`) and every
document is handed to it in memory, never through a file. ``saxonche`` is a test and benchmark
dependency only: ``plugins/`` never imports this module.

    from tests.reference_xslt import reference
    failures = reference().failures(xml_bytes)     # or an lxml element / tree
    fatal = reference().fatal(xml_bytes)           # the ids of the fatal failed asserts

:func:`reference` is cached, so calling it in a test compiles once per session. The pytest fixture
:func:`en16931_xslt` is the same object; a module that prefers the fixture imports it
(``from tests.reference_xslt import en16931_xslt  # noqa: F401``; ruff's F811 on the parameter).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

PROJECT = Path(__file__).resolve().parents[1]
#: CEN's official artefact, beside the checkout (tests read it there, never copy it in).
STYLESHEET = PROJECT.parent / "shared" / "en16931-xslt" / "EN16931-UBL-validation.xslt"

_SVRL = "http://purl.oclc.org/dsdl/svrl"
_FAILED = f"{{{_SVRL}}}failed-assert"
_SUCCESSFUL = f"{{{_SVRL}}}successful-report"


@dataclass(frozen=True, order=True)
class Failure:
    """One ``svrl:failed-assert`` (or ``successful-report``): the rule id, its flag, where it failed."""

    rule: str
    flag: str
    location: str


class Reference:
    """CEN's EN 16931 UBL XSLT, compiled once; :meth:`failures` transforms one document in memory."""

    def __init__(self, stylesheet: Path = STYLESHEET) -> None:
        # Imported here so that collecting the test suite does not need saxonche unless a test uses it.
        from saxonche import PySaxonProcessor

        if not stylesheet.is_file():
            raise FileNotFoundError(
                f"CEN's EN 16931 XSLT is not at {stylesheet}: the reference needs ../shared/en16931-xslt/ "
                "beside the checkout"
            )
        self._processor = PySaxonProcessor(license=False)
        self._executable = self._processor.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=str(stylesheet)
        )
        # One executable is not safe to drive from two threads at once (it keeps its context item).
        self._lock = threading.Lock()

    def svrl(self, document: bytes | str | etree._Element | etree._ElementTree) -> bytes:
        """The SVRL report of ``document`` (UBL XML as bytes, text, or an lxml element/tree)."""
        if isinstance(document, bytes):
            # Re-serialised by lxml when it declares another encoding than UTF-8: Saxon gets text.
            head = document[:200].lower()
            if b"encoding" in head and b"utf-8" not in head:
                document = etree.tostring(etree.fromstring(document), encoding="unicode")
            else:
                document = document.decode("utf-8")
        elif not isinstance(document, str):
            document = etree.tostring(document, encoding="unicode")
        with self._lock:
            node = self._processor.parse_xml(xml_text=document)
            report = self._executable.transform_to_string(xdm_node=node)
        return report.encode("utf-8")

    def failures(self, document: bytes | str | etree._Element | etree._ElementTree) -> list[Failure]:
        """Every failed assertion of ``document``, in the order the XSLT reports them."""
        report = etree.fromstring(self.svrl(document))
        return [
            Failure(rule=e.get("id", ""), flag=e.get("flag", ""), location=e.get("location", ""))
            for e in report.iter(_FAILED, _SUCCESSFUL)
        ]

    def fatal(self, document: bytes | str | etree._Element | etree._ElementTree) -> set[str]:
        """The ids of the fatal rules ``document`` fails (empty: the official rules accept it)."""
        return {f.rule for f in self.failures(document) if f.flag == "fatal"}

    def valid(self, document: bytes | str | etree._Element | etree._ElementTree) -> bool:
        return not self.fatal(document)


@functools.cache
def reference() -> Reference:
    """The process's one compiled reference (for benches and plain functions; tests use the fixture)."""
    return Reference()


@pytest.fixture(scope="session")
def en16931_xslt() -> Reference:
    """CEN's EN 16931 XSLT, compiled once per test session (import this fixture into a test module)."""
    return reference()
