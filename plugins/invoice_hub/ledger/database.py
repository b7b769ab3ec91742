"""Where the ledger lives and how it is brought up to date.

SQLite under the Airflow home by default; the Airflow connection ``invoice_hub_db`` (for example
``AIRFLOW_CONN_INVOICE_HUB_DB=postgresql://...``) points it at PostgreSQL in production. Migrations
are applied automatically, once per process, under a lock so that parallel tasks don't race.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from invoice_hub import settings
from invoice_hub.errors import HubError
from invoice_hub.redaction import connection_secrets, register_secrets

log = logging.getLogger(__name__)

LEDGER_CONN_ID = "invoice_hub_db"
MIGRATIONS = Path(__file__).with_name("migrations")
#: A fixed key for PostgreSQL's advisory lock around migrations ("invhub" in ASCII).
_PG_MIGRATION_LOCK = 0x696E76687562

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def ledger_url() -> str:
    """The SQLAlchemy URL of the ledger: the ``invoice_hub_db`` connection, else the SQLite default."""
    uri = _connection_uri()
    if uri:
        return uri
    path = settings.hub_home() / "ledger.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


#: Airflow connection types -> SQLAlchemy dialects.
_DIALECTS = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite"}


class LedgerConfigError(HubError):
    """The ``invoice_hub_db`` connection cannot be turned into a database URL: retrying cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def _connection_uri() -> str | None:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = BaseHook.get_connection(LEDGER_CONN_ID)
    except AirflowNotFoundException:
        return None
    # Its password (or a password inside an explicit URL) never appears in the hub's messages.
    register_secrets(connection_secrets(connection))
    explicit = connection.extra_dejson.get("sqlalchemy_url")
    if explicit:
        if (password := make_url(explicit).password) is not None:
            register_secrets([str(password)])
        return explicit
    dialect = _DIALECTS.get(connection.conn_type or "")
    if dialect is None:
        raise LedgerConfigError(
            f"Airflow connection {LEDGER_CONN_ID!r} has type {connection.conn_type!r}; use type postgres "
            f'(or sqlite), or put the database URL in its extra as {{"sqlalchemy_url": "..."}}'
        )
    if dialect == "sqlite":
        # Airflow keeps a SQLite path in "schema" (or "host"); its get_uri() percent-encodes the slashes.
        return f"sqlite:///{connection.schema or connection.host}"
    url = URL.create(
        drivername=dialect,
        username=connection.login or None,
        password=connection.password or None,
        host=connection.host or None,
        port=connection.port or None,
        database=connection.schema or None,
    )
    return url.render_as_string(hide_password=False)


def get_engine(url: str | None = None) -> Engine:
    """The (cached, migrated) engine for ``url`` or the configured ledger."""
    url = url or ledger_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            migrate(engine)
            _engines[url] = engine
        return engine


def _create_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # WAL lets the tasks of several DAGs read while one writes; foreign keys are off by default.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the process crashing (only a power loss can undo the last
        # ones), without an fsync per commit, which is what the per-file ledger rows need.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _alembic_config():  # -> alembic.config.Config; Alembic is imported only when the ledger is opened
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite" and engine.url.database:
        lock_path = Path(engine.url.database + ".migrate.lock")
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
                connection.commit()
    else:
        yield


def migrate(engine: Engine) -> None:
    """Upgrade the ledger schema to the newest revision, if it is not there yet."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    with engine.connect() as connection:
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
    with _migration_lock(engine), engine.begin() as connection:
        if MigrationContext.configure(connection).get_current_revision() == head:
            return
        log.info("Migrating the invoice hub ledger at %s to revision %s", engine.url.render_as_string(), head)
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
