"""Exact amounts in every backend: NUMERIC(38, 10) where the database has exact decimals, the
Decimal's plain text on SQLite (whose NUMERIC affinity stored REALs: ``1e+20``, a cent lost).

On SQLite each amount column is replaced in place (ADD COLUMN, fill, DROP COLUMN, RENAME COLUMN;
SQLite 3.35+) rather than by batch mode's copy of the table: that copy drops the old ``invoices``
table, and with the ledger's ``PRAGMA foreign_keys=ON`` SQLite first deletes its rows, which
cascades to every ``invoice_exports`` row. Existing values are converted in Python from what SQLite
holds (a REAL's shortest repr, an INTEGER, or text), to 4 decimals as the old ``NUMERIC(20, 4)``
returned them.

Revision ID: 0005
Revises: 0003 (rewired after 0004 at merge)
Create Date: 2026-12-01
"""

from decimal import ROUND_HALF_EVEN, Context, Decimal

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_TYPE = sa.Numeric(20, 4)
NEW_TYPE = sa.Numeric(38, 10)
AMOUNT_COLUMNS = {
    "ar_invoices": ("open_amount",),
    "ar_status_changes": ("previous_amount", "open_amount"),
    "invoices": ("total_without_vat", "total_vat", "total_with_vat", "payable"),
}
_WIDE = Context(prec=80)
_FOUR_PLACES = Decimal("0.0001")
_CHUNK = 10_000


def sqlite_text(value: object) -> str | None:
    """What SQLite held for an amount (REAL, INTEGER or text) as the plain text of its Decimal."""
    if value is None:
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    if not number.is_finite():
        return None
    return format(number.quantize(_FOUR_PLACES, ROUND_HALF_EVEN, _WIDE).normalize(_WIDE), "f")


def upgrade() -> None:
    bind = op.get_bind()
    for table, columns in AMOUNT_COLUMNS.items():
        if bind.dialect.name != "sqlite":
            for column in columns:
                op.alter_column(table, column, type_=NEW_TYPE, existing_type=OLD_TYPE)
            continue
        for column in columns:
            _to_text_column(bind, table, column)


def _to_text_column(bind: sa.Connection, table: str, column: str) -> None:
    exact = f"{column}__exact"
    bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD COLUMN "{exact}" TEXT')
    # Table and column names below are this module's constants, never input.
    rows = bind.exec_driver_sql(f'SELECT id, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').all()  # noqa: S608
    update = f'UPDATE "{table}" SET "{exact}" = ? WHERE id = ?'  # noqa: S608
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        bind.exec_driver_sql(update, [(sqlite_text(value), row_id) for row_id, value in chunk])
    bind.exec_driver_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    bind.exec_driver_sql(f'ALTER TABLE "{table}" RENAME COLUMN "{exact}" TO "{column}"')


def downgrade() -> None:
    bind = op.get_bind()
    for table, columns in AMOUNT_COLUMNS.items():
        for column in columns:
            if bind.dialect.name != "sqlite":
                op.alter_column(table, column, type_=OLD_TYPE, existing_type=NEW_TYPE)
                continue
            numeric = f"{column}__numeric"
            bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD COLUMN "{numeric}" NUMERIC(20, 4)')
            bind.exec_driver_sql(f'UPDATE "{table}" SET "{numeric}" = CAST("{column}" AS REAL)')  # noqa: S608
            bind.exec_driver_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
            bind.exec_driver_sql(f'ALTER TABLE "{table}" RENAME COLUMN "{numeric}" TO "{column}"')
