"""Alembic environment: always run on a connection the ledger hands over (never from alembic.ini)."""

from alembic import context

from invoice_hub.ledger.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
