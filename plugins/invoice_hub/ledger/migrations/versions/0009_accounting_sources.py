"""Invoices an export reads from an accounting system (billy): when each was approved there.

An export selecting by approval time (``select.date_field: approved_at``) needs it beside the
invoice's date; ``received_at`` stays when the hub read the invoice. Null for received files.

Revision ID: 0009_accounting_sources
Revises: 0008_search_without_source_path
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_accounting_sources"
down_revision = "0008_search_without_source_path"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:  # SQLite alters tables by copying them
        batch.add_column(sa.Column("approved_at", sa.DateTime(timezone=True)))
        batch.create_index("ix_invoices_approved_at", ["approved_at"])


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_index("ix_invoices_approved_at")
        batch.drop_column("approved_at")
