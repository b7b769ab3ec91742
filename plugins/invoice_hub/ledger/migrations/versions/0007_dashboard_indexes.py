"""Indexes for the dashboard's queries (ledger/dashboard.py): the transaction listing pages in
(column, time, id) order, one index per column it filters and sorts on; the status and destination
of a page's invoices come from the source file's deliveries and the invoice's exports; the health
figures read source files by integration, status and time. On PostgreSQL the free-text search has
trigram indexes (extension ``pg_trgm``, trusted since PostgreSQL 13: a database owner may create
it); where the extension cannot be created, the search works without them, by scanning.

Two single-column indexes give way to the composite ones that begin with the same column.

Revision ID: 0007_dashboard_indexes
Revises: 0005 (rewired after 0006 at merge)
Create Date: 2026-12-01
"""

import logging

from alembic import op

revision = "0007_dashboard_indexes"
down_revision = "0006_ledger_for_dashboard"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

INDEXES = {
    "source_files": {
        "ix_source_files_updated_at": ["updated_at", "id"],
        "ix_source_files_integration_updated_at": ["integration", "updated_at", "id"],
        "ix_source_files_status_updated_at": ["status", "updated_at", "id"],
        "ix_source_files_integration_status_updated_at": ["integration", "status", "updated_at"],
    },
    "deliveries": {"ix_deliveries_source_file": ["source_file_id", "integration", "status"]},
    "invoices": {
        "ix_invoices_received_at_id": ["received_at", "id"],
        "ix_invoices_integration_received_at": ["integration", "received_at", "id"],
        "ix_invoices_status_received_at": ["status", "received_at", "id"],
        "ix_invoices_sender_received_at": ["sender", "received_at", "id"],
        "ix_invoices_receiver_received_at": ["receiver", "received_at", "id"],
        "ix_invoices_number_received_at": ["number", "received_at", "id"],
        "ix_invoices_customer_order_received_at": ["customer_order_number", "received_at", "id"],
        "ix_invoices_supplier_order_received_at": ["supplier_order_number", "received_at", "id"],
        "ix_invoices_source_file": ["source_file_id"],
    },
    "invoice_exports": {
        "ix_invoice_exports_invoice": ["invoice_id", "status"],
        "ix_invoice_exports_recorded_at": ["recorded_at", "id"],
        "ix_invoice_exports_integration_recorded_at": ["integration", "recorded_at", "id"],
        "ix_invoice_exports_integration_status_recorded_at": ["integration", "status", "recorded_at"],
        "ix_invoice_exports_destination_recorded_at": ["destination", "recorded_at", "id"],
    },
}
#: Superseded by the composite indexes that begin with their column.
REPLACED = {"invoices": {"ix_invoices_received_at": ["received_at"], "ix_invoices_number": ["number"]}}


def _joined(*columns: str) -> str:
    """The text tables._joined makes: the index expression must be the query's, to the character."""
    return "lower(" + " || ' ' || ".join(f"coalesce({c}, '')" for c in columns) + ")"


#: PostgreSQL only: trigram indexes of the search texts (tables.invoice_search_text and friends).
SEARCH = {
    "ix_invoices_search": (
        "invoices",
        _joined(
            "number",
            "sender",
            "sender_name",
            "receiver",
            "receiver_name",
            "customer_order_number",
            "supplier_order_number",
            "source_path",  # taken out again by 0008
        ),
    ),
    "ix_source_files_search": ("source_files", _joined("source_path", "reason")),
}


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns)
    for table, indexes in REPLACED.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # no privilege, or not installed: search scans instead
        log.warning("No trigram indexes for the dashboard's search (pg_trgm: %s)", exc)
        return
    for name, (table, expression) in SEARCH.items():
        # Names and expressions are this module's constants, never input.
        bind.exec_driver_sql(f"CREATE INDEX {name} ON {table} USING gin (({expression}) gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in SEARCH:
            bind.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    for table, indexes in REPLACED.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns)
    for table, indexes in INDEXES.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
