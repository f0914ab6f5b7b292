"""Optimistic concurrency: the `expectedUpdatedAt` field of every update, cancel and
(un)archive input. The check itself is in the service's conditional UPDATE (`update_row`)."""

from typing import Any

import strawberry


def expected_updated_at_field(noun: str) -> Any:
    """`expectedUpdatedAt: DateTime` (optional) for an input that changes one `noun`."""
    return strawberry.field(
        default=None,
        description=(
            f"The {noun}'s updatedAt as you last read it. When the {noun} has changed since "
            "(its updatedAt differs, to the microsecond), nothing changes and the payload has "
            "a STALE user error; omitted, the change applies whatever the current updatedAt."
        ),
    )
