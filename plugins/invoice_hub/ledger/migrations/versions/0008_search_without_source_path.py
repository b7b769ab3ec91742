"""The invoices' search text without the source path (PostgreSQL's trigram index of it): the path's
dates and sequence numbers share their trigrams with every number searched for, so the index
returned a large part of the table for each search. The query's expression is
``tables.invoice_search_text``; the index must be built on the very same expression to be used.

Revision ID: 0008_search_without_source_path
Revises: 0007_dashboard_indexes
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008_search_without_source_path"
down_revision = "0007_dashboard_indexes"
branch_labels = None
depends_on = None

COLUMNS = (
    "number",
    "sender",
    "sender_name",
    "receiver",
    "receiver_name",
    "customer_order_number",
    "supplier_order_number",
)


def _joined(*columns: str) -> str:
    return "lower(" + " || ' ' || ".join(f"coalesce({c}, '')" for c in columns) + ")"


def _rebuild(columns: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").first():
        return  # 0007 could not create the extension: the search scans
    bind.exec_driver_sql("DROP INDEX IF EXISTS ix_invoices_search")
    # The expression is this module's constant, never input.
    bind.exec_driver_sql(
        f"CREATE INDEX ix_invoices_search ON invoices USING gin (({_joined(*columns)}) gin_trgm_ops)"
    )


def upgrade() -> None:
    _rebuild(COLUMNS)


def downgrade() -> None:
    _rebuild((*COLUMNS, "source_path"))
