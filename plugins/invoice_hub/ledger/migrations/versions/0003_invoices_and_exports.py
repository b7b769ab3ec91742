"""Invoices received (what exports select) and the exports made of them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer, "sqlite")
AMOUNT_TYPE = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("source_file_id", ID_TYPE, sa.ForeignKey("source_files.id", ondelete="SET NULL")),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("number", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sender", sa.Text),
        sa.Column("sender_name", sa.Text),
        sa.Column("receiver", sa.Text),
        sa.Column("receiver_name", sa.Text),
        sa.Column("customer", sa.String(200)),
        sa.Column("issue_date", sa.Date),
        sa.Column("due_date", sa.Date),
        sa.Column("currency", sa.String(3)),
        sa.Column("total_without_vat", AMOUNT_TYPE),
        sa.Column("total_vat", AMOUNT_TYPE),
        sa.Column("total_with_vat", AMOUNT_TYPE),
        sa.Column("payable", AMOUNT_TYPE),
        sa.Column("customer_order_number", sa.Text),
        sa.Column("supplier_order_number", sa.Text),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("source_url", sa.Text, nullable=False),
        sa.Column("document_url", sa.Text, nullable=False),
        sa.UniqueConstraint("integration", "source_sha256", "number", "type", name="uq_invoice_received"),
    )
    for column in ("issue_date", "received_at", "customer", "number"):
        op.create_index(f"ix_invoices_{column}", "invoices", [column])
    op.create_table(
        "invoice_exports",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("invoice_id", ID_TYPE, sa.ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("output_name", sa.Text, nullable=False),
        sa.Column("output_sha256", sa.String(64), nullable=False),
        sa.Column("output_url", sa.Text),
        sa.Column("remote_path", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_invoice_exports_lookup", "invoice_exports", ["integration", "invoice_id", "destination"]
    )


def downgrade() -> None:
    op.drop_table("invoice_exports")
    op.drop_table("invoices")
