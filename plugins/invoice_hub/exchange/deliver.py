"""Deliver outputs to destinations exactly once, whatever crashes in between (see docs/guarantees.md).

Every delivery is noted in the ledger (pending, with its target and a stable id) before its upload
or send starts, and recorded as delivered as soon as it completed (per batch for storing
destinations, per message for send-only ones). A retry therefore finds, for each output:

- delivered: nothing to do;
- pending at a storing destination (local, SFTP, FTP): the earlier attempt may or may not have
  completed. With ``if_exists: replace`` it is uploaded again (always safe, and one transfer, as a
  check by content would be); otherwise the noted target is checked **by content**
  (:meth:`Transport.holds`: the server's checksum, else download and sha256) and recorded when it
  holds the output, else uploaded again under the noted name, which is ours because it was noted
  before the upload. Never by size: after a failed replace the old file of the same size is there.
  Temporary files a killed worker left are removed;
- pending at a send-only destination (e-mail, HTTP): sent again with the same Message-ID /
  Idempotency-Key; at most the one message in flight at the crash goes out twice.

One output's permanent error (a refused name, no permission, the target exists with ``fail``)
fails that output only; retryable errors make :func:`deliver_files` raise after every other output
was tried, and the retry continues where it stopped. Ledger errors are never swallowed: what cannot
be noted is not sent.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
from collections.abc import Callable
from dataclasses import dataclass

from invoice_hub.config.models import Destination, IfExists, Integration
from invoice_hub.ledger.status import DeliveryStatus
from invoice_hub.ledger.store import Ledger, Planned
from invoice_hub.manifest import FileEntry, Output
from invoice_hub.reasons import Reason
from invoice_hub.staging import read_staged, staged_file
from invoice_hub.transports.base import (
    ConnectError,
    SendOnlyTransport,
    TargetExistsError,
    Transport,
    TransportError,
    file_error,
)

log = logging.getLogger(__name__)

#: Uploads noted, made and recorded together at a storing destination: a crash leaves at most this
#: many pending (each then checked by content), while thousands of files cost a few transactions.
BATCH = 500

Outcome = str | TransportError  # where the output went, or why not


def delivery_id(integration: str, destination_key: str, output_key: str) -> str:
    """The stable id of delivering one output to one destination: the same on every attempt, so it
    can be the e-mail's Message-ID and the HTTP request's Idempotency-Key."""
    return hashlib.sha256(f"{integration}\x1f{destination_key}\x1f{output_key}".encode()).hexdigest()


@dataclass(frozen=True)
class _Destination:
    """One destination folder of one open transport, as the steps of a delivery share it."""

    ledger: Ledger
    transport: Transport
    integration: str
    key: str  # the ledger's destination key
    folder: str
    if_exists: IfExists
    run_id: str

    def delivery_id(self, output_key: str) -> str:
        return delivery_id(self.integration, self.key, output_key)


@dataclass
class _Upload:
    entry: FileEntry
    output: Output
    target: str
    policy: IfExists


def deliver_files(
    ledger: Ledger,
    integration: Integration,
    files: list[FileEntry],
    run_id: str,
    open_destination: Callable[[Destination], Transport],
) -> None:
    """Deliver the outputs of the ``transformed`` entries to their destinations; entries whose
    delivery failed permanently are marked failed (with the reason), the others ``delivered``.

    Raises a retryable :class:`TransportError` when some delivery may succeed on a retry, after all
    others were tried (the entries are then left as they were, for the retry). A destination that
    cannot be reached or refuses the login (:class:`ConnectError`) fails no file: the others are
    served, then the error is raised (retryable or not, as the connection's was).
    """
    pending = [entry for entry in files if entry.status == "transformed"]
    retryable: list[str] = []
    unreachable: list[ConnectError] = []
    for destination_id, destination in integration.destinations_by_id():
        work = [
            (entry, output)
            for entry in pending
            for output in entry.outputs
            if (destination_id in output.targets if output.targets is not None
                else destination_id.startswith("destinations."))
        ]  # fmt: skip
        if not work:
            continue
        try:
            with open_destination(destination) as transport:
                folder = transport.resolve(getattr(destination, "path", "/"))
                key = transport.destination_key(folder)
                outcomes = deliver_to(
                    ledger,
                    transport,
                    integration=integration.name,
                    folder=folder,
                    if_exists=destination.if_exists,
                    work=work,
                    run_id=run_id,
                )
        except ConnectError as exc:  # every file of this destination: none is failed for it
            log.error("Cannot deliver to %s: %s", destination_id, exc)
            unreachable.append(exc)
            continue
        for entry, output in work:
            outcome = outcomes[output.key]
            if isinstance(outcome, TransportError):
                log.error("Delivery of %s to %s failed: %s", output.name, key, outcome)
                if outcome.retryable:
                    retryable.append(f"{output.name} -> {key}: {outcome}")
                else:
                    code = (
                        Reason.DELIVER_TARGET_EXISTS
                        if isinstance(outcome, TargetExistsError)
                        else Reason.DELIVER_REFUSED
                    )
                    entry.fail(code, str(outcome))
                continue
            entry.delivered_to.append(outcome)
            output.delivered_to[destination_id] = outcome
        pending = [entry for entry in pending if entry.status == "transformed"]
    if unreachable:
        # a refused login needs a person: no retries then; the files stay at the source meanwhile
        raise TransportError(
            "; ".join(str(exc) for exc in unreachable)
            + (f"; and {len(retryable)} deliveries failed: " + "; ".join(retryable[:5]) if retryable else ""),
            retryable=all(exc.retryable for exc in unreachable),
        )
    if retryable:
        raise TransportError(
            f"{len(retryable)} deliveries failed and will be retried: " + "; ".join(retryable[:5])
        )
    for entry in pending:
        entry.status = "delivered"
    log.info("Delivered %d file(s)", len(pending))


def deliver_to(
    ledger: Ledger,
    transport: Transport,
    *,
    integration: str,
    folder: str,
    if_exists: IfExists,
    work: list[tuple[FileEntry, Output]],
    run_id: str,
) -> dict[str, Outcome]:
    """Each distinct output of ``work`` (by key: the same content twice goes out once) delivered to
    ``folder`` of one open transport -> where it went, or why not."""
    key = transport.destination_key(folder)
    first_of: dict[str, tuple[FileEntry, Output]] = {}
    for entry, output in work:
        first_of.setdefault(output.key, (entry, output))
    known = ledger.deliveries(integration, key, list(first_of))
    outcomes: dict[str, Outcome] = {}
    todo: list[tuple[FileEntry, Output]] = []
    for output_key, (entry, output) in first_of.items():
        done = known.get(output_key)
        if done is not None and done.status == DeliveryStatus.DELIVERED:
            log.info("%s was delivered to %s before (%s); not again", output.name, key, done.remote_path)
            outcomes[output_key] = f"{key} (already: {done.remote_path})"
        else:
            todo.append((entry, output))
    noted = {k: d.remote_path for k, d in known.items() if d.status == DeliveryStatus.PENDING}
    deliver = _send_each if isinstance(transport, SendOnlyTransport) else _store_all
    here = _Destination(ledger, transport, integration, key, folder, if_exists, run_id)
    outcomes.update(deliver(here, todo, noted))
    return outcomes


def _send_each(
    here: _Destination, todo: list[tuple[FileEntry, Output]], noted: dict[str, str | None]
) -> dict[str, Outcome]:
    """E-mail and HTTP: what was sent cannot be read back, so each message is noted, sent and
    recorded on its own: a crash repeats at most the one in flight, with the same id."""
    ledger, transport, key = here.ledger, here.transport, here.key
    assert isinstance(transport, SendOnlyTransport)  # deliver_to picks _send_each for these only
    outcomes: dict[str, Outcome] = {}
    for entry, output in todo:
        did = here.delivery_id(output.key)
        if output.key in noted:
            log.warning(
                "%s: an earlier attempt to send it to %s did not record its end; sending it again with "
                "the same id %s (a receiver honouring it sees one)",
                output.name,
                key,
                did,
            )
        try:
            target = transport.target_path(here.folder, output.name, "replace")
        except Exception as exc:
            outcomes[output.key] = file_error(exc, transport.label, output.name)
            continue
        ledger.start_delivery(
            here.integration, key, output.key, output.name, target, here.run_id, entry.file_id, did
        )
        try:
            source = staged_file(output.url, output.size)
            transport.upload(source, target, replace=False, delivery_id=did)
        except Exception as exc:
            outcomes[output.key] = file_error(exc, transport.label, target)
            continue
        ledger.finish_delivery(here.integration, key, output.key, target)
        log.info("Sent %s to %s (id %s)", output.name, key, did)
        outcomes[output.key] = target
    return outcomes


def _store_all(
    here: _Destination, todo: list[tuple[FileEntry, Output]], noted: dict[str, str | None]
) -> dict[str, Outcome]:
    """Local, SFTP, FTP: pending deliveries confirmed by content, the rest uploaded in batches."""
    transport, folder = here.transport, here.folder
    outcomes: dict[str, Outcome] = {}
    uploads: list[_Upload] = []
    proven: list[tuple[str, str]] = []
    leftovers: dict[str, set[str]] = {}
    taken = {path for path in noted.values() if path}
    for entry, output in todo:
        policy = output.if_exists or here.if_exists
        earlier = noted.get(output.key)
        if earlier:
            remote_folder, name = posixpath.split(transport.resolve(earlier))
            leftovers.setdefault(remote_folder, set()).add(name)
            if policy != "replace":
                try:
                    holds = transport.holds(earlier, output.sha256, output.size)
                except Exception as exc:
                    outcomes[output.key] = file_error(exc, transport.label, earlier)
                    continue
                if holds:
                    log.info(
                        "%s: the upload of an earlier attempt completed (same sha256); recording it", earlier
                    )
                    proven.append((output.key, earlier))
                    outcomes[output.key] = earlier
                    continue
            log.info("%s: not proven delivered by an earlier attempt; uploading it again", earlier)
            uploads.append(_Upload(entry, output, earlier, policy))
            continue
        try:
            target = transport.target_path(folder, output.name, policy, frozenset(taken))
        except Exception as exc:
            outcomes[output.key] = file_error(exc, transport.label, posixpath.join(folder, output.name))
            continue
        taken.add(target)
        uploads.append(_Upload(entry, output, target, policy))
    here.ledger.finish_deliveries(here.integration, here.key, proven)
    for remote_folder, names in leftovers.items():
        transport.discard_partials(remote_folder, names)
    for start in range(0, len(uploads), BATCH):
        outcomes.update(_upload_batch(here, uploads[start : start + BATCH]))
    return outcomes


def _upload_batch(here: _Destination, batch: list[_Upload]) -> dict[str, Outcome]:
    """Note, upload (as many in flight as the transport keeps) and record one batch."""
    here.ledger.start_deliveries(
        here.integration,
        here.key,
        here.run_id,
        [
            Planned(u.output.key, u.output.name, u.target, u.entry.file_id, here.delivery_id(u.output.key))
            for u in batch
        ],
    )
    # streamed from staging, no local copy: on an object store the batch's small files are read
    # together into memory (bounded), the large ones streamed in parts by the transport
    errors: list[TransportError | None] = []
    for sources in read_staged([(u.output.url, u.output.size) for u in batch]):
        group = batch[len(errors) : len(errors) + len(sources)]
        errors += here.transport.upload_many(
            [(source, u.target, u.policy == "replace") for source, u in zip(sources, group, strict=True)]
        )
    outcomes: dict[str, Outcome] = {}
    done: list[tuple[str, str]] = []
    for item, error in zip(batch, errors, strict=True):
        if isinstance(error, TargetExistsError) and item.policy == "unique":
            # the name picked was taken by someone else before our rename: pick another
            outcomes[item.output.key] = _upload_under_new_name(here, item)
        elif error is not None:
            outcomes[item.output.key] = error
        else:
            outcomes[item.output.key] = item.target
            done.append((item.output.key, item.target))
    here.ledger.finish_deliveries(here.integration, here.key, done)
    return outcomes


def _upload_under_new_name(here: _Destination, item: _Upload) -> Outcome:
    """Upload one output under a new unique name, after another writer took the one noted."""
    ledger, transport, integration, key = here.ledger, here.transport, here.integration, here.key
    did = here.delivery_id(item.output.key)
    for _attempt in range(3):
        try:
            target = transport.target_path(here.folder, item.output.name, "unique")
        except Exception as exc:
            return file_error(exc, transport.label, item.output.name)
        ledger.start_delivery(
            integration, key, item.output.key, item.output.name, target, here.run_id, item.entry.file_id, did
        )
        try:
            transport.upload(staged_file(item.output.url, item.output.size), target, replace=False)
        except TargetExistsError:
            continue
        except Exception as exc:
            return file_error(exc, transport.label, target)
        ledger.finish_delivery(integration, key, item.output.key, target)
        log.info("Delivered %s to %s", item.output.name, target)
        return target
    return TransportError(f"{key}: could not find a free name for {item.output.name} after 3 attempts")
