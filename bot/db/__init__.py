"""The database layer: the pools (pool.py), the embedded server (embedded.py; below it
pgcluster.py, and major_upgrade.py for a folder made by an older PostgreSQL), the migrations
(migrations.py), and the SQL by subject: items, blobs, owners, visits, guilds, reminders,
instance, invalidation, sessions, accounts. Only the content service and the process's wiring
import it; a lost PostgreSQL reaches them as the domain's `Unavailable` (see pool.py)."""

from __future__ import annotations

from bot.db.embedded import EmbeddedPostgres
from bot.db.migrations import Migration, load_migrations, migrate
from bot.db.pool import Connection, Database, Pool, create_pool, open_database

__all__ = [
    "Connection",
    "Database",
    "EmbeddedPostgres",
    "Migration",
    "Pool",
    "create_pool",
    "load_migrations",
    "migrate",
    "open_database",
]
