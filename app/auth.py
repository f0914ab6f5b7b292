"""API keys: generation, hashing, and the one place a request's credentials are checked."""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from app.context import RequestDB
from app.keycache import CHANNEL, Caller, KeyCache
from app.models import ApiKey
from app.timeutil import utcnow

KEY_PREFIX = "agw_"
_api_key: sa.Table = ApiKey.__table__  # type: ignore[attr-defined]


def generate_api_key() -> str:
    """A new random key (256 bits); only its hash is stored."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """SHA-256 is enough for 256-bit random keys (no dictionary to guess from)."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_from_authorization(header: str | None) -> str | None:
    """The key in `Bearer <key>` or Cliniko-style Basic (key as username, empty password)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, _, _password = decoded.partition(":")
        return username or None
    return None


_LOOKUP = sa.select(_api_key.c.id, _api_key.c.account_id, _api_key.c.scopes).where(
    _api_key.c.key_hash == sa.bindparam("key_hash"), _api_key.c.revoked_at.is_(None)
)


async def authenticate(db: RequestDB, key: str, cache: KeyCache | None = None) -> Caller | None:
    """The Caller of a valid, unrevoked key; None otherwise. Answered from `cache` when
    the key was found valid since the last revocation."""
    key_hash = hash_api_key(key)
    if cache is not None and (found := cache.get(key_hash)) is not None:
        return found
    generation = cache.generation if cache is not None else 0
    rows = await db.fetch(_LOOKUP.params(key_hash=key_hash))
    if not rows:
        return None
    row = rows[0]
    found = Caller(row.account_id, row.id, frozenset(row.scopes.split()))
    if cache is not None:
        cache.put(key_hash, found, generation)
    return found


async def revoke_api_key(
    conn: AsyncConnection, *, key: str | None, key_id: int | None
) -> int | None:
    """Revoke a key (given itself or by id); its id, or None when no live key matched.
    The lookup above ignores revoked keys, and on PostgreSQL the commit notifies every
    server process to empty its key cache, so every process refuses it at once."""
    where = _api_key.c.key_hash == hash_api_key(key) if key else _api_key.c.id == key_id
    result = await conn.execute(
        sa.update(_api_key)
        .where(where, _api_key.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(_api_key.c.id)
    )
    revoked = result.scalar_one_or_none()
    if revoked is not None and conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, str(revoked))))
    return int(revoked) if revoked is not None else None
