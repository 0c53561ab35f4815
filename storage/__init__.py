"""Cercle's storage: SQLModel tables, the SQL unit of work, and Alembic migrations."""
