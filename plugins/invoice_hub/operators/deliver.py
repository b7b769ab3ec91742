"""deliver: upload every output to every destination, atomically and exactly once."""

from __future__ import annotations

from airflow.sdk import Context

from invoice_hub.ledger.status import DeliveryStatus
from invoice_hub.manifest import FileEntry, Manifest, Output
from invoice_hub.operators.base import IntegrationOperator, fail_fast
from invoice_hub.transports import TargetExistsError, Transport, TransportError


class DeliverOperator(IntegrationOperator):
    """For each destination, over one connection, each output not yet delivered there.

    The ledger keeps one delivery per (integration, destination, output sha256): a retried task or a
    re-run never delivers the same output to the same destination twice. The target name is
    chosen and noted before the upload, so an upload that completed just before a crash is found
    on the retry instead of being made again.

    A delivery that cannot succeed by retrying (the name exists and ``if_exists: fail``, no
    permission) fails that file, which goes to failure handling; anything else fails the task
    after every other output was tried, and the retry continues where it stopped.
    """

    @fail_fast
    def execute(self, context: Context) -> dict:
        manifest = self.pull_manifest(context, "validate_transform")
        pending = [entry for entry in manifest.files if entry.status == "transformed"]
        retryable: list[str] = []
        for index, destination in enumerate(self.integration.destinations):
            if not pending:
                break
            with self.destination_transport(index) as transport:
                folder = transport.resolve(getattr(destination, "path", "/"))
                key = transport.destination_key(folder)
                for entry in pending:
                    for output in entry.outputs:
                        try:
                            where = self._deliver(
                                transport,
                                key,
                                folder,
                                destination.if_exists,
                                entry,
                                output,
                                context["run_id"],
                            )
                        except TransportError as exc:
                            self.log.error("Delivery of %s to %s failed: %s", output.name, key, exc)
                            if exc.retryable:
                                retryable.append(f"{output.name} -> {key}: {exc}")
                            else:
                                code = (
                                    "deliver.target_exists"
                                    if isinstance(exc, TargetExistsError)
                                    else "deliver.refused"
                                )
                                entry.fail(code, str(exc))
                            continue
                        entry.delivered_to.append(where)
            pending = [entry for entry in pending if entry.status == "transformed"]
        if retryable:
            raise TransportError(
                f"{len(retryable)} deliveries failed and will be retried: " + "; ".join(retryable[:5])
            )
        for entry in pending:
            entry.status = "delivered"
        self.log.info("Delivered %d file(s)", len(pending))
        return Manifest(files=manifest.files).to_xcom()

    def _deliver(
        self,
        transport: Transport,
        key: str,
        folder: str,
        if_exists: str,
        entry: FileEntry,
        output: Output,
        run_id: str,
    ) -> str:
        name = self.integration.name
        done = self.ledger.delivery(name, key, output.sha256)
        if done is not None and done.status == DeliveryStatus.DELIVERED:
            self.log.info("%s was delivered to %s before (%s); not again", output.name, key, done.remote_path)
            return f"{key} (already: {done.remote_path})"
        if done is not None and done.remote_path and transport.exists(done.remote_path) == output.size:
            self.log.info("%s: the upload of an earlier attempt completed; recording it", done.remote_path)
            self.ledger.finish_delivery(name, key, output.sha256, done.remote_path)
            return done.remote_path
        for _attempt in range(3):  # the name picked can be taken by someone else before our rename
            target = transport.target_path(folder, output.name, if_exists)  # type: ignore[arg-type]
            self.ledger.start_delivery(name, key, output.sha256, output.name, target, run_id, entry.file_id)
            try:
                from invoice_hub.staging import local_file

                with local_file(output.url) as local:
                    transport.upload(local, target, replace=if_exists == "replace")
            except TargetExistsError:
                if if_exists == "unique":
                    continue
                raise
            self.ledger.finish_delivery(name, key, output.sha256, target)
            self.log.info("Delivered %s to %s", output.name, target)
            return target
        raise TransportError(f"{key}: could not find a free name for {output.name} after 3 attempts")
