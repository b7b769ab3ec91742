"""The ledger's tables: every source file the hub has seen and every delivery it made.

Statuses are plain strings (not database enums) so that later versions can add some without a
type migration on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: 64-bit ids; SQLite only auto-increments a column declared INTEGER PRIMARY KEY.
ID_TYPE = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class SourceFile(Base):
    """One version (path, size, modification time) of a file at an integration's source."""

    __tablename__ = "source_files"
    __table_args__ = (
        UniqueConstraint("integration", "source_path", "size", "mtime", name="uq_source_file_version"),
        Index("ix_source_files_integration_sha256", "integration", "sha256"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    source_path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(String(250))
    first_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Delivery(Base):
    """One output delivered (or being delivered) to one destination."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("integration", "destination", "output_sha256", name="uq_delivery_once"),
    )

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True)
    integration: Mapped[str] = mapped_column(String(200))
    source_file_id: Mapped[int | None] = mapped_column(ForeignKey("source_files.id", ondelete="SET NULL"))
    destination: Mapped[str] = mapped_column(Text)
    output_name: Mapped[str] = mapped_column(Text)
    output_sha256: Mapped[str] = mapped_column(String(64))
    remote_path: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    run_id: Mapped[str] = mapped_column(String(250))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
