"""Assembles the domain types into one strawberry.Schema, with the configured limits."""

import re
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from app.config import Settings
from app.context import Context
from app.errors import mask_unexpected
from app.events.transport import SubscriptionGuard
from app.graphql.bookings import GroupAppointment, IndividualAppointment
from app.graphql.common import SCALAR_OVERRIDES
from app.graphql.mutations.attendees import AttendeeMutations
from app.graphql.mutations.bookings import BookingMutations
from app.graphql.mutations.catalog import CatalogMutations
from app.graphql.mutations.patients import PatientMutations
from app.graphql.query import Query
from app.graphql.subscriptions import Subscription
from app.limits import connection_fields, limit_extensions
from app.plan.extension import planned_extensions
from app.scopes import ScopeCheck
from app.tracing import ResolverSpans
from app.tracing import configured as tracing_configured

DOCUMENT_CACHE_SIZE = 512
SUGGESTION = re.compile(r" Did you mean [^?]*\?")


@strawberry.type(description="Change attendees, bookings, patients and the catalog.")
class Mutation(AttendeeMutations, BookingMutations, PatientMutations, CatalogMutations):
    pass


class GatewaySchema(strawberry.Schema):
    """Strawberry's schema with our error handling instead of traceback logging."""

    suggestions = True  # "Did you mean ...?" in validation errors (off with introspection)

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        ctx = getattr(execution_context, "context", None)
        mask_unexpected(errors, ctx.log if isinstance(ctx, Context) else None)
        if not self.suggestions:
            for index, error in enumerate(errors):
                if SUGGESTION.search(error.message):
                    errors[index] = GraphQLError(
                        SUGGESTION.sub("", error.message), error.nodes, extensions=error.extensions
                    )


class OperationName(SchemaExtension):
    """Notes the operation's name for the request log."""

    def on_operation(self) -> Iterator[None]:
        yield
        ctx = self.execution_context.context
        if isinstance(ctx, Context):
            ctx.log.operation = self.execution_context.operation_name


def build_schema(settings: Settings) -> GatewaySchema:
    """The schema, enforcing `settings`' limits (the SDL does not depend on them)."""
    types: dict[str, Any] = {
        "query": Query,
        "mutation": Mutation,
        "subscription": Subscription,
        "types": [GroupAppointment, IndividualAppointment],
        "scalar_overrides": SCALAR_OVERRIDES,
    }
    connections = connection_fields(strawberry.Schema(**types)._schema)
    gateway = GatewaySchema(
        **types,
        extensions=[
            *([] if settings.introspection else [DisableIntrospection]),
            OperationName,
            ScopeCheck,  # first: a key refused its scope learns nothing else
            *([ResolverSpans] if tracing_configured() else []),  # OTEL_EXPORTER_OTLP_ENDPOINT
            *limit_extensions(settings, connections),
            *planned_extensions(settings.execution),  # after the limits: they refuse first
            lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
            lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
            SubscriptionGuard,  # last: sees what the others refused
        ],
    )
    gateway.suggestions = settings.introspection
    return gateway


schema = build_schema(Settings())
