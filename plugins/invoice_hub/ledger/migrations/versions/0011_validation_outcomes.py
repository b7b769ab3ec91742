"""Each source file's validation outcome and what conversion made of it (``source_files.validation``,
``source_files.conversion``).

Only the rule ids of a rejected file's fatal findings (or a delivered file's losses) were kept, so a
transaction's history could not say "validated (en16931): 2 warnings" nor list them, nor that the
file was converted to another format. Both are JSON text (``invoice_hub.ledger.outcomes``), bounded
to the first 100 findings; null for files recorded before, and when the file was not validated or
not converted.

Columns are added with plain ``ADD COLUMN`` (no batch copy): on SQLite a copy of ``source_files``
drops the old table, and with ``PRAGMA foreign_keys=ON`` that sets every delivery's and invoice's
``source_file_id`` to NULL (see 0005 and 0006).

Revision ID: 0011_validation_outcomes
Revises: 0010_invoice_output_urls
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_validation_outcomes"
down_revision = "0010_invoice_output_urls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_files", sa.Column("validation", sa.Text))
    op.add_column("source_files", sa.Column("conversion", sa.Text))


def downgrade() -> None:
    op.drop_column("source_files", "conversion")
    op.drop_column("source_files", "validation")
