"""Each received invoice's rendered outputs kept in the document store: where (``invoice_outputs.output_url``).

A transfer that converts (UBL to AP Agility, say) delivered its output from the run's staging area
only, so the dashboard could show and resend a transaction's source but not what was sent. Null for
outputs recorded before, and for passthroughs (the output is the source, kept as ``source_url``).

Revision ID: 0010_invoice_output_urls
Revises: 0009_accounting_sources
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_invoice_output_urls"
down_revision = "0009_accounting_sources"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoice_outputs", sa.Column("output_url", sa.Text()))  # plain ALTER: no table copy


def downgrade() -> None:
    with op.batch_alter_table("invoice_outputs") as batch:
        batch.drop_column("output_url")
