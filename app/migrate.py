"""Alembic, configured in code: no alembic.ini, migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for `database_url` (usable with any `alembic.command`)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(database_url: str) -> None:
    """Bring the database's schema up to the newest migration."""
    command.upgrade(alembic_config(database_url), "head")


def upgrade_on(connection: Connection) -> None:
    """Upgrade through an open connection, e.g. `await conn.run_sync(upgrade_on)` in tests."""
    config = alembic_config(connection.engine.url.render_as_string(hide_password=False))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
