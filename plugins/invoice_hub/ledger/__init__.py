"""The hub's own database: every file it saw and every delivery it made (what makes runs idempotent)."""

from invoice_hub.ledger.store import Claim, Ledger
from invoice_hub.ledger.tables import DeliveryStatus, FileStatus

__all__ = ["Claim", "DeliveryStatus", "FileStatus", "Ledger"]
