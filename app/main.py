"""create_app(): the Starlette application serving /graphql (GraphiQL on GET from a browser)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import traceback
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import InvalidOperationTypeError

from app import tracing
from app.auth import authenticate, key_from_authorization
from app.config import Settings, load_settings
from app.context import Context, RequestDB, RequestLog
from app.db import Database, create_database
from app.demo import key_from_environment, page_with_key
from app.documents import DocumentError, TrustedDocuments
from app.errors import masked_error
from app.events.transport import Live
from app.faults import (
    RETRY_AFTER_SECONDS,
    RequestDeadline,
    is_unavailable,
    log_unavailable,
    new_error_id,
    unavailable_body,
)
from app.health import Readiness, healthz
from app.housekeeping import housekeeping
from app.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.idempotency import INVALID_MESSAGE as IDEMPOTENCY_INVALID
from app.idempotency import REPLAYED_HEADER, Idempotency, KeyReused, Stored
from app.idempotency import VALID as IDEMPOTENCY_KEY
from app.keycache import KeyCache
from app.metrics import Metrics
from app.ratelimit import RateLimiter
from app.schema import build_schema
from app.scopes import FORBIDDEN_STATUS

logger = logging.getLogger("app.requests")
STATIC = Path(__file__).parent / "static"
GRAPHIQL_PAGE = (STATIC / "graphiql.html").read_text(encoding="utf-8")
STATEMENTS_HEADER = b"x-sql-statements"
REQUEST_LINE = (
    "method=%s path=%s status=%s duration_ms=%.1f operation=%s execution=%s account=%s "
    "statements=%d error_ids=%s"
)
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json; charset=utf-8"
UNAUTHORIZED_MESSAGE = "Missing or invalid API key: send `Authorization: Bearer <key>`."
AUTHENTICATE = 'Bearer realm="attendee-gateway", Basic realm="attendee-gateway"'


class GraphQLView(GraphQL):
    """Strawberry's ASGI view with our context, orjson and the contract's status codes."""

    def __init__(self, database: Database, settings: Settings) -> None:
        super().__init__(build_schema(settings), graphql_ide="graphiql")
        self.database = database
        self.settings = settings
        # Set only by `serve --demo-key-file` on a loopback address (app/demo.py).
        self.demo_key = key_from_environment()

    async def render_graphql_ide(self, request: Any) -> HTMLResponse:
        client = request.client.host if request.client else None
        page = page_with_key(GRAPHIQL_PAGE, self.demo_key, client)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    async def get_context(self, request: Any, response: Any) -> Any:
        db: RequestDB | None = request.scope.get("gateway.db")
        if db is None:  # the GraphiQL page: nothing will be executed
            return None
        return Context(
            db=db,
            settings=self.settings,
            write=self.database.write,
            key_id=request.scope.get("gateway.key_id"),
            scopes=request.scope.get("gateway.scopes", frozenset()),
            idempotency=request.scope.get("gateway.idempotency"),
            log=request.scope["gateway.log"],
            request=request,
            response=response,
        )

    async def execute_single(self, *args: Any, **kwargs: Any) -> Any:
        """Mutations over GET are refused with 405 (Strawberry says 400)."""
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as exc:
            if isinstance(exc.__cause__, InvalidOperationTypeError):
                raise HTTPException(405, "Mutations are only accepted over POST.") from None
            raise

    async def parse_http_body(self, request: Any) -> Any:
        """A JSON body must be an object (or a batch): Strawberry assumes so and fails
        with 500 on `null`, a number or a string. The first byte tells, without parsing the
        body twice; malformed JSON is left to Strawberry's own 400."""
        is_json_post = request.method == "POST" and "application/json" in (
            request.content_type or ""
        )
        if is_json_post and (await request.get_body()).lstrip()[:1] not in (b"{", b"["):
            raise HTTPException(400, "The request body must be a JSON object.")
        return await super().parse_http_body(request)

    async def get_sub_response(self, request: Any) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.graphql_response_json = _prefers_graphql_response_json(request)  # type: ignore[attr-defined]
        sub_response.gateway_log = request.scope.get("gateway.log")  # type: ignore[attr-defined]
        return sub_response

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        """application/graphql-response+json when the client asks for it: a request that
        never reached execution (parse, validation, variables) is then a 400 without `data`.
        When the database was unavailable, the whole answer is the contract's 503."""
        log: RequestLog | None = getattr(sub_response, "gateway_log", None)
        if log is not None and log.unavailable is not None:
            return unavailable_response(
                log.unavailable,
                graphql_response_json=sub_response.graphql_response_json,  # type: ignore[attr-defined]
            )
        if not getattr(sub_response, "graphql_response_json", False) or isinstance(
            response_data, list
        ):
            return super().create_response(response_data, sub_response)
        if (
            response_data.get("data") is None
            and response_data.get("errors")
            and not any("path" in error for error in response_data["errors"])
        ):
            response_data = {k: v for k, v in response_data.items() if k != "data"}
            if sub_response.status_code != FORBIDDEN_STATUS:  # app/scopes.py: keep 403
                sub_response.status_code = 400
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # orjson.JSONDecodeError is a json.JSONDecodeError


def unavailable_response(
    error_id: str, request: Request | None = None, *, graphql_response_json: bool = False
) -> Response:
    """503 with Retry-After and SERVICE_UNAVAILABLE, in the negotiated media type."""
    return Response(
        unavailable_body(error_id),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        media_type=GRAPHQL_RESPONSE_JSON
        if graphql_response_json or (request and _prefers_graphql_response_json(request))
        else "application/json",
    )


def _media_type(request: Request) -> str:
    return GRAPHQL_RESPONSE_JSON if _prefers_graphql_response_json(request) else "application/json"


def _prefers_graphql_response_json(request: Request) -> bool:
    """Whether Accept names application/graphql-response+json before application/json."""
    accept = request.headers.get("accept", "")
    position = accept.find("application/graphql-response+json")
    plain = accept.find("application/json")
    return position >= 0 and (plain < 0 or position < plain)


class GraphQLEndpoint:
    """Authenticates every GraphQL request (the one place), then hands it to the view."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.view = GraphQLView(database, settings)
        self.documents = TrustedDocuments.load(
            settings.persisted_documents_path, only=settings.trusted_documents_only
        )
        self.limiter = RateLimiter(
            limit=settings.rate_limit,
            window_seconds=settings.rate_limit_window_seconds,
            redis_url=settings.redis_url,
        )
        self.settings = settings
        self.keys = KeyCache(
            settings.database_url, connect_timeout=settings.db_connect_timeout_seconds
        )
        self._pending: set[asyncio.Task[None]] = set()  # handlers cut off by the deadline
        self.metrics = Metrics(database, self.view.schema) if settings.metrics else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._is_ide_page(request):
            await self.view(scope, receive, send)
            return
        started = time.perf_counter()
        span = tracing.start_request(request.method, request.url.path, request.headers)  # None: off
        db = RequestDB(self.database.read, account_id=0)
        log = RequestLog()
        status = 0
        late = False  # the deadline answered for the request: its own answer is dropped

        async def send_counted(message: Message) -> None:
            nonlocal status
            if late:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    *message.get("headers", []),
                    (STATEMENTS_HEADER, str(db.statements).encode()),
                ]
                if status == 405:  # a mutation over GET: say what is allowed
                    headers.append((b"allow", b"POST"))
                message["headers"] = headers
            await send(message)

        async def handle() -> None:
            try:
                await self._handle(request, db, log, send_counted)
            finally:
                await db.close()

        task = asyncio.create_task(handle(), context=tracing.request_context(span))
        try:
            # shield: on the deadline the request is answered at once, and the handler is
            # cancelled to finish its clean-up (bounded by the database deadlines) alone.
            await asyncio.wait_for(asyncio.shield(task), self.settings.request_timeout_seconds)
        except asyncio.CancelledError:  # the server is stopping, or the client went away
            task.cancel()
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError) and not task.done():
                exc = RequestDeadline()
                task.cancel()
                self._pending.add(task)
                task.add_done_callback(self._finished_late)
            if not status:
                late = True
                status = await self._fault(exc, request, log, send)
        finally:
            tracing.end_request(span, status, log, db.statements)
            line = {  # the request log line; LOG_FORMAT=json writes these as one object
                "method": request.method,
                "path": request.url.path,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "operation": log.operation or "-",
                "execution": log.execution,  # planned or standard: which path answered
                "account": db.account_id or "-",
                "statements": db.statements,
                "error_ids": ",".join(log.error_ids) or "-",
            }
            logger.info(REQUEST_LINE, *line.values(), extra={"fields": line})
            if self.metrics is not None:
                seconds = time.perf_counter() - started
                self.metrics.observe(request.scope, log, status, seconds, db.statements)

    async def _handle(self, request: Request, db: RequestDB, log: RequestLog, send: Send) -> None:
        """Body size, then the API key, then the rate limit, then GraphQL."""
        scope, receive = request.scope, request.receive
        log.phase = "body"
        body = await self._read_body(request)
        if body is None:
            await self._refuse(413, "Request body too large.", scope, receive, send)
            return
        log.phase = "auth"
        key = key_from_authorization(request.headers.get("authorization"))
        found = await authenticate(db, key, self.keys) if key else None
        if found is None:
            await self._refuse(401, UNAUTHORIZED_MESSAGE, scope, receive, send)
            return
        db.account_id, key_id = found.account_id, found.key_id
        log.phase = "ratelimit"
        verdict = await self.limiter.check(key_id)
        if not verdict.allowed:
            if self.metrics is not None:
                self.metrics.rate_limited()
            headers = {
                "Retry-After": str(verdict.retry_after),
                "X-RateLimit-Reset": str(verdict.reset_at),
            }
            await self._refuse(429, self.limiter.refusal, scope, receive, send, headers)
            return
        if self.documents.active:
            try:
                body, scope["query_string"] = self.documents.rewrite(
                    request.method, body, scope.get("query_string", b"")
                )
            except DocumentError as exc:
                await self._refuse(400, str(exc), scope, receive, send)
                return
        idempotency = None
        header = request.headers.get(IDEMPOTENCY_HEADER)
        if header is not None and request.method == "POST":
            if not IDEMPOTENCY_KEY.fullmatch(header):
                await self._refuse(400, IDEMPOTENCY_INVALID, scope, receive, send)
                return
            idempotency = Idempotency(header, body, found, self.database.write)
            log.phase = "idempotency"
            if await self._replayed(idempotency, request, db, send):
                return
            await db.release()  # its reads will run on the mutation's write connection
        scope.update(
            {
                "gateway.db": db,
                "gateway.key_id": key_id,
                "gateway.scopes": found.scopes,
                "gateway.idempotency": idempotency,
                "gateway.log": log,
            }
        )
        log.phase = "execute"

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        if idempotency is None:
            await self.view(scope, replay, send)
        else:
            await self._idempotent(idempotency, request, replay, db, log, send)

    async def _idempotent(
        self,
        idempotency: Idempotency,
        request: Request,
        receive: Receive,
        db: RequestDB,
        log: RequestLog,
        send: Send,
    ) -> None:
        """Run a request with an Idempotency-Key: its response is held back, stored with
        the key in its mutations' transaction, and sent once that committed."""
        scope = request.scope
        try:
            answer = await self._answer(scope, receive)
            if idempotency.replay:  # a concurrent request with the key committed first
                log.phase = "idempotency"
                if await self._replayed(idempotency, request, db, send):
                    return
                raise RuntimeError("a replayed Idempotency-Key has no stored response")
            if idempotency.conn is not None:  # the request changed (or tried to)
                if log.unavailable or (log.error_ids and not idempotency.changed):
                    await idempotency.abandon()  # nothing to keep: a retry runs anew
                else:
                    log.phase = "commit"
                    await idempotency.commit(answer)
        finally:
            await idempotency.abandon()
        await self._send(answer, scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Stored:
        """The view's whole response, held back (to be stored before it is sent)."""
        status, content_type, body = 500, "application/json", bytearray()

        async def hold(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                content_type = headers.get(b"content-type", b"application/json").decode()
            else:
                body.extend(message.get("body", b""))

        await self.view(scope, receive, hold)
        return Stored(status, content_type, bytes(body))

    async def _replayed(
        self, idempotency: Idempotency, request: Request, db: RequestDB, send: Send
    ) -> bool:
        """Answer with the key's stored response (or 422 for another body), if stored."""
        scope, receive = request.scope, request.receive
        try:
            stored = await idempotency.stored(db)
        except KeyReused as exc:
            await self._refuse(422, str(exc), scope, receive, send)
            return True
        if stored is None:
            return False
        await self._send(stored, scope, receive, send, {REPLAYED_HEADER: "true"})
        return True

    @staticmethod
    async def _send(
        answer: Stored,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, str] | None = None,
    ) -> None:
        response = Response(answer.body, status_code=answer.status_code, headers=headers or {})
        response.headers["content-type"] = answer.content_type
        await response(scope, receive, send)

    async def _fault(self, exc: Exception, request: Request, log: RequestLog, send: Send) -> int:
        """Answer a request that failed outside GraphQL's own error handling, in the
        GraphQL response shape: 503 when the database is unavailable or the deadline
        passed, 500 (masked, with an error id) for a bug. Returns the status sent."""
        if isinstance(exc, RequestDeadline) and log.phase == "body":  # a slow client
            message = f"The request body did not arrive within {self.settings.request_timeout_seconds:g} s."
            response = Response(
                orjson.dumps({"errors": [{"message": message}]}),
                status_code=408,
                media_type="application/json",
                headers={"Connection": "close"},
            )
            await response(request.scope, request.receive, send)
            return 408
        error_id = new_error_id()
        log.error_ids.append(error_id)
        if is_unavailable(exc):
            log_unavailable(exc, log.phase, error_id)
            response = unavailable_response(error_id, request)
        else:
            logger.error(
                "unexpected error id=%s type=%s phase=%s\n%s",
                error_id,
                type(exc).__name__,
                log.phase,
                "".join(traceback.format_tb(exc.__traceback__)).rstrip(),
            )
            body = {"data": None, "errors": [masked_error(error_id)]}
            response = Response(
                orjson.dumps(body), status_code=500, media_type=_media_type(request)
            )
        await response(request.scope, request.receive, send)
        return response.status_code

    def _finished_late(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.info(
                "a request past its deadline ended with %s", type(task.exception()).__name__
            )

    def _is_ide_page(self, request: Request) -> bool:
        return (
            request.method == "GET"
            and "query" not in request.query_params
            and "text/html" in request.headers.get("accept", "")
        )

    async def _read_body(self, request: Request) -> bytes | None:
        """The whole body, or None when it is larger than the limit (read no further)."""
        limit = self.view.settings.max_body_bytes
        if int(request.headers.get("content-length") or 0) > limit:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    async def _refuse(
        self,
        status: int,
        message: str,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[str, str] | None = None,
    ) -> None:
        headers = headers or ({"WWW-Authenticate": AUTHENTICATE} if status == 401 else {})
        body = orjson.dumps({"errors": [{"message": message}]})
        response = Response(
            body, status_code=status, media_type="application/json", headers=headers
        )
        await response(scope, receive, send)


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI application; the database engines open and close with its lifespan."""
    settings = settings or load_settings()
    database = create_database(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await live.start()  # subscriptions: shares the key cache's listening connection
        await endpoint.keys.start()
        # The schema, the modules and the caches live as long as the process: keep the
        # garbage collector from scanning them again at every collection of a request's
        # objects (with a large body, that scan was most of the time spent).
        gc.freeze()
        tracing.start(database)  # when OTEL_EXPORTER_OTLP_ENDPOINT is set
        retention = timedelta(hours=settings.event_retention_hours)
        cleaner = asyncio.create_task(housekeeping(database, event_retention=retention))
        yield
        cleaner.cancel()
        tracing.stop()
        await endpoint.keys.close()
        await live.close()
        await endpoint.limiter.close()
        await database.dispose()

    endpoint = GraphQLEndpoint(database, settings)
    live = Live(
        endpoint.view.schema,
        database,
        settings,
        endpoint.keys,
        endpoint.documents,
        endpoint.limiter,
    )
    app = Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", live.view),  # subscriptions (app/events/transport.py)
            *([Route("/metrics", Metrics.endpoint, methods=["GET"])] if settings.metrics else []),
            Route("/healthz", healthz, methods=["GET"]),
            Route(
                "/readyz", Readiness(database.read, settings.database_url).check, methods=["GET"]
            ),
            # GraphiQL's own assets, so the page works without internet access.
            Mount("/graphiql", GZipMiddleware(StaticFiles(directory=STATIC / "graphiql"))),
        ],
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.keys = endpoint.keys
    app.state.live = live
    return app
