"""The one runner every mutation goes through: transaction, user errors, fresh payload."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from app.context import Context
from app.graphql.common import describe_values
from app.graphql.nodes import load_node
from app.ids import with_article
from app.services.audit import record
from app.services.base import Code, Failure, transaction
from app.timeutil import utcnow

INPUT = strawberry.argument(description="The mutation's input.")
UserErrorCode = strawberry.enum(
    Code, name="UserErrorCode", description="Why a mutation was refused."
)


describe_values(
    UserErrorCode,
    {
        "NOT_FOUND": "No such object in your account.",
        "REQUIRED": "A required value is missing or blank.",
        "INVALID": "A value is malformed, out of range, of the wrong type, or breaks a rule.",
        "TOO_LONG": "A text value is longer than allowed.",
        "BOOKING_FULL": "No free seat (an individual appointment has one).",
        "ALREADY_ATTENDING": "The patient already attends this booking.",
        "ALREADY_CANCELLED": "Already cancelled, or the booking is cancelled.",
        "ARCHIVED": "The booking, patient or case is archived.",
        "NOT_GROUP_APPOINTMENT": "Only attendees of group appointments can be cancelled this way.",
        "STALE": "The object changed since the expectedUpdatedAt you sent; reload it and retry.",
    },
)


@strawberry.type(description="An expected failure of a mutation; nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path into the input, e.g. ["input", "bookingId"].'
    )
    message: str = strawberry.field(description="What went wrong, for people.")
    code: UserErrorCode = strawberry.field(description="What went wrong, for programs.")  # type: ignore[valid-type]


CLIENT_MUTATION_ID = "An opaque value echoed back in the payload."


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


Work = Callable[[AsyncConnection, int, datetime], Awaitable[int]]


async def run_mutation(
    info: strawberry.Info[Context, None], payload: Any, client_mutation_id: str | None, work: Work
) -> Any:
    """Run `work(conn, account_id, now)` in one transaction and answer with `payload` (a
    `payload_type`): the changed node read fresh after commit, or the user errors."""
    ctx = info.context
    table = payload.gateway_table
    ctx.log.phase = "mutation"
    try:
        async with _unit_of_work(ctx) as conn:
            now = utcnow()
            entity_id = await work(conn, ctx.account_id, now)
            await record(
                conn,
                account_id=ctx.account_id,
                api_key_id=ctx.key_id,
                operation=info.field_name,
                entity_type=table,
                entity_id=entity_id,
                now=now,
            )
            ctx.log.phase = "commit"  # the block's end commits
    except Failure as failure:
        error = UserError(
            field=["input", *failure.field.split(".")] if failure.field else None,
            message=failure.message,
            code=failure.code,
        )
        return payload(**{table: None}, user_errors=[error], client_mutation_id=client_mutation_id)
    ctx.log.phase = "payload"
    ctx.reset_loaders()
    node = await load_node(ctx, table, entity_id)
    return payload(**{table: node}, user_errors=[], client_mutation_id=client_mutation_id)


@asynccontextmanager
async def _unit_of_work(ctx: Context) -> AsyncIterator[AsyncConnection]:
    """A mutation's own transaction; in an Idempotency-Key request, a savepoint in the
    request's one transaction instead (app/idempotency.py), whose reads then run on it."""
    if ctx.idempotency is None:
        assert ctx.write is not None
        async with transaction(ctx.write) as conn:
            yield conn
        return
    conn = await ctx.idempotency.connection()
    ctx.db.share(conn)
    async with conn.begin_nested():
        yield conn
    ctx.idempotency.changed = True


def payload_type(name: str, table: str, node_type: Any, noun: str) -> Any:
    """A `<Name>Payload` type: the changed object (its field is named after its `table`),
    userErrors and clientMutationId."""
    field_name = table
    namespace = {
        "__annotations__": {
            field_name: node_type | None,
            "user_errors": list[UserError],
            "client_mutation_id": str | None,
        },
        field_name: strawberry.field(
            description=f"The {noun} as it is now; null when the mutation was refused."
        ),
        "user_errors": strawberry.field(
            description="Why the mutation was refused; empty on success."
        ),
        "client_mutation_id": strawberry.field(description=CLIENT_MUTATION_ID),
    }
    payload = strawberry.type(
        type(name, (), namespace), description=f"The result of {with_article(noun)} mutation."
    )
    payload.gateway_table = table  # type: ignore[attr-defined]  # run_mutation reads it
    return payload
