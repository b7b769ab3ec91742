"""The hub's own database: every file it saw and every delivery it made (what makes runs idempotent).

Modules: ``status`` (plain constants), ``tables`` (SQLAlchemy models), ``database`` (engine and
migrations), ``store`` (the operations, :class:`~invoice_hub.ledger.store.Ledger`). Nothing is imported
here, so that DAG parsing does not pay for SQLAlchemy and Alembic.
"""
