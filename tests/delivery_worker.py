"""A worker process for the SIGKILL tests: runs ``deliver_files`` over a spec written by
tests/delivery_helpers.run_worker. ``hook`` ``kill-before-rename:N`` kills this process (SIGKILL,
as the OOM killer or a lost node would) while the N-th local upload has written its temporary file
but not renamed it, N-1 uploads being complete but not yet recorded (they are recorded per batch)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


def main(spec_path: str) -> None:
    from invoice_hub.config.models import Integration
    from invoice_hub.exchange.deliver import deliver_files
    from invoice_hub.ledger.store import Ledger
    from invoice_hub.manifest import Manifest
    from invoice_hub.transports import open_transport

    spec = json.loads(Path(spec_path).read_text())
    if spec["hook"]:
        kind, _, count = spec["hook"].partition(":")
        assert kind == "kill-before-rename", kind
        _kill_before_rename(int(count))
    manifest = Manifest.model_validate(spec["manifest"])
    integration = Integration.model_validate(spec["integration"])
    base_dir = Path(spec["base_dir"])
    deliver_files(Ledger(), integration, manifest.files, "worker-run", lambda d: open_transport(d, base_dir))
    print(sum(e.status == "delivered" for e in manifest.files), "delivered")


def _kill_before_rename(upload: int) -> None:
    """Die inside the ``upload``-th rename of a local upload (its temporary file written)."""
    calls = {"n": 0}
    real_link, real_replace = os.link, os.replace

    def dying(real):  # type: ignore[no-untyped-def]
        def rename(source, target, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(source).endswith(".part"):
                calls["n"] += 1
                if calls["n"] == upload:
                    os.kill(os.getpid(), signal.SIGKILL)
            return real(source, target, *args, **kwargs)

        return rename

    os.link = dying(real_link)  # the uploads of transports/local.py call these
    os.replace = dying(real_replace)


if __name__ == "__main__":
    main(sys.argv[1])
