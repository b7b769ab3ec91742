"""Resend: a stored document delivered again to one of the integration's destinations, by a run of
the integration's own DAG (so it is permission-checked, logged and recorded like any delivery).

A person asks for it in the dashboard (or in the Trigger form, param ``resend``); the run's first
task turns the request into a manifest of one output, the deliver task delivers it through
:func:`invoice_hub.exchange.deliver.deliver_files`, and the other tasks let it pass.

A request carries a token of its own. The run id is made from it and so is the output's delivery
key: asking twice with the same token (a double click, a retried request) starts one run, and a
run retried or cleared delivers once, because the ledger already holds that key as delivered. A
new token (a new click on the page) is a new, deliberate delivery.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from invoice_hub.config.models import Integration
from invoice_hub.errors import HubError
from invoice_hub.ledger.tables import Delivery, InvoiceExport, InvoiceOutput, InvoiceRecord
from invoice_hub.manifest import FileEntry, Manifest, Output

#: The DAG param (and ``dag_run.conf`` key) of a resend.
RESEND_PARAM = "resend"
#: Run ids of resends: ``resend__<token>``.
RUN_ID_PREFIX = "resend__"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class ResendRequest:
    """Deliver the stored document ``document`` (its sha256) to ``destination`` (a destination id
    such as ``destinations.0``), once per ``token``."""

    document: str
    destination: str
    token: str

    @property
    def run_id(self) -> str:
        return f"{RUN_ID_PREFIX}{self.token}"

    @property
    def delivery_key(self) -> str:
        """What makes this delivery "the same" in the ledger: the document and the request, so that
        the same document goes out again (deliberately) and this request's delivery only once."""
        return hashlib.sha256(f"resend\x1f{self.token}\x1f{self.document}".encode()).hexdigest()

    def to_conf(self) -> dict[str, dict[str, str]]:
        return {
            RESEND_PARAM: {"document": self.document, "destination": self.destination, "token": self.token}
        }


def resend_request(integration: Integration, params: Mapping[str, Any]) -> ResendRequest | None:
    """The run's resend request (its ``resend`` param), checked; None for every other run.

    Anyone who may trigger the DAG may fill the param in the Trigger form too, so it is checked here
    as strictly as the dashboard does: a malformed one fails the run with what to fix.
    """
    value = params.get(RESEND_PARAM)
    if not value:
        return None
    if not isinstance(value, Mapping):
        raise _refused(integration, f"the param must be an object, not {type(value).__name__}")
    unknown = sorted(set(value) - {"document", "destination", "token"})
    if unknown:
        raise _refused(integration, f"unknown key(s) {', '.join(unknown)}")
    document, destination, token = (str(value.get(k) or "") for k in ("document", "destination", "token"))
    if not _SHA256.fullmatch(document):
        raise _refused(integration, f"'document' must be the sha256 of a stored document, not {document!r}")
    if not _TOKEN.fullmatch(token):
        raise _refused(integration, "'token' must be 8 to 64 letters, digits, '-' or '_'")
    known = [key for key, _ in integration.destinations_by_id()]
    if destination not in known:
        raise _refused(
            integration, f"destination {destination!r} is not one of {', '.join(known) or '(none)'}"
        )
    return ResendRequest(document, destination, token)


def _refused(integration: Integration, problem: str) -> HubError:
    return HubError(
        f"{integration.name}: the run's param {RESEND_PARAM!r} is not a valid resend request: {problem}; "
        "start the resend from the dashboard's transaction page",
        retryable=False,
    )


@dataclass(frozen=True)
class StoredDocument:
    """A document of this integration kept in the document store, and what it belongs to."""

    url: str
    name: str
    sha256: str
    source_file_id: int | None
    invoice_id: int | None


def stored_document(engine: Engine, integration: str, sha256: str) -> StoredDocument | None:
    """The stored document with content ``sha256`` that this integration received or rendered: a
    received source file (for passthrough transfers also what was delivered), what a converting
    transfer rendered and delivered, or an export's rendered output. None when this integration has no such document: a sha256 from another
    integration never leaks into this one's destinations."""
    with Session(engine) as session:
        exported = session.execute(
            select(InvoiceExport.output_url, InvoiceExport.output_name, InvoiceExport.invoice_id)
            .where(
                InvoiceExport.integration == integration,
                InvoiceExport.output_sha256 == sha256,
                InvoiceExport.output_url.is_not(None),
            )
            .limit(1)
        ).first()
        if exported is not None:
            url, name, invoice_id = exported
            assert url is not None  # the query keeps only rows with an output_url
            return StoredDocument(url, name, sha256, None, invoice_id)
        rendered = session.execute(
            select(InvoiceOutput.output_url, InvoiceOutput.output_name, InvoiceRecord.source_file_id)
            .join(InvoiceRecord, InvoiceRecord.id == InvoiceOutput.invoice_id)
            .where(
                InvoiceOutput.integration == integration,
                InvoiceOutput.output_sha256 == sha256,
                InvoiceOutput.output_url.is_not(None),
            )
            .limit(1)
        ).first()
        if rendered is not None:
            url, name, file_id = rendered
            assert url is not None  # the query keeps only rows with an output_url
            return StoredDocument(url, name, sha256, file_id, None)
        received = session.execute(
            select(InvoiceRecord.source_url, InvoiceRecord.source_path, InvoiceRecord.source_file_id)
            .where(InvoiceRecord.integration == integration, InvoiceRecord.source_sha256 == sha256)
            .limit(1)
        ).first()
        if received is None:
            return None
        url, source_path, file_id = received
        delivered_as = session.scalar(
            select(Delivery.output_name)
            .where(Delivery.integration == integration, Delivery.output_sha256 == sha256)
            .limit(1)
        )
        return StoredDocument(url, delivered_as or source_path.rsplit("/", 1)[-1], sha256, file_id, None)


def resend_manifest(engine: Engine, integration: Integration, request: ResendRequest) -> Manifest:
    """The manifest of a resend run: one entry, ready for deliver, with the one output."""
    from invoice_hub.staging import object_path

    document = stored_document(engine, integration.name, request.document)
    if document is None:
        raise HubError(
            f"{integration.name}: no stored document with sha256 {request.document} belongs to this "
            "integration; pick the document on its transaction page in the dashboard",
            retryable=False,
        )
    size = object_path(document.url).stat().st_size
    output = Output(
        name=document.name,
        url=document.url,
        sha256=document.sha256,
        size=size,
        targets=[request.destination],
        delivery_key=request.delivery_key,
    )
    entry = FileEntry(
        source_path=f"{RESEND_PARAM}:{document.name}",
        size=size,
        mtime=0.0,
        file_id=document.source_file_id,
        sha256=document.sha256,
        staged_url=document.url,
        status="transformed",
        outputs=[output],
        invoice_id=document.invoice_id,
    )
    return Manifest(files=[entry])
