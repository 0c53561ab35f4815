"""Moving a circle network from its SQLite file to PostgreSQL, row for row.

The target is migrated to the newest schema first, and must hold no circle yet. Every table is
copied in the order its foreign keys need, in batches, inside one transaction on the target:
either everything arrives or nothing does. PostgreSQL's id sequences are then moved past the
copied ids, so new circles, séances and prompts do not collide with old ones. The row counts
of both sides are compared before the transaction commits.

Stop Cercle before copying: rows written to the SQLite file during the copy would be missed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import NullPool, Table, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.database import upgrade

BATCH = 1000


class TransferError(RuntimeError):
    """The copy cannot be made; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Copied:
    """How many rows each table received."""

    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


async def copy_sqlite_to_postgres(source_url: str, target_url: str) -> Copied:
    """Copy every row of the SQLite database at `source_url` into the PostgreSQL one."""
    if make_url(source_url).get_backend_name() != "sqlite":
        raise TransferError(f"the source is not an SQLite database: {make_url(source_url)!r}")
    if make_url(target_url).get_backend_name() != "postgresql":
        raise TransferError("the target is not a PostgreSQL database (cercle.database_url_env)")
    await asyncio.to_thread(upgrade, source_url)  # an older file gets the same schema first
    await asyncio.to_thread(upgrade, target_url)
    source = create_async_engine(source_url, poolclass=NullPool)
    target = create_async_engine(target_url, poolclass=NullPool)
    try:
        async with source.connect() as reader, target.begin() as writer:
            circles = (await writer.execute(select(func.count()).select_from(_circle()))).scalar()
            if circles:
                raise TransferError(f"the target already holds {circles} circle(s); not copying")
            copied: dict[str, int] = {}
            for table in _tables():
                count = 0
                result = await reader.stream(select(table))
                async for batch in result.mappings().partitions(BATCH):
                    await writer.execute(insert(table), [dict(row) for row in batch])
                    count += len(batch)
                copied[table.name] = count
            for table in _tables():
                stored = (await writer.execute(select(func.count()).select_from(table))).scalar()
                if stored != copied[table.name]:
                    raise TransferError(
                        f"{table.name}: {copied[table.name]} rows read, {stored} written"
                    )
                if "id" in table.c and table.c.id.autoincrement is not False:
                    await _move_sequence(writer, table)
        return Copied(copied)
    finally:
        await source.dispose()
        await target.dispose()


def _circle() -> Table:
    return SQLModel.metadata.tables["circle"]


async def _move_sequence(writer: AsyncConnection, table: Table) -> None:
    sequence = (
        await writer.execute(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        )
    ).scalar()
    if sequence is None:
        return
    await writer.execute(
        text(
            f"SELECT setval('{sequence}', COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, "
            "false)"
        )
    )
