"""Fixtures shared by the storage tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.database import sqlite_url
from tests.conftest import PostgresServer


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "fresh.sqlite3")
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(template=None)
