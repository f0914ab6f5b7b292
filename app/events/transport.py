"""GraphQL over WebSocket at /graphql: Strawberry's graphql-transport-ws handler, with the
API key checked in `connection_init`, the per-key socket limit, our close codes, and a
fresh context (database handle, loaders) for every operation.

Close codes: 4403 missing, bad or revoked key; 4408 no `connection_init` in time; 4429 too
many sockets for the key (or a second `connection_init`); 1013 a subscriber that fell
behind (resume with `after`); 4400 a malformed message. The per-socket subscription limit
answers the `subscribe` with an `error` message instead (Strawberry's own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from graphql import GraphQLError
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import SchemaExtension
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing

from app.auth import authenticate, key_from_authorization
from app.config import Settings
from app.context import Context, RequestDB, RequestLog
from app.db import Database
from app.documents import DocumentError, TrustedDocuments
from app.events.hub import Hub
from app.events.sockets import LiveSocket, Refused
from app.keycache import KeyCache
from app.ratelimit import RateLimiter

logger = logging.getLogger("app.events")
CLOSE_GOING_AWAY = 1001


@dataclass
class LiveContext(Context):
    """An operation's context on a WebSocket: the socket, and the hub its events come from."""

    socket: LiveSocket | None = None
    hub: Hub | None = None
    connection_params: Any = None

    def fresh_db(self) -> RequestDB:
        """A new database handle for the next event's reads, under the same account."""
        assert self.hub is not None
        self.db = RequestDB(self.hub.database.read, self.account_id)
        self.reset_loaders()
        return self.db


class SubscriptionGuard(SchemaExtension):
    """Registered last. Over HTTP a subscription is refused with a clear error (Strawberry
    would run it as a query and fail). Over WebSocket, a refusal another extension left in
    `result` (ScopeCheck, the cost and list limits) is raised, because Strawberry's
    subscribe ignores `result` and would run the subscription anyway."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.operation_type == OperationType.SUBSCRIPTION:
            if not isinstance(execution.context, LiveContext):
                error = GraphQLError(
                    "Subscriptions are served over WebSocket (graphql-transport-ws) at /graphql.",
                    extensions={"code": "BAD_REQUEST"},
                )
                execution.result = GraphQLExecutionResult(data=None, errors=[error])
            elif execution.result is not None and execution.result.errors:
                raise execution.result.errors[0]
        yield


class LiveHandler(BaseGraphQLTransportWSHandler[LiveContext, None]):
    """Strawberry's protocol handler with our refusals, contexts and quiet failures."""

    view: SubscriptionView

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except Refused as refused:
            await self.websocket.close(refused.code, refused.reason)
        except Exception as exc:  # the database is away: the client may retry
            logger.info("connection_init failed (%s)", type(exc).__name__)
            await self.websocket.close(1013, "Service unavailable; retry later.")

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """The per-key rate limit and trusted documents apply here as over HTTP (every
        operation counts: subscriptions, and queries or mutations sent on the socket)."""
        if self.connection_acknowledged and message.get("id") not in self.operations:
            limiter, key_id = self.view.limiter, self.context.key_id
            if limiter is not None and key_id is not None:
                verdict = await limiter.check(key_id)
                if not verdict.allowed:
                    text = f"{limiter.refusal[:-1]}; retry in {verdict.retry_after} s."
                    await self._refuse(message["id"], text, "RATE_LIMITED")
                    return
            documents = self.view.documents
            if documents is not None and documents.active:
                try:
                    message["payload"] = documents.resolve(dict(message["payload"]))  # type: ignore[typeddict-item]
                except DocumentError as exc:
                    await self._refuse(message["id"], str(exc), "BAD_REQUEST")
                    return
        await super().handle_subscribe(message)

    async def _refuse(self, operation_id: str, text: str, code: str) -> None:
        error: Any = {"message": text, "extensions": {"code": code}}
        refusal: ErrorMessage = {"id": operation_id, "type": "error", "payload": [error]}
        await self.send_message(refusal)

    async def run_operation(self, operation: Operation[LiveContext, None]) -> None:
        """Strawberry's, with a context of the operation's own (closed when it ends)."""
        ctx = self.view.operation_context(self.context)
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=ctx,
                operation_name=operation.operation_name,
            )
            async with aclosing(result_source):
                await self._send_result_stream(operation, result_source)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except Exception as error:
            if self.context.socket is not None and self.context.socket.is_open:
                logger.info("subscription operation failed (%s)", type(error).__name__)
                with contextlib.suppress(Exception):
                    await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)
        finally:
            await ctx.db.close()

    async def send_message(self, message: Message) -> None:
        socket = self.context.socket
        if socket is not None and not socket.is_open:
            return  # closed by the hub (revoked, too slow): nothing more goes out
        with contextlib.suppress(RuntimeError):  # closed while this was being sent
            await super().send_message(message)

    async def handle_task_exception(self, error: Exception) -> None:
        logger.info("websocket task failed (%s)", type(error).__name__)

    async def shutdown(self) -> None:
        await super().shutdown()
        if self.context.socket is not None and self.context.hub is not None:
            await self.context.hub.sockets.close(self.context.socket)


class SubscriptionView(GraphQL[LiveContext, None]):
    """The WebSocket side of /graphql (HTTP stays with app.main's endpoint)."""

    graphql_transport_ws_handler_class = LiveHandler

    def __init__(
        self,
        schema: BaseSchema,
        database: Database,
        settings: Settings,
        hub: Hub,
        keys: KeyCache,
        documents: TrustedDocuments | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(
                seconds=settings.connection_init_timeout_seconds
            ),
            max_subscriptions_per_connection=settings.max_subscriptions_per_socket,
        )
        self.database = database
        self.settings = settings
        self.hub = hub
        self.keys = keys
        self.documents = documents
        self.limiter = limiter

    async def get_context(self, request: Any, response: Any) -> LiveContext:
        return LiveContext(
            db=RequestDB(self.database.read, account_id=0),
            settings=self.settings,
            write=self.database.write,
            request=request,
            socket=LiveSocket(response),
            hub=self.hub,
        )

    async def on_ws_connect(self, context: LiveContext) -> None:
        """The key from connection_init's payload, else the upgrade request's header."""
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        header = next(
            (v for k, v in params.items() if k.lower() == "authorization" and isinstance(v, str)),
            None,
        ) or context.request.headers.get("authorization")
        key = key_from_authorization(header)
        try:
            found = await authenticate(context.db, key, self.keys) if key else None
        finally:
            await context.db.close()
        if found is None:
            raise ConnectionRejectionError()
        context.db = RequestDB(self.database.read, account_id=found.account_id)
        context.key_id, context.scopes = found.key_id, found.scopes  # scopes: app/scopes.py
        assert context.socket is not None
        context.socket.account_id, context.socket.key_id = found.account_id, found.key_id
        await self.hub.sockets.open(context.socket)

    def operation_context(self, socket_context: LiveContext) -> LiveContext:
        return LiveContext(
            db=RequestDB(self.database.read, socket_context.account_id),
            settings=self.settings,
            write=self.database.write,
            key_id=socket_context.key_id,
            scopes=socket_context.scopes,
            log=RequestLog(),
            request=socket_context.request,
            socket=socket_context.socket,
            hub=self.hub,
        )


class Live:
    """What app.main wires in: the hub (started and stopped with the lifespan) and the
    WebSocket view serving /graphql."""

    def __init__(
        self,
        schema: BaseSchema,
        database: Database,
        settings: Settings,
        keys: KeyCache,
        documents: TrustedDocuments | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.keys = keys
        self._sigterm: Any = None
        self._on_sigterm: Any = None
        self.hub = Hub(database, settings)
        self.view = SubscriptionView(schema, database, settings, self.hub, keys, documents, limiter)

    async def start(self) -> None:
        """Before the key cache starts: the hub shares its listening connection."""
        await self.hub.start(self.keys)
        self._chain_sigterm()

    async def close(self) -> None:
        if self._sigterm is not None and signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, self._sigterm)
        await self.hub.close()

    def _chain_sigterm(self) -> None:
        """Contract §8: on SIGTERM sockets close with 1001 (going away). uvicorn would close
        them with 1012 once its own handler ran, so ours runs first and then calls it. Only
        under a server that handles SIGTERM itself (uvicorn installs its handler before
        the lifespan starts)."""
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return
        loop = asyncio.get_running_loop()

        def on_sigterm(signum: int, frame: Any) -> None:
            loop.call_soon_threadsafe(
                self.hub.sockets.close_all, CLOSE_GOING_AWAY, "Server shutting down"
            )
            previous(signum, frame)

        self._sigterm, self._on_sigterm = previous, on_sigterm
        signal.signal(signal.SIGTERM, on_sigterm)
