"""Errors: the caller's mistakes are shown as they are; anything unexpected is masked.

An unexpected fault reaches the caller as "Unexpected error." with an error id; the log
gets the id, the exception type and the field path, never the message (which may hold
SQL or patient values) nor the query's variables.
"""

import logging
import uuid

from graphql import GraphQLError

logger = logging.getLogger("app.errors")
MASKED_MESSAGE = "Unexpected error."


def is_expected(error: GraphQLError) -> bool:
    """Validation, parsing and our own clear errors carry no foreign original error."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError)


def mask_unexpected(errors: list[GraphQLError], error_ids: list[str] | None = None) -> None:
    """Replace unexpected errors in place with masked ones, and log them; their ids are
    added to `error_ids` (for the request's log line)."""
    for index, error in enumerate(errors):
        if is_expected(error):
            continue
        error_id = uuid.uuid4().hex[:12]
        if error_ids is not None:
            error_ids.append(error_id)
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
            extensions={"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
        )
