"""The ledger's side of reconciliation: snapshots, the receivables' current state, and their history.

One integration's snapshots are applied by one DAG run at a time (``max_active_runs=1``), each in one
transaction: the state never shows half a snapshot.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, Float, Text, and_, bindparam, cast, insert, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from invoice_hub.amounts import FLOAT_EXACT_BELOW, UNITS_PER_AMOUNT, amounts_to_units, units_to_amount
from invoice_hub.ledger.database import get_engine
from invoice_hub.ledger.status import SnapshotStatus
from invoice_hub.ledger.tables import ArInvoice, ArSnapshot, ArStatusChange, utcnow

#: Rows per executemany / IN (...): bounded memory for a million-row snapshot, within SQL limits.
_CHUNK = 20_000
_IN_CHUNK = 500


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """While a million rows (acyclic tuples) are built: the cyclic collector would otherwise rescan
    all the ones built before, again and again (twice the time of the fetch itself)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Receivables:
    """Snapshots and receivables of every reconciliation integration."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or get_engine()

    # -- reading --------------------------------------------------------------------------------

    def snapshot(self, integration: str, sha256: str, produced_at: dt.datetime) -> ArSnapshot | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalars(
                select(ArSnapshot).where(
                    ArSnapshot.integration == integration,
                    ArSnapshot.sha256 == sha256,
                    ArSnapshot.produced_at == produced_at,
                )
            ).first()

    def latest_applied(self, integration: str) -> ArSnapshot | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.scalars(
                select(ArSnapshot)
                .where(ArSnapshot.integration == integration, ArSnapshot.status == SnapshotStatus.APPLIED)
                .order_by(ArSnapshot.produced_at.desc(), ArSnapshot.id.desc())
                .limit(1)
            ).first()

    def snapshots(self, integration: str) -> list[ArSnapshot]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.scalars(
                    select(ArSnapshot)
                    .where(ArSnapshot.integration == integration)
                    .order_by(ArSnapshot.produced_at, ArSnapshot.id)
                )
            )

    def open_state(self, integration: str) -> pd.DataFrame:
        """The open receivables as ``ref``, ``units`` (1/10,000 of the amount), ``currency``.

        Amounts come as floats (the database converts them: fast), exact below
        ``FLOAT_EXACT_BELOW``; when any is that wide, they are read again as the database's exact
        text of them, so that a cent on 20 digits is still a cent (``amounts_to_units``)."""
        refs, amounts, currencies = self._open_rows(integration, cast(ArInvoice.open_amount, Float))
        floats = np.asarray(amounts, dtype=float)
        if (np.abs(floats[~np.isnan(floats)]) >= FLOAT_EXACT_BELOW).any():
            refs, amounts, currencies = self._open_rows(integration, cast(ArInvoice.open_amount, Text))
            units = amounts_to_units(np.asarray(amounts, dtype=object))
        else:
            units = np.rint(floats * UNITS_PER_AMOUNT)
        return pd.DataFrame(
            {
                "ref": np.asarray(refs, dtype=object),
                "units": units,
                "currency": np.asarray(currencies, dtype=object),
            }
        )

    def _open_rows(self, integration: str, amount: Any) -> tuple[tuple[Any, ...], ...]:
        """(refs, amounts as ``amount`` selects them, currencies) of the open receivables."""
        query = select(ArInvoice.invoice_ref, amount, ArInvoice.currency).where(
            ArInvoice.integration == integration, ArInvoice.status == "open"
        )
        with self.engine.connect() as connection, _without_cyclic_gc():
            rows = connection.execute(query).all()
            return tuple(zip(*rows, strict=True)) if rows else ((), (), ())

    def paid_among(self, integration: str, refs: Iterable[str]) -> set[str]:
        wanted = list(refs)
        found: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _IN_CHUNK):
                found.update(
                    connection.execute(
                        select(ArInvoice.invoice_ref).where(
                            ArInvoice.integration == integration,
                            ArInvoice.status == "paid",
                            ArInvoice.invoice_ref.in_(wanted[start : start + _IN_CHUNK]),
                        )
                    ).scalars()
                )
        return found

    def invoices(self, integration: str, status: str | None = None) -> list[ArInvoice]:
        """The receivables (all, or ``open`` / ``paid`` ones), by reference."""
        query = select(ArInvoice).where(ArInvoice.integration == integration)
        if status is not None:
            query = query.where(ArInvoice.status == status)
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.scalars(query.order_by(ArInvoice.invoice_ref)))

    def history(self, integration: str, invoice_ref: str) -> list[ArStatusChange]:
        """Every change of one receivable, oldest first: its amounts and paid history."""
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.scalars(
                    select(ArStatusChange)
                    .where(
                        ArStatusChange.integration == integration, ArStatusChange.invoice_ref == invoice_ref
                    )
                    .order_by(ArStatusChange.changed_at, ArStatusChange.id)
                )
            )

    # -- writing --------------------------------------------------------------------------------

    def hold(self, integration: str, record: dict[str, Any]) -> None:
        """Record a snapshot that was not applied, and why (again on every run until approved)."""
        with self.engine.begin() as connection:
            self._upsert_snapshot(connection, integration, {**record, "status": SnapshotStatus.HELD})

    def apply(
        self,
        integration: str,
        record: dict[str, Any],
        changes: pd.DataFrame,
        rows: pd.DataFrame,
        extra_columns: list[str],
    ) -> int:
        """Apply a snapshot's changes in one transaction; returns the snapshot's id.

        ``changes``: ``ref``, ``change``, ``previous_units``, ``position`` (see ``compare``);
        ``rows``: the snapshot's frame, where ``position`` points. Changes with a row take their values
        from it, in executemany chunks; invoices paid are changed by lists of references, their
        history rows copied from the ledger in the database (``INSERT ... SELECT``).
        """
        at = record["produced_at"]
        has_row = changes["position"].to_numpy() >= 0
        listed = changes[has_row]
        paid = changes["ref"].to_numpy(dtype=object)[~has_row].tolist()
        with self.engine.begin() as connection:
            snapshot_id = self._upsert_snapshot(
                connection,
                integration,
                {**record, "status": SnapshotStatus.APPLIED, "applied_at": utcnow()},
            )
            done = {"integration": integration, "snapshot_id": snapshot_id, "changed_at": at}
            for start in range(0, len(listed), _CHUNK):
                _apply_rows(connection, done, listed.iloc[start : start + _CHUNK], rows, extra_columns)
            for start in range(0, len(paid), _IN_CHUNK):
                _mark_paid(connection, done, paid[start : start + _IN_CHUNK])
        return snapshot_id

    def _upsert_snapshot(self, connection: Connection, integration: str, record: dict[str, Any]) -> int:
        identity = (
            ArSnapshot.integration == integration,
            ArSnapshot.sha256 == record["sha256"],
            ArSnapshot.produced_at == record["produced_at"],
        )
        existing = connection.execute(select(ArSnapshot.id).where(*identity)).scalar()
        if existing is None:
            return connection.execute(
                insert(ArSnapshot).values(integration=integration, **record).returning(ArSnapshot.id)
            ).scalar_one()
        connection.execute(update(ArSnapshot).where(ArSnapshot.id == existing).values(**record))
        return existing


def _apply_rows(
    connection: Connection,
    done: dict[str, Any],
    chunk: pd.DataFrame,
    rows: pd.DataFrame,
    extra_columns: list[str],
) -> None:
    """Changes that have a snapshot row: invoices opened, reopened, and with another amount."""
    integration, snapshot_id, at = done["integration"], done["snapshot_id"], done["changed_at"]
    current = rows.iloc[chunk["position"].to_numpy()]
    kinds = chunk["change"].to_numpy(dtype=object)
    refs = current["ref"].to_numpy(dtype=object)
    amounts = current["open_amount"].to_numpy(dtype=object)
    currencies = current["currency"].to_numpy(dtype=object)
    this = and_(ArInvoice.integration == integration, ArInvoice.invoice_ref == bindparam("b_ref"))
    opened, reopened = kinds == "opened", kinds == "reopened"
    if opened.any():
        connection.execute(
            insert(ArInvoice),
            [
                {
                    **v,
                    "integration": integration,
                    "last_snapshot_id": snapshot_id,
                    "status": "open",
                    "opened_at": at,
                    "needs_review": False,
                }
                for v in _row_values(current[opened], extra_columns)
            ],
        )
    if reopened.any():
        values = _row_values(current[reopened], extra_columns)
        connection.execute(
            update(ArInvoice)
            .where(this)
            .values(
                status="open",
                paid_at=None,
                needs_review=True,
                last_snapshot_id=snapshot_id,
                **_bound(values[0]),
            ),
            [_binds(v) for v in values],
        )
    moved = (kinds == "partially_paid") | (kinds == "amount_changed")
    if moved.any():
        connection.execute(
            update(ArInvoice)
            .where(this)
            .values(
                open_amount=bindparam("b_open_amount"),
                currency=bindparam("b_currency"),
                last_snapshot_id=snapshot_id,
            ),
            [
                {"b_ref": ref, "b_open_amount": amount, "b_currency": currency}
                for ref, amount, currency in zip(refs[moved], amounts[moved], currencies[moved], strict=True)
            ],
        )
    connection.execute(
        insert(ArStatusChange),
        [
            {
                **done,
                "invoice_ref": ref,
                "change": kind,
                "previous_amount": units_to_amount(units),
                "open_amount": amount,
                "currency": currency,
            }
            for ref, kind, units, amount, currency in zip(
                chunk["ref"], kinds, chunk["previous_units"], amounts, currencies, strict=True
            )
        ],
    )


def _mark_paid(connection: Connection, done: dict[str, Any], refs: list[str]) -> None:
    """Invoices missing from the snapshot: paid, each with a history row of its last open amount."""
    chosen = and_(ArInvoice.integration == done["integration"], ArInvoice.invoice_ref.in_(refs))
    history = select(
        ArInvoice.integration,
        literal(done["snapshot_id"], ArStatusChange.snapshot_id.type),
        ArInvoice.invoice_ref,
        literal("paid", ArStatusChange.change.type),
        ArInvoice.open_amount,
        literal(done["changed_at"], ArStatusChange.changed_at.type),
    ).where(chosen)
    columns = ["integration", "snapshot_id", "invoice_ref", "change", "previous_amount", "changed_at"]
    connection.execute(insert(ArStatusChange).from_select(columns, history))
    connection.execute(
        update(ArInvoice)
        .where(chosen)
        .values(status="paid", paid_at=done["changed_at"], last_snapshot_id=done["snapshot_id"])
    )


def _row_values(rows: pd.DataFrame, extra_columns: list[str]) -> list[dict[str, Any]]:
    """The receivable columns of snapshot rows (extra fields as JSON), one dict per row."""
    extras = rows[extra_columns].to_dict("records") if extra_columns else [{}] * len(rows)
    return [
        {
            "invoice_ref": ref,
            "open_amount": amount,
            "currency": currency,
            "customer": customer,
            "customer_name": name,
            "issue_date": issued,
            "due_date": due,
            "extra": json.dumps({k: v for k, v in extra.items() if v is not None}, default=str)
            if extra
            else None,
        }
        for ref, amount, currency, customer, name, issued, due, extra in zip(
            rows["ref"],
            rows["open_amount"],
            rows["currency"],
            rows["customer"],
            rows["customer_name"],
            rows["issue_date"],
            rows["due_date"],
            extras,
            strict=True,
        )
    ]


def _bound(example: dict[str, Any]) -> dict[str, Any]:
    return {key: bindparam(f"b_{key}") for key in example if key != "invoice_ref"}


def _binds(values: dict[str, Any]) -> dict[str, Any]:
    return {"b_ref": values["invoice_ref"], **{f"b_{k}": v for k, v in values.items() if k != "invoice_ref"}}
