"""Source files and deliveries: what makes runs idempotent.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID_TYPE = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "source_files",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime", sa.Float, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("integration", "source_path", "size", "mtime", name="uq_source_file_version"),
    )
    op.create_index("ix_source_files_integration_sha256", "source_files", ["integration", "sha256"])
    op.create_table(
        "deliveries",
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("integration", sa.String(200), nullable=False),
        sa.Column("source_file_id", ID_TYPE, sa.ForeignKey("source_files.id", ondelete="SET NULL")),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("output_name", sa.Text, nullable=False),
        sa.Column("output_sha256", sa.String(64), nullable=False),
        sa.Column("remote_path", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("integration", "destination", "output_sha256", name="uq_delivery_once"),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_index("ix_source_files_integration_sha256", "source_files")
    op.drop_table("source_files")
