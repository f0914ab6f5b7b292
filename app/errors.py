"""Errors: the caller's mistakes are shown as they are; anything unexpected is masked.

An unexpected fault reaches the caller as "Unexpected error." with an error id; the log
gets the id, the exception type and the field path, never the message (which may hold
SQL or patient values) nor the query's variables. An unavailable database is not a bug:
it is noted on the request's log, and the whole response becomes the contract's 503.
"""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError

from app.context import RequestLog
from app.faults import is_unavailable, log_unavailable, new_error_id, unavailable_error

logger = logging.getLogger("app.errors")
MASKED_MESSAGE = "Unexpected error."


def is_expected(error: GraphQLError) -> bool:
    """Validation, parsing and our own clear errors carry no foreign original error."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


def mask_unexpected(errors: list[GraphQLError], log: RequestLog | None = None) -> None:
    """Replace unexpected errors in place with masked ones, and log them; their ids are
    added to the request's log line. An unavailable database marks `log.unavailable`."""
    for index, error in enumerate(errors):
        if is_expected(error):
            continue
        error_id = new_error_id()
        if log is not None:
            log.error_ids.append(error_id)
        if is_unavailable(error.original_error):
            log_unavailable(error.original_error, log.phase if log else "execute", error_id)
            if log is not None and log.unavailable is None:
                log.unavailable = error_id
            errors[index] = GraphQLError(
                unavailable_error(error_id)["message"],
                nodes=error.nodes,
                path=error.path,
                extensions=unavailable_error(error_id)["extensions"],
            )
            continue
        path = ".".join(str(p) for p in error.path or [])
        logger.error(
            "unexpected error id=%s type=%s path=%s",
            error_id,
            type(error.original_error).__name__,
            path,
        )
        errors[index] = GraphQLError(
            MASKED_MESSAGE,
            nodes=error.nodes,
            path=error.path,
            extensions=masked_error(error_id)["extensions"],
        )


def masked_error(error_id: str) -> dict[str, Any]:
    """The GraphQL error object of a bug: no detail, only an id to find the log line."""
    return {
        "message": MASKED_MESSAGE,
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
    }
