"""What the dashboard and the notifications need of the ledger: a rejected file's reason code and
finding ids, and each received invoice's outputs (its link to the deliveries of a file of many).

Columns are added with plain ``ADD COLUMN`` (no batch copy): on SQLite a copy of ``source_files``
drops the old table, and with ``PRAGMA foreign_keys=ON`` that sets every delivery's and invoice's
``source_file_id`` to NULL (see 0005).

Revision ID: 0006_ledger_for_dashboard
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_ledger_for_dashboard"
down_revision = "0005"
branch_labels = None
depends_on = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.add_column("source_files", sa.Column("reason_code", sa.String(60)))
    op.add_column("source_files", sa.Column("finding_ids", sa.Text))
    op.create_table(
        "invoice_outputs",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("invoice_id", ID_TYPE, sa.ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("output_name", sa.Text, nullable=False),
        sa.Column("output_sha256", sa.String(64), nullable=False),
    )
    op.create_index("ix_invoice_outputs_invoice", "invoice_outputs", ["invoice_id"])
    op.create_index("ix_invoice_outputs_output", "invoice_outputs", ["integration", "output_sha256"])


def downgrade() -> None:
    op.drop_table("invoice_outputs")
    op.drop_column("source_files", "finding_ids")
    op.drop_column("source_files", "reason_code")
