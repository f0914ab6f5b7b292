"""Database faults: telling an unavailable database from a bug, and the 503 the contract
gives for it (§10).

A fault is "the database is unavailable" when the database refused or dropped the
connection, did not answer within a deadline, or is shutting down or out of connections.
Everything else that goes wrong stays a masked internal error (a bug to fix).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import sqlalchemy.exc as sa_exc

logger = logging.getLogger("app.faults")

UNAVAILABLE_MESSAGE = "The database is unavailable; retry shortly."
UNAVAILABLE_CODE = "SERVICE_UNAVAILABLE"
RETRY_AFTER_SECONDS = 2
# PostgreSQL SQLSTATE classes of an unavailable server: 08 connection exception,
# 57 operator intervention (statement timeout, shutdown, not accepting connections),
# 53 insufficient resources (too many connections).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "57", "53")
# SQLite: another writer held the lock past the busy timeout, or the file is unreachable.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk I/O error")


class RequestDeadline(Exception):
    """The whole request ran past its deadline (REQUEST_TIMEOUT_SECONDS)."""


def is_unavailable(exc: BaseException | None) -> bool:
    """Whether `exc` (or an exception it was raised from) means the database is down,
    unreachable or not answering in time."""
    seen = 0
    while exc is not None and seen < 10:
        seen += 1
        if isinstance(exc, TimeoutError | ConnectionError | RequestDeadline | sa_exc.TimeoutError):
            return True
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            return True  # refused, reset, unreachable: the socket layer's faults
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES):
            return True
        if type(exc).__name__ in ("InterfaceError", "ConnectionDoesNotExistError"):
            return True  # the driver's "connection is closed" family
        if isinstance(exc, sa_exc.OperationalError) and any(
            text in str(exc.orig) for text in _SQLITE_UNAVAILABLE
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def new_error_id() -> str:
    return uuid.uuid4().hex[:12]


def log_unavailable(exc: BaseException | None, phase: str, error_id: str) -> None:
    """One line: the fault's type, its id and the phase; never its message (SQL, values)."""
    logger.warning("database unavailable id=%s type=%s phase=%s", error_id, _type_chain(exc), phase)


def unavailable_error(error_id: str) -> dict[str, Any]:
    """The GraphQL error object of an unavailable database."""
    return {
        "message": UNAVAILABLE_MESSAGE,
        "extensions": {"code": UNAVAILABLE_CODE, "errorId": error_id},
    }


def unavailable_body(error_id: str) -> bytes:
    return orjson.dumps({"data": None, "errors": [unavailable_error(error_id)]})


def _type_chain(exc: BaseException | None) -> str:
    """`DBAPIError<-ConnectionDoesNotExistError`: the exception types, outermost first."""
    names: list[str] = []
    while exc is not None and len(names) < 4:
        names.append(type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return "<-".join(names) or "-"
