"""deliver: upload every output to every destination, atomically and exactly once."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from airflow.sdk import Context

from invoice_hub.ledger.status import DeliveryStatus
from invoice_hub.manifest import FileEntry, Manifest, Output
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.transports import TargetExistsError, Transport, TransportError


@dataclass
class _Upload:
    entry: FileEntry
    output: Output
    target: str
    if_exists: str


class DeliverOperator(IntegrationOperator):
    """For each destination, over one login (as many uploads in flight as the transport can keep),
    each output not yet delivered there.

    The ledger keeps one delivery per (integration, destination, output sha256): a retried task or a
    re-run never delivers the same output to the same destination twice. Target names are chosen and
    noted (in one transaction) before the uploads start, so an upload that completed just before a
    crash is found on the retry instead of being made again.

    A delivery that cannot succeed by retrying (the name exists and ``if_exists: fail``, no
    permission) fails that file, which goes to failure handling; anything else fails the task
    after every other output was tried, and the retry continues where it stopped.
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        manifest = self.pull_manifest(context, *self.upstream_task_ids)  # validate_transform or reconcile
        pending = [entry for entry in manifest.files if entry.status == "transformed"]
        retryable: list[str] = []
        for destination_id, destination in self.integration.destinations_by_id():
            work = [
                (entry, output)
                for entry in pending
                for output in entry.outputs
                if (destination_id in output.targets if output.targets is not None
                    else destination_id.startswith("destinations."))
            ]  # fmt: skip
            if not work:
                continue
            with self.destination_transport(destination) as transport:
                folder = transport.resolve(getattr(destination, "path", "/"))
                key = transport.destination_key(folder)
                outcomes = self._deliver_all(
                    transport, key, folder, destination.if_exists, work, context["run_id"]
                )
            for entry, output in work:
                outcome = outcomes[output.key]
                if isinstance(outcome, TransportError):
                    self.log.error("Delivery of %s to %s failed: %s", output.name, key, outcome)
                    if outcome.retryable:
                        retryable.append(f"{output.name} -> {key}: {outcome}")
                    else:
                        code = (
                            "deliver.target_exists"
                            if isinstance(outcome, TargetExistsError)
                            else "deliver.refused"
                        )
                        entry.fail(code, str(outcome))
                    continue
                entry.delivered_to.append(outcome)
                output.delivered_to[destination_id] = outcome
            pending = [entry for entry in pending if entry.status == "transformed"]
        if retryable:
            raise TransportError(
                f"{len(retryable)} deliveries failed and will be retried: " + "; ".join(retryable[:5])
            )
        for entry in pending:
            entry.status = "delivered"
        self.log.info("Delivered %d file(s)", len(pending))
        return Manifest(files=manifest.files).to_xcom()

    def _deliver_all(
        self,
        transport: Transport,
        key: str,
        folder: str,
        if_exists: str,
        work: list[tuple[FileEntry, Output]],
        run_id: str,
    ) -> dict[str, str | TransportError]:
        """Each distinct output (by key, the sha256 unless a re-export: the same content twice goes out
        once) -> where it went, or why not."""
        name = self.integration.name
        first_of: dict[str, tuple[FileEntry, Output]] = {}
        for entry, output in work:
            first_of.setdefault(output.key, (entry, output))
        known = self.ledger.deliveries(name, key, list(first_of))
        outcomes: dict[str, str | TransportError] = {}
        uploads: list[_Upload] = []
        completed_earlier: list[tuple[str, str]] = []
        taken: set[str] = set()
        for sha, (entry, output) in first_of.items():
            done = known.get(sha)
            if done is not None and done.status == DeliveryStatus.DELIVERED:
                self.log.info(
                    "%s was delivered to %s before (%s); not again", output.name, key, done.remote_path
                )
                outcomes[sha] = f"{key} (already: {done.remote_path})"
            elif done is not None and done.remote_path and transport.exists(done.remote_path) == output.size:
                self.log.info(
                    "%s: the upload of an earlier attempt completed; recording it", done.remote_path
                )
                completed_earlier.append((sha, done.remote_path))
                outcomes[sha] = done.remote_path
            else:
                policy = output.if_exists or if_exists
                try:
                    target = transport.target_path(folder, output.name, policy, frozenset(taken))  # type: ignore[arg-type]
                except TransportError as exc:
                    outcomes[sha] = exc
                    continue
                taken.add(target)
                uploads.append(_Upload(entry, output, target, policy))
        self.ledger.start_deliveries(
            name, key, run_id, [(u.output.key, u.output.name, u.target, u.entry.file_id) for u in uploads]
        )
        from invoice_hub.staging import local_file

        with contextlib.ExitStack() as files:
            locals_ = [files.enter_context(local_file(u.output.url)) for u in uploads]
            errors = transport.upload_many(
                [
                    (local, u.target, u.if_exists == "replace")
                    for local, u in zip(locals_, uploads, strict=True)
                ]
            )
        for item, error in zip(uploads, errors, strict=True):
            if isinstance(error, TargetExistsError) and item.if_exists == "unique":
                # the name picked was taken by someone else before our rename: pick another
                outcomes[item.output.key] = self._upload(
                    transport, item, key=key, folder=folder, run_id=run_id
                )
            else:
                outcomes[item.output.key] = error or item.target
        self.ledger.finish_deliveries(
            name,
            key,
            completed_earlier
            + [
                (u.output.key, outcomes[u.output.key])
                for u in uploads
                if isinstance(outcomes[u.output.key], str)
            ],  # type: ignore[misc]
        )
        return outcomes

    def _upload(
        self, transport: Transport, item: _Upload, *, key: str, folder: str, run_id: str
    ) -> str | TransportError:
        """Upload one output under a new unique name, after another writer took the one noted."""
        from invoice_hub.staging import local_file

        try:
            for _attempt in range(3):
                target = transport.target_path(folder, item.output.name, "unique")
                self.ledger.start_delivery(
                    self.integration.name,
                    key,
                    item.output.key,
                    item.output.name,
                    target,
                    run_id,
                    item.entry.file_id,
                )
                try:
                    with local_file(item.output.url) as local:
                        transport.upload(local, target, replace=False)
                except TargetExistsError:
                    continue
                self.log.info("Delivered %s to %s", item.output.name, target)
                return target
            raise TransportError(f"{key}: could not find a free name for {item.output.name} after 3 attempts")
        except TransportError as exc:
            return exc
