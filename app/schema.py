"""Assembles the domain types into one strawberry.Schema."""

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.tools import merge_types

from app.errors import mask_unexpected
from app.graphql.bookings import GroupAppointment, IndividualAppointment
from app.graphql.common import SCALAR_OVERRIDES
from app.graphql.mutations.attendees import AttendeeMutations
from app.graphql.mutations.bookings import BookingMutations
from app.graphql.query import Query

DOCUMENT_CACHE_SIZE = 512
Mutation = merge_types("Mutation", (AttendeeMutations, BookingMutations,))


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema with our error handling instead of traceback logging."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        mask_unexpected(errors)


schema = GatewaySchema(
    query=Query,
    mutation=Mutation,
    types=[GroupAppointment, IndividualAppointment],
    scalar_overrides=SCALAR_OVERRIDES,
    extensions=[
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
    ],
)
