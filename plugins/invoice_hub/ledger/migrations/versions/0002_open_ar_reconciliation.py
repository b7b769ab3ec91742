"""Open-AR reconciliation: snapshots, receivables and their status changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer, "sqlite")
AMOUNT_TYPE = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "ar_snapshots",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("produced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("open_before", sa.Integer, nullable=False),
        *(
            sa.Column(name, sa.Integer, nullable=False, server_default="0")
            for name in ("opened", "paid", "partially_paid", "amount_changed", "reopened")
        ),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("approved_by", sa.String(250)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("integration", "sha256", "produced_at", name="uq_ar_snapshot"),
    )
    op.create_index("ix_ar_snapshots_integration_produced_at", "ar_snapshots", ["integration", "produced_at"])
    op.create_table(
        "ar_invoices",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("invoice_ref", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("open_amount", AMOUNT_TYPE),
        sa.Column("currency", sa.String(3)),
        sa.Column("customer", sa.Text),
        sa.Column("customer_name", sa.Text),
        sa.Column("issue_date", sa.Date),
        sa.Column("due_date", sa.Date),
        sa.Column("extra", sa.Text),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True)),
        sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_snapshot_id", ID_TYPE, sa.ForeignKey("ar_snapshots.id"), nullable=False),
        sa.UniqueConstraint("integration", "invoice_ref", name="uq_ar_invoice"),
    )
    op.create_index("ix_ar_invoices_integration_status", "ar_invoices", ["integration", "status"])
    op.create_table(
        "ar_status_changes",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("snapshot_id", ID_TYPE, sa.ForeignKey("ar_snapshots.id"), nullable=False),
        sa.Column("invoice_ref", sa.String(200), nullable=False),
        sa.Column("change", sa.String(20), nullable=False),
        sa.Column("previous_amount", AMOUNT_TYPE),
        sa.Column("open_amount", AMOUNT_TYPE),
        sa.Column("currency", sa.String(3)),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ar_status_changes_ref", "ar_status_changes", ["integration", "invoice_ref"])
    op.create_index("ix_ar_status_changes_snapshot", "ar_status_changes", ["snapshot_id"])


def downgrade() -> None:
    op.drop_table("ar_status_changes")
    op.drop_table("ar_invoices")
    op.drop_table("ar_snapshots")
