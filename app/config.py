"""Settings read from the environment (and an optional `.env` file)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./attendee-gateway.db"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"setting {name} must be a whole number, got {raw!r}") from None


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise SystemExit(f"setting {name} must be a positive number of seconds, got {raw!r}")
    return value


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (os.environ.get(name) or default).strip().lower()
    if raw not in choices:
        raise SystemExit(f"setting {name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the contract's defaults."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    default_page_size: int = 50
    max_page_size: int = 100
    introspection: bool = True
    # "planned": queries the planner covers are answered by app.plan (one statement per
    # level, no resolver per field); anything else, and "standard", by graphql-core.
    execution: str = "planned"
    db_pool_size: int = 10
    # Deadlines (§10): connecting, waiting for a pooled connection, each statement, the
    # whole request. A request that runs past one gets 503 SERVICE_UNAVAILABLE.
    db_connect_timeout_seconds: float = 5.0
    db_pool_timeout_seconds: float = 5.0
    db_statement_timeout_seconds: float = 5.0
    request_timeout_seconds: float = 10.0
    # What one server process lets HTTP clients hold (uvicorn's own limits).
    max_connections: int = 1000
    keep_alive_seconds: int = 5
    # On SIGTERM, requests in flight get this long to finish before the process exits.
    shutdown_grace_seconds: float = 15.0
    log_format: str = "plain"  # or "json": one JSON object per line
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 50_000
    max_body_bytes: int = 1_000_000
    rate_limit: int = 200
    rate_limit_window_seconds: int = 60
    redis_url: str | None = None
    persisted_documents_path: str | None = None
    trusted_documents_only: bool = False
    # GET /metrics in Prometheus text format (§8); off unless METRICS=true.
    metrics: bool = False
    # Subscriptions (§7): limits and the event log's retention.
    max_subscriptions_per_socket: int = 20
    max_sockets_per_key: int = 50
    connection_init_timeout_seconds: float = 10.0
    subscription_buffer: int = 100  # events queued per subscriber before it is closed
    event_retention_hours: int = 48

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(env_file: Path | None = None) -> Settings:
    """Read the settings; values already in the environment win over `.env`."""
    load_dotenv(env_file or Path.cwd() / ".env", override=False)
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        host=os.environ.get("HOST") or "127.0.0.1",
        port=_int("PORT", 8000),
        default_page_size=_int("DEFAULT_PAGE_SIZE", 50),
        max_page_size=_int("MAX_PAGE_SIZE", 100),
        introspection=_bool("INTROSPECTION", True),
        execution=_choice("EXECUTION", ("planned", "standard"), "planned"),
        db_pool_size=_int("DB_POOL_SIZE", 10),
        db_connect_timeout_seconds=_seconds("DB_CONNECT_TIMEOUT_SECONDS", 5.0),
        db_pool_timeout_seconds=_seconds("DB_POOL_TIMEOUT_SECONDS", 5.0),
        db_statement_timeout_seconds=_seconds("DB_STATEMENT_TIMEOUT_SECONDS", 5.0),
        request_timeout_seconds=_seconds("REQUEST_TIMEOUT_SECONDS", 10.0),
        max_connections=_int("MAX_CONNECTIONS", 1000),
        keep_alive_seconds=_int("KEEP_ALIVE_SECONDS", 5),
        shutdown_grace_seconds=_seconds("SHUTDOWN_GRACE_SECONDS", 15.0),
        log_format=_choice("LOG_FORMAT", ("plain", "json"), "plain"),
        max_depth=_int("MAX_DEPTH", 15),
        max_aliases=_int("MAX_ALIASES", 30),
        max_tokens=_int("MAX_TOKENS", 5000),
        max_cost=_int("MAX_COST", 50_000),
        max_body_bytes=_int("MAX_BODY_BYTES", 1_000_000),
        rate_limit=_int("RATE_LIMIT", 200),
        rate_limit_window_seconds=_int("RATE_LIMIT_WINDOW_SECONDS", 60),
        redis_url=os.environ.get("REDIS_URL") or None,
        persisted_documents_path=os.environ.get("PERSISTED_DOCUMENTS_PATH") or None,
        trusted_documents_only=_bool("TRUSTED_DOCUMENTS_ONLY", False),
        metrics=_bool("METRICS", False),
        max_subscriptions_per_socket=_int("MAX_SUBSCRIPTIONS_PER_SOCKET", 20),
        max_sockets_per_key=_int("MAX_SOCKETS_PER_KEY", 50),
        connection_init_timeout_seconds=_seconds("CONNECTION_INIT_TIMEOUT_SECONDS", 10.0),
        subscription_buffer=_int("SUBSCRIPTION_BUFFER", 100),
        event_retention_hours=_retention_hours(),
    )


def _retention_hours() -> int:
    hours = _int("EVENT_RETENTION_HOURS", 48)
    if hours < 24:
        raise SystemExit(f"setting EVENT_RETENTION_HOURS must be at least 24, got {hours}")
    return hours
