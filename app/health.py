"""`/healthz` and `/readyz` (§8): for load balancers and orchestrators, no key, no data.

`/healthz` says the process serves (no database call). `/readyz` says whether it can do
its work: the database answers within a second and its schema is at the newest migration
this code ships; otherwise 503 with the reason. It recovers by itself when they do.
"""

from __future__ import annotations

import asyncio

import orjson
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response

from app.faults import is_unavailable
from app.migrate import alembic_config

READY_TIMEOUT_SECONDS = 1.0
_VERSION = sa.text("SELECT version_num FROM alembic_version")


def _answer(code: int, **body: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    return Response(orjson.dumps(body), code, headers, media_type="application/json")


async def healthz(_request: Request) -> Response:
    return _answer(200, status="ok")


class Readiness:
    """The readiness check of one database."""

    def __init__(self, engine: AsyncEngine, database_url: str) -> None:
        self.engine = engine
        self.head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()

    async def check(self, _request: Request) -> Response:
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS), self.engine.connect() as conn:
                version = (await conn.execute(_VERSION)).scalar_one_or_none()
        except Exception as exc:
            if is_unavailable(exc):
                return _answer(503, status="unavailable", reason="the database does not answer")
            if not isinstance(exc, sa.exc.DBAPIError):
                raise
            version = None  # no alembic_version table: never migrated
        if version != self.head:
            reason = f"migrations pending: the database is at {version}, this code at {self.head}"
            return _answer(503, status="unavailable", reason=reason)
        return _answer(200, status="ready")
