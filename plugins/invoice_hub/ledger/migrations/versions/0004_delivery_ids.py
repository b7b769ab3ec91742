"""The stable id a delivery carries (e-mail Message-ID, HTTP Idempotency-Key), noted before sending.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:  # SQLite alters tables by copying them
        batch.add_column(sa.Column("delivery_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("delivery_id")
