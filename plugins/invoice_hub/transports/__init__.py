"""Sources and destinations: one module per transport, opened through :func:`open_transport`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoice_hub.transports.base import RemoteFile, TargetExistsError, Transport, TransportError
from invoice_hub.transports.local import LocalTransport

#: Transport types this version of the hub can open; config check reports the others as unavailable.
AVAILABLE = frozenset({"local"})


def open_transport(endpoint: Any, base_dir: Path) -> Transport:
    """The transport for a source or destination block; ``base_dir`` anchors relative local paths."""
    if endpoint.type == "local":
        return LocalTransport(base_dir)
    raise TransportError(
        f"{endpoint.type}: not available in this version of the invoice hub", retryable=False
    )


__all__ = ["AVAILABLE", "RemoteFile", "TargetExistsError", "Transport", "TransportError", "open_transport"]
